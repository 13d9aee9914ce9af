using System.Numerics;
using LossKit.Internal;

namespace LossKit.Classification;

/// <summary>
/// Exponential loss (AdaBoost) for labels y ∈ {−1, +1}: <c>l = e^(−y·f)</c>, gradient <c>−y·e^(−y·f)</c>.
/// No PyTorch module; matches <c>torch.exp(-y*f)</c> with autograd.
/// </summary>
/// <remarks>Reduction default Mean. Labels other than ±1 throw. The loss is unbounded: y·f below about −709 (double)
/// or −88 (float) overflows to +∞, as the reference does. NaN propagates; empty Mean is NaN.</remarks>
public sealed class ExponentialLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public ExponentialLoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override ElementwiseLoss<float> CreateFloat32() => new ExponentialLoss<float>(Reduction);

    private protected override void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target) => DataChecks.PlusMinusOne(target, nameof(target));

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(default(Op), input, target, weight, values, gradient, scale, upstream);

    private readonly struct Op : IPointwiseOp<T>
    {
        public T Value(T x, T y) => T.Exp(-y * x);

        public T Value(T x, T y, out T gradient)
        {
            T e = T.Exp(-y * x);
            gradient = -y * e;
            return e;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => VMath.Exp(-y * x);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
        {
            Vector<T> e = VMath.Exp(-y * x);
            gradient = -y * e;
            return e;
        }
    }
}
