using System.Numerics;
using LossKit.Classification;

namespace LossKit.Layouts;

/// <summary>
/// The element-wise layout: <c>input</c> of any shape and <c>target</c> of the same shape, one value per element
/// (optional per-element weight and avg_factor with each call). <see cref="ElementwiseLoss{T}"/> and, with the first
/// dimension as the batch, <see cref="KLDivergenceLoss{T}"/>.
/// </summary>
public sealed class ElementwiseLayout : LossLayout
{
    internal ElementwiseLayout(string inputShape = "any shape")
        : base("elementwise", "input and target of one shape; one value per element",
            new LayoutInput("input", inputShape, Differentiable: true), new LayoutInput("target", "the input's shape"))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        LayoutTensor<T> x = call["input"], t = call["target"];
        call.SameShape(t, x);
        var grad = new T[x.Data.Length];
        T[] xs = x.Data, ts = t.Data;
        if (loss is KLDivergenceLoss<T> kl)
        {
            int batch = x.Shape.Length == 0 ? 1 : x.Shape[0];
            T[]? klValues = kl.Reduction == Reduction.None ? new T[xs.Length] : null;
            return Call<T>.Bound(() => kl.Forward(xs, ts, batch, klValues), () => kl.ForwardBackward(xs, ts, batch, grad, klValues),
                klValues, x.Shape, new LayoutTensor<T>("input", x.Shape, grad));
        }

        ElementwiseLoss<T> l = call.As<ElementwiseLoss<T>>(loss);
        T[]? values = l.Reduction == Reduction.None ? new T[xs.Length] : null;
        T[] w = call.Weight;
        double? avg = call.AvgFactor;
        return Call<T>.Bound(() => l.Forward(xs, ts, values, w, avg), () => l.ForwardBackward(xs, ts, grad, values, w, avg),
            values, x.Shape, new LayoutTensor<T>("input", x.Shape, grad));
    }
}
