using System.Numerics;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>How <see cref="IoULoss{T}"/> turns IoU into a loss (mmdetection's <c>mode</c>).</summary>
public enum IoULossMode
{
    /// <summary>1 − IoU.</summary>
    Linear = 0,

    /// <summary>1 − IoU².</summary>
    Square = 1,

    /// <summary>−ln IoU, with IoU clamped at ≥ eps first (mmdetection's default mode).</summary>
    Log = 2,
}

/// <summary>
/// IoU loss: <c>1 − IoU</c>, <c>1 − IoU²</c> or <c>−ln max(IoU, eps)</c> (mmdetection's <c>IoULoss</c> modes).
/// Torchvision convention (default): IoU = inter / (union + eps) with torchvision's strict-overlap intersection;
/// MMDetection: <c>bbox_overlaps</c> (clamped sides, union = max(union, eps)) and IoU clamped at ≥ eps in every mode;
/// Ultralytics: <c>1 − bbox_iou(...)</c>.
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/> for entry points, reductions, gradients and degenerate boxes.
/// Disjoint boxes give IoU 0: loss 1 (Linear, Square) or −ln eps (Log) with a zero gradient — the IoU loss cannot move
/// a box that does not overlap its target.</remarks>
public sealed class IoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="mode">Linear (default), Square or Log.</param>
    /// <param name="eps">Eps of the reference formula (default 1e-7; mmdetection's configs use 1e-6).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="convention">Reference formulation (default Torchvision).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public IoULoss(Reduction reduction = Reduction.None, IoULossMode mode = IoULossMode.Linear, double eps = 1e-7,
        BoxFormat format = BoxFormat.Xyxy, BoxLossConvention convention = BoxLossConvention.Torchvision, bool validate = false)
        : base(reduction, eps, format, convention, validate)
    {
        if (mode is not (IoULossMode.Linear or IoULossMode.Square or IoULossMode.Log))
        {
            ThrowHelper.OutOfRange(nameof(mode), mode, "mode must be Linear, Square or Log.");
        }

        Mode = mode;
    }

    /// <summary>Linear, Square or Log.</summary>
    public IoULossMode Mode { get; }

    private protected override double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        var exact = new IoUFormulas<T>(IoUFormulas<T>.Kind.IoU, Convention, Eps, Format, Mode);
        if (!TorchvisionIoU<T, IoULinearKind>.Covers(Convention) || Mode == IoULossMode.Log)
        {
            return Run(exact, predicted, target, weight, values, gradient, scale, upstream);
        }

        return Mode == IoULossMode.Square
            ? Run(exact, new TorchvisionIoU<T, IoUSquareKind>(Eps), predicted, target, weight, values, gradient, scale, upstream)
            : Run(exact, new TorchvisionIoU<T, IoULinearKind>(Eps), predicted, target, weight, values, gradient, scale, upstream);
    }
}

/// <summary>
/// Generalized IoU loss (Rezatofighi et al. 2019): <c>1 − (IoU − (C − U)/C)</c>, C the enclosing box's area.
/// Torchvision (default): <c>torchvision.ops.generalized_box_iou_loss(reduction='none', eps=1e-7)</c> —
/// IoU = inter/(union + eps), GIoU = IoU − (C − union)/(C + eps). MMDetection: <c>GIoULoss</c> via bbox_overlaps
/// (C = max(C, eps)). Ultralytics: C + eps.
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/>. A zero-size box against itself gives loss 0 under torchvision
/// (pytorch/vision #7746 reports GIoU 1.0 for the IoU matrix function); boxes should satisfy x1 ≤ x2, y1 ≤ y2.</remarks>
public sealed class GIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="eps">Eps (default 1e-7).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="convention">Reference formulation (default Torchvision).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public GIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, BoxFormat format = BoxFormat.Xyxy,
        BoxLossConvention convention = BoxLossConvention.Torchvision, bool validate = false)
        : base(reduction, eps, format, convention, validate)
    {
    }

    private protected override double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        TorchvisionIoU<T, GIoUKind>.Covers(Convention)
            ? Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.GIoU, Convention, Eps, Format), new TorchvisionIoU<T, GIoUKind>(Eps),
                predicted, target, weight, values, gradient, scale, upstream)
            : Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.GIoU, Convention, Eps, Format), predicted, target, weight, values, gradient, scale, upstream);
}

/// <summary>
/// Distance IoU loss (Zheng et al. 2020): <c>1 − IoU + ρ²/c²</c>, ρ the distance between the centres, c the enclosing
/// box's diagonal. Torchvision (default): <c>distance_box_iou_loss</c> (c² = cw² + ch² + eps). MMDetection:
/// <c>DIoULoss</c> (union + eps, enclosing sides clamped). Ultralytics: bbox_iou(DIoU=True).
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/>.</remarks>
public sealed class DIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="eps">Eps (default 1e-7).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="convention">Reference formulation (default Torchvision).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public DIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, BoxFormat format = BoxFormat.Xyxy,
        BoxLossConvention convention = BoxLossConvention.Torchvision, bool validate = false)
        : base(reduction, eps, format, convention, validate)
    {
    }

    private protected override double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        TorchvisionIoU<T, DIoUKind>.Covers(Convention)
            ? Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.DIoU, Convention, Eps, Format), new TorchvisionIoU<T, DIoUKind>(Eps),
                predicted, target, weight, values, gradient, scale, upstream)
            : Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.DIoU, Convention, Eps, Format), predicted, target, weight, values, gradient, scale, upstream);
}

/// <summary>
/// Complete IoU loss (Zheng et al. 2020): <c>1 − IoU + ρ²/c² + α·v</c>, v = (4/π²)(atan(w_g/h_g) − atan(w/h))², α = v/(1 −
/// IoU + v) treated as a constant. Torchvision (default): <c>complete_box_iou_loss</c> — α = v/((1 − IoU) + v + eps),
/// never gated, the inner DIoU always with eps 1e-7 (torchvision does not pass the user's eps on); h = 0 gives NaN
/// as in torchvision (use the MMDetection or Ultralytics convention, which add eps to h, as the remedy).
/// MMDetection: <c>CIoULoss</c> — eps on h, α gated on IoU &gt; 0.5, result clamped to [−1, 1] (identical float boxes
/// can give α = 0/0 = NaN there, as mmdetection). Ultralytics: α = v/(v − IoU + (1 + eps)).
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/>. Under the torchvision convention in float and double the fast kernel
/// evaluates atan(w_g/h_g) − atan(w/h) as the single arctangent atan((w_g·h − w·h_g)/(h_g·h + w_g·w)) (the same for
/// positive sides; evaluated to within 2 ulp), so CIoU values can differ from torchvision's in the last bits.</remarks>
public sealed class CIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="eps">Eps (default 1e-7).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="convention">Reference formulation (default Torchvision).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public CIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, BoxFormat format = BoxFormat.Xyxy,
        BoxLossConvention convention = BoxLossConvention.Torchvision, bool validate = false)
        : base(reduction, eps, format, convention, validate)
    {
    }

    private protected override double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        TorchvisionIoU<T, CIoUKind>.Covers(Convention)
            ? Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.CIoU, Convention, Eps, Format), new TorchvisionIoU<T, CIoUKind>(Eps),
                predicted, target, weight, values, gradient, scale, upstream)
            : Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.CIoU, Convention, Eps, Format), predicted, target, weight, values, gradient, scale, upstream);
}

/// <summary>
/// Efficient IoU loss (Zhang et al. 2022, "Focal and Efficient IOU Loss"):
/// <c>1 − IoU + ρ²/c² + (w − w_g)²/(C_w² + eps) + (h − h_g)²/(C_h² + eps)</c>, C_w, C_h the enclosing box's sides,
/// c² = C_w² + C_h² + eps, IoU and intersection as torchvision's DIoU. Not in torchvision or mmdetection (whose "EIoU"
/// is the different <see cref="ExtendedIoULoss{T}"/>); tested against a PyTorch transcription with autograd.
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/>. Only the torchvision-style convention exists.</remarks>
public sealed class EIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="eps">Eps (default 1e-7).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public EIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, BoxFormat format = BoxFormat.Xyxy, bool validate = false)
        : base(reduction, eps, format, BoxLossConvention.Torchvision, validate)
    {
    }

    private protected override double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.EIoU, Convention, Eps, Format), predicted, target, weight, values, gradient, scale, upstream);
}

/// <summary>
/// SIoU loss (Gevorgyan 2022) as mmdetection's <c>SIoULoss(eps=1e-6, neg_gamma=False)</c>: IoU as mmdetection's DIoU,
/// angle cost cos(2·asin(sin α) − π/2), distance cost 2 − e^(γρ_x) − e^(γρ_y) with γ = 2 − angle (γ = angle − 2, the
/// paper's sign, with <c>negGamma</c>), shape cost Σ(1 − e^(−ω))⁴; loss = 1 − clamp(IoU − (distance + shape)/2, −1, 1).
/// Centre offsets get + eps so coincident centres stay finite (meituan/YOLOv6 #582).
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/>. mmdetection convention only.</remarks>
public sealed class SIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="eps">Eps (default 1e-7; mmdetection's class default 1e-6).</param>
    /// <param name="negGamma">Use the paper's γ = angle − 2 (mmdetection's neg_gamma=True).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public SIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, bool negGamma = false, BoxFormat format = BoxFormat.Xyxy, bool validate = false)
        : base(reduction, eps, format, BoxLossConvention.MMDetection, validate) => NegGamma = negGamma;

    /// <summary>Whether γ = angle − 2 (paper) instead of 2 − angle (mmdetection's default).</summary>
    public bool NegGamma { get; }

    private protected override double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Run(new IoUFormulas<T>(NegGamma ? IoUFormulas<T>.Kind.SIoUNegGamma : IoUFormulas<T>.Kind.SIoU, Convention, Eps, Format), predicted, target, weight, values, gradient, scale, upstream);
}

/// <summary>
/// mmdetection's <c>EIoULoss</c> — "Extended IoU" from libfacedetection.train (not Zhang et al.'s Efficient IoU, see
/// <see cref="EIoULoss{T}"/>): an intersection that stays informative for disjoint boxes, d = 1 − inter/(union + eps),
/// loss = 0.5·d²/s₀ if d &lt; s₀ else d − 0.5·s₀ (smooth point s₀ = 0.1; the branch test is detached).
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/>. mmdetection convention only.</remarks>
public sealed class ExtendedIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="eps">Eps (default 1e-7; mmdetection's class default 1e-6).</param>
    /// <param name="smoothPoint">s₀ (&gt; 0, default 0.1).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public ExtendedIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, double smoothPoint = 0.1, BoxFormat format = BoxFormat.Xyxy, bool validate = false)
        : base(reduction, eps, format, BoxLossConvention.MMDetection, validate) =>
        SmoothPoint = ThrowHelper.CheckAbove(smoothPoint, 0.0, nameof(smoothPoint));

    /// <summary>The smooth point s₀.</summary>
    public double SmoothPoint { get; }

    private protected override double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Run(new IoUFormulas<T>(IoUFormulas<T>.Kind.ExtendedIoU, Convention, Eps, Format, smoothPoint: SmoothPoint), predicted, target, weight, values, gradient, scale, upstream);
}

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

    private readonly Kind _kind;
    private readonly BoxLossConvention _convention;
    private readonly IoULossMode _mode;
    private readonly bool _centreBranch;
    private readonly T _eps, _onePlusEps, _torchvisionEps, _smoothPoint;

    public IoUFormulas(Kind kind, BoxLossConvention convention, double eps, BoxFormat format, IoULossMode mode = IoULossMode.Linear, double smoothPoint = 0.1)
    {
        _kind = kind;
        _convention = convention;
        _mode = mode;
        _centreBranch = format == BoxFormat.Cxcywh;
        _eps = T.CreateTruncating(eps);
        _onePlusEps = T.CreateTruncating(1.0 + eps);
        _torchvisionEps = T.CreateTruncating(1e-7);
        _smoothPoint = T.CreateTruncating(smoothPoint);
    }

    public enum Kind
    {
        IoU,
        GIoU,
        DIoU,
        CIoU,
        EIoU,
        SIoU,
        SIoUNegGamma,
        ExtendedIoU,
    }

    public Dual<T> Loss(in BoxPair<T> b) => _kind switch
    {
        Kind.EIoU => EfficientIoU(b),
        Kind.SIoU => SIoU(b, negGamma: false),
        Kind.SIoUNegGamma => SIoU(b, negGamma: true),
        Kind.ExtendedIoU => ExtendedIoU(b),
        _ => _convention switch
        {
            BoxLossConvention.MMDetection => MMDetection(b),
            BoxLossConvention.Ultralytics => _kind == Kind.IoU ? IoUToLoss(Ultralytics(b)) : T.One - Ultralytics(b),
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
            case Kind.GIoU:
            {
                TorchvisionInterUnion(b, out Dual<T> inter, out Dual<T> union);
                Dual<T> iou = inter / (union + _eps);
                Enclosing(b, out Dual<T> xc1, out Dual<T> yc1, out Dual<T> xc2, out Dual<T> yc2);
                Dual<T> areaC = (xc2 - xc1) * (yc2 - yc1);
                return T.One - (iou - (areaC - union) / (areaC + _eps));
            }

            case Kind.DIoU:
                return TorchvisionDIoU(b, _eps, out _);
            case Kind.CIoU:
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
        if (_kind is Kind.IoU or Kind.GIoU)
        {
            // bbox_overlaps: union = max(union, eps) (a clamp, not an addition).
            Dual<T> union = Dual<T>.Max(area1 + area2 - overlap, _eps);
            Dual<T> ious = overlap / union;
            if (_kind == Kind.IoU)
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
        if (_kind == Kind.DIoU)
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
        if (_kind == Kind.IoU)
        {
            return iou;
        }

        Dual<T> cw = Dual<T>.Max(b.X2, b.GX2) - Dual<T>.Min(b.X1, b.GX1);
        Dual<T> ch = Dual<T>.Max(b.Y2, b.GY2) - Dual<T>.Min(b.Y1, b.GY1);
        if (_kind == Kind.GIoU)
        {
            Dual<T> cArea = cw * ch + _eps;
            return iou - (cArea - union) / cArea;
        }

        Dual<T> c2 = Dual<T>.Square(cw) + Dual<T>.Square(ch) + _eps;
        Dual<T> rho2 = (Dual<T>.Square(b.GX1 + b.GX2 - b.X1 - b.X2) + Dual<T>.Square(b.GY1 + b.GY2 - b.Y1 - b.Y2)) / Four;
        if (_kind == Kind.DIoU)
        {
            return iou - rho2 / c2;
        }

        Dual<T> v = FourOverPiSquared * Dual<T>.Square(Dual<T>.Atan(w2 / h2) - Dual<T>.Atan(w1 / h1));
        Dual<T> alpha = Dual<T>.Detach(v / (v - iou + _onePlusEps));
        return iou - (rho2 / c2 + v * alpha);
    }
}
