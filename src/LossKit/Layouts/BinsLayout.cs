using System.Numerics;
using LossKit.Detection;

namespace LossKit.Layouts;

/// <summary>
/// Rows of logits over distance bins with a continuous target per row (Distribution Focal Loss): <c>input [batch,
/// bins]</c>, <c>target [batch]</c> in [0, bins − 1); one value per row (optional per-row weight and avg_factor).
/// </summary>
public sealed class BinsLayout : LossLayout
{
    internal BinsLayout()
        : base("bins", "rows of logits over bins and a continuous bin position per row; one value per row",
            new LayoutInput("input", "[batch, bins]", Differentiable: true), new LayoutInput("target", "[batch], 0 <= y < bins - 1"))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        DistributionFocalLoss<T> l = call.As<DistributionFocalLoss<T>>(loss);
        LayoutTensor<T> x = call["input"], t = call["target"];
        (int batch, int bins) = call.Matrix(x);
        call.RowVector(t, batch, x);
        var grad = new T[x.Data.Length];
        T[]? values = l.Reduction == Reduction.None ? new T[batch] : null;
        T[] xs = x.Data, ts = t.Data, w = call.Weight;
        double? avg = call.AvgFactor;
        return Call<T>.Bound(() => l.Forward(xs, ts, batch, bins, values, w, avg), () => l.ForwardBackward(xs, ts, batch, bins, grad, values, w, avg),
            values, [batch], new LayoutTensor<T>("input", x.Shape, grad));
    }
}
