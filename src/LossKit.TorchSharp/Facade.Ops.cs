using static TorchSharp.torch;
using TorchReduction = TorchSharp.torch.nn.Reduction;

namespace LossKit.TorchSharp;

public static partial class losskit
{
    /// <summary>Detection losses with the names and argument order of <c>torchvision.ops</c> (and mmdetection's where torchvision has none).</summary>
    public static class ops
    {
        /// <summary>
        /// <c>torchvision.ops.sigmoid_focal_loss</c> (default reduction None, as torchvision's). Unlike TorchVision for
        /// .NET's <c>float</c> overload, the reduction applies to the focal loss, not to its inner BCE term.
        /// </summary>
        public static Tensor sigmoid_focal_loss(Tensor inputs, Tensor targets, double alpha = 0.25, double gamma = 2.0, TorchReduction reduction = TorchReduction.None,
            Tensor? weight = null, double? avg_factor = null) =>
            Run("sigmoid_focal", [inputs, targets], weight, avg_factor, ("alpha", alpha), ("gamma", gamma), ("reduction", R(reduction)));

        /// <summary><c>torchvision.ops.generalized_box_iou_loss</c> (xyxy boxes [N, 4]).</summary>
        public static Tensor generalized_box_iou_loss(Tensor boxes1, Tensor boxes2, TorchReduction reduction = TorchReduction.None, double eps = 1e-7) =>
            Run("giou", [boxes1, boxes2], null, null, ("reduction", R(reduction)), ("eps", eps));

        /// <summary><c>torchvision.ops.distance_box_iou_loss</c>.</summary>
        public static Tensor distance_box_iou_loss(Tensor boxes1, Tensor boxes2, TorchReduction reduction = TorchReduction.None, double eps = 1e-7) =>
            Run("diou", [boxes1, boxes2], null, null, ("reduction", R(reduction)), ("eps", eps));

        /// <summary><c>torchvision.ops.complete_box_iou_loss</c>.</summary>
        public static Tensor complete_box_iou_loss(Tensor boxes1, Tensor boxes2, TorchReduction reduction = TorchReduction.None, double eps = 1e-7) =>
            Run("ciou", [boxes1, boxes2], null, null, ("reduction", R(reduction)), ("eps", eps));

        /// <summary>mmdetection's IoULoss: mode "linear" (1 − IoU), "square" or "log".</summary>
        public static Tensor iou_loss(Tensor boxes1, Tensor boxes2, string mode = "linear", TorchReduction reduction = TorchReduction.None, double eps = 1e-7,
            Tensor? weight = null, double? avg_factor = null) =>
            Run("iou", [boxes1, boxes2], weight, avg_factor, ("mode", mode), ("reduction", R(reduction)), ("eps", eps));

        /// <summary>Efficient IoU loss (Zhang et al. 2022).</summary>
        public static Tensor efficient_iou_loss(Tensor boxes1, Tensor boxes2, TorchReduction reduction = TorchReduction.None, double eps = 1e-7,
            Tensor? weight = null, double? avg_factor = null) =>
            Run("eiou", [boxes1, boxes2], weight, avg_factor, ("reduction", R(reduction)), ("eps", eps));

        /// <summary>mmdetection's SIoULoss.</summary>
        public static Tensor siou_loss(Tensor boxes1, Tensor boxes2, TorchReduction reduction = TorchReduction.None, double eps = 1e-7, bool neg_gamma = false,
            Tensor? weight = null, double? avg_factor = null) =>
            Run("siou", [boxes1, boxes2], weight, avg_factor, ("reduction", R(reduction)), ("eps", eps), ("neg_gamma", neg_gamma));

        /// <summary>mmdetection's EIoULoss (extended intersection).</summary>
        public static Tensor extended_iou_loss(Tensor boxes1, Tensor boxes2, double smooth_point = 0.1, TorchReduction reduction = TorchReduction.None, double eps = 1e-7,
            Tensor? weight = null, double? avg_factor = null) =>
            Run("extended_iou", [boxes1, boxes2], weight, avg_factor, ("smooth_point", smooth_point), ("reduction", R(reduction)), ("eps", eps));

        /// <summary>
        /// mmcv's softmax_focal_loss over [batch, classes] with class indices. As mmcv's, Mean divides by the batch size,
        /// rows with <c>ignore_index</c> included (torch's cross-entropy divides by the kept rows).
        /// </summary>
        public static Tensor softmax_focal_loss(Tensor input, Tensor target, double gamma = 2.0, double alpha = 0.25, TorchReduction reduction = TorchReduction.Mean,
            long ignore_index = -100, double? avg_factor = null) =>
            Run("softmax_focal", [input, target], null, avg_factor, ("gamma", gamma), ("alpha", alpha), ("reduction", R(reduction)), ("ignore_index", ignore_index));

        /// <summary>mmdetection's QualityFocalLoss (GFL): logits [batch, classes], labels [batch], IoU scores [batch].</summary>
        public static Tensor quality_focal_loss(Tensor input, Tensor labels, Tensor scores, double beta = 2.0, TorchReduction reduction = TorchReduction.Mean,
            Tensor? weight = null, double? avg_factor = null) =>
            Run("quality_focal", [input, labels, scores], weight, avg_factor, ("beta", beta), ("reduction", R(reduction)));

        /// <summary>mmdetection's DistributionFocalLoss (GFL): logits [batch, bins], continuous targets [batch].</summary>
        public static Tensor distribution_focal_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean, Tensor? weight = null, double? avg_factor = null) =>
            Run("distribution_focal", [input, target], weight, avg_factor, ("reduction", R(reduction)));

        /// <summary>mmdetection's VarifocalLoss (VFNet).</summary>
        public static Tensor varifocal_loss(Tensor input, Tensor target, double alpha = 0.75, double gamma = 2.0, bool iou_weighted = true,
            TorchReduction reduction = TorchReduction.Mean, Tensor? weight = null, double? avg_factor = null) =>
            Run("varifocal", [input, target], weight, avg_factor, ("alpha", alpha), ("gamma", gamma), ("iou_weighted", iou_weighted), ("reduction", R(reduction)));
    }

    /// <summary>
    /// The detector criteria with per-image ground truths (lists of tensors, one per image, as torchvision's heads take
    /// them). Each returns the total loss; gradients flow to the head outputs.
    /// </summary>
    public static class criteria
    {
        /// <summary>
        /// torchvision's RegionProposalNetwork losses: objectness [images·A] (or [images, A]), deltas [images·A, 4], anchors
        /// [A, 4], gt boxes per image. The anchors are sampled from <paramref name="seed"/>: pass a new seed each step (the
        /// step number, say) for a fresh sample, as torchvision draws one every iteration (the module
        /// <c>losskit.nn.FasterRcnnRpnLoss</c> does this by itself).
        /// </summary>
        public static Tensor faster_rcnn_rpn_loss(Tensor objectness, Tensor pred_bbox_deltas, Tensor anchors, IReadOnlyList<Tensor> gt_boxes, double beta = 1.0 / 9, int seed = 0) =>
            Criterion("faster_rcnn_rpn", [objectness, pred_bbox_deltas, anchors], [gt_boxes], ("beta", beta), ("seed", seed));

        /// <summary>torchvision's fastrcnn_loss: class_logits [S, classes], box_regression [S, 4·classes], labels and regression_targets per image.</summary>
        public static Tensor faster_rcnn_roi_loss(Tensor class_logits, Tensor box_regression, IReadOnlyList<Tensor> labels, IReadOnlyList<Tensor> regression_targets,
            double beta = 1.0 / 9) =>
            Criterion("faster_rcnn_roi", [class_logits, box_regression], [labels, regression_targets], ("beta", beta));

        /// <summary>torchvision's RetinaNetHead.compute_loss: class_logits [images, anchors, classes], box_regression [images, anchors, 4], anchors [anchors, 4], gt per image.</summary>
        public static Tensor retinanet_loss(Tensor class_logits, Tensor box_regression, Tensor anchors, IReadOnlyList<Tensor> gt_boxes, IReadOnlyList<Tensor> gt_labels,
            string box_loss = "l1", double alpha = 0.25, double gamma = 2.0, double beta = 1.0, double eps = 1e-7) =>
            Criterion("retinanet", [class_logits, box_regression, anchors], [gt_boxes, gt_labels], ("box_loss", box_loss), ("alpha", alpha), ("gamma", gamma),
                ("beta", beta), ("eps", eps));

        /// <summary>darknet's YOLOv3 loss: the three raw outputs, darknet labels (cx, cy, w, h normalised) and classes per image.</summary>
        public static Tensor yolov3_loss(Tensor output0, Tensor output1, Tensor output2, IReadOnlyList<Tensor> gt_boxes, IReadOnlyList<Tensor> gt_labels, int classes = 80,
            int input_width = 416, int input_height = 416, double ignore_threshold = 0.7, string variant = "darknet") =>
            Criterion("yolov3", [output0, output1, output2], [gt_boxes, gt_labels], ("classes", classes), ("input_width", input_width), ("input_height", input_height),
                ("ignore_threshold", ignore_threshold), ("variant", variant));

        private static Tensor Criterion(string id, Tensor[] batched, IReadOnlyList<Tensor>[] perImage, params (string Name, object? Value)[] parameters)
        {
            LossKit.Registry.LossArguments args = Args(id, parameters);
            return LossBridge.Apply(new LossInstances(args), PerImage.Concatenate(args.Entry, batched, perImage), null, null);
        }
    }
}
