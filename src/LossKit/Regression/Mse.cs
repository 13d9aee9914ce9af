using System.Numerics;

namespace LossKit.Regression;

/// <summary>
/// Mean squared error (L2): <c>l = (x − y)²</c>, gradient <c>2(x − y)</c>.
/// PyTorch: <c>torch.nn.MSELoss(reduction='mean')</c> / <c>F.mse_loss</c>.
/// </summary>
/// <remarks>Reduction default Mean (sum / element count). NaN propagates; ±∞ gives ∞ (∞ − ∞ = NaN); empty Mean is NaN.</remarks>
public sealed class MseLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public MseLoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override ElementwiseLoss<float> CreateFloat32() => new MseLoss<float>(Reduction);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Internal.Pointwise.Run(default(Op), input, target, weight, values, gradient, scale, upstream);

    private readonly struct Op : Internal.IPointwiseOp<T>
    {
        public T Value(T x, T y)
        {
            T d = x - y;
            return d * d;
        }

        public T Value(T x, T y, out T gradient)
        {
            T d = x - y;
            gradient = d + d;
            return d * d;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y)
        {
            Vector<T> d = x - y;
            return d * d;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
        {
            Vector<T> d = x - y;
            gradient = d + d;
            return d * d;
        }
    }
}
