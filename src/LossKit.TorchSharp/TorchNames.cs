namespace LossKit.TorchSharp;

/// <summary>
/// The facade of each registry entry: its functional form (<c>losskit.functional</c>, <c>losskit.ops</c> or
/// <c>losskit.criteria</c>) and its module factory (<c>losskit.nn</c>). Every entry without a row still runs through
/// <c>new Loss("id …")</c> and <c>losskit.apply("id …", …)</c>; a test fails when an entry has no row here.
/// </summary>
public static class TorchNames
{
    /// <summary>Registry id → (functional form as "class.method", module factory name).</summary>
    public static IReadOnlyDictionary<string, (string Functional, string Module)> ById { get; } = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        ["cross_entropy"] = ("functional.cross_entropy", "CrossEntropyLoss"),
        ["nll"] = ("functional.nll_loss", "NLLLoss"),
        ["bce"] = ("functional.binary_cross_entropy", "BCELoss"),
        ["bce_with_logits"] = ("functional.binary_cross_entropy_with_logits", "BCEWithLogitsLoss"),
        ["kl_div"] = ("functional.kl_div", "KLDivLoss"),
        ["hinge"] = ("functional.hinge_loss", "HingeLoss"),
        ["squared_hinge"] = ("functional.squared_hinge_loss", "SquaredHingeLoss"),
        ["hinge_embedding"] = ("functional.hinge_embedding_loss", "HingeEmbeddingLoss"),
        ["multi_margin"] = ("functional.multi_margin_loss", "MultiMarginLoss"),
        ["exponential"] = ("functional.exponential_loss", "ExponentialLoss"),
        ["soft_margin"] = ("functional.soft_margin_loss", "SoftMarginLoss"),
        ["l1"] = ("functional.l1_loss", "L1Loss"),
        ["mse"] = ("functional.mse_loss", "MSELoss"),
        ["smooth_l1"] = ("functional.smooth_l1_loss", "SmoothL1Loss"),
        ["huber"] = ("functional.huber_loss", "HuberLoss"),
        ["balanced_l1"] = ("functional.balanced_l1_loss", "BalancedL1Loss"),
        ["iou"] = ("ops.iou_loss", "IoULoss"),
        ["giou"] = ("ops.generalized_box_iou_loss", "GIoULoss"),
        ["diou"] = ("ops.distance_box_iou_loss", "DIoULoss"),
        ["ciou"] = ("ops.complete_box_iou_loss", "CIoULoss"),
        ["eiou"] = ("ops.efficient_iou_loss", "EIoULoss"),
        ["siou"] = ("ops.siou_loss", "SIoULoss"),
        ["extended_iou"] = ("ops.extended_iou_loss", "ExtendedIoULoss"),
        ["sigmoid_focal"] = ("ops.sigmoid_focal_loss", "SigmoidFocalLoss"),
        ["softmax_focal"] = ("ops.softmax_focal_loss", "SoftmaxFocalLoss"),
        ["quality_focal"] = ("ops.quality_focal_loss", "QualityFocalLoss"),
        ["distribution_focal"] = ("ops.distribution_focal_loss", "DistributionFocalLoss"),
        ["varifocal"] = ("ops.varifocal_loss", "VarifocalLoss"),
        ["angular_margin"] = ("functional.angular_margin_loss", "AngularMarginLoss"),
        ["arcface"] = ("functional.arcface_loss", "ArcFaceLoss"),
        ["cosface"] = ("functional.cosface_loss", "CosFaceLoss"),
        ["sphereface"] = ("functional.sphereface_loss", "SphereFaceLoss"),
        ["cosine_head"] = ("functional.cosine_head", "CosineHead"),
        ["center"] = ("functional.center_loss", "CenterLoss"),
        ["cosine_embedding"] = ("functional.cosine_embedding_loss", "CosineEmbeddingLoss"),
        ["faster_rcnn_rpn"] = ("criteria.faster_rcnn_rpn_loss", "FasterRcnnRpnLoss"),
        ["faster_rcnn_roi"] = ("criteria.faster_rcnn_roi_loss", "FasterRcnnRoiLoss"),
        ["retinanet"] = ("criteria.retinanet_loss", "RetinaNetLoss"),
        ["yolov3"] = ("criteria.yolov3_loss", "YoloV3Loss"),
    };
}
