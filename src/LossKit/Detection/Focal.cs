using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>
/// Sigmoid focal loss (Lin et al. 2017, RetinaNet), as <c>torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha=0.25,
/// gamma=2, reduction='none')</c>, on logits x with (soft) targets t:
/// <c>p = σ(x)</c>, <c>ce = BCE-with-logits(x, t) = (1 − t)·x + softplus(−x)</c>, <c>p_t = p·t + (1 − p)·(1 − t)</c>,
/// <c>l = α_t·ce·(1 − p_t)^γ</c> with <c>α_t = α·t + (1 − α)·(1 − t)</c> when α ≥ 0, and α_t = 1 when α &lt; 0.
/// </summary>
/// <remarks>
/// <para>Gradient (autograd of that graph; the modulating factor is not detached), with q = 1 − p_t:
/// <c>∂l/∂x = α_t·[(p − t)·q^γ + ce·γ·q^(γ−1)·(1 − 2t)·p·(1 − p)]</c>. For γ = 0 the second term is absent (PyTorch's
/// pow backward returns 0 for exponent 0), so α = −1, γ = 0 is exactly BCE-with-logits in value and gradient.</para>
/// <para>Evaluation follows torchvision's order (p_t, then 1 − p_t), so values agree with it where those steps cancel;
/// ce is evaluated as <c>((1 − t)·x + max(−x, 0)) + log1p(e^(−|x|))</c> (PyTorch 1.13's grouping), whose first sum is
/// exactly 0 or |x| for hard targets, so the tail e^(−|x|) keeps its digits (the log-sigmoid form (1 − t)·x − logσ(x)
/// cancels for t = 0, x ≪ 0). Soft targets are allowed and not range-checked, as in torchvision; mmdetection's
/// <c>sigmoid_focal_loss</c> (α always applied) is the same math.</para>
/// <para>Reduction: default <see cref="Reduction.None"/> (torchvision's default); Mean is the plain mean over all
/// elements (or Σ/(avgFactor + ε) with mmdetection's avg_factor), Sum the sum. The optional weight multiplies each
/// element (mmdetection's element weight).</para>
/// <para>Special values: NaN in x or t gives NaN for that element. Finite logits of any size (up to ±Max in float and
/// double, targets in [0, 1]) give finite values and gradients (ce is capped in the γ term, see <c>CeLimit</c>: at
/// x = −Max, t = 1 the gradient is −α, as torchvision's; at x = +Max, t = 0 it is 1 − α where torchvision's autograd
/// overflows α_t·ce·γ to ∞ and gives ∞·0 = NaN), except that for 0 &lt; γ &lt; 1 the gradient is NaN where q = 0 (p saturated
/// to exactly t ∈ {0, 1}: γ·q^(γ−1) = ∞ times p·(1 − p) = 0), which is what PyTorch's autograd gives too. ±∞ logits
/// give NaN where (1 − t)·x is 0·∞ or ∞ − ∞, as PyTorch's BCE-with-logits. Empty input: Sum 0, Mean NaN.</para>
/// </remarks>
public sealed class SigmoidFocalLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default, as torchvision), Mean or Sum.</param>
    /// <param name="alpha">Weight α of the positives in [0, 1] (default 0.25); any negative value (conventionally −1)
    /// disables the α_t factor. Must not be NaN or &gt; 1.</param>
    /// <param name="gamma">Focusing exponent γ ≥ 0 (default 2), finite.</param>
    public SigmoidFocalLoss(Reduction reduction = Reduction.None, double alpha = 0.25, double gamma = 2.0) : base(reduction)
    {
        Alpha = FocalChecks.Alpha(alpha, nameof(alpha));
        Gamma = ThrowHelper.CheckAtLeast(gamma, 0.0, nameof(gamma));
    }

    /// <summary>α, the weight of positive targets (negative: no α_t factor).</summary>
    public double Alpha { get; }

    /// <summary>γ, the focusing exponent.</summary>
    public double Gamma { get; }

    private protected override ElementwiseLoss<float> CreateFloat32() => new SigmoidFocalLoss<float>(Reduction, Alpha, Gamma);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Gamma == 2.0
            ? Pointwise.Run(new Op<SquarePower<T>, IdentityPower<T>>(Alpha, Gamma, default, default), input, target, weight, values, gradient, scale, upstream)
            : Pointwise.Run(new Op<FocalPower<T>, FocalPower<T>>(Alpha, Gamma, new(Gamma), new(Gamma - 1.0)), input, target, weight, values, gradient, scale, upstream);

    /// <summary>The element math; q^γ and q^(γ−1) come from the power structs, so γ = 2 compiles to q·q and q.</summary>
    private readonly struct Op<TPower, TDerivative> : IPointwiseOp<T>
        where TPower : unmanaged, IFocalPower<T>
        where TDerivative : unmanaged, IFocalPower<T>
    {
        private readonly TPower _power;
        private readonly TDerivative _derivativePower;
        private readonly T _gamma, _alpha, _oneMinusAlpha, _ceLimit;
        private readonly bool _useAlpha, _hasDerivative;

        public Op(double alpha, double gamma, TPower power, TDerivative derivativePower)
        {
            _ceLimit = CeLimit<T>.For(gamma);
            _power = power;
            _derivativePower = derivativePower;
            _hasDerivative = gamma != 0.0;
            _gamma = T.CreateTruncating(gamma);
            _useAlpha = alpha >= 0.0;
            _alpha = T.CreateTruncating(alpha);
            _oneMinusAlpha = T.CreateTruncating(1.0 - alpha);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Value(T x, T y) => Value(x, y, out _);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Value(T x, T t, out T gradient)
        {
            T p = VMath.SigmoidAndLog1pExpNegAbs(x, out T log1p);
            T oneMinusT = T.One - t;
            T ce = (oneMinusT * x + T.Max(-x, T.Zero)) + log1p;
            T oneMinusP = T.One - p;
            T q = T.One - (p * t + oneMinusP * oneMinusT);
            T modulation = _power.Of(q);
            T loss = ce * modulation;

            // d/dce = q^γ (BCE-with-logits backward: σ(x) − t); d/dq = ce·γ·q^(γ−1), then q = 1 − p_t,
            // p_t = p·t + (1 − p)(1 − t) and σ'(x) = (1 − p)·p, in autograd's order.
            T g = modulation * (p - t);
            if (_hasDerivative)
            {
                // ce capped at Max/(2·max(γ, 1)) so ce·γ·q^(γ−1) cannot overflow to ∞ (for q ≤ 1) and meet σ'(x) = 0
                // below as ∞·0 = NaN (x ≤ −Max/2 with t = 1). The cap binds only where |x| > Max/4, and there
                // σ'(x) = (1 − p)·p is exactly 0, so every other result keeps its bits.
                T gPt = -(T.Min(ce, _ceLimit) * (_gamma * _derivativePower.Of(q)));
                T gP = gPt * t - gPt * oneMinusT;
                g += gP * oneMinusP * p;
            }

            if (_useAlpha)
            {
                T alphaT = _alpha * t + _oneMinusAlpha * oneMinusT;
                loss = alphaT * loss;
                g = alphaT * g;
            }

            gradient = g;
            return loss;
        }

        // Inlined into the driver: the forward-only call drops the gradient arithmetic as dead code.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Value(Vector<T> x, Vector<T> t, out Vector<T> gradient) => Value(x, t, Stage(x), out gradient);

        // Float stages the exponential e^(−|x|) at every width, as BCE-with-logits (IPointwiseOp.HasStagedVector).
        public static bool HasStagedVector => typeof(T) == typeof(float);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Stage(Vector<T> x) => VMath.ExpNegativeAbs(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Value(Vector<T> x, Vector<T> t, Vector<T> staged, out Vector<T> gradient)
        {
            Vector<T> one = Vector<T>.One;
            Vector<T> p = VMath.SigmoidAndLog1pFromExp(x, staged, out Vector<T> log1p);
            Vector<T> oneMinusT = one - t;
            Vector<T> ce = (oneMinusT * x + VMath.PositivePart(-x)) + log1p;
            Vector<T> oneMinusP = one - p;
            Vector<T> q = one - (p * t + oneMinusP * oneMinusT);
            Vector<T> modulation = _power.Of(q);
            Vector<T> loss = ce * modulation;
            Vector<T> g = modulation * (p - t);
            if (_hasDerivative)
            {
                Vector<T> gPt = -(Vector.Min(ce, new Vector<T>(_ceLimit)) * (new Vector<T>(_gamma) * _derivativePower.Of(q))); // ce capped, as in the scalar form
                Vector<T> gP = gPt * t - gPt * oneMinusT;
                g += gP * oneMinusP * p;
            }

            if (_useAlpha)
            {
                Vector<T> alphaT = new Vector<T>(_alpha) * t + new Vector<T>(_oneMinusAlpha) * oneMinusT;
                loss = alphaT * loss;
                g = alphaT * g;
            }

            gradient = g;
            return loss;
        }

        // Float with the default γ = 2 also at 512 bits (compute-bound, as BCE-with-logits): the same steps as the
        // Vector<T> form above with q^γ = q·q and q^(γ−1) = q written out.
        // The exponential e^(−|x|) is a separate stage, as in BCE-with-logits (IPointwiseOp.HasStagedVector512).
        public static bool HasVector512 => typeof(T) == typeof(float) && typeof(TPower) == typeof(SquarePower<T>);

        public static bool HasStagedVector512 => HasVector512;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<T> Value(Vector512<T> x, Vector512<T> y) => Value(x, y, out _);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<T> Value(Vector512<T> x, Vector512<T> t, out Vector512<T> gradient) => Value(x, t, Stage(x), out gradient);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<T> Stage(Vector512<T> x) => VMath.ExpNegativeAbs(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<T> Value(Vector512<T> x, Vector512<T> t, Vector512<T> staged, out Vector512<T> gradient)
        {
            Vector512<float> xf = x.As<T, float>(), tf = t.As<T, float>(), one = Vector512<float>.One;
            Vector512<float> p = VMath.SigmoidAndLog1pFromExp(xf, staged.As<T, float>(), out Vector512<float> log1p);
            Vector512<float> oneMinusT = one - tf;
            Vector512<float> ce = (oneMinusT * xf + VMath.PositivePart(-xf)) + log1p;
            Vector512<float> oneMinusP = one - p;
            Vector512<float> q = one - (p * tf + oneMinusP * oneMinusT);
            Vector512<float> modulation = q * q;
            Vector512<float> loss = ce * modulation;
            Vector512<float> g = modulation * (p - tf);
            Vector512<float> gPt = -(Vector512.Min(ce, Vector512.Create(float.CreateTruncating(_ceLimit))) * (Vector512.Create(float.CreateTruncating(_gamma)) * q)); // ce capped, as in the scalar form
            Vector512<float> gP = gPt * tf - gPt * oneMinusT;
            g += gP * oneMinusP * p;
            if (_useAlpha)
            {
                Vector512<float> alphaT = Vector512.Create(float.CreateTruncating(_alpha)) * tf + Vector512.Create(float.CreateTruncating(_oneMinusAlpha)) * oneMinusT;
                loss = alphaT * loss;
                g = alphaT * g;
            }

            gradient = g.As<float, T>();
            return loss.As<float, T>();
        }
    }
}

/// <summary>
/// Softmax (multi-class) focal loss, Lin et al.'s general form with mmcv's <c>softmax_focal_loss</c> semantics, on
/// logits <c>input [batch × classes]</c> with one class index per row:
/// <c>l = −α_y·w_y·(1 − p_y)^γ·ln p_y</c>, where ln p_y = (x_y − m) − ln Σ e^(x − m) is a max-subtracted log-softmax
/// (never the log of a softmax), α_y the per-class α if given (else the scalar α) and w_y the optional class weight.
/// </summary>
/// <remarks>
/// <para>Gradient: <c>∂l/∂x_j = α_y·w_y·[γ·(1 − p_y)^(γ−1)·p_y·ln p_y − (1 − p_y)^γ]·(δ_jy − p_j)</c>; for γ = 0 the
/// first term is absent (plain α-weighted cross-entropy).</para>
/// <para>Reduction: default Mean = Σ lₙ / batch (mmcv divides by N whatever the weights or ignored rows), or
/// Σ / (avgFactor + ε) with avg_factor; Sum; None gives per-row values. Rows whose target equals
/// <see cref="ClassIndexLoss{T}.IgnoreIndex"/> (−100) give 0 loss and 0 gradient (mmcv: label &lt; 0); other targets
/// must be in [0, classes).</para>
/// <para>Differences from mmcv: mmcv takes ln of the softmax clamped at FLT_MIN (the loss saturates near 87.3 per
/// row); here ln p_y comes from the log-softmax, so it stays exact for very wrong predictions.</para>
/// <para>Special values: NaN in a row gives NaN for that row; a +∞ logit gives NaN (∞ − ∞ in the log-softmax); finite
/// logits of any size (±1e4) give finite results, except that for 0 &lt; γ &lt; 1 the gradient is NaN in rows where
/// p_y rounds to exactly 1 ((1 − p_y)^(γ−1) = ∞ times p_y·ln p_y = 0), as with autograd. Empty batch: Sum 0, Mean
/// NaN.</para>
/// </remarks>
public sealed class SoftmaxFocalLoss<T> : ClassIndexLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default; divides by the batch size as mmcv) or Sum.</param>
    /// <param name="gamma">Focusing exponent γ ≥ 0 (default 2), finite.</param>
    /// <param name="alpha">Scalar α ≥ 0 (default 0.25), finite; used when <paramref name="classAlpha"/> is empty.</param>
    /// <param name="classAlpha">Optional per-class α (length = classes, finite); overrides <paramref name="alpha"/>.</param>
    /// <param name="weight">Optional per-class weights (length = classes, finite), multiplying the target class's loss.</param>
    /// <param name="ignoreIndex">Target value whose rows contribute nothing (default −100).</param>
    public SoftmaxFocalLoss(Reduction reduction = Reduction.Mean, double gamma = 2.0, double alpha = 0.25,
        ReadOnlyMemory<T> classAlpha = default, ReadOnlyMemory<T> weight = default, int ignoreIndex = -100)
        : base(reduction, weight, ignoreIndex)
    {
        Gamma = ThrowHelper.CheckAtLeast(gamma, 0.0, nameof(gamma));
        Alpha = ThrowHelper.CheckAtLeast(alpha, 0.0, nameof(alpha));
        ClassAlpha = classAlpha;
        foreach (T a in classAlpha.Span)
        {
            if (!T.IsFinite(a))
            {
                ThrowHelper.OutOfRange(nameof(classAlpha), a, $"classAlpha entries must be finite, got {a}.");
            }
        }
    }

    /// <summary>γ, the focusing exponent.</summary>
    public double Gamma { get; }

    /// <summary>The scalar α (used when <see cref="ClassAlpha"/> is empty).</summary>
    public double Alpha { get; }

    /// <summary>Per-class α (length = classes), or empty for the scalar <see cref="Alpha"/>.</summary>
    public ReadOnlyMemory<T> ClassAlpha { get; }

    private protected override ClassIndexLoss<float> CreateFloat32() => new SoftmaxFocalLoss<float>(Reduction, Gamma, Alpha, Float32Path.WidenToArray(ClassAlpha.Span), Float32Path.WidenToArray(Weight.Span), IgnoreIndex);

    private protected override unsafe double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        // The base validated shapes and targets; the per-class α length is checked here, before any work.
        if (!ClassAlpha.IsEmpty)
        {
            ThrowHelper.CheckLength(ClassAlpha.Length, classes, "classAlpha", "one α per class");
        }

        fixed (T* x = input, v = values, g = gradient, u = upstream, w = Weight.Span, a = ClassAlpha.Span)
        fixed (int* y = target)
        {
            var kernel = new Kernel
            {
                X = x, Y = y, W = Weight.IsEmpty ? null : w, ClassAlpha = ClassAlpha.IsEmpty ? null : a,
                Values = values.IsEmpty ? null : v, G = gradient.IsEmpty ? null : g, Up = upstream.IsEmpty ? null : u,
                Scale = scale, C = classes, Ignore = IgnoreIndex, Alpha = T.CreateTruncating(Alpha),
                Gamma = T.CreateTruncating(Gamma), HasDerivative = Gamma != 0.0,
                Power = new FocalPower<T>(Gamma), DerivativePower = new FocalPower<T>(Gamma - 1.0),
            };
            return RowDriver.Run(ref kernel, batch, classes);
        }
    }

    /// <summary>One row: max, Σ e^(x − m) (stored into the gradient row), ln p_y, the focal term, then g = coef·(δ − p).</summary>
    private unsafe struct Kernel : IRowKernel
    {
        public T* X, W, ClassAlpha, Values, G, Up;
        public int* Y;
        public T Scale, Alpha, Gamma;
        public int C, Ignore;
        public bool HasDerivative;
        public FocalPower<T> Power, DerivativePower;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * C;
                T* g = G == null ? null : G + (long)r * C;
                int y = Y[r];
                if (y == Ignore)
                {
                    if (Values != null)
                    {
                        Values[r] = T.Zero;
                    }

                    if (g != null)
                    {
                        new Span<T>(g, C).Clear();
                    }

                    continue;
                }

                T m = RowMath.Max(x, C);
                T s = RowMath.SumExpShifted(x, g, C, m);
                T logP = (x[y] - m) - T.Log(s); // x_y − m first: exact near the maximum, so float stays accurate at ±1e4
                T inverseSum = T.One / s;
                T p = T.Exp(x[y] - m) * inverseSum; // scalar exp in every path, so Forward and ForwardBackward agree bit for bit
                T q = T.One - p;
                T alpha = ClassAlpha == null ? Alpha : ClassAlpha[y];
                T wy = W == null ? T.One : W[y];
                T modulation = Power.Of(q);
                T loss = -alpha * modulation * logP * wy;
                if (Values != null)
                {
                    Values[r] = loss;
                }

                total += double.CreateTruncating(loss);
                if (g != null)
                {
                    T bracket = HasDerivative ? Gamma * DerivativePower.Of(q) * p * logP - modulation : -modulation;
                    T coefficient = alpha * bracket * wy * (Up == null ? Scale : Up[r]);

                    // g_j = coef·(δ_jy − p_j): −coef·e_j/s everywhere, then the target column as coef·(1 − p_y).
                    RowMath.ScaleSubtract(g, null, C, -coefficient * inverseSum, T.Zero);
                    g[y] = coefficient * q;
                }
            }

            return total;
        }
    }
}

/// <summary>
/// The cap on the cross-entropy factor of the focal family's modulating-factor gradient: Max/(2·max(e, 1)) for a
/// factor e (γ, or γ·α). With the power's derivative at most 1 (its base in [0, 1], e ≥ 1), capped ce·e stays below
/// Max/2, so it never overflows to ∞ and meets the vanishing σ'(x) = p·(1 − p) as ∞·0 = NaN. It binds only for
/// ce &gt; Max/4, i.e. |x| &gt; Max/4 − 1 with targets in [0, 1], where σ'(x) is exactly 0: results elsewhere are unchanged
/// to the bit. NaN passes through (Min propagates it).
/// </summary>
internal static class CeLimit<T>
    where T : IFloatingPointIeee754<T>
{
    public static T For(double factor) =>
        T.CreateTruncating((typeof(T) == typeof(float) ? float.MaxValue : typeof(T) == typeof(double) ? double.MaxValue : 65504.0) / (2.0 * Math.Max(factor, 1.0)));
}

/// <summary>Hyper-parameter checks shared by the focal family.</summary>
internal static class FocalChecks
{
    /// <summary>The sigmoid-focal α: at most 1, not NaN; negative values (any) disable the α_t factor.</summary>
    public static double Alpha(double alpha, string paramName)
    {
        if (double.IsNaN(alpha) || alpha > 1.0)
        {
            ThrowHelper.OutOfRange(paramName, alpha, $"{paramName} must be <= 1 (a negative value disables it), got {alpha}.");
        }

        return alpha;
    }
}

/// <summary>x^e for a fixed exponent e, in scalar and vector form (the kernels take it as a struct type argument).</summary>
internal interface IFocalPower<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    T Of(T x);

    Vector<T> Of(Vector<T> x);
}

/// <summary>x² (the default γ = 2), as <see cref="FocalPower{T}"/> computes it, without its switch.</summary>
internal readonly struct SquarePower<T> : IFocalPower<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Of(T x) => x * x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Of(Vector<T> x) => x * x;
}

/// <summary>x¹ (the derivative power for γ = 2).</summary>
internal readonly struct IdentityPower<T> : IFocalPower<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Of(T x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Of(Vector<T> x) => x;
}

/// <summary>
/// x^e for a fixed exponent e, with PyTorch's <c>pow(tensor, scalar)</c> special cases: e = 0 gives 1 (even for NaN or
/// 0), e = 1 the input, e = 2 and 3 products, e = 0.5 and −0.5 (inverse) square roots. Other small integers use
/// repeated multiplication (the same in both forms, so negative bases work); general exponents use T.Pow in the
/// scalar form and e^(e·ln x) in the vector form, which gives 0^e = 0 for e &gt; 0, ∞ for e &lt; 0, NaN for x &lt; 0.
/// </summary>
internal readonly struct FocalPower<T> : IFocalPower<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int MaxIntegerExponent = 64;

    private readonly Kind _kind;
    private readonly int _integer;
    private readonly T _exponent;

    public FocalPower(double exponent)
    {
        _exponent = T.CreateTruncating(exponent);
        _integer = 0;
        _kind = exponent switch
        {
            0.0 => Kind.Zero,
            1.0 => Kind.Identity,
            2.0 => Kind.Square,
            3.0 => Kind.Cube,
            0.5 => Kind.Sqrt,
            -0.5 => Kind.InverseSqrt,
            _ => Kind.General,
        };
        if (_kind == Kind.General && exponent > 3.0 && exponent <= MaxIntegerExponent && exponent == Math.Floor(exponent))
        {
            _kind = Kind.Integer;
            _integer = (int)exponent;
        }
    }

    private enum Kind : byte
    {
        Zero,
        Identity,
        Square,
        Cube,
        Sqrt,
        InverseSqrt,
        Integer,
        General,
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Of(T x) => _kind switch
    {
        Kind.Zero => T.One,
        Kind.Identity => x,
        Kind.Square => x * x,
        Kind.Cube => x * x * x,
        Kind.Sqrt => T.Sqrt(x),
        Kind.InverseSqrt => T.One / T.Sqrt(x),
        Kind.Integer => IntegerPower(x, _integer),
        _ => T.Pow(x, _exponent),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Of(Vector<T> x) => _kind switch
    {
        Kind.Zero => Vector<T>.One,
        Kind.Identity => x,
        Kind.Square => x * x,
        Kind.Cube => x * x * x,
        Kind.Sqrt => Vector.SquareRoot(x),
        Kind.InverseSqrt => Vector<T>.One / Vector.SquareRoot(x),
        Kind.Integer => IntegerPower(x, _integer),
        _ => VMath.Exp(new Vector<T>(_exponent) * VMath.Log(x)),
    };

    /// <summary>x^n by squaring (n ≥ 1).</summary>
    private static T IntegerPower(T x, int n)
    {
        T result = T.One;
        T b = x;
        while (true)
        {
            if ((n & 1) != 0)
            {
                result *= b;
            }

            n >>= 1;
            if (n == 0)
            {
                return result;
            }

            b *= b;
        }
    }

    /// <inheritdoc cref="IntegerPower(T, int)"/>
    private static Vector<T> IntegerPower(Vector<T> x, int n)
    {
        Vector<T> result = Vector<T>.One;
        Vector<T> b = x;
        while (true)
        {
            if ((n & 1) != 0)
            {
                result *= b;
            }

            n >>= 1;
            if (n == 0)
            {
                return result;
            }

            b *= b;
        }
    }
}
