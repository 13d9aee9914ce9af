using LossKit.Registry;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>
/// Any registry loss as a TorchSharp module: <c>new Loss("smooth_l1 beta=0.5")</c> (a <see cref="LossRegistry.Parse"/>
/// spec) or <c>new Loss(arguments)</c>. <c>forward(input, target)</c> serves the two-tensor layouts; the other layouts
/// take their tensors in the layout's order through <see cref="forward(IReadOnlyList{Tensor}, Tensor?, double?)"/>, and
/// the detector criteria take per-image ground truths through <see cref="forward_images"/>. The loss objects are built
/// once per element type and shared: a module may be called from several threads, as the core's losses may.
/// </summary>
public sealed class Loss : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LossInstances _losses;

    // Whether the loss samples (a "seed" parameter, faster_rcnn_rpn), and the calls so far: see ForCall.
    private readonly bool _samples;
    private int _calls;

    // Whether the module has a weight (torch.nn.BCELoss(weight)), registered as the buffer "weight" so that .to(dtype)
    // converts it as torch's does; calls that pass no weight use it.
    private bool _hasWeight;

    /// <summary>The module for a loss spec: an id and <c>name=value</c> pairs (<see cref="LossRegistry.Parse"/>).</summary>
    /// <exception cref="ArgumentException">Unknown id or parameter, or a value out of range.</exception>
    public Loss(string spec)
        : this(LossRegistry.Parse(spec))
    {
    }

    /// <summary>The module for an entry's arguments (vectors such as class weights are set on <paramref name="arguments"/>).</summary>
    /// <exception cref="ArgumentException">A value out of range (the loss constructor's check, made here once).</exception>
    public Loss(LossArguments arguments)
        : base(arguments?.Entry.Id ?? throw new ArgumentNullException(nameof(arguments)))
    {
        _losses = new LossInstances(arguments);
        _losses.Get<double>();
        _samples = arguments.Entry.Parameter("seed") is not null;
    }

    /// <summary>The registry entry.</summary>
    public LossEntry Entry => _losses.Arguments.Entry;

    /// <summary>The parameter values.</summary>
    public LossArguments Arguments => _losses.Arguments;

    /// <summary>The module's weight buffer (set by the constructors that take one, converted by <c>.to(dtype)</c>), or null.</summary>
    private Tensor? ModuleWeight => _hasWeight ? get_buffer("weight") : null;

    /// <summary>The loss of a two-tensor layout (input, target).</summary>
    public override Tensor forward(Tensor input, Tensor target) => LossBridge.Apply(ForCall(), [input, target], ModuleWeight, null);

    /// <summary>
    /// The loss with a per-call <paramref name="weight"/> (the module's own when null) and/or mmdetection's
    /// <paramref name="avg_factor"/>.
    /// </summary>
    public Tensor forward(Tensor input, Tensor target, Tensor? weight, double? avg_factor = null) =>
        LossBridge.Apply(ForCall(), [input, target], weight ?? ModuleWeight, avg_factor);

    /// <summary>The loss of any layout: <paramref name="inputs"/> in the order of <c>Entry.Layout.Inputs</c>.</summary>
    public Tensor forward(IReadOnlyList<Tensor> inputs, Tensor? weight = null, double? avg_factor = null) =>
        LossBridge.Apply(ForCall(), inputs, weight ?? ModuleWeight, avg_factor);

    /// <summary>
    /// The loss objects of this call: the module's own, or, for a loss that samples (faster_rcnn_rpn's anchors), a copy
    /// whose seed is the module's seed plus the number of calls before this one. torchvision's RPN draws a new sample
    /// from torch's generator every iteration; a module with one fixed seed would pick the same anchors of an image in
    /// every epoch. The sequence is reproducible: the same construction seed and call count give the same samples.
    /// </summary>
    private LossInstances ForCall()
    {
        if (!_samples)
        {
            return _losses;
        }

        long seed = (_losses.Arguments.Int("seed") + (long)(Interlocked.Increment(ref _calls) - 1)) % (int.MaxValue - 1);
        return new LossInstances(_losses.Arguments.With("seed", (int)seed));
    }

    /// <summary>Sets the module's weight: a buffer (a detached reference), checked against each call's input then.</summary>
    internal Loss WithWeight(Tensor? weight)
    {
        if (weight is not null)
        {
            TensorArgs.CheckCpu(weight, nameof(weight));
            if (weight.requires_grad && torch.is_grad_enabled())
            {
                throw new ArgumentException("weight requires grad, but LossKit gives no gradient for it (nor does torch); pass weight.detach()", nameof(weight));
            }

            register_buffer("weight", weight.detach());
            _hasWeight = true;
        }

        return this;
    }

    /// <summary>
    /// A criterion with per-image tensors: <paramref name="batched"/> are the layout's leading inputs (head outputs,
    /// anchors); each list in <paramref name="perImage"/> holds one tensor per image for the next input (gt_boxes,
    /// gt_labels, or Fast R-CNN's labels and regression_targets), concatenated here; <c>gt_counts</c>, where the layout
    /// has it, comes from the first list's row counts.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong counts of tensors or images.</exception>
    public Tensor forward_images(IReadOnlyList<Tensor> batched, params IReadOnlyList<Tensor>[] perImage) =>
        LossBridge.Apply(ForCall(), PerImage.Concatenate(Entry, batched, perImage), null, null);
}
