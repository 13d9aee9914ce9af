using System.Numerics.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using LossKit.Classification;
using static LossKit.TorchSharp.TensorArgs;

namespace LossKit.TorchSharp.Bindings;

/// <summary>
/// The class-index layout: <c>input [batch, classes]</c> with <c>target [batch]</c> class indices (int64 or int32), the
/// dense form <c>input [N, C, d1, …]</c> with <c>target [N, d1, …]</c>, and for cross-entropy probability targets of the
/// input's shape. Values per row (per position in the dense form). PyTorch's unbatched form, <c>input [classes]</c> with a
/// 0-d class index (or probabilities [classes]), runs as one row and gives a 0-d value with Reduction.None.
/// </summary>
internal sealed class ClassIndexBinding : TorchBinding
{
    public override T Run<T>(TorchCall call)
    {
        var (x, t) = (call.Inputs[0], call.Inputs[1]);
        var l = (ClassIndexLoss<T>)call.Loss;
        bool unbatched = x.dim() == 1;
        if (x.dim() < 1)
        {
            throw new ArgumentException($"input must have shape [batch, classes], [classes] or [N, C, d1, ...], got {Shape(x)}", "input");
        }

        ReadOnlySpan<T> xs = Span<T>(x, "input");
        Span<T> g = call.Gradient<T>(0);
        bool fused = call.Gradients is not null;
        if (!IsIndexType(t.dtype))
        {
            if (l is not CrossEntropyLoss<T> ce || t.dtype != x.dtype)
            {
                throw new ArgumentException($"target must hold class indices (int64 or int32){(l is CrossEntropyLoss<T> ? " or probabilities of input's dtype" : "")}, got dtype {DType(t.dtype)}", "target");
            }

            SameShape(t, "target", x, "input");
            if (call.AvgFactor.HasValue)
            {
                throw new ArgumentException("avg_factor is not supported with probability targets", "avg_factor");
            }

            if (call.Arguments.Int("ignore_index") is int ignore and >= 0)
            {
                throw new ArgumentException($"ignore_index ({ignore}) is not supported with probability targets (as in torch)", "ignore_index");
            }

            if (x.dim() > 2)
            {
                return DenseProbabilities(call, ce, x, t);
            }

            int rows = unbatched ? 1 : (int)x.size(0), columns = (int)x.size(unbatched ? 0 : 1);
            ReadOnlySpan<T> ts = Span<T>(t, "target");
            Span<T> rowValues = call.NewValues<T>(unbatched ? [] : [rows]);
            return fused ? ce.ForwardBackward(xs, ts, rows, columns, g, rowValues) : ce.Forward(xs, ts, rows, columns, rowValues);
        }

        int[]? rented = null;
        try
        {
            ReadOnlySpan<int> y = Indices(t, "target", ref rented);
            if (unbatched)
            {
                if (t.dim() != 0)
                {
                    throw new ArgumentException($"target must be a 0-d class index for an unbatched input {Shape(x)}, got shape {Shape(t)}", "target");
                }

                int classes = (int)x.size(0);
                Span<T> value = call.NewValues<T>([]);
                return fused ? l.ForwardBackward(xs, y, 1, classes, g, value, call.AvgFactor) : l.Forward(xs, y, 1, classes, value, call.AvgFactor);
            }

            if (x.dim() == 2)
            {
                RowVector(t, "target", x.size(0), "input");
                int batch = (int)x.size(0), classes = (int)x.size(1);
                Span<T> values = call.NewValues<T>([batch]);
                return fused ? l.ForwardBackward(xs, y, batch, classes, g, values, call.AvgFactor) : l.Forward(xs, y, batch, classes, values, call.AvgFactor);
            }

            if (x.numel() == 0)
            {
                // No positions (N or some d is 0): the tensor spans below cannot describe empty memory, and there is
                // nothing to reorder, so the row form runs with no rows (Mean gives NaN and Sum 0, as torch's).
                long[] xShape = Sizes(x), expected = [xShape[0], .. xShape[2..]];
                if (!Sizes(t).AsSpan().SequenceEqual(expected))
                {
                    throw new ArgumentException($"target must have shape [{string.Join(", ", expected)}] for input {Shape(x)}, got {Shape(t)}", "target");
                }

                Span<T> none = call.NewValues<T>(expected);
                int c = (int)x.size(1);
                return fused ? l.ForwardBackward(xs, ReadOnlySpan<int>.Empty, 0, c, g, none, call.AvgFactor) : l.Forward(xs, ReadOnlySpan<int>.Empty, 0, c, none, call.AvgFactor);
            }

            // PyTorch's dense form through the tensor overloads (the core checks target [N, d1, …] against input [N, C, d1, …]).
            var input = new ReadOnlyTensorSpan<T>(xs, Lengths(x), []);
            var target = new ReadOnlyTensorSpan<int>(y, Lengths(t), []);
            long[] valueShape = Sizes(t);
            Span<T> dense = call.NewValues<T>(valueShape);
            var destination = dense.IsEmpty ? default : new TensorSpan<T>(dense, Lengths(t), []);
            return fused
                ? l.ForwardBackward(input, target, new TensorSpan<T>(g, Lengths(x), []), destination, call.AvgFactor)
                : l.Forward(input, target, destination, call.AvgFactor);
        }
        finally
        {
            Return(rented);
        }
    }

    /// <summary>
    /// Probability targets in the dense form <c>[N, C, d1, …]</c>: the classes moved last (one copy of input and target),
    /// rows of C through the row kernel, the gradient moved back into the saved gradient (one copy). Mean divides by the
    /// N·d1·… positions, as torch's.
    /// </summary>
    private static T DenseProbabilities<T>(TorchCall call, CrossEntropyLoss<T> ce, Tensor x, Tensor t)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        long[] shape = Sizes(x);
        int columns = (int)shape[1];
        using Tensor xr = x.movedim([1], [-1]).contiguous(), tr = t.movedim([1], [-1]).contiguous();
        int rows = columns == 0 ? 0 : (int)(xr.numel() / columns);
        Span<T> values = call.NewValues<T>([shape[0], .. shape[2..]]);
        if (call.Gradients is null)
        {
            return ce.Forward(Span<T>(xr, "input"), Span<T>(tr, "target"), rows, columns, values);
        }

        using Tensor gr = global::TorchSharp.torch.empty_like(xr);
        T value = ce.ForwardBackward(Span<T>(xr, "input"), Span<T>(tr, "target"), rows, columns, Span<T>(gr, "gradient"), values);
        using Tensor back = gr.movedim([-1], [1]);
        call.Gradients[0].copy_(back);
        return value;
    }
}
