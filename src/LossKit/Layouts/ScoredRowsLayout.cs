using System.Numerics;
using LossKit.Detection;

namespace LossKit.Layouts;

/// <summary>
/// Rows of class logits with a label and a quality score per row (Quality Focal Loss): <c>input [batch, classes]</c>,
/// <c>labels [batch]</c> (a class, or background), <c>scores [batch]</c>; one value per row (optional per-row weight and
/// avg_factor with each call).
/// </summary>
public sealed class ScoredRowsLayout : LossLayout
{
    internal ScoredRowsLayout()
        : base("scored_rows", "rows of class logits with a label and a quality score per row; one value per row",
            new LayoutInput("input", "[batch, classes]", Differentiable: true),
            new LayoutInput("labels", "[batch] class indices (classes or < 0: background)", Indices: true),
            new LayoutInput("scores", "[batch] IoU quality targets"))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        QualityFocalLoss<T> l = call.As<QualityFocalLoss<T>>(loss);
        LayoutTensor<T> x = call["input"], labels = call["labels"], scores = call["scores"];
        (int batch, int classes) = call.Matrix(x);
        call.RowVector(labels, batch, x);
        call.RowVector(scores, batch, x);
        var grad = new T[x.Data.Length];
        T[]? values = l.Reduction == Reduction.None ? new T[batch] : null;
        T[] xs = x.Data, q = scores.Data, w = call.Weight;
        int[] y = labels.Indices();
        double? avg = call.AvgFactor;
        return Call<T>.Bound(() => l.Forward(xs, y, q, batch, classes, values, w, avg), () => l.ForwardBackward(xs, y, q, batch, classes, grad, values, w, avg),
            values, [batch], new LayoutTensor<T>("input", x.Shape, grad));
    }
}
