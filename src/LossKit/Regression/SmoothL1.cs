using System.Numerics;
using LossKit.Internal;

namespace LossKit.Regression;

/// <summary>
/// Smooth L1 loss: with d = |x − y|, <c>l = 0.5·d²/β</c> if d &lt; β, else <c>d − 0.5·β</c>; gradient <c>(x − y)/β</c>
/// inside, <c>sign(x − y)</c> outside. β = 0 is exactly L1 (gradient sign, 0 at 0).
/// PyTorch: <c>torch.nn.SmoothL1Loss(reduction='mean', beta=1.0)</c>; Faster R-CNN uses β = 1/9.
/// </summary>
/// <remarks>Reduction default Mean. NaN propagates; ±∞ gives ∞ with gradient ±1; empty Mean is NaN. β &lt; 0 or NaN throws.</remarks>
public sealed class SmoothL1Loss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="beta">Where the quadratic part ends (≥ 0, default 1).</param>
    public SmoothL1Loss(Reduction reduction = Reduction.Mean, double beta = 1.0) : base(reduction) =>
        Beta = ThrowHelper.CheckAtLeast(beta, 0.0, nameof(beta));

    /// <summary>The threshold β between the quadratic and the linear part.</summary>
    public double Beta { get; }

    private protected override ElementwiseLoss<float> CreateFloat32() => new SmoothL1Loss<float>(Reduction, Beta);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Beta == 0.0
            ? Pointwise.Run(default(L1Op<T>), input, target, weight, values, gradient, scale, upstream)
            : Pointwise.Run(new Op(T.CreateTruncating(Beta)), input, target, weight, values, gradient, scale, upstream);

    private readonly struct Op(T beta) : IPointwiseOp<T>
    {
        private static readonly T Half = T.CreateTruncating(0.5);
        private readonly T _beta = beta;
        private readonly T _halfBeta = Half * beta;

        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T y, out T gradient)
        {
            T d = x - y;
            T a = T.Abs(d);
            if (a < _beta)
            {
                gradient = d / _beta;
                return Half * d * d / _beta;
            }

            gradient = VMath.Sign(d);
            return a - _halfBeta;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
        {
            Vector<T> beta = new(_beta);
            Vector<T> d = x - y;
            Vector<T> a = Vector.Abs(d);
            Vector<T> inside = Vector.LessThan(a, beta);
            gradient = Vector.ConditionalSelect(inside, d / beta, VMath.Sign(d));
            return Vector.ConditionalSelect(inside, new Vector<T>(Half) * d * d / beta, a - new Vector<T>(_halfBeta));
        }
    }
}
