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

    private protected override LossEvaluation<T> Run<T>(object loss, Call<T> call)
    {
        LayoutTensor<T> x = call["input"], t = call["target"];
        call.SameShape(t, x);
        var grad = new T[x.Data.Length];
        bool none;
        T value;
        T[]? values;
        if (loss is KLDivergenceLoss<T> kl)
        {
            none = kl.Reduction == Reduction.None;
            values = none ? new T[x.Data.Length] : null;
            value = kl.ForwardBackward(x.Data, t.Data, x.Shape.Length == 0 ? 1 : x.Shape[0], grad, values);
        }
        else
        {
            ElementwiseLoss<T> l = call.As<ElementwiseLoss<T>>(loss);
            none = l.Reduction == Reduction.None;
            values = none ? new T[x.Data.Length] : null;
            value = l.ForwardBackward(x.Data, t.Data, grad, values, call.Weight, call.AvgFactor);
        }

        return Call<T>.Result(value, values, x.Shape, new LayoutTensor<T>("input", x.Shape, grad));
    }
}
