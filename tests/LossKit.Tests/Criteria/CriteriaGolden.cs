using System.Numerics;
using System.Text.Json;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>
/// One case of <c>Reference/criteria.json</c> (written by tests/reference/generate_criteria.py): its kind, parameters,
/// named input tensors and named reference outputs (torchvision 0.14 / PyTorch 1.13 in float64).
/// </summary>
public sealed class CriteriaCase
{
    public required string Name { get; init; }

    public required string Kind { get; init; }

    public required IReadOnlyDictionary<string, JsonElement> Params { get; init; }

    public required IReadOnlyDictionary<string, GoldenTensor> Inputs { get; init; }

    public required IReadOnlyDictionary<string, GoldenTensor> Outputs { get; init; }

    /// <summary>Cases whose inputs are not float32-representable (the REFERENCES.md literals): double only.</summary>
    public bool DoubleOnly => Params.TryGetValue("double_only", out JsonElement e) && e.GetBoolean();

    public T[] In<T>(string key)
        where T : IFloatingPointIeee754<T> => Array.ConvertAll(Inputs[key].Data, v => T.CreateTruncating(v));

    public int[] InInts(string key) => Inputs[key].AsIndices();

    public int[] Shape(string key) => Inputs[key].Shape;

    public double Number(string key) => Params[key].GetDouble();

    public int Integer(string key) => Params[key].GetInt32();

    public string Text(string key) => Params[key].GetString()!;

    public bool Flag(string key) => Params[key].GetBoolean();

    public double[]? Numbers(string key) =>
        Params.TryGetValue(key, out JsonElement e) ? e.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;

    public override string ToString() => Name;
}

/// <summary>Loads criteria.json once (it is copied next to the test assembly) and serves cases by name or kind.</summary>
public static class CriteriaGolden
{
    public const string FileName = "criteria.json";

    private static readonly Lazy<IReadOnlyList<CriteriaCase>> s_all = new(Load);

    private static readonly Lazy<IReadOnlyDictionary<string, CriteriaCase>> s_byName = new(() =>
        s_all.Value.ToDictionary(c => c.Name, StringComparer.Ordinal));

    public static IReadOnlyList<CriteriaCase> All => s_all.Value;

    public static CriteriaCase Get(string name) => s_byName.Value[name];

    /// <summary>xunit member data: the names of the cases of one kind.</summary>
    public static TheoryData<string> Names(string kind) => GoldenJson.Names(All, c => c.Kind == kind, c => c.Name);

    private static List<CriteriaCase> Load() =>
        GoldenJson.LoadCases(FileName, c => new CriteriaCase
        {
            Name = c.GetProperty("name").GetString()!,
            Kind = c.GetProperty("kind").GetString()!,
            Params = GoldenJson.Params(c),
            Inputs = GoldenJson.Tensors(c.GetProperty("inputs")),
            Outputs = GoldenJson.Tensors(c.GetProperty("outputs")),
        });
}
