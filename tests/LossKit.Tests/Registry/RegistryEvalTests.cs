using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Cli.Commands;
using LossKit.Layouts;
using LossKit.Registry;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Registry;

/// <summary>
/// Every registry entry through its layout's evaluation on the PyTorch golden inputs (the path <c>losskit eval</c> takes),
/// against the golden values and, where the golden upstream is a scalar or all ones, the golden gradients; and
/// <c>losskit eval</c>'s output byte for byte against the outputs recorded before the registry existed.
/// </summary>
public class RegistryEvalTests
{
    /// <summary>
    /// Golden-file loss ids that are a registry entry under another id or with fixed parameters (the reference
    /// generators name cases by the reference they reproduce). Ids not listed here and not in the registry are
    /// building blocks (box_iou, box_convert, center_update, …), tested by their own classes.
    /// </summary>
    private static readonly Dictionary<string, (string Entry, (string Name, object Value)[] Parameters)> GoldenAliases = new()
    {
        ["cross_entropy_prob"] = ("cross_entropy", []),
        ["iou_mmdet"] = ("iou", [("convention", "mmdetection")]),
        ["giou_mmdet"] = ("giou", [("convention", "mmdetection")]),
        ["diou_mmdet"] = ("diou", [("convention", "mmdetection")]),
        ["ciou_mmdet"] = ("ciou", [("convention", "mmdetection")]),
        ["iou_ultra"] = ("iou", [("convention", "ultralytics")]),
        ["giou_ultra"] = ("giou", [("convention", "ultralytics")]),
        ["diou_ultra"] = ("diou", [("convention", "ultralytics")]),
        ["ciou_ultra"] = ("ciou", [("convention", "ultralytics")]),
        ["eiou_mmdet"] = ("extended_iou", []),
        ["siou_mmdet"] = ("siou", []),
        ["eiou_efficient"] = ("eiou", []),
        ["arcface"] = ("angular_margin", []),
        ["arcface_easy"] = ("angular_margin", []),
        ["cosface"] = ("angular_margin", []),
        ["combined_margin"] = ("angular_margin", []),
        ["sphereface"] = ("angular_margin", []),
        ["insightface"] = ("angular_margin", []),
        ["pml_arcface"] = ("angular_margin", []),
    };

    /// <summary>
    /// The convenience entries (one margin each) walked over the golden cases of the combined-margin form they stand for:
    /// golden id → entry and its parameters from the golden m1, m2, m3 and scale.
    /// </summary>
    private static readonly Dictionary<string, (string Entry, string Fallback, Func<JsonObject, (string Name, object Value)[]> Parameters)> ConvenienceForms = new()
    {
        ["arcface"] = ("arcface", "threshold", p => [("scale", Num(p, "scale")), ("margin", Num(p, "m2"))]),
        ["arcface_easy"] = ("arcface", "easy", p => [("scale", Num(p, "scale")), ("margin", Num(p, "m2")), ("easy_margin", true)]),
        ["cosface"] = ("cosface", "none", p => [("scale", Num(p, "scale")), ("margin", Num(p, "m3"))]),
        ["sphereface"] = ("sphereface", "monotonic", p => [("scale", Num(p, "scale")), ("margin", Num(p, "m1"))]),
    };

    private static double Num(JsonObject p, string name) => p[name]!.GetValue<double>();

    /// <summary>Golden parameters that are not the entry's (they describe how the reference was called).</summary>
    private static readonly Dictionary<string, string?> ParameterRenames = new()
    {
        ["in_fmt"] = "format", ["margin_degrees"] = null, ["xywh"] = null, ["fallback"] = "fallback", ["gradient"] = "gradient",
    };

    private static readonly string[] InputArrays = ["input", "target", "labels", "scores", "centers"];
    private static readonly string[] VectorParameters = ["weight", "pos_weight", "class_alpha"];

    private sealed record Case(string File, string Name, string Entry, JsonObject Json, Func<JsonObject, (string Name, object Value)[]>? Convenience = null);

    private static readonly Lazy<List<Case>> Cases = new(LoadCases);

    private static List<Case> LoadCases()
    {
        var cases = new List<Case>();
        foreach (string file in (string[])["classification", "regression", "detection", "metric"])
        {
            JsonNode root = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", file + ".json")))!;
            foreach (JsonNode? c in root["cases"]!.AsArray())
            {
                string loss = c!["loss"]!.GetValue<string>();
                string? entry = GoldenAliases.TryGetValue(loss, out var alias) ? alias.Entry : LossRegistry.TryGet(loss, out _) ? loss : null;
                if (entry is not null && LossRegistry.Get(entry).Family != LossFamily.Criteria)
                {
                    cases.Add(new Case(file, c["name"]!.GetValue<string>(), entry, c.AsObject()));
                }

                if (ConvenienceForms.TryGetValue(loss, out var form) && (c["params"]!["gradient"]?.GetValue<string>() ?? "exact") == "exact"
                    && c["params"]!["fallback"]?.GetValue<string>() == form.Fallback)
                {
                    cases.Add(new Case(file, c["name"]!.GetValue<string>(), form.Entry, c.AsObject(), form.Parameters));
                }
            }
        }

        return cases;
    }

    public static TheoryData<string> Entries() => [.. LossRegistry.Entries.Where(e => e.Family != LossFamily.Criteria).Select(e => e.Id)];

    [Theory]
    [MemberData(nameof(Entries))]
    public void EveryEntry_EvaluatesItsGoldenCases_ThroughItsLayout(string id)
    {
        List<Case> mine = [.. Cases.Value.Where(c => c.Entry == id)];
        Assert.True(mine.Count > 0, $"registry entry '{id}' has no golden case");
        int gradients = 0;
        foreach (Case c in mine)
        {
            gradients += Check<double>(c);
        }

        Assert.True(gradients > 0, $"no golden case of '{id}' has a comparable gradient (scalar or all-ones upstream)");
    }

    private static int Check<T>(Case c)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        LossEntry entry = LossRegistry.Get(c.Entry);
        LossArguments args = entry.Arguments();
        string loss = c.Json["loss"]!.GetValue<string>();
        if (c.Convenience is null && GoldenAliases.TryGetValue(loss, out var alias))
        {
            foreach ((string name, object value) in alias.Parameters)
            {
                args.Set(name, value);
            }
        }

        if (c.Convenience is { } convenience)
        {
            args.Set("reduction", Enum.Parse<Reduction>(c.Json["params"]!["reduction"]!.GetValue<string>(), ignoreCase: true));
            foreach ((string name, object value) in convenience(c.Json["params"]!.AsObject()))
            {
                args.Set(name, value);
            }
        }

        foreach ((string name, JsonNode? value) in c.Convenience is null ? c.Json["params"]!.AsObject() : [])
        {
            string? target = ParameterRenames.TryGetValue(name, out string? renamed) ? renamed : name;
            if (target is null || value is null)
            {
                continue;
            }

            args.Set(target, Scalar(entry.Parameter(target)!, value));
        }

        if (c.Convenience is null && c.Json["params"]!["xywh"] is JsonNode xywh && xywh.GetValue<bool>())
        {
            args.Set("format", "cxcywh"); // ultralytics' xywh is centre, width, height
        }

        foreach (string name in VectorParameters)
        {
            if (c.Json[name] is JsonNode v && entry.Parameter(name) is not null)
            {
                args.Set(name, Data(v));
            }
        }

        var inputs = new Dictionary<string, LayoutTensor<T>>();
        foreach (LayoutInput input in entry.Layout.Inputs)
        {
            JsonNode t = c.Json[input.Name] ?? throw new InvalidDataException($"{c.Name}: no '{input.Name}'");
            inputs[input.Name] = new LayoutTensor<T>(input.Name, Shape(t), Array.ConvertAll(Data(t), T.CreateTruncating));
        }

        LossEvaluation<T> result = entry.Evaluate(args, inputs);
        double tolerance = Tolerance.For<T>();
        double[] expectedValue = Data(c.Json["value"]!);
        if (result.Values is { } values)
        {
            Tolerance.AssertClose(Tolerance.Widen<T>(values.Data), expectedValue, tolerance, tolerance, $"{c.Name} values ({typeof(T).Name})", minimumScale: 1);
        }
        else
        {
            Tolerance.AssertClose([double.CreateTruncating(result.Value)], expectedValue.AsSpan(0, 1), tolerance, tolerance, $"{c.Name} value ({typeof(T).Name})", minimumScale: 1);
        }

        if (c.Json["upstream"] is not JsonNode upstreamNode || c.Json["grad_input"] is null)
        {
            return 0;
        }

        double[] upstream = Data(upstreamNode);
        bool scalar = Shape(upstreamNode).Length == 0;
        if (!scalar && upstream.Any(u => u != 1))
        {
            return 0;
        }

        double scale = scalar ? upstream[0] : 1;
        int compared = 0;
        foreach (LayoutTensor<T> g in result.Gradients)
        {
            string key = "grad_" + g.Name;
            if (c.Json[key] is JsonNode expected)
            {
                double[] scaled = [.. g.Data.Select(v => double.CreateTruncating(v) * scale)];
                Tolerance.AssertClose(scaled, Data(expected), tolerance, tolerance, $"{c.Name} {key} ({typeof(T).Name})", minimumScale: 1);
                compared++;
            }
        }

        return compared;
    }

    private static object Scalar(LossParameter p, JsonNode v) => p.Type switch
    {
        ParameterType.Reduction => Enum.Parse<Reduction>(v.GetValue<string>(), ignoreCase: true),
        ParameterType.Choice => v.GetValue<string>() is "easy" ? "easy_margin" : v.GetValue<string>(),
        ParameterType.Bool => v.GetValue<bool>(),
        ParameterType.Int => (int)v.GetValue<double>(),
        _ => v.GetValue<double>(),
    };

    private static int[] Shape(JsonNode t) => [.. t["shape"]!.AsArray().Select(d => d!.GetValue<int>())];

    private static double[] Data(JsonNode t) => [.. t["data"]!.AsArray().Select(GoldenNumber)];

    private static double GoldenNumber(JsonNode? n) => n!.GetValueKind() == JsonValueKind.String
        ? n.GetValue<string>() switch { "NaN" => double.NaN, "Infinity" or "inf" => double.PositiveInfinity, _ => double.NegativeInfinity }
        : n.GetValue<double>();

    public static TheoryData<int> BaselineChunks() => [.. Enumerable.Range(0, 8)];

    /// <summary>losskit eval reproduces, byte for byte, the outputs of commit 96f3627 on 224 documents × 2 dtypes.</summary>
    [Theory]
    [MemberData(nameof(BaselineChunks))]
    public void Eval_Output_IsByteIdentical_ToThePreRegistryBaseline(int chunk)
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "eval-baseline.json")))!;
        JsonArray cases = root["cases"]!.AsArray();
        Assert.Equal(448, cases.Count);
        for (int i = chunk; i < cases.Count; i += 8)
        {
            JsonNode c = cases[i]!;
            string actual = EvalCommand.Evaluate(c["document"]!.GetValue<string>(), c["dtype"]!.GetValue<string>());
            Assert.True(c["output"]!.GetValue<string>() == actual, $"{c["name"]} ({c["dtype"]}): eval output differs from the baseline");
        }
    }
}
