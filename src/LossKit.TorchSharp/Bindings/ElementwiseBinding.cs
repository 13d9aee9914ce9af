using LossKit.Classification;
using static LossKit.TorchSharp.TensorArgs;

namespace LossKit.TorchSharp.Bindings;

/// <summary>
/// The element-wise layout (input and target of one shape, optional per-element weight): <see cref="ElementwiseLoss{T}"/>
/// and, with the first dimension as the batch, <see cref="KLDivergenceLoss{T}"/>.
/// </summary>
internal sealed class ElementwiseBinding : TorchBinding
{
    public override T Run<T>(TorchCall call)
    {
        var (x, t) = (call.Inputs[0], call.Inputs[1]);
        SameShape(t, "target", x, "input");
        ReadOnlySpan<T> xs = Span<T>(x, "input"), ts = Span<T>(t, "target");
        Span<T> g = call.Gradient<T>(0);
        long[] shape = Sizes(x);
        Span<T> values = call.NewValues<T>(shape);
        if (call.Loss is KLDivergenceLoss<T> kl)
        {
            int batch = x.dim() == 0 ? 1 : (int)x.size(0);
            return call.Gradients is null ? kl.Forward(xs, ts, batch, values) : kl.ForwardBackward(xs, ts, batch, g, values);
        }

        if (call.Loss is BinaryCrossEntropyWithLogitsLoss<T> { PosWeight.Length: > 1 } bce)
        {
            // torch broadcasts pos_weight against the input's last dimension: one weight per class there (or one for all).
            long last = x.dim() == 0 ? 1 : x.size(-1);
            if (last != bce.PosWeight.Length)
            {
                throw new ArgumentException($"pos_weight has {bce.PosWeight.Length} entries but input {Shape(x)} has {last} classes in its last dimension", "pos_weight");
            }
        }

        var l = (ElementwiseLoss<T>)call.Loss;
        ReadOnlySpan<T> w = call.WeightSpan<T>(shape, "one per element of input", broadcast: true);
        return call.Gradients is null ? l.Forward(xs, ts, values, w, call.AvgFactor) : l.ForwardBackward(xs, ts, g, values, w, call.AvgFactor);
    }
}
