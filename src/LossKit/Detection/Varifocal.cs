using System.Numerics;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>
/// Varifocal loss (VarifocalNet, Zhang et al. 2021), as mmdetection's <c>VarifocalLoss(use_sigmoid=True, alpha=0.75,
/// gamma=2.0, iou_weighted=True, reduction='mean')</c> (<c>mmdet/models/losses/varifocal_loss.py</c>), on logits x with
/// IoU-aware targets t (the IoU with the ground truth for the positive class, 0 elsewhere). With p = σ(x):
/// <c>w = t·[t &gt; 0] + α·|p − t|^γ·[t ≤ 0]</c> (iouWeighted; <c>[t &gt; 0] + α·|p − t|^γ·[t ≤ 0]</c> otherwise) and
/// <c>l = BCE-with-logits(x, t)·w</c>.
/// </summary>
/// <remarks>
/// <para>The focal weight is not detached (as in mmdetection): its gradient flows through σ and |·|, with sign(0) = 0.
/// Gradient: <c>∂l/∂x = (p − t)·w + ce·α·[t ≤ 0]·γ·|p − t|^(γ−1)·sign(p − t)·p·(1 − p)</c>, ce = BCE-with-logits(x, t);
/// for γ = 0 the second term is absent (PyTorch's pow backward gives 0 for exponent 0).</para>
/// <para>Reduction: default Mean over all elements, or Σ / (avgFactor + float32 eps) with mmdetection's avg_factor
/// (VFNet passes the number of positives); Sum; None. The optional weight multiplies each element (mmdetection's
/// weight). mmdetection's loss_weight is not applied (scale the result). Targets are not range-checked.</para>
/// <para>Special values: NaN in x or t gives NaN for that element. Finite logits of any size (up to ±Max in float and
/// double, targets in [0, 1]) give finite values and gradients (ce is capped in the γ term, so no ∞·0 at x = +Max,
/// t = 0, where mmdetection's autograd gives NaN), except that for 0 &lt; γ &lt; 1 the gradient is NaN where p equals t exactly
/// (e.g. t = 0 and p underflowing to 0 at very negative logits: γ·0^(γ−1) = ∞ times sign(0) = 0), as with autograd.
/// ±∞ logits give NaN where BCE-with-logits does (0·∞, ∞ − ∞). Empty input: Sum 0, Mean NaN.</para>
/// </remarks>
public sealed class VarifocalLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="alpha">Weight α ≥ 0 of the negatives (default 0.75), finite.</param>
    /// <param name="gamma">Focusing exponent γ ≥ 0 of the negatives (default 2), finite.</param>
    /// <param name="iouWeighted">Whether positives are weighted by their target t (default true) or by 1.</param>
    public VarifocalLoss(Reduction reduction = Reduction.Mean, double alpha = 0.75, double gamma = 2.0, bool iouWeighted = true) : base(reduction)
    {
        Alpha = ThrowHelper.CheckAtLeast(alpha, 0.0, nameof(alpha));
        Gamma = ThrowHelper.CheckAtLeast(gamma, 0.0, nameof(gamma));
        IouWeighted = iouWeighted;
    }

    /// <summary>α, the weight of the negatives.</summary>
    public double Alpha { get; }

    /// <summary>γ, the focusing exponent of the negatives.</summary>
    public double Gamma { get; }

    /// <summary>Whether positives are weighted by their IoU target.</summary>
    public bool IouWeighted { get; }

    private protected override ElementwiseLoss<float> CreateFloat32() => new VarifocalLoss<float>(Reduction, Alpha, Gamma, IouWeighted);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Gamma == 2.0
            ? Pointwise.Run(new Op<SquarePower<T>, IdentityPower<T>>(Alpha, Gamma, IouWeighted, default, default), input, target, weight, values, gradient, scale, upstream)
            : Pointwise.Run(new Op<FocalPower<T>, FocalPower<T>>(Alpha, Gamma, IouWeighted, new(Gamma), new(Gamma - 1.0)), input, target, weight, values, gradient, scale, upstream);

    /// <summary>
    /// The element math, with the masks [t &gt; 0] and [t ≤ 0] as 0/1 factors, as mmdetection multiplies them (so a NaN
    /// target makes the weight NaN and an infinite power derivative times a zero mask is NaN, as with autograd).
    /// |p − t|^γ and |p − t|^(γ−1) come from the power structs, so the default γ = 2 compiles to a product and the
    /// difference itself (the same values as <see cref="FocalPower{T}"/>'s square and identity).
    /// </summary>
    private readonly struct Op<TPower, TDerivative> : IPointwiseOp<T>
        where TPower : unmanaged, IFocalPower<T>
        where TDerivative : unmanaged, IFocalPower<T>
    {
        private readonly TPower _power;
        private readonly TDerivative _derivativePower;
        private readonly T _alpha, _gamma;
        private readonly bool _iouWeighted, _hasDerivative;
        private readonly T _ceLimit;

        public Op(double alpha, double gamma, bool iouWeighted, TPower power, TDerivative derivativePower)
        {
            _power = power;
            _derivativePower = derivativePower;
            _alpha = T.CreateTruncating(alpha);
            _gamma = T.CreateTruncating(gamma);
            _iouWeighted = iouWeighted;
            _hasDerivative = gamma != 0.0;
            _ceLimit = CeLimit<T>.For(Math.Max(gamma, 1.0) * Math.Max(alpha, 1.0));
        }

        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T t, out T gradient)
        {
            T p = VMath.SigmoidAndLog1pExpNegAbs(x, out T log1p);
            T ce = ((T.One - t) * x + T.Max(-x, T.Zero)) + log1p;
            T positive = t > T.Zero ? T.One : T.Zero;
            T negative = t <= T.Zero ? T.One : T.Zero;
            T d = p - t;
            T distance = T.Abs(d);
            T focalWeight = (_iouWeighted ? t * positive : positive) + _alpha * _power.Of(distance) * negative;
            T g = focalWeight * (p - t);
            if (_hasDerivative)
            {
                // d w/dp = α·[t ≤ 0]·γ·|p − t|^(γ−1)·sign(p − t), then σ' = (1 − p)·p.
                // ce capped (CeLimit): no ∞ from ce·α·γ near x = Max to meet σ'(x) = 0 as ∞·0; results elsewhere keep their bits.
                T gP = T.Min(ce, _ceLimit) * negative * _alpha * (_gamma * _derivativePower.Of(distance)) * VMath.Sign(d);
                g += gP * (T.One - p) * p;
            }

            gradient = g;
            return ce * focalWeight;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> t, out Vector<T> gradient)
        {
            Vector<T> one = Vector<T>.One, zero = Vector<T>.Zero;
            Vector<T> p = VMath.SigmoidAndLog1pExpNegAbs(x, out Vector<T> log1p);
            Vector<T> ce = ((one - t) * x + Vector.Max(-x, zero)) + log1p;

            // Masks as 0/1 lanes (a NaN target is in neither: both factors 0).
            Vector<T> positive = Vector.ConditionalSelect(Vector.GreaterThan(t, zero), one, zero);
            Vector<T> negative = Vector.ConditionalSelect(Vector.LessThanOrEqual(t, zero), one, zero);
            Vector<T> d = p - t;
            Vector<T> distance = Vector.Abs(d);
            Vector<T> alpha = new(_alpha);
            Vector<T> focalWeight = (_iouWeighted ? t * positive : positive) + alpha * _power.Of(distance) * negative;
            Vector<T> g = focalWeight * (p - t);
            if (_hasDerivative)
            {
                Vector<T> gP = Vector.Min(ce, new Vector<T>(_ceLimit)) * negative * alpha * (new Vector<T>(_gamma) * _derivativePower.Of(distance)) * VMath.Sign(d);
                g += gP * (one - p) * p;
            }

            gradient = g;
            return ce * focalWeight;
        }
    }
}
