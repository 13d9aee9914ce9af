using System.Text;

namespace LossKit;

/// <summary>One loss in the catalog: the data behind <c>losskit list</c> and the README table.</summary>
/// <param name="Name">Identifier used by the CLI (<c>losskit eval</c>, <c>losskit list</c>).</param>
/// <param name="Type">The LossKit type.</param>
/// <param name="Family">Classification, Regression, Detection, MetricLearning or Criteria.</param>
/// <param name="Formula">The per-element (or per-row) formula in plain math.</param>
/// <param name="PyTorch">The PyTorch / torchvision / mmdetection equivalent.</param>
/// <param name="Parameters">Hyper-parameters with their defaults.</param>
public sealed record LossInfo(string Name, string Type, string Family, string Formula, string PyTorch, string Parameters);

/// <summary>The loss catalog: every loss LossKit provides, with formula, reference equivalent and defaults.</summary>
public static class Catalog
{
    /// <summary>All catalog entries, grouped by family.</summary>
    public static IReadOnlyList<LossInfo> Entries { get; } =
    [
        new("cross_entropy", "Classification.CrossEntropyLoss<T>", "Classification",
            "(1−ε)·w_y·(lse(x) − x_y) + (ε/C)·Σ_c w_c·(lse(x) − x_c); probability targets: Σ_c w_c·t'_c·(lse(x) − x_c)",
            "torch.nn.CrossEntropyLoss", "reduction=Mean, weight=none, ignoreIndex=-100, labelSmoothing=0"),
        new("nll", "Classification.NllLoss<T>", "Classification", "−w_y·x_y (x = log-probabilities)",
            "torch.nn.NLLLoss", "reduction=Mean, weight=none, ignoreIndex=-100"),
        new("bce", "Classification.BinaryCrossEntropyLoss<T>", "Classification",
            "−w·[y·max(ln x, −100) + (1−y)·max(ln(1−x), −100)]", "torch.nn.BCELoss", "reduction=Mean, weight=none (per element)"),
        new("bce_with_logits", "Classification.BinaryCrossEntropyWithLogitsLoss<T>", "Classification",
            "(1−y)·x + (1 + (pw−1)·y)·softplus(−x)", "torch.nn.BCEWithLogitsLoss",
            "reduction=Mean, weight=none (per element), posWeight=none (per class)"),
        new("kl_div", "Classification.KLDivergenceLoss<T>", "Classification",
            "t·(ln t − x); logTarget: e^t·(t − x)", "torch.nn.KLDivLoss", "reduction=Mean (also BatchMean), logTarget=false"),
        new("hinge", "Classification.HingeLoss<T>", "Classification", "max(0, 1 − y·f), y = ±1", "(none) torch.clamp(1 − y·f, min=0)",
            "reduction=Mean"),
        new("squared_hinge", "Classification.SquaredHingeLoss<T>", "Classification", "max(0, 1 − y·f)², y = ±1",
            "(none) torch.clamp(1 − y·f, min=0)**2", "reduction=Mean"),
        new("hinge_embedding", "Classification.HingeEmbeddingLoss<T>", "Classification", "x if y = 1; max(0, margin − x) if y = −1",
            "torch.nn.HingeEmbeddingLoss", "reduction=Mean, margin=1"),
        new("multi_margin", "Classification.MultiMarginLoss<T>", "Classification", "Σ_{i≠y} w_y·max(0, margin − x_y + x_i)^p / C",
            "torch.nn.MultiMarginLoss", "reduction=Mean, p=1, margin=1, weight=none"),
        new("exponential", "Classification.ExponentialLoss<T>", "Classification", "e^(−y·f), y = ±1", "(none) torch.exp(−y·f) (AdaBoost)",
            "reduction=Mean"),
        new("l1", "Regression.L1Loss<T>", "Regression", "|x − y|", "torch.nn.L1Loss", "reduction=Mean"),
        new("mse", "Regression.MseLoss<T>", "Regression", "(x − y)²", "torch.nn.MSELoss", "reduction=Mean"),
        new("smooth_l1", "Regression.SmoothL1Loss<T>", "Regression", "0.5·d²/β if d < β else d − 0.5·β (d = |x − y|)",
            "torch.nn.SmoothL1Loss", "reduction=Mean, beta=1"),
        new("huber", "Regression.HuberLoss<T>", "Regression", "0.5·d² if d < δ else δ·(d − 0.5·δ)", "torch.nn.HuberLoss",
            "reduction=Mean, delta=1"),
        new("balanced_l1", "Regression.BalancedL1Loss<T>", "Regression",
            "(α/b)(b·d + 1)·ln(b·d/β + 1) − α·d if d < β else γ·d + γ/b − α·β, b = e^(γ/α) − 1",
            "mmdet BalancedL1Loss (Libra R-CNN)", "reduction=Mean, alpha=0.5, gamma=1.5, beta=1"),
        new("iou", "Detection.IoULoss<T>", "Detection", "1 − IoU | 1 − IoU² | −ln max(IoU, eps)",
            "mmdet IoULoss (modes); ultralytics 1 − bbox_iou", "reduction=None, mode=Linear, eps=1e-7, format=Xyxy, convention=Torchvision"),
        new("giou", "Detection.GIoULoss<T>", "Detection", "1 − IoU + (C − U)/C", "torchvision.ops.generalized_box_iou_loss",
            "reduction=None, eps=1e-7, format=Xyxy, convention=Torchvision"),
        new("diou", "Detection.DIoULoss<T>", "Detection", "1 − IoU + ρ²/c²", "torchvision.ops.distance_box_iou_loss",
            "reduction=None, eps=1e-7, format=Xyxy, convention=Torchvision"),
        new("ciou", "Detection.CIoULoss<T>", "Detection", "1 − IoU + ρ²/c² + α·v, v = (4/π²)(atan(w_g/h_g) − atan(w/h))², α constant",
            "torchvision.ops.complete_box_iou_loss", "reduction=None, eps=1e-7, format=Xyxy, convention=Torchvision"),
        new("eiou", "Detection.EIoULoss<T>", "Detection", "1 − IoU + ρ²/c² + (w − w_g)²/C_w² + (h − h_g)²/C_h² (Efficient IoU)",
            "(none) Zhang et al. 2022", "reduction=None, eps=1e-7, format=Xyxy"),
        new("siou", "Detection.SIoULoss<T>", "Detection", "1 − clamp(IoU − (Δ + Ω)/2, −1, 1) (angle, distance, shape costs)",
            "mmdet SIoULoss", "reduction=None, eps=1e-7, negGamma=false, format=Xyxy"),
        new("extended_iou", "Detection.ExtendedIoULoss<T>", "Detection", "smooth-L1 of 1 − inter'/union (extended intersection)",
            "mmdet EIoULoss", "reduction=None, eps=1e-7, smoothPoint=0.1, format=Xyxy"),
        new("sigmoid_focal", "Detection.SigmoidFocalLoss<T>", "Detection",
            "α_t·(1 − p_t)^γ·BCE(x, t), p = σ(x), p_t = p·t + (1 − p)(1 − t), α_t = α·t + (1 − α)(1 − t) (α < 0: 1)",
            "torchvision.ops.sigmoid_focal_loss", "reduction=None, alpha=0.25, gamma=2"),
        new("softmax_focal", "Detection.SoftmaxFocalLoss<T>", "Detection", "−α_y·w_y·(1 − p_y)^γ·ln p_y, p = softmax(x)",
            "mmcv softmax_focal_loss", "reduction=Mean (sum / N), gamma=2, alpha=0.25, classAlpha=none, weight=none, ignoreIndex=-100"),
        new("quality_focal", "Detection.QualityFocalLoss<T>", "Detection",
            "Σ_c BCE(x_c, 0)·σ(x_c)^β; positive class: BCE(x_y, q)·|q − σ(x_y)|^β",
            "mmdet QualityFocalLoss (GFL)", "reduction=Mean, beta=2, weight=none (per anchor), avgFactor=none"),
        new("distribution_focal", "Detection.DistributionFocalLoss<T>", "Detection",
            "CE(z, ⌊y⌋)·(⌊y⌋ + 1 − y) + CE(z, ⌊y⌋ + 1)·(y − ⌊y⌋)",
            "mmdet DistributionFocalLoss (GFL)", "reduction=Mean, weight=none (per row), avgFactor=none"),
        new("varifocal", "Detection.VarifocalLoss<T>", "Detection", "BCE(x, t)·(t·[t > 0] + α·|σ(x) − t|^γ·[t ≤ 0])",
            "mmdet VarifocalLoss (VFNet)", "reduction=Mean, alpha=0.75, gamma=2, iouWeighted=true"),
        new("angular_margin", "MetricLearning.AngularMarginLoss<T>", "MetricLearning",
            "CE over s·cos θ_j (j ≠ y) and s·(cos(m1·θ_y + m2) − m3) for the target, θ = acos(cos input)",
            "insightface CombinedMarginLoss", "reduction=Mean, scale=64, m1=1, m2=0.5, m3=0, fallback=Threshold, gradient=Exact"),
        new("arcface", "MetricLearning.AngularMarginLoss<T>", "MetricLearning",
            "target logit s·cos(θ + m); cos θ − m·sin m when cos θ ≤ cos(π − m) (easyMargin: cos θ when cos θ ≤ 0)",
            "insightface ArcFace (classic); pytorch-metric-learning ArcFaceLoss (margin in degrees)", "reduction=Mean, scale=64, margin=0.5, easyMargin=false"),
        new("cosface", "MetricLearning.AngularMarginLoss<T>", "MetricLearning", "target logit s·(cos θ − m)",
            "insightface CosFace; pytorch-metric-learning CosFaceLoss", "reduction=Mean, scale=64, margin=0.35"),
        new("sphereface", "MetricLearning.AngularMarginLoss<T>", "MetricLearning",
            "target logit s·((−1)^k·cos(mθ) − 2k), k = ⌊mθ/π⌋", "pytorch-metric-learning SphereFaceLoss (on cosines)", "reduction=Mean, margin=4, scale=64"),
        new("cosine_head", "MetricLearning.CosineHead<T>", "MetricLearning",
            "cos = (x/max(‖x‖, eps))·(W/max(‖W‖, eps))ᵀ; backward to x and W", "F.linear(F.normalize(x), F.normalize(W))",
            "eps=1e-12"),
        new("center", "MetricLearning.CenterLoss<T>", "MetricLearning",
            "½‖xᵢ − c_yᵢ‖² (KaiyangZhou: no ½, clamp); update Δc_j = Σ_{yᵢ=j}(c_j − xᵢ)/(1 + n_j)",
            "Wen et al. 2016 (Caffe); KaiyangZhou/pytorch-center-loss", "reduction=Mean, convention=Paper, alpha (update rate)"),
        new("faster_rcnn_rpn", "Criteria.RpnLoss<T>", "Criteria",
            "Σ BCE-with-logits(objectness) over sampled anchors / S + Σ SmoothL1_β(Δ) over positives / S",
            "torchvision RegionProposalNetwork losses", "matcher=0.7/0.3 low-quality, sampler=256 at 0.5, boxCoder=(1,1,1,1), beta=1/9"),
        new("faster_rcnn_roi", "Criteria.FastRcnnLoss<T>", "Criteria",
            "CE(class logits) over sampled RoIs (mean) + Σ SmoothL1_β(class-specific Δ) over positives / S",
            "torchvision roi_heads.fastrcnn_loss", "matcher=0.5/0.5, sampler=512 at 0.25, boxCoder=(10,10,5,5), beta=1/9"),
        new("retinanet", "Criteria.RetinaNetLoss<T>", "Criteria",
            "Σ sigmoid focal over non-ignored anchors / max(1, n_fg) + box loss (L1 | SmoothL1 | GIoU | DIoU | CIoU) / max(1, n_fg), mean over images",
            "torchvision RetinaNetHead.compute_loss", "boxLoss=L1, alpha=0.25, gamma=2, beta=1, matcher=0.5/0.4 low-quality"),
        new("yolov3", "Criteria.YoloV3Loss<T>", "Criteria",
            "darknet: BCE(σ) on x, y, objectness, classes + (2 − w·h)·squared error on log w, h; ignore IoU > 0.7; sum / batch",
            "pjreddie/darknet yolo_layer.c; ultralytics/yolov3 (variant)", "inputWidth=416, inputHeight=416, anchors=yolov3.cfg, ignoreThreshold=0.7, variant=Darknet"),
    ];

    /// <summary>The catalog as a Markdown table (what the README shows between its catalog markers).</summary>
    public static string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("| Loss | Family | Formula | PyTorch equivalent | Parameters (defaults) |\n");
        sb.Append("|---|---|---|---|---|\n");
        foreach (LossInfo e in Entries)
        {
            sb.Append($"| `{e.Name}` (`{e.Type}`) | {e.Family} | {Escape(e.Formula)} | {Escape(e.PyTorch)} | {Escape(e.Parameters)} |\n");
        }

        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
