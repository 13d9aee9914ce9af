using LossKit.Detection;

namespace LossKit.Criteria;

/// <summary>The former box-loss enum of the ultralytics variant (GIoU or CIoU).</summary>
[Obsolete("Use BoxLossKind")]
public enum YoloV3BoxLoss
{
    /// <summary>1 − GIoU (the archive branch).</summary>
    GIoU = 0,

    /// <summary>1 − CIoU (α detached).</summary>
    CIoU = 1,
}

/// <summary>
/// Hyper-parameters of <see cref="YoloV3Variant.Ultralytics"/>, with the ultralytics/yolov3 archive branch's defaults
/// (<c>hyp</c> in train.py: giou 3.54, obj 64.3, cls 37.4, iou_t 0.20; <c>model.gr</c> = 1 after burn-in).
/// </summary>
public sealed class YoloV3UltralyticsOptions
{
    /// <summary>The default options.</summary>
    public static YoloV3UltralyticsOptions Default { get; } = new();

    /// <summary>The box loss: <see cref="BoxLossKind.GIoU"/> (default) or <see cref="BoxLossKind.CIoU"/>.</summary>
    public BoxLossKind BoxLossKind { get; init; } = BoxLossKind.GIoU;

    /// <summary>The box loss as the former enum (GIoU or CIoU).</summary>
    [Obsolete("Use BoxLossKind")]
    public YoloV3BoxLoss BoxLoss
    {
        get => BoxLossKind switch
        {
            BoxLossKind.GIoU => YoloV3BoxLoss.GIoU,
            BoxLossKind.CIoU => YoloV3BoxLoss.CIoU,
            _ => (YoloV3BoxLoss)(-1),
        };

        init => BoxLossKind = value switch
        {
            YoloV3BoxLoss.GIoU => BoxLossKind.GIoU,
            YoloV3BoxLoss.CIoU => BoxLossKind.CIoU,
            _ => (BoxLossKind)(-1),
        };
    }

    /// <summary>Gain of the box term (hyp['giou'], default 3.54).</summary>
    public double BoxGain { get; init; } = 3.54;

    /// <summary>Gain of the objectness term (hyp['obj'], default 64.3).</summary>
    public double ObjectnessGain { get; init; } = 64.3;

    /// <summary>Gain of the class term (hyp['cls'], default 37.4).</summary>
    public double ClassGain { get; init; } = 37.4;

    /// <summary>Multiply <see cref="ClassGain"/> by classes/80, as train.py does (default true).</summary>
    public bool ScaleClassGainByClasses { get; init; } = true;

    /// <summary>A target trains every anchor whose wh-IoU with it exceeds this (hyp['iou_t'], default 0.20).</summary>
    public double AnchorThreshold { get; init; } = 0.20;

    /// <summary>gr: objectness target (1 − gr) + gr·max(IoU, 0) (default 1: the detached IoU itself).</summary>
    public double IoURatio { get; init; } = 1.0;

    /// <summary>Multiply the loss by batch/64, as train.py does for its 64-image accumulation (default true).</summary>
    public bool ScaleByBatch { get; init; } = true;
}
