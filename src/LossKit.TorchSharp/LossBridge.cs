using System.Numerics;
using LossKit.Layouts;
using LossKit.Registry;
using LossKit.TorchSharp.Bindings;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>
/// The engine behind the functional forms and the modules: checks the tensors against the entry's layout, picks the
/// element type from the dtype (float32 → <c>float</c>, float64 → <c>double</c>, float16 → <c>Half</c>), and runs the
/// loss through its layout's binding: forward only when no gradient is wanted (<c>requires_grad</c> false everywhere, or
/// inside <c>no_grad</c>), else one fused ForwardBackward inside a custom autograd node that keeps the gradients for
/// backward.
/// </summary>
internal static class LossBridge
{
    private static readonly TorchBinding Fallback = new BoundBinding();

    private static readonly Dictionary<Type, TorchBinding> Bindings = new()
    {
        [typeof(ElementwiseLayout)] = new ElementwiseBinding(),
        [typeof(ClassIndexLayout)] = new ClassIndexBinding(),
        [typeof(BoxLayout)] = new BoxBinding(),
        [typeof(ScoredRowsLayout)] = new ScoredRowsBinding(),
        [typeof(BinsLayout)] = new BinsBinding(),
        [typeof(FeaturesCentersLayout)] = new FeaturesCentersBinding(),
        [typeof(CosineHeadLayout)] = new CosineHeadBinding(),
    };

    /// <summary>The binding that runs <paramref name="layout"/>'s losses (the bound fallback for layouts without their own).</summary>
    public static TorchBinding For(LossLayout layout) => Bindings.TryGetValue(layout.GetType(), out TorchBinding? b) ? b : Fallback;

    /// <summary>Whether <paramref name="layout"/> runs through the copying fallback.</summary>
    public static bool IsFallback(LossLayout layout) => For(layout) == Fallback;

    /// <summary>Runs the entry of <paramref name="losses"/> on <paramref name="inputs"/> (the layout's order).</summary>
    public static Tensor Apply(LossInstances losses, IReadOnlyList<Tensor> inputs, Tensor? weight, double? avgFactor)
    {
        PendingCall.ReleaseHandedOver();
        ArgumentNullException.ThrowIfNull(inputs);
        LossArguments args = losses.Arguments;
        IReadOnlyList<LayoutInput> specs = args.Entry.Layout.Inputs;
        if (inputs.Count != specs.Count)
        {
            throw new ArgumentException(
                $"loss '{args.Entry.Id}' takes {specs.Count} tensors ({string.Join(", ", specs.Select(s => s.Name))}), got {inputs.Count}", nameof(inputs));
        }

        // The element type comes from the first differentiable input; every other float input must match it.
        int first = -1;
        for (int i = 0; i < specs.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(inputs[i], specs[i].Name);
            TensorArgs.CheckCpu(inputs[i], specs[i].Name);
            if (first < 0 && specs[i].Differentiable)
            {
                first = i;
            }
        }

        ScalarType dtype = inputs[first].dtype;
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16))
        {
            throw new ArgumentException($"{specs[first].Name} must be float32, float64 or float16, got dtype {TensorArgs.DType(dtype)}", specs[first].Name);
        }

        if (!avgFactor.HasValue && args.IsSet("avg_factor"))
        {
            // avg_factor written in a spec ("iou reduction=mean avg_factor=2") applies to every call that passes none.
            avgFactor = args.OptionalDouble("avg_factor");
        }

        bool wantGrad = torch.is_grad_enabled();
        bool anyGrad = false;
        int differentiableTarget = -1;
        var contiguous = new Tensor[specs.Count];
        for (int i = 0; i < specs.Count; i++)
        {
            Tensor x = inputs[i];
            if (specs[i].Indices && !TensorArgs.IsIndexType(x.dtype) && (x.dtype == ScalarType.Bool || args.Entry.Layout is not ClassIndexLayout))
            {
                // Class indices (labels, gt_counts) as floats or bools: torch refuses them too. (The class-index layout
                // also takes cross-entropy's probability targets; its binding decides.)
                throw new ArgumentException($"{specs[i].Name} must hold class indices (int64 or int32), got dtype {TensorArgs.DType(x.dtype)}", specs[i].Name);
            }

            if (!specs[i].Indices && (TensorArgs.IsIndexType(x.dtype) || x.dtype == ScalarType.Bool))
            {
                // An integer or bool tensor where the layout takes floats (±1 labels, 0/1 targets): torch promotes it to
                // the input's dtype, and so does this, with one copy. Its bits are never read as floats.
                x = x.to_type(dtype);
            }

            if (!TensorArgs.IsIndexType(x.dtype) && x.dtype != dtype)
            {
                throw new ArgumentException(
                    $"{specs[i].Name} has dtype {TensorArgs.DType(x.dtype)} but {specs[first].Name} has {TensorArgs.DType(dtype)} (loss '{args.Entry.Id}' needs one float dtype)", specs[i].Name);
            }

            if (x.requires_grad && wantGrad)
            {
                if (!specs[i].Differentiable)
                {
                    if (specs[i].Name != "target" || !TargetGradients.Supports(args.Entry, x))
                    {
                        throw new ArgumentException(
                            $"{specs[i].Name} requires grad, but LossKit's '{args.Entry.Id}' gives no gradient for it; pass {specs[i].Name}.detach() " +
                            $"(targets take a gradient in: {TargetGradients.Supported})", specs[i].Name);
                    }

                    differentiableTarget = i;
                }

                anyGrad = true;
            }

            contiguous[i] = TensorArgs.Contiguous(x);
        }

        Tensor? w = null;
        if (weight is not null)
        {
            if (args.Entry.Parameter("weight") is not { Role: ParameterRole.Call })
            {
                throw new ArgumentException(args.Entry.Parameter("weight") is not null
                    ? $"loss '{args.Entry.Id}' takes no per-call weight: its 'weight' ({args.Entry.Parameter("weight")!.Doc}) is set with the loss's arguments, as torch sets it with the module"
                    : $"loss '{args.Entry.Id}' takes no per-call weight (its parameters: {args.Entry.KnownParameters})", nameof(weight));
            }

            TensorArgs.CheckCpu(weight, nameof(weight));
            if (weight.requires_grad && wantGrad)
            {
                throw new ArgumentException("weight requires grad, but LossKit gives no gradient for it; pass weight.detach()", nameof(weight));
            }

            // A weight of another dtype (a float32 module weight with float64 inputs, integer weights) is converted, as
            // torch promotes it: one copy.
            w = TensorArgs.Contiguous(weight.dtype == dtype ? weight : weight.to_type(dtype));
        }

        if (avgFactor.HasValue && args.Entry.Parameter("avg_factor") is null)
        {
            throw new ArgumentException($"loss '{args.Entry.Id}' takes no avg_factor (its parameters: {args.Entry.KnownParameters})", "avg_factor");
        }

        TorchBinding binding = For(args.Entry.Layout);
        try
        {
            return dtype switch
            {
                ScalarType.Float32 => Run<float>(losses, binding, contiguous, w, avgFactor, anyGrad, differentiableTarget),
                ScalarType.Float64 => Run<double>(losses, binding, contiguous, w, avgFactor, anyGrad, differentiableTarget),
                _ => Run<Half>(losses, binding, contiguous, w, avgFactor, anyGrad, differentiableTarget),
            };
        }
        catch (ArgumentException e) when (args.Entry.SchemaName(e.ParamName) is { } name)
        {
            // The core names its C# parameter (avgFactor, groundTruthBoxes); the caller knows avg_factor, gt_boxes.
            throw LossKit.Internal.ThrowHelper.Renamed(e, name);
        }
    }

    private static Tensor Run<T>(LossInstances losses, TorchBinding binding, Tensor[] inputs, Tensor? weight, double? avgFactor, bool grad, int target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!grad)
        {
            var plain = new TorchCall(losses.Arguments, losses.Get<T>(), inputs, weight, avgFactor);
            return Result(plain, binding.Run<T>(plain));
        }

        // The node reads its inputs (and weight) in backward: it keeps them under handles of its own, out of the caller's
        // DisposeScope, which may end before backward runs (a loss moved out of its scope).
        var kept = new List<Tensor>(inputs.Length + 3);
        var owned = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            owned[i] = PendingCall.Own(inputs[i], kept, newHandle: true);
        }

        Tensor? w = weight is null ? null : PendingCall.Own(weight, kept, newHandle: true);
        var call = new TorchCall(losses.Arguments, losses.Get<T>(), owned, w, avgFactor) { DifferentiableTarget = target };
        var pending = new PendingCall<T>(binding, call, kept);
        call.Keep = pending.Own;
        return Node(pending, call);
    }

    /// <summary>Runs <paramref name="pending"/> inside a new autograd node whose inputs are the call's differentiable tensors.</summary>
    internal static Tensor Node(PendingCall pending, TorchCall call)
    {
        IReadOnlyList<LayoutInput> specs = call.Arguments.Entry.Layout.Inputs;
        int count = 0;
        for (int i = 0; i < specs.Count; i++)
        {
            count += specs[i].Differentiable ? 1 : 0;
        }

        // A target that takes a gradient (TargetGradients) is the node's last input.
        var vars = new Tensor[count + (call.DifferentiableTarget >= 0 ? 1 : 0)];
        for (int i = 0, k = 0; i < specs.Count; i++)
        {
            if (specs[i].Differentiable)
            {
                vars[k++] = ForAutograd(call.Inputs[i]);
            }
        }

        if (call.DifferentiableTarget >= 0)
        {
            vars[count] = ForAutograd(call.Inputs[call.DifferentiableTarget]);
        }

        return NativeNode.Apply(pending, vars);
    }

    /// <summary>
    /// A leaf that requires grad enters the node through a view of itself. Autograd moves a gradient into an empty
    /// <c>.grad</c> without copying only when nothing else references that tensor, and the gradient LossKit returns is
    /// still referenced by its TorchSharp wrapper; the view's backward passes on a new tensor over the same storage, which
    /// nothing else references, so <c>.grad</c> takes LossKit's gradient as it is. Other inputs go in unchanged.
    /// </summary>
    private static Tensor ForAutograd(Tensor x) => x.requires_grad && x.is_leaf ? x.view(TensorArgs.Sizes(x)) : x;

    private static volatile string? s_lastBackwardError;

    /// <summary>The message of the last backward that LossKit refused or that failed (null when none has).</summary>
    public static string? LastBackwardError => s_lastBackwardError;

    /// <summary>Records a backward failure: kept for <see cref="LastBackwardError"/> and written to stderr.</summary>
    internal static void ReportBackwardError(string message)
    {
        s_lastBackwardError = message;
        Console.Error.WriteLine(message);
    }

    /// <summary>
    /// Records, without printing (create_graph alone is fine while nothing differentiates the gradient), why a second
    /// derivative through this entry's gradient will raise libtorch's "the derivative for 'nextafter' is not implemented".
    /// </summary>
    internal static void NoteDoubleBackwardGuard(string id) =>
        s_lastBackwardError =
            $"LossKit's '{id}' has no double backward: its gradient under create_graph=true comes from an analytic kernel, " +
            "so differentiating it raises libtorch's \"the derivative for 'nextafter' is not implemented\".";

    /// <summary>The tensor a call returns: the per-value tensor with Reduction.None (and heads), else a 0-d tensor.</summary>
    internal static Tensor Result<T>(TorchCall call, T value)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        call.Values ?? call.DType switch
        {
            ScalarType.Float32 => GradientPool.Scalar(float.CreateTruncating(value)),
            ScalarType.Float64 => GradientPool.Scalar(double.CreateTruncating(value)),
            _ => torch.tensor(double.CreateTruncating(value), call.DType),
        };
}
