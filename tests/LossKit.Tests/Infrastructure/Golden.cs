using System.Text.Json;

namespace LossKit.Tests.Infrastructure;

/// <summary>One tensor of a golden case: its shape and its flat row-major data.</summary>
public sealed class GoldenTensor(int[] shape, double[] data)
{
    public int[] Shape { get; } = shape;

    public double[] Data { get; } = data;

    /// <summary>The data as class indices (class-index targets are JSON integers).</summary>
    public int[] AsIndices() => Array.ConvertAll(Data, v => checked((int)v));
}

/// <summary>
/// One case of the PyTorch golden files written by tests/reference/generate.py and generate_detection.py: the loss id,
/// its hyper-parameters, the inputs, the upstream gradient (a scalar for reductions, a tensor for "none"), the value and
/// d(Σ value·upstream)/d input. The detection file also has value-only cases (no upstream, no gradient; some without a
/// target) and extra tensors (labels, scores, class_alpha): <see cref="Target"/>, <see cref="Upstream"/> and
/// <see cref="GradInput"/> throw when the case has none (see the Optional* properties and <see cref="HasGradient"/>).
/// </summary>
public sealed class GoldenCase
{
    public required string File { get; init; }

    public required string Name { get; init; }

    public required string Loss { get; init; }

    public required IReadOnlyDictionary<string, JsonElement> Params { get; init; }

    public required GoldenTensor Input { get; init; }

    /// <summary>The target; throws for the cases that have none (box_convert, box_area, quality_focal).</summary>
    public GoldenTensor Target => OptionalTarget ?? throw Missing("target");

    public GoldenTensor? OptionalTarget { get; init; }

    public GoldenTensor? Weight { get; init; }

    public GoldenTensor? PosWeight { get; init; }

    /// <summary>quality_focal: per-anchor labels (integers).</summary>
    public GoldenTensor? Labels { get; init; }

    /// <summary>quality_focal: per-anchor quality scores.</summary>
    public GoldenTensor? Scores { get; init; }

    /// <summary>softmax_focal: per-class α.</summary>
    public GoldenTensor? ClassAlpha { get; init; }

    /// <summary>The upstream gradient; throws for value-only cases.</summary>
    public GoldenTensor Upstream => OptionalUpstream ?? throw Missing("upstream");

    public GoldenTensor? OptionalUpstream { get; init; }

    public required GoldenTensor Value { get; init; }

    /// <summary>d(Σ value·upstream)/d input; throws for value-only cases.</summary>
    public GoldenTensor GradInput => OptionalGradInput ?? throw Missing("grad_input");

    public GoldenTensor? OptionalGradInput { get; init; }

    /// <summary>Whether the case has an upstream gradient and a reference gradient.</summary>
    public bool HasGradient => OptionalGradInput is not null && OptionalUpstream is not null;

    private InvalidDataException Missing(string key) => new($"{File} case {Name} has no \"{key}\"");

    public override string ToString() => Name;

    private double Number(string key, double fallback) => Params.TryGetValue(key, out JsonElement e) ? e.GetDouble() : fallback;

    /// <summary>The loss configuration this case describes, in the library's terms.</summary>
    public LossSetup ToSetup()
    {
        string reduction = Params["reduction"].GetString()!;
        bool indexTargets = LossSetup.HasIndexTargets(Loss);
        return new LossSetup
        {
            Loss = Loss,
            Reduction = reduction switch
            {
                "none" => Reduction.None,
                "mean" => Reduction.Mean,
                "sum" => Reduction.Sum,
                "batchmean" => Reduction.BatchMean,
                _ => throw new InvalidDataException($"{Name}: unknown reduction {reduction}"),
            },
            Shape = Input.Shape,
            Target = indexTargets ? [] : Target.Data,
            IndexTarget = indexTargets ? Target.AsIndices() : null,
            Weight = Weight?.Data,
            PosWeight = PosWeight?.Data,
            IgnoreIndex = (int)Number("ignore_index", -100),
            LabelSmoothing = Number("label_smoothing", 0.0),
            LogTarget = Params.TryGetValue("log_target", out JsonElement lt) && lt.GetBoolean(),
            P = (int)Number("p", 1),
            Margin = Number("margin", 1.0),
            Beta = Number("beta", 1.0),
            Delta = Number("delta", 1.0),
            Alpha = Number("alpha", 0.5),
            Gamma = Number("gamma", 1.5),
        };
    }
}

/// <summary>Loads the golden files once (they are copied next to the test assembly) and serves cases by name.</summary>
public static class Golden
{
    public const string ClassificationFile = "classification.json";
    public const string RegressionFile = "regression.json";
    public const string DetectionFile = "detection.json";

    private static readonly Lazy<IReadOnlyList<GoldenCase>> s_all = new(() =>
        [.. Load(ClassificationFile), .. Load(RegressionFile)]);

    private static readonly Lazy<IReadOnlyDictionary<string, GoldenCase>> s_byName = new(() =>
        s_all.Value.ToDictionary(c => c.Name, StringComparer.Ordinal));

    /// <summary>Every case of both files, in file order.</summary>
    public static IReadOnlyList<GoldenCase> All => s_all.Value;

    /// <summary>The loss ids present in the files, in first-seen order.</summary>
    public static IReadOnlyList<string> Losses => All.Select(c => c.Loss).Distinct().ToList();

    public static GoldenCase Get(string name) => s_byName.Value[name];

    private static readonly Lazy<IReadOnlyList<GoldenCase>> s_detection = new(() => Load(DetectionFile));

    private static readonly Lazy<IReadOnlyDictionary<string, GoldenCase>> s_detectionByName = new(() =>
        s_detection.Value.ToDictionary(c => c.Name, StringComparer.Ordinal));

    /// <summary>Every case of detection.json (kept apart from <see cref="All"/>: the detection losses have their own
    /// runner and tolerance policy, see tests/LossKit.Tests/Detection/DetectionReference.cs).</summary>
    public static IReadOnlyList<GoldenCase> Detection => s_detection.Value;

    public static GoldenCase GetDetection(string name) => s_detectionByName.Value[name];

    /// <summary>xunit member data: the names of the detection cases of one loss id.</summary>
    public static TheoryData<string> DetectionNames(string loss)
    {
        TheoryData<string> data = GoldenJson.Names(Detection, c => c.Loss == loss, c => c.Name);
        if (data.Count == 0)
        {
            throw new InvalidDataException($"no detection golden cases for loss id '{loss}'");
        }

        return data;
    }

    /// <summary>xunit member data: the names of the cases of one loss id.</summary>
    public static TheoryData<string> Names(string loss) => GoldenJson.Names(All, c => c.Loss == loss, c => c.Name);

    private static List<GoldenCase> Load(string file) =>
        GoldenJson.LoadCases(file, c => new GoldenCase
        {
            File = file,
            Name = c.GetProperty("name").GetString()!,
            Loss = c.GetProperty("loss").GetString()!,
            Params = GoldenJson.Params(c),
            Input = GoldenJson.Tensor(c.GetProperty("input")),
            OptionalTarget = GoldenJson.OptionalTensor(c, "target"),
            Weight = GoldenJson.OptionalTensor(c, "weight"),
            PosWeight = GoldenJson.OptionalTensor(c, "pos_weight"),
            Labels = GoldenJson.OptionalTensor(c, "labels"),
            Scores = GoldenJson.OptionalTensor(c, "scores"),
            ClassAlpha = GoldenJson.OptionalTensor(c, "class_alpha"),
            OptionalUpstream = GoldenJson.OptionalTensor(c, "upstream"),
            Value = GoldenJson.Tensor(c.GetProperty("value")),
            OptionalGradInput = GoldenJson.OptionalTensor(c, "grad_input"),
        });
}
