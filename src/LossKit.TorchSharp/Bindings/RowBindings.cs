using LossKit.Detection;
using Tensor = TorchSharp.torch.Tensor;
using static LossKit.TorchSharp.TensorArgs;

namespace LossKit.TorchSharp.Bindings;

/// <summary>
/// The box layout: <c>input</c> and <c>target</c> of boxes <c>[N, 4]</c> (or any <c>[..., 4]</c>, as torchvision's box
/// losses take: <c>[4]</c>, <c>[B, N, 4]</c>), optional per-box weight of the leading shape; one value per box.
/// </summary>
internal sealed class BoxBinding : TorchBinding
{
    public override T Run<T>(TorchCall call)
    {
        var (x, t) = (call.Inputs[0], call.Inputs[1]);
        if (x.dim() < 1 || x.size(-1) != 4)
        {
            throw new ArgumentException($"input must have shape [N, 4] or [..., 4] (boxes), got {Shape(x)}", "input");
        }

        SameShape(t, "target", x, "input");
        var l = (BoxRegressionLoss<T>)call.Loss;
        ReadOnlySpan<T> xs = Span<T>(x, "input"), ts = Span<T>(t, "target");
        long[] boxes = Sizes(x)[..^1];
        ReadOnlySpan<T> w = call.WeightSpan<T>(boxes, "one per box");
        Span<T> values = call.NewValues<T>(boxes);
        return call.Gradients is null
            ? l.Forward(xs, ts, values, w, call.AvgFactor)
            : l.ForwardBackward(xs, ts, call.Gradient<T>(0), values, w, call.AvgFactor);
    }

    /// <summary>A per-box upstream (the leading shape) broadcasts along each box's four coordinates.</summary>
    public override Tensor? Broadcast(Tensor upstream, int i, TorchCall call) => upstream.dim() == 0 ? upstream : upstream.unsqueeze(-1);
}

/// <summary>Quality focal loss: <c>input [batch, classes]</c>, <c>labels [batch]</c> (int), <c>scores [batch]</c>.</summary>
internal sealed class ScoredRowsBinding : TorchBinding
{
    public override T Run<T>(TorchCall call)
    {
        var (x, labels, scores) = (call.Inputs[0], call.Inputs[1], call.Inputs[2]);
        Rank(x, 2, "input", "[batch, classes]");
        RowVector(labels, "labels", x.size(0), "input");
        RowVector(scores, "scores", x.size(0), "input");
        var l = (QualityFocalLoss<T>)call.Loss;
        int batch = (int)x.size(0), classes = (int)x.size(1);
        int[]? rented = null;
        try
        {
            ReadOnlySpan<int> y = Indices(labels, "labels", ref rented);
            ReadOnlySpan<T> xs = Span<T>(x, "input"), q = Span<T>(scores, "scores");
            ReadOnlySpan<T> w = call.WeightSpan<T>([batch], "one per row");
            Span<T> values = call.NewValues<T>([batch]);
            return call.Gradients is null
                ? l.Forward(xs, y, q, batch, classes, values, w, call.AvgFactor)
                : l.ForwardBackward(xs, y, q, batch, classes, call.Gradient<T>(0), values, w, call.AvgFactor);
        }
        finally
        {
            Return(rented);
        }
    }
}

/// <summary>Distribution focal loss: <c>input [batch, bins]</c>, <c>target [batch]</c> continuous bin positions.</summary>
internal sealed class BinsBinding : TorchBinding
{
    public override T Run<T>(TorchCall call)
    {
        var (x, t) = (call.Inputs[0], call.Inputs[1]);
        Rank(x, 2, "input", "[batch, bins]");
        RowVector(t, "target", x.size(0), "input");
        var l = (DistributionFocalLoss<T>)call.Loss;
        int batch = (int)x.size(0), bins = (int)x.size(1);
        ReadOnlySpan<T> xs = Span<T>(x, "input"), ts = Span<T>(t, "target");
        ReadOnlySpan<T> w = call.WeightSpan<T>([batch], "one per row");
        Span<T> values = call.NewValues<T>([batch]);
        return call.Gradients is null
            ? l.Forward(xs, ts, batch, bins, values, w, call.AvgFactor)
            : l.ForwardBackward(xs, ts, batch, bins, call.Gradient<T>(0), values, w, call.AvgFactor);
    }
}
