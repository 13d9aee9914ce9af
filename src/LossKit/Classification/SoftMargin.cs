using System.Numerics;
using System.Runtime.Intrinsics;
using LossKit.Internal;

namespace LossKit.Classification;

/// <summary>
/// Soft margin loss for labels y ∈ {−1, +1}, as <c>torch.nn.SoftMarginLoss(reduction='mean')</c>:
/// <c>l = ln(1 + e^(−y·x))</c>, the logistic loss of the margin y·x; gradient <c>−y·σ(−y·x)</c>.
/// </summary>
/// <remarks>
/// <para>Computed as softplus(z) = max(z, 0) + log1p(e^(−|z|)) with z = −y·x, so it never overflows: for z beyond about
/// 88 (float) or 709 (double), where PyTorch 1.13's log1p(exp(z)) gives +∞ and a NaN gradient, this gives z and −y
/// (the exact values). Elsewhere it matches PyTorch to rounding.</para>
/// <para>Reduction default Mean; labels other than ±1 throw ArgumentOutOfRangeException naming <c>target</c>. NaN
/// propagates; ±∞ logits give 0 or +∞ with gradient 0 or −y. Empty input: Sum 0, Mean NaN.</para>
/// </remarks>
public sealed class SoftMarginLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public SoftMarginLoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target) => DataChecks.PlusMinusOne(target, nameof(target));

    private protected override ElementwiseLoss<float> CreateFloat32() => new SoftMarginLoss<float>(Reduction);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(default(Op), input, target, weight, values, gradient, scale, upstream);

    /// <summary>z = −y·x; softplus(z) and σ(z) from one exponential of −|z|.</summary>
    private readonly struct Op : IPointwiseOp<T>
    {
        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T y, out T gradient)
        {
            T z = -y * x;
            T p = VMath.SigmoidAndLog1pExpNegAbs(z, out T log1p);
            gradient = -y * p;
            return T.Max(z, T.Zero) + log1p;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient) => Value(x, y, Stage(x), out gradient);

        // Compute-bound like BCE-with-logits: for float the fused call stages the exponential e^(−|z|) at every
        // width, and also runs 512-bit blocks. The stage takes x alone: |z| = |x|, y being ±1 (ValidateData).
        public static bool HasStagedVector => typeof(T) == typeof(float);

        public Vector<T> Stage(Vector<T> x) => VMath.ExpNegativeAbs(x);

        public Vector<T> Value(Vector<T> x, Vector<T> y, Vector<T> staged, out Vector<T> gradient)
        {
            Vector<T> z = -y * x;
            Vector<T> p = VMath.SigmoidAndLog1pFromExp(z, staged, out Vector<T> log1p);
            gradient = -y * p;
            return VMath.PositivePart(z) + log1p;
        }

        public static bool HasVector512 => typeof(T) == typeof(float);

        public static bool HasStagedVector512 => typeof(T) == typeof(float);

        public Vector512<T> Value(Vector512<T> x, Vector512<T> y) => Value(x, y, out _);

        public Vector512<T> Value(Vector512<T> x, Vector512<T> y, out Vector512<T> gradient) => Value(x, y, Stage(x), out gradient);

        public Vector512<T> Stage(Vector512<T> x) => VMath.ExpNegativeAbs(x);

        public Vector512<T> Value(Vector512<T> x, Vector512<T> y, Vector512<T> staged, out Vector512<T> gradient)
        {
            Vector512<float> yf = y.As<T, float>(), z = -yf * x.As<T, float>();
            Vector512<float> p = VMath.SigmoidAndLog1pFromExp(z, staged.As<T, float>(), out Vector512<float> log1p);
            gradient = (-yf * p).As<float, T>();
            return (VMath.PositivePart(z) + log1p).As<float, T>();
        }
    }
}
