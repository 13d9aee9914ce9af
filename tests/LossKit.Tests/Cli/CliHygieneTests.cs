using LossKit.Cli;
using LossKit.Tests.Internal;

namespace LossKit.Tests.Cli;

/// <summary>Every verb's failures are one "error: " line and a non-zero exit; redirected output carries no escape codes.</summary>
public class CliHygieneTests
{
    /// <summary>A writer whose every write fails as writing to a full disk (<c>/dev/full</c>) does.</summary>
    private sealed class FullDiskWriter : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new IOException("No space left on device");

        public override void Write(char[] buffer, int index, int count) => throw new IOException("No space left on device");

        public override void Write(string? value) => throw new IOException("No space left on device");

        public override void Flush() => throw new IOException("No space left on device");
    }

    private const string MseDoc = """{"loss": "mse", "inputs": {"input": [1, 2], "target": [0, 2]}}""";

    [Theory]
    [InlineData("list")]
    [InlineData("list", "--markdown")]
    [InlineData("bench", "--list")]
    [InlineData("eval", "-")]
    [InlineData("--help")]
    public void WritingToAFullDisk_IsOneErrorLine(params string[] args)
    {
        var stderr = new StringWriter();
        int code = Program.Run(args, new StringReader(MseDoc), new FullDiskWriter(), stderr);
        Assert.NotEqual(0, code);
        string line = Assert.Single(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("No space left on device", line);
        Assert.DoesNotContain("   at ", stderr.ToString());
    }

    [Theory]
    [InlineData("2147483647")]
    [InlineData("6300000")]
    public void Simulate_TooManyPoints_IsOneErrorLine_NamingTheLimit(string points)
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("simulate", "--points", points, "--quiet", "--csv", dir.File("s.csv"), "--svg", dir.File("s.svg"));
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("error: --points", line);
        Assert.Contains("1,565,221", line);
        Assert.Contains(points, line);
        Assert.False(File.Exists(dir.File("s.csv")));
    }

    [Fact]
    public void Simulate_TooManyIterations_IsOneErrorLine()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("simulate", "--points", "1", "--iterations", "2147483647", "--quiet", "--csv", dir.File("s.csv"), "--svg", dir.File("s.svg"));
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: --iterations must be less than", Assert.Single(r.ErrorLines));
    }

    [Fact]
    public void Guard_UnwrapsAParallelLoopsException()
    {
        var stderr = new StringWriter();
        var io = new LossKit.Cli.Commands.CommandIO(new StringReader(""), new StringWriter(), stderr);
        int code = io.Guard(() => throw new AggregateException(new LossKit.Cli.Commands.CliException("bad block"), new OutOfMemoryException()));
        Assert.Equal(1, code);
        Assert.Equal("error: bad block", stderr.ToString().TrimEnd());
        // A bug is not dressed up as a user error: it keeps its exception (and stack trace).
        Assert.Throws<AggregateException>(() => io.Guard(() => throw new AggregateException(new InvalidOperationException("a bug"))));
    }

    [Theory]
    [InlineData("simulate", ",")]
    [InlineData("simulate", " , ,")]
    [InlineData("plot", ",")]
    public void EmptyLossList_IsRejected_NamingTheOption(string verb, string losses)
    {
        using var dir = new CliRunner.TempDir();
        string[] args = verb == "plot"
            ? ["plot", "regression", "--losses", losses, "--out", dir.File("p.svg")]
            : ["simulate", "--points", "1", "--iterations", "1", "--quiet", "--losses", losses, "--csv", dir.File("s.csv"), "--svg", dir.File("s.svg")];
        CliRunner.Result r = CliRunner.Run(args);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("error: --losses", line);
        Assert.Equal("", r.Stdout);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void PlotIou_EmptyLossList_IsRejected()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("plot", "iou", "--losses", ",", "--out", dir.File("p.svg"));
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: --losses", Assert.Single(r.ErrorLines));
    }
}

/// <summary>
/// Bench sets the library's thread count and this test sets TERM (which terminal detection reads), so it runs alone.
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public class BenchOutputTests
{
    [Fact]
    public void Bench_RedirectedOutput_HasNoEscapeCodes_EvenWhenTermSaysColour()
    {
        string? term = Environment.GetEnvironmentVariable("TERM");
        Environment.SetEnvironmentVariable("TERM", "xterm-256color");
        try
        {
            CliRunner.Result r = CliRunner.Run("bench", "--case", "hinge_embedding[1M]", "--reps", "1", "--warmup", "0");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("hinge_embedding[1M]", r.Stdout);
            Assert.DoesNotContain('\u001b', r.Stdout);
            Assert.DoesNotContain('\u001b', r.Stderr);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TERM", term);
        }
    }

    [Fact]
    public void List_RedirectedOutput_HasNoEscapeCodes_EvenWhenTermSaysColour()
    {
        string? term = Environment.GetEnvironmentVariable("TERM");
        Environment.SetEnvironmentVariable("TERM", "xterm-256color");
        try
        {
            CliRunner.Result r = CliRunner.Run("list");
            Assert.Equal(0, r.ExitCode);
            Assert.DoesNotContain('\u001b', r.Stdout);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TERM", term);
        }
    }
}
