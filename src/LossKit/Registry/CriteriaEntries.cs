using System.Numerics;
using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Layouts;
using static LossKit.Registry.LossParameter;

namespace LossKit.Registry;

/// <summary>The registry entries of the detector criteria (Faster R-CNN, RetinaNet, YOLOv3) and their layouts.</summary>
internal static class CriteriaEntries
{
    private static readonly RpnLayout Rpn = new();
    private static readonly FastRcnnLayout FastRcnn = new();
    private static readonly RetinaNetLayout RetinaNet = new();
    private static readonly YoloV3Layout YoloV3 = new();

    /// <summary>The criteria's layouts.</summary>
    public static IReadOnlyList<LossLayout> Layouts { get; } = [Rpn, FastRcnn, RetinaNet, YoloV3];

    public static LossEntry[] Build<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const LossFamily K = LossFamily.Criteria;
        LossParameter beta = Double("beta", 1.0 / 9, "Smooth L1 β of the box term", 0);
        return
        [
            new("faster_rcnn_rpn", K, Rpn,
                "Σ BCE-with-logits(objectness) over sampled anchors / S + Σ SmoothL1_β(Δ) over positives / S",
                "torchvision RegionProposalNetwork losses",
                [beta, Int("seed", 0, "seed of the anchor sampling (deterministic; not torch's generator)", 0)],
                a => new RpnLoss<T>(beta: a.Double("beta"))),
            new("faster_rcnn_roi", K, FastRcnn,
                "CE(class logits) over sampled RoIs (mean) + Σ SmoothL1_β(class-specific Δ) over positives / S",
                "torchvision roi_heads.fastrcnn_loss", [beta],
                a => new FastRcnnLoss<T>(beta: a.Double("beta"))),
            new("retinanet", K, RetinaNet,
                "Σ sigmoid focal over non-ignored anchors / max(1, n_fg) + box loss (L1 | SmoothL1 | GIoU | DIoU | CIoU) / max(1, n_fg), mean over images",
                "torchvision RetinaNetHead.compute_loss",
                [Choice("box_loss", BoxLossKind.L1, "box-regression loss (torchvision's bbox_reg_loss_type)",
                    BoxLossKind.L1, BoxLossKind.SmoothL1, BoxLossKind.GIoU, BoxLossKind.DIoU, BoxLossKind.CIoU),
                    Double("alpha", 0.25, "focal α, weight of the positives (< 0: none)", max: 1), Double("gamma", 2, "focal γ, focusing exponent", 0),
                    Double("beta", 1, "Smooth L1 β (box_loss smoothl1)", 0), Double("eps", 1e-7, "eps of the IoU-type box losses", 0)],
                a => new RetinaNetLoss<T>(a.Choice<BoxLossKind>("box_loss"), a.Double("alpha"), a.Double("gamma"), a.Double("beta"), a.Double("eps"))),
            new("yolov3", K, YoloV3,
                "darknet: BCE(σ) on x, y, objectness, classes + (2 − w·h)·squared error on log w, h; ignore IoU > 0.7; sum / batch",
                "pjreddie/darknet yolo_layer.c; ultralytics/yolov3 (variant)",
                [Int("classes", 80, "C, the number of classes", 1), Int("input_width", 416, "network input width in pixels (a multiple of 32)", 32),
                    Int("input_height", 416, "network input height in pixels (a multiple of 32)", 32),
                    Vector("anchors", "nine (w, h) anchor pairs in input pixels (absent: yolov3.cfg's)"),
                    Double("ignore_threshold", 0.7, "darknet's ignore_thresh", 0, 1),
                    Choice("variant", YoloV3Variant.Darknet, "darknet's yolo_layer.c or the ultralytics/yolov3 archive-branch loss"),
                    Choice("box_loss", BoxLossKind.GIoU, "box loss of the ultralytics variant", BoxLossKind.GIoU, BoxLossKind.CIoU)],
                a => new YoloV3Loss<T>(a.Int("classes"), a.Int("input_width"), a.Int("input_height"), a.Vector<double>("anchors"),
                    a.Double("ignore_threshold"), a.Choice<YoloV3Variant>("variant"),
                    new YoloV3UltralyticsOptions { BoxLossKind = a.Choice<BoxLossKind>("box_loss") })),
        ];
    }
}
