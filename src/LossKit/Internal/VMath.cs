using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LossKit.Internal;

/// <summary>
/// Element-wise math shared by the kernels, in a scalar form and a <see cref="Vector{T}"/> form that compute the same
/// thing. <see cref="Vector{T}"/> is 512, 256 or 128 bits wide as the runtime chooses (DOTNET_EnableAVX512=0,
/// DOTNET_EnableAVX=0 and DOTNET_EnableHWIntrinsic=0 narrow it); Exp and Log exist there for float and double only, so
/// the vector paths are taken for those two types and every other IEEE type (Half) runs the scalar path. Which paths run
/// is <see cref="SimdTier"/>'s choice (LOSSKIT_SIMD_TIER forces one).
/// </summary>
internal static class VMath
{
    /// <summary>
    /// True when the vector kernels run for <typeparamref name="T"/>: <see cref="SimdTier.VectorKernels"/> (by default
    /// where Vector&lt;T&gt; is hardware-accelerated) and T is float or double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsVectorized<T>()
    {
        SimdTier.ThrowIfInvalid();
        return SimdTier.VectorKernels && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
    }

    /// <summary>
    /// True when the row kernels also run 512-bit blocks for <typeparamref name="T"/>: <see cref="SimdTier.WideKernels"/>
    /// (by default where Vector512 is accelerated, which it is not under DOTNET_EnableAVX512=0; forced, in software
    /// where it is not) and T is float or double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWide<T>()
    {
        SimdTier.ThrowIfInvalid();
        return SimdTier.WideKernels && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
    }

    /// <summary>e^x for x ≤ 0 (or NaN) at 512 bits: float by <see cref="ExpNonPositive(Vector512{float})"/>, double by the runtime's Exp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ExpNonPositive<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return ExpNonPositive(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector512.Exp(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException();
    }

    /// <summary>e^(−|x|) for float at 512 bits (<see cref="ExpNonPositive(Vector512{float})"/> of −|x|), the 512-bit first stage of the sigmoid-based kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ExpNegativeAbs<T>(Vector512<T> x) => ExpNonPositive(-Vector512.Abs(x.As<T, float>())).As<float, T>();

    /// <inheritdoc cref="ExpNonPositiveInRange{T}(Vector{T})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ExpNonPositiveInRange<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return ExpNonPositiveInRange(x.As<T, float>()).As<float, T>();
        }

        return ExpNonPositive(x);
    }

    /// <inheritdoc cref="OutsideExpNormalRange{T}(Vector{T})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> OutsideExpNormalRange<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return (~Vector512.GreaterThanOrEqual(x.As<T, float>(), Vector512.Create(SubnormalBelow))).As<float, T>();
        }

        return Vector512<T>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.Exp(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.Exp(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.Log(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.Log(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException();
    }

    /// <summary>ln x at 512 bits for float and double (the runtime's Vector512.Log).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector512.Log(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector512.Log(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException();
    }

    /// <summary>
    /// e^x for x ≤ 0 (or NaN), e.g. x − max over a row: float uses <see cref="ExpNonPositive(Vector{float})"/> (about
    /// 1 ulp), double the runtime's Exp.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> ExpNonPositive<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return ExpNonPositive(x.As<T, float>()).As<float, T>();
        }

        return Exp(x);
    }

    /// <summary>
    /// <see cref="ExpNonPositive{T}(Vector{T})"/> for lanes in [−87, 0] only (float: <see cref="ExpNonPositiveInRange(Vector{float})"/>,
    /// the same bits there; double: the runtime's Exp, which needs no range). Pair it with
    /// <see cref="OutsideExpNormalRange{T}(Vector{T})"/> and redo the work with <see cref="ExpNonPositive{T}(Vector{T})"/>
    /// when any lane was outside.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> ExpNonPositiveInRange<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return ExpNonPositiveInRange(x.As<T, float>()).As<float, T>();
        }

        return Exp(x);
    }

    /// <summary>
    /// All-ones in the lanes where <see cref="ExpNonPositiveInRange{T}(Vector{T})"/> may differ from
    /// <see cref="ExpNonPositive{T}(Vector{T})"/>: float lanes below −87 or NaN; none for double. OR-ed over a loop, one
    /// test at its end replaces a test per vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> OutsideExpNormalRange<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return (~Vector.GreaterThanOrEqual(x.As<T, float>(), new Vector<float>(SubnormalBelow))).As<int, T>();
        }

        return Vector<T>.Zero;
    }

    /// <summary>
    /// log(1 + u) accurate for small u (Goldberg's trick: log(w)·u/(w − 1) with w = 1 + u; u when w rounds to 1).
    /// .NET's LogP1 is log(1 + u) and loses everything below the rounding unit. Valid for u &gt; −1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Log1p<T>(T u) where T : IFloatingPointIeee754<T>
    {
        T w = T.One + u;
        T d = w - T.One;
        return d == T.Zero ? u : T.Log(w) * (u / d);
    }

    /// <inheritdoc cref="Log1p{T}(T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log1p<T>(Vector<T> u)
    {
        Vector<T> w = Vector<T>.One + u;
        Vector<T> d = w - Vector<T>.One;
        Vector<T> r = Log(w) * (u / d);
        return Vector.ConditionalSelect(Vector.Equals(d, Vector<T>.Zero), u, r);
    }

    /// <summary>Numerically stable sigmoid and softplus(−|x|) = log1p(e^−|x|) from one exponential.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SigmoidAndLog1pExpNegAbs<T>(T x, out T log1pExpNegAbs) where T : IFloatingPointIeee754<T>
    {
        T e = T.Exp(-T.Abs(x));
        log1pExpNegAbs = Log1p(e);
        T r = T.One / (T.One + e);
        return x >= T.Zero ? r : e * r;
    }

    /// <inheritdoc cref="SigmoidAndLog1pExpNegAbs{T}(T, out T)"/>
    /// <remarks>For float this is <see cref="SigmoidAndLog1pExpNegAbs(Vector{float}, out Vector{float})"/> (polynomial
    /// exp and log1p, a few ulp); double keeps the runtime's Exp/Log and the Goldberg log1p.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> SigmoidAndLog1pExpNegAbs<T>(Vector<T> x, out Vector<T> log1pExpNegAbs) =>
        SigmoidAndLog1pFromExp(x, ExpNegativeAbs(x), out log1pExpNegAbs);

    /// <summary>
    /// e^(−|x|), the first stage of the sigmoid-based kernels (IPointwiseOp.Stage): float by
    /// <see cref="ExpNonPositive(Vector{float})"/>, double by the runtime's Exp.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> ExpNegativeAbs<T>(Vector<T> x) => ExpNonPositive(-Vector.Abs(x));

    /// <summary>
    /// <see cref="SigmoidAndLog1pExpNegAbs{T}(Vector{T}, out Vector{T})"/> given e = <see cref="ExpNegativeAbs{T}(Vector{T})"/>
    /// already computed, for kernels that stage the exponential.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> SigmoidAndLog1pFromExp<T>(Vector<T> x, Vector<T> e, out Vector<T> log1pExpNegAbs)
    {
        if (typeof(T) == typeof(float))
        {
            Vector<float> pf = SigmoidAndLog1pFromExp(x.As<T, float>(), e.As<T, float>(), out Vector<float> lf);
            log1pExpNegAbs = lf.As<float, T>();
            return pf.As<float, T>();
        }

        log1pExpNegAbs = Log1p(e);
        Vector<T> r = Vector<T>.One / (Vector<T>.One + e);
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<T>.Zero), r, e * r);
    }

    /// <summary>
    /// Float sigmoid and softplus(−|x|) from one e = e^(−|x|) (<see cref="ExpNonPositive(Vector{float})"/>): σ(|x|) = 1/(1 + e),
    /// σ(−|x|) = e/(1 + e), and log1p(e) = 2·atanh(e/(2 + e)) (<see cref="Log1pUnit(Vector{float})"/>), so neither needs a log of a
    /// rounded 1 + e. Both divisions are exact IEEE divisions; the results are within about 2 ulp of the exact values
    /// (the scalar form uses the libm Exp/Log). NaN propagates; ±∞ gives σ = 1 or 0 and softplus 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> SigmoidAndLog1pExpNegAbs(Vector<float> x, out Vector<float> log1pExpNegAbs) =>
        SigmoidAndLog1pFromExp(x, ExpNonPositive(-Vector.Abs(x)), out log1pExpNegAbs);

    /// <summary><see cref="SigmoidAndLog1pExpNegAbs(Vector{float}, out Vector{float})"/> given e = e^(−|x|) already computed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> SigmoidAndLog1pFromExp(Vector<float> x, Vector<float> e, out Vector<float> log1pExpNegAbs)
    {
        log1pExpNegAbs = Log1pUnit(e);
        Vector<float> r = Vector<float>.One / (Vector<float>.One + e);
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), r, e * r);
    }

    /// <summary>
    /// e^x for float x ≤ 0 (or NaN), about 1 ulp: x = n·ln 2 + r with n = round(x·log₂e) (the 1.5·2²³ trick leaves n
    /// in the low mantissa bits), r by a two-part (Cody–Waite) ln 2, e^r by Cephes' expf polynomial on |r| ≤ ln 2/2,
    /// then 2ⁿ built in the exponent field. Results below 2⁻¹²⁶ (x &lt; −87) are scaled in two steps so subnormals are
    /// right; x &lt; −104 (and −∞) gives 0; NaN stays NaN.
    /// </summary>
    // ExpNonPositive's constants: n = round(x·log₂e) by the 1.5·2²³ trick, a two-part ln 2 (Ln2Hi has 9 bits, so n·Ln2Hi
    // is exact), Cephes expf's polynomial P0…P5, and the thresholds for subnormal results and for 0.
    private const float Log2E = 1.44269504088896341f, RoundMagic = 12582912f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float ExpP0 = 5.0000001201e-1f, ExpP1 = 1.6666665459e-1f, ExpP2 = 4.1665795894e-2f;
    private const float ExpP3 = 8.3334519073e-3f, ExpP4 = 1.3981999507e-3f, ExpP5 = 1.9875691500e-4f;
    private const float SubnormalBelow = -87f, ZeroBelow = -104f, TwoToMinus64 = 5.42101086e-20f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> ExpNonPositive(Vector<float> x)
    {
        Vector<float> y = ExpNonPositiveCore(x, out Vector<int> bits);

        // bits(t) = bits(1.5·2²³) + n; shifting bits left by 23 drops the magic's high bits and leaves n·2²³, which
        // added to y's bits adds n to its exponent: y·2ⁿ exactly, since for x ≥ −87 both y and y·2ⁿ are normal (y is
        // in [0.70, 1.42] and n ≥ −126, with n = −126 only where y > 1.39). An integer add instead of a multiply. The
        // test is "all lanes ≥ −87", not "no lane below −87", so NaN lanes take the multiplying path below: a NaN's
        // payload bits would leak into the exponent add and could give a finite number.
        if (Vector.GreaterThanOrEqualAll(x, new Vector<float>(SubnormalBelow)))
        {
            return (y.As<float, int>() + Vector.ShiftLeft(bits, 23)).As<int, float>();
        }

        // Rare lanes below −87 (or NaN): 2ⁿ = 2^(n + 64)·2⁻⁶⁴ (both normal for n ≥ −150), the last product rounding
        // once into the subnormal range; lanes below −104 (e^x &lt; 2⁻¹⁵⁰, also −∞) are 0, where t and n are
        // meaningless; NaN lanes stay NaN through the multiply.
        Vector<float> scaled = y * Vector.ShiftLeft(bits + new Vector<int>(127 + 64), 23).As<int, float>() * new Vector<float>(TwoToMinus64);
        return Vector.ConditionalSelect(Vector.LessThan(x, new Vector<float>(ZeroBelow)), Vector<float>.Zero, scaled);
    }

    /// <summary>
    /// <see cref="ExpNonPositive(Vector{float})"/>'s result where every lane is in [−87, 0], without its range test:
    /// the same bits there, garbage elsewhere (a lane below −87 or NaN). For loops that test a whole row once with
    /// <see cref="OutsideExpNormalRange{T}(Vector{T})"/> and redo it with <see cref="ExpNonPositive{T}(Vector{T})"/>
    /// when any lane was outside.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> ExpNonPositiveInRange(Vector<float> x)
    {
        Vector<float> y = ExpNonPositiveCore(x, out Vector<int> bits);
        return (y.As<float, int>() + Vector.ShiftLeft(bits, 23)).As<int, float>();
    }

    /// <summary>The shared part of the two above: y = e^r and bits(t), with e^x = y·2ⁿ and n in bits(t)'s low bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpNonPositiveCore(Vector<float> x, out Vector<int> bits)
    {
        Vector<float> t = Vector.MultiplyAddEstimate(x, new Vector<float>(Log2E), new Vector<float>(RoundMagic));
        Vector<float> n = t - new Vector<float>(RoundMagic);
        Vector<float> r = Vector.MultiplyAddEstimate(n, new Vector<float>(-Ln2Hi), x);
        r = Vector.MultiplyAddEstimate(n, new Vector<float>(-Ln2Lo), r);

        // e^r = 1 + r + r²·P(r), Cephes expf's P, evaluated in Estrin's scheme (pairs, then r²) rather than Horner's:
        // the same terms with a shorter dependency chain.
        Vector<float> r2 = r * r;
        Vector<float> p01 = Vector.MultiplyAddEstimate(new Vector<float>(ExpP1), r, new Vector<float>(ExpP0));
        Vector<float> p23 = Vector.MultiplyAddEstimate(new Vector<float>(ExpP3), r, new Vector<float>(ExpP2));
        Vector<float> p45 = Vector.MultiplyAddEstimate(new Vector<float>(ExpP5), r, new Vector<float>(ExpP4));
        Vector<float> p = Vector.MultiplyAddEstimate(Vector.MultiplyAddEstimate(p45, r2, p23), r2, p01);
        Vector<float> y = Vector.MultiplyAddEstimate(p, r2, r) + Vector<float>.One;

        bits = t.As<float, int>();
        return y;
    }

    /// <summary>
    /// log(1 + u) for float u in [0, 1] (e^(−|x|)), about 2 ulp: log1p(u) = 2·atanh(s) with s = u/(2 + u) ≤ 1/3,
    /// 2·atanh(s) = 2s·(1 + s²/3 + s⁴/5 + … + s¹²/13) (the next term is below 2⁻²⁶ relative). 2s is formed as
    /// 2u/(2 + u), exact in the subnormal range. NaN propagates.
    /// </summary>
    // Log1pUnit's coefficients 1/3, 1/5, …, 1/13 divided by powers of two (4, 16; 64, 256; 1024, 4096) so that the
    // polynomial runs on w = (2s)² = 4z directly: each Estrin step then equals the z form's step divided by a power of
    // two, which is exact, so the result is the same as forming z = w/4 first.
    private const float Log1pC0 = 1f / 3 / 4, Log1pC1 = 1f / 5 / 16, Log1pC2 = 1f / 7 / 64, Log1pC3 = 1f / 9 / 256;
    private const float Log1pC4 = 1f / 11 / 1024, Log1pC5 = 1f / 13 / 4096;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Log1pUnit(Vector<float> u)
    {
        Vector<float> twoS = (u + u) / (new Vector<float>(2f) + u);
        // 2s + 2s·z·P(z) with z = s², P(z) = 1/3 + z/5 + … + z⁵/13 in Estrin's scheme (short dependency chain), run on
        // w = (2s)² = 4z with the powers of four folded into the coefficients (Log1pC*): the same values as forming
        // z = w/4 first, one multiply fewer.
        Vector<float> w = twoS * twoS;
        Vector<float> w2 = w * w;
        Vector<float> p01 = Vector.MultiplyAddEstimate(new Vector<float>(Log1pC1), w, new Vector<float>(Log1pC0));
        Vector<float> p23 = Vector.MultiplyAddEstimate(new Vector<float>(Log1pC3), w, new Vector<float>(Log1pC2));
        Vector<float> p45 = Vector.MultiplyAddEstimate(new Vector<float>(Log1pC5), w, new Vector<float>(Log1pC4));
        Vector<float> p = Vector.MultiplyAddEstimate(Vector.MultiplyAddEstimate(p45, w2, p23), w2, p01);
        return Vector.MultiplyAddEstimate(twoS * w, p, twoS);
    }

    /// <summary>
    /// <see cref="SigmoidAndLog1pExpNegAbs(Vector{float}, out Vector{float})"/> 16 lanes at a time, the same operations
    /// lane by lane (so the same results), for the kernels that also run at 512 bits (IPointwiseOp.HasVector512).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SigmoidAndLog1pExpNegAbs(Vector512<float> x, out Vector512<float> log1pExpNegAbs) =>
        SigmoidAndLog1pFromExp(x, ExpNonPositive(-Vector512.Abs(x)), out log1pExpNegAbs);

    /// <summary>
    /// <see cref="SigmoidAndLog1pExpNegAbs(Vector512{float}, out Vector512{float})"/> given e = e^(−|x|) already
    /// computed (<see cref="ExpNonPositive(Vector512{float})"/> of −|x|), for kernels that stage the exponential.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SigmoidAndLog1pFromExp(Vector512<float> x, Vector512<float> e, out Vector512<float> log1pExpNegAbs)
    {
        log1pExpNegAbs = Log1pUnit(e);
        Vector512<float> r = Vector512<float>.One / (Vector512<float>.One + e);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), r, e * r);
    }

    // The 512-bit forms below repeat the Vector<T> ones above step for step: the vector types share no public
    // interface (ISimdVector is internal), so the polynomial cannot be written once for both.

    /// <inheritdoc cref="ExpNonPositive(Vector{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpNonPositive(Vector512<float> x)
    {
        Vector512<float> y = ExpNonPositiveCore(x, out Vector512<int> bits);
        if (Vector512.GreaterThanOrEqualAll(x, Vector512.Create(SubnormalBelow)))
        {
            return (y.AsInt32() + Vector512.ShiftLeft(bits, 23)).AsSingle();
        }

        Vector512<float> scaled = y * Vector512.ShiftLeft(bits + Vector512.Create(127 + 64), 23).AsSingle() * Vector512.Create(TwoToMinus64);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(ZeroBelow)), Vector512<float>.Zero, scaled);
    }

    /// <inheritdoc cref="ExpNonPositiveInRange(Vector{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpNonPositiveInRange(Vector512<float> x)
    {
        Vector512<float> y = ExpNonPositiveCore(x, out Vector512<int> bits);
        return (y.AsInt32() + Vector512.ShiftLeft(bits, 23)).AsSingle();
    }

    /// <inheritdoc cref="ExpNonPositiveCore(Vector{float}, out Vector{int})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpNonPositiveCore(Vector512<float> x, out Vector512<int> bits)
    {
        Vector512<float> t = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(RoundMagic));
        Vector512<float> n = t - Vector512.Create(RoundMagic);
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        Vector512<float> r2 = r * r;
        Vector512<float> p01 = Vector512.FusedMultiplyAdd(Vector512.Create(ExpP1), r, Vector512.Create(ExpP0));
        Vector512<float> p23 = Vector512.FusedMultiplyAdd(Vector512.Create(ExpP3), r, Vector512.Create(ExpP2));
        Vector512<float> p45 = Vector512.FusedMultiplyAdd(Vector512.Create(ExpP5), r, Vector512.Create(ExpP4));
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(p45, r2, p23), r2, p01);
        Vector512<float> y = Vector512.FusedMultiplyAdd(p, r2, r) + Vector512<float>.One;
        bits = t.AsInt32();
        return y;
    }

    /// <inheritdoc cref="Log1pUnit(Vector{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log1pUnit(Vector512<float> u)
    {
        Vector512<float> twoS = (u + u) / (Vector512.Create(2f) + u);
        Vector512<float> w = twoS * twoS;
        Vector512<float> w2 = w * w;
        Vector512<float> p01 = Vector512.FusedMultiplyAdd(Vector512.Create(Log1pC1), w, Vector512.Create(Log1pC0));
        Vector512<float> p23 = Vector512.FusedMultiplyAdd(Vector512.Create(Log1pC3), w, Vector512.Create(Log1pC2));
        Vector512<float> p45 = Vector512.FusedMultiplyAdd(Vector512.Create(Log1pC5), w, Vector512.Create(Log1pC4));
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(p45, w2, p23), w2, p01);
        return Vector512.FusedMultiplyAdd(twoS * w, p, twoS);
    }

    /// <inheritdoc cref="PositivePart{T}(Vector{T})"/>
    /// <remarks>At 512 bits the compare gives a mask register, which would need converting back to a vector before the
    /// and; for float the raw max instruction (vmaxps x, 0) is one instruction with the same results: it returns its
    /// second operand, 0, when x is NaN and when x is −0.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> PositivePart<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(float) && System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            return System.Runtime.Intrinsics.X86.Avx512F.Max(x.As<T, float>(), Vector512<float>.Zero).As<float, T>();
        }

        return x & Vector512.GreaterThan(x, Vector512<T>.Zero);
    }

    /// <summary>
    /// max(x, 0) for the softplus sums, in two instructions (compare, and) instead of <see cref="Vector.Max{T}"/>'s
    /// NaN- and signed-zero-aware sequence: NaN gives 0 here, so callers must add a term that carries the NaN (they
    /// all add log1p(e^(−|x|)), which is NaN for NaN x), and −0 gives +0 as T.Max(−0, 0) does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> PositivePart<T>(Vector<T> x) => x & Vector.GreaterThan(x, Vector<T>.Zero);

    /// <summary>Sign with sign(0) = 0 and sign(NaN) = NaN, as torch.sign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sign<T>(T x) where T : IFloatingPointIeee754<T> =>
        x > T.Zero ? T.One : x < T.Zero ? -T.One : x;

    /// <inheritdoc cref="Sign{T}(T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Sign<T>(Vector<T> x)
    {
        Vector<T> r = Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), Vector<T>.One, x);
        return Vector.ConditionalSelect(Vector.LessThan(x, Vector<T>.Zero), -Vector<T>.One, r);
    }

    /// <summary>Horizontal maximum of a row, NaN if any element is NaN (TensorPrimitives.Max semantics).</summary>
    public static T Max<T>(ReadOnlySpan<T> row) where T : IFloatingPointIeee754<T> =>
        System.Numerics.Tensors.TensorPrimitives.Max(row);
}
