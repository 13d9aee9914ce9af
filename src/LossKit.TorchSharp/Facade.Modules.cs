using static TorchSharp.torch;
using TorchReduction = TorchSharp.torch.nn.Reduction;

namespace LossKit.TorchSharp;

public static partial class losskit
{
    /// <summary>
    /// Loss modules named as <c>torch.nn</c>'s (factory methods returning a <see cref="Loss"/> module, as TorchSharp's
    /// <c>torch.nn.CrossEntropyLoss()</c> does). Hyper-parameters are fixed at construction; per-call weights go to
    /// <see cref="Loss.forward(Tensor, Tensor, Tensor?, double?)"/>.
    /// </summary>
    public static class nn
    {
        /// <summary><c>torch.nn.CrossEntropyLoss</c>.</summary>
        public static Loss CrossEntropyLoss(Tensor? weight = null, long ignore_index = -100, TorchReduction reduction = TorchReduction.Mean, double label_smoothing = 0.0) =>
            Module("cross_entropy", ("weight", V(weight, nameof(weight))), ("ignore_index", ignore_index), ("reduction", R(reduction)), ("label_smoothing", label_smoothing));

        /// <summary><c>torch.nn.NLLLoss</c>.</summary>
        public static Loss NLLLoss(Tensor? weight = null, long ignore_index = -100, TorchReduction reduction = TorchReduction.Mean) =>
            Module("nll", ("weight", V(weight, nameof(weight))), ("ignore_index", ignore_index), ("reduction", R(reduction)));

        /// <summary>
        /// <c>torch.nn.BCELoss</c>: <paramref name="weight"/> (broadcast to the input's shape) rescales each element of
        /// every call, unless a call passes its own.
        /// </summary>
        public static Loss BCELoss(Tensor? weight = null, TorchReduction reduction = TorchReduction.Mean) =>
            Module("bce", ("reduction", R(reduction))).WithWeight(weight);

        /// <summary><c>torch.nn.BCEWithLogitsLoss</c>: <paramref name="weight"/> as in <see cref="BCELoss"/>, <paramref name="pos_weight"/> per class (last dimension).</summary>
        public static Loss BCEWithLogitsLoss(Tensor? weight = null, TorchReduction reduction = TorchReduction.Mean, Tensor? pos_weight = null) =>
            Module("bce_with_logits", ("reduction", R(reduction)), ("pos_weight", V(pos_weight, nameof(pos_weight)))).WithWeight(weight);

        /// <summary><c>torch.nn.KLDivLoss</c> (<paramref name="batchmean"/>: PyTorch's reduction='batchmean').</summary>
        public static Loss KLDivLoss(TorchReduction reduction = TorchReduction.Mean, bool log_target = false, bool batchmean = false) =>
            Module("kl_div", ("reduction", KL(reduction, batchmean)), ("log_target", log_target));

        /// <summary>Hinge loss max(0, 1 − y·f).</summary>
        public static Loss HingeLoss(TorchReduction reduction = TorchReduction.Mean) => Module("hinge", ("reduction", R(reduction)));

        /// <summary>Squared hinge loss.</summary>
        public static Loss SquaredHingeLoss(TorchReduction reduction = TorchReduction.Mean) => Module("squared_hinge", ("reduction", R(reduction)));

        /// <summary><c>torch.nn.HingeEmbeddingLoss</c>.</summary>
        public static Loss HingeEmbeddingLoss(double margin = 1.0, TorchReduction reduction = TorchReduction.Mean) =>
            Module("hinge_embedding", ("margin", margin), ("reduction", R(reduction)));

        /// <summary><c>torch.nn.MultiMarginLoss</c>.</summary>
        public static Loss MultiMarginLoss(int p = 1, double margin = 1.0, Tensor? weight = null, TorchReduction reduction = TorchReduction.Mean) =>
            Module("multi_margin", ("p", p), ("margin", margin), ("weight", V(weight, nameof(weight))), ("reduction", R(reduction)));

        /// <summary>Exponential (AdaBoost) loss.</summary>
        public static Loss ExponentialLoss(TorchReduction reduction = TorchReduction.Mean) => Module("exponential", ("reduction", R(reduction)));

        /// <summary><c>torch.nn.SoftMarginLoss</c>.</summary>
        public static Loss SoftMarginLoss(TorchReduction reduction = TorchReduction.Mean) => Module("soft_margin", ("reduction", R(reduction)));

        /// <summary><c>torch.nn.L1Loss</c>.</summary>
        public static Loss L1Loss(TorchReduction reduction = TorchReduction.Mean) => Module("l1", ("reduction", R(reduction)));

        /// <summary><c>torch.nn.MSELoss</c>.</summary>
        public static Loss MSELoss(TorchReduction reduction = TorchReduction.Mean) => Module("mse", ("reduction", R(reduction)));

        /// <summary><c>torch.nn.SmoothL1Loss</c>.</summary>
        public static Loss SmoothL1Loss(TorchReduction reduction = TorchReduction.Mean, double beta = 1.0) => Module("smooth_l1", ("reduction", R(reduction)), ("beta", beta));

        /// <summary><c>torch.nn.HuberLoss</c>.</summary>
        public static Loss HuberLoss(TorchReduction reduction = TorchReduction.Mean, double delta = 1.0) => Module("huber", ("reduction", R(reduction)), ("delta", delta));

        /// <summary>mmdetection's BalancedL1Loss.</summary>
        public static Loss BalancedL1Loss(double alpha = 0.5, double gamma = 1.5, double beta = 1.0, TorchReduction reduction = TorchReduction.Mean) =>
            Module("balanced_l1", ("alpha", alpha), ("gamma", gamma), ("beta", beta), ("reduction", R(reduction)));

        /// <summary>mmdetection's IoULoss.</summary>
        public static Loss IoULoss(string mode = "linear", TorchReduction reduction = TorchReduction.None, double eps = 1e-7) =>
            Module("iou", ("mode", mode), ("reduction", R(reduction)), ("eps", eps));

        /// <summary>torchvision's generalized_box_iou_loss as a module.</summary>
        public static Loss GIoULoss(TorchReduction reduction = TorchReduction.None, double eps = 1e-7) => Module("giou", ("reduction", R(reduction)), ("eps", eps));

        /// <summary>torchvision's distance_box_iou_loss as a module.</summary>
        public static Loss DIoULoss(TorchReduction reduction = TorchReduction.None, double eps = 1e-7) => Module("diou", ("reduction", R(reduction)), ("eps", eps));

        /// <summary>torchvision's complete_box_iou_loss as a module.</summary>
        public static Loss CIoULoss(TorchReduction reduction = TorchReduction.None, double eps = 1e-7) => Module("ciou", ("reduction", R(reduction)), ("eps", eps));

        /// <summary>Efficient IoU loss.</summary>
        public static Loss EIoULoss(TorchReduction reduction = TorchReduction.None, double eps = 1e-7) => Module("eiou", ("reduction", R(reduction)), ("eps", eps));

        /// <summary>mmdetection's SIoULoss.</summary>
        public static Loss SIoULoss(TorchReduction reduction = TorchReduction.None, double eps = 1e-7, bool neg_gamma = false) =>
            Module("siou", ("reduction", R(reduction)), ("eps", eps), ("neg_gamma", neg_gamma));

        /// <summary>mmdetection's EIoULoss (extended intersection).</summary>
        public static Loss ExtendedIoULoss(double smooth_point = 0.1, TorchReduction reduction = TorchReduction.None, double eps = 1e-7) =>
            Module("extended_iou", ("smooth_point", smooth_point), ("reduction", R(reduction)), ("eps", eps));

        /// <summary>torchvision's sigmoid_focal_loss as a module.</summary>
        public static Loss SigmoidFocalLoss(double alpha = 0.25, double gamma = 2.0, TorchReduction reduction = TorchReduction.None) =>
            Module("sigmoid_focal", ("alpha", alpha), ("gamma", gamma), ("reduction", R(reduction)));

        /// <summary>mmcv's softmax focal loss.</summary>
        public static Loss SoftmaxFocalLoss(double gamma = 2.0, double alpha = 0.25, TorchReduction reduction = TorchReduction.Mean, long ignore_index = -100) =>
            Module("softmax_focal", ("gamma", gamma), ("alpha", alpha), ("reduction", R(reduction)), ("ignore_index", ignore_index));

        /// <summary>mmdetection's QualityFocalLoss (call with [input, labels, scores]).</summary>
        public static Loss QualityFocalLoss(double beta = 2.0, TorchReduction reduction = TorchReduction.Mean) =>
            Module("quality_focal", ("beta", beta), ("reduction", R(reduction)));

        /// <summary>mmdetection's DistributionFocalLoss.</summary>
        public static Loss DistributionFocalLoss(TorchReduction reduction = TorchReduction.Mean) => Module("distribution_focal", ("reduction", R(reduction)));

        /// <summary>mmdetection's VarifocalLoss.</summary>
        public static Loss VarifocalLoss(double alpha = 0.75, double gamma = 2.0, bool iou_weighted = true, TorchReduction reduction = TorchReduction.Mean) =>
            Module("varifocal", ("alpha", alpha), ("gamma", gamma), ("iou_weighted", iou_weighted), ("reduction", R(reduction)));

        /// <summary>insightface's combined angular margin loss (on cosines).</summary>
        public static Loss AngularMarginLoss(double scale = 64, double m1 = 1, double m2 = 0.5, double m3 = 0, TorchReduction reduction = TorchReduction.Mean,
            string fallback = "threshold", string gradient = "exact") =>
            Module("angular_margin", ("scale", scale), ("m1", m1), ("m2", m2), ("m3", m3), ("reduction", R(reduction)), ("fallback", fallback), ("gradient", gradient));

        /// <summary>ArcFace (on cosines).</summary>
        public static Loss ArcFaceLoss(double scale = 64, double margin = 0.5, bool easy_margin = false, TorchReduction reduction = TorchReduction.Mean) =>
            Module("arcface", ("scale", scale), ("margin", margin), ("easy_margin", easy_margin), ("reduction", R(reduction)));

        /// <summary>CosFace (on cosines).</summary>
        public static Loss CosFaceLoss(double scale = 64, double margin = 0.35, TorchReduction reduction = TorchReduction.Mean) =>
            Module("cosface", ("scale", scale), ("margin", margin), ("reduction", R(reduction)));

        /// <summary>SphereFace (on cosines).</summary>
        public static Loss SphereFaceLoss(double scale = 64, double margin = 4, TorchReduction reduction = TorchReduction.Mean) =>
            Module("sphereface", ("scale", scale), ("margin", margin), ("reduction", R(reduction)));

        /// <summary>The cosine head (call with [input, weight]; the weight is usually a Parameter).</summary>
        public static Loss CosineHead(double eps = 1e-12) => Module("cosine_head", ("eps", eps));

        /// <summary>Center loss (call with [input, target, centers]).</summary>
        public static Loss CenterLoss(TorchReduction reduction = TorchReduction.Mean, string convention = "paper") =>
            Module("center", ("reduction", R(reduction)), ("convention", convention));

        /// <summary><c>torch.nn.CosineEmbeddingLoss</c> (call with [input1, input2, target], float targets).</summary>
        public static Loss CosineEmbeddingLoss(double margin = 0.0, TorchReduction reduction = TorchReduction.Mean) =>
            Module("cosine_embedding", ("margin", margin), ("reduction", R(reduction)));

        /// <summary>
        /// torchvision's RPN losses (call <see cref="Loss.forward_images"/> with [objectness, deltas, anchors] and gt boxes per
        /// image). Each call samples anchors afresh, as torchvision's does: call k uses seed <paramref name="seed"/> + k.
        /// </summary>
        public static Loss FasterRcnnRpnLoss(double beta = 1.0 / 9, int seed = 0) => Module("faster_rcnn_rpn", ("beta", beta), ("seed", seed));

        /// <summary>torchvision's fastrcnn_loss (call <see cref="Loss.forward_images"/> with [class_logits, box_regression] and labels, regression targets per image).</summary>
        public static Loss FasterRcnnRoiLoss(double beta = 1.0 / 9) => Module("faster_rcnn_roi", ("beta", beta));

        /// <summary>torchvision's RetinaNet loss (call <see cref="Loss.forward_images"/> with [class_logits, box_regression, anchors] and gt boxes, labels per image).</summary>
        public static Loss RetinaNetLoss(string box_loss = "l1", double alpha = 0.25, double gamma = 2.0, double beta = 1.0, double eps = 1e-7) =>
            Module("retinanet", ("box_loss", box_loss), ("alpha", alpha), ("gamma", gamma), ("beta", beta), ("eps", eps));

        /// <summary>darknet's YOLOv3 loss (call <see cref="Loss.forward_images"/> with the three outputs and gt boxes, labels per image).</summary>
        public static Loss YoloV3Loss(int classes = 80, int input_width = 416, int input_height = 416, double ignore_threshold = 0.7, string variant = "darknet") =>
            Module("yolov3", ("classes", classes), ("input_width", input_width), ("input_height", input_height), ("ignore_threshold", ignore_threshold), ("variant", variant));
    }
}
