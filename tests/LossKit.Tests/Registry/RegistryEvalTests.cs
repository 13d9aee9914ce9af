using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Cli.Commands;
using LossKit.Layouts;
using LossKit.Registry;
using LossKit.Tests.Infrastructure;
using LossKit.Tests.Internal;

namespace LossKit.Tests.Registry;

/// <summary>
/// Every registry entry through its layout's evaluation on the PyTorch golden inputs (the path <c>losskit eval</c> takes),
/// against the golden values and, where the golden upstream is a scalar or all ones, the golden gradients; and
/// <c>losskit eval</c>'s output byte for byte against the outputs recorded before the registry existed.
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public class RegistryEvalTests
{
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

    private sealed record Case(string File, string Name, string Entry, JsonObject Json, Func<JsonObject, (string Name, object Value)[]>? Convenience = null);

    private static readonly Lazy<List<Case>> Cases = new(LoadCases);

    private static List<Case> LoadCases()
    {
        var cases = new List<Case>();
        foreach (string file in (string[])["classification", "regression", "detection", "metric", "pairs"])
        {
            JsonNode root = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", file + ".json")))!;
            foreach (JsonNode? c in root["cases"]!.AsArray())
            {
                string loss = c!["loss"]!.GetValue<string>();
                if (GoldenEntries.Entry(loss) is { Family: not LossFamily.Criteria } entry)
                {
                    cases.Add(new Case(file, c["name"]!.GetValue<string>(), entry.Id, c.AsObject()));
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

    public static TheoryData<string> RowPairedEntries() =>
        [.. LossRegistry.Entries.Where(e => e.Family != LossFamily.Criteria && e.Id != "cosine_head").Select(e => e.Id)];

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

    /// <summary>
    /// What a layout declares is what it does: the inputs it marks <see cref="LayoutInput.Differentiable"/> (which the
    /// TorchSharp bridge and tools read to know where gradients go) are exactly those it returns a gradient for, in
    /// order and of the input's shape (run X: a flag flipped in any layout passed every test of the core).
    /// </summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void EveryEntry_GradientsAreItsDifferentiableInputs(string id)
    {
        (LossEntry entry, LossArguments args, Dictionary<string, LayoutTensor<double>> inputs) = Bind<double>(Cases.Value.First(c => c.Entry == id));
        LossEvaluation<double> result = entry.Evaluate(args, inputs);
        Assert.Equal(entry.Layout.Inputs.Where(i => i.Differentiable).Select(i => i.Name), result.Gradients.Select(g => g.Name));
        foreach (LayoutTensor<double> g in result.Gradients)
        {
            Assert.Equal(inputs[g.Name].Shape, g.Shape);
            Assert.Equal(inputs[g.Name].Data.Length, g.Data.Length);
        }
    }

    private static int Check<T>(Case c)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        (LossEntry entry, LossArguments args, Dictionary<string, LayoutTensor<T>> inputs) = Bind<T>(c);
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

        if (c.Json["upstream"] is not JsonNode upstreamNode || !entry.Layout.Inputs.Any(i => c.Json["grad_" + i.Name] is not null))
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
                // The walk checks the wiring of the eval path; each loss's own tests hold its gradients to 1e-10 (the
                // cosine-embedding cases' zero rows are ill-conditioned enough that autograd itself is off by 2e-9).
                Tolerance.AssertClose(scaled, Data(expected), tolerance, Math.Max(tolerance, 1e-8), $"{c.Name} {key} ({typeof(T).Name})", minimumScale: 1);
                compared++;
            }
        }

        return compared;
    }

    /// <summary>
    /// Each entry's golden case with one row-indexed input one row too long (every input but a class matrix: a cosine
    /// head's weight or the centers, whose rows are classes): the layout refuses it as a "shape mismatch" naming that
    /// input, before any loss code runs (run N: the layouts' checks could be removed with every test passing). The cosine
    /// head is left out: its one row-indexed input has no partner, so any batch is valid.
    /// </summary>
    [Theory]
    [MemberData(nameof(RowPairedEntries))]
    public void EveryEntry_RefusesAnInputOneRowTooLong(string id)
    {
        string first = LossRegistry.Get(id).Layout.Inputs[0].Name;
        Case c = Cases.Value.First(x => x.Entry == id && x.Json[first] is JsonNode i && Shape(i) is { Length: > 0 } s && s[0] > 0);
        (LossEntry entry, LossArguments args, Dictionary<string, LayoutTensor<double>> good) = Bind<double>(c);
        Assert.NotNull(entry.Evaluate(args, good)); // the unchanged case evaluates
        int tried = 0;
        foreach (LayoutInput input in entry.Layout.Inputs.Where(i => i.Name is not ("weight" or "centers")))
        {
            LayoutTensor<double> x = good[input.Name];
            if (x.Shape.Length == 0)
            {
                continue;
            }

            int[] shape = [x.Shape[0] + 1, .. x.Shape.Skip(1)];
            var inputs = new Dictionary<string, LayoutTensor<double>>(good)
            {
                [input.Name] = new LayoutTensor<double>(input.Name, shape, new double[shape.Aggregate(1, (a, b) => a * b)]),
            };
            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(args, inputs));
            Assert.StartsWith("shape mismatch: ", e.Message, StringComparison.Ordinal);
            Assert.Contains(input.Name, e.Message, StringComparison.Ordinal);
            tried++;
        }

        Assert.True(tried >= 2, $"{id}: {tried} inputs tried");
    }

    /// <summary>Cross-entropy's probability targets ([N, C] like the input) through the layout: the shape is checked, avg_factor refused.</summary>
    [Fact]
    public void CrossEntropy_ProbabilityTargets_ShapeChecked()
    {
        LossEntry entry = LossRegistry.Get("cross_entropy");
        LayoutTensor<double> x = new("input", [2, 3], [0.5, -1, 2, 0, 0.25, 1]);
        Dictionary<string, LayoutTensor<double>> Inputs(int[] shape) => new()
        {
            ["input"] = x,
            ["target"] = new("target", shape, [.. Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => (i % 3) / 3.0)]),
        };
        double expected = new LossKit.Classification.CrossEntropyLoss<double>().Forward(x.Data, Inputs([2, 3])["target"].Data, 2, 3);
        Assert.Equal(expected, entry.Evaluate(entry.Arguments(), Inputs([2, 3])).Value);
        foreach (int[] bad in new[] { new[] { 3, 3 }, [2, 4], [1, 3] })
        {
            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(entry.Arguments(), Inputs(bad)));
            Assert.StartsWith("shape mismatch: target", e.Message, StringComparison.Ordinal);
        }

        LossChecks.ThrowsNaming("avg_factor", () => entry.Evaluate(entry.Arguments().Set("avg_factor", 4.0), Inputs([2, 3])), "not supported with probability targets");
    }

    /// <summary>The entry, its arguments and its named inputs for a golden case.</summary>
    private static (LossEntry Entry, LossArguments Args, Dictionary<string, LayoutTensor<T>> Inputs) Bind<T>(Case c)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        LossEntry entry = LossRegistry.Get(c.Entry);
        string loss = c.Json["loss"]!.GetValue<string>();
        LossArguments args;
        if (c.Convenience is { } convenience)
        {
            args = entry.Arguments().Set("reduction", Enum.Parse<Reduction>(c.Json["params"]!["reduction"]!.GetValue<string>(), ignoreCase: true));
            foreach ((string name, object value) in convenience(c.Json["params"]!.AsObject()))
            {
                args.Set(name, value);
            }
        }
        else
        {
            var parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(c.Json["params"]!.ToJsonString())!;
            args = GoldenEntries.Arguments(loss, parameters, name => c.Json[name] is JsonNode v ? Data(v) : null);
        }

        var inputs = new Dictionary<string, LayoutTensor<T>>();
        foreach (LayoutInput input in entry.Layout.Inputs)
        {
            JsonNode t = c.Json[input.Name] ?? throw new InvalidDataException($"{c.Name}: no '{input.Name}'");
            inputs[input.Name] = new LayoutTensor<T>(input.Name, Shape(t), Array.ConvertAll(Data(t), T.CreateTruncating));
        }

        return (entry, args, inputs);
    }

    /// <summary>A loss bound by its layout allocates nothing per call once warm (the benchmark path).</summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void BoundLoss_AllocatesNothingPerCall(string id)
    {
        string first = LossRegistry.Get(id).Layout.Inputs[0].Name;
        Case c = Cases.Value.Where(x => x.Entry == id).MaxBy(x => x.Json[first]!["data"]!.AsArray().Count)!;
        (LossEntry entry, LossArguments args, Dictionary<string, LayoutTensor<double>> inputs) = Bind<double>(c);
        BoundLoss<double> bound = entry.Layout.Bind(entry.Create<double>(args), args, inputs);
        SteadyStateAllocation.AssertNone(("Forward", () => bound.Forward()), ("ForwardBackward", () => bound.ForwardBackward()));
    }

    private static int[] Shape(JsonNode t) => [.. t["shape"]!.AsArray().Select(d => d!.GetValue<int>())];

    private static double[] Data(JsonNode t) => [.. t["data"]!.AsArray().Select(GoldenNumber)];

    private static double GoldenNumber(JsonNode? n) => n!.GetValueKind() == JsonValueKind.String
        ? n.GetValue<string>() switch { "NaN" => double.NaN, "Infinity" or "inf" => double.PositiveInfinity, _ => double.NegativeInfinity }
        : n.GetValue<double>();

    public static TheoryData<int> BaselineChunks() => [.. Enumerable.Range(0, 8)];

    /// <summary>
    /// losskit eval reproduces, byte for byte, the outputs of commit 96f3627 on 224 documents × 2 dtypes (recorded from
    /// that commit's Release build; its Debug build gives the same bytes). They were recorded with the 512-bit blocks
    /// and 256-bit Vector&lt;T&gt; (Vector512 accelerated): a narrower tier takes other kernel paths whose last bits may
    /// differ (documented on the row kernels), so the 256-bit, 128-bit and scalar legs compare nothing here. The
    /// forced 512-bit leg (LOSSKIT_SIMD_TIER=512, Vector512 in software) does: the software blocks give the same bytes.
    /// </summary>
    [Theory]
    [MemberData(nameof(BaselineChunks))]
    public void Eval_Output_IsByteIdentical_ToThePreRegistryBaseline(int chunk)
    {
        if (!(LossKit.Internal.VMath.IsWide<float>() && System.Numerics.Vector.IsHardwareAccelerated && System.Numerics.Vector<byte>.Count == 32))
        {
            return;
        }

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
