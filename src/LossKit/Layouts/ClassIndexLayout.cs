using System.Numerics;
using System.Numerics.Tensors;
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
        if (x.Shape.Length > 2)
        {
            return BindDense(l, call, x, t, grad);
        }

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

    /// <summary>PyTorch's dense form: input [N, C, d1, …, dk], target [N, d1, …, dk]; values of the target's shape.</summary>
    private static BoundLoss<T> BindDense<T>(ClassIndexLoss<T> l, Call<T> call, LayoutTensor<T> x, LayoutTensor<T> t, T[] grad)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint[] inputShape = Array.ConvertAll(x.Shape, d => (nint)d), targetShape = Array.ConvertAll(t.Shape, d => (nint)d);
        bool matches = t.Shape.Length == x.Shape.Length - 1 && t.Shape[0] == x.Shape[0] && t.Shape.AsSpan(1).SequenceEqual(x.Shape.AsSpan(2));
        if (!matches)
        {
            throw call.Mismatch(t.Name, $"{t.Name} has shape {t.ShapeText} but loss '{call.Loss}' needs [{x.Shape[0]}, {string.Join(", ", x.Shape[2..])}] for input {x.ShapeText} ([N, C, d1, …, dk])");
        }

        Tensor<T> input = Tensor.Create(x.Data, inputShape), gradient = Tensor.Create(grad, inputShape);
        Tensor<int> target = Tensor.Create(t.Indices(), targetShape);
        T[]? values = l.Reduction == Reduction.None ? new T[target.FlattenedLength] : null;
        Tensor<T>? valueTensor = values is null ? null : Tensor.Create(values, targetShape);
        double? avg = call.AvgFactor;
        return Call<T>.Bound(() => l.Forward(input, target, valueTensor ?? default(TensorSpan<T>), avg),
            () => l.ForwardBackward(input, target, gradient, valueTensor ?? default(TensorSpan<T>), avg),
            values, t.Shape, new LayoutTensor<T>("input", x.Shape, grad));
    }
}
