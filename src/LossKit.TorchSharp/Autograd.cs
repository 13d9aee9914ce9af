using System.Numerics;
using LossKit.Layouts;
using LossKit.TorchSharp.Bindings;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>What the autograd node holds between forward and backward: the call, its binding and the saved gradients.</summary>
internal abstract class PendingCall
{
    /// <summary>Runs the loss (fused: the gradients are kept) and returns the output tensor.</summary>
    public abstract Tensor Forward();

    /// <summary>The gradients for the node's inputs given the upstream gradient (null first: the call object itself).</summary>
    public abstract List<Tensor> Backward(Tensor upstream);
}

/// <summary>
/// One fused call: <see cref="Forward"/> allocates a gradient tensor per differentiable input and runs ForwardBackward
/// once (upstream 1); <see cref="Backward"/> hands those gradients to autograd as they are when the upstream is the
/// scalar 1 (what <c>loss.backward()</c> sends), scales them by a scalar upstream otherwise, and multiplies them by a
/// per-value upstream (Reduction.None) broadcast over each value's slice. Layouts whose gradient needs the whole upstream
/// (the cosine head, the centers of center loss) run the core's per-value Backward instead.
/// </summary>
internal sealed class PendingCall<T>(TorchBinding binding, TorchCall call) : PendingCall
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private bool _backwardRan;

    public override Tensor Forward()
    {
        IReadOnlyList<LayoutInput> specs = call.Arguments.Entry.Layout.Inputs;
        var gradients = new List<Tensor>(2);
        for (int i = 0; i < specs.Count; i++)
        {
            if (specs[i].Differentiable)
            {
                gradients.Add(binding.DeferBackward ? zeros_like(call.Inputs[i]) : empty_like(call.Inputs[i]));
            }
        }

        call.Gradients = [.. gradients];
        if (binding.DeferBackward)
        {
            // The gradients need the upstream: forward computes the values only.
            Tensor[] g = call.Gradients;
            call.Gradients = null;
            T deferred = binding.Run<T>(call);
            call.Gradients = g;
            return LossBridge.Result(call, deferred);
        }

        return LossBridge.Result(call, binding.Run<T>(call));
    }

    public override List<Tensor> Backward(Tensor upstream)
    {
        if (torch.is_grad_enabled())
        {
            // create_graph = true: the gradients LossKit returns are constants to autograd, so a second derivative through
            // them would be silently zero. Refuse instead (see the note in the README on double backward).
            throw new NotSupportedException(
                $"LossKit's '{call.Arguments.Entry.Id}' has no double backward: its gradient comes from an analytic kernel, not from differentiable torch ops. Call backward without create_graph.");
        }

        Tensor[] g = call.Gradients!;
        var result = new List<Tensor>(g.Length + 1) { null! };
        bool perValue = call.Values is not null && upstream.dim() > 0;
        if (!perValue)
        {
            T up = upstream.item<T>();
            bool one = up == T.One;
            foreach (Tensor x in g)
            {
                result.Add(one ? x : x.mul(double.CreateTruncating(up)));
            }

            return result;
        }

        Tensor u = TensorArgs.Contiguous(upstream);
        if (binding.DeferBackward || binding.Broadcast(u, 0, call) is null)
        {
            if (_backwardRan)
            {
                // A second backward (retain_graph): write into fresh tensors; the first call's gradients belong to autograd now.
                for (int i = 0; i < g.Length; i++)
                {
                    g[i] = zeros_like(g[i]);
                }
            }

            binding.Backward<T>(call, u);
            _backwardRan = true;
            result.AddRange(g);
            return result;
        }

        for (int i = 0; i < g.Length; i++)
        {
            result.Add(g[i].mul(binding.Broadcast(u, i, call)!));
        }

        return result;
    }
}

/// <summary>The custom autograd function: vars[0] is the <see cref="PendingCall"/>, then the differentiable inputs.</summary>
internal sealed class LossKitFunction : autograd.SingleTensorFunction<LossKitFunction>
{
    public override string Name => "LossKitBackward";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var call = (PendingCall)vars[0];
        ctx.save_data("call", call);
        return call.Forward();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) =>
        ((PendingCall)ctx.get_data("call")).Backward(grad_output);
}
