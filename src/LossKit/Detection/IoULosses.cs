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

    private protected override BoxRegressionLoss<float> CreateFloat32() => new IoULoss<float>(Reduction, Mode, Eps, Format, Convention);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.IoU, Convention, Eps, Format, Mode);
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

    private protected override BoxRegressionLoss<float> CreateFloat32() => new GIoULoss<float>(Reduction, Eps, Format, Convention);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.GIoU, Convention, Eps, Format);
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

    private protected override BoxRegressionLoss<float> CreateFloat32() => new DIoULoss<float>(Reduction, Eps, Format, Convention);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.DIoU, Convention, Eps, Format);
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

    private protected override BoxRegressionLoss<float> CreateFloat32() => new CIoULoss<float>(Reduction, Eps, Format, Convention);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.CIoU, Convention, Eps, Format);
}

/// <summary>
/// Efficient IoU loss (Zhang et al. 2022, "Focal and Efficient IOU Loss"):
/// <c>1 − IoU + ρ²/c² + (w − w_g)²/(C_w² + eps) + (h − h_g)²/(C_h² + eps)</c>, C_w, C_h the enclosing box's sides,
/// c² = C_w² + C_h² + eps, IoU and intersection as torchvision's DIoU. Not in torchvision or mmdetection (whose "EIoU"
/// is the different <see cref="ExtendedIoULoss{T}"/>); tested against a PyTorch transcription with autograd.
/// </summary>
/// <remarks>See <see cref="BoxRegressionLoss{T}"/>. Only the torchvision-style convention exists.</remarks>
public sealed class EfficientIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None (default), Mean or Sum.</param>
    /// <param name="eps">Eps (default 1e-7).</param>
    /// <param name="format">Box format of inputs and gradient (default xyxy).</param>
    /// <param name="validate">Reject NaN and inverted boxes.</param>
    public EfficientIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, BoxFormat format = BoxFormat.Xyxy, bool validate = false)
        : base(reduction, eps, format, BoxLossConvention.Torchvision, validate)
    {
    }

    private protected override BoxRegressionLoss<float> CreateFloat32() => new EfficientIoULoss<float>(Reduction, Eps, Format);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.EfficientIoU, Convention, Eps, Format);
}

/// <summary>The former name of <see cref="EfficientIoULoss{T}"/> (Zhang et al.'s Efficient IoU), which read as
/// mmdetection's <c>EIoULoss</c> (that one is <see cref="ExtendedIoULoss{T}"/>). Computes exactly what
/// <see cref="EfficientIoULoss{T}"/> computes.</summary>
[Obsolete("Use EfficientIoULoss<T> (Efficient IoU); mmdetection's EIoULoss is ExtendedIoULoss<T>.")]
public sealed class EIoULoss<T> : BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc cref="EfficientIoULoss{T}.EfficientIoULoss(Reduction, double, BoxFormat, bool)"/>
    public EIoULoss(Reduction reduction = Reduction.None, double eps = 1e-7, BoxFormat format = BoxFormat.Xyxy, bool validate = false)
        : base(reduction, eps, format, BoxLossConvention.Torchvision, validate)
    {
    }

    private protected override BoxRegressionLoss<float> CreateFloat32() => new EfficientIoULoss<float>(Reduction, Eps, Format);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.EfficientIoU, Convention, Eps, Format);
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

    private protected override BoxRegressionLoss<float> CreateFloat32() => new SIoULoss<float>(Reduction, Eps, NegGamma, Format);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.SIoU, Convention, Eps, Format, negGamma: NegGamma);
}

/// <summary>
/// mmdetection's <c>EIoULoss</c> under its own name — "Extended IoU" from libfacedetection.train (not Zhang et al.'s
/// Efficient IoU, see <see cref="EfficientIoULoss{T}"/>): an intersection that stays informative for disjoint boxes, d = 1 − inter/(union + eps),
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

    private protected override BoxRegressionLoss<float> CreateFloat32() => new ExtendedIoULoss<float>(Reduction, Eps, SmoothPoint, Format);

    private protected override IoUFormulas<T> Formula() => new(BoxLossKind.ExtendedIoU, Convention, Eps, Format, smoothPoint: SmoothPoint);
}
