using System.Numerics;
using LossKit.Layouts;
using LossKit.Registry;
using static TorchSharp.torch;

namespace LossKit.TorchSharp.Bindings;

/// <summary>
/// One call of a registry loss on torch tensors: the checked, contiguous CPU inputs in the layout's order, the per-call
/// arguments, and the outputs the binding fills (the per-value tensor with Reduction.None, the gradient tensors).
/// </summary>
internal sealed class TorchCall
{
    public TorchCall(LossArguments arguments, object loss, Tensor[] inputs, Tensor? weight, double? avgFactor)
    {
        Arguments = arguments;
        Loss = loss;
        Inputs = inputs;
        Weight = weight;
        AvgFactor = avgFactor;
    }

    /// <summary>The entry and its parameter values.</summary>
    public LossArguments Arguments { get; }

    /// <summary>The entry's loss for the call's element type (from its factory).</summary>
    public object Loss { get; }

    /// <summary>Inputs in the layout's order: contiguous, on the CPU, float inputs of one dtype.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>The per-call weight (the entry's <c>weight</c> call parameter), contiguous, or null.</summary>
    public Tensor? Weight { get; private set; }

    /// <summary>mmdetection's avg_factor, or null.</summary>
    public double? AvgFactor { get; }

    /// <summary>Keeps a tensor the call makes and its backward reads (the node's, out of the caller's scope), when a node runs it.</summary>
    public Action<Tensor>? Keep { get; set; }

    /// <summary>The index of a target input that requires grad and takes one (<see cref="TargetGradients"/>), else −1.</summary>
    public int DifferentiableTarget { get; init; } = -1;

    /// <summary>One gradient tensor per differentiable input (the layout's order), or null for a forward-only call.</summary>
    public Tensor[]? Gradients { get; set; }

    /// <summary>With Reduction.None (and for heads): the per-value results, set by the binding.</summary>
    public Tensor? Values { get; set; }

    /// <summary>The reduction, or null where the entry has none (criteria: a total; heads: per-value outputs).</summary>
    public Reduction? Reduction => Arguments.Entry.Parameter("reduction") is null ? null : Arguments.Reduction();

    /// <summary>The element type of the float inputs.</summary>
    public ScalarType DType => Inputs[0].dtype;

    /// <summary>A new per-value tensor of <paramref name="shape"/> (stored in <see cref="Values"/>), or an empty span unless None.</summary>
    public Span<T> NewValues<T>(long[] shape)
        where T : unmanaged
    {
        if (Reduction != LossKit.Reduction.None)
        {
            return default;
        }

        Values = empty(shape, DType);
        return TensorArgs.Span<T>(Values, "values");
    }

    /// <summary>The span of gradient <paramref name="i"/>, or empty in a forward-only call.</summary>
    public Span<T> Gradient<T>(int i)
        where T : unmanaged => Gradients is null ? default : TensorArgs.Span<T>(Gradients[i], "gradient");

    /// <summary>
    /// The per-call weight's span (empty when absent) after checking its shape against <paramref name="expected"/>. With
    /// <paramref name="broadcast"/>, a weight that broadcasts to <paramref name="expected"/> (PyTorch's rule: trailing
    /// dimensions equal or 1) is expanded into one contiguous copy, as torch's element-wise losses repeat it.
    /// </summary>
    public ReadOnlySpan<T> WeightSpan<T>(long[] expected, string of, bool broadcast = false)
        where T : unmanaged
    {
        if (Weight is null)
        {
            return default;
        }

        long[] sizes = TensorArgs.Sizes(Weight);
        if (!sizes.AsSpan().SequenceEqual(expected))
        {
            if (!broadcast || !Broadcasts(sizes, expected))
            {
                throw new ArgumentException(
                    $"weight must have shape [{string.Join(", ", expected)}] ({of}{(broadcast ? ", or a shape that broadcasts to it" : "")}), got {TensorArgs.Shape(Weight)}", "weight");
            }

            using Tensor expanded = Weight.expand(expected);
            Weight = expanded.contiguous();
            Keep?.Invoke(Weight);
        }

        return TensorArgs.Span<T>(Weight, "weight");
    }

    private static bool Broadcasts(long[] from, long[] to)
    {
        if (from.Length > to.Length)
        {
            return false;
        }

        for (int i = 1; i <= from.Length; i++)
        {
            if (from[^i] != 1 && from[^i] != to[^i])
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// How one layout's losses run on torch tensors: the typed LossKit entry point called on spans over torch's memory. The
/// bridge picks the binding by the entry's <see cref="LossLayout"/> type; layouts without their own binding run through
/// <see cref="BoundBinding"/> (the layout's <see cref="LossLayout.Bind{T}"/> on copies), so entries added later work.
/// </summary>
internal abstract class TorchBinding
{
    /// <summary>
    /// Runs the loss: Forward when <see cref="TorchCall.Gradients"/> is null, else the fused ForwardBackward writing the
    /// gradients (upstream 1). Returns the value (with Reduction.None the sum of the per-value losses, which are stored
    /// in <see cref="TorchCall.Values"/>).
    /// </summary>
    public abstract T Run<T>(TorchCall call)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Whether the gradients come only in backward (heads whose gradient needs the whole upstream).</summary>
    public virtual bool DeferBackward => false;

    /// <summary>
    /// With a per-value upstream (Reduction.None): the upstream shaped so that gradient <paramref name="i"/> × it
    /// broadcasts (each value depends on its own slice of the inputs), or null where the binding must run
    /// <see cref="Backward{T}"/> instead.
    /// </summary>
    public virtual Tensor? Broadcast(Tensor upstream, int i, TorchCall call) =>
        upstream.dim() == 0 || upstream.dim() == call.Gradients![i].dim() ? upstream : upstream.unsqueeze(1);

    /// <summary>Writes the gradients for a per-value upstream into <see cref="TorchCall.Gradients"/> (non-separable layouts).</summary>
    public virtual void Backward<T>(TorchCall call, Tensor upstream)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        throw new InvalidOperationException($"loss '{call.Arguments.Entry.Id}': per-value backward is not provided by {GetType().Name}");
}
