using System.Numerics;
using System.Runtime.Intrinsics;
using LossKit.Internal;

namespace LossKit.Classification;

/// <summary>
/// Binary cross-entropy on probabilities, as <c>torch.nn.BCELoss(weight=None, reduction='mean')</c>:
/// <c>l = −[y·max(ln x, −100) + (1 − y)·max(ln(1 − x), −100)]</c> (ln(1 − x) computed as log1p(−x), as ATen), gradient
/// <c>(x − y) / max(x(1 − x), 1e−12)</c> (ATen's backward, which stays finite at x = 0 and 1).
/// </summary>
/// <remarks>Inputs and targets must lie in [0, 1] (ArgumentOutOfRangeException naming <c>input</c> or <c>target</c>,
/// with the index); NaN passes through and gives NaN. The optional weight multiplies each element (PyTorch's weight
/// of the same shape). Prefer <see cref="BinaryCrossEntropyWithLogitsLoss{T}"/> on logits. Empty Mean is NaN.</remarks>
public sealed class BinaryCrossEntropyLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public BinaryCrossEntropyLoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override ElementwiseLoss<float> CreateFloat32() => new BinaryCrossEntropyLoss<float>(Reduction);

    private protected override void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target)
    {
        DataChecks.UnitInterval(input, nameof(input));
        DataChecks.UnitInterval(target, nameof(target));
    }

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(default(Op), input, target, weight, values, gradient, scale, upstream);

    private readonly struct Op : IPointwiseOp<T>
    {
        private static readonly T LogFloor = T.CreateTruncating(-100);
        // ATen declares this clamp as a float constant (1e-12f = 9.999999960041972e-13), also for double tensors.
        private static readonly T Epsilon = T.CreateTruncating((double)1e-12f);

        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T y, out T gradient)
        {
            T logX = T.Max(T.Log(x), LogFloor);
            T log1mX = T.Max(VMath.Log1p(-x), LogFloor);
            gradient = (x - y) / T.Max(x * (T.One - x), Epsilon);
            return (y - T.One) * log1mX - y * logX;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
        {
            Vector<T> floor = new(LogFloor);
            Vector<T> logX = Vector.Max(VMath.Log(x), floor);
            Vector<T> log1mX = Vector.Max(VMath.Log1p(-x), floor);
            gradient = (x - y) / Vector.Max(x * (Vector<T>.One - x), new Vector<T>(Epsilon));
            return (y - Vector<T>.One) * log1mX - y * logX;
        }
    }
}

/// <summary>
/// Binary cross-entropy on logits, as <c>torch.nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None)</c>:
/// <c>l = (1 − y)·x + L·softplus(−x)</c> with L = 1 + (pos_weight − 1)·y and softplus(−x) = max(−x, 0) + log1p(e^(−|x|));
/// gradient <c>σ(x)·L − pos_weight·y</c> (σ(x) − y without pos_weight).
/// </summary>
/// <remarks>
/// <para>Stable for logits of any size (one e^(−|x|) per element, no exp of a positive number). Soft targets are
/// allowed; they are not range-checked, as in PyTorch. pos_weight has one entry per class (the input's last
/// dimension; the input length must be a multiple of its length) and broadcasts over rows.</para>
/// <para>NaN propagates. ±∞ logits give the loss ATen's formula gives: ∞ for x = +∞ with y = 0, NaN for the other
/// hard targets (the formula meets 0·∞ or ∞ − ∞ there); the gradient σ(x)·L − pos_weight·y stays finite. Empty Mean is
/// NaN.</para>
/// </remarks>
public sealed class BinaryCrossEntropyWithLogitsLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="posWeight">Optional weight of positive examples per class (length = the last dimension).</param>
    public BinaryCrossEntropyWithLogitsLoss(Reduction reduction = Reduction.Mean, ReadOnlyMemory<T> posWeight = default) : base(reduction)
    {
        PosWeight = posWeight;
        foreach (T w in posWeight.Span)
        {
            if (!T.IsFinite(w))
            {
                ThrowHelper.OutOfRange(nameof(posWeight), w, $"posWeight entries must be finite, got {w}.");
            }
        }
    }

    /// <summary>Weight of positive examples per class, or empty.</summary>
    public ReadOnlyMemory<T> PosWeight { get; }

    private protected override ElementwiseLoss<float> CreateFloat32() => new BinaryCrossEntropyWithLogitsLoss<float>(Reduction, Float32Path.WidenToArray(PosWeight.Span));

    private protected override void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target)
    {
        if (!PosWeight.IsEmpty && input.Length % PosWeight.Length != 0)
        {
            ThrowHelper.Argument(nameof(input), $"input length {input.Length} is not a multiple of posWeight's length {PosWeight.Length} (the class dimension).");
        }
    }

    private protected override unsafe double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        if (PosWeight.IsEmpty)
        {
            return Pointwise.Run(default(Op), input, target, weight, values, gradient, scale, upstream);
        }

        int classes = PosWeight.Length;
        fixed (T* x = input, y = target, w = weight, v = values, g = gradient, u = upstream, pw = PosWeight.Span)
        {
            var kernel = new PosWeightKernel
            {
                X = x, Y = y, W = weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v, G = gradient.IsEmpty ? null : g,
                Up = upstream.IsEmpty ? null : u, PosWeight = pw, Scale = scale, C = classes,
            };
            return RowDriver.Run(ref kernel, input.Length / classes, classes);
        }
    }

    /// <summary>The element math with a pos_weight operand; pw = 1 is the plain loss.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static T Element(T x, T y, T pw, out T gradient)
    {
        T sigma = VMath.SigmoidAndLog1pExpNegAbs(x, out T log1p);
        T l = T.One + (pw - T.One) * y;
        gradient = sigma * l - pw * y;
        return (T.One - y) * x + l * (T.Max(-x, T.Zero) + log1p);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Element(Vector<T> x, Vector<T> y, Vector<T> pw, out Vector<T> gradient)
    {
        Vector<T> sigma = VMath.SigmoidAndLog1pExpNegAbs(x, out Vector<T> log1p);
        Vector<T> l = Vector<T>.One + (pw - Vector<T>.One) * y;
        gradient = sigma * l - pw * y;
        return (Vector<T>.One - y) * x + l * (VMath.PositivePart(-x) + log1p);
    }

    /// <summary>Without pos_weight: ((1 − y)·x + max(−x, 0)) + log1p(e^(−|x|)), ATen's grouping, exact in the far tail for hard targets.</summary>
    private readonly struct Op : IPointwiseOp<T>
    {
        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T y, out T gradient)
        {
            T sigma = VMath.SigmoidAndLog1pExpNegAbs(x, out T log1p);
            gradient = sigma - y;
            return ((T.One - y) * x + T.Max(-x, T.Zero)) + log1p;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient) => Value(x, y, Stage(x), out gradient);

        // Compute-bound (one exp, two divisions and two polynomials per element): for float the fused call stages the
        // exponential e^(−|x|) at every width, and also runs 512-bit blocks.
        public static bool HasStagedVector => typeof(T) == typeof(float);

        public Vector<T> Stage(Vector<T> x) => VMath.ExpNegativeAbs(x);

        public Vector<T> Value(Vector<T> x, Vector<T> y, Vector<T> staged, out Vector<T> gradient)
        {
            Vector<T> sigma = VMath.SigmoidAndLog1pFromExp(x, staged, out Vector<T> log1p);
            gradient = sigma - y;
            return ((Vector<T>.One - y) * x + VMath.PositivePart(-x)) + log1p;
        }

        public static bool HasVector512 => typeof(T) == typeof(float);

        public static bool HasStagedVector512 => typeof(T) == typeof(float);

        public Vector512<T> Value(Vector512<T> x, Vector512<T> y) => Value(x, y, out _);

        public Vector512<T> Value(Vector512<T> x, Vector512<T> y, out Vector512<T> gradient) => Value(x, y, Stage(x), out gradient);

        public Vector512<T> Stage(Vector512<T> x) => VMath.ExpNegativeAbs(x);

        public Vector512<T> Value(Vector512<T> x, Vector512<T> y, Vector512<T> staged, out Vector512<T> gradient)
        {
            Vector512<float> xf = x.As<T, float>(), yf = y.As<T, float>();
            Vector512<float> sigma = VMath.SigmoidAndLog1pFromExp(xf, staged.As<T, float>(), out Vector512<float> log1p);
            gradient = (sigma - yf).As<float, T>();
            return (((Vector512<float>.One - yf) * xf + VMath.PositivePart(-xf)) + log1p).As<float, T>();
        }
    }

    /// <summary>Rows of C classes with a per-class pos_weight vector; lanes run along the classes.</summary>
    private unsafe struct PosWeightKernel : IRowKernel
    {
        public T* X, Y, W, Values, G, Up, PosWeight;
        public T Scale;
        public int C;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            for (int r = start; r < end; r++)
            {
                long o = (long)r * C;
                T rowSum = T.Zero;
                int i = 0;
                if (VMath.IsVectorized<T>() && C >= Vector<T>.Count)
                {
                    Vector<T> acc = Vector<T>.Zero, scale = new(Scale);
                    for (; i <= C - Vector<T>.Count; i += Vector<T>.Count)
                    {
                        Vector<T> l = Element(Vector.Load(X + o + i), Vector.Load(Y + o + i), Vector.Load(PosWeight + i), out Vector<T> g);
                        if (W != null)
                        {
                            Vector<T> w = Vector.Load(W + o + i);
                            l *= w;
                            g *= w;
                        }

                        if (Values != null)
                        {
                            l.Store(Values + o + i);
                        }

                        acc += l;
                        if (G != null)
                        {
                            (g * (Up != null ? Vector.Load(Up + o + i) : scale)).Store(G + o + i);
                        }
                    }

                    rowSum = Vector.Sum(acc);
                }

                for (; i < C; i++)
                {
                    T l = Element(X[o + i], Y[o + i], PosWeight[i], out T g);
                    if (W != null)
                    {
                        l *= W[o + i];
                        g *= W[o + i];
                    }

                    if (Values != null)
                    {
                        Values[o + i] = l;
                    }

                    rowSum += l;
                    if (G != null)
                    {
                        G[o + i] = g * (Up != null ? Up[o + i] : Scale);
                    }
                }

                total += double.CreateTruncating(rowSum);
            }

            return total;
        }
    }
}
