using System.Numerics;
using LossKit.MetricLearning;

namespace LossKit.Layouts;

/// <summary>
/// Feature rows, a class per row and the class centers (center loss): <c>input [batch, dim]</c>, <c>target [batch]</c>,
/// <c>centers [classes, dim]</c>; one value per row; gradients for the features and the centers.
/// </summary>
public sealed class FeaturesCentersLayout : LossLayout
{
    internal FeaturesCentersLayout()
        : base("features_centers", "feature rows, a class per row and the class centers; gradients for features and centers",
            new LayoutInput("input", "[batch, dim] features", Differentiable: true), new LayoutInput("target", "[batch] class indices", Indices: true),
            new LayoutInput("centers", "[classes, dim]", Differentiable: true))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        CenterLoss<T> l = call.As<CenterLoss<T>>(loss);
        LayoutTensor<T> x = call["input"], t = call["target"], c = call["centers"];
        (int batch, int dim) = call.Matrix(x);
        call.RowVector(t, batch, x);
        (int classes, int centerDim) = call.Matrix(c);
        if (centerDim != dim)
        {
            throw call.Mismatch("centers", $"centers has shape {c.ShapeText} but loss '{call.Loss}' needs [classes, {dim}] (the feature size of input {x.ShapeText})");
        }

        var gx = new T[x.Data.Length];
        var gc = new T[c.Data.Length];
        T[]? values = l.Reduction == Reduction.None ? new T[batch] : null;
        T[] xs = x.Data, cs = c.Data;
        int[] y = t.Indices();
        return Call<T>.Bound(() => l.Forward(xs, y, cs, batch, classes, dim, values), () => l.ForwardBackward(xs, y, cs, batch, classes, dim, gx, gc, values),
            values, [batch], new LayoutTensor<T>("input", x.Shape, gx), new LayoutTensor<T>("centers", c.Shape, gc));
    }
}
