using LossKit.Registry;
using TorchSharp;
using static TorchSharp.torch;
using TorchReduction = TorchSharp.torch.nn.Reduction;

namespace LossKit.TorchSharp;

/// <summary>
/// LossKit's losses with the names TorchSharp users know: <c>losskit.functional</c> mirrors
/// <c>torch.nn.functional</c>, <c>losskit.ops</c> mirrors <c>torchvision.ops</c>, <c>losskit.nn</c> the loss modules
/// of <c>torch.nn</c> (factory methods, as TorchSharp's), and <c>losskit.criteria</c> the detector criteria with
/// per-image ground truths. Names, argument order and defaults follow PyTorch/torchvision where an equivalent exists;
/// <see cref="TorchNames"/> lists the facade of every registry entry (a test keeps it complete). Every form is a thin
/// call of <see cref="apply(string, Tensor[])"/>'s engine: one fused ForwardBackward per step, the gradient handed to
/// autograd.
/// </summary>
public static partial class losskit
{
    /// <summary>Runs a loss spec (<see cref="LossRegistry.Parse"/>: <c>"smooth_l1 beta=0.5"</c>) on tensors in the layout's order.</summary>
    public static Tensor apply(string spec, params Tensor[] inputs) => LossBridge.Apply(new LossInstances(LossRegistry.Parse(spec)), inputs, null, null);

    /// <summary>Runs an entry with its arguments on tensors in the layout's order, with an optional per-call weight and avg_factor.</summary>
    public static Tensor apply(LossArguments arguments, IReadOnlyList<Tensor> inputs, Tensor? weight = null, double? avg_factor = null) =>
        LossBridge.Apply(new LossInstances(arguments), inputs, weight, avg_factor);

    /// <summary>
    /// Why the last LossKit backward failed or was guarded. A failed backward cannot throw through libtorch's engine: it
    /// returns NaN gradients and writes its message here and to stderr. A backward under create_graph=true notes here that
    /// differentiating its gradient (double backward) raises libtorch's "the derivative for 'nextafter' is not
    /// implemented" from the caller's backward().
    /// </summary>
    public static string? last_backward_error => LossBridge.LastBackwardError;

    /// <summary>
    /// Bytes of gradient memory the bridge keeps for reuse: blocks whose tensors autograd and the caller have released,
    /// kept for the next step of the same size (at most 4 per size and 256 MiB in all). The 0-d losses of reduced calls
    /// come from the same pool.
    /// </summary>
    public static long pooled_gradient_bytes => GradientPool.IdleBytes;

    /// <summary>Frees the gradient memory kept for reuse (<see cref="pooled_gradient_bytes"/>), e.g. after training.</summary>
    public static void empty_gradient_pool() => GradientPool.Trim();

    internal static LossArguments Args(string id, (string Name, object? Value)[] parameters)
    {
        LossArguments args = LossRegistry.Get(id).Arguments();
        foreach ((string name, object? value) in parameters)
        {
            if (value is not null)
            {
                args.Set(name, value);
            }
        }

        return args;
    }

    internal static Tensor Run(string id, Tensor[] inputs, Tensor? weight, double? avgFactor, params (string Name, object? Value)[] parameters) =>
        LossBridge.Apply(new LossInstances(Args(id, parameters)), inputs, weight, avgFactor);

    internal static Loss Module(string id, params (string Name, object? Value)[] parameters) => new(Args(id, parameters));

    internal static Reduction R(TorchReduction r) => r switch
    {
        TorchReduction.None => Reduction.None,
        TorchReduction.Sum => Reduction.Sum,
        TorchReduction.Mean => Reduction.Mean,
        _ => throw new ArgumentOutOfRangeException("reduction", r, $"reduction must be None, Mean or Sum, got {r}"),
    };

    internal static Reduction KL(TorchReduction r, bool batchmean) => batchmean
        ? (r == TorchReduction.Mean ? Reduction.BatchMean : throw new ArgumentException($"batchmean needs reduction Mean, got {r}", nameof(batchmean)))
        : R(r);

    /// <summary>A vector parameter from a 1-d tensor (class weights, pos_weight), or null.</summary>
    internal static double[]? V(Tensor? t, string name)
    {
        if (t is null)
        {
            return null;
        }

        TensorArgs.CheckCpu(t, name);
        if (t.requires_grad && torch.is_grad_enabled())
        {
            throw new ArgumentException($"{name} requires grad, but LossKit gives no gradient for it (nor does torch); pass {name}.detach()", name);
        }

        if (t.dim() != 1)
        {
            throw new ArgumentException($"{name} must be a 1-d tensor, got shape {TensorArgs.Shape(t)}", name);
        }

        using Tensor d = t.detach().to_type(ScalarType.Float64).contiguous();
        return TensorArgs.Span<double>(d, name).ToArray();
    }

    /// <summary>Losses with the names and argument order of <c>torch.nn.functional</c> (and LossKit's own where torch has none).</summary>
    public static class functional
    {
        /// <summary><c>F.cross_entropy</c>: class indices (int64/int32) or probabilities; [batch, classes] or [N, C, d1, …].</summary>
        public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, TorchReduction reduction = TorchReduction.Mean,
            double label_smoothing = 0.0) =>
            Run("cross_entropy", [input, target], null, null, ("weight", V(weight, nameof(weight))), ("ignore_index", ignore_index), ("reduction", R(reduction)),
                ("label_smoothing", label_smoothing));

        /// <summary><c>F.nll_loss</c> on log-probabilities.</summary>
        public static Tensor nll_loss(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, TorchReduction reduction = TorchReduction.Mean) =>
            Run("nll", [input, target], null, null, ("weight", V(weight, nameof(weight))), ("ignore_index", ignore_index), ("reduction", R(reduction)));

        /// <summary><c>F.binary_cross_entropy</c> on probabilities; <paramref name="weight"/> per element.</summary>
        public static Tensor binary_cross_entropy(Tensor input, Tensor target, Tensor? weight = null, TorchReduction reduction = TorchReduction.Mean) =>
            Run("bce", [input, target], weight, null, ("reduction", R(reduction)));

        /// <summary><c>F.binary_cross_entropy_with_logits</c>; <paramref name="weight"/> per element, <paramref name="pos_weight"/> per class (last dimension).</summary>
        public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight = null, TorchReduction reduction = TorchReduction.Mean,
            Tensor? pos_weight = null) =>
            Run("bce_with_logits", [input, target], weight, null, ("reduction", R(reduction)), ("pos_weight", V(pos_weight, nameof(pos_weight))));

        /// <summary>
        /// <c>F.kl_div</c> (PyTorch's default log_target = false; TorchSharp's own defaults to true). <paramref name="batchmean"/>
        /// is PyTorch's reduction='batchmean', which TorchSharp's Reduction cannot name.
        /// </summary>
        public static Tensor kl_div(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean, bool log_target = false, bool batchmean = false) =>
            Run("kl_div", [input, target], null, null, ("reduction", KL(reduction, batchmean)), ("log_target", log_target));

        /// <summary><c>F.hinge_embedding_loss</c> (targets ±1).</summary>
        public static Tensor hinge_embedding_loss(Tensor input, Tensor target, double margin = 1.0, TorchReduction reduction = TorchReduction.Mean) =>
            Run("hinge_embedding", [input, target], null, null, ("margin", margin), ("reduction", R(reduction)));

        /// <summary><c>F.multi_margin_loss</c>.</summary>
        public static Tensor multi_margin_loss(Tensor input, Tensor target, int p = 1, double margin = 1.0, Tensor? weight = null, TorchReduction reduction = TorchReduction.Mean) =>
            Run("multi_margin", [input, target], null, null, ("p", p), ("margin", margin), ("weight", V(weight, nameof(weight))), ("reduction", R(reduction)));

        /// <summary><c>F.soft_margin_loss</c> (targets ±1).</summary>
        public static Tensor soft_margin_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean) =>
            Run("soft_margin", [input, target], null, null, ("reduction", R(reduction)));

        /// <summary><c>F.l1_loss</c>.</summary>
        public static Tensor l1_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean) =>
            Run("l1", [input, target], null, null, ("reduction", R(reduction)));

        /// <summary><c>F.mse_loss</c>.</summary>
        public static Tensor mse_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean) =>
            Run("mse", [input, target], null, null, ("reduction", R(reduction)));

        /// <summary><c>F.smooth_l1_loss</c>.</summary>
        public static Tensor smooth_l1_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean, double beta = 1.0) =>
            Run("smooth_l1", [input, target], null, null, ("reduction", R(reduction)), ("beta", beta));

        /// <summary><c>F.huber_loss</c>.</summary>
        public static Tensor huber_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean, double delta = 1.0) =>
            Run("huber", [input, target], null, null, ("reduction", R(reduction)), ("delta", delta));

        /// <summary>
        /// <c>F.cosine_embedding_loss</c> (targets ±1, int or float): inputs [batch, dim] with target [batch], or torch's
        /// unbatched form, inputs [dim] with a 0-d target (a 0-d value with Reduction.None).
        /// </summary>
        public static Tensor cosine_embedding_loss(Tensor input1, Tensor input2, Tensor target, double margin = 0.0, TorchReduction reduction = TorchReduction.Mean)
        {
            ArgumentNullException.ThrowIfNull(input1);
            ArgumentNullException.ThrowIfNull(input2);
            ArgumentNullException.ThrowIfNull(target);
            if (input1.dim() == 1 && input2.dim() == 1 && target.dim() == 0)
            {
                // One pair as a batch of one (views; the node keeps them for its backward, so they are not disposed here).
                Tensor v = cosine_embedding_loss(input1.unsqueeze(0), input2.unsqueeze(0), target.unsqueeze(0), margin, reduction);
                return reduction == TorchReduction.None ? v.squeeze(0) : v;
            }

            return Run("cosine_embedding", [input1, input2, target], null, null, ("margin", margin), ("reduction", R(reduction)));
        }

        /// <summary>Hinge loss max(0, 1 − y·f), y = ±1 (no torch function: <c>clamp(1 − y·f, min=0)</c>).</summary>
        public static Tensor hinge_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean, Tensor? weight = null, double? avg_factor = null) =>
            Run("hinge", [input, target], weight, avg_factor, ("reduction", R(reduction)));

        /// <summary>Squared hinge loss max(0, 1 − y·f)².</summary>
        public static Tensor squared_hinge_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean, Tensor? weight = null, double? avg_factor = null) =>
            Run("squared_hinge", [input, target], weight, avg_factor, ("reduction", R(reduction)));

        /// <summary>Exponential (AdaBoost) loss e^(−y·f).</summary>
        public static Tensor exponential_loss(Tensor input, Tensor target, TorchReduction reduction = TorchReduction.Mean, Tensor? weight = null, double? avg_factor = null) =>
            Run("exponential", [input, target], weight, avg_factor, ("reduction", R(reduction)));

        /// <summary>mmdetection's BalancedL1Loss (Libra R-CNN).</summary>
        public static Tensor balanced_l1_loss(Tensor input, Tensor target, double alpha = 0.5, double gamma = 1.5, double beta = 1.0,
            TorchReduction reduction = TorchReduction.Mean, Tensor? weight = null, double? avg_factor = null) =>
            Run("balanced_l1", [input, target], weight, avg_factor, ("alpha", alpha), ("gamma", gamma), ("beta", beta), ("reduction", R(reduction)));

        /// <summary>
        /// Combined angular margin (insightface) on cosines [batch, classes] with class-index targets. <paramref name="fallback"/>:
        /// "threshold" (the default; m1 = 1 only), "threshold_inclusive", "easy_margin", "monotonic" or "none"; <paramref name="gradient"/>:
        /// "exact" or "insight_face" (the registry's choices).
        /// </summary>
        public static Tensor angular_margin_loss(Tensor cosine, Tensor target, double scale = 64, double m1 = 1, double m2 = 0.5, double m3 = 0,
            TorchReduction reduction = TorchReduction.Mean, string fallback = "threshold", string gradient = "exact") =>
            Run("angular_margin", [cosine, target], null, null, ("scale", scale), ("m1", m1), ("m2", m2), ("m3", m3), ("reduction", R(reduction)),
                ("fallback", fallback), ("gradient", gradient));

        /// <summary>ArcFace on cosines [batch, classes] (margin in radians).</summary>
        public static Tensor arcface_loss(Tensor cosine, Tensor target, double scale = 64, double margin = 0.5, bool easy_margin = false,
            TorchReduction reduction = TorchReduction.Mean) =>
            Run("arcface", [cosine, target], null, null, ("scale", scale), ("margin", margin), ("easy_margin", easy_margin), ("reduction", R(reduction)));

        /// <summary>CosFace on cosines [batch, classes].</summary>
        public static Tensor cosface_loss(Tensor cosine, Tensor target, double scale = 64, double margin = 0.35, TorchReduction reduction = TorchReduction.Mean) =>
            Run("cosface", [cosine, target], null, null, ("scale", scale), ("margin", margin), ("reduction", R(reduction)));

        /// <summary>SphereFace on cosines [batch, classes].</summary>
        public static Tensor sphereface_loss(Tensor cosine, Tensor target, double scale = 64, double margin = 4, TorchReduction reduction = TorchReduction.Mean) =>
            Run("sphereface", [cosine, target], null, null, ("scale", scale), ("margin", margin), ("reduction", R(reduction)));

        /// <summary>The cosine head: <c>F.linear(F.normalize(input), F.normalize(weight))</c> → [batch, classes].</summary>
        public static Tensor cosine_head(Tensor input, Tensor weight, double eps = 1e-12) => Run("cosine_head", [input, weight], null, null, ("eps", eps));

        /// <summary>Center loss (Wen et al.): features [batch, dim], class indices [batch], centers [classes, dim].</summary>
        public static Tensor center_loss(Tensor input, Tensor target, Tensor centers, TorchReduction reduction = TorchReduction.Mean, string convention = "paper") =>
            Run("center", [input, target, centers], null, null, ("reduction", R(reduction)), ("convention", convention));
    }
}
