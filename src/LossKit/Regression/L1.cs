using System.Numerics;
using LossKit.Internal;

namespace LossKit.Regression;

/// <summary>
/// L1 loss (mean absolute error): <c>l = |x − y|</c>, gradient <c>∂l/∂x = sign(x − y)</c> (0 at x = y, as torch.sign).
/// PyTorch: <c>torch.nn.L1Loss(reduction='mean')</c> / <c>F.l1_loss</c>.
/// </summary>
/// <remarks>Reduction default Mean (sum / element count). NaN propagates; ±∞ gives ∞ and gradient ±1; empty Mean is NaN.</remarks>
public sealed class L1Loss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public L1Loss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override ElementwiseLoss<float> CreateFloat32() => new L1Loss<float>(Reduction);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(default(L1Op<T>), input, target, weight, values, gradient, scale, upstream);
}

/// <summary>|x − y| and sign(x − y); shared by <see cref="L1Loss{T}"/> and Smooth L1 with β = 0.</summary>
internal readonly struct L1Op<T> : IPointwiseOp<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Value(T x, T y) => T.Abs(x - y);

    public T Value(T x, T y, out T gradient)
    {
        T d = x - y;
        gradient = VMath.Sign(d);
        return T.Abs(d);
    }

    public Vector<T> Value(Vector<T> x, Vector<T> y) => Vector.Abs(x - y);

    public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
    {
        Vector<T> d = x - y;
        gradient = VMath.Sign(d);
        return Vector.Abs(d);
    }
}
