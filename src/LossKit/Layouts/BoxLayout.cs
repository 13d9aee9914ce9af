using System.Numerics;
using LossKit.Detection;

namespace LossKit.Layouts;

/// <summary>
/// The box layout: <c>input [N, 4]</c> predicted boxes and <c>target [N, 4]</c> target boxes, one value per box (optional
/// per-box weight and avg_factor with each call). <see cref="BoxRegressionLoss{T}"/>.
/// </summary>
public sealed class BoxLayout : LossLayout
{
    internal BoxLayout()
        : base("boxes", "pairs of boxes (4 coordinates each); one value per box",
            new LayoutInput("input", "[N, 4] predicted boxes", Differentiable: true), new LayoutInput("target", "[N, 4] target boxes"))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        BoxRegressionLoss<T> l = call.As<BoxRegressionLoss<T>>(loss);
        LayoutTensor<T> x = call["input"], t = call["target"];
        if (x.Shape.Length != 2 || x.Shape[1] != 4)
        {
            throw call.Mismatch("input", $"input has shape {x.ShapeText} but loss '{call.Loss}' needs [N, 4] boxes");
        }

        call.SameShape(t, x);
        int n = x.Shape[0];
        var grad = new T[x.Data.Length];
        T[]? values = l.Reduction == Reduction.None ? new T[n] : null;
        T[] xs = x.Data, ts = t.Data, w = call.Weight;
        double? avg = call.AvgFactor;
        return Call<T>.Bound(() => l.Forward(xs, ts, values, w, avg), () => l.ForwardBackward(xs, ts, grad, values, w, avg),
            values, [n], new LayoutTensor<T>("input", x.Shape, grad));
    }
}
