using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>
/// The per-box math of a box loss written out by hand in reverse mode, in a scalar form and a <see cref="Vector{T}"/>
/// form (lane i = box i) that compute the same thing bit for bit. Each returns whether its result is the one the
/// dual-number formula (<see cref="IoUFormulas{T}"/>) would give, up to rounding in the gradient; where it is not (a
/// tie, a degenerate or non-finite box, a non-finite result) the driver recomputes that box on dual numbers.
/// </summary>
internal interface IFastBoxOp<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>One box in xyxy. Always sets <paramref name="loss"/>; sets the gradient with respect to (x1, y1, x2, y2)
    /// when <typeparamref name="TPass"/> asks for it (zeros otherwise).</summary>
    bool Loss<TPass>(T x1, T y1, T x2, T y2, T gx1, T gy1, T gx2, T gy2, out T loss, out T g0, out T g1, out T g2, out T g3)
        where TPass : struct, IBoxPass;

    /// <summary>Vector&lt;T&gt;.Count boxes, one per lane. Returns a mask: all bits set in the lanes whose result holds.</summary>
    Vector<T> Loss<TPass>(Vector<T> x1, Vector<T> y1, Vector<T> x2, Vector<T> y2, Vector<T> gx1, Vector<T> gy1, Vector<T> gx2, Vector<T> gy2,
        out Vector<T> loss, out Vector<T> g0, out Vector<T> g1, out Vector<T> g2, out Vector<T> g3)
        where TPass : struct, IBoxPass;
}

/// <summary>Whether a pass computes the gradient, as a type so the JIT compiles the value-only pass without it.</summary>
internal interface IBoxPass
{
    static abstract bool Gradient { get; }
}

/// <summary>Loss values only (Forward).</summary>
internal struct ValuePass : IBoxPass
{
    public static bool Gradient => false;
}

/// <summary>Loss values and gradient (Backward, ForwardBackward).</summary>
internal struct GradientPass : IBoxPass
{
    public static bool Gradient => true;
}

/// <summary>The torchvision losses with a fast kernel.</summary>
internal enum TorchvisionLossKind
{
    IoU,
    IoUSquare,
    GIoU,
    DIoU,
    CIoU,
}

/// <summary>Which torchvision loss a <see cref="TorchvisionIoU{T, TLoss}"/> computes, as a type so the JIT compiles
/// one kernel per loss with the other losses' code removed.</summary>
internal interface ITorchvisionLoss
{
    static abstract TorchvisionLossKind Kind { get; }
}

internal struct IoULinearKind : ITorchvisionLoss
{
    public static TorchvisionLossKind Kind => TorchvisionLossKind.IoU;
}

internal struct IoUSquareKind : ITorchvisionLoss
{
    public static TorchvisionLossKind Kind => TorchvisionLossKind.IoUSquare;
}

internal struct GIoUKind : ITorchvisionLoss
{
    public static TorchvisionLossKind Kind => TorchvisionLossKind.GIoU;
}

internal struct DIoUKind : ITorchvisionLoss
{
    public static TorchvisionLossKind Kind => TorchvisionLossKind.DIoU;
}

internal struct CIoUKind : ITorchvisionLoss
{
    public static TorchvisionLossKind Kind => TorchvisionLossKind.CIoU;
}

/// <summary>
/// torchvision's IoU (linear and square modes), GIoU, DIoU and CIoU losses on xyxy boxes, the fast form of
/// <see cref="IoUFormulas{T}"/>'s torchvision branch for float and double.
/// </summary>
/// <remarks>
/// <para>Values are computed with the same operations in the same order as the dual-number formula, so they are the
/// same bits; CIoU's aspect term is the exception: v = (4/π²)·d² with d = atan(w_g/h_g) − atan(w/h) taken as one
/// arctangent, d = atan((w_g·h − w·h_g)/(h_g·h + w_g·w)) (valid for positive sides), evaluated by
/// <see cref="TorchvisionAtan{T}"/>.</para>
/// <para>Gradients in reverse mode. With the strict-overlap mask m, s_x1 = [x1 &gt; x1g] (the intersection's left edge is
/// ours, the enclosing box's is the target's), s_x2 = [x2 &lt; x2g], likewise in y, and adjoints A_union, A_inter (of the
/// loss with respect to union and intersection), A_cw, A_ch (enclosing sides), A_w, A_h (our sides beyond the union):
/// A_iw = m·(A_inter − A_union)·ih, A_w' = A_union·h + A_w,
/// ∂/∂x1 = c_x − A_w' − (s_x1 ? A_iw : A_cw), ∂/∂x2 = c_x + A_w' + (s_x2 ? A_iw : A_cw), and the same in y, c_x the centre
/// term of DIoU/CIoU. That is autograd's gradient wherever no max/min ties, which the validity mask guarantees.</para>
/// <para>Validity (else the box goes through the dual numbers): no exact tie between a predicted and a target edge
/// (x1 ≠ x1g, y1 ≠ y1g, x2 ≠ x2g, y2 ≠ y2g — torch splits the gradient there); every side of both boxes in (0, ∞),
/// which also rules out NaN and infinite coordinates and keeps every denominator positive; a finite loss and gradient.</para>
/// </remarks>
internal readonly struct TorchvisionIoU<T, TLoss> : IFastBoxOp<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TLoss : struct, ITorchvisionLoss
{
    private static readonly T FourOverPiSquared = T.CreateTruncating(4.0 / (Math.PI * Math.PI));
    private static readonly T Half = T.CreateTruncating(0.5), Two = T.CreateTruncating(2);

    private readonly T _eps, _alphaEps;

    /// <summary>The loss with the caller's eps (torchvision's CIoU runs its inner DIoU with eps 1e-7 whatever the caller's
    /// eps; the caller's eps goes into α).</summary>
    public TorchvisionIoU(double eps)
    {
        _eps = T.CreateTruncating(TLoss.Kind == TorchvisionLossKind.CIoU ? 1e-7 : eps);
        _alphaEps = T.CreateTruncating(eps);
    }

    /// <summary>Whether the fast kernels cover a loss: torchvision convention, float or double (any box format: the
    /// driver converts to xyxy and back).</summary>
    public static bool Covers(BoxLossConvention convention) =>
        convention == BoxLossConvention.Torchvision && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    private static bool Is(TorchvisionLossKind kind) => TLoss.Kind == kind;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Loss<TPass>(T x1, T y1, T x2, T y2, T gx1, T gy1, T gx2, T gy2, out T loss, out T g0, out T g1, out T g2, out T g3)
        where TPass : struct, IBoxPass
    {
        bool gradient = TPass.Gradient;
        T w = x2 - x1, h = y2 - y1, gw = gx2 - gx1, gh = gy2 - gy1;
        T inf = T.PositiveInfinity;
        bool valid = x1 != gx1 && y1 != gy1 && x2 != gx2 && y2 != gy2
            && w > T.Zero && w < inf && h > T.Zero && h < inf && gw > T.Zero && gw < inf && gh > T.Zero && gh < inf;

        // Intersection: our edge where s is set, the target's otherwise; the enclosing box takes the other one.
        bool sx1 = x1 > gx1, sy1 = y1 > gy1, sx2 = x2 < gx2, sy2 = y2 < gy2;
        T xk1 = sx1 ? x1 : gx1, yk1 = sy1 ? y1 : gy1, xk2 = sx2 ? x2 : gx2, yk2 = sy2 ? y2 : gy2;
        T iw = xk2 - xk1, ih = yk2 - yk1;
        bool overlap = yk2 > yk1 && xk2 > xk1;
        T inter = overlap ? iw * ih : T.Zero;
        T union = w * h + gw * gh - inter;
        T d1 = union + _eps;
        T iou = inter / d1;
        T cw = (sx2 ? gx2 : x2) - (sx1 ? gx1 : x1), ch = (sy2 ? gy2 : y2) - (sy1 ? gy1 : y1);

        // Adjoints of the loss with respect to iou, union beyond iou, enclosing sides, our sides beyond the union, centres.
        T aIou = -T.One, aUnion = T.Zero, aCw = T.Zero, aCh = T.Zero, aW = T.Zero, aH = T.Zero, cx = T.Zero, cy = T.Zero;
        if (Is(TorchvisionLossKind.GIoU))
        {
            T areaC = cw * ch;
            T d2 = areaC + _eps;
            T r = (areaC - union) / d2;
            loss = T.One - (iou - r);
            if (gradient)
            {
                T rd2 = T.One / d2;
                T aArea = (T.One - r) * rd2;
                (aUnion, aCw, aCh) = (-rd2, aArea * ch, aArea * cw);
            }
        }
        else if (Is(TorchvisionLossKind.DIoU) || Is(TorchvisionLossKind.CIoU))
        {
            T diagonal = cw * cw + ch * ch + _eps;
            T dx = (x2 + x1) * Half - (gx1 + gx2) * Half, dy = (y2 + y1) * Half - (gy1 + gy2) * Half;
            T q = (dx * dx + dy * dy) / diagonal;
            loss = T.One - iou + q;
            if (gradient)
            {
                T rDiagonal = T.One / diagonal;
                T aDiagonal = -Two * q * rDiagonal;
                (aCw, aCh, cx, cy) = (aDiagonal * cw, aDiagonal * ch, dx * rDiagonal, dy * rDiagonal);
            }

            if (Is(TorchvisionLossKind.CIoU))
            {
                T d = TorchvisionAtan<T>.Atan(gw * h - w * gh, gh * h + gw * w);
                T v = FourOverPiSquared * (d * d);
                T alpha = v / (T.One - iou + v + _alphaEps);
                loss += alpha * v;
                if (gradient)
                {
                    // α is detached: ∂(αv) = α·(8/π²)·d·∂d, ∂d/∂w = −h/(w² + h²), ∂d/∂h = w/(w² + h²).
                    T aD = Two * alpha * FourOverPiSquared * d / (w * w + h * h);
                    (aW, aH) = (-aD * h, aD * w);
                }
            }
        }
        else
        {
            loss = Is(TorchvisionLossKind.IoUSquare) ? T.One - iou * iou : T.One - iou;
            aIou = Is(TorchvisionLossKind.IoUSquare) ? -Two * iou : -T.One;
        }

        if (!gradient)
        {
            (g0, g1, g2, g3) = (T.Zero, T.Zero, T.Zero, T.Zero);
            return valid && T.IsFinite(loss);
        }

        // iou = inter / d1: ∂/∂inter = 1/d1, ∂/∂union = −iou/d1; the union also subtracts the intersection.
        T rd1 = T.One / d1;
        aUnion -= aIou * iou * rd1;
        T aInter = aIou * rd1 - aUnion;
        T aIw = overlap ? aInter * ih : T.Zero, aIh = overlap ? aInter * iw : T.Zero;
        T sideW = aUnion * h + aW, sideH = aUnion * w + aH;
        g0 = cx - sideW - (sx1 ? aIw : aCw);
        g2 = cx + sideW + (sx2 ? aIw : aCw);
        g1 = cy - sideH - (sy1 ? aIh : aCh);
        g3 = cy + sideH + (sy2 ? aIh : aCh);
        return valid && T.IsFinite(loss + g0 + g1 + g2 + g3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Loss<TPass>(Vector<T> x1, Vector<T> y1, Vector<T> x2, Vector<T> y2, Vector<T> gx1, Vector<T> gy1, Vector<T> gx2, Vector<T> gy2,
        out Vector<T> loss, out Vector<T> g0, out Vector<T> g1, out Vector<T> g2, out Vector<T> g3)
        where TPass : struct, IBoxPass
    {
        bool gradient = TPass.Gradient;
        // Masks are all-ones/all-zeros per lane; Select(m, a, b) is the scalar form's m ? a : b. Max/min need not
        // handle NaN or ±0 like the scalar selects: lanes with either are not valid (sides or ties).
        Vector<T> zero = Vector<T>.Zero, one = Vector<T>.One, inf = new(T.PositiveInfinity), eps = new(_eps);
        Vector<T> w = x2 - x1, h = y2 - y1, gw = gx2 - gx1, gh = gy2 - gy1;
        Vector<T> valid = Vector.GreaterThan(w, zero) & Vector.LessThan(w, inf) & Vector.GreaterThan(h, zero) & Vector.LessThan(h, inf)
            & Vector.GreaterThan(gw, zero) & Vector.LessThan(gw, inf) & Vector.GreaterThan(gh, zero) & Vector.LessThan(gh, inf);
        valid = Vector.AndNot(valid, Vector.Equals(x1, gx1) | Vector.Equals(y1, gy1) | Vector.Equals(x2, gx2) | Vector.Equals(y2, gy2));

        Vector<T> xk1 = Vector.MaxNative(x1, gx1), yk1 = Vector.MaxNative(y1, gy1), xk2 = Vector.MinNative(x2, gx2), yk2 = Vector.MinNative(y2, gy2);
        Vector<T> iw = xk2 - xk1, ih = yk2 - yk1;
        Vector<T> overlap = Vector.GreaterThan(yk2, yk1) & Vector.GreaterThan(xk2, xk1);
        Vector<T> inter = (iw * ih) & overlap;
        Vector<T> union = w * h + gw * gh - inter;
        Vector<T> d1 = union + eps;
        Vector<T> iou = inter / d1;
        Vector<T> cw = Vector.MaxNative(x2, gx2) - Vector.MinNative(x1, gx1), ch = Vector.MaxNative(y2, gy2) - Vector.MinNative(y1, gy1);

        Vector<T> aIou = -one, aUnion = zero, aCw = zero, aCh = zero, aW = zero, aH = zero, cx = zero, cy = zero;
        if (Is(TorchvisionLossKind.GIoU))
        {
            Vector<T> areaC = cw * ch;
            Vector<T> d2 = areaC + eps;
            Vector<T> r = (areaC - union) / d2;
            loss = one - (iou - r);
            if (gradient)
            {
                Vector<T> rd2 = one / d2;
                Vector<T> aArea = (one - r) * rd2;
                (aUnion, aCw, aCh) = (-rd2, aArea * ch, aArea * cw);
            }
        }
        else if (Is(TorchvisionLossKind.DIoU) || Is(TorchvisionLossKind.CIoU))
        {
            Vector<T> half = new(Half);
            Vector<T> diagonal = cw * cw + ch * ch + eps;
            Vector<T> dx = (x2 + x1) * half - (gx1 + gx2) * half, dy = (y2 + y1) * half - (gy1 + gy2) * half;
            Vector<T> q = (dx * dx + dy * dy) / diagonal;
            loss = one - iou + q;
            if (gradient)
            {
                Vector<T> rDiagonal = one / diagonal;
                Vector<T> aDiagonal = new Vector<T>(-Two) * q * rDiagonal;
                (aCw, aCh, cx, cy) = (aDiagonal * cw, aDiagonal * ch, dx * rDiagonal, dy * rDiagonal);
            }

            if (Is(TorchvisionLossKind.CIoU))
            {
                Vector<T> c = new(FourOverPiSquared);
                Vector<T> d = TorchvisionAtan<T>.Atan(gw * h - w * gh, gh * h + gw * w);
                Vector<T> v = c * (d * d);
                Vector<T> alpha = v / (one - iou + v + new Vector<T>(_alphaEps));
                loss += alpha * v;
                if (gradient)
                {
                    Vector<T> aD = new Vector<T>(Two) * alpha * c * d / (w * w + h * h);
                    (aW, aH) = (-aD * h, aD * w);
                }
            }
        }
        else
        {
            loss = Is(TorchvisionLossKind.IoUSquare) ? one - iou * iou : one - iou;
            aIou = Is(TorchvisionLossKind.IoUSquare) ? new Vector<T>(-Two) * iou : -one;
        }

        if (!gradient)
        {
            (g0, g1, g2, g3) = (zero, zero, zero, zero);
            return valid & BoxLanes<T>.Finite(loss);
        }

        Vector<T> rd1 = one / d1;
        aUnion -= aIou * iou * rd1;
        Vector<T> aInter = aIou * rd1 - aUnion;
        Vector<T> aIw = (aInter * ih) & overlap, aIh = (aInter * iw) & overlap;
        Vector<T> sideW = aUnion * h + aW, sideH = aUnion * w + aH;
        g0 = cx - sideW - BoxLanes<T>.Select(Vector.GreaterThan(x1, gx1), aIw, aCw);
        g2 = cx + sideW + BoxLanes<T>.Select(Vector.LessThan(x2, gx2), aIw, aCw);
        g1 = cy - sideH - BoxLanes<T>.Select(Vector.GreaterThan(y1, gy1), aIh, aCh);
        g3 = cy + sideH + BoxLanes<T>.Select(Vector.LessThan(y2, gy2), aIh, aCh);
        return valid & BoxLanes<T>.Finite(loss + g0 + g1 + g2 + g3);
    }
}

/// <summary>Lane helpers of the box kernels.</summary>
internal static class BoxLanes<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lanes where <paramref name="x"/> is finite (x − x is 0; NaN for ±∞ and NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Finite(Vector<T> x) => Vector.Equals(x - x, Vector<T>.Zero);

    /// <summary>mask ? a : b per lane for a compare mask: one blend instruction on x86 (which reads each lane's sign bit,
    /// the same thing for all-ones/all-zeros lanes), the bitwise select elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Select(Vector<T> mask, Vector<T> a, Vector<T> b)
    {
        if (Vector<byte>.Count == 32 && Avx.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                return Avx.BlendVariable(b.As<T, float>().AsVector256(), a.As<T, float>().AsVector256(), mask.As<T, float>().AsVector256()).AsVector().As<float, T>();
            }

            if (typeof(T) == typeof(double))
            {
                return Avx.BlendVariable(b.As<T, double>().AsVector256(), a.As<T, double>().AsVector256(), mask.As<T, double>().AsVector256()).AsVector().As<double, T>();
            }
        }
        else if (Vector<byte>.Count == 16 && Sse41.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                return Sse41.BlendVariable(b.As<T, float>().AsVector128(), a.As<T, float>().AsVector128(), mask.As<T, float>().AsVector128()).AsVector().As<float, T>();
            }

            if (typeof(T) == typeof(double))
            {
                return Sse41.BlendVariable(b.As<T, double>().AsVector128(), a.As<T, double>().AsVector128(), mask.As<T, double>().AsVector128()).AsVector().As<double, T>();
            }
        }

        return Vector.ConditionalSelect(mask, a, b);
    }
}

/// <summary>
/// atan(n/dd) for dd &gt; 0 in float and double, scalar and vector (the same bits), to about an ulp, for CIoU's aspect term.
/// </summary>
/// <remarks>
/// With x = |n|/dd: x &gt; tan(3π/8) = 1 + √2 uses π/2 + atan(−dd/|n|), x &gt; tan(π/8) = √2 − 1 uses
/// π/4 + atan((|n| − dd)/(|n| + dd)), else atan(|n|/dd) itself, so one division leaves |y| ≤ tan(π/8) and
/// z = y² ≤ 0.1716; atan(y) = y + y·z·P(z) with P the Chebyshev economisation of Σ (−1)^(k+1) z^k/(2k + 3) on
/// [0, 0.1716] (degree 4 for float, truncation ≤ 3e-9 relative; degree 10 for double, ≤ 6e-18). π/2 and π/4 are added
/// as T's value plus the residual T misses (Cody–Waite). Measured against Math.Atan2: ≤ 2 ulp (float: the rounding of
/// the reduced argument shows near 0.4). The sign of n is put back last.
/// </remarks>
internal static class TorchvisionAtan<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T TanThreePiOver8 = T.CreateTruncating(2.414213562373095), TanPiOver8 = T.CreateTruncating(0.41421356237309503);
    private static readonly T PiOver2 = T.CreateTruncating(Math.PI / 2), PiOver4 = T.CreateTruncating(Math.PI / 4);

    // What T's π/2 and π/4 miss (the double residual of float's, the literal residual of double's).
    private static readonly T PiOver2Low = T.CreateTruncating(Math.PI / 2 - double.CreateTruncating(PiOver2) + 6.123233995736766e-17);
    private static readonly T PiOver4Low = T.CreateTruncating(Math.PI / 4 - double.CreateTruncating(PiOver4) + 3.061616997868383e-17);

    /// <summary>atan(n/dd) for dd &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Atan(T n, T dd)
    {
        T x = T.Abs(n);
        T num = x, den = dd, offset = T.Zero, offsetLow = T.Zero;
        if (x > TanThreePiOver8 * dd)
        {
            (num, den, offset, offsetLow) = (-dd, x, PiOver2, PiOver2Low);
        }
        else if (x > TanPiOver8 * dd)
        {
            (num, den, offset, offsetLow) = (x - dd, x + dd, PiOver4, PiOver4Low);
        }

        T y = num / den;
        T z = y * y;
        T a = offset + (y + (y * (z * AtanPolynomial(z)) + offsetLow));
        return n < T.Zero ? -a : a;
    }

    /// <inheritdoc cref="Atan(T, T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Atan(Vector<T> n, Vector<T> dd)
    {
        Vector<T> x = Vector.Abs(n);
        Vector<T> big = Vector.GreaterThan(x, new Vector<T>(TanThreePiOver8) * dd);
        Vector<T> middle = Vector.AndNot(Vector.GreaterThan(x, new Vector<T>(TanPiOver8) * dd), big);
        Vector<T> num = BoxLanes<T>.Select(big, -dd, BoxLanes<T>.Select(middle, x - dd, x));
        Vector<T> den = BoxLanes<T>.Select(big, x, BoxLanes<T>.Select(middle, x + dd, dd));
        Vector<T> offset = (new Vector<T>(PiOver2) & big) | (new Vector<T>(PiOver4) & middle);
        Vector<T> offsetLow = (new Vector<T>(PiOver2Low) & big) | (new Vector<T>(PiOver4Low) & middle);
        Vector<T> y = num / den;
        Vector<T> z = y * y;
        Vector<T> a = offset + (y + (y * (z * AtanPolynomial(z)) + offsetLow));
        return BoxLanes<T>.Select(Vector.LessThan(n, Vector<T>.Zero), -a, a);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T AtanPolynomial(T z)
    {
        if (typeof(T) == typeof(float))
        {
            float f = float.CreateTruncating(z);
            float p = -0.06459047129390824f;
            p = p * f + 0.10746199598737523f;
            p = p * f - 0.14264223467947362f;
            p = p * f + 0.19999549816101203f;
            p = p * f - 0.33333331812304756f;
            return T.CreateTruncating(p);
        }

        double d = double.CreateTruncating(z);
        double q = -0.019200190093082433;
        q = q * d + 0.039251789809503355;
        q = q * d - 0.05086189029096897;
        q = q * d + 0.058582992548110675;
        q = q * d - 0.06664529928267222;
        q = q * d + 0.07692184597340589;
        q = q * d - 0.09090904643318888;
        q = q * d + 0.11111111016993042;
        q = q * d - 0.14285714284690054;
        q = q * d + 0.19999999999995643;
        q = q * d - 0.3333333333333333;
        return T.CreateTruncating(q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> AtanPolynomial(Vector<T> z)
    {
        if (typeof(T) == typeof(float))
        {
            Vector<float> f = z.As<T, float>();
            Vector<float> p = new(-0.06459047129390824f);
            p = p * f + new Vector<float>(0.10746199598737523f);
            p = p * f - new Vector<float>(0.14264223467947362f);
            p = p * f + new Vector<float>(0.19999549816101203f);
            p = p * f - new Vector<float>(0.33333331812304756f);
            return p.As<float, T>();
        }

        Vector<double> d = z.As<T, double>();
        Vector<double> q = new(-0.019200190093082433);
        q = q * d + new Vector<double>(0.039251789809503355);
        q = q * d - new Vector<double>(0.05086189029096897);
        q = q * d + new Vector<double>(0.058582992548110675);
        q = q * d - new Vector<double>(0.06664529928267222);
        q = q * d + new Vector<double>(0.07692184597340589);
        q = q * d - new Vector<double>(0.09090904643318888);
        q = q * d + new Vector<double>(0.11111111016993042);
        q = q * d - new Vector<double>(0.14285714284690054);
        q = q * d + new Vector<double>(0.19999999999995643);
        q = q * d - new Vector<double>(0.3333333333333333);
        return q.As<double, T>();
    }
}

/// <summary>
/// Drives a fast box operator over boxes [start, end): full <see cref="Vector{T}"/> blocks of boxes (transposed in and
/// out by <see cref="Quads"/>), then a scalar tail, each box weighted and written as <see cref="BoxKernel{T, TOp}"/>
/// writes it. Boxes the fast operator declines are recomputed by <see cref="Exact"/>, the dual-number kernel, after the
/// block's stores, so they overwrite the fast lanes' value and gradient; their losses are summed apart. Boxes in xywh
/// or cxcywh are converted to xyxy as <see cref="BoxConvert"/> converts them, and the xyxy gradient is taken back through
/// the conversion (xywh: ∂x = g_x1 + g_x2, ∂w = g_x2; cxcywh: ∂cx = g_x1 + g_x2, ∂w = (g_x2 − g_x1)/2; y alike).
/// </summary>
internal unsafe struct FastBoxKernel<T, TExact, TFast> : IRowKernel
    where T : unmanaged, IFloatingPointIeee754<T>
    where TExact : unmanaged, IBoxOp<T>
    where TFast : unmanaged, IFastBoxOp<T>
{
    public BoxKernel<T, TExact> Exact;
    public TFast Fast;

    public readonly double Run(int start, int end) => Exact.G == null ? Run<ValuePass>(start, end) : Run<GradientPass>(start, end);

    private readonly double Run<TPass>(int start, int end)
        where TPass : struct, IBoxPass
    {
        T* p = Exact.P, t = Exact.Target, weights = Exact.W, values = Exact.Values, g = Exact.G, up = Exact.Up;
        bool gradient = TPass.Gradient;
        BoxFormat format = Exact.Format;
        double total = 0, declined = 0;
        int r = start;
        if (VMath.IsVectorized<T>())
        {
            // Lane sums in double (float values are widened), added up once at the end of the chunk.
            Vector<double> sum = Vector<double>.Zero;
            for (; r <= end - Vector<T>.Count; r += Vector<T>.Count)
            {
                Quads.Load(p + 4L * r, out Vector<T> x1, out Vector<T> y1, out Vector<T> x2, out Vector<T> y2);
                Quads.Load(t + 4L * r, out Vector<T> gx1, out Vector<T> gy1, out Vector<T> gx2, out Vector<T> gy2);
                if (format != BoxFormat.Xyxy)
                {
                    ToXyxy(format, ref x1, ref y1, ref x2, ref y2);
                    ToXyxy(format, ref gx1, ref gy1, ref gx2, ref gy2);
                }

                Vector<T> ok = Fast.Loss<TPass>(x1, y1, x2, y2, gx1, gy1, gx2, gy2, out Vector<T> loss,
                    out Vector<T> g0, out Vector<T> g1, out Vector<T> g2, out Vector<T> g3);
                Vector<T> w = weights == null ? Vector<T>.One : Vector.Load(weights + r);
                Vector<T> value = loss * w;
                if (values != null)
                {
                    value.Store(values + r);
                }

                // Declined lanes contribute through the exact kernel below, not here.
                Vector<T> counted = value & ok;
                if (typeof(T) == typeof(float))
                {
                    Vector.Widen(counted.As<T, float>(), out Vector<double> low, out Vector<double> high);
                    sum += low + high;
                }
                else
                {
                    sum += counted.As<T, double>();
                }

                if (gradient)
                {
                    if (format != BoxFormat.Xyxy)
                    {
                        FromXyxyGradient(format, ref g0, ref g1, ref g2, ref g3);
                    }

                    Vector<T> k = (up == null ? new Vector<T>(Exact.Scale) : Vector.Load(up + r)) * w;
                    Quads.Store(g + 4L * r, k * g0, k * g1, k * g2, k * g3);
                }

                if (!Vector.EqualsAll(ok.As<T, byte>(), Vector<byte>.AllBitsSet))
                {
                    for (int i = 0; i < Vector<T>.Count; i++)
                    {
                        // A valid lane's mask is all ones, which reads as NaN.
                        if (!T.IsNaN(ok[i]))
                        {
                            declined += Exact.Run(r + i, r + i + 1);
                        }
                    }
                }
            }

            total = Vector.Sum(sum);
        }

        // Scalar tail (everything when not vectorised): the same math one box at a time.
        for (; r < end; r++)
        {
            T* pb = p + 4L * r, tb = t + 4L * r;
            BoxConvert.ToXyxy(pb[0], pb[1], pb[2], pb[3], format, out T x1, out T y1, out T x2, out T y2);
            BoxConvert.ToXyxy(tb[0], tb[1], tb[2], tb[3], format, out T gx1, out T gy1, out T gx2, out T gy2);
            if (!Fast.Loss<TPass>(x1, y1, x2, y2, gx1, gy1, gx2, gy2, out T loss, out T g0, out T g1, out T g2, out T g3))
            {
                declined += Exact.Run(r, r + 1);
                continue;
            }

            T w = weights == null ? T.One : weights[r];
            T value = loss * w;
            if (values != null)
            {
                values[r] = value;
            }

            total += double.CreateTruncating(value);
            if (gradient)
            {
                FromXyxyGradient(format, ref g0, ref g1, ref g2, ref g3);
                T k = (up == null ? Exact.Scale : up[r]) * w;
                T* gb = g + 4L * r;
                gb[0] = k * g0;
                gb[1] = k * g1;
                gb[2] = k * g2;
                gb[3] = k * g3;
            }
        }

        return total + declined;
    }

    /// <summary>Vector form of <see cref="BoxConvert"/>'s conversion to xyxy (the same operations).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ToXyxy(BoxFormat format, ref Vector<T> a, ref Vector<T> b, ref Vector<T> c, ref Vector<T> d)
    {
        if (format == BoxFormat.Xywh)
        {
            (c, d) = (a + c, b + d);
        }
        else
        {
            Vector<T> half = new(T.CreateTruncating(0.5));
            (a, b, c, d) = (a - half * c, b - half * d, a + half * c, b + half * d);
        }
    }

    /// <summary>Gradient with respect to xyxy to gradient with respect to the caller's format (xyxy: unchanged).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FromXyxyGradient(BoxFormat format, ref Vector<T> g0, ref Vector<T> g1, ref Vector<T> g2, ref Vector<T> g3)
    {
        if (format == BoxFormat.Xywh)
        {
            (g0, g1) = (g0 + g2, g1 + g3);
        }
        else
        {
            Vector<T> half = new(T.CreateTruncating(0.5));
            (g0, g1, g2, g3) = (g0 + g2, g1 + g3, half * (g2 - g0), half * (g3 - g1));
        }
    }

    /// <inheritdoc cref="FromXyxyGradient(BoxFormat, ref Vector{T}, ref Vector{T}, ref Vector{T}, ref Vector{T})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FromXyxyGradient(BoxFormat format, ref T g0, ref T g1, ref T g2, ref T g3)
    {
        if (format == BoxFormat.Xywh)
        {
            (g0, g1) = (g0 + g2, g1 + g3);
        }
        else if (format == BoxFormat.Cxcywh)
        {
            T half = T.CreateTruncating(0.5);
            (g0, g1, g2, g3) = (g0 + g2, g1 + g3, half * (g2 - g0), half * (g3 - g1));
        }
    }
}
