using System.Globalization;
using System.Text;
using LossKit.Cli.Eval;

namespace LossKit.Tests.Cli;

/// <summary>The eval document reader: rectangular data, shapes that fit an array, each key once, and bounded memory.</summary>
public class EvalParserTests
{
    public static TheoryData<string, string> Rejected() => new()
    {
        // Ragged after the first row: an empty row where the first had values, or the other way round.
        { """{"loss": "mse", "inputs": {"input": [[1], []], "target": [[1], []]}}""", "ragged" },
        { """{"loss": "mse", "inputs": {"input": [[1, 2], []], "target": [1, 2]}}""", "ragged" },
        { """{"loss": "mse", "inputs": {"input": [[[1]], [[]]], "target": [1]}}""", "ragged" },
        { """{"loss": "mse", "inputs": {"input": [1, []], "target": [1, 2]}}""", "ragged" },
        // A shape whose element count does not fit an array (2^64 wraps to 0 in a 64-bit product).
        { """{"loss": "mse", "inputs": {"input": {"shape": [65536, 65536, 65536, 65536], "data": []}, "target": {"shape": [65536, 65536, 65536, 65536], "data": []}}}""", "inputs.input: \"shape\" [65536, 65536, 65536, 65536] has more elements than an array can hold" },
        { """{"loss": "mse", "inputs": {"input": {"shape": [2147483647, 2], "data": []}, "target": []}}""", "has more elements than an array can hold" },
        // Each key once, at every level.
        { """{"loss": "mse", "loss": "l1", "inputs": {"input": [1], "target": [1]}}""", "key 'loss' is given twice" },
        { """{"loss": "mse", "inputs": {"input": [1], "target": [1]}, "inputs": {"input": [2], "target": [1]}}""", "key 'inputs' is given twice" },
        { """{"loss": "mse", "params": {}, "params": {}, "inputs": {"input": [1], "target": [1]}}""", "key 'params' is given twice" },
        { """{"loss": "mse", "dtype": "float32", "dtype": "float64", "inputs": {"input": [1], "target": [1]}}""", "key 'dtype' is given twice" },
        { """{"loss": "mse", "inputs": {"input": {"shape": [1], "shape": [1], "data": [1]}, "target": [1]}}""", "inputs.input: \"shape\" is given twice" },
        { """{"loss": "mse", "inputs": {"input": {"data": [1], "data": [2]}, "target": [1]}}""", "inputs.input: \"data\" is given twice" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Rejected_IsOneErrorLine_AndNonZeroExit(string json, string expected)
    {
        CliRunner.Result r = CliRunner.RunWithInput(json, "eval", "-");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("error: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    public static TheoryData<string, int[], double[]> Accepted() => new()
    {
        { "[[], []]", [2, 0], [] },
        { "[]", [0], [] },
        { "[[[]]]", [1, 1, 0], [] },
        { "3.5", [], [3.5] },
        { "\"-Infinity\"", [], [double.NegativeInfinity] },
        { "[[1, 2], [3, 4], [5, 6]]", [3, 2], [1, 2, 3, 4, 5, 6] },
        { """{"shape": [2, 0, 65536, 65536, 65536, 65536], "data": []}""", [2, 0, 65536, 65536, 65536, 65536], [] },
        { """{"data": [[1, 2], [3, 4]], "shape": [2, 2]}""", [2, 2], [1, 2, 3, 4] },
        { """{"shape": [2, 2], "data": [1, 2, 3, 4]}""", [2, 2], [1, 2, 3, 4] },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Accepted_ParsesShapeAndData(string tensor, int[] shape, double[] data)
    {
        EvalDocument doc = EvalDocument.Parse($$$"""{"loss": "mse", "inputs": {"input": {{{tensor}}}}}""");
        TensorArg t = doc.Inputs["input"];
        Assert.Equal(shape, t.Shape);
        Assert.Equal(data, t.Data);
    }

    /// <summary>A document of a few MB: nested rows, a flat array with its shape first, and one with its shape last.</summary>
    private static (string Json, double[] Values) LargeDocument(int rows, int cols)
    {
        var rng = new Random(7);
        var values = new double[rows * cols];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-8, 9));
        }

        string Flat() => string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        var sb = new StringBuilder("""{"loss": "mse", "params": {"reduction": "sum"}, "inputs": {"input": [""");
        for (int r = 0; r < rows; r++)
        {
            sb.Append(r == 0 ? "[" : ", [");
            sb.AppendJoin(", ", values.Skip(r * cols).Take(cols).Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
            sb.Append(']');
        }

        string shape = $"[{rows}, {cols}]";
        sb.Append("], \"target\": {\"shape\": ").Append(shape).Append(", \"data\": [").Append(Flat()).Append("]}, ")
          .Append("\"weight\": {\"data\": [").Append(Flat()).Append("], \"shape\": ").Append(shape).Append("}}}");
        return (sb.ToString(), values);
    }

    [Fact]
    public void LargeDocument_ParsesExactly()
    {
        (string json, double[] values) = LargeDocument(1000, 250);
        Assert.True(json.Length > 4_000_000, $"document is {json.Length} chars");
        EvalDocument doc = EvalDocument.Parse(json);
        Assert.Equal(["input", "target", "weight"], doc.Inputs.Keys);
        foreach (TensorArg t in doc.Inputs.Values)
        {
            Assert.Equal([1000, 250], t.Shape);
            Assert.Equal(values, t.Data);
        }
    }

    [Fact]
    public void LargeDocument_ParsingAllocatesAFewTimesItsSize()
    {
        (string json, _) = LargeDocument(1000, 250);
        long utf8 = Encoding.UTF8.GetByteCount(json);
        EvalDocument.Parse(json); // warm-up: JIT and pools
        long before = GC.GetAllocatedBytesForCurrentThread();
        EvalDocument doc = EvalDocument.Parse(json);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(3, doc.Inputs.Count);

        // The values themselves are 3 × 250,000 doubles (6 MB of a 16 MB document); the rest is reading.
        Assert.True(allocated <= 2 * utf8, $"parsing a {utf8:N0}-byte document allocated {allocated:N0} bytes");
    }

    [Theory]
    [InlineData("utf-8-bom")]
    [InlineData("utf-16")]
    public void DocumentFile_WithByteOrderMark_IsRead(string encoding)
    {
        using var dir = new CliRunner.TempDir();
        string path = dir.File("doc.json");
        const string json = """{"loss": "mse", "params": {"reduction": "sum"}, "inputs": {"input": [1, 2], "target": [0, 0]}}""";
        File.WriteAllText(path, json, encoding == "utf-16" ? Encoding.Unicode : new UTF8Encoding(true));
        CliRunner.Result r = CliRunner.Run("eval", path);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("\"value\": 5,", r.Stdout);
    }
}
