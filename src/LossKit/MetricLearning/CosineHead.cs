using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.MetricLearning;

/// <summary>
/// The normalized-linear (cosine) classification head in front of the margin losses:
/// <c>cos = normalize(x)·normalize(W)ᵀ</c> for embeddings <c>x [batch × dim]</c> and class weights
/// <c>W [classes × dim]</c> (insightface's layout; pytorch-metric-learning stores W as [dim × classes], its transpose),
/// with forward and backward to both x and W. F.normalize semantics: <c>x̂ = x / max(‖x‖₂, eps)</c>, eps 1e-12.
/// </summary>
/// <remarks>
/// <para>Gradient: given <c>G = d loss/d cos [batch × classes]</c>, <c>ĝ_x = G·Ŵ</c>, <c>ĝ_W = Gᵀ·X̂</c>, then per row
/// <c>d loss/d x = (ĝ − x̂·(x̂·ĝ))/‖x‖</c> where ‖x‖ ≥ eps and <c>ĝ/eps</c> where ‖x‖ &lt; eps (the clamp passes no
/// gradient to the norm, as autograd of <c>x / norm.clamp_min(eps)</c>); the same for each row of W.</para>
/// <para>Zero (or tiny) vectors: x̂ = x/eps, so an all-zero row gives cosines 0 and the finite gradient ĝ/eps = 1e12·ĝ
/// (large, as in PyTorch). NaN in a row of x (of W) makes that row (column) of cos NaN and spreads through the
/// gradient products; ‖x‖ is accumulated in T, so float rows with ‖x‖² beyond float's range (|x| ≳ 1.8e19) give ∞
/// norms and zero cosines. dim = 0 gives cosines 0.</para>
/// <para>Work and memory: three matrix products (batch·classes·dim multiply-adds each) by <c>Internal/Gemm</c>: blocked,
/// SIMD with FMA, threaded over output tiles with fixed per-element summation order (results do not depend on the
/// thread count). Nothing is allocated per call: the caller passes a <c>workspace</c> of at least
/// <see cref="WorkspaceSize"/> elements that holds the normalized copies, the norms and the per-thread packing buffers;
/// a smaller workspace (but at least <see cref="MinimumWorkspaceSize"/>) runs the products on fewer threads. Spans must
/// not overlap each other.</para>
/// </remarks>
public sealed class CosineHead<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the head.</summary>
    /// <param name="eps">Norm floor in the normalisation (default 1e-12, F.normalize's), finite and &gt; 0.</param>
    public CosineHead(double eps = 1e-12) => Eps = ThrowHelper.CheckAbove(eps, 0.0, nameof(eps));

    private CosineHead<float>? _float32;

    /// <summary>The same head in float32, which computes for narrow element types (their workspace is not used).</summary>
    internal CosineHead<float> Float32 => _float32 ??= new CosineHead<float>(Eps);

    /// <summary>The norm floor: x̂ = x / max(‖x‖, eps).</summary>
    public double Eps { get; }

    /// <summary>
    /// Workspace elements for full parallelism: the normalized copies (batch + classes)·dim, the norms
    /// batch + classes, and one set of matrix-product packing buffers per thread
    /// (<see cref="LossKitSettings.MaxDegreeOfParallelism"/> at the time of the call).
    /// </summary>
    public static int WorkspaceSize(int batch, int classes, int dim) =>
        ThrowHelper.Product(nameof(dim), "workspace elements (normalized copies + matrix-product buffers)",
            (long)NormalizedSize(batch, classes, dim) + Gemm.ScratchSize<T>(LossKitSettings.MaxDegreeOfParallelism));

    /// <summary>The smallest workspace accepted (one thread for the matrix products).</summary>
    public static int MinimumWorkspaceSize(int batch, int classes, int dim) =>
        ThrowHelper.Product(nameof(dim), "workspace elements (normalized copies + matrix-product buffers)",
            (long)NormalizedSize(batch, classes, dim) + Gemm.ScratchSize<T>(1));

    /// <summary>Computes <c>cos[i, j] = x̂_i · Ŵ_j</c>.</summary>
    /// <param name="input">Embeddings x, batch × dim, row-major.</param>
    /// <param name="weight">Class weights W, classes × dim, row-major.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Rows of W.</param>
    /// <param name="dim">Embedding size.</param>
    /// <param name="cosine">Receives the cosines, batch × classes.</param>
    /// <param name="workspace">Scratch of at least <see cref="MinimumWorkspaceSize"/> elements.</param>
    public void Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> weight, int batch, int classes, int dim, Span<T> cosine, Span<T> workspace)
    {
        Validate(input, weight, batch, classes, dim, workspace);
        ThrowHelper.CheckDestination(cosine.Length, batch * classes, nameof(cosine));
        NoOverlap(cosine, input, nameof(cosine), nameof(input));
        NoOverlap(cosine, weight, nameof(cosine), nameof(weight));
        NoOverlap(cosine, workspace, nameof(cosine), nameof(workspace));
        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> cos = wide.Output(batch * classes);
            Float32.Forward(wide.Read(input), wide.Read(weight), batch, classes, dim, cos, wide.Scratch(CosineHead<float>.WorkspaceSize(batch, classes, dim)));
            WideScope<T>.Narrow(cos, cosine);

            return;
        }

        Normalize(input, weight, batch, classes, dim, workspace);
        Product(batch, classes, dim, cosine, workspace);
    }

    /// <summary>Writes d loss/d x and d loss/d W given <paramref name="upstream"/> = d loss/d cos.</summary>
    /// <param name="input">Embeddings x, batch × dim.</param>
    /// <param name="weight">Class weights W, classes × dim.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Rows of W.</param>
    /// <param name="dim">Embedding size.</param>
    /// <param name="upstream">d loss/d cos, batch × classes.</param>
    /// <param name="inputGradient">Receives d loss/d x (batch × dim), overwritten; empty to skip.</param>
    /// <param name="weightGradient">Receives d loss/d W (classes × dim), overwritten; empty to skip.</param>
    /// <param name="workspace">Scratch of at least <see cref="MinimumWorkspaceSize"/> elements.</param>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> weight, int batch, int classes, int dim, ReadOnlySpan<T> upstream,
        Span<T> inputGradient, Span<T> weightGradient, Span<T> workspace)
    {
        Validate(input, weight, batch, classes, dim, workspace);
        ValidateBackward(input, weight, batch, classes, dim, upstream, inputGradient, weightGradient, workspace);
        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> gx = wide.Output(inputGradient, batch * dim), gw = wide.Output(weightGradient, classes * dim);
            Float32.Backward(wide.Read(input), wide.Read(weight), batch, classes, dim, wide.Read(upstream[..(batch * classes)]), gx, gw,
                wide.Scratch(CosineHead<float>.WorkspaceSize(batch, classes, dim)));
            WideScope<T>.Narrow(gx, inputGradient);
            WideScope<T>.Narrow(gw, weightGradient);

            return;
        }

        Normalize(input, weight, batch, classes, dim, workspace);
        BackwardNormalized(batch, classes, dim, upstream, inputGradient, weightGradient, workspace);
    }

    /// <summary>
    /// The head and a class-index loss on its cosines in one call: <c>cos = head(x, W)</c>, the loss's fused
    /// ForwardBackward on cos (e.g. an <see cref="AngularMarginLoss{T}"/> or a <c>CrossEntropyLoss</c> on cosines),
    /// then the head's backward with the normalized copies reused. Returns the loss value.
    /// </summary>
    /// <param name="loss">The loss; its reduction must be Mean or Sum.</param>
    /// <param name="input">Embeddings x, batch × dim.</param>
    /// <param name="weight">Class weights W, classes × dim.</param>
    /// <param name="target">Class index per row.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Rows of W.</param>
    /// <param name="dim">Embedding size.</param>
    /// <param name="inputGradient">Receives d loss/d x; empty to skip.</param>
    /// <param name="weightGradient">Receives d loss/d W; empty to skip.</param>
    /// <param name="cosine">Receives the cosines (batch × classes).</param>
    /// <param name="cosineGradient">Receives d loss/d cos (batch × classes).</param>
    /// <param name="workspace">Scratch of at least <see cref="MinimumWorkspaceSize"/> elements.</param>
    public T ForwardBackward(ClassIndexLoss<T> loss, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<int> target, int batch, int classes, int dim,
        Span<T> inputGradient, Span<T> weightGradient, Span<T> cosine, Span<T> cosineGradient, Span<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.Reduction == Reduction.None)
        {
            ThrowHelper.Argument(nameof(loss), "The loss must reduce (Mean or Sum) to give one value; got Reduction.None.");
        }

        Validate(input, weight, batch, classes, dim, workspace);
        ThrowHelper.CheckDestination(cosine.Length, batch * classes, nameof(cosine));
        ThrowHelper.CheckDestination(cosineGradient.Length, batch * classes, nameof(cosineGradient));
        NoOverlap(cosine, cosineGradient, nameof(cosine), nameof(cosineGradient));
        NoOverlap(cosine, input, nameof(cosine), nameof(input));
        NoOverlap(cosine, weight, nameof(cosine), nameof(weight));
        NoOverlap(cosine, workspace, nameof(cosine), nameof(workspace));
        ValidateBackward(input, weight, batch, classes, dim, cosineGradient, inputGradient, weightGradient, workspace);
        if (Float32Path.Applies<T>())
        {
            return ForwardBackwardWidened(loss, input, weight, target, batch, classes, dim, inputGradient, weightGradient, cosine, cosineGradient);
        }

        Normalize(input, weight, batch, classes, dim, workspace);
        Span<T> cos = cosine[..(batch * classes)];
        Span<T> g = cosineGradient[..(batch * classes)];
        Product(batch, classes, dim, cos, workspace);
        T value = loss.ForwardBackward(cos, target, batch, classes, g);
        BackwardNormalized(batch, classes, dim, g, inputGradient, weightGradient, workspace);
        return value;
    }

    /// <summary>The fused head and loss of a narrow element type, through the float32 head and the loss's float32 instance.</summary>
    private T ForwardBackwardWidened(ClassIndexLoss<T> loss, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<int> target, int batch, int classes, int dim,
        Span<T> inputGradient, Span<T> weightGradient, Span<T> cosine, Span<T> cosineGradient)
    {
        using var wide = WideScope<T>.Start();
        Span<float> gx = wide.Output(inputGradient, batch * dim), gw = wide.Output(weightGradient, classes * dim);
        Span<float> cos = wide.Output(batch * classes), g = wide.Output(batch * classes);
        float value = Float32.ForwardBackward(loss.Float32, wide.Read(input), wide.Read(weight), target, batch, classes, dim, gx, gw, cos, g,
            wide.Scratch(CosineHead<float>.WorkspaceSize(batch, classes, dim)));
        WideScope<T>.Narrow(gx, inputGradient);
        WideScope<T>.Narrow(gw, weightGradient);
        WideScope<T>.Narrow(cos, cosine);
        WideScope<T>.Narrow(g, cosineGradient);
        return T.CreateTruncating(value);
    }

    /// <summary>Tensor form of <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{T}, int, int, int, Span{T}, Span{T})"/>: x [batch, dim], W [classes, dim], cos [batch, classes].</summary>
    public void Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> weight, TensorSpan<T> cosine, Span<T> workspace)
    {
        (int batch, int classes, int dim) = Shape(input, weight);
        ReadOnlySpan<nint> expected = [batch, classes];
        TensorArgs.SameShape(cosine.Lengths, expected, nameof(cosine));
        Forward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(weight, nameof(weight)), batch, classes, dim, TensorArgs.Flat(cosine, nameof(cosine)), workspace);
    }

    /// <summary>Tensor form of the backward: upstream [batch, classes], gradients shaped as x and W.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> weight, ReadOnlyTensorSpan<T> upstream,
        TensorSpan<T> inputGradient, TensorSpan<T> weightGradient, Span<T> workspace)
    {
        (int batch, int classes, int dim) = Shape(input, weight);
        ReadOnlySpan<nint> expected = [batch, classes];
        TensorArgs.SameShape(upstream.Lengths, expected, nameof(upstream));
        TensorArgs.SameShape(inputGradient.Lengths, input.Lengths, nameof(inputGradient));
        TensorArgs.SameShape(weightGradient.Lengths, weight.Lengths, nameof(weightGradient));
        Backward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(weight, nameof(weight)), batch, classes, dim, TensorArgs.Flat(upstream, nameof(upstream)),
            TensorArgs.Flat(inputGradient, nameof(inputGradient)), TensorArgs.Flat(weightGradient, nameof(weightGradient)), workspace);
    }

    private static int NormalizedSize(int batch, int classes, int dim)
    {
        ThrowHelper.CheckDimension(batch, nameof(batch));
        ThrowHelper.CheckDimension(classes, nameof(classes));
        ThrowHelper.CheckDimension(dim, nameof(dim));

        // Each matrix on its own first, so the message names the one that does not fit.
        ThrowHelper.Product(nameof(batch), "batch × dim", batch, dim);
        ThrowHelper.Product(nameof(classes), "classes × dim", classes, dim);
        ThrowHelper.Product(nameof(classes), "batch × classes", batch, classes);
        return ThrowHelper.Product(nameof(dim), "(batch + classes) × (dim + 1)", (long)batch + classes, dim + 1L);
    }

    private static void Validate(ReadOnlySpan<T> input, ReadOnlySpan<T> weight, int batch, int classes, int dim, Span<T> workspace)
    {
        int normalized = NormalizedSize(batch, classes, dim);
        ThrowHelper.CheckMatrix(input.Length, batch, dim, nameof(input), nameof(batch), nameof(dim));
        ThrowHelper.CheckMatrix(weight.Length, classes, dim, nameof(weight), nameof(classes), nameof(dim));
        ThrowHelper.CheckDestination(workspace.Length, MinimumWorkspaceSize(batch, classes, dim), nameof(workspace));
        NoOverlap(workspace, input, nameof(workspace), nameof(input));
        NoOverlap(workspace, weight, nameof(workspace), nameof(weight));
    }

    private static void ValidateBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> weight, int batch, int classes, int dim, ReadOnlySpan<T> upstream,
        Span<T> inputGradient, Span<T> weightGradient, Span<T> workspace)
    {
        ThrowHelper.CheckMatrix(upstream.Length, batch, classes, nameof(upstream), nameof(batch), nameof(classes));
        if (!inputGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(inputGradient.Length, batch * dim, nameof(inputGradient));
            NoOverlap(inputGradient, upstream, nameof(inputGradient), nameof(upstream));
            NoOverlap(inputGradient, input, nameof(inputGradient), nameof(input));
            NoOverlap(inputGradient, weight, nameof(inputGradient), nameof(weight));
            NoOverlap(inputGradient, workspace, nameof(inputGradient), nameof(workspace));
            NoOverlap(inputGradient, weightGradient, nameof(inputGradient), nameof(weightGradient));
        }

        if (!weightGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(weightGradient.Length, classes * dim, nameof(weightGradient));
            NoOverlap(weightGradient, upstream, nameof(weightGradient), nameof(upstream));
            NoOverlap(weightGradient, input, nameof(weightGradient), nameof(input));
            NoOverlap(weightGradient, weight, nameof(weightGradient), nameof(weight));
            NoOverlap(weightGradient, workspace, nameof(weightGradient), nameof(workspace));
        }
    }

    private static void NoOverlap(ReadOnlySpan<T> a, ReadOnlySpan<T> b, string name, string other)
    {
        if (a.Overlaps(b))
        {
            ThrowHelper.Argument(name, name + " must not overlap " + other + ".");
        }
    }

    private static (int Batch, int Classes, int Dim) Shape(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<T> weight)
    {
        TensorArgs.Rank(input.Lengths, 2, nameof(input), "[batch, dim]");
        TensorArgs.Rank(weight.Lengths, 2, nameof(weight), "[classes, dim]");
        if (weight.Lengths[1] != input.Lengths[1])
        {
            ThrowHelper.Argument(nameof(weight), $"weight must have shape [classes, {input.Lengths[1]}] to match input {TensorArgs.Shape(input.Lengths)}, got {TensorArgs.Shape(weight.Lengths)}.");
        }

        return (ThrowHelper.Product(nameof(input), "batch", input.Lengths[0]), ThrowHelper.Product(nameof(weight), "classes", weight.Lengths[0]),
            ThrowHelper.Product(nameof(input), "dim", input.Lengths[1]));
    }

    // Workspace layout: [x̂ batch·dim][Ŵ classes·dim][‖x‖ batch][‖W‖ classes][packing buffers ...]

    private unsafe void Normalize(ReadOnlySpan<T> input, ReadOnlySpan<T> weight, int batch, int classes, int dim, Span<T> workspace)
    {
        T eps = T.CreateTruncating(Eps);
        fixed (T* x = input, w = weight, ws = workspace)
        {
            T* xh = ws, wh = ws + (long)batch * dim, nx = wh + (long)classes * dim, nw = nx + batch;
            var kx = new NormalizeKernel { Source = x, Destination = xh, Norms = nx, Dim = dim, Eps = eps };
            RowDriver.Run(ref kx, batch, dim);
            var kw = new NormalizeKernel { Source = w, Destination = wh, Norms = nw, Dim = dim, Eps = eps };
            RowDriver.Run(ref kw, classes, dim);
        }
    }

    private static unsafe void Product(int batch, int classes, int dim, Span<T> cosine, Span<T> workspace)
    {
        int normalized = NormalizedSize(batch, classes, dim);
        fixed (T* ws = workspace, c = cosine)
        {
            T* xh = ws, wh = ws + (long)batch * dim;
            Gemm.Multiply(xh, dim, false, wh, dim, true, c, classes, batch, classes, dim, false, ws + normalized, workspace.Length - normalized);
        }
    }

    private unsafe void BackwardNormalized(int batch, int classes, int dim, ReadOnlySpan<T> upstream, Span<T> inputGradient, Span<T> weightGradient, Span<T> workspace)
    {
        int normalized = NormalizedSize(batch, classes, dim);
        T eps = T.CreateTruncating(Eps);
        fixed (T* ws = workspace, g = upstream, gx = inputGradient, gw = weightGradient)
        {
            T* xh = ws, wh = ws + (long)batch * dim, nx = wh + (long)classes * dim, nw = nx + batch;
            T* scratch = ws + normalized;
            int scratchLength = workspace.Length - normalized;
            if (!inputGradient.IsEmpty)
            {
                // ĝ_x = G·Ŵ, then through the normalisation of each row of x.
                Gemm.Multiply(g, classes, false, wh, dim, false, gx, dim, batch, dim, classes, false, scratch, scratchLength);
                var k = new NormalizeBackwardKernel { Normalized = xh, Norms = nx, Gradient = gx, Dim = dim, Eps = eps };
                RowDriver.Run(ref k, batch, dim);
            }

            if (!weightGradient.IsEmpty)
            {
                // ĝ_W = Gᵀ·X̂, then through the normalisation of each row of W.
                Gemm.Multiply(g, classes, true, xh, dim, false, gw, dim, classes, dim, batch, false, scratch, scratchLength);
                var k = new NormalizeBackwardKernel { Normalized = wh, Norms = nw, Gradient = gw, Dim = dim, Eps = eps };
                RowDriver.Run(ref k, classes, dim);
            }
        }
    }

    /// <summary>Rows: n = ‖v‖₂ (stored), v̂ = v / max(n, eps).</summary>
    private unsafe struct NormalizeKernel : IRowKernel
    {
        public T* Source, Destination, Norms;
        public int Dim;
        public T Eps;

        public readonly double Run(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                T* v = Source + (long)r * Dim;
                T* d = Destination + (long)r * Dim;
                T n = T.Sqrt(Dot(v, v, Dim));
                Norms[r] = n;
                T denominator = T.Max(n, Eps);
                int i = 0;
                if (VMath.IsVectorized<T>())
                {
                    Vector<T> vd = new(denominator);
                    for (; i <= Dim - Vector<T>.Count; i += Vector<T>.Count)
                    {
                        (Vector.Load(v + i) / vd).Store(d + i);
                    }
                }

                for (; i < Dim; i++)
                {
                    d[i] = v[i] / denominator;
                }
            }

            return 0;
        }
    }

    /// <summary>Rows, in place over ĝ: (ĝ − v̂·(v̂·ĝ))/n where n ≥ eps, ĝ/eps where n &lt; eps.</summary>
    private unsafe struct NormalizeBackwardKernel : IRowKernel
    {
        public T* Normalized, Norms, Gradient;
        public int Dim;
        public T Eps;

        public readonly double Run(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                T* v = Normalized + (long)r * Dim;
                T* g = Gradient + (long)r * Dim;
                T n = Norms[r];
                bool clamped = n < Eps; // NaN norms are not clamped: the projection keeps them NaN
                T projection = clamped ? T.Zero : Dot(v, g, Dim);
                T inverse = T.One / (clamped ? Eps : n);
                int i = 0;
                if (VMath.IsVectorized<T>())
                {
                    Vector<T> vp = new(projection), vi = new(inverse);
                    for (; i <= Dim - Vector<T>.Count; i += Vector<T>.Count)
                    {
                        ((Vector.Load(g + i) - Vector.Load(v + i) * vp) * vi).Store(g + i);
                    }
                }

                for (; i < Dim; i++)
                {
                    g[i] = (g[i] - v[i] * projection) * inverse;
                }
            }

            return 0;
        }
    }

    /// <summary>Σ aᵢ·bᵢ with a vector accumulator and a scalar tail.</summary>
    private static unsafe T Dot(T* a, T* b, int n)
    {
        int i = 0;
        T sum = T.Zero;
        if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
        {
            Vector<T> acc = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                acc += Vector.Load(a + i) * Vector.Load(b + i);
            }

            sum = Vector.Sum(acc);
        }

        for (; i < n; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
