using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
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
/// <remarks>
/// The document is read from its UTF-8 bytes with <see cref="Utf8JsonReader"/>, never as a tree: a document of
/// millions of numbers would otherwise hold a token table and boxed lists several times its size. A first pass checks
/// the syntax of the whole document and notes where each top-level value starts, so the checks run in a fixed order
/// (syntax, keys, loss, dtype, params, inputs) whatever the key order; the arrays are then read into exact-size arrays.
/// </remarks>
internal sealed class EvalDocument
{
    private static readonly string[] TopLevelKeys = ["loss", "dtype", "params", "inputs"];

    private static readonly JsonReaderOptions ReaderOptions = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip };

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
    public static EvalDocument Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    /// <summary>Parses a document from its UTF-8 bytes (a leading byte-order mark is skipped).</summary>
    public static EvalDocument Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }

        Dictionary<string, int> values = TopLevelValues(utf8, out JsonTokenType rootToken, out int rootStart);
        if (rootToken != JsonTokenType.StartObject)
        {
            var root = new Utf8JsonReader(utf8[rootStart..], ReaderOptions);
            root.Read();
            throw new CliException($"the document must be a JSON object with \"loss\" and \"inputs\", got {Kind(ref root, utf8[rootStart..])}");
        }

        if (!values.TryGetValue("loss", out int lossAt) || Value(utf8, lossAt) is not { TokenType: JsonTokenType.String } lossReader)
        {
            throw new CliException("the document needs \"loss\": a loss name string (see 'losskit list')");
        }

        string loss = lossReader.GetString()!;
        string? dtype = null;
        if (values.TryGetValue("dtype", out int dtypeAt) && Value(utf8, dtypeAt) is { TokenType: not JsonTokenType.Null } dtypeReader)
        {
            dtype = dtypeReader.TokenType == JsonTokenType.String
                ? dtypeReader.GetString()
                : throw new CliException($"\"dtype\" must be a string (float64 or float32), got {Kind(ref dtypeReader, utf8[dtypeAt..])}");
        }

        var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (values.TryGetValue("params", out int paramsAt) && Value(utf8, paramsAt) is { TokenType: not JsonTokenType.Null } paramsReader)
        {
            if (paramsReader.TokenType != JsonTokenType.StartObject)
            {
                throw new CliException($"\"params\" must be an object, got {Kind(ref paramsReader, utf8[paramsAt..])}");
            }

            // Parameters are a handful of small values: a tree is the simple way to hand them to ParamReader.
            using JsonDocument paramsDoc = JsonDocument.ParseValue(ref paramsReader);
            foreach (JsonProperty p in paramsDoc.RootElement.EnumerateObject())
            {
                if (!parameters.TryAdd(p.Name, p.Value.Clone()))
                {
                    throw new CliException($"parameter '{p.Name}' is given twice");
                }
            }
        }

        if (!values.TryGetValue("inputs", out int inputsAt) || Value(utf8, inputsAt).TokenType != JsonTokenType.StartObject)
        {
            throw new CliException("the document needs \"inputs\": an object of named arrays, e.g. {\"input\": {\"shape\": [2], \"data\": [0.5, 1]}}");
        }

        var inputs = new Dictionary<string, TensorArg>(StringComparer.Ordinal);
        ReadOnlySpan<byte> inputsValue = utf8[inputsAt..];
        var reader = new Utf8JsonReader(inputsValue, ReaderOptions);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            if (inputs.ContainsKey(name))
            {
                throw new CliException($"input '{name}' is given twice");
            }

            reader.Read();
            int at = (int)reader.TokenStartIndex;
            inputs[name] = ParseTensor(inputsValue[at..], "inputs." + name, name);
            reader.Skip();
        }

        return new EvalDocument(loss, dtype, parameters, inputs);
    }

    /// <summary>
    /// Checks the whole document's syntax and returns where each top-level key's value starts; a key given twice, or
    /// one not in <see cref="TopLevelKeys"/>, is an error (in document order, after the syntax).
    /// </summary>
    private static Dictionary<string, int> TopLevelValues(ReadOnlySpan<byte> utf8, out JsonTokenType rootToken, out int rootStart)
    {
        var keys = new List<(string Name, int ValueAt)>();
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        try
        {
            // A final block without a token (empty, or only comments) throws here, as any other malformed input.
            reader.Read();
            rootToken = reader.TokenType;
            rootStart = (int)reader.TokenStartIndex;
            string? pending = null;
            while (reader.Read())
            {
                if (pending is not null)
                {
                    keys.Add((pending, (int)reader.TokenStartIndex));
                    pending = null;
                }

                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    pending = reader.GetString();
                }
            }
        }
        catch (JsonException e)
        {
            throw new CliException("malformed JSON: " + e.Message.ReplaceLineEndings(" "));
        }

        var values = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((string name, int at) in keys)
        {
            if (!TopLevelKeys.Contains(name))
            {
                throw new CliException($"unknown key '{name}' in the document (known: {string.Join(", ", TopLevelKeys)})");
            }

            if (!values.TryAdd(name, at))
            {
                throw new CliException($"key '{name}' is given twice in the document");
            }
        }

        return values;
    }

    /// <summary>A reader on the first token of the value at <paramref name="at"/>.</summary>
    private static Utf8JsonReader Value(ReadOnlySpan<byte> utf8, int at)
    {
        var reader = new Utf8JsonReader(utf8[at..], ReaderOptions);
        reader.Read();
        return reader;
    }

    /// <summary>A tensor given as a parsed element (array-valued parameters).</summary>
    public static TensorArg ParseTensor(JsonElement e, string where, string name) => ParseTensor(JsonMarshal.GetRawUtf8Value(e), where, name);

    /// <summary>
    /// A tensor from the UTF-8 text of one (syntactically valid) value: {"shape": [...], "data": flat or nested array},
    /// a (nested) array, or a single number.
    /// </summary>
    private static TensorArg ParseTensor(ReadOnlySpan<byte> value, string where, string name)
    {
        var reader = new Utf8JsonReader(value, ReaderOptions);
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            int[]? shape = null;
            int dataAt = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                reader.Read();
                switch (key)
                {
                    case "shape":
                        shape = shape is null ? ParseShape(ref reader, value, where) : throw new CliException($"{where}: \"shape\" is given twice");
                        break;
                    case "data":
                        dataAt = dataAt < 0 ? (int)reader.TokenStartIndex : throw new CliException($"{where}: \"data\" is given twice");
                        reader.Skip();
                        break;
                    default:
                        throw new CliException($"{where}: unknown key '{key}' (an array is {{\"shape\": [...], \"data\": [...]}})");
                }
            }

            if (dataAt < 0)
            {
                throw new CliException($"{where}: missing \"data\"");
            }

            (int[] inferred, double[] values) = Flatten(value[dataAt..], where);
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

        if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.Number or JsonTokenType.String)
        {
            (int[] shape, double[] values) = Flatten(value, where);
            return new TensorArg(name, shape, values);
        }

        throw new CliException($"{where} must be an array ({{\"shape\": [...], \"data\": [...]}} or a nested list), got {Kind(ref reader, value)}");
    }

    /// <summary>Reads "shape" (the reader on its first token); its element count must fit one array.</summary>
    private static int[] ParseShape(ref Utf8JsonReader reader, ReadOnlySpan<byte> value, string where)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new CliException($"{where}: \"shape\" must be an array of non-negative integers, got {Kind(ref reader, value)}");
        }

        var shape = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int n) || n < 0)
            {
                throw new CliException($"{where}: \"shape\" must hold non-negative integers, got {RawText(ref reader, value)}");
            }

            shape.Add(n);
        }

        // A checked product: 64-bit products of large dimensions wrap (65536^4 is 0 modulo 2^64).
        long count = 1;
        foreach (int n in shape)
        {
            count = n == 0 || count == 0 ? 0 : count <= Array.MaxLength / n ? count * n : long.MaxValue;
        }

        if (count > Array.MaxLength)
        {
            throw new CliException($"{where}: \"shape\" {TensorArg.ShapeString(shape)} has more elements than an array can hold ({Array.MaxLength.ToString("N0", CultureInfo.InvariantCulture)})");
        }

        return [.. shape];
    }

    /// <summary>
    /// Flattens a (nested, rectangular) array of numbers row-major and returns its shape. Every number's path — the
    /// lengths of the arrays around it — must equal the first one's, and an empty array's path (ending in 0) likewise;
    /// the first path fixes the element count, so the values go straight into an array of their exact size.
    /// </summary>
    private static (int[] Shape, double[] Data) Flatten(ReadOnlySpan<byte> value, string where)
    {
        var reader = new Utf8JsonReader(value, ReaderOptions);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return ([], [Number(ref reader, value, where)]);
        }

        var walk = new FlattenState(where, value.Length);
        walk.Array(ref reader, value);
        return (walk.Shape ?? [0], walk.Data ?? []);
    }

    /// <summary>The walk of <see cref="Flatten"/>: the current path, the shape the first leaf fixed, the values so far.</summary>
    private sealed class FlattenState(string where, int bytes)
    {
        private readonly List<int> path = [];

        private int count;

        public int[]? Shape { get; private set; }

        public double[]? Data { get; private set; }

        /// <summary>Walks the array the reader is on (a StartArray), leaving the reader on its EndArray.</summary>
        public void Array(ref Utf8JsonReader reader, ReadOnlySpan<byte> value)
        {
            int length = Length(reader);
            if (length == 0)
            {
                path.Add(0);
                Check();
                path.RemoveAt(path.Count - 1);
                reader.Read();
                return;
            }

            path.Add(length);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    Array(ref reader, value);
                    continue;
                }

                Check();
                double v = Number(ref reader, value, where);
                if (Data is null)
                {
                    // The first leaf: the values number the product of its path (all later leaves must share it), and
                    // at most one per two bytes of text, which bounds what a ragged document could make us allocate.
                    long total = 1;
                    foreach (int n in Shape!)
                    {
                        total = Math.Min(total * n, bytes / 2 + 1);
                    }

                    Data = new double[total];
                }

                Data[count++] = v;
            }

            path.RemoveAt(path.Count - 1);
        }

        /// <summary>The current path must equal the shape (which the first leaf or empty array sets).</summary>
        private void Check()
        {
            if (Shape is null)
            {
                Shape = [.. path];
            }
            else if (!Shape.AsSpan().SequenceEqual(CollectionsMarshal.AsSpan(path)))
            {
                throw new CliException($"{where}: nested \"data\" is ragged (rows of different lengths or depths)");
            }
        }

        /// <summary>The number of elements of the array the reader is on, read ahead on a copy of the reader.</summary>
        private static int Length(Utf8JsonReader ahead)
        {
            int n = 0;
            while (ahead.Read() && ahead.TokenType != JsonTokenType.EndArray)
            {
                n++;
                ahead.Skip();
            }

            return n;
        }
    }

    /// <summary>A JSON number, or one of the strings NaN, Infinity, -Infinity (JSON has no literal for them).</summary>
    private static double Number(ref Utf8JsonReader reader, ReadOnlySpan<byte> value, string where)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return reader.GetDouble();
            case JsonTokenType.String:
                string s = reader.GetString()!;
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
                throw new CliException($"{where}: expected a number, got {Kind(ref reader, value)}");
        }
    }

    /// <summary>The value's source text (the reader on its first token), as <see cref="JsonElement.GetRawText"/> gives it.</summary>
    private static string RawText(ref Utf8JsonReader reader, ReadOnlySpan<byte> value)
    {
        int start = (int)reader.TokenStartIndex;
        reader.Skip();
        return Encoding.UTF8.GetString(value[start..(int)reader.BytesConsumed]);
    }

    /// <summary>How a value is described in messages (the reader on its first token), as <see cref="Kind(JsonElement)"/>.</summary>
    private static string Kind(ref Utf8JsonReader reader, ReadOnlySpan<byte> value) => reader.TokenType switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => $"the string \"{reader.GetString()}\"",
        JsonTokenType.Number => $"the number {RawText(ref reader, value)}",
        JsonTokenType.True or JsonTokenType.False => $"the boolean {RawText(ref reader, value)}",
        JsonTokenType.Null => "null",
        _ => reader.TokenType.ToString().ToLower(CultureInfo.InvariantCulture),
    };

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
