using System.Numerics;
using LossKit.Layouts;
using LossKit.TorchSharp.Bindings;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>What the autograd node holds between forward and backward: the call, its binding and the saved gradients.</summary>
internal abstract class PendingCall
{
    // The gradient tensors this thread's backward calls have handed to autograd. Their TorchSharp references are dropped
    // at the thread's next bridge call, when libtorch holds its own (it takes them as the backward returns): the memory
    // then goes back to the pool as soon as autograd lets go of it, not when the garbage collector finalizes the wrappers.
    [ThreadStatic]
    private static List<Tensor>? t_handedOver;

    // The tensors of calls whose node libtorch has deleted (on whichever thread), disposed at the next bridge call.
    private static readonly System.Collections.Concurrent.ConcurrentQueue<List<Tensor>> Deleted = new();

    // The wrappers this call keeps for its backward (inputs, weight, gradients, per-value outputs), owned by the call
    // rather than by the caller's DisposeScope: a loss moved out of its scope (MoveToOuterDisposeScope) and backwarded
    // later must still find them. Released when libtorch deletes the node.
    private List<Tensor> _owned;

    protected PendingCall(List<Tensor> owned) => _owned = owned;

    /// <summary>
    /// Takes <paramref name="t"/> out of the caller's DisposeScope into <paramref name="owned"/>. With
    /// <paramref name="newHandle"/>, a new handle to the same tensor instead (for the caller's own tensors, which their
    /// scope may dispose): contiguous() of a contiguous tensor is the tensor itself (no copy, same autograd history).
    /// </summary>
    public static Tensor Own(Tensor t, List<Tensor> owned, bool newHandle)
    {
        Tensor mine = newHandle ? t.contiguous() : t;
        mine.DetachFromDisposeScope();
        owned.Add(mine);
        return mine;
    }

    /// <summary>Keeps <paramref name="t"/>, made by this call, until the node is deleted.</summary>
    public void Own(Tensor t)
    {
        lock (this)
        {
            Own(t, _owned, newHandle: false);
        }
    }

    /// <summary>The node was deleted: its tensors are disposed at the next bridge call (libtorch is mid-deletion now).</summary>
    public void ReleaseLater()
    {
        List<Tensor> owned;
        lock (this)
        {
            owned = _owned;
            _owned = [];
        }

        if (owned.Count > 0)
        {
            Deleted.Enqueue(owned);
        }
    }

    /// <summary>Drops this thread's references to the gradients it handed to autograd earlier, and deleted nodes' tensors.</summary>
    public static void ReleaseHandedOver()
    {
        while (Deleted.TryDequeue(out List<Tensor>? owned))
        {
            foreach (Tensor t in owned)
            {
                t.Dispose();
            }
        }

        List<Tensor>? list = t_handedOver;
        if (list is null || list.Count == 0)
        {
            return;
        }

        foreach (Tensor t in list)
        {
            t.Dispose();
        }

        list.Clear();
    }

    /// <summary>
    /// Records the tensors a backward returned (nulls skipped), to be released by <see cref="ReleaseHandedOver"/>: libtorch
    /// takes its own references only after the callback returns, so the wrappers must outlive it. The autograd node calls
    /// it with the whole result of <see cref="Backward"/>.
    /// </summary>
    internal static void HandOver(IEnumerable<Tensor?> returned)
    {
        List<Tensor> list = t_handedOver ??= [];
        foreach (Tensor? t in returned)
        {
            if (t is not null)
            {
                list.Add(t);
            }
        }
    }

    /// <summary>Whether <paramref name="output"/>, the tensor <see cref="Forward"/> returned, is also kept by the call.</summary>
    public abstract bool Keeps(Tensor output);

    /// <summary>The upstream gradient autograd leaves undefined when the output was not used: zeros of the output's shape.</summary>
    public abstract Tensor ZeroUpstream();

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
internal sealed class PendingCall<T>(TorchBinding binding, TorchCall call, List<Tensor> owned) : PendingCall(owned)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // Set once a backward has returned the saved gradient tensors themselves: autograd may then own their storage (a
    // leaf's .grad takes it without a copy, and the optimizer changes it in place), so a later backward of a retained
    // graph must not read them again.
    private bool _given;

    public override bool Keeps(Tensor output) => ReferenceEquals(output, call.Values);

    public override Tensor ZeroUpstream() => call.Values is { } v ? zeros_like(v) : zeros(Array.Empty<long>(), call.DType);

    public override Tensor Forward()
    {
        IReadOnlyList<LayoutInput> specs = call.Arguments.Entry.Layout.Inputs;
        var gradients = new List<Tensor>(2);
        for (int i = 0; i < specs.Count; i++)
        {
            if (specs[i].Differentiable)
            {
                gradients.Add(binding.DeferBackward ? zeros_like(call.Inputs[i]) : GradientPool.Empty(call.Inputs[i]));
            }
        }

        call.Gradients = [.. gradients];
        foreach (Tensor g in call.Gradients)
        {
            Own(g);
        }

        if (binding.DeferBackward)
        {
            // The gradients need the upstream: forward computes the values only.
            Tensor[] g = call.Gradients;
            call.Gradients = null;
            T deferred = binding.Run<T>(call);
            call.Gradients = g;
            return OwnValues(LossBridge.Result(call, deferred));
        }

        return OwnValues(LossBridge.Result(call, binding.Run<T>(call)));
    }

    /// <summary>Keeps the per-value tensor (Reduction.None), which backward reads, as the call's own.</summary>
    private Tensor OwnValues(Tensor output)
    {
        if (call.Values is { } v)
        {
            Own(v);
        }

        return output;
    }

    public override List<Tensor> Backward(Tensor upstream)
    {
        ReleaseHandedOver();
        // backward runs inside libtorch's engine, called from native code: with TorchSharp 0.107 an exception here, or a
        // C++ error the engine raises about what we return (a wrong shape), ends the process. So nothing is thrown: a
        // failure gives NaN gradients of the right shapes, its message goes to stderr and to losskit.last_backward_error.
        // Errors raised by libtorch's own nodes are different: the engine passes them to the caller's backward().
        try
        {
            List<Tensor> result = BackwardCore(upstream);
            if (call.DifferentiableTarget >= 0)
            {
                result.Add(TargetGradients.Compute(call, result[1], upstream));
            }

            if (torch.is_grad_enabled())
            {
                // create_graph = true: LossKit's gradients are constants to autograd, so a second derivative through them
                // would be silently zero. Each gradient becomes nextafter(w, w), which is w exactly and whose derivative
                // libtorch does not implement, with w = where(false, input, gradient) tying it to the input. Differentiating
                // it makes libtorch's engine (native code, not this callback) raise "the derivative for 'nextafter' is not
                // implemented", which reaches the caller's backward() as an exception.
                LossBridge.NoteDoubleBackwardGuard(call.Arguments.Entry.Id);
                using Tensor never = torch.tensor(false);
                for (int i = 1; i < result.Count; i++)
                {
                    Tensor gradient = result[i];
                    using Tensor tied = torch.where(never, DifferentiableInput(i - 1), gradient);
                    result[i] = tied.nextafter(tied);
                    HandOver([gradient]); // the node hands over what is returned; this one is not
                }
            }

            return result;
        }
        catch (Exception e)
        {
            LossBridge.ReportBackwardError($"LossKit's '{call.Arguments.Entry.Id}' backward failed, gradients set to NaN: {e.GetType().Name}: {e.Message}");
            var result = new List<Tensor> { null! };
            for (int i = 0; i < call.Gradients!.Length + (call.DifferentiableTarget >= 0 ? 1 : 0); i++)
            {
                result.Add(full_like(DifferentiableInput(i), double.NaN));
            }

            return result;
        }
    }

    /// <summary>The node's input <paramref name="k"/>: the layout's differentiable inputs, then a target that takes a gradient.</summary>
    private Tensor DifferentiableInput(int k)
    {
        if (k == call.Gradients!.Length && call.DifferentiableTarget >= 0)
        {
            return call.Inputs[call.DifferentiableTarget];
        }

        IReadOnlyList<LayoutInput> specs = call.Arguments.Entry.Layout.Inputs;
        for (int i = 0, seen = 0; i < specs.Count; i++)
        {
            if (specs[i].Differentiable && seen++ == k)
            {
                return call.Inputs[i];
            }
        }

        throw new InvalidOperationException("no such differentiable input");
    }

    private List<Tensor> BackwardCore(Tensor upstream)
    {
        var result = new List<Tensor>(call.Gradients!.Length + 1) { null! };
        bool perValue = call.Values is not null && upstream.dim() > 0;
        if (!perValue)
        {
            T up = upstream.item<T>();
            bool one = up == T.One;
            Tensor[] g = Fresh();
            foreach (Tensor x in g)
            {
                result.Add(one ? x : x.mul(double.CreateTruncating(up)));
            }

            if (one)
            {
                Give();
            }

            return result;
        }

        Tensor u = TensorArgs.Contiguous(upstream);
        if (binding.DeferBackward || binding.Broadcast(u, 0, call) is null)
        {
            Tensor[] g = call.Gradients!;
            if (_given)
            {
                for (int i = 0; i < g.Length; i++)
                {
                    g[i] = zeros_like(DifferentiableInput(i));
                    Own(g[i]);
                }
            }

            binding.Backward<T>(call, u);
            result.AddRange(g);
            Give();
            return result;
        }

        Tensor[] h = Fresh();
        for (int i = 0; i < h.Length; i++)
        {
            result.Add(h[i].mul(binding.Broadcast(u, i, call)!));
        }

        return result;
    }

    /// <summary>
    /// The saved gradients go to autograd as they are: they are its now (the node hands this thread's references over with
    /// the rest of the result), so a later backward through a retained graph must not read them.
    /// </summary>
    private void Give() => _given = true;

    /// <summary>
    /// The gradients for upstream 1: those forward computed, or, once they have been given to autograd (a second backward
    /// through a retained graph), the fused call again into new tensors, with the inputs as they are now.
    /// </summary>
    private Tensor[] Fresh()
    {
        Tensor[] g = call.Gradients!;
        if (!_given)
        {
            return g;
        }

        for (int i = 0; i < g.Length; i++)
        {
            g[i] = GradientPool.Empty(DifferentiableInput(i));
            Own(g[i]);
        }

        Tensor? values = call.Values;
        binding.Run<T>(call);
        call.Values = values;
        _given = false;
        return g;
    }
}

/// <summary>
/// The same node through TorchSharp's custom autograd function, for a TorchSharp whose native library lacks the entry
/// points <see cref="NativeNode"/> uses: vars[0] is the <see cref="PendingCall"/>, then the differentiable inputs.
/// </summary>
internal sealed class LossKitFunction : autograd.SingleTensorFunction<LossKitFunction>
{
    public override string Name => "LossKitBackward";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var call = (PendingCall)vars[0];
        ctx.save_data("call", call);
        return call.Forward();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        List<Tensor> result = ((PendingCall)ctx.get_data("call")).Backward(grad_output);
        PendingCall.HandOver(result);
        return result;
    }
}
