namespace LossKit.Cli.Eval;

/// <summary>An input array a loss takes: its name, expected shape (in words) and element type.</summary>
internal sealed record InputSpec(string Name, string Shape, bool Required = true, bool Integer = false);

/// <summary>What <c>losskit eval</c> accepts for one catalog loss: parameter names (snake_case, as PyTorch) and inputs.</summary>
internal sealed record LossSpec(string Name, string[] Params, InputSpec[] Inputs)
{
    public string KnownParams => Params.Length == 0 ? "none" : string.Join(", ", Params);

    public string KnownInputs => string.Join(", ", Inputs.Select(i => i.Name));
}

/// <summary>The eval table: one entry per catalog loss whose inputs have a clear shape.</summary>
internal static class LossTable
{
    private static readonly InputSpec ElementInput = new("input", "any shape");
    private static readonly InputSpec ElementTarget = new("target", "the input's shape");
    private static readonly InputSpec[] Elementwise = [ElementInput, ElementTarget];
    private static readonly InputSpec[] ClassIndex = [new("input", "[batch, classes]"), new("target", "[batch] class indices", Integer: true)];
    private static readonly InputSpec[] Boxes = [new("input", "[N, 4] predicted boxes"), new("target", "[N, 4] target boxes")];
    private static readonly string[] BoxCommon = ["reduction", "eps", "format", "weight", "avg_factor"];

    private static readonly InputSpec[] Cosines = [new("input", "[batch, classes] cosines"), new("target", "[batch] class indices", Integer: true)];
    private static readonly InputSpec[] Centers = [new("input", "[batch, dim] features"), new("target", "[batch] class indices", Integer: true), new("centers", "[classes, dim]")];

    /// <summary>The entries whose names the catalog lists (metric-learning adapters wait for their catalog names).</summary>
    public static IReadOnlyList<LossSpec> Entries { get; } = [.. All.Where(e => Catalog.Entries.Any(c => c.Name == e.Name))];

    /// <summary>Every adapter, whether or not the catalog lists its name yet.</summary>
    internal static IReadOnlyList<LossSpec> All =>
    [
        new("cross_entropy", ["reduction", "weight", "ignore_index", "label_smoothing", "avg_factor"],
            [new("input", "[batch, classes]"), new("target", "[batch] class indices, or [batch, classes] probabilities")]),
        new("nll", ["reduction", "weight", "ignore_index", "avg_factor"], ClassIndex),
        new("bce", ["reduction", "weight", "avg_factor"], Elementwise),
        new("bce_with_logits", ["reduction", "weight", "pos_weight", "avg_factor"], Elementwise),
        new("kl_div", ["reduction", "log_target"], [new("input", "[batch, ...] log-probabilities"), ElementTarget]),
        new("hinge", ["reduction", "weight", "avg_factor"], Elementwise),
        new("squared_hinge", ["reduction", "weight", "avg_factor"], Elementwise),
        new("hinge_embedding", ["reduction", "margin", "weight", "avg_factor"], Elementwise),
        new("multi_margin", ["reduction", "p", "margin", "weight", "avg_factor"], ClassIndex),
        new("exponential", ["reduction", "weight", "avg_factor"], Elementwise),
        new("l1", ["reduction", "weight", "avg_factor"], Elementwise),
        new("mse", ["reduction", "weight", "avg_factor"], Elementwise),
        new("smooth_l1", ["reduction", "beta", "weight", "avg_factor"], Elementwise),
        new("huber", ["reduction", "delta", "weight", "avg_factor"], Elementwise),
        new("balanced_l1", ["reduction", "alpha", "gamma", "beta", "weight", "avg_factor"], Elementwise),
        new("iou", ["reduction", "mode", "eps", "format", "convention", "weight", "avg_factor"], Boxes),
        new("giou", [.. BoxCommon, "convention"], Boxes),
        new("diou", [.. BoxCommon, "convention"], Boxes),
        new("ciou", [.. BoxCommon, "convention"], Boxes),
        new("eiou", BoxCommon, Boxes),
        new("siou", [.. BoxCommon, "neg_gamma"], Boxes),
        new("extended_iou", [.. BoxCommon, "smooth_point"], Boxes),
        new("sigmoid_focal", ["reduction", "alpha", "gamma", "weight", "avg_factor"], Elementwise),
        new("softmax_focal", ["reduction", "gamma", "alpha", "class_alpha", "weight", "ignore_index", "avg_factor"], ClassIndex),
        new("quality_focal", ["reduction", "beta", "weight", "avg_factor"],
            [new("input", "[batch, classes]"), new("labels", "[batch] class indices (classes or < 0: background)", Integer: true), new("scores", "[batch] IoU quality targets")]),
        new("distribution_focal", ["reduction", "weight", "avg_factor"], [new("input", "[batch, bins]"), new("target", "[batch], 0 <= y < bins - 1")]),
        new("varifocal", ["reduction", "alpha", "gamma", "iou_weighted", "weight", "avg_factor"], Elementwise),

        // Metric learning (LossKit.MetricLearning): margin softmax on cosines, and center loss with two differentiable inputs.
        new("angular_margin", ["reduction", "scale", "m1", "m2", "m3"], Cosines),
        new("arcface", ["reduction", "scale", "margin", "easy_margin"], Cosines),
        new("cosface", ["reduction", "scale", "margin"], Cosines),
        new("sphereface", ["reduction", "scale", "margin"], Cosines),
        new("center", ["reduction", "convention"], Centers),
    ];

    public static LossSpec? Find(string name) => Entries.FirstOrDefault(e => e.Name == name);
}
