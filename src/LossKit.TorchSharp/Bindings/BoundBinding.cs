using System.Numerics;
using LossKit.Layouts;
using static LossKit.TorchSharp.TensorArgs;
using static TorchSharp.torch;

namespace LossKit.TorchSharp.Bindings;

/// <summary>
/// Any layout, through its own <see cref="LossLayout.Bind{T}"/>: the tensors are copied into named arrays, the bound
/// loss runs (fused when gradients are wanted), and the gradients and per-value results are copied back into torch
/// tensors. The detector criteria (whose matching dominates their cost) and the pair layout run this way, and so does
/// any layout added to the registry later, with no change here. With a per-value upstream it assumes what every such
/// layout has so far: value i depends only on slice i of each differentiable input (the value shape is a prefix of the
/// input's shape).
/// </summary>
internal sealed class BoundBinding : TorchBinding
{
    public override T Run<T>(TorchCall call)
    {
        if (call.Weight is not null || call.AvgFactor.HasValue)
        {
            throw new ArgumentException($"loss '{call.Arguments.Entry.Id}' takes no per-call weight or avg_factor through the bridge", call.Weight is null ? "avg_factor" : "weight");
        }

        IReadOnlyList<LayoutInput> specs = call.Arguments.Entry.Layout.Inputs;
        var named = new Dictionary<string, LayoutTensor<T>>(specs.Count, StringComparer.Ordinal);
        for (int i = 0; i < specs.Count; i++)
        {
            Tensor x = call.Inputs[i];
            int[] shape = Array.ConvertAll(Sizes(x), d => (int)d);
            if (IsIndexType(x.dtype))
            {
                int[]? rented = null;
                try
                {
                    int[] indices = Indices(x, specs[i].Name, ref rented).ToArray();
                    named[specs[i].Name] = new LayoutTensor<T>(specs[i].Name, shape, Array.ConvertAll(indices, T.CreateTruncating)) { IndexData = indices };
                }
                finally
                {
                    Return(rented);
                }
            }
            else
            {
                named[specs[i].Name] = new LayoutTensor<T>(specs[i].Name, shape, Span<T>(x, specs[i].Name).ToArray());
            }
        }

        BoundLoss<T> bound = call.Arguments.Entry.Layout.Bind(call.Loss, call.Arguments, named);
        T value = call.Gradients is null ? bound.Forward() : bound.ForwardBackward();
        if (call.Gradients is not null)
        {
            for (int i = 0; i < call.Gradients.Length; i++)
            {
                bound.Gradients[i].Data.CopyTo(Span<T>(call.Gradients[i], "gradient"));
            }
        }

        if (bound.Values is { } v && call.Reduction == Reduction.None)
        {
            call.Values = empty(Array.ConvertAll(v.Shape, d => (long)d), call.DType);
            v.Data.CopyTo(Span<T>(call.Values, "values"));
        }

        return value;
    }

    public override Tensor? Broadcast(Tensor upstream, int i, TorchCall call)
    {
        Tensor u = upstream;
        while (u.dim() < call.Gradients![i].dim())
        {
            u = u.unsqueeze(-1);
        }

        return u;
    }
}
