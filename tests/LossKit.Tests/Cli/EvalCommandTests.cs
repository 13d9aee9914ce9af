using System.Text.Json;
using LossKit.Classification;
using LossKit.Cli.Eval;
using LossKit.Registry;
using LossKit.Detection;
using LossKit.Regression;

namespace LossKit.Tests.Cli;

public class EvalCommandTests
{
    private const string CrossEntropyDoc = """
        {"loss": "cross_entropy", "params": {"reduction": "mean", "label_smoothing": 0.1},
         "inputs": {"input": {"shape": [2, 3], "data": [1, 2, 3, 0.5, -1, 2]}, "target": {"shape": [2], "data": [0, 2]}}}
        """;

    [Fact]
    public void CrossEntropy_FromFile_MatchesLibrary()
    {
        using var dir = new CliRunner.TempDir();
        string path = dir.File("ce.json");
        File.WriteAllText(path, CrossEntropyDoc);
        CliRunner.Result r = CliRunner.Run("eval", path);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stderr);

        double[] input = [1, 2, 3, 0.5, -1, 2];
        var grad = new double[6];
        double expected = new CrossEntropyLoss<double>(labelSmoothing: 0.1).ForwardBackward(input, new[] { 0, 2 }, 2, 3, grad);

        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal("cross_entropy", root.GetProperty("loss").GetString());
        Assert.Equal("float64", root.GetProperty("dtype").GetString());
        Assert.Equal(expected, root.GetProperty("value").GetDouble());
        JsonElement g = root.GetProperty("gradients").GetProperty("input");
        Assert.Equal([2, 3], g.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(grad, g.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public void Float32_FromStdin_MatchesLibraryInFloat()
    {
        CliRunner.Result r = CliRunner.RunWithInput(CrossEntropyDoc, "eval", "-", "--dtype", "float32");
        Assert.Equal(0, r.ExitCode);
        float[] input = [1, 2, 3, 0.5f, -1, 2];
        var grad = new float[6];
        float expected = new CrossEntropyLoss<float>(labelSmoothing: 0.1).ForwardBackward(input, new[] { 0, 2 }, 2, 3, grad);
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("float32", doc.RootElement.GetProperty("dtype").GetString());
        Assert.Equal(expected, doc.RootElement.GetProperty("value").GetSingle());
        Assert.Equal(grad, doc.RootElement.GetProperty("gradients").GetProperty("input").GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
    }

    [Fact]
    public void Float16_ComputesThroughFloat32_AsPyTorch()
    {
        // F.mse_loss(ones(10000), zeros(10000)) = 1 with gradient 2/10000 (0.00020003318786621094 in half); summed in
        // Half arithmetic the mean would be 0.2048.
        string ones = string.Join(",", Enumerable.Repeat("1", 10_000)), zeros = string.Join(",", Enumerable.Repeat("0", 10_000));
        string json = "{\"loss\": \"mse\", \"inputs\": {\"input\": [" + ones + "], \"target\": [" + zeros + "]}}";
        CliRunner.Result r = CliRunner.RunWithInput(json, "eval", "-", "--dtype", "float16");
        Assert.Equal(0, r.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("float16", doc.RootElement.GetProperty("dtype").GetString());
        Assert.Equal(1.0, doc.RootElement.GetProperty("value").GetDouble());
        Assert.All(doc.RootElement.GetProperty("gradients").GetProperty("input").GetProperty("data").EnumerateArray(),
            e => Assert.Equal((Half)0.00020003318786621094, (Half)e.GetDouble()));
    }

    [Fact]
    public void ReductionNone_WritesPerElementValues_AndOutputFile()
    {
        using var dir = new CliRunner.TempDir();
        string output = dir.File("out.json");
        const string json = """{"loss": "smooth_l1", "params": {"reduction": "none", "beta": 0.5}, "inputs": {"input": [[0.1, 2.0], [-3.0, 0.2]], "target": [[0, 0], [0, 0]]}}""";
        CliRunner.Result r = CliRunner.RunWithInput(json, "eval", "-", "--output", output);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stdout);

        double[] x = [0.1, 2.0, -3.0, 0.2];
        var values = new double[4];
        var grad = new double[4];
        new SmoothL1Loss<double>(Reduction.None, 0.5).ForwardBackward(x, new double[4], grad, values);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(output));
        JsonElement value = doc.RootElement.GetProperty("value");
        Assert.Equal([2, 2], value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(values, value.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(grad, doc.RootElement.GetProperty("gradients").GetProperty("input").GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public void BoxLoss_CxcywhWithConvention_MatchesLibrary()
    {
        const string json = """
            {"loss": "ciou", "params": {"format": "cxcywh", "convention": "mmdetection", "reduction": "sum"},
             "inputs": {"input": [[10, 10, 2, 1], [9, 11, 1, 3]], "target": [[10.5, 10, 1, 1], [10, 10, 1, 1]]}}
            """;
        CliRunner.Result r = CliRunner.RunWithInput(json, "eval", "-");
        Assert.Equal(0, r.ExitCode);
        var loss = new CIoULoss<double>(Reduction.Sum, format: BoxFormat.Cxcywh, convention: BoxLossConvention.MMDetection);
        var grad = new double[8];
        double expected = loss.ForwardBackward([10, 10, 2, 1, 9, 11, 1, 3], [10.5, 10, 1, 1, 10, 10, 1, 1], grad);
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(expected, doc.RootElement.GetProperty("value").GetDouble());
        Assert.Equal(grad, doc.RootElement.GetProperty("gradients").GetProperty("input").GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public void NaNAndInfinity_RoundTripAsStrings()
    {
        const string json = """{"loss": "mse", "params": {"reduction": "none"}, "inputs": {"input": ["NaN", 1], "target": [0, "Infinity"]}}""";
        CliRunner.Result r = CliRunner.RunWithInput(json, "eval", "-");
        Assert.Equal(0, r.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        string[] values = [.. doc.RootElement.GetProperty("value").GetProperty("data").EnumerateArray().Select(e => e.ToString())];
        Assert.Equal(["NaN", "Infinity"], values);
    }

    public static TheoryData<string, string[], string> Malformed() => new()
    {
        { """{"loss": "mse", "inputs": {"input": [1, 2], "target": [1, 2]""", [], "malformed JSON" },
        { "[1, 2, 3]", [], "must be a JSON object" },
        { """{"loss": "mse_loss", "inputs": {"input": [1], "target": [1]}}""", [], "unknown loss 'mse_loss'" },
        { """{"loss": "smooth_l1", "params": {"betta": 1}, "inputs": {"input": [1], "target": [1]}}""", [], "unknown parameter 'betta' for loss 'smooth_l1' (known: reduction, beta" },
        { """{"loss": "mse", "inputs": {"input": [1, 2], "target": [1, 2, 3]}}""", [], "shape mismatch" },
        { """{"loss": "cross_entropy", "inputs": {"input": [[1, 2], [3, 4]], "target": [0, 1, 1]}}""", [], "shape mismatch" },
        { """{"loss": "giou", "inputs": {"input": [[1, 2, 3]], "target": [[1, 2, 3]]}}""", [], "needs [N, 4] boxes" },
        { """{"loss": "mse", "inputs": {"input": {"shape": [2, 2], "data": [1, 2, 3]}, "target": [1, 2, 3]}}""", [], "needs 4" },
        { """{"loss": "mse", "inputs": {"input": [[1, 2], [3]], "target": [1, 2, 3]}}""", [], "ragged" },
        { """{"loss": "mse", "inputs": {"input": [1], "target": [1]}}""", ["--dtype", "bfloat16"], "unknown dtype 'bfloat16'" },
        { """{"loss": "mse", "dtype": "int8", "inputs": {"input": [1], "target": [1]}}""", [], "unknown dtype 'int8'" },
        { """{"loss": "mse", "params": {"reduction": 1}, "inputs": {"input": [1], "target": [1]}}""", [], "must be a string" },
        { """{"loss": "huber", "params": {"delta": "big"}, "inputs": {"input": [1], "target": [1]}}""", [], "must be a number" },
        { """{"loss": "mse", "params": {"reduction": "average"}, "inputs": {"input": [1], "target": [1]}}""", [], "must be one of none, mean, sum" },
        { """{"loss": "mse", "inputs": {"input": [1, "x"], "target": [1, 2]}}""", [], "expected a number" },
        { """{"loss": "mse", "inputs": {"input": [1]}}""", [], "missing input 'target'" },
        { """{"loss": "mse", "inputs": {"input": [1], "target": [1], "weight": [1]}}""", [], "unknown input 'weight'" },
        { """{"loss": "nll", "inputs": {"input": [[0.1, 0.2]], "target": [0.5]}}""", [], "must hold integers" },
        { """{"loss": "cross_entropy", "inputs": {"input": [[0.1, 0.2]], "target": [7]}}""", [], "loss 'cross_entropy': target[0] = 7" },
        { """{"loss": "cross_entropy", "params": {"label_smoothing": 2}, "inputs": {"input": [[0.1, 0.2]], "target": [1]}}""", [], "must be in [0, 1]" },
        { """{"loss": "mse", "inputs": {"input": [1], "target": [1]}, "extra": 1}""", [], "unknown key 'extra'" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedDocuments_GiveOneErrorLine_AndNonZeroExit(string json, string[] options, string expected)
    {
        CliRunner.Result r = CliRunner.RunWithInput(json, ["eval", "-", .. options]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("error: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void MissingFile_GivesOneErrorLine()
    {
        CliRunner.Result r = CliRunner.Run("eval", Path.Combine(Path.GetTempPath(), "no-such-losskit-doc.json"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("not found", Assert.Single(r.ErrorLines));
    }

    [Fact]
    public void UnknownOption_GivesOneErrorLine()
    {
        CliRunner.Result r = CliRunner.Run("eval", "doc.json", "--bogus");
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("error: ", Assert.Single(r.ErrorLines));
    }
}

public class EvalMetricLearningTests
{
    // The metric-learning entries through the evaluator, against the typed API.
    private static EvalResult<double> Evaluate(string name, string json) =>
        Evaluator.Run<double>(EvalDocument.Parse(json), LossRegistry.Get(name));

    [Fact]
    public void ArcFace_MatchesLibrary()
    {
        var result = Evaluate("arcface", """{"loss": "arcface", "params": {"scale": 16, "margin": 0.3}, "inputs": {"input": [[0.9, 0.1, -0.3], [0.2, 0.5, 0.4]], "target": [0, 2]}}""");
        var grad = new double[6];
        double expected = LossKit.MetricLearning.AngularMarginLoss<double>.ArcFace(16, 0.3).ForwardBackward([0.9, 0.1, -0.3, 0.2, 0.5, 0.4], new[] { 0, 2 }, 2, 3, grad);
        Assert.Equal(expected, result.Value);
        Assert.Equal(grad, result.Gradients["input"].Data);
    }

    [Fact]
    public void CenterLoss_GivesGradientsForInputAndCenters()
    {
        var result = Evaluate("center", """{"loss": "center", "inputs": {"input": [[1, 2], [0.5, -1], [3, 0]], "target": [1, 2, 1], "centers": [[0, 0], [1, 1], [2, -2], [5, 5]]}}""");
        var gx = new double[6];
        var gc = new double[8];
        double expected = new LossKit.MetricLearning.CenterLoss<double>().ForwardBackward([1, 2, 0.5, -1, 3, 0], new[] { 1, 2, 1 }, [0, 0, 1, 1, 2, -2, 5, 5], 3, 4, 2, gx, gc);
        Assert.Equal(expected, result.Value);
        Assert.Equal(gx, result.Gradients["input"].Data);
        Assert.Equal(gc, result.Gradients["centers"].Data);
        Assert.Equal([4, 2], result.Gradients["centers"].Shape);
    }
}
