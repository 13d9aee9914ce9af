using System.Numerics;
using LossKit.Classification;

namespace LossKit.Layouts;

/// <summary>
/// The class-index rows layout: <c>input [batch, classes]</c> scores (or cosines) and <c>target [batch]</c> class indices,
/// one value per row (avg_factor with each call where the entry takes it). <see cref="ClassIndexLoss{T}"/>; for
/// cross-entropy the target may also be <c>[batch, classes]</c> probabilities.
/// </summary>
public sealed class ClassIndexLayout : LossLayout
{
    internal ClassIndexLayout(string inputShape = "[batch, classes]", string targetShape = "[batch] class indices")
        : base("class_index", "rows of class scores and one class index per row; one value per row",
            new LayoutInput("input", inputShape, Differentiable: true), new LayoutInput("target", targetShape, Indices: true))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        ClassIndexLoss<T> l = call.As<ClassIndexLoss<T>>(loss);
        LayoutTensor<T> x = call["input"], t = call["target"];
        var grad = new T[x.Data.Length];
        if (t.Shape.Length == 2 && loss is CrossEntropyLoss<T> ce)
        {
            (int rows, int columns) = call.Matrix(x);
            call.SameShape(t, x);
            if (call.AvgFactor.HasValue)
            {
                throw new ArgumentException($"parameter 'avg_factor' of loss '{call.Loss}' is not supported with probability targets", "avg_factor");
            }

            T[]? rowValues = ce.Reduction == Reduction.None ? new T[rows] : null;
            T[] xp = x.Data, tp = t.Data;
            return Call<T>.Bound(() => ce.Forward(xp, tp, rows, columns, rowValues), () => ce.ForwardBackward(xp, tp, rows, columns, grad, rowValues),
                rowValues, [rows], new LayoutTensor<T>("input", x.Shape, grad));
        }

        (int batch, int classes) = call.Matrix(x);
        call.RowVector(t, batch, x);
        T[]? values = l.Reduction == Reduction.None ? new T[batch] : null;
        T[] xs = x.Data;
        int[] y = t.Indices();
        double? avg = call.AvgFactor;
        return Call<T>.Bound(() => l.Forward(xs, y, batch, classes, values, avg), () => l.ForwardBackward(xs, y, batch, classes, grad, values, avg),
            values, [batch], new LayoutTensor<T>("input", x.Shape, grad));
    }
}
