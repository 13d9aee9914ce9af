using System.Diagnostics;

namespace LossKit.Tests.Cli;

/// <summary>
/// LOSSKIT_SIMD_TIER is read once per process, so these run the tool in a child process: an invalid value is one
/// "error:" line and exit code 1 (not an unhandled exception), a valid one computes as usual. A child process also shows
/// that the tool exits once an evaluation large enough to start LossKit's worker threads is done (the workers are
/// background threads).
/// </summary>
public class SimdTierVariableTests
{
    private const string Document = """{"loss": "mse", "inputs": {"input": [1, 2], "target": [1, 3]}}""";

    private static (int Code, string Stdout, string Stderr) RunTool(string tier, params string[] args) => RunToolOn(Document, tier, args);

    private static (int Code, string Stdout, string Stderr) RunToolOn(string document, string tier, params string[] args)
    {
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "LossKit.Cli.dll"));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["LOSSKIT_SIMD_TIER"] = tier;
        using Process process = Process.Start(start)!;
        process.StandardInput.Write(document);
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "the tool did not finish");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void InvalidTier_IsOneErrorLine()
    {
        (int code, string stdout, string stderr) = RunTool("avx2", "eval", "-");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal("error: LOSSKIT_SIMD_TIER='avx2' is not a SIMD tier: use auto (the default), 512, vector or scalar.", stderr.Trim());
    }

    [Theory]
    [InlineData("scalar")]
    [InlineData("vector")]
    public void ValidTier_Computes(string tier)
    {
        (int code, string stdout, string stderr) = RunTool(tier, "eval", "-");
        Assert.True(code == 0, stderr);
        Assert.Contains("\"value\": 0.5", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ThreadedEvaluation_ExitsWhenDone()
    {
        // 200,000 elements: past the size at which the element-wise kernels spread over threads (65,536).
        const int n = 200_000;
        var doc = new System.Text.StringBuilder("""{"loss": "mse", "inputs": {"input": [""");
        doc.AppendJoin(", ", Enumerable.Range(0, n).Select(i => (i % 7).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        doc.Append("""], "target": [""");
        doc.AppendJoin(", ", Enumerable.Repeat("3", n));
        doc.Append("]}}");
        (int code, string stdout, string stderr) = RunToolOn(doc.ToString(), "auto", "eval", "-");
        Assert.True(code == 0, stderr);
        // mean of (i mod 7 − 3)² over 200,000 = 28,571 full cycles (sum 28 each) and 3 more (9 + 4 + 1).
        double expected = (28_571 * 28 + 14) / (double)n;
        Assert.Contains($"\"value\": {expected.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", stdout, StringComparison.Ordinal);
    }
}
