using System.Numerics;
using LossKit.Internal;

namespace LossKit.MetricLearning;

/// <summary>What the target logit becomes where the margin would push the angle past π (or, for easy margin, where cos θ ≤ 0).</summary>
public enum MarginFallback
{
    /// <summary>
    /// No fallback: <c>cos(m1·θ + m2) − m3</c> for every θ (insightface's MXNet combined margin and its current PyTorch
    /// forward). Past θ + m2 &gt; π the target logit rises again.
    /// </summary>
    None = 0,

    /// <summary>
    /// insightface's classic ArcFace (m1 = 1 only): <c>cos(θ + m2) − m3</c> if <c>cos θ &gt; th</c> (strict), else
    /// <c>cos θ − mm − m3</c>, with <c>th = cos(π − m2)</c> and <c>mm = sin(π − m2)·m2</c>.
    /// </summary>
    Threshold = 1,

    /// <summary>
    /// pytorch-metric-learning's ArcFaceLoss (m1 = 1 only): <c>cos(θ + m2) − m3</c> if <c>θ ≤ π − m2</c> (inclusive,
    /// evaluated as <c>cos θ ≥ cos(π − m2)</c>), else <c>cos θ − m2·sin m2 − m3</c>.
    /// </summary>
    ThresholdInclusive = 2,

    /// <summary>insightface's easy_margin: the margin target if <c>cos θ &gt; 0</c>, else plain <c>cos θ</c> (no margin at all).</summary>
    EasyMargin = 3,

    /// <summary>
    /// SphereFace's monotonic extension (pytorch-metric-learning's LargeMarginSoftmax/SphereFace form), for any m1:
    /// <c>ψ = (−1)^k·cos(u) − 2k − m3</c> with <c>u = m1·θ + m2</c> and <c>k = ⌊u/π⌋</c> (k carries no gradient). ψ is
    /// continuous and decreasing in θ.
    /// </summary>
    Monotonic = 4,
}

/// <summary>How the gradient treats the margin.</summary>
public enum MarginGradient
{
    /// <summary>The exact chain rule through the margin function (the default; insightface classic, MXNet, pytorch-metric-learning).</summary>
    Exact = 0,

    /// <summary>
    /// insightface's current PyTorch behaviour (<c>arcface_torch</c> CombinedMarginLoss + its softmax CE, since Dec
    /// 2022): the margin is applied under no_grad, so d loss/d cos = s·(p − onehot) × the reduction factor for every
    /// column including the target; the value is <c>−ln max(p_y, 1e-30)</c> (saturates at 69.0776), the gradient is
    /// not floored.
    /// </summary>
    InsightFace = 1,
}

/// <summary>
/// Margin softmax on cosine logits (ArcFace, CosFace, SphereFace and their combination): for a batch of cosines
/// <c>cos θ [batch × classes]</c> (values in [−1, 1], e.g. from <see cref="CosineHead{T}"/>) and one class index per
/// row, the target logit becomes <c>s·(cos(m1·θ_y + m2) − m3)</c>, the others <c>s·cos θ_j</c>, followed by softmax
/// cross-entropy: <c>l = lse(z) − z_y</c> (max-subtracted log-sum-exp, so s = 64 with any number of classes does not
/// overflow).
/// </summary>
/// <remarks>
/// <para><b>Presets.</b> <see cref="ArcFace"/> (s 64, m2 0.5, insightface classic with th/mm fallback or easy_margin),
/// <see cref="CosFace"/> (s 64, m3 0.35; insightface's torch configs use 0.4), <see cref="SphereFace"/> (multiplicative
/// m1 with the monotonic ψ; insightface's PyTorch loss refuses m1 ≠ 1), <see cref="InsightFace"/> (the current
/// arcface_torch forward and gradient), <see cref="MetricLearningArcFace"/> (pytorch-metric-learning's
/// <c>ArcFaceLoss(margin=28.6, scale=64)</c>, margin in degrees). The constructor takes any (s, m1, m2, m3);
/// insightface's combined preset is (64, 1, 0.3, 0.2).</para>
/// <para><b>Target function T(c)</b>, c = cos θ_y, S = √max(1 − c², ε) with <b>ε = 1e-12</b> (so S ≥ 1e-6):
/// m1 = 1 uses the expansion <c>cos(θ + m2) = c·cos m2 − S·sin m2</c> (insightface classic); its derivative is
/// <c>cos m2 + sin m2·c/S</c> where 1 − c² ≥ ε and <c>cos m2</c> where the clamp is active (the clamp passes no
/// gradient, as autograd of <c>sqrt(clamp(1 − c², min=ε))</c>), so |c| = 1 gives value <c>±cos m2 − 1e-6·sin m2</c>
/// and a finite gradient instead of insightface classic's NaN. m1 ≠ 1 uses the angle θ = acos(clamp(c, −1, 1)):
/// for an integer m1 with m2 = 0, cos(m1θ) is the Chebyshev polynomial T_m1(c) (pytorch-metric-learning's
/// multiple-angle expansion) with the exact derivative m1·U_(m1−1)(c), finite at |c| = 1; otherwise
/// <c>d cos(m1θ + m2)/dc = m1·sin(m1θ + m2)/S</c> (dθ/dc = −1/S). Cosines outside [−1, 1] are clamped for the
/// angle (no gradient through the margin there); the m1 = 1 expansion uses them as given. The fallbacks are described
/// on <see cref="MarginFallback"/>; their branch conditions use c as given.</para>
/// <para><b>Gradient</b> (d l/d c for one row, p = softmax(z)): <c>s·p_j</c> for j ≠ y and
/// <c>−s·(1 − p_y)·T'(c_y)</c> for the target, with 1 − p_y evaluated as Σ_{j≠y} p_j (no cancellation). With
/// <see cref="MarginGradient.InsightFace"/> T' is taken as 1. How much that changes, target column, one row with
/// p_y ≈ 0, s = 64, m2 = 0.5 (d l/d cos_y):</para>
/// <code>
///   θ      cos θ      Exact, None   Exact, Threshold   InsightFace
///   30°    0.866025     -109.31         -109.31          -64
///   90°    0             -56.17          -56.17          -64
///   150°  -0.866025       -3.02           -3.02          -64
///   160°  -0.939693      +28.14          -64.00          -64
///   170°  -0.984808     +117.85          -64.00          -64
/// </code>
/// <para>Past θ + m2 &gt; π (here θ &gt; 151.4°) the exact gradient of the un-guarded margin changes sign (the target
/// logit rises again), which is what the Threshold and Monotonic fallbacks prevent; insightface's detached gradient
/// never sees it.</para>
/// <para><b>Reduction</b>: Mean divides by the batch size (as insightface and pytorch-metric-learning); Sum; None writes
/// per-row losses. Rows cannot be ignored (targets must be in [0, classes)).</para>
/// <para><b>Special values</b>: NaN in a row makes that row's loss and gradient NaN; ±∞ in a row gives NaN (∞ − ∞ in
/// the log-sum-exp), as cross-entropy. Empty batch: Sum 0, Mean NaN. The gradient may be the input span itself (exact
/// in-place); other overlaps are not supported.</para>
/// <para><b>Differences from the references</b>: insightface classic computes √(1 − c²) unclamped (NaN gradient at
/// |c| = 1, deepinsight/insightface and face.evoLVe #117); pytorch-metric-learning takes acos and cos(acos(c)) (infinite
/// derivative at |c| = 1) and its SphereFace multiplies the logits by ‖x‖·‖W‖ (this loss sees cosines only);
/// insightface today takes acos→cos on every logit (rounding only) and floors p_y at 1e-30.</para>
/// </remarks>
public sealed class AngularMarginLoss<T> : ClassIndexLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The floor ε under 1 − cos² before the square root (sin θ ≥ 1e-6).</summary>
    public const double SineSquaredFloor = 1e-12;

    /// <summary>insightface's probability floor in the <see cref="MarginGradient.InsightFace"/> value: −ln max(p_y, 1e-30).</summary>
    public const double InsightFaceProbabilityFloor = 1e-30;

    private readonly bool _chebyshev;

    /// <summary>Creates the loss with the combined margin <c>s·(cos(m1·θ + m2) − m3)</c>.</summary>
    /// <param name="reduction">None, Mean (default, over rows) or Sum.</param>
    /// <param name="scale">s &gt; 0 (default 64), finite.</param>
    /// <param name="m1">Multiplicative angular margin &gt; 0 (default 1; SphereFace 4, opensphere 1.5).</param>
    /// <param name="m2">Additive angular margin in radians, in [0, π) (default 0.5, ArcFace).</param>
    /// <param name="m3">Additive cosine margin, finite (default 0; CosFace 0.35 or 0.4).</param>
    /// <param name="fallback">What happens past θ + m2 &gt; π (default <see cref="MarginFallback.Threshold"/>, insightface
    /// classic). Threshold and ThresholdInclusive need m1 = 1.</param>
    /// <param name="gradient">Exact chain rule (default) or insightface's detached margin.</param>
    public AngularMarginLoss(Reduction reduction = Reduction.Mean, double scale = 64.0, double m1 = 1.0, double m2 = 0.5, double m3 = 0.0,
        MarginFallback fallback = MarginFallback.Threshold, MarginGradient gradient = MarginGradient.Exact)
        : base(reduction, default, null)
    {
        Scale = ThrowHelper.CheckAbove(scale, 0.0, nameof(scale));
        M1 = ThrowHelper.CheckAbove(m1, 0.0, nameof(m1));
        if (double.IsNaN(m2) || m2 < 0.0 || m2 >= Math.PI)
        {
            ThrowHelper.OutOfRange(nameof(m2), m2, $"m2 must be in [0, π), got {m2}.");
        }

        M2 = m2;
        M3 = ThrowHelper.CheckFinite(m3, nameof(m3));
        if (fallback is < MarginFallback.None or > MarginFallback.Monotonic)
        {
            ThrowHelper.OutOfRange(nameof(fallback), fallback, $"Unknown fallback {fallback}.");
        }

        if (m1 != 1.0 && fallback is MarginFallback.Threshold or MarginFallback.ThresholdInclusive)
        {
            ThrowHelper.Argument(nameof(fallback), $"The {fallback} fallback is defined for m1 = 1 only (got m1 = {m1}); use Monotonic or None.");
        }

        if (gradient is not (MarginGradient.Exact or MarginGradient.InsightFace))
        {
            ThrowHelper.OutOfRange(nameof(gradient), gradient, $"Unknown gradient mode {gradient}.");
        }

        Fallback = fallback;
        Gradient = gradient;
        _chebyshev = m1 != 1.0 && m2 == 0.0 && m1 == Math.Round(m1) && m1 <= 64;
    }

    /// <summary>The logit scale s.</summary>
    public double Scale { get; }

    /// <summary>The multiplicative angular margin m1.</summary>
    public double M1 { get; }

    /// <summary>The additive angular margin m2 (radians).</summary>
    public double M2 { get; }

    /// <summary>The additive cosine margin m3.</summary>
    public double M3 { get; }

    /// <summary>The fallback past θ + m2 &gt; π.</summary>
    public MarginFallback Fallback { get; }

    /// <summary>Exact or insightface-detached margin gradient.</summary>
    public MarginGradient Gradient { get; }

    /// <summary>
    /// ArcFace, insightface's classic form: <c>s·cos(θ + m)</c> for the target, fallback <c>cos θ − m·sin m</c> when
    /// <c>cos θ ≤ cos(π − m)</c> (or, with <paramref name="easyMargin"/>, plain cos θ when cos θ ≤ 0).
    /// </summary>
    /// <param name="scale">s (default 64).</param>
    /// <param name="margin">m in radians (default 0.5).</param>
    /// <param name="easyMargin">insightface's easy_margin (default false).</param>
    /// <param name="reduction">Default Mean.</param>
    public static AngularMarginLoss<T> ArcFace(double scale = 64.0, double margin = 0.5, bool easyMargin = false, Reduction reduction = Reduction.Mean) =>
        new(reduction, scale, 1.0, margin, 0.0, easyMargin ? MarginFallback.EasyMargin : MarginFallback.Threshold);

    /// <summary>CosFace / AM-softmax: target logit <c>s·(cos θ − m)</c> (pytorch-metric-learning CosFaceLoss, insightface m3).</summary>
    /// <param name="scale">s (default 64).</param>
    /// <param name="margin">m (default 0.35; insightface's torch configs use 0.4).</param>
    /// <param name="reduction">Default Mean.</param>
    public static AngularMarginLoss<T> CosFace(double scale = 64.0, double margin = 0.35, Reduction reduction = Reduction.Mean) =>
        new(reduction, scale, 1.0, 0.0, margin, MarginFallback.None);

    /// <summary>
    /// SphereFace-style multiplicative margin with the monotonic ψ(θ) = (−1)^k·cos(mθ) − 2k, k = ⌊mθ/π⌋ (as
    /// pytorch-metric-learning's SphereFaceLoss, on cosines: no ‖x‖ factor, no λ annealing).
    /// </summary>
    /// <param name="margin">m1 &gt; 0 (default 4; integers use the exact Chebyshev form).</param>
    /// <param name="scale">s (default 64).</param>
    /// <param name="reduction">Default Mean.</param>
    public static AngularMarginLoss<T> SphereFace(double margin = 4.0, double scale = 64.0, Reduction reduction = Reduction.Mean) =>
        new(reduction, scale, margin, 0.0, 0.0, MarginFallback.Monotonic);

    /// <summary>
    /// insightface's current arcface_torch loss (CombinedMarginLoss + its softmax CE): ArcFace (m3 = 0) or CosFace
    /// (m2 = 0) without fallback, margin gradient detached, value floored at p_y ≥ 1e-30.
    /// </summary>
    /// <param name="scale">s (default 64).</param>
    /// <param name="m2">Additive angular margin (default 0.5).</param>
    /// <param name="m3">Additive cosine margin (default 0).</param>
    /// <param name="reduction">Default Mean.</param>
    public static AngularMarginLoss<T> InsightFace(double scale = 64.0, double m2 = 0.5, double m3 = 0.0, Reduction reduction = Reduction.Mean) =>
        new(reduction, scale, 1.0, m2, m3, MarginFallback.None, MarginGradient.InsightFace);

    /// <summary>
    /// pytorch-metric-learning's <c>ArcFaceLoss(margin=28.6, scale=64)</c> on cosines: the margin is given in degrees
    /// (m = radians(28.6) = 0.49916416607037828, not 0.5) and the fallback is <c>cos θ − m·sin m</c> when θ &gt; π − m.
    /// </summary>
    /// <param name="marginDegrees">Margin in degrees (default 28.6).</param>
    /// <param name="scale">s (default 64).</param>
    /// <param name="reduction">Default Mean.</param>
    public static AngularMarginLoss<T> MetricLearningArcFace(double marginDegrees = 28.6, double scale = 64.0, Reduction reduction = Reduction.Mean) =>
        new(reduction, scale, 1.0, DegreesToRadians(marginDegrees), 0.0, MarginFallback.ThresholdInclusive);

    /// <summary>Degrees to radians as numpy's <c>np.radians</c>: <c>degrees·(π/180)</c>.</summary>
    public static double DegreesToRadians(double degrees) => degrees * (Math.PI / 180.0);

    /// <summary>
    /// The margin target function for one cosine: <c>T(c)</c> (the target logit is s·T(c)) and its derivative
    /// dT/dc under the exact chain rule. Scalar; the same function the kernel uses.
    /// </summary>
    public T TargetCosine(T cosine, out T derivative) => new Margin(this).Target(cosine, out derivative);

    private protected override ClassIndexLoss<float> CreateFloat32() => new AngularMarginLoss<float>(Reduction, Scale, M1, M2, M3, Fallback, Gradient);

    private protected override unsafe double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        fixed (T* x = input, v = values, g = gradient, u = upstream)
        fixed (int* y = target)
        {
            var kernel = new Kernel
            {
                X = x, Y = y, Values = values.IsEmpty ? null : v, G = gradient.IsEmpty ? null : g, Up = upstream.IsEmpty ? null : u,
                Scale = scale, C = classes, Margin = new Margin(this), S = T.CreateTruncating(Scale),
                Detached = Gradient == MarginGradient.InsightFace,
                LossCap = T.CreateTruncating(-Math.Log(InsightFaceProbabilityFloor)),
            };
            return RowDriver.Run(ref kernel, batch, classes);
        }
    }

    /// <summary>The target-cosine function in T arithmetic, with its constants precomputed.</summary>
    private readonly struct Margin
    {
        private readonly T _m1, _m2, _m3, _cosM2, _sinM2, _th, _mm, _pmlFallback, _eps, _pi, _two;
        private readonly MarginFallback _fallback;
        private readonly int _chebyshevOrder;
        private readonly bool _unitM1;

        public Margin(AngularMarginLoss<T> loss)
        {
            _m1 = T.CreateTruncating(loss.M1);
            _m2 = T.CreateTruncating(loss.M2);
            _m3 = T.CreateTruncating(loss.M3);
            _cosM2 = T.CreateTruncating(Math.Cos(loss.M2));
            _sinM2 = T.CreateTruncating(Math.Sin(loss.M2));
            _th = T.CreateTruncating(Math.Cos(Math.PI - loss.M2));
            _mm = T.CreateTruncating(Math.Sin(Math.PI - loss.M2) * loss.M2);
            _pmlFallback = T.CreateTruncating(loss.M2 * Math.Sin(loss.M2));
            _eps = T.CreateTruncating(SineSquaredFloor);
            _pi = T.Pi;
            _two = T.CreateTruncating(2);
            _fallback = loss.Fallback;
            _unitM1 = loss.M1 == 1.0;
            _chebyshevOrder = loss._chebyshev ? (int)loss.M1 : 0;
        }

        public T Target(T c, out T derivative)
        {
            T margin, marginDerivative;
            if (_unitM1)
            {
                // cos(θ + m2) = c·cos m2 − S·sin m2 with S = √max(1 − c², ε); dS/dc = −c/S unless clamped (then 0).
                T oneMinus = T.One - c * c;
                bool clamped = oneMinus < _eps;
                T sine = T.Sqrt(clamped ? _eps : oneMinus);
                margin = c * _cosM2 - sine * _sinM2;
                marginDerivative = clamped ? _cosM2 : _cosM2 + _sinM2 * c / sine;
                switch (_fallback)
                {
                    case MarginFallback.Threshold:
                        if (!(c > _th))
                        {
                            // NaN fails c > th too and lands here; c − mm keeps it NaN.
                            derivative = T.One;
                            return c - _mm - _m3;
                        }

                        break;
                    case MarginFallback.ThresholdInclusive:
                        if (c < _th)
                        {
                            derivative = T.One;
                            return c - _pmlFallback - _m3;
                        }

                        break;
                    case MarginFallback.EasyMargin:
                        if (!(c > T.Zero))
                        {
                            derivative = T.One;
                            return c;
                        }

                        break;
                    case MarginFallback.Monotonic:
                        if (c <= _th)
                        {
                            // θ + m2 ≥ π: k = 1, ψ = −cos(θ + m2) − 2.
                            derivative = -marginDerivative;
                            return -margin - _two - _m3;
                        }

                        break;
                }

                derivative = marginDerivative;
                return margin - _m3;
            }

            // m1 ≠ 1: through the angle.
            if (_fallback == MarginFallback.EasyMargin && !(c > T.Zero))
            {
                derivative = T.One;
                return c;
            }

            bool inRange = c >= -T.One && c <= T.One;
            T cc = T.Clamp(c, -T.One, T.One);
            if (T.IsNaN(c))
            {
                cc = c;
            }

            T theta = T.Acos(cc);
            T u = _m1 * theta + _m2;
            T cosU, dCosU;
            if (_chebyshevOrder > 0)
            {
                cosU = Chebyshev(cc, _chebyshevOrder, out T u1);
                dCosU = T.CreateTruncating(_chebyshevOrder) * u1;
            }
            else
            {
                T oneMinus = T.One - cc * cc;
                T sine = T.Sqrt(oneMinus < _eps ? _eps : oneMinus);
                cosU = T.Cos(u);
                dCosU = _m1 * T.Sin(u) / sine;
            }

            if (!inRange && !T.IsNaN(c))
            {
                dCosU = T.Zero;
            }

            if (_fallback == MarginFallback.Monotonic)
            {
                T k = T.Floor(u / _pi);
                T parity = k - _two * T.Floor(k / _two);
                T sign = T.One - _two * parity;
                derivative = sign * dCosU;
                return sign * cosU - _two * k - _m3;
            }

            derivative = dCosU;
            return cosU - _m3;
        }

        /// <summary>T_n(c) by the three-term recurrence, and U_(n−1)(c) (T_n' = n·U_(n−1)).</summary>
        private static T Chebyshev(T c, int n, out T uPrevious)
        {
            T two = T.CreateTruncating(2);
            T t0 = T.One, t1 = c;
            T u0 = T.One, u1 = two * c; // U_0, U_1
            if (n == 1)
            {
                uPrevious = u0;
                return t1;
            }

            for (int i = 2; i <= n; i++)
            {
                T t2 = two * c * t1 - t0;
                t0 = t1;
                t1 = t2;
                if (i < n)
                {
                    T u2 = two * c * u1 - u0;
                    u0 = u1;
                    u1 = u2;
                }
            }

            uPrevious = u1; // U_(n−1)
            return t1;
        }
    }

    /// <summary>
    /// One row: target logit s·T(c_y); m = max(s·max_{j≠y} c_j, s·T(c_y)); Σ_{j≠y} e^(s·c_j − m) (stored into the
    /// gradient row when asked) and e^(z_y − m); value −ln p_y; gradient s·p_j and −s·(1 − p_y)·T'.
    /// </summary>
    private unsafe struct Kernel : IRowKernel
    {
        public T* X, Values, G, Up;
        public int* Y;
        public T Scale, S, LossCap;
        public int C;
        public Margin Margin;
        public bool Detached;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * C;
                T* g = G == null ? null : G + (long)r * C;
                int y = Y[r];
                int after = C - y - 1;

                // Read everything the row needs from x before the gradient (possibly the same memory) is written.
                T tc = Margin.Target(x[y], out T derivative);
                T zt = S * tc;
                T m = zt;
                if (y > 0)
                {
                    m = T.Max(m, S * RowMath.Max(x, y));
                }

                if (after > 0)
                {
                    m = T.Max(m, S * RowMath.Max(x + y + 1, after));
                }

                T others = SumExpScaled(x, g, y, S, m) + SumExpScaled(x + y + 1, g == null ? null : g + y + 1, after, S, m);
                T et = T.Exp(zt - m);
                T sum = others + et;

                // −ln p_y = ln(Σ/e_t); when the target is the maximum e_t = 1 and Σ = 1 + others: log1p keeps the digits.
                T loss = zt == m ? VMath.Log1p(others) : (m - zt) + T.Log(sum);
                if (Detached)
                {
                    loss = T.Min(loss, LossCap);
                }

                if (Values != null)
                {
                    Values[r] = loss;
                }

                total += double.CreateTruncating(loss);
                if (g != null)
                {
                    T k = Up == null ? Scale : Up[r];
                    T a = k * S / sum;
                    ScaleInPlace(g, y, a);
                    ScaleInPlace(g + y + 1, after, a);
                    g[y] = -(a * others) * (Detached ? T.One : derivative);
                }
            }

            return total;
        }

        /// <summary>Σ e^(s·xᵢ − m), storing each term into <paramref name="store"/> when it is not null.</summary>
        private static T SumExpScaled(T* x, T* store, int n, T s, T m)
        {
            int i = 0;
            T sum = T.Zero;
            if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
            {
                Vector<T> vs = new(s), vm = new(m), acc = Vector<T>.Zero;
                for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                {
                    Vector<T> e = VMath.Exp(Vector.Load(x + i) * vs - vm);
                    if (store != null)
                    {
                        e.Store(store + i);
                    }

                    acc += e;
                }

                sum = Vector.Sum(acc);
            }

            // Scalar tail: the same math one element at a time.
            for (; i < n; i++)
            {
                T e = T.Exp(x[i] * s - m);
                if (store != null)
                {
                    store[i] = e;
                }

                sum += e;
            }

            return sum;
        }

        private static void ScaleInPlace(T* g, int n, T a)
        {
            int i = 0;
            if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
            {
                Vector<T> va = new(a);
                for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                {
                    (Vector.Load(g + i) * va).Store(g + i);
                }
            }

            for (; i < n; i++)
            {
                g[i] *= a;
            }
        }
    }
}
