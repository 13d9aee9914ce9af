using System.Numerics;
using LossKit.Internal;

namespace LossKit.Regression;

/// <summary>
/// Balanced L1 loss (Libra R-CNN, Pang et al. 2019), as mmdetection's <c>BalancedL1Loss(alpha=0.5, gamma=1.5, beta=1.0)</c>.
/// With d = |x − y| and b = e^{γ/α} − 1 (so that α·ln(b + 1) = γ):
/// <c>l = (α/b)(b·d + 1)·ln(b·d/β + 1) − α·d</c> for d &lt; β, else <c>γ·d + γ/b − α·β</c>.
/// Gradient (× sign(x − y), 0 at x = y): <c>α·ln(b·d/β + 1) + α(b·d + 1)/(b·d + β) − α</c> inside (α·ln(b·d + 1) for β = 1), γ outside.
/// </summary>
/// <remarks>No PyTorch module; tested against a PyTorch transcription of the formula with autograd gradients.
/// Reduction default Mean (over elements). NaN propagates; ±∞ gives ∞ with gradient ±γ; empty Mean is NaN.
/// α, γ, β must be finite and &gt; 0, and (e^(γ/α) − 1)·max(β, 1) finite in <typeparamref name="T"/> (γ/α up to about 87
/// in float, 709 in double), so that b·d stays finite for d &lt; β.</remarks>
public sealed class BalancedL1Loss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="alpha">Inlier promotion α (default 0.5).</param>
    /// <param name="gamma">Outlier gradient bound γ (default 1.5).</param>
    /// <param name="beta">Where the inlier part ends (default 1).</param>
    public BalancedL1Loss(Reduction reduction = Reduction.Mean, double alpha = 0.5, double gamma = 1.5, double beta = 1.0) : base(reduction)
    {
        Alpha = ThrowHelper.CheckAbove(alpha, 0.0, nameof(alpha));
        Gamma = ThrowHelper.CheckAbove(gamma, 0.0, nameof(gamma));
        Beta = ThrowHelper.CheckAbove(beta, 0.0, nameof(beta));
        // b·d with d < β must be finite in T: with b = ∞ (or b·β = ∞) the inlier branch gives ∞/∞ = NaN.
        if (!T.IsFinite(T.CreateTruncating((Math.Exp(gamma / alpha) - 1.0) * Math.Max(beta, 1.0))))
        {
            ThrowHelper.OutOfRange(nameof(gamma), gamma,
                $"gamma/alpha = {gamma / alpha} is too large for {typeof(T).Name}: (e^(gamma/alpha) - 1)·max(beta, 1) overflows.");
        }
    }

    /// <summary>α, the inlier weight.</summary>
    public double Alpha { get; }

    /// <summary>γ, the bound of the outlier gradient.</summary>
    public double Gamma { get; }

    /// <summary>β, the end of the inlier part.</summary>
    public double Beta { get; }

    private protected override ElementwiseLoss<float> CreateFloat32() => new BalancedL1Loss<float>(Reduction, Alpha, Gamma, Beta);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(new Op(Alpha, Gamma, Beta), input, target, weight, values, gradient, scale, upstream);

    private readonly struct Op : IPointwiseOp<T>
    {
        private readonly T _alpha, _gamma, _beta, _b, _alphaOverB, _outerConstant;

        public Op(double alpha, double gamma, double beta)
        {
            double b = Math.Exp(gamma / alpha) - 1.0;
            _alpha = T.CreateTruncating(alpha);
            _gamma = T.CreateTruncating(gamma);
            _beta = T.CreateTruncating(beta);
            _b = T.CreateTruncating(b);
            _alphaOverB = T.CreateTruncating(alpha / b);
            _outerConstant = T.CreateTruncating(gamma / b - alpha * beta);
        }

        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T y, out T gradient)
        {
            T d = x - y;
            T a = T.Abs(d);
            T s = VMath.Sign(d);
            if (a < _beta)
            {
                T bd = _b * a;
                T log = T.Log(bd / _beta + T.One);
                gradient = s * (_alpha * log + _alpha * (bd + T.One) / (bd + _beta) - _alpha);
                return _alphaOverB * (bd + T.One) * log - _alpha * a;
            }

            gradient = s * _gamma;
            return _gamma * a + _outerConstant;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
        {
            Vector<T> alpha = new(_alpha), beta = new(_beta);
            Vector<T> d = x - y;
            Vector<T> a = Vector.Abs(d);
            Vector<T> s = VMath.Sign(d);
            Vector<T> inside = Vector.LessThan(a, beta);
            Vector<T> bd = new Vector<T>(_b) * a;
            Vector<T> log = VMath.Log(bd / beta + Vector<T>.One);
            Vector<T> gIn = alpha * log + alpha * (bd + Vector<T>.One) / (bd + beta) - alpha;
            gradient = s * Vector.ConditionalSelect(inside, gIn, new Vector<T>(_gamma));
            Vector<T> lIn = new Vector<T>(_alphaOverB) * (bd + Vector<T>.One) * log - alpha * a;
            return Vector.ConditionalSelect(inside, lIn, new Vector<T>(_gamma) * a + new Vector<T>(_outerConstant));
        }
    }
}
