using System.Globalization;
using System.Text.Json;
using LossKit.Cli.Commands;

namespace LossKit.Cli.Eval;

/// <summary>An input array from the document: its shape and values (as doubles; converted to the dtype later).</summary>
internal sealed class TensorArg(string name, int[] shape, double[] data)
{
    public string Name { get; } = name;

    public int[] Shape { get; } = shape;

    public double[] Data { get; } = data;

    public int Rank => Shape.Length;

    public string ShapeText => ShapeString(Shape);

    public static string ShapeString(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";
}

/// <summary>
/// The parsed <c>losskit eval</c> document: <c>{"loss": name, "dtype"?: "float64"|"float32", "params"?: {...},
/// "inputs": {name: {"shape": [...], "data": [...]} | nested array | number}}</c>.
/// </summary>
internal sealed class EvalDocument
{
    private static readonly string[] TopLevelKeys = ["loss", "dtype", "params", "inputs"];

    private EvalDocument(string loss, string? dtype, Dictionary<string, JsonElement> parameters, Dictionary<string, TensorArg> inputs)
    {
        Loss = loss;
        Dtype = dtype;
        Params = parameters;
        Inputs = inputs;
    }

    public string Loss { get; }

    public string? Dtype { get; }

    /// <summary>Parameters by name, in document order (values are cloned, independent of the parsed document).</summary>
    public Dictionary<string, JsonElement> Params { get; }

    public Dictionary<string, TensorArg> Inputs { get; }

    /// <summary>Parses and checks the document's structure; throws <see cref="CliException"/> with one clear message.</summary>
    public static EvalDocument Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new CliException("malformed JSON: " + e.Message.ReplaceLineEndings(" "));
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CliException($"the document must be a JSON object with \"loss\" and \"inputs\", got {Kind(root)}");
            }

            foreach (JsonProperty p in root.EnumerateObject())
            {
                if (!TopLevelKeys.Contains(p.Name))
                {
                    throw new CliException($"unknown key '{p.Name}' in the document (known: {string.Join(", ", TopLevelKeys)})");
                }
            }

            if (!root.TryGetProperty("loss", out JsonElement lossElement) || lossElement.ValueKind != JsonValueKind.String)
            {
                throw new CliException("the document needs \"loss\": a loss name string (see 'losskit list')");
            }

            string? dtype = null;
            if (root.TryGetProperty("dtype", out JsonElement dtypeElement) && dtypeElement.ValueKind != JsonValueKind.Null)
            {
                dtype = dtypeElement.ValueKind == JsonValueKind.String
                    ? dtypeElement.GetString()
                    : throw new CliException($"\"dtype\" must be a string (float64 or float32), got {Kind(dtypeElement)}");
            }

            var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (root.TryGetProperty("params", out JsonElement paramsElement) && paramsElement.ValueKind != JsonValueKind.Null)
            {
                if (paramsElement.ValueKind != JsonValueKind.Object)
                {
                    throw new CliException($"\"params\" must be an object, got {Kind(paramsElement)}");
                }

                foreach (JsonProperty p in paramsElement.EnumerateObject())
                {
                    if (!parameters.TryAdd(p.Name, p.Value.Clone()))
                    {
                        throw new CliException($"parameter '{p.Name}' is given twice");
                    }
                }
            }

            if (!root.TryGetProperty("inputs", out JsonElement inputsElement) || inputsElement.ValueKind != JsonValueKind.Object)
            {
                throw new CliException("the document needs \"inputs\": an object of named arrays, e.g. {\"input\": {\"shape\": [2], \"data\": [0.5, 1]}}");
            }

            var inputs = new Dictionary<string, TensorArg>(StringComparer.Ordinal);
            foreach (JsonProperty p in inputsElement.EnumerateObject())
            {
                if (inputs.ContainsKey(p.Name))
                {
                    throw new CliException($"input '{p.Name}' is given twice");
                }

                inputs[p.Name] = ParseTensor(p.Value, "inputs." + p.Name, p.Name);
            }

            return new EvalDocument(lossElement.GetString()!, dtype, parameters, inputs);
        }
    }

    /// <summary>A tensor: {"shape": [...], "data": flat or nested array}, a (nested) array, or a single number.</summary>
    public static TensorArg ParseTensor(JsonElement e, string where, string name)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            int[]? shape = null;
            JsonElement? data = null;
            foreach (JsonProperty p in e.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "shape":
                        shape = ParseShape(p.Value, where);
                        break;
                    case "data":
                        data = p.Value;
                        break;
                    default:
                        throw new CliException($"{where}: unknown key '{p.Name}' (an array is {{\"shape\": [...], \"data\": [...]}})");
                }
            }

            if (data is null)
            {
                throw new CliException($"{where}: missing \"data\"");
            }

            (int[] inferred, double[] values) = Flatten(data.Value, where);
            if (shape is null)
            {
                return new TensorArg(name, inferred, values);
            }

            long expected = shape.Aggregate(1L, (a, b) => a * b);
            if (values.Length != expected)
            {
                throw new CliException($"{where}: \"data\" has {values.Length} values but shape {TensorArg.ShapeString(shape)} needs {expected}");
            }

            if (inferred.Length > 1 && !inferred.SequenceEqual(shape))
            {
                throw new CliException($"{where}: nested \"data\" has shape {TensorArg.ShapeString(inferred)} but \"shape\" says {TensorArg.ShapeString(shape)}");
            }

            return new TensorArg(name, shape, values);
        }

        if (e.ValueKind is JsonValueKind.Array or JsonValueKind.Number or JsonValueKind.String)
        {
            (int[] shape, double[] values) = Flatten(e, where);
            return new TensorArg(name, shape, values);
        }

        throw new CliException($"{where} must be an array ({{\"shape\": [...], \"data\": [...]}} or a nested list), got {Kind(e)}");
    }

    private static int[] ParseShape(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new CliException($"{where}: \"shape\" must be an array of non-negative integers, got {Kind(e)}");
        }

        var shape = new List<int>();
        foreach (JsonElement d in e.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int n) || n < 0)
            {
                throw new CliException($"{where}: \"shape\" must hold non-negative integers, got {d.GetRawText()}");
            }

            shape.Add(n);
        }

        return [.. shape];
    }

    /// <summary>Flattens a (nested, rectangular) array of numbers row-major and returns its shape.</summary>
    private static (int[] Shape, double[] Data) Flatten(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            return ([], [Number(e, where)]);
        }

        var data = new List<double>();
        int[]? shape = null;
        void Walk(JsonElement node, List<int> path)
        {
            if (node.ValueKind != JsonValueKind.Array)
            {
                int[] here = [.. path];
                if (shape is null)
                {
                    shape = here;
                }
                else if (!shape.AsSpan().SequenceEqual(here))
                {
                    throw new CliException($"{where}: nested \"data\" is ragged (rows of different lengths or depths)");
                }

                data.Add(Number(node, where));
                return;
            }

            int count = node.GetArrayLength();
            if (count == 0)
            {
                int[] here = [.. path, 0];
                if (shape is null)
                {
                    shape = here;
                }

                return;
            }

            path.Add(count);
            foreach (JsonElement child in node.EnumerateArray())
            {
                Walk(child, path);
            }

            path.RemoveAt(path.Count - 1);
        }

        // Shapes are checked by comparing the list of lengths along the path to each leaf.
        Walk(e, []);
        return (shape ?? [0], [.. data]);
    }

    /// <summary>A JSON number, or one of the strings NaN, Infinity, -Infinity (JSON has no literal for them).</summary>
    public static double Number(JsonElement e, string where)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                return e.GetDouble();
            case JsonValueKind.String:
                string s = e.GetString()!;
                if (s is "NaN" or "nan")
                {
                    return double.NaN;
                }

                if (s is "Infinity" or "inf" or "+Infinity" or "+inf")
                {
                    return double.PositiveInfinity;
                }

                if (s is "-Infinity" or "-inf")
                {
                    return double.NegativeInfinity;
                }

                throw new CliException($"{where}: expected a number, got the string \"{s}\"");
            default:
                throw new CliException($"{where}: expected a number, got {Kind(e)}");
        }
    }

    public static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string \"{e.GetString()}\"",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture),
    };
}
