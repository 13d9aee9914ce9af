using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Internal;

namespace LossKit.MetricLearning;

/// <summary>Which published center-loss formula to reproduce.</summary>
public enum CenterLossConvention
{
    /// <summary>
    /// Wen et al. 2016 and the original Caffe layer (ydwen/caffe-face): <c>lᵢ = ½·‖xᵢ − c_yᵢ‖²</c>, Mean over the batch.
    /// </summary>
    Paper = 0,

    /// <summary>
    /// KaiyangZhou/pytorch-center-loss: no ½, the target distance clamped to [1e-12, 1e12] (no gradient outside, passes
    /// at the bounds), plus the (classes − 1)·1e-12 that the masked zeros of its distance matrix contribute per row
    /// after the same clamp: <c>lᵢ = clamp(‖xᵢ − c_yᵢ‖², 1e-12, 1e12) + (classes − 1)·1e-12</c>, Mean over the batch.
    /// </summary>
    KaiyangZhou = 1,
}

/// <summary>
/// Center loss (Wen et al., ECCV 2016) for features <c>x [batch × dim]</c>, class indices and class centers
/// <c>c [classes × dim]</c>: <c>L = (1/N)·Σᵢ ½‖xᵢ − c_yᵢ‖²</c> (paper and Caffe form; see
/// <see cref="CenterLossConvention"/> for the PyTorch variant), with gradients w.r.t. x and the centers and the paper's
/// separate center update (<see cref="UpdateCenters"/>).
/// </summary>
/// <remarks>
/// <para>Gradients (per row, times the reduction factor): paper <c>∂lᵢ/∂xᵢ = xᵢ − c_yᵢ</c>; KaiyangZhou
/// <c>2(xᵢ − c_yᵢ)</c> where 1e-12 ≤ ‖xᵢ − c_yᵢ‖² ≤ 1e12, else 0. For the centers <c>∂L/∂c_j = −Σ_{yᵢ=j} ∂L/∂xᵢ</c>; a
/// class with no samples gets 0.</para>
/// <para>Reduction: Mean (default) divides by the batch size N (the paper's 1/M, the Caffe layer's, KaiyangZhou's /B);
/// Sum; None writes per-row values. Empty batch: Sum 0, Mean NaN.</para>
/// <para>What the KaiyangZhou convention reproduces exactly: the value (including the (classes − 1)·1e-12 constant; for
/// x = [[1, 2], [0.5, −1], [3, 0]], y = [1, 2, 1], c = [[0, 0], [1, 1], [2, −2], [5, 5]] it gives
/// 3.0833333333363337 in double) and the gradients 2(x − c)/B and (2/B)Σ(c_j − xᵢ). What it does not: that code forms
/// the distance as ‖x‖² + ‖c‖² − 2x·c, which cancels for x ≈ c (it can round to 0 or below and then clamp to 1e-12);
/// here the distance is Σ(xᵢ − c)² directly, so the two differ by about ε·(‖x‖² + ‖c‖²) in the distance.</para>
/// <para>Special values: NaN in a row (of x or of its center) gives NaN for that row and its gradients; ±∞ gives ∞ loss
/// (NaN where ∞ − ∞). The distance is accumulated in T.</para>
/// </remarks>
public sealed class CenterLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lower clamp bound of the KaiyangZhou convention.</summary>
    public const double ClampMin = 1e-12;

    /// <summary>Upper clamp bound of the KaiyangZhou convention.</summary>
    public const double ClampMax = 1e12;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="convention">Paper (default, ½, Caffe) or KaiyangZhou (PyTorch, no ½, clamp).</param>
    public CenterLoss(Reduction reduction = Reduction.Mean, CenterLossConvention convention = CenterLossConvention.Paper)
    {
        Reduction = Reductions.Validate(reduction);
        if (convention is not (CenterLossConvention.Paper or CenterLossConvention.KaiyangZhou))
        {
            ThrowHelper.OutOfRange(nameof(convention), convention, $"Unknown convention {convention}.");
        }

        Convention = convention;
    }

    /// <summary>How per-row losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>The formula reproduced.</summary>
    public CenterLossConvention Convention { get; }

    /// <summary>Computes the loss value.</summary>
    /// <param name="input">Features x, batch × dim.</param>
    /// <param name="target">Class index per row, in [0, classes).</param>
    /// <param name="centers">Centers c, classes × dim.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Rows of the centers (≥ 1).</param>
    /// <param name="dim">Feature size.</param>
    /// <param name="destination">With <see cref="Reduction.None"/>: receives the per-row losses (length batch).</param>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim, Span<T> destination = default)
    {
        Validate(input, target, centers, batch, classes, dim, destination, default, default, Reduction == Reduction.None);
        double sum = Run(input, target, centers, batch, classes, dim, Reduction == Reduction.None ? destination : default, default, default, T.Zero, default, false, true);
        return Reductions.Finish<T>(Reduction, sum, batch);
    }

    /// <summary>Writes d loss/d x and d loss/d centers for a scalar upstream gradient (Mean or Sum); either may be empty to skip it.</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim, T upstream,
        Span<T> inputGradient, Span<T> centersGradient)
    {
        Reductions.CheckUpstreamScalar(Reduction);
        Validate(input, target, centers, batch, classes, dim, default, inputGradient, centersGradient, false);
        Run(input, target, centers, batch, classes, dim, default, inputGradient, centersGradient, Reductions.GradientScale(Reduction, upstream, batch), default, false, false);
    }

    /// <summary>Writes d loss/d x and d loss/d centers for a per-row upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim, ReadOnlySpan<T> upstream,
        Span<T> inputGradient, Span<T> centersGradient)
    {
        Reductions.CheckUpstreamSpan(Reduction, upstream.Length, batch);
        Validate(input, target, centers, batch, classes, dim, default, inputGradient, centersGradient, false);
        Run(input, target, centers, batch, classes, dim, default, inputGradient, centersGradient, T.One, upstream, false, false);
    }

    /// <summary>The loss and its gradients (upstream 1) in one call; either gradient may be empty to skip it.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim,
        Span<T> inputGradient, Span<T> centersGradient, Span<T> destination = default)
    {
        Validate(input, target, centers, batch, classes, dim, destination, inputGradient, centersGradient, Reduction == Reduction.None);
        double sum = Run(input, target, centers, batch, classes, dim, Reduction == Reduction.None ? destination : default, inputGradient, centersGradient,
            Reductions.GradientScale(Reduction, T.One, batch), default, false, true);
        return Reductions.Finish<T>(Reduction, sum, batch);
    }

    /// <summary>
    /// The paper's center update (Wen et al. eq. 4; caffe-face's center diff with the solver step):
    /// <c>Δc_j = Σ_{yᵢ=j}(c_j − xᵢ) / (1 + n_j)</c>, <c>c_j ← c_j − α·Δc_j</c>, evaluated as
    /// <c>c_j·(1 − α·n_j/(1 + n_j)) + α·Σ_{yᵢ=j} xᵢ/(1 + n_j)</c>. Classes with no sample in the batch (n_j = 0) are not
    /// touched. This is not a gradient step: not × λ, not / N.
    /// </summary>
    /// <param name="input">Features x, batch × dim.</param>
    /// <param name="target">Class index per row, in [0, classes).</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Rows of the centers.</param>
    /// <param name="dim">Feature size.</param>
    /// <param name="centers">Centers, classes × dim, updated in place.</param>
    /// <param name="alpha">Rate α ≥ 0, finite (the paper uses α in [0, 1]; caffe-face base_lr × lr_mult).</param>
    /// <param name="counts">Workspace of at least classes ints; receives n_j, the samples of each class in the batch.</param>
    public static void UpdateCenters(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, int dim, Span<T> centers, double alpha, Span<int> counts)
    {
        ThrowHelper.CheckAtLeast(alpha, 0.0, nameof(alpha));
        ValidateShapes(input, target, centers, batch, classes, dim);
        ThrowHelper.CheckDestination(counts.Length, classes, nameof(counts));
        if (centers.Overlaps(input))
        {
            ThrowHelper.Argument(nameof(centers), "centers must not overlap input.");
        }

        counts[..classes].Clear();
        foreach (int y in target)
        {
            counts[y]++;
        }

        T a = T.CreateTruncating(alpha);
        unsafe
        {
            fixed (T* x = input, c = centers)
            fixed (int* y = target, n = counts)
            {
                var job = new CenterJob
                {
                    X = x, Centers = c, Y = y, Counts = n, Batch = batch, Dim = dim, Classes = classes, Alpha = a, Update = true,
                    ClassesPerChunk = ClassesPerChunk(classes),
                };
                RunCenterJob(ref job, batch, dim);
            }
        }
    }

    /// <summary>Tensor form: input [batch, dim], target [batch], centers [classes, dim].</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> centers, TensorSpan<T> destination = default)
    {
        (int batch, int classes, int dim) = Shape(input, target, centers);
        return Forward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(centers, nameof(centers)),
            batch, classes, dim, TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> centers, T upstream,
        TensorSpan<T> inputGradient, TensorSpan<T> centersGradient)
    {
        (int batch, int classes, int dim) = Shape(input, target, centers);
        GradientShapes(input, centers, inputGradient, centersGradient);
        Backward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(centers, nameof(centers)),
            batch, classes, dim, upstream, TensorArgs.Flat(inputGradient, nameof(inputGradient)), TensorArgs.Flat(centersGradient, nameof(centersGradient)));
    }

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> centers,
        TensorSpan<T> inputGradient, TensorSpan<T> centersGradient, TensorSpan<T> destination = default)
    {
        (int batch, int classes, int dim) = Shape(input, target, centers);
        GradientShapes(input, centers, inputGradient, centersGradient);
        return ForwardBackward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(centers, nameof(centers)),
            batch, classes, dim, TensorArgs.Flat(inputGradient, nameof(inputGradient)), TensorArgs.Flat(centersGradient, nameof(centersGradient)),
            TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>
    /// The kernel: per-row values (stored when asked) and their sum; d/dx written (or, with <paramref name="accumulateInput"/>,
    /// added) with the factor <paramref name="scale"/> or the per-row <paramref name="upstream"/>; d/dc overwritten.
    /// </summary>
    internal unsafe double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim,
        Span<T> values, Span<T> inputGradient, Span<T> centersGradient, T scale, ReadOnlySpan<T> upstream, bool accumulateInput, bool wantValue)
    {
        bool kz = Convention == CenterLossConvention.KaiyangZhou;
        double total = 0;
        fixed (T* x = input, c = centers, v = values, gx = inputGradient, gc = centersGradient, u = upstream)
        fixed (int* y = target)
        {
            if (wantValue || !values.IsEmpty || !inputGradient.IsEmpty)
            {
                var kernel = new RowKernel
                {
                    X = x, Centers = c, Y = y, Values = values.IsEmpty ? null : v, G = inputGradient.IsEmpty ? null : gx,
                    Up = upstream.IsEmpty ? null : u, Scale = scale, Dim = dim, KaiyangZhou = kz, Accumulate = accumulateInput,
                    Constant = kz ? T.CreateTruncating((classes - 1) * ClampMin) : T.Zero,
                    Lo = T.CreateTruncating(ClampMin), Hi = T.CreateTruncating(ClampMax),
                };
                total = RowDriver.Run(ref kernel, batch, dim);
            }

            if (!centersGradient.IsEmpty)
            {
                // The rows of each class, in batch order (a stable counting sort of the targets), so that each chunk of
                // classes visits its own rows only instead of scanning the whole batch. Pooled: no allocation once warm.
                int[] order = ArrayPool<int>.Shared.Rent(batch), first = ArrayPool<int>.Shared.Rent(classes + 1);
                try
                {
                    fixed (int* o = order, f = first)
                    {
                        SortByClass(y, batch, classes, o, f);
                        var job = new CenterJob
                        {
                            X = x, Centers = c, Y = y, Order = o, First = f, G = gc, Up = upstream.IsEmpty ? null : u, Scale = scale,
                            Batch = batch, Dim = dim, Classes = classes, KaiyangZhou = kz, Lo = T.CreateTruncating(ClampMin),
                            Hi = T.CreateTruncating(ClampMax), ClassesPerChunk = ClassesPerChunk(classes),
                        };
                        RunCenterJob(ref job, batch, dim);
                    }
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(order);
                    ArrayPool<int>.Shared.Return(first);
                }
            }
        }

        return total;
    }

    /// <summary>Checks shapes, targets and destinations (parameter names as in the public signatures).</summary>
    internal void Validate(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim,
        Span<T> values, Span<T> inputGradient, Span<T> centersGradient, bool requireValues)
    {
        ValidateShapes(input, target, centers, batch, classes, dim);
        if (requireValues)
        {
            ThrowHelper.CheckDestination(values.Length, batch, "destination");
        }

        if (!inputGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(inputGradient.Length, batch * dim, nameof(inputGradient));
        }

        if (!centersGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(centersGradient.Length, classes * dim, nameof(centersGradient));
            if (centersGradient.Overlaps(input) || centersGradient.Overlaps(centers) || centersGradient.Overlaps(inputGradient))
            {
                ThrowHelper.Argument(nameof(centersGradient), "centersGradient must not overlap input, centers or inputGradient.");
            }
        }
    }

    private static void ValidateShapes(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim)
    {
        ThrowHelper.CheckDimension(batch, nameof(batch));
        if (classes < 1)
        {
            ThrowHelper.OutOfRange(nameof(classes), classes, $"classes must be >= 1, got {classes}.");
        }

        ThrowHelper.CheckDimension(dim, nameof(dim));
        ThrowHelper.CheckMatrix(input.Length, batch, dim, nameof(input), nameof(batch), nameof(dim));
        ThrowHelper.CheckLength(target.Length, batch, nameof(target), "one class index per row");
        ThrowHelper.CheckMatrix(centers.Length, classes, dim, nameof(centers), nameof(classes), nameof(dim));
        DataChecks.ClassIndices(target, classes, 0, false);
    }

    private static (int Batch, int Classes, int Dim) Shape(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> target, in ReadOnlyTensorSpan<T> centers)
    {
        TensorArgs.Rank(input.Lengths, 2, nameof(input), "[batch, dim]");
        TensorArgs.Rank(target.Lengths, 1, nameof(target), "[batch]");
        TensorArgs.Rank(centers.Lengths, 2, nameof(centers), "[classes, dim]");
        if (target.Lengths[0] != input.Lengths[0])
        {
            ThrowHelper.Argument(nameof(target), $"target must have shape [{input.Lengths[0]}] to match input {TensorArgs.Shape(input.Lengths)}, got {TensorArgs.Shape(target.Lengths)}.");
        }

        if (centers.Lengths[1] != input.Lengths[1])
        {
            ThrowHelper.Argument(nameof(centers), $"centers must have shape [classes, {input.Lengths[1]}] to match input {TensorArgs.Shape(input.Lengths)}, got {TensorArgs.Shape(centers.Lengths)}.");
        }

        return (checked((int)input.Lengths[0]), checked((int)centers.Lengths[0]), checked((int)input.Lengths[1]));
    }

    private static void GradientShapes(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<T> centers, in TensorSpan<T> inputGradient, in TensorSpan<T> centersGradient)
    {
        if (inputGradient.FlattenedLength != 0)
        {
            TensorArgs.SameShape(inputGradient.Lengths, input.Lengths, nameof(inputGradient));
        }

        if (centersGradient.FlattenedLength != 0)
        {
            TensorArgs.SameShape(centersGradient.Lengths, centers.Lengths, nameof(centersGradient));
        }
    }

    /// <summary>
    /// Stable counting sort of row indices by class: the rows of class j are order[first[j] .. first[j + 1]), ascending.
    /// </summary>
    private static unsafe void SortByClass(int* y, int batch, int classes, int* order, int* first)
    {
        new Span<int>(first, classes + 1).Clear();
        for (int i = 0; i < batch; i++)
        {
            first[y[i] + 1]++;
        }

        for (int j = 0; j < classes; j++)
        {
            first[j + 1] += first[j];
        }

        // Fill with a moving cursor per class (first[j] advances to first[j + 1]), then shift back.
        for (int i = 0; i < batch; i++)
        {
            order[first[y[i]]++] = i;
        }

        for (int j = classes; j > 0; j--)
        {
            first[j] = first[j - 1];
        }

        first[0] = 0;
    }

    /// <summary>Classes per chunk of the center pass: a function of the class count only (at most 64 chunks).</summary>
    private static int ClassesPerChunk(int classes) => Math.Max(1, (classes + 63) / 64);

    private static void RunCenterJob(ref CenterJob job, int batch, int dim)
    {
        int chunks = (job.Classes + job.ClassesPerChunk - 1) / job.ClassesPerChunk;
        if ((long)batch * Math.Max(dim, 1) < Pointwise.ParallelThreshold)
        {
            for (int i = 0; i < chunks; i++)
            {
                job.Run(i);
            }
        }
        else
        {
            WorkPool.Run(ref job, chunks);
        }
    }

    /// <summary>Σ (aᵢ − bᵢ)².</summary>
    private static unsafe T SquaredDistance(T* a, T* b, int n)
    {
        int i = 0;
        T sum = T.Zero;
        if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
        {
            Vector<T> acc = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> d = Vector.Load(a + i) - Vector.Load(b + i);
                acc += d * d;
            }

            sum = Vector.Sum(acc);
        }

        for (; i < n; i++)
        {
            T d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    /// <summary>dst = (add ? dst : 0) + f·(a − b).</summary>
    private static unsafe void ScaledDifference(T* dst, T* a, T* b, int n, T f, bool add)
    {
        int i = 0;
        if (VMath.IsVectorized<T>())
        {
            Vector<T> vf = new(f);
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> r = (Vector.Load(a + i) - Vector.Load(b + i)) * vf;
                if (add)
                {
                    r += Vector.Load(dst + i);
                }

                r.Store(dst + i);
            }
        }

        for (; i < n; i++)
        {
            T r = (a[i] - b[i]) * f;
            dst[i] = add ? dst[i] + r : r;
        }
    }

    /// <summary>Rows: value and d/dxᵢ.</summary>
    private unsafe struct RowKernel : IRowKernel
    {
        public T* X, Centers, Values, G, Up;
        public int* Y;
        public T Scale, Constant, Lo, Hi;
        public int Dim;
        public bool KaiyangZhou, Accumulate;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            T half = T.CreateTruncating(0.5), two = T.CreateTruncating(2);
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * Dim;
                T* c = Centers + (long)Y[r] * Dim;
                T d = SquaredDistance(x, c, Dim);
                T loss;
                T factor; // ∂lᵢ/∂xᵢ = factor·(xᵢ − c)
                if (KaiyangZhou)
                {
                    // torch.clamp passes the gradient where Lo ≤ d ≤ Hi (inclusive); NaN stays NaN.
                    bool inside = !(d < Lo) && !(d > Hi);
                    loss = T.Clamp(d, Lo, Hi) + Constant;
                    if (T.IsNaN(d))
                    {
                        loss = d;
                    }

                    factor = inside ? two : T.Zero;
                }
                else
                {
                    loss = half * d;
                    factor = T.One;
                }

                if (Values != null)
                {
                    Values[r] = loss;
                }

                total += double.CreateTruncating(loss);
                if (G != null)
                {
                    T k = Up == null ? Scale : Up[r];
                    ScaledDifference(G + (long)r * Dim, x, c, Dim, factor * k, Accumulate);
                }
            }

            return total;
        }
    }

    /// <summary>
    /// The per-class pass, chunked by class ranges so that every center row is written by one chunk, with each class's
    /// samples in batch order (from the class-sorted row index, or a scan of the batch for the update; deterministic
    /// whatever the thread count): either d/dc_j = −Σ_{yᵢ=j} kᵢ·factorᵢ·(xᵢ − c_j), or the paper's update.
    /// </summary>
    private unsafe struct CenterJob : IChunkJob
    {
        public T* X, Centers, G, Up;
        public int* Y, Counts, Order, First;
        public T Scale, Lo, Hi, Alpha;
        public int Batch, Dim, Classes, ClassesPerChunk;
        public bool KaiyangZhou, Update;

        public readonly void Run(int chunk)
        {
            int first = chunk * ClassesPerChunk, last = Math.Min(first + ClassesPerChunk, Classes);
            if (Update)
            {
                RunUpdate(first, last);
                return;
            }

            new Span<T>(G + (long)first * Dim, (last - first) * Dim).Clear();
            T two = T.CreateTruncating(2);
            for (int r = First[first]; r < First[last]; r++)
            {
                int i = Order[r], j = Y[i];
                T* x = X + (long)i * Dim;
                T* c = Centers + (long)j * Dim;
                T factor = T.One;
                if (KaiyangZhou)
                {
                    T d = SquaredDistance(x, c, Dim);
                    factor = !(d < Lo) && !(d > Hi) ? two : T.Zero;
                }

                T k = Up == null ? Scale : Up[i];

                // −k·factor·(x − c) = k·factor·(c − x)
                ScaledDifference(G + (long)j * Dim, c, x, Dim, factor * k, true);
            }
        }

        private readonly void RunUpdate(int first, int last)
        {
            // c_j ← c_j·(1 − α·n_j/(1 + n_j)), then + α/(1 + n_j)·xᵢ for each sample of class j, in batch order.
            for (int j = first; j < last; j++)
            {
                int n = Counts[j];
                if (n == 0)
                {
                    continue;
                }

                T nj = T.CreateTruncating(n);
                T keep = T.One - Alpha * nj / (T.One + nj);
                T* c = Centers + (long)j * Dim;
                for (int q = 0; q < Dim; q++)
                {
                    c[q] *= keep;
                }
            }

            for (int i = 0; i < Batch; i++)
            {
                int j = Y[i];
                if (j < first || j >= last)
                {
                    continue;
                }

                T f = Alpha / (T.One + T.CreateTruncating(Counts[j]));
                T* c = Centers + (long)j * Dim;
                T* x = X + (long)i * Dim;
                int q = 0;
                if (VMath.IsVectorized<T>())
                {
                    Vector<T> vf = new(f);
                    for (; q <= Dim - Vector<T>.Count; q += Vector<T>.Count)
                    {
                        (Vector.Load(c + q) + Vector.Load(x + q) * vf).Store(c + q);
                    }
                }

                for (; q < Dim; q++)
                {
                    c[q] += x[q] * f;
                }
            }
        }
    }
}

/// <summary>The parts of a joint objective: <c>Total = Classification + λ·Center</c> (Center unweighted).</summary>
/// <param name="Total">Classification + λ·Center.</param>
/// <param name="Classification">The softmax / margin loss value.</param>
/// <param name="Center">The center loss value (before λ).</param>
public readonly record struct JointLossValue<T>(T Total, T Classification, T Center)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The center-loss training objective of Wen et al.: a classification loss on logits computed from the features plus
/// λ·center loss on the same features, <c>L = L_cls(head(x, W), y) + λ·L_C(x, y, c)</c>, with the summed gradient
/// w.r.t. x and the gradients w.r.t. the class weights W and (λ-scaled) the centers.
/// </summary>
/// <remarks>
/// <para>The head is a plain linear layer <c>logits = x·Wᵀ</c> (no bias; the paper's softmax + center setup, with
/// <see cref="CrossEntropyLoss{T}"/>) or, when a <see cref="CosineHead{T}"/> is given, the cosine head feeding a margin
/// loss (<see cref="AngularMarginLoss{T}"/>): ArcFace/CosFace + center loss.</para>
/// <para>Gradients: <c>∂L/∂x = head backward of ∂L_cls/∂logits + λ·∂L_C/∂x</c>, <c>∂L/∂W</c> from the head,
/// <c>∂L/∂c = λ·∂L_C/∂c</c> (use <see cref="CenterLoss{T}.UpdateCenters"/> instead for the paper's center step).
/// Both losses must reduce (Mean or Sum). Nothing is allocated: the caller passes a workspace of
/// <see cref="WorkspaceSize"/> elements (logits, their gradient and the head's scratch).</para>
/// </remarks>
public sealed class CenterLossObjective<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="classification">The loss on the logits: a CrossEntropyLoss (linear head) or an AngularMarginLoss (cosine head); Mean or Sum.</param>
    /// <param name="center">The center loss; Mean or Sum.</param>
    /// <param name="lambda">λ ≥ 0, finite (the paper's face model uses 0.003–0.01).</param>
    /// <param name="head">A cosine head, or null for the linear head x·Wᵀ.</param>
    public CenterLossObjective(ClassIndexLoss<T> classification, CenterLoss<T> center, double lambda, CosineHead<T>? head = null)
    {
        ArgumentNullException.ThrowIfNull(classification);
        ArgumentNullException.ThrowIfNull(center);
        if (classification.Reduction == Reduction.None)
        {
            ThrowHelper.Argument(nameof(classification), "The classification loss must reduce (Mean or Sum); got Reduction.None.");
        }

        if (center.Reduction == Reduction.None)
        {
            ThrowHelper.Argument(nameof(center), "The center loss must reduce (Mean or Sum); got Reduction.None.");
        }

        Classification = classification;
        Center = center;
        Lambda = ThrowHelper.CheckAtLeast(lambda, 0.0, nameof(lambda));
        Head = head;
    }

    /// <summary>The classification loss.</summary>
    public ClassIndexLoss<T> Classification { get; }

    /// <summary>The center loss.</summary>
    public CenterLoss<T> Center { get; }

    /// <summary>λ, the weight of the center loss.</summary>
    public double Lambda { get; }

    /// <summary>The cosine head, or null for the linear head.</summary>
    public CosineHead<T>? Head { get; }

    /// <summary>Workspace elements: logits and their gradient (2·batch·classes) plus the head's workspace.</summary>
    public static int WorkspaceSize(int batch, int classes, int dim) =>
        checked(2 * batch * classes + CosineHead<T>.WorkspaceSize(batch, classes, dim));

    /// <summary>The objective, its parts and gradients.</summary>
    /// <param name="input">Features x, batch × dim.</param>
    /// <param name="classWeights">Class weights W, classes × dim.</param>
    /// <param name="target">Class index per row.</param>
    /// <param name="centers">Centers, classes × dim.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="dim">Feature size.</param>
    /// <param name="inputGradient">Receives ∂L/∂x (batch × dim).</param>
    /// <param name="classWeightsGradient">Receives ∂L/∂W (classes × dim); empty to skip.</param>
    /// <param name="centersGradient">Receives λ·∂L_C/∂c (classes × dim); empty to skip.</param>
    /// <param name="workspace">At least <c>2·batch·classes + CosineHead.MinimumWorkspaceSize</c> elements (see <see cref="WorkspaceSize"/>).</param>
    public unsafe JointLossValue<T> ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> classWeights, ReadOnlySpan<int> target, ReadOnlySpan<T> centers,
        int batch, int classes, int dim, Span<T> inputGradient, Span<T> classWeightsGradient, Span<T> centersGradient, Span<T> workspace)
    {
        ThrowHelper.CheckDimension(batch, nameof(batch));
        ThrowHelper.CheckDimension(dim, nameof(dim));
        if (classes < 1)
        {
            ThrowHelper.OutOfRange(nameof(classes), classes, $"classes must be >= 1, got {classes}.");
        }

        ThrowHelper.CheckMatrix(input.Length, batch, dim, nameof(input), nameof(batch), nameof(dim));
        ThrowHelper.CheckMatrix(classWeights.Length, classes, dim, nameof(classWeights), nameof(classes), nameof(dim));
        ThrowHelper.CheckDestination(inputGradient.Length, batch * dim, nameof(inputGradient));
        if (!classWeightsGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(classWeightsGradient.Length, classes * dim, nameof(classWeightsGradient));
        }

        int logits = checked(batch * classes);
        ThrowHelper.CheckDestination(workspace.Length, checked(2 * logits + CosineHead<T>.MinimumWorkspaceSize(batch, classes, dim)), nameof(workspace));
        if (workspace.Overlaps(input) || workspace.Overlaps(classWeights) || workspace.Overlaps(centers) || workspace.Overlaps(inputGradient)
            || workspace.Overlaps(classWeightsGradient) || workspace.Overlaps(centersGradient))
        {
            ThrowHelper.Argument(nameof(workspace), "workspace must not overlap the inputs or the gradients.");
        }

        if (inputGradient.Overlaps(input) || inputGradient.Overlaps(classWeights) || inputGradient.Overlaps(classWeightsGradient))
        {
            ThrowHelper.Argument(nameof(inputGradient), "inputGradient must not overlap input, classWeights or classWeightsGradient.");
        }

        Center.Validate(input, target, centers, batch, classes, dim, default, inputGradient, centersGradient, false);

        Span<T> z = workspace[..logits], g = workspace.Slice(logits, logits), rest = workspace[(2 * logits)..];
        T classification;
        if (Head is not null)
        {
            classification = Head.ForwardBackward(Classification, input, classWeights, target, batch, classes, dim, inputGradient, classWeightsGradient, z, g, rest);
        }
        else
        {
            fixed (T* x = input, w = classWeights, pz = z, pg = g, s = rest, gx = inputGradient, gw = classWeightsGradient)
            {
                Gemm.Multiply(x, dim, false, w, dim, true, pz, classes, batch, classes, dim, false, s, rest.Length);
                classification = Classification.ForwardBackward(z, target, batch, classes, g);
                Gemm.Multiply(pg, classes, false, w, dim, false, gx, dim, batch, dim, classes, false, s, rest.Length);
                if (!classWeightsGradient.IsEmpty)
                {
                    Gemm.Multiply(pg, classes, true, x, dim, false, gw, dim, classes, dim, batch, false, s, rest.Length);
                }
            }
        }

        // λ·center loss: its d/dx is added to the head's, its d/dc scaled by λ.
        T scale = T.CreateTruncating(Lambda) * Reductions.GradientScale(Center.Reduction, T.One, batch);
        double sum = Center.Run(input, target, centers, batch, classes, dim, default, inputGradient[..(batch * dim)], centersGradient, scale, default, true, true);
        T center = Reductions.Finish<T>(Center.Reduction, sum, batch);
        return new JointLossValue<T>(classification + T.CreateTruncating(Lambda) * center, classification, center);
    }
}
