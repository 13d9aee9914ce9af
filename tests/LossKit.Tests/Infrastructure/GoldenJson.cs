using System.Text.Json;

namespace LossKit.Tests.Infrastructure;

/// <summary>
/// The JSON conventions every golden file shares (they are written by tests/reference/refcommon.py): a document whose
/// "cases" array lies next to the test assembly under Reference/, hyper-parameters in a "params" object, and tensors
/// { "shape": [...], "data": [flat row-major values] } whose values are JSON numbers or the strings "NaN", "Infinity"
/// and "-Infinity". <see cref="Golden"/>, CriteriaGolden and MetricGolden read their files with these helpers and
/// differ only in how they lay out a case.
/// </summary>
public static class GoldenJson
{
    /// <summary>Reads every case of Reference/<paramref name="file"/> with <paramref name="read"/>, in file order.</summary>
    public static List<TCase> LoadCases<TCase>(string file, Func<JsonElement, TCase> read)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Reference", file);
        using FileStream stream = File.OpenRead(path);
        using JsonDocument doc = JsonDocument.Parse(stream);
        var cases = new List<TCase>();
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            cases.Add(read(c));
        }

        return cases;
    }

    /// <summary>A case's "params" object by name, each value cloned so that it outlives the document.</summary>
    public static Dictionary<string, JsonElement> Params(JsonElement c)
    {
        var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (JsonProperty p in c.GetProperty("params").EnumerateObject())
        {
            parameters[p.Name] = p.Value.Clone();
        }

        return parameters;
    }

    /// <summary>The properties of <paramref name="obj"/> that are tensors (objects with a "shape"), by name.</summary>
    public static Dictionary<string, GoldenTensor> Tensors(JsonElement obj)
    {
        var tensors = new Dictionary<string, GoldenTensor>(StringComparer.Ordinal);
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("shape", out _))
            {
                tensors[p.Name] = Tensor(p.Value);
            }
        }

        return tensors;
    }

    /// <summary>The tensor property <paramref name="key"/> of <paramref name="c"/>, or null where the case has none.</summary>
    public static GoldenTensor? OptionalTensor(JsonElement c, string key) =>
        c.TryGetProperty(key, out JsonElement e) ? Tensor(e) : null;

    /// <summary>Parses one tensor; throws <see cref="InvalidDataException"/> for a value that is neither a number nor
    /// one of the non-finite strings, and for a shape whose element count differs from the data's length.</summary>
    public static GoldenTensor Tensor(JsonElement e)
    {
        int[] shape = e.GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()).ToArray();
        JsonElement data = e.GetProperty("data");
        var values = new double[data.GetArrayLength()];
        int i = 0;
        foreach (JsonElement v in data.EnumerateArray())
        {
            values[i++] = v.ValueKind switch
            {
                JsonValueKind.Number => v.GetDouble(),
                JsonValueKind.String => v.GetString() switch
                {
                    "NaN" => double.NaN,
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    string s => throw new InvalidDataException($"unexpected string '{s}' in golden data"),
                    null => throw new InvalidDataException("null in golden data"),
                },
                _ => throw new InvalidDataException($"unexpected {v.ValueKind} in golden data"),
            };
        }

        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length)
        {
            throw new InvalidDataException($"shape [{string.Join(",", shape)}] does not match {values.Length} values");
        }

        return new GoldenTensor(shape, values);
    }

    /// <summary>xunit member data: the names of the cases that <paramref name="include"/> selects, in file order.</summary>
    public static TheoryData<string> Names<TCase>(IEnumerable<TCase> cases, Func<TCase, bool> include, Func<TCase, string> name)
    {
        var data = new TheoryData<string>();
        foreach (TCase c in cases)
        {
            if (include(c))
            {
                data.Add(name(c));
            }
        }

        return data;
    }
}
