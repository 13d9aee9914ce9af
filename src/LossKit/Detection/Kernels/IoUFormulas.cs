using System.Diagnostics;
using System.Numerics;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>
/// The per-box formulas of every IoU-type loss under every convention, written on dual numbers in the reference's
/// order of operations (so values agree to the last bits and gradients follow autograd's tie and clamp rules).
/// Under the torchvision convention the IoU (linear, square), GIoU, DIoU and CIoU losses in float and double run
/// <see cref="TorchvisionIoU{T, TLoss}"/> first; these formulas are its reference and compute the boxes it declines.
/// </summary>
internal readonly struct IoUFormulas<T> : IBoxOp<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T FourOverPiSquared = T.CreateTruncating(4.0 / (Math.PI * Math.PI));
    private static readonly T Two = T.CreateTruncating(2), Four = T.CreateTruncating(4), Half = T.CreateTruncating(0.5);

    private readonly BoxLossKind _kind;
    private readonly BoxLossConvention _convention;
    private readonly IoULossMode _mode;
    private readonly bool _centreBranch, _negGamma;
    private readonly T _eps, _onePlusEps, _torchvisionEps, _smoothPoint;

    /// <summary>The formula of one loss.</summary>
    /// <param name="kind">An IoU-type kind (not L1 or SmoothL1).</param>
    /// <param name="convention">The reference formulation.</param>
    /// <param name="eps">The loss's eps.</param>
    /// <param name="format">The caller's box format (ultralytics' cxcywh branch uses the raw sides).</param>
    /// <param name="mode">The IoU loss's mode.</param>
    /// <param name="smoothPoint">The extended IoU's smooth point.</param>
    /// <param name="negGamma">SIoU's γ = angle − 2.</param>
    public IoUFormulas(BoxLossKind kind, BoxLossConvention convention, double eps, BoxFormat format, IoULossMode mode = IoULossMode.Linear,
        double smoothPoint = 0.1, bool negGamma = false)
    {
        Debug.Assert(kind is not (BoxLossKind.L1 or BoxLossKind.SmoothL1), "L1 and Smooth L1 are element-wise losses.");
        _kind = kind;
        _convention = convention;
        _mode = mode;
        _centreBranch = format == BoxFormat.Cxcywh;
        _negGamma = negGamma;
        _eps = T.CreateTruncating(eps);
        _onePlusEps = T.CreateTruncating(1.0 + eps);
        _torchvisionEps = T.CreateTruncating(1e-7);
        _smoothPoint = T.CreateTruncating(smoothPoint);
    }

    /// <summary>The loss this formula computes.</summary>
    public BoxLossKind Kind => _kind;

    /// <summary>The IoU loss's mode (Linear for the other kinds).</summary>
    public IoULossMode Mode => _mode;

    /// <summary>The reference formulation.</summary>
    public BoxLossConvention Convention => _convention;

    public Dual<T> Loss(in BoxPair<T> b) => _kind switch
    {
        BoxLossKind.EfficientIoU => EfficientIoU(b),
        BoxLossKind.SIoU => SIoU(b, _negGamma),
        BoxLossKind.ExtendedIoU => ExtendedIoU(b),
        _ => _convention switch
        {
            BoxLossConvention.MMDetection => MMDetection(b),
            BoxLossConvention.Ultralytics => _kind == BoxLossKind.IoU ? IoUToLoss(Ultralytics(b)) : T.One - Ultralytics(b),
            _ => Torchvision(b),
        },
    };

    // ---- torchvision.ops (_loss_inter_union, giou_loss, _diou_iou_loss, ciou_loss) ----

    private static void TorchvisionInterUnion(in BoxPair<T> b, out Dual<T> inter, out Dual<T> union)
    {
        Dual<T> xk1 = Dual<T>.Max(b.X1, b.GX1), yk1 = Dual<T>.Max(b.Y1, b.GY1);
        Dual<T> xk2 = Dual<T>.Min(b.X2, b.GX2), yk2 = Dual<T>.Min(b.Y2, b.GY2);

        // Strict mask: touching or disjoint boxes have inter = 0 with no gradient through it.
        inter = yk2.V > yk1.V && xk2.V > xk1.V ? (xk2 - xk1) * (yk2 - yk1) : T.Zero;
        union = (b.X2 - b.X1) * (b.Y2 - b.Y1) + (b.GX2 - b.GX1) * (b.GY2 - b.GY1) - inter;
    }

    private static void Enclosing(in BoxPair<T> b, out Dual<T> xc1, out Dual<T> yc1, out Dual<T> xc2, out Dual<T> yc2)
    {
        xc1 = Dual<T>.Min(b.X1, b.GX1);
        yc1 = Dual<T>.Min(b.Y1, b.GY1);
        xc2 = Dual<T>.Max(b.X2, b.GX2);
        yc2 = Dual<T>.Max(b.Y2, b.GY2);
    }

    /// <summary>torchvision's _diou_iou_loss: returns the DIoU loss and the IoU.</summary>
    private static Dual<T> TorchvisionDIoU(in BoxPair<T> b, T eps, out Dual<T> iou)
    {
        TorchvisionInterUnion(b, out Dual<T> inter, out Dual<T> union);
        iou = inter / (union + eps);
        Enclosing(b, out Dual<T> xc1, out Dual<T> yc1, out Dual<T> xc2, out Dual<T> yc2);
        Dual<T> diagonal = Dual<T>.Square(xc2 - xc1) + Dual<T>.Square(yc2 - yc1) + eps;
        Dual<T> xp = (b.X2 + b.X1) / Two, yp = (b.Y2 + b.Y1) / Two;
        T xg = (b.GX1 + b.GX2) / Two, yg = (b.GY1 + b.GY2) / Two;
        Dual<T> centres = Dual<T>.Square(xp - xg) + Dual<T>.Square(yp - yg);
        return T.One - iou + centres / diagonal;
    }

    private Dual<T> Torchvision(in BoxPair<T> b)
    {
        switch (_kind)
        {
            case BoxLossKind.GIoU:
            {
                TorchvisionInterUnion(b, out Dual<T> inter, out Dual<T> union);
                Dual<T> iou = inter / (union + _eps);
                Enclosing(b, out Dual<T> xc1, out Dual<T> yc1, out Dual<T> xc2, out Dual<T> yc2);
                Dual<T> areaC = (xc2 - xc1) * (yc2 - yc1);
                return T.One - (iou - (areaC - union) / (areaC + _eps));
            }

            case BoxLossKind.DIoU:
                return TorchvisionDIoU(b, _eps, out _);
            case BoxLossKind.CIoU:
            {
                Dual<T> diou = TorchvisionDIoU(b, _torchvisionEps, out Dual<T> iou);
                Dual<T> v = FourOverPiSquared * Dual<T>.Square(Dual<T>.Atan((b.GX2 - b.GX1) / (b.GY2 - b.GY1)) - Dual<T>.Atan((b.X2 - b.X1) / (b.Y2 - b.Y1)));
                Dual<T> alpha = Dual<T>.Detach(v / (T.One - iou + v + _eps));
                return diou + alpha * v;
            }

            default:
            {
                TorchvisionInterUnion(b, out Dual<T> inter, out Dual<T> union);
                return IoUToLoss(inter / (union + _eps));
            }
        }
    }

    private Dual<T> IoUToLoss(Dual<T> iou) => _mode switch
    {
        IoULossMode.Square => T.One - iou * iou,
        IoULossMode.Log => -Dual<T>.Log(Dual<T>.ClampMin(iou, _eps)),
        _ => T.One - iou,
    };

    // ---- mmdetection (bbox_overlaps aligned; IoULoss, GIoULoss, DIoULoss, CIoULoss, SIoULoss, EIoULoss) ----

    private static Dual<T> ClampedOverlap(in BoxPair<T> b)
    {
        Dual<T> w = Dual<T>.ClampMin(Dual<T>.Min(b.X2, b.GX2) - Dual<T>.Max(b.X1, b.GX1), T.Zero);
        Dual<T> h = Dual<T>.ClampMin(Dual<T>.Min(b.Y2, b.GY2) - Dual<T>.Max(b.Y1, b.GY1), T.Zero);
        return w * h;
    }

    private Dual<T> MMDetection(in BoxPair<T> b)
    {
        Dual<T> overlap = ClampedOverlap(b);
        Dual<T> area1 = (b.X2 - b.X1) * (b.Y2 - b.Y1);
        T area2 = (b.GX2 - b.GX1) * (b.GY2 - b.GY1);
        if (_kind is BoxLossKind.IoU or BoxLossKind.GIoU)
        {
            // bbox_overlaps: union = max(union, eps) (a clamp, not an addition).
            Dual<T> union = Dual<T>.Max(area1 + area2 - overlap, _eps);
            Dual<T> ious = overlap / union;
            if (_kind == BoxLossKind.IoU)
            {
                Dual<T> clamped = Dual<T>.ClampMin(ious, _eps);
                return _mode switch
                {
                    IoULossMode.Square => T.One - clamped * clamped,
                    IoULossMode.Log => -Dual<T>.Log(clamped),
                    _ => T.One - clamped,
                };
            }

            Enclosing(b, out Dual<T> ex1, out Dual<T> ey1, out Dual<T> ex2, out Dual<T> ey2);
            Dual<T> enclose = Dual<T>.ClampMin(ex2 - ex1, T.Zero) * Dual<T>.ClampMin(ey2 - ey1, T.Zero);
            enclose = Dual<T>.Max(enclose, _eps);
            return T.One - (ious - (enclose - union) / enclose);
        }

        Dual<T> iou = overlap / (area1 + area2 - overlap + _eps);
        MMDetectionDistance(b, T.Zero, out Dual<T> rho2, out Dual<T> c2, out _, out _);
        if (_kind == BoxLossKind.DIoU)
        {
            return T.One - (iou - rho2 / c2);
        }

        // CIoU: eps on both heights; α gated on IoU > 0.5, no eps, detached; result clamped to [−1, 1].
        Dual<T> w1 = b.X2 - b.X1, h1 = b.Y2 - b.Y1 + _eps;
        T w2 = b.GX2 - b.GX1, h2 = b.GY2 - b.GY1 + _eps;
        Dual<T> v = FourOverPiSquared * Dual<T>.Square(Dual<T>.Atan(w2 / h2) - Dual<T>.Atan(w1 / h1));
        Dual<T> alpha = Dual<T>.Detach((iou.V > Half ? v : v * T.Zero) / (T.One - iou + v));
        return T.One - Dual<T>.Clamp(iou - (rho2 / c2 + alpha * v), -T.One, T.One);
    }

    /// <summary>mmdetection's ρ²/4-form centre distance and c² = cw² + ch² + eps, enclosing sides clamped at <paramref name="sideMin"/>.</summary>
    private void MMDetectionDistance(in BoxPair<T> b, T sideMin, out Dual<T> rho2, out Dual<T> c2, out Dual<T> cw, out Dual<T> ch)
    {
        Enclosing(b, out Dual<T> ex1, out Dual<T> ey1, out Dual<T> ex2, out Dual<T> ey2);
        cw = Dual<T>.ClampMin(ex2 - ex1, sideMin);
        ch = Dual<T>.ClampMin(ey2 - ey1, sideMin);
        c2 = cw * cw + ch * ch + _eps;
        Dual<T> left = Dual<T>.Square((b.GX1 + b.GX2) - (b.X1 + b.X2)) / Four;
        Dual<T> right = Dual<T>.Square((b.GY1 + b.GY2) - (b.Y1 + b.Y2)) / Four;
        rho2 = left + right;
    }

    private Dual<T> SIoU(in BoxPair<T> b, bool negGamma)
    {
        Dual<T> area1 = (b.X2 - b.X1) * (b.Y2 - b.Y1);
        T area2 = (b.GX2 - b.GX1) * (b.GY2 - b.GY1);
        Dual<T> overlap = ClampedOverlap(b);
        Dual<T> iou = overlap / (area1 + area2 - overlap + _eps);
        Enclosing(b, out Dual<T> ex1, out Dual<T> ey1, out Dual<T> ex2, out Dual<T> ey2);
        Dual<T> cw = Dual<T>.ClampMin(ex2 - ex1, _eps), ch = Dual<T>.ClampMin(ey2 - ey1, _eps);
        Dual<T> w1 = b.X2 - b.X1, h1 = b.Y2 - b.Y1 + _eps;
        T w2 = b.GX2 - b.GX1, h2 = b.GY2 - b.GY1 + _eps;

        Dual<T> sCw = (b.GX1 + b.GX2 - b.X1 - b.X2) * Half + _eps;
        Dual<T> sCh = (b.GY1 + b.GY2 - b.Y1 - b.Y2) * Half + _eps;
        Dual<T> sigma = Dual<T>.Pow(sCw * sCw + sCh * sCh, Half);
        Dual<T> sin1 = Dual<T>.Abs(sCw) / sigma, sin2 = Dual<T>.Abs(sCh) / sigma;
        T threshold = T.Sqrt(Two) / Two;
        Dual<T> sinAlpha = sin1.V > threshold ? sin2 : sin1;
        Dual<T> angle = Dual<T>.Cos(Dual<T>.Asin(sinAlpha) * Two - T.CreateTruncating(Math.PI / 2));
        Dual<T> rhoX = Dual<T>.Square(sCw / cw), rhoY = Dual<T>.Square(sCh / ch);
        Dual<T> gamma = negGamma ? angle - Two : Two - angle;
        Dual<T> distance = Two - Dual<T>.Exp(gamma * rhoX) - Dual<T>.Exp(gamma * rhoY);
        Dual<T> omegaW = Dual<T>.Abs(w1 - w2) / Dual<T>.Max(w1, w2);
        Dual<T> omegaH = Dual<T>.Abs(h1 - h2) / Dual<T>.Max(h1, h2);
        Dual<T> shape = Dual<T>.Pow(T.One - Dual<T>.Exp(-omegaW), Four) + Dual<T>.Pow(T.One - Dual<T>.Exp(-omegaH), Four);
        return T.One - Dual<T>.Clamp(iou - (distance + shape) * Half, -T.One, T.One);
    }

    private Dual<T> ExtendedIoU(in BoxPair<T> b)
    {
        Dual<T> ex1 = Dual<T>.Min(b.X1, b.GX1), ey1 = Dual<T>.Min(b.Y1, b.GY1);
        Dual<T> ix1 = Dual<T>.Max(b.X1, b.GX1), iy1 = Dual<T>.Max(b.Y1, b.GY1);
        Dual<T> ix2 = Dual<T>.Min(b.X2, b.GX2), iy2 = Dual<T>.Min(b.Y2, b.GY2);
        Dual<T> xmin = Dual<T>.Min(ix1, ix2), ymin = Dual<T>.Min(iy1, iy2);
        Dual<T> xmax = Dual<T>.Max(ix1, ix2), ymax = Dual<T>.Max(iy1, iy2);
        Dual<T> inter = (ix2 - ex1) * (iy2 - ey1) + (xmin - ex1) * (ymin - ey1) - (ix1 - ex1) * (ymax - ey1) - (xmax - ex1) * (iy1 - ey1);
        Dual<T> union = (b.X2 - b.X1) * (b.Y2 - b.Y1) + (b.GX2 - b.GX1) * (b.GY2 - b.GY1) - inter + _eps;
        Dual<T> d = T.One - inter / union;
        return d.V < _smoothPoint ? Half * (d * d) / _smoothPoint : d - Half * _smoothPoint;
    }

    // ---- Efficient IoU (Zhang et al. 2022), torchvision-style pieces ----

    private Dual<T> EfficientIoU(in BoxPair<T> b)
    {
        TorchvisionInterUnion(b, out Dual<T> inter, out Dual<T> union);
        Dual<T> iou = inter / (union + _eps);
        Enclosing(b, out Dual<T> xc1, out Dual<T> yc1, out Dual<T> xc2, out Dual<T> yc2);
        Dual<T> cw = xc2 - xc1, ch = yc2 - yc1;
        Dual<T> cw2 = cw * cw, ch2 = ch * ch;
        Dual<T> c2 = cw2 + ch2 + _eps;
        Dual<T> xp = (b.X2 + b.X1) / Two, yp = (b.Y2 + b.Y1) / Two;
        T xg = (b.GX1 + b.GX2) / Two, yg = (b.GY1 + b.GY2) / Two;
        Dual<T> rho2 = Dual<T>.Square(xp - xg) + Dual<T>.Square(yp - yg);
        Dual<T> dw = (b.X2 - b.X1) - (b.GX2 - b.GX1), dh = (b.Y2 - b.Y1) - (b.GY2 - b.GY1);
        return T.One - iou + rho2 / c2 + dw * dw / (cw2 + _eps) + dh * dh / (ch2 + _eps);
    }

    // ---- ultralytics bbox_iou (returns the IoU-type value, not the loss) ----

    private Dual<T> Ultralytics(in BoxPair<T> b)
    {
        Dual<T> w1, h1;
        T w2, h2;
        if (_centreBranch)
        {
            (w1, h1, w2, h2) = (b.W, b.H, b.GW, b.GH);
        }
        else
        {
            (w1, h1) = (b.X2 - b.X1, b.Y2 - b.Y1 + _eps);
            (w2, h2) = (b.GX2 - b.GX1, b.GY2 - b.GY1 + _eps);
        }

        Dual<T> inter = Dual<T>.ClampMin(Dual<T>.Min(b.X2, b.GX2) - Dual<T>.Max(b.X1, b.GX1), T.Zero)
            * Dual<T>.ClampMin(Dual<T>.Min(b.Y2, b.GY2) - Dual<T>.Max(b.Y1, b.GY1), T.Zero);
        Dual<T> union = w1 * h1 + w2 * h2 - inter + _eps;
        Dual<T> iou = inter / union;
        if (_kind == BoxLossKind.IoU)
        {
            return iou;
        }

        Dual<T> cw = Dual<T>.Max(b.X2, b.GX2) - Dual<T>.Min(b.X1, b.GX1);
        Dual<T> ch = Dual<T>.Max(b.Y2, b.GY2) - Dual<T>.Min(b.Y1, b.GY1);
        if (_kind == BoxLossKind.GIoU)
        {
            Dual<T> cArea = cw * ch + _eps;
            return iou - (cArea - union) / cArea;
        }

        Dual<T> c2 = Dual<T>.Square(cw) + Dual<T>.Square(ch) + _eps;
        Dual<T> rho2 = (Dual<T>.Square(b.GX1 + b.GX2 - b.X1 - b.X2) + Dual<T>.Square(b.GY1 + b.GY2 - b.Y1 - b.Y2)) / Four;
        if (_kind == BoxLossKind.DIoU)
        {
            return iou - rho2 / c2;
        }

        Dual<T> v = FourOverPiSquared * Dual<T>.Square(Dual<T>.Atan(w2 / h2) - Dual<T>.Atan(w1 / h1));
        Dual<T> alpha = Dual<T>.Detach(v / (v - iou + _onePlusEps));
        return iou - (rho2 / c2 + v * alpha);
    }
}
