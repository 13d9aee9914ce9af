using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Layouts;
using LossKit.Registry;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.HalfPrecision;

/// <summary>
/// Every registry entry in Half against PyTorch (tests/reference/generate_half.py → Reference/half.json): random,
/// large (reductions over thousands of values or classes) and extreme cases (near 65504 and 6.1e-5, subnormals), through
/// the registry's layout evaluation. Each case is held to PyTorch's float32 result rounded to Half (one Half rounding
/// apart: 1e-3 normalised), and, where torch 1.13 has a CPU half kernel that agrees with it, to torch's own half
/// result (1e-2: torch rounds its intermediates to Half).
/// </summary>
public class HalfGoldenTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Float32 rounded to Half against LossKit's float32 path rounded to Half: at most one Half step apart.</summary>
    private const double Float32Tolerance = 1e-3;

    /// <summary>torch's half kernels round every intermediate to Half.</summary>
    private const double TorchHalfTolerance = 1e-2;

    private static readonly Lazy<Dictionary<string, JsonObject>> Cases = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "half.json")))!["cases"]!.AsArray()
            .Select(c => c!.AsObject()).ToDictionary(c => c["name"]!.GetValue<string>()));

    public static TheoryData<string> Names() => [.. Cases.Value.Keys];

    [Fact]
    public void EveryRegistryEntry_HasHalfCases_WithExtremes()
    {
        foreach (LossEntry entry in LossRegistry.Entries)
        {
            string[] mine = [.. Cases.Value.Values.Where(c => c["entry"]!.GetValue<string>() == entry.Id).Select(c => c["name"]!.GetValue<string>())];
            Assert.True(mine.Length >= 2, $"{entry.Id}: {mine.Length} Half cases");
            if (entry.Family != LossFamily.Criteria)
            {
                Assert.Contains(mine, n => n.Contains("/extreme", StringComparison.Ordinal) || n.Contains("/large", StringComparison.Ordinal));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Half_MatchesPyTorch(string name)
    {
        foreach ((string key, double[] actual, bool torchHalf) in Evaluate(name))
        {
            Check(actual, Cases.Value[name], key, name, torchHalf);
        }
    }

    /// <summary>The worst normalised errors per family, against float32 rounded to Half and against torch's half (to the test output).</summary>
    [Fact]
    public void Half_ErrorTable()
    {
        var rows = new SortedDictionary<string, double[]>(StringComparer.Ordinal);
        foreach (string name in Cases.Value.Keys)
        {
            JsonObject c = Cases.Value[name];
            string family = LossRegistry.Get(c["entry"]!.GetValue<string>()).Family.ToString();
            double[] row = rows.TryGetValue(family, out double[]? r) ? r : [0, 0, 0, 0];
            row[0]++;
            foreach ((string key, double[] actual, bool torchHalf) in Evaluate(name))
            {
                row[1] = Math.Max(row[1], Tolerance.Worst(actual, AsHalf(c["f32_" + key]!), Tolerance.Half).Error);
                if (torchHalf)
                {
                    row[2]++;
                    row[3] = Math.Max(row[3], Tolerance.Worst(actual, AsHalf(c[key]!), Tolerance.Half).Error);
                }
            }

            rows[family] = row;
        }

        output.WriteLine("Half against PyTorch (half.json), max normalised error: family, cases, vs float32 rounded to Half, arrays vs torch half, vs torch half");
        foreach ((string family, double[] row) in rows)
        {
            output.WriteLine(FormattableString.Invariant($"{family,-16} {row[0],4} {row[1],10:E2} {row[2],4} {row[3],10:E2}"));
            Assert.True(row[1] <= Float32Tolerance && row[3] <= TorchHalfTolerance, family);
        }
    }

    /// <summary>A case through the registry in Half: (key, LossKit's result, whether a torch-half reference exists).</summary>
    private static IEnumerable<(string Key, double[] Actual, bool TorchHalf)> Evaluate(string name)
    {
        JsonObject c = Cases.Value[name];
        LossEntry entry = LossRegistry.Get(c["entry"]!.GetValue<string>());
        LossArguments args = entry.Arguments();
        foreach ((string key, JsonNode? value) in c["params"]!.AsObject())
        {
            LossParameter p = entry.Parameter(key) ?? throw new InvalidDataException($"{name}: no parameter '{key}'");
            object v = value!.GetValueKind() == JsonValueKind.Array
                ? value.AsArray().Select(x => x!.GetValue<double>()).ToArray()
                : GoldenEntries.Scalar(p, JsonSerializer.Deserialize<JsonElement>(value.ToJsonString()));
            args.Set(key, v);
        }

        var inputs = new Dictionary<string, LayoutTensor<Half>>();
        foreach (LayoutInput input in entry.Layout.Inputs)
        {
            JsonNode t = c[input.Name] ?? throw new InvalidDataException($"{name}: no '{input.Name}'");
            double[] data = Data(t);

            // Class indices past 2048 are not Half integers: an index input carries its exact values too.
            inputs[input.Name] = new LayoutTensor<Half>(input.Name, Shape(t), Array.ConvertAll(data, v => (Half)v))
            {
                IndexData = input.Indices ? Array.ConvertAll(data, v => (int)v) : null,
            };
        }

        LossEvaluation<Half> result = entry.Evaluate(args, inputs);
        double[] values = result.Values is { } v32 ? Tolerance.Widen<Half>(v32.Data) : [(double)result.Value];
        bool torchHalf = c["reference"]!.GetValue<string>() == "torch_half";
        var outputs = new List<(string, double[], bool)> { ("value", values, torchHalf) };
        foreach (LayoutTensor<Half> g in result.Gradients)
        {
            outputs.Add(("grad_" + g.Name, Tolerance.Widen<Half>(g.Data), torchHalf));
        }

        return outputs;
    }

    private static void Check(double[] actual, JsonObject c, string key, string name, bool torchHalf)
    {
        JsonNode expected32 = c["f32_" + key] ?? throw new InvalidDataException($"{name}: no 'f32_{key}'");
        Tolerance.AssertClose(actual, AsHalf(expected32), Tolerance.Half, Float32Tolerance, $"{name} {key} vs float32 rounded to Half");
        if (torchHalf)
        {
            Tolerance.AssertClose(actual, AsHalf(c[key]!), Tolerance.Half, TorchHalfTolerance, $"{name} {key} vs torch half");
        }
    }

    private static double[] AsHalf(JsonNode t) => Array.ConvertAll(Data(t), v => (double)(Half)v);

    private static int[] Shape(JsonNode t) => [.. t["shape"]!.AsArray().Select(d => d!.GetValue<int>())];

    /// <summary>The flat data, or the "repeat" pattern tiled to the shape's element count.</summary>
    private static double[] Data(JsonNode t)
    {
        if (t["data"] is JsonArray data)
        {
            return [.. data.Select(Number)];
        }

        double[] pattern = [.. t["repeat"]!.AsArray().Select(Number)];
        long count = Shape(t).Aggregate(1L, (a, b) => a * b);
        var all = new double[count];
        for (long i = 0; i < count; i++)
        {
            all[i] = pattern[i % pattern.Length];
        }

        return all;
    }

    private static double Number(JsonNode? n) => n!.GetValueKind() == JsonValueKind.String
        ? n.GetValue<string>() switch { "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, _ => double.NegativeInfinity }
        : n.GetValue<double>();
}
