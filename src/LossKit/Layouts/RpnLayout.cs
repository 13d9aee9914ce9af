using System.Numerics;
using LossKit.Criteria;

namespace LossKit.Layouts;

/// <summary>
/// The Faster R-CNN region-proposal-network criterion's arrays (<see cref="RpnLoss{T}"/>, the full path: match, sample,
/// loss): <c>objectness [images·A]</c> (or <c>[images, A]</c>) logits and <c>deltas [images·A, 4]</c> (or
/// <c>[images, A, 4]</c>), image-major as torchvision's <c>concat_box_prediction_layers</c> flattens them, the shared
/// <c>anchors [A, 4]</c> (xyxy) and the ground truths <c>gt_boxes [G, 4]</c> (xyxy) with <c>gt_counts [images]</c>.
/// The anchor sampling uses the entry's <c>seed</c> argument. The value is the total (objectness + box regression);
/// gradients for objectness and deltas.
/// </summary>
public sealed class RpnLayout : CriterionLayout
{
    internal RpnLayout()
        : base("rpn", "RPN objectness logits and box deltas over shared anchors, per-image ground truths; total loss, gradients for both",
            new LayoutInput("objectness", "[images·A] (or [images, A]) logits, image-major", Differentiable: true),
            new LayoutInput("deltas", "[images·A, 4] (or [images, A, 4]) box deltas, image-major", Differentiable: true),
            new LayoutInput("anchors", "[A, 4] xyxy, shared by the images"),
            new LayoutInput("gt_boxes", "[G, 4] xyxy, concatenated over images"),
            new LayoutInput("gt_counts", "[images] ground truths per image", Indices: true))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        RpnLoss<T> l = call.As<RpnLoss<T>>(loss);
        CheckLengths(call, Inputs);
        LayoutTensor<T> o = call["objectness"], d = call["deltas"], a = call["anchors"], counts = call["gt_counts"];
        int anchors = Boxes(call, a);
        if (counts.Shape.Length != 1)
        {
            throw call.Mismatch("gt_counts", $"gt_counts has shape {counts.ShapeText} but loss '{call.Loss}' needs {call.Expected("gt_counts")}");
        }

        int images = counts.Shape[0];
        string why = $"{images} images (gt_counts {counts.ShapeText}) × {anchors} anchors (anchors {a.ShapeText})";
        if (o.Shape.Length == 2)
        {
            Exactly(call, o, [images, anchors], why);
            Exactly(call, d, [images, anchors, 4], why);
        }
        else
        {
            Exactly(call, o, [images * anchors], why);
            if (d.Shape.Length == 3)
            {
                Exactly(call, d, [images, anchors, 4], why);
            }
            else
            {
                Exactly(call, d, [images * anchors, 4], why);
            }
        }

        int[] perImage = GroundTruths(call, images, $"gt_counts {counts.ShapeText}", labels: false);
        ulong seed = (ulong)call.Arguments.Int("seed");
        var go = new T[o.Data.Length];
        var gd = new T[d.Data.Length];
        // A criterion's bound Forward runs the fused call too: its value is the same, and the gradients are kept.
        T Fused() => l.ForwardBackward(o.Data, d.Data, a.Data, call["gt_boxes"].Data, perImage, go, gd, seed).Total;
        return Call<T>.Bound(Fused, Fused, null, [], new LayoutTensor<T>("objectness", [.. o.Shape], go), new LayoutTensor<T>("deltas", [.. d.Shape], gd));
    }
}
