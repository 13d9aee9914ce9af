using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Detection;

/// <summary>Which torchvision loss a <see cref="TorchvisionIoU{T, TLoss}"/> computes, as a type so the JIT compiles
/// one kernel per loss with the other losses' code removed.</summary>
internal interface ITorchvisionLoss
{
    /// <summary>IoU, GIoU, DIoU or CIoU.</summary>
    static abstract BoxLossKind Kind { get; }

    /// <summary>The IoU loss's mode (Linear or Square; Linear for the other kinds).</summary>
    static virtual IoULossMode Mode => IoULossMode.Linear;
}

internal struct IoULinearKind : ITorchvisionLoss
{
    public static BoxLossKind Kind => BoxLossKind.IoU;
}

internal struct IoUSquareKind : ITorchvisionLoss
{
    public static BoxLossKind Kind => BoxLossKind.IoU;

    public static IoULossMode Mode => IoULossMode.Square;
}

internal struct GIoUKind : ITorchvisionLoss
{
    public static BoxLossKind Kind => BoxLossKind.GIoU;
}

internal struct DIoUKind : ITorchvisionLoss
{
    public static BoxLossKind Kind => BoxLossKind.DIoU;
}

internal struct CIoUKind : ITorchvisionLoss
{
    public static BoxLossKind Kind => BoxLossKind.CIoU;
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
        _eps = T.CreateTruncating(TLoss.Kind == BoxLossKind.CIoU ? 1e-7 : eps);
        _alphaEps = T.CreateTruncating(eps);
    }

    private static bool Is(BoxLossKind kind) => TLoss.Kind == kind;

    private static bool Square => TLoss.Mode == IoULossMode.Square;

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
        if (Is(BoxLossKind.GIoU))
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
        else if (Is(BoxLossKind.DIoU) || Is(BoxLossKind.CIoU))
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

            if (Is(BoxLossKind.CIoU))
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
            loss = Square ? T.One - iou * iou : T.One - iou;
            aIou = Square ? -Two * iou : -T.One;
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
        if (Is(BoxLossKind.GIoU))
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
        else if (Is(BoxLossKind.DIoU) || Is(BoxLossKind.CIoU))
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

            if (Is(BoxLossKind.CIoU))
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
            loss = Square ? one - iou * iou : one - iou;
            aIou = Square ? new Vector<T>(-Two) * iou : -one;
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
