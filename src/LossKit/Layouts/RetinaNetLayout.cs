using System.Numerics;
using LossKit.Criteria;

namespace LossKit.Layouts;

/// <summary>
/// The RetinaNet criterion's arrays (<see cref="RetinaNetLoss{T}"/>): the head outputs <c>class_logits [images, anchors,
/// classes]</c> and <c>box_regression [images, anchors, 4]</c>, the shared <c>anchors [anchors, 4]</c> (xyxy) and the
/// ground truths concatenated over images, <c>gt_boxes [G, 4]</c> (xyxy), <c>gt_labels [G]</c> and
/// <c>gt_counts [images]</c>. The class count is the last dimension of class_logits. The value is the total
/// (classification + box regression, the training objective); gradients for class_logits and box_regression.
/// </summary>
public sealed class RetinaNetLayout : CriterionLayout
{
    internal RetinaNetLayout()
        : base("retinanet", "RetinaNet head outputs over shared anchors and per-image ground truths; total loss, gradients for both head outputs",
            new LayoutInput("class_logits", "[images, anchors, classes] logits", Differentiable: true),
            new LayoutInput("box_regression", "[images, anchors, 4] deltas", Differentiable: true),
            new LayoutInput("anchors", "[anchors, 4] xyxy, shared by the images"),
            new LayoutInput("gt_boxes", "[G, 4] xyxy, concatenated over images"),
            new LayoutInput("gt_labels", "[G] classes in [0, classes)", Indices: true),
            new LayoutInput("gt_counts", "[images] ground truths per image", Indices: true))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        RetinaNetLoss<T> l = call.As<RetinaNetLoss<T>>(loss);
        CheckLengths(call, Inputs);
        LayoutTensor<T> x = call["class_logits"], r = call["box_regression"], a = call["anchors"];
        Rank(call, x, 3);
        int images = x.Shape[0], anchors = x.Shape[1], classes = x.Shape[2];
        Exactly(call, r, [images, anchors, 4], $"images and anchors of class_logits {x.ShapeText}");
        Exactly(call, a, [anchors, 4], $"the anchors of class_logits {x.ShapeText}");
        int[] counts = GroundTruths(call, images, $"class_logits {x.ShapeText}", labels: true);

        var gx = new T[x.Data.Length];
        var gr = new T[r.Data.Length];
        // A criterion's bound Forward runs the fused call too: its value is the same, and the gradients are kept.
        T[] boxes = call["gt_boxes"].Data;
        int[] labels = call["gt_labels"].Indices();
        T Fused() => l.ForwardBackward(x.Data, r.Data, a.Data, boxes, labels, counts, classes, gx, gr).Total;
        return Call<T>.Bound(Fused, Fused, null, [], new LayoutTensor<T>("class_logits", [.. x.Shape], gx), new LayoutTensor<T>("box_regression", [.. r.Shape], gr));
    }
}
