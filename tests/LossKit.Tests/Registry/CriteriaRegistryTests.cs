using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using LossKit.Layouts;
using LossKit.Registry;
using LossKit.Tests.Criteria;
using LossKit.Tests.Infrastructure;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace LossKit.Tests.Registry;

/// <summary>
/// The detector criteria through the registry: every whole-criterion golden case of criteria.json (kinds rpn_full,
/// fastrcnn_loss, retinanet, yolo) evaluated with <c>LossRegistry.Get(id).Evaluate</c> on named arrays, the total
/// (sum of the reference terms) and the gradient of every differentiable input compared with the torchvision / PyTorch
/// reference: double at 1e-10 and float at 1e-5 relative (<see cref="Tolerance"/>, as CriteriaReferenceTests). Plus the
/// entries' layouts (their inputs are the golden cases' inputs) and their shape errors.
/// </summary>
public sealed class CriteriaRegistryTests(ITestOutputHelper output)
{
    /// <summary>Golden kind → (entry id, golden names of the terms, input → golden gradient key).</summary>
    private static readonly Dictionary<string, (string Id, string[] Terms, Dictionary<string, string> Gradients)> Kinds = new(StringComparer.Ordinal)
    {
        ["rpn_full"] = ("faster_rcnn_rpn", ["objectness", "box"], new() { ["objectness"] = "grad_objectness", ["deltas"] = "grad_deltas" }),
        ["fastrcnn_loss"] = ("faster_rcnn_roi", ["classifier", "box"],
            new() { ["class_logits"] = "grad_class_logits", ["box_regression"] = "grad_box_regression" }),
        ["retinanet"] = ("retinanet", ["classification", "box"],
            new() { ["class_logits"] = "grad_class_logits", ["box_regression"] = "grad_box_regression" }),
        ["yolo"] = ("yolov3", ["box", "objectness", "classification"], new() { ["output0"] = "grad0", ["output1"] = "grad1", ["output2"] = "grad2" }),
    };

    private static readonly string[] CriteriaIds = ["faster_rcnn_rpn", "faster_rcnn_roi", "retinanet", "yolov3"];

    public static TheoryData<string> Cases => GoldenJson.Names(CriteriaGolden.All, c => Kinds.ContainsKey(c.Kind), c => c.Name);

    public static TheoryData<string> Ids => new(CriteriaIds);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_Double_MatchesReference(string name) => AssertCase<double>(CriteriaGolden.Get(name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_Float_MatchesReference(string name)
    {
        CriteriaCase c = CriteriaGolden.Get(name);
        Assert.False(c.DoubleOnly, $"{name} is double-only; the whole-criterion cases are expected to be float-representable");
        AssertCase<float>(c);
    }

    /// <summary>The largest normalised errors per kind (value, gradients; double, float), to the test output.</summary>
    [Fact]
    public void Evaluate_AllCases_MaxErrorsWithinTolerance()
    {
        var rows = new SortedDictionary<string, (int Cases, double[] Worst)>(StringComparer.Ordinal);
        var failures = new List<string>();
        foreach (CriteriaCase c in CriteriaGolden.All.Where(c => Kinds.ContainsKey(c.Kind)))
        {
            (int Cases, double[] Worst) row = rows.TryGetValue(c.Kind, out var r) ? r : (0, new double[4]);
            row.Cases++;
            Record<double>(c, row.Worst, 0, failures);
            Record<float>(c, row.Worst, 2, failures);
            rows[c.Kind] = row;
        }

        var sb = new StringBuilder();
        sb.AppendLine("Criteria through the registry (max normalised error against criteria.json):");
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{"kind",-16} {"cases",5} {"double total",13} {"double grad",12} {"float total",12} {"float grad",11}"));
        foreach ((string kind, (int cases, double[] worst)) in rows)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind,-16} {cases,5} {worst[0],13:E2} {worst[1],12:E2} {worst[2],12:E2} {worst[3],11:E2}"));
        }

        output.WriteLine(sb.ToString());
        Assert.Equal(Kinds.Keys.Order(StringComparer.Ordinal), rows.Keys);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void CriteriaEntries_AreRegisteredWithTheirCatalogText()
    {
        LossEntry[] entries = [.. LossRegistry.Entries.Where(e => e.Family == LossFamily.Criteria)];
        Assert.Equal(CriteriaIds, entries.Select(e => e.Id));
        Assert.Equal("torchvision RegionProposalNetwork losses", LossRegistry.Get("faster_rcnn_rpn").Reference);
        Assert.Equal("torchvision roi_heads.fastrcnn_loss", LossRegistry.Get("faster_rcnn_roi").Reference);
        Assert.Equal("torchvision RetinaNetHead.compute_loss", LossRegistry.Get("retinanet").Reference);
        Assert.Equal("pjreddie/darknet yolo_layer.c; ultralytics/yolov3 (variant)", LossRegistry.Get("yolov3").Reference);
        Assert.Equal("Criteria.RpnLoss<T>", LossRegistry.Get("faster_rcnn_rpn").TypeName);
        Assert.Equal("Criteria.FastRcnnLoss<T>", LossRegistry.Get("faster_rcnn_roi").TypeName);
        Assert.Equal("Criteria.RetinaNetLoss<T>", LossRegistry.Get("retinanet").TypeName);
        Assert.Equal("Criteria.YoloV3Loss<T>", LossRegistry.Get("yolov3").TypeName);
        foreach (LossEntry e in entries)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Formula), e.Id);
            Assert.Contains(e.Layout, LossRegistry.Layouts);
            Assert.All(e.Parameters, p => Assert.Matches("^[a-z][a-z0-9_]*$", p.Name));
            Assert.NotNull(e.Create<double>());
            Assert.NotNull(e.Create<float>());
        }

        Assert.Equal(["box_loss", "alpha", "gamma", "beta", "eps"], LossRegistry.Get("retinanet").Parameters.Select(p => p.Name));
        Assert.Equal(["classes", "input_width", "input_height", "anchors", "ignore_threshold", "variant", "box_loss"],
            LossRegistry.Get("yolov3").Parameters.Select(p => p.Name));
        Assert.Equal(1.0 / 9, (double)LossRegistry.Get("faster_rcnn_rpn").Parameter("beta")!.Default!);
        Assert.Equal(1.0 / 9, (double)LossRegistry.Get("faster_rcnn_roi").Parameter("beta")!.Default!);
    }

    /// <summary>Each criteria layout lists its inputs: exactly the arrays of the golden cases, the gradients' arrays differentiable.</summary>
    [Theory]
    [MemberData(nameof(Ids))]
    public void Layout_ListsTheGoldenInputs(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        (string kind, (_, _, Dictionary<string, string> gradients)) = Kinds.Single(k => k.Value.Id == id);
        CriteriaCase c = CriteriaGolden.All.First(x => x.Kind == kind);
        IReadOnlyList<LayoutInput> inputs = entry.Layout.Inputs;
        Assert.Equal(c.Inputs.Keys.Order(StringComparer.Ordinal), inputs.Select(i => i.Name).Order(StringComparer.Ordinal));
        Assert.Equal(gradients.Keys, inputs.Where(i => i.Differentiable).Select(i => i.Name));
        Assert.All(inputs, i => Assert.False(string.IsNullOrWhiteSpace(i.Shape), i.Name));
        Assert.All(inputs.Where(i => i.Indices), i => Assert.Matches("^(gt_labels|gt_counts|labels)$", i.Name));
        Assert.False(string.IsNullOrWhiteSpace(entry.Layout.Description));
    }

    /// <summary>Every input of each entry's first golden case with its first dimension one too long: a "shape mismatch".</summary>
    [Theory]
    [MemberData(nameof(Ids))]
    public void Evaluate_WrongShape_ThrowsShapeMismatch(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        string kind = Kinds.Single(k => k.Value.Id == id).Key;
        CriteriaCase c = CriteriaGolden.All.First(x => x.Kind == kind && x.Inputs.Values.All(t => t.Data.Length > 0));
        LossArguments args = Arguments(entry, c);
        Dictionary<string, LayoutTensor<double>> good = Inputs<double>(c);
        Assert.NotNull(entry.Evaluate(args, good)); // the unchanged case evaluates
        foreach (LayoutInput input in entry.Layout.Inputs)
        {
            var inputs = new Dictionary<string, LayoutTensor<double>>(good);
            LayoutTensor<double> x = good[input.Name];
            int[] shape = [x.Shape[0] + 1, .. x.Shape.Skip(1)];
            inputs[input.Name] = new LayoutTensor<double>(input.Name, shape, new double[shape.Aggregate(1, (a, b) => a * b)]);
            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(args, inputs));
            Assert.StartsWith("shape mismatch: ", e.Message, StringComparison.Ordinal);
            Assert.Contains(input.Name, e.Message, StringComparison.Ordinal);
        }

        // A wrong rank, and data that does not fill the shape.
        LayoutInput first = entry.Layout.Inputs[0];
        LayoutTensor<double> f = good[first.Name];
        var rank = new Dictionary<string, LayoutTensor<double>>(good) { [first.Name] = new(first.Name, [f.Data.Length, 1, 1, 1, 1], f.Data) };
        Assert.Contains("shape mismatch", Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(args, rank)).Message, StringComparison.Ordinal);
        var length = new Dictionary<string, LayoutTensor<double>>(good) { [first.Name] = new(first.Name, f.Shape, f.Data[1..]) };
        Assert.Contains("shape mismatch", Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(args, length)).Message, StringComparison.Ordinal);
    }

    /// <summary>The rpn_full cases sample every anchor (fewer than 256 per image), so any seed gives the reference; set one.</summary>
    [Fact]
    public void Rpn_WithSeed_MatchesReference()
    {
        foreach (CriteriaCase c in CriteriaGolden.All.Where(x => x.Kind == "rpn_full"))
        {
            LossEntry entry = LossRegistry.Get("faster_rcnn_rpn");
            LossEvaluation<double> seeded = entry.Evaluate(entry.Arguments().Set("seed", 12345), Inputs<double>(c));
            double expected = c.Outputs["objectness"].Data[0] + c.Outputs["box"].Data[0];
            Assert.True(Tolerance.Worst([seeded.Value], [expected], Tolerance.Double).Error <= Tolerance.Double, $"{c.Name}: {seeded.Value:R} vs {expected:R}");
            Assert.True(Tolerance.Worst(seeded.Gradients[0].Data, c.Outputs["grad_objectness"].Data, Tolerance.Double).Error <= Tolerance.Double, c.Name);
        }
    }

    [Fact]
    public void Evaluate_MissingOrUnknownInput_Throws()
    {
        CriteriaCase c = CriteriaGolden.All.First(x => x.Kind == "retinanet");
        LossEntry entry = LossRegistry.Get("retinanet");
        Dictionary<string, LayoutTensor<double>> inputs = Inputs<double>(c);
        inputs.Remove("anchors");
        Assert.Contains("missing input 'anchors'", Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(Arguments(entry, c), inputs)).Message,
            StringComparison.Ordinal);
        inputs = Inputs<double>(c);
        inputs["extra"] = new LayoutTensor<double>("extra", [1], [0]);
        Assert.Contains("unknown input 'extra'", Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(Arguments(entry, c), inputs)).Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_RetinaNetShapes_NameTheInputAndWhatFixesIt()
    {
        CriteriaCase c = CriteriaGolden.All.First(x => x.Kind == "retinanet");
        LossEntry entry = LossRegistry.Get("retinanet");
        int[] shape = [.. c.Inputs["class_logits"].Shape];
        string logits = $"[{string.Join(", ", shape)}]";
        string Message(string name, int[] newShape)
        {
            Dictionary<string, LayoutTensor<double>> inputs = Inputs<double>(c);
            var data = new double[newShape.Aggregate(1, (a, b) => a * b)];
            inputs[name] = new LayoutTensor<double>(name, newShape, data);
            return Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(Arguments(entry, c), inputs)).Message;
        }

        // class_logits of rank 2 (images and anchors merged) is refused before its shape is read as [images, anchors, classes].
        Assert.Contains($"class_logits has shape [{shape[0] * shape[1]}, {shape[2]}] but loss 'retinanet' needs",
            Message("class_logits", [shape[0] * shape[1], shape[2]]), StringComparison.Ordinal);
        Assert.Contains($"box_regression has shape [{shape[0]}, {shape[1]}, 5] but loss 'retinanet' needs [{shape[0]}, {shape[1]}, 4] (images and anchors of class_logits {logits})",
            Message("box_regression", [shape[0], shape[1], 5]), StringComparison.Ordinal);
        Assert.Contains($"anchors has shape [{shape[1] + 1}, 4] but loss 'retinanet' needs [{shape[1]}, 4] (the anchors of class_logits {logits})",
            Message("anchors", [shape[1] + 1, 4]), StringComparison.Ordinal);
        Assert.Contains($"gt_counts has shape [{shape[0] + 1}] but loss 'retinanet' needs [{shape[0]}] (one count per image of class_logits {logits})",
            Message("gt_counts", [shape[0] + 1]), StringComparison.Ordinal);
    }

    /// <summary>
    /// The whole "shape mismatch" of the criteria's own checks (run U left each removable: the tests saw only the
    /// prefix): the rank of <c>gt_counts</c>, the deltas beside a [images, A] objectness, box arrays of rank 1 or with
    /// 5 coordinates, a negative dimension, a negative count, the Fast R-CNN targets, an unknown input.
    /// </summary>
    [Fact]
    public void Evaluate_CriteriaShapes_TheWholeMessage()
    {
        string Message(string kind, Action<Dictionary<string, LayoutTensor<double>>> change)
        {
            CriteriaCase c = CriteriaGolden.All.First(x => x.Kind == kind && x.Inputs.Values.All(t => t.Data.Length > 0));
            LossEntry entry = LossRegistry.Get(Kinds[kind].Id);
            Dictionary<string, LayoutTensor<double>> inputs = Inputs<double>(c);
            change(inputs);
            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(Arguments(entry, c), inputs));
            // The input at fault is the parameter (the message names it first); an unknown input is the inputs' fault.
            string text = e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            string first = text.Replace("shape mismatch: ", "", StringComparison.Ordinal).Split(' ')[0];
            Assert.Equal(text.StartsWith("unknown input", StringComparison.Ordinal) ? "inputs" : first, e.ParamName);
            return text;
        }

        static Action<Dictionary<string, LayoutTensor<double>>> Set(string name, int[] shape, double[]? data = null) =>
            inputs => inputs[name] = new LayoutTensor<double>(name, shape, data ?? new double[shape.Aggregate(1, (a, b) => a * b)]);

        // rpn_full/mixed: objectness [288], deltas [288, 4], anchors [96, 4], gt_boxes [6, 4], gt_counts [3].
        const string Rpn = "rpn_full";
        Assert.Equal("shape mismatch: gt_counts has shape [3, 1] but loss 'faster_rcnn_rpn' needs [images] ground truths per image",
            Message(Rpn, Set("gt_counts", [3, 1], [2, 2, 2])));
        const string Why = "(3 images (gt_counts [3]) × 96 anchors (anchors [96, 4]))";
        Assert.Equal($"shape mismatch: deltas has shape [288, 4] but loss 'faster_rcnn_rpn' needs [3, 96, 4] {Why}",
            Message(Rpn, Set("objectness", [3, 96])));
        Assert.Equal($"shape mismatch: deltas has shape [3, 95, 4] but loss 'faster_rcnn_rpn' needs [3, 96, 4] {Why}",
            Message(Rpn, Set("deltas", [3, 95, 4])));
        Assert.Equal("shape mismatch: anchors has shape [96, 5] but loss 'faster_rcnn_rpn' needs [A, 4] xyxy, shared by the images",
            Message(Rpn, Set("anchors", [96, 5])));
        Assert.Equal("shape mismatch: anchors has shape [384] but loss 'faster_rcnn_rpn' needs [A, 4] xyxy, shared by the images",
            Message(Rpn, Set("anchors", [384])));
        Assert.Equal("shape mismatch: gt_boxes has shape [6, 5] but loss 'faster_rcnn_rpn' needs [G, 4] xyxy, concatenated over images",
            Message(Rpn, Set("gt_boxes", [6, 5])));
        Assert.Equal("shape mismatch: gt_boxes has shape [-6, -4] (a negative dimension); loss 'faster_rcnn_rpn' needs [G, 4] xyxy, concatenated over images",
            Message(Rpn, Set("gt_boxes", [-6, -4], new double[24])));
        Assert.Equal("gt_counts must be non-negative, got -1 for image 0 (loss 'faster_rcnn_rpn')",
            Message(Rpn, inputs => inputs["gt_counts"] = new LayoutTensor<double>("gt_counts", [3], [-1, 4, 3])));
        Assert.Equal("unknown input 'extra' for loss 'faster_rcnn_rpn' (known: objectness, deltas, anchors, gt_boxes, gt_counts)",
            Message(Rpn, Set("extra", [1])));

        // fastrcnn_loss/s30_c6: class_logits [30, 6].
        Assert.Equal("shape mismatch: regression_targets has shape [30, 5] but loss 'faster_rcnn_roi' needs [30, 4] (one target box per row of class_logits [30, 6])",
            Message("fastrcnn_loss", Set("regression_targets", [30, 5])));

        Assert.Equal("shape mismatch: gt_counts has shape [3, 1] but loss 'yolov3' needs [images] ground truths per image",
            Message("yolo", Set("gt_counts", [3, 1], [4, 4, 4])));
        Assert.Equal("shape mismatch: anchors has shape [96, 4] (384 elements) but holds 383 values",
            Message(Rpn, Set("anchors", [96, 4], new double[383])));
    }

    /// <summary>Each criterion returns a gradient for exactly the inputs its layout marks differentiable, of their shapes.</summary>
    [Theory]
    [MemberData(nameof(Ids))]
    public void Evaluate_GradientsAreTheDifferentiableInputs(string id)
    {
        string kind = Kinds.Single(k => k.Value.Id == id).Key;
        CriteriaCase c = CriteriaGolden.All.First(x => x.Kind == kind);
        LossEntry entry = LossRegistry.Get(id);
        Dictionary<string, LayoutTensor<double>> inputs = Inputs<double>(c);
        LossEvaluation<double> result = entry.Evaluate(Arguments(entry, c), inputs);
        Assert.Equal(entry.Layout.Inputs.Where(i => i.Differentiable).Select(i => i.Name), result.Gradients.Select(g => g.Name));
        Assert.All(result.Gradients, g => Assert.Equal(inputs[g.Name].Shape, g.Shape));
    }

    private static void AssertCase<T>(CriteriaCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var failures = new List<string>();
        foreach ((string what, Mismatch e, int actualLength, int expectedLength) in Compare<T>(c))
        {
            if (!(e.Error <= Tolerance.For<T>()))
            {
                failures.Add(Tolerance.Describe(e, Tolerance.For<T>(), what, actualLength, expectedLength));
            }
        }

        if (failures.Count > 0)
        {
            throw new XunitException($"{c.Name} ({typeof(T).Name}):\n  " + string.Join("\n  ", failures));
        }
    }

    private static void Record<T>(CriteriaCase c, double[] worst, int column, List<string> failures)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach ((string what, Mismatch e, _, _) in Compare<T>(c))
        {
            int k = column + (what == "total" ? 0 : 1);
            if (e.Error > worst[k] || double.IsNaN(e.Error))
            {
                worst[k] = e.Error;
            }

            if (!(e.Error <= Tolerance.For<T>()))
            {
                failures.Add($"{typeof(T).Name} {c.Name} {what}: normalised error {e.Error:E3}");
            }
        }
    }

    /// <summary>The case through the registry: the total against the sum of the reference terms, each gradient against its reference.</summary>
    private static List<(string What, Mismatch Error, int ActualLength, int ExpectedLength)> Compare<T>(CriteriaCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (string id, string[] terms, Dictionary<string, string> gradients) = Kinds[c.Kind];
        LossEntry entry = LossRegistry.Get(id);
        LossEvaluation<T> result = entry.Evaluate(Arguments(entry, c), Inputs<T>(c));
        Assert.Null(result.Values);
        Assert.Equal(gradients.Keys, result.Gradients.Select(g => g.Name));

        double expectedTotal = terms.Sum(t => c.Outputs[t].Data.Single());
        var list = new List<(string, Mismatch, int, int)>
        {
            ("total", Tolerance.Worst([double.CreateTruncating(result.Value)], [expectedTotal], Tolerance.For<T>()), 1, 1),
        };
        foreach (LayoutTensor<T> g in result.Gradients)
        {
            GoldenTensor expected = c.Outputs[gradients[g.Name]];
            Assert.Equal(c.Inputs[g.Name].Shape, g.Shape);
            Assert.Equal(expected.Shape, g.Shape);
            list.Add(($"gradient {g.Name}", Tolerance.Worst(Tolerance.Widen<T>(g.Data), expected.Data, Tolerance.For<T>()), g.Data.Length, expected.Data.Length));
        }

        return list;
    }

    /// <summary>The case's inputs as named arrays in <typeparamref name="T"/>.</summary>
    private static Dictionary<string, LayoutTensor<T>> Inputs<T>(CriteriaCase c)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        c.Inputs.ToDictionary(kv => kv.Key, kv => new LayoutTensor<T>(kv.Key, [.. kv.Value.Shape], c.In<T>(kv.Key)), StringComparer.Ordinal);

    /// <summary>
    /// The case's parameters as the entry's arguments. retinanet: box_loss (torchvision's "smooth_l1" is the choice
    /// "smoothl1"); yolo: classes, input_width, input_height, ignore_threshold, anchors, and variant "darknet" or
    /// "ultralytics_giou" / "ultralytics_ciou" (variant ultralytics with box_loss giou / ciou). The class count of
    /// retinanet and fastrcnn_loss cases is the last dimension of class_logits (checked here); other case keys are
    /// descriptions of the case (duplicate_matches, ignored).
    /// </summary>
    private static LossArguments Arguments(LossEntry entry, CriteriaCase c)
    {
        LossArguments args = entry.Arguments();
        switch (c.Kind)
        {
            case "retinanet":
                args.Set("box_loss", c.Text("box_loss").Replace("_", "", StringComparison.Ordinal));
                Assert.Equal(c.Integer("classes"), c.Shape("class_logits")[^1]);
                break;
            case "fastrcnn_loss":
                Assert.Equal(c.Integer("classes"), c.Shape("class_logits")[^1]);
                break;
            case "yolo":
                args.Set("classes", c.Integer("classes")).Set("input_width", c.Integer("input_width")).Set("input_height", c.Integer("input_height"))
                    .Set("ignore_threshold", c.Number("ignore_threshold"));
                if (c.Numbers("anchors") is double[] anchors)
                {
                    args.Set("anchors", anchors);
                }

                string variant = c.Text("variant");
                args.Set("variant", variant == "darknet" ? "darknet" : "ultralytics");
                if (variant.StartsWith("ultralytics_", StringComparison.Ordinal))
                {
                    args.Set("box_loss", variant["ultralytics_".Length..]);
                }

                break;
            default:
                Assert.DoesNotContain(c.Params.Keys, k => k != "double_only");
                break;
        }

        return args;
    }
}
