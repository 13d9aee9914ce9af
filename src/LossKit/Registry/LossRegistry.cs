using System.Numerics;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Layouts;
using LossKit.MetricLearning;
using LossKit.Regression;
using static LossKit.Registry.LossParameter;

namespace LossKit.Registry;

/// <summary>
/// Every loss LossKit provides, as typed entries: id, family, layout, parameter schema, formula, reference equivalent
/// and factory. Adding a loss means its source file, one entry here, its reference generator and its test class.
/// </summary>
public static partial class LossRegistry
{
    private static readonly ElementwiseLayout Elementwise = new();
    private static readonly ElementwiseLayout LogProbabilities = new("[batch, ...] log-probabilities");
    private static readonly ClassIndexLayout ClassIndex = new();
    private static readonly ClassIndexLayout ClassIndexOrProbabilities = new(targetShape: "[batch] class indices, or [batch, classes] probabilities");
    private static readonly ClassIndexLayout Cosines = new("[batch, classes] cosines");
    private static readonly BoxLayout Boxes = new();
    private static readonly ScoredRowsLayout ScoredRows = new();
    private static readonly BinsLayout Bins = new();
    private static readonly FeaturesCentersLayout FeaturesCenters = new();
    private static readonly CosineHeadLayout CosineHead = new();
    private static readonly PairLayout Pairs = new();

    /// <summary>The layouts the entries use, by name.</summary>
    public static IReadOnlyList<LossLayout> Layouts { get; } =
        [Elementwise, ClassIndex, Boxes, ScoredRows, Bins, FeaturesCenters, CosineHead, Pairs, .. CriteriaEntries.Layouts];

    /// <summary>All entries, grouped by family, in catalog order.</summary>
    public static IReadOnlyList<LossEntry> Entries { get; } = Build<double>();

    /// <summary>The entry with id <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentException">No such entry (the message lists the known ids).</exception>
    public static LossEntry Get(string id) => TryGet(id, out LossEntry? e)
        ? e
        : throw new ArgumentException($"unknown loss '{id}' (known: {string.Join(", ", Entries.Select(x => x.Id))})", nameof(id));

    /// <summary>Looks an entry up by id.</summary>
    public static bool TryGet(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LossEntry? entry)
    {
        entry = Entries.FirstOrDefault(e => e.Id == id);
        return entry is not null;
    }

    /// <summary>Creates entry <paramref name="id"/>'s loss with the given parameters (name, value pairs; defaults otherwise).</summary>
    public static object Create<T>(string id, params (string Name, object Value)[] parameters)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossEntry entry = Get(id);
        LossArguments args = entry.Arguments();
        foreach ((string name, object value) in parameters)
        {
            args.Set(name, value);
        }

        return entry.Create<T>(args);
    }

    /// <summary>
    /// Parses a loss spec: an id followed by <c>name=value</c> pairs separated by spaces, e.g.
    /// <c>"smooth_l1 beta=0.5 reduction=sum"</c> or <c>"iou mode=square convention=mmdetection"</c>. Values are read by
    /// the parameter's type (numbers in invariant culture, true/false, choice names); vectors are not accepted here.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown id or parameter, or a value that does not fit.</exception>
    public static LossArguments Parse(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        string[] parts = spec.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries); // any whitespace
        LossArguments args = Get(parts[0]).Arguments();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string part in parts.AsSpan(1))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"expected name=value in loss spec '{spec}', got '{part}'", nameof(spec));
            }

            string name = part[..eq], text = part[(eq + 1)..];
            LossParameter p = args.Entry.Parameter(name)
                ?? throw new ArgumentException($"unknown parameter '{name}' for loss '{args.Entry.Id}' (known: {args.Entry.KnownParameters})", nameof(spec));
            if (!seen.Add(name))
            {
                throw new ArgumentException($"parameter '{name}' is given twice in loss spec '{spec}'", nameof(spec));
            }

            var culture = System.Globalization.CultureInfo.InvariantCulture;
            object value = p.Type switch
            {
                // By name only ("1" or "mean,sum" would parse as an enum value or flags).
                ParameterType.Reduction => p.FindChoice(text) is { } choice
                    ? Enum.Parse<Reduction>(choice.Replace("_", "", StringComparison.Ordinal), ignoreCase: true)
                    : throw new ArgumentOutOfRangeException(name, text, $"{name} must be one of {string.Join(", ", p.Choices)}, got '{text}'."),
                ParameterType.Bool => bool.TryParse(text, out bool b) ? b : text,
                ParameterType.Int or ParameterType.Double => double.TryParse(text, System.Globalization.NumberStyles.Float, culture, out double d) ? d : text,
                ParameterType.Choice => text,
                _ => throw new ArgumentException($"parameter '{name}' of loss '{args.Entry.Id}' is a vector; set it with LossArguments.Set", nameof(spec)),
            };
            args.Set(name, value);
        }

        return args;
    }

    /// <summary>The factory of entry <paramref name="index"/> for element type <typeparamref name="T"/>.</summary>
    internal static Func<LossArguments, object> Factory<T>(int index)
        where T : unmanaged, IFloatingPointIeee754<T> => Factories<T>.All[index];

    private static class Factories<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Func<LossArguments, object>[] All = [.. Build<T>().Select(e => e.Factory)];
    }

    private static LossEntry[] Build<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossParameter mean = Reduction(LossKit.Reduction.Mean), none = Reduction(LossKit.Reduction.None);
        LossParameter eps = Double("eps", 1e-7, "added to unions and enclosing areas", min: 0, minExclusive: true);
        LossParameter format = Choice("format", BoxFormat.Xyxy, "box coordinate format");
        LossParameter convention = Choice("convention", BoxLossConvention.Torchvision, "reference formulation");
        LossParameter validate = Bool("validate", false, "reject NaN and inverted boxes (ArgumentException)");
        LossParameter weight = CallWeight(), avgFactor = AvgFactor();
        LossParameter[] elementwise = [mean, weight, avgFactor];
        LossParameter[] box = [none, eps, format, validate, weight, avgFactor];
        const LossFamily C = LossFamily.Classification, R = LossFamily.Regression, D = LossFamily.Detection, M = LossFamily.MetricLearning;

        LossEntry[] entries =
        [
            new("cross_entropy", C, ClassIndexOrProbabilities,
                "(1−ε)·w_y·(lse(x) − x_y) + (ε/C)·Σ_c w_c·(lse(x) − x_c); probability targets: Σ_c w_c·t'_c·(lse(x) − x_c)", "torch.nn.CrossEntropyLoss",
                [mean, Vector("weight", "per-class weight"), Int("ignore_index", -100, "target value that contributes nothing"),
                    Double("label_smoothing", 0, "ε, mixes the target with the uniform distribution", 0, 1), avgFactor],
                a => new CrossEntropyLoss<T>(a.Reduction(), a.Vector<T>("weight"), a.Int("ignore_index"), a.Double("label_smoothing"))),
            new("nll", C, ClassIndex, "−w_y·x_y (x = log-probabilities)", "torch.nn.NLLLoss",
                [mean, Vector("weight", "per-class weight"), Int("ignore_index", -100, "target value that contributes nothing"), avgFactor],
                a => new NllLoss<T>(a.Reduction(), a.Vector<T>("weight"), a.Int("ignore_index"))) { InputDomain = ValueDomain.LogProbabilities },
            new("bce", C, Elementwise, "−w·[y·max(ln x, −100) + (1−y)·max(ln(1−x), −100)]", "torch.nn.BCELoss",
                elementwise, a => new BinaryCrossEntropyLoss<T>(a.Reduction())) { InputDomain = ValueDomain.UnitInterval, TargetDomain = ValueDomain.UnitInterval },
            new("bce_with_logits", C, Elementwise, "(1−y)·x + (1 + (pw−1)·y)·softplus(−x)", "torch.nn.BCEWithLogitsLoss",
                [mean, Vector("pos_weight", "per-class weight of the positive term (last dimension)"), weight, avgFactor],
                a => new BinaryCrossEntropyWithLogitsLoss<T>(a.Reduction(), a.Vector<T>("pos_weight"))) { TargetDomain = ValueDomain.UnitInterval },
            new("kl_div", C, LogProbabilities, "t·(ln t − x); logTarget: e^t·(t − x)", "torch.nn.KLDivLoss",
                [Reduction(LossKit.Reduction.Mean, allowBatchMean: true), Bool("log_target", false, "the target holds log-probabilities")],
                a => new KLDivergenceLoss<T>(a.Reduction(), a.Bool("log_target"))) { InputDomain = ValueDomain.LogProbabilities, TargetDomain = ValueDomain.UnitInterval },
            new("hinge", C, Elementwise, "max(0, 1 − y·f), y = ±1", "(none) torch.clamp(1 − y·f, min=0)", elementwise, a => new HingeLoss<T>(a.Reduction())) { TargetDomain = ValueDomain.PlusMinusOne },
            new("squared_hinge", C, Elementwise, "max(0, 1 − y·f)², y = ±1", "(none) torch.clamp(1 − y·f, min=0)**2", elementwise,
                a => new SquaredHingeLoss<T>(a.Reduction())) { TargetDomain = ValueDomain.PlusMinusOne },
            new("hinge_embedding", C, Elementwise, "x if y = 1; max(0, margin − x) if y = −1", "torch.nn.HingeEmbeddingLoss",
                [mean, Double("margin", 1, "margin for y = −1"), weight, avgFactor], a => new HingeEmbeddingLoss<T>(a.Reduction(), a.Double("margin"))) { TargetDomain = ValueDomain.PlusMinusOne },
            new("multi_margin", C, ClassIndex, "Σ_{i≠y} w_y·max(0, margin − x_y + x_i)^p / C", "torch.nn.MultiMarginLoss",
                [mean, Int("p", 1, "exponent, 1 or 2", 1, 2), Double("margin", 1, "margin"), Vector("weight", "per-class weight"), avgFactor],
                a => new MultiMarginLoss<T>(a.Reduction(), a.Int("p"), a.Double("margin"), a.Vector<T>("weight"))),
            new("exponential", C, Elementwise, "e^(−y·f), y = ±1", "(none) torch.exp(−y·f) (AdaBoost)", elementwise, a => new ExponentialLoss<T>(a.Reduction())) { TargetDomain = ValueDomain.PlusMinusOne },
            new("soft_margin", C, Elementwise, "ln(1 + e^(−y·x)), y = ±1", "torch.nn.SoftMarginLoss", elementwise, a => new SoftMarginLoss<T>(a.Reduction())) { TargetDomain = ValueDomain.PlusMinusOne },

            new("l1", R, Elementwise, "|x − y|", "torch.nn.L1Loss", elementwise, a => new L1Loss<T>(a.Reduction())),
            new("mse", R, Elementwise, "(x − y)²", "torch.nn.MSELoss", elementwise, a => new MseLoss<T>(a.Reduction())),
            new("smooth_l1", R, Elementwise, "0.5·d²/β if d < β else d − 0.5·β (d = |x − y|)", "torch.nn.SmoothL1Loss",
                [mean, Double("beta", 1, "where the quadratic part ends", 0), weight, avgFactor], a => new SmoothL1Loss<T>(a.Reduction(), a.Double("beta"))),
            new("huber", R, Elementwise, "0.5·d² if d < δ else δ·(d − 0.5·δ)", "torch.nn.HuberLoss",
                [mean, Double("delta", 1, "where the quadratic part ends", 0, minExclusive: true), weight, avgFactor],
                a => new HuberLoss<T>(a.Reduction(), a.Double("delta"))),
            new("balanced_l1", R, Elementwise, "(α/b)(b·d + 1)·ln(b·d/β + 1) − α·d if d < β else γ·d + γ/b − α·β, b = e^(γ/α) − 1",
                "mmdet BalancedL1Loss (Libra R-CNN)",
                [mean, Double("alpha", 0.5, "gradient promotion of inliers", 0, minExclusive: true), Double("gamma", 1.5, "upper bound of the error", 0, minExclusive: true),
                    Double("beta", 1, "where the log part ends", 0, minExclusive: true), weight, avgFactor],
                a => new BalancedL1Loss<T>(a.Reduction(), a.Double("alpha"), a.Double("gamma"), a.Double("beta"))),

            new("iou", D, Boxes, "1 − IoU | 1 − IoU² | −ln max(IoU, eps)", "mmdet IoULoss (modes); ultralytics 1 − bbox_iou",
                [none, Choice("mode", IoULossMode.Linear, "1 − IoU, 1 − IoU² or −ln IoU"), eps, format, validate, convention, weight, avgFactor],
                a => new IoULoss<T>(a.Reduction(), a.Choice<IoULossMode>("mode"), a.Double("eps"), a.Choice<BoxFormat>("format"), a.Choice<BoxLossConvention>("convention"), a.Bool("validate"))),
            new("giou", D, Boxes, "1 − IoU + (C − U)/C", "torchvision.ops.generalized_box_iou_loss", [.. box, convention],
                a => new GIoULoss<T>(a.Reduction(), a.Double("eps"), a.Choice<BoxFormat>("format"), a.Choice<BoxLossConvention>("convention"), a.Bool("validate"))),
            new("diou", D, Boxes, "1 − IoU + ρ²/c²", "torchvision.ops.distance_box_iou_loss", [.. box, convention],
                a => new DIoULoss<T>(a.Reduction(), a.Double("eps"), a.Choice<BoxFormat>("format"), a.Choice<BoxLossConvention>("convention"), a.Bool("validate"))),
            new("ciou", D, Boxes, "1 − IoU + ρ²/c² + α·v, v = (4/π²)(atan(w_g/h_g) − atan(w/h))², α constant", "torchvision.ops.complete_box_iou_loss",
                [.. box, convention],
                a => new CIoULoss<T>(a.Reduction(), a.Double("eps"), a.Choice<BoxFormat>("format"), a.Choice<BoxLossConvention>("convention"), a.Bool("validate"))),
            new("eiou", D, Boxes, "1 − IoU + ρ²/c² + (w − w_g)²/C_w² + (h − h_g)²/C_h² (Efficient IoU)", "(none) Zhang et al. 2022", box,
                a => new EfficientIoULoss<T>(a.Reduction(), a.Double("eps"), a.Choice<BoxFormat>("format"), a.Bool("validate"))),
            new("siou", D, Boxes, "1 − clamp(IoU − (Δ + Ω)/2, −1, 1) (angle, distance, shape costs)", "mmdet SIoULoss",
                [.. box, Bool("neg_gamma", false, "mmdetection's neg_gamma")],
                a => new SIoULoss<T>(a.Reduction(), a.Double("eps"), a.Bool("neg_gamma"), a.Choice<BoxFormat>("format"), a.Bool("validate"))),
            new("extended_iou", D, Boxes, "smooth-L1 of 1 − inter'/union (extended intersection)", "mmdet EIoULoss",
                [.. box, Double("smooth_point", 0.1, "where the smooth part ends", 0, minExclusive: true)],
                a => new ExtendedIoULoss<T>(a.Reduction(), a.Double("eps"), a.Double("smooth_point"), a.Choice<BoxFormat>("format"), a.Bool("validate"))),
            new("sigmoid_focal", D, Elementwise,
                "α_t·(1 − p_t)^γ·BCE(x, t), p = σ(x), p_t = p·t + (1 − p)(1 − t), α_t = α·t + (1 − α)(1 − t) (α < 0: 1)",
                "torchvision.ops.sigmoid_focal_loss",
                [none, Double("alpha", 0.25, "weight of the positives (< 0: none)", max: 1), Double("gamma", 2, "focusing exponent", 0), weight, avgFactor],
                a => new SigmoidFocalLoss<T>(a.Reduction(), a.Double("alpha"), a.Double("gamma"))) { TargetDomain = ValueDomain.UnitInterval },
            new("softmax_focal", D, ClassIndex, "−α_y·w_y·(1 − p_y)^γ·ln p_y, p = softmax(x)", "mmcv softmax_focal_loss",
                [mean, Double("gamma", 2, "focusing exponent", 0), Double("alpha", 0.25, "α of every class", 0), Vector("class_alpha", "per-class α (overrides alpha)"),
                    Vector("weight", "per-class weight"), Int("ignore_index", -100, "target value that contributes nothing"), avgFactor],
                a => new SoftmaxFocalLoss<T>(a.Reduction(), a.Double("gamma"), a.Double("alpha"), a.Vector<T>("class_alpha"), a.Vector<T>("weight"), a.Int("ignore_index"))),
            new("quality_focal", D, ScoredRows, "Σ_c BCE(x_c, 0)·σ(x_c)^β; positive class: BCE(x_y, q)·|q − σ(x_y)|^β", "mmdet QualityFocalLoss (GFL)",
                [mean, Double("beta", 2, "modulating exponent", 0), CallWeight("per-anchor weight"), avgFactor],
                a => new QualityFocalLoss<T>(a.Reduction(), a.Double("beta"))),
            new("distribution_focal", D, Bins, "CE(z, ⌊y⌋)·(⌊y⌋ + 1 − y) + CE(z, ⌊y⌋ + 1)·(y − ⌊y⌋)", "mmdet DistributionFocalLoss (GFL)",
                [mean, CallWeight("per-row weight"), avgFactor], a => new DistributionFocalLoss<T>(a.Reduction())),
            new("varifocal", D, Elementwise, "BCE(x, t)·(t·[t > 0] + α·|σ(x) − t|^γ·[t ≤ 0])", "mmdet VarifocalLoss (VFNet)",
                [mean, Double("alpha", 0.75, "weight of the negatives", 0), Double("gamma", 2, "focusing exponent", 0),
                    Bool("iou_weighted", true, "weight positives by their IoU target"), weight, avgFactor],
                a => new VarifocalLoss<T>(a.Reduction(), a.Double("alpha"), a.Double("gamma"), a.Bool("iou_weighted"))) { TargetDomain = ValueDomain.UnitInterval },

            new("angular_margin", M, Cosines,
                "CE over s·cos θ_j (j ≠ y) and s·(cos(m1·θ_y + m2) − m3) for the target, θ = acos(cos input)", "insightface CombinedMarginLoss",
                [mean, Double("scale", 64, "s, the logit scale", 0, minExclusive: true), Double("m1", 1, "multiplicative angular margin", 0, minExclusive: true),
                    Double("m2", 0.5, "additive angular margin (radians)", 0, Math.PI, maxExclusive: true), Double("m3", 0, "additive cosine margin"),
                    Choice("fallback", MarginFallback.Threshold, "what happens past θ + m2 > π"), Choice("gradient", MarginGradient.Exact, "exact or insightface's detached margin")],
                a => new AngularMarginLoss<T>(a.Reduction(), a.Double("scale"), a.Double("m1"), a.Double("m2"), a.Double("m3"),
                    a.Choice<MarginFallback>("fallback"), a.Choice<MarginGradient>("gradient"))) { InputDomain = ValueDomain.Cosines },
            new("arcface", M, Cosines, "target logit s·cos(θ + m); cos θ − m·sin m when cos θ ≤ cos(π − m) (easyMargin: cos θ when cos θ ≤ 0)",
                "insightface ArcFace (classic); pytorch-metric-learning ArcFaceLoss (margin in degrees)",
                [mean, Double("scale", 64, "s, the logit scale", 0, minExclusive: true), Double("margin", 0.5, "additive angular margin (radians)", 0, Math.PI, maxExclusive: true),
                    Bool("easy_margin", false, "no margin where cos θ ≤ 0")],
                a => AngularMarginLoss<T>.ArcFace(a.Double("scale"), a.Double("margin"), a.Bool("easy_margin"), a.Reduction())) { InputDomain = ValueDomain.Cosines },
            new("cosface", M, Cosines, "target logit s·(cos θ − m)", "insightface CosFace; pytorch-metric-learning CosFaceLoss",
                [mean, Double("scale", 64, "s, the logit scale", 0, minExclusive: true), Double("margin", 0.35, "additive cosine margin")],
                a => AngularMarginLoss<T>.CosFace(a.Double("scale"), a.Double("margin"), a.Reduction())) { InputDomain = ValueDomain.Cosines },
            new("sphereface", M, Cosines, "target logit s·((−1)^k·cos(mθ) − 2k), k = ⌊mθ/π⌋", "pytorch-metric-learning SphereFaceLoss (on cosines)",
                [mean, Double("scale", 64, "s, the logit scale", 0, minExclusive: true), Double("margin", 4, "multiplicative angular margin", 0, minExclusive: true)],
                a => AngularMarginLoss<T>.SphereFace(a.Double("margin"), a.Double("scale"), a.Reduction())) { InputDomain = ValueDomain.Cosines },
            new("cosine_head", M, CosineHead, "cos = (x/max(‖x‖, eps))·(W/max(‖W‖, eps))ᵀ; backward to x and W", "F.linear(F.normalize(x), F.normalize(W))",
                [Double("eps", 1e-12, "lower bound of the norms", 0, minExclusive: true)], a => new CosineHead<T>(a.Double("eps"))),
            new("center", M, FeaturesCenters,
                "½‖xᵢ − c_yᵢ‖² (KaiyangZhou: no ½, clamp); update Δc_j = Σ_{yᵢ=j}(c_j − xᵢ)/(1 + n_j)", "Wen et al. 2016 (Caffe); KaiyangZhou/pytorch-center-loss",
                [mean, Choice("convention", CenterLossConvention.Paper, "the paper's ½‖x − c‖² or KaiyangZhou's clamped sum")],
                a => new CenterLoss<T>(a.Reduction(), a.Choice<CenterLossConvention>("convention"))),
            new("cosine_embedding", M, Pairs, "1 − cos(x1, x2) if y = 1; max(0, cos(x1, x2) − margin) if y = −1", "torch.nn.CosineEmbeddingLoss",
                [mean, Double("margin", 0, "margin for dissimilar pairs", -1, 1)], a => new CosineEmbeddingLoss<T>(a.Reduction(), a.Double("margin")))
            {
                TargetDomain = ValueDomain.PlusMinusOne,
            },
            .. CriteriaEntries.Build<T>(),
        ];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i].Index = i;
        }

        return entries;
    }
}
