using System.Buffers;
using System.Numerics.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using LossKit.MetricLearning;
using static LossKit.TorchSharp.TensorArgs;

namespace LossKit.TorchSharp.Bindings;

/// <summary>
/// Center loss: <c>input [batch, dim]</c>, <c>target [batch]</c> class indices, <c>centers [classes, dim]</c>; gradients
/// for input and centers. A per-row upstream does not broadcast onto the centers' gradient (a center gathers many
/// rows), so Reduction.None runs the core's per-value Backward.
/// </summary>
internal sealed class FeaturesCentersBinding : TorchBinding
{
    public override T Run<T>(TorchCall call)
    {
        var (x, t, c) = Check(call);
        var l = (CenterLoss<T>)call.Loss;
        int[]? rented = null;
        try
        {
            ReadOnlySpan<int> y = Indices(t, "target", ref rented);
            Span<T> values = call.NewValues<T>([x.size(0)]);
            (int batch, int classes, int dim) = ((int)x.size(0), (int)c.size(0), (int)x.size(1));
            return call.Gradients is null
                ? l.Forward(Span<T>(x, "input"), y, Span<T>(c, "centers"), batch, classes, dim, values)
                : l.ForwardBackward(Span<T>(x, "input"), y, Span<T>(c, "centers"), batch, classes, dim, call.Gradient<T>(0), call.Gradient<T>(1), values);
        }
        finally
        {
            Return(rented);
        }
    }

    public override global::TorchSharp.torch.Tensor? Broadcast(global::TorchSharp.torch.Tensor upstream, int i, TorchCall call) => null;

    public override void Backward<T>(TorchCall call, global::TorchSharp.torch.Tensor upstream)
    {
        var (x, t, c) = Check(call);
        var l = (CenterLoss<T>)call.Loss;
        int[]? rented = null;
        try
        {
            ReadOnlySpan<int> y = Indices(t, "target", ref rented);
            (int batch, int classes, int dim) = ((int)x.size(0), (int)c.size(0), (int)x.size(1));
            l.Backward(Span<T>(x, "input"), y, Span<T>(c, "centers"), batch, classes, dim, Span<T>(upstream, "upstream"), call.Gradient<T>(0), call.Gradient<T>(1));
        }
        finally
        {
            Return(rented);
        }
    }

    private static (global::TorchSharp.torch.Tensor X, global::TorchSharp.torch.Tensor T, global::TorchSharp.torch.Tensor C) Check(TorchCall call)
    {
        var (x, t, c) = (call.Inputs[0], call.Inputs[1], call.Inputs[2]);
        Rank(x, 2, "input", "[batch, dim]");
        RowVector(t, "target", x.size(0), "input");
        Rank(c, 2, "centers", "[classes, dim]");
        if (c.size(1) != x.size(1))
        {
            throw new ArgumentException($"centers must have shape [classes, {x.size(1)}] (the feature size of input {Shape(x)}), got {Shape(c)}", "centers");
        }

        return (x, t, c);
    }
}

/// <summary>
/// The cosine head (not a loss): <c>input [batch, dim]</c>, <c>weight [classes, dim]</c> → cosines [batch, classes]. Its
/// gradient needs the whole upstream d loss/d cos, so forward computes the cosines only and backward runs the core's
/// Backward with the upstream.
/// </summary>
internal sealed class CosineHeadBinding : TorchBinding
{
    public override bool DeferBackward => true;

    public override T Run<T>(TorchCall call)
    {
        var (x, w) = Check(call);
        var head = (CosineHead<T>)call.Loss;
        (int batch, int classes, int dim) = ((int)x.size(0), (int)w.size(0), (int)x.size(1));
        call.Values = global::TorchSharp.torch.empty([batch, classes], call.DType);
        Span<T> cos = Span<T>(call.Values, "values");
        T[] workspace = ArrayPool<T>.Shared.Rent(CosineHead<T>.WorkspaceSize(batch, classes, dim));
        try
        {
            head.Forward(Span<T>(x, "input"), Span<T>(w, "weight"), batch, classes, dim, cos, workspace);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(workspace);
        }

        return TensorPrimitives.Sum<T>(cos);
    }

    public override global::TorchSharp.torch.Tensor? Broadcast(global::TorchSharp.torch.Tensor upstream, int i, TorchCall call) => null;

    public override void Backward<T>(TorchCall call, global::TorchSharp.torch.Tensor upstream)
    {
        var (x, w) = Check(call);
        var head = (CosineHead<T>)call.Loss;
        (int batch, int classes, int dim) = ((int)x.size(0), (int)w.size(0), (int)x.size(1));
        T[] workspace = ArrayPool<T>.Shared.Rent(CosineHead<T>.WorkspaceSize(batch, classes, dim));
        try
        {
            head.Backward(Span<T>(x, "input"), Span<T>(w, "weight"), batch, classes, dim, Span<T>(upstream, "upstream"), call.Gradient<T>(0), call.Gradient<T>(1), workspace);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(workspace);
        }
    }

    private static (global::TorchSharp.torch.Tensor X, global::TorchSharp.torch.Tensor W) Check(TorchCall call)
    {
        var (x, w) = (call.Inputs[0], call.Inputs[1]);
        Rank(x, 2, "input", "[batch, dim]");
        Rank(w, 2, "weight", "[classes, dim]");
        if (w.size(1) != x.size(1))
        {
            throw new ArgumentException($"weight must have shape [classes, {x.size(1)}] (the embedding size of input {Shape(x)}), got {Shape(w)}", "weight");
        }

        return (x, w);
    }
}
