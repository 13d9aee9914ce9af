using System.Numerics;
using LossKit.Criteria;

namespace LossKit.Layouts;

/// <summary>
/// The Faster R-CNN RoI-head criterion's arrays (<see cref="FastRcnnLoss{T}"/>, torchvision's <c>fastrcnn_loss</c> on the
/// S sampled RoIs): <c>class_logits [S, classes]</c> (class 0 is background), class-specific
/// <c>box_regression [S, 4·classes]</c>, <c>labels [S]</c> in [0, classes) and <c>regression_targets [S, 4]</c>. The
/// class count is the last dimension of class_logits. The value is the total (classifier + box regression); gradients
/// for class_logits and box_regression.
/// </summary>
public sealed class FastRcnnLayout : CriterionLayout
{
    internal FastRcnnLayout()
        : base("fast_rcnn", "Fast R-CNN box-head outputs on sampled RoIs with their labels and regression targets; total loss, gradients for both outputs",
            new LayoutInput("class_logits", "[S, classes] logits (class 0 background)", Differentiable: true),
            new LayoutInput("box_regression", "[S, 4·classes] class-specific deltas", Differentiable: true),
            new LayoutInput("labels", "[S] classes in [0, classes)", Indices: true),
            new LayoutInput("regression_targets", "[S, 4] encoded targets"))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        FastRcnnLoss<T> l = call.As<FastRcnnLoss<T>>(loss);
        CheckLengths(call, Inputs);
        LayoutTensor<T> x = call["class_logits"], r = call["box_regression"], y = call["labels"], t = call["regression_targets"];
        (int rois, int classes) = call.Matrix(x);
        Exactly(call, r, [rois, 4 * classes], $"4 class-specific deltas per class of class_logits {x.ShapeText}");
        call.RowVector(y, rois, x);
        Exactly(call, t, [rois, 4], $"one target box per row of class_logits {x.ShapeText}");

        var gx = new T[x.Data.Length];
        var gr = new T[r.Data.Length];
        // A criterion's bound Forward runs the fused call too: its value is the same, and the gradients are kept.
        int[] labels = y.Indices();
        T Fused() => l.ForwardBackward(x.Data, r.Data, labels, t.Data, classes, gx, gr).Total;
        return Call<T>.Bound(Fused, Fused, null, [], new LayoutTensor<T>("class_logits", [.. x.Shape], gx), new LayoutTensor<T>("box_regression", [.. r.Shape], gr));
    }
}
