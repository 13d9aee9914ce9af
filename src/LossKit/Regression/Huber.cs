using System.Numerics;
using LossKit.Internal;

namespace LossKit.Regression;

/// <summary>
/// Huber loss: with d = |x − y|, <c>l = 0.5·d²</c> if d &lt; δ, else <c>δ·(d − 0.5·δ)</c> (= δ·SmoothL1 with β = δ);
/// gradient <c>x − y</c> inside, <c>δ·sign(x − y)</c> outside.
/// PyTorch: <c>torch.nn.HuberLoss(reduction='mean', delta=1.0)</c>.
/// </summary>
/// <remarks>Reduction default Mean. NaN propagates; ±∞ gives ∞ with gradient ±δ; empty Mean is NaN. δ ≤ 0 or NaN throws.</remarks>
public sealed class HuberLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="delta">Where the quadratic part ends (&gt; 0, default 1).</param>
    public HuberLoss(Reduction reduction = Reduction.Mean, double delta = 1.0) : base(reduction) =>
        Delta = ThrowHelper.CheckAbove(delta, 0.0, nameof(delta));

    /// <summary>The threshold δ between the quadratic and the linear part.</summary>
    public double Delta { get; }

    private protected override ElementwiseLoss<float> CreateFloat32() => new HuberLoss<float>(Reduction, Delta);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(new Op(T.CreateTruncating(Delta)), input, target, weight, values, gradient, scale, upstream);

    private readonly struct Op(T delta) : IPointwiseOp<T>
    {
        private static readonly T Half = T.CreateTruncating(0.5);
        private readonly T _delta = delta;
        private readonly T _halfDelta = Half * delta;

        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T y, out T gradient)
        {
            T d = x - y;
            T a = T.Abs(d);
            if (a < _delta)
            {
                gradient = d;
                return Half * d * d;
            }

            gradient = _delta * VMath.Sign(d);
            return _delta * (a - _halfDelta);
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
        {
            Vector<T> delta = new(_delta);
            Vector<T> d = x - y;
            Vector<T> a = Vector.Abs(d);
            Vector<T> inside = Vector.LessThan(a, delta);
            gradient = Vector.ConditionalSelect(inside, d, delta * VMath.Sign(d));
            return Vector.ConditionalSelect(inside, new Vector<T>(Half) * d * d, delta * (a - new Vector<T>(_halfDelta)));
        }
    }
}
