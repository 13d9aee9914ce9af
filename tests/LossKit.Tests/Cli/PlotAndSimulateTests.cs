using System.Globalization;
using System.Xml.Linq;
using LossKit.Cli.Svg;

namespace LossKit.Tests.Cli;

public class PlotAndSimulateTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Theory]
    [InlineData("focal")]
    [InlineData("regression")]
    [InlineData("classification")]
    [InlineData("iou")]
    public void Plot_WritesWellFormedSvg(string kind)
    {
        using var dir = new CliRunner.TempDir();
        string path = dir.File(kind + ".svg");
        CliRunner.Result r = CliRunner.Run("plot", kind, "--out", path);
        Assert.True(r.ExitCode == 0, r.Stderr);
        XDocument svg = XDocument.Load(path);
        Assert.Equal(Svg + "svg", svg.Root!.Name);
        Assert.NotEmpty(svg.Descendants(Svg + "path"));
        Assert.NotEmpty(svg.Descendants(Svg + "text"));
        Assert.All(svg.Descendants(Svg + "path"), p => Assert.DoesNotContain("NaN", p.Attribute("d")!.Value));
    }

    [Fact]
    public void PlotFocal_HasOneCurvePerGamma_AndLegend()
    {
        using var dir = new CliRunner.TempDir();
        string path = dir.File("focal.svg");
        CliRunner.Result r = CliRunner.Run("plot", "focal", "--gamma", "0,1,2", "--out", path, "--log-y");
        Assert.Equal(0, r.ExitCode);
        XDocument svg = XDocument.Load(path);
        string[] texts = [.. svg.Descendants(Svg + "text").Select(t => t.Value)];
        Assert.Contains("γ = 0 (CE)", texts);
        Assert.Contains("γ = 2", texts);
        Assert.DoesNotContain("γ = 5", texts);
    }

    [Fact]
    public void Plot_UnknownKindOrBadNumber_IsOneErrorLine()
    {
        CliRunner.Result r = CliRunner.Run("plot", "nonsense");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unknown plot 'nonsense'", Assert.Single(r.ErrorLines));
        r = CliRunner.Run("plot", "focal", "--gamma", "1,x", "--out", Path.Combine(Path.GetTempPath(), "never.svg"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'x' is not a number", Assert.Single(r.ErrorLines));
    }

    [Fact]
    public void Simulate_WritesCsvAndSvg_AndIoUIsFarWorseThanGIoUDIoUCIoU()
    {
        using var dir = new CliRunner.TempDir();
        string csv = dir.File("sim.csv"), svg = dir.File("sim.svg");
        CliRunner.Result r = CliRunner.Run("simulate", "--points", "2", "--seed", "3", "--csv", csv, "--svg", svg, "--quiet");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("Final error", r.Stdout);

        string[] lines = File.ReadAllLines(csv);
        Assert.Equal("iteration,learning_rate,iou,giou,diou,ciou,eiou,siou", lines[0]);
        Assert.Equal(202, lines.Length);
        double[][] rows = [.. lines.Skip(1).Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())];
        Assert.Equal(Enumerable.Range(0, 201).Select(i => (double)i), rows.Select(row => row[0]));
        Assert.Equal(0.1, rows[160][1]);
        Assert.Equal(0.01, rows[161][1]);
        Assert.Equal(0.001, rows[200][1]);

        double[] initial = rows[0][2..], final = rows[200][2..];
        Assert.All(initial, v => Assert.Equal(initial[0], v));
        Assert.All(final, v => Assert.True(double.IsFinite(v)));
        double iou = final[0], giou = final[1], diou = final[2], ciou = final[3];

        // Exact gradients: the IoU loss cannot move non-overlapping boxes, so it stays near its start while the
        // others drive the error close to zero.
        Assert.True(iou > 0.5 * initial[0], $"IoU {iou} vs start {initial[0]}");
        Assert.True(iou > 10 * giou, $"IoU {iou} vs GIoU {giou}");
        Assert.True(iou > 10 * diou, $"IoU {iou} vs DIoU {diou}");
        Assert.True(iou > 10 * ciou, $"IoU {iou} vs CIoU {ciou}");
        Assert.True(ciou < 0.02 * initial[0]);

        XDocument doc = XDocument.Load(svg);
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        Assert.Equal(6, doc.Descendants(Svg + "path").Count());
    }

    [Fact]
    public void Simulate_Float32AndSubset_Work_AndBadOptionsFail()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("simulate", "--points", "1", "--iterations", "20", "--losses", "diou,siou_mmdet", "--dtype", "float32",
            "--csv", dir.File("a.csv"), "--svg", dir.File("a.svg"), "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("iteration,learning_rate,diou,siou_mmdet", File.ReadLines(dir.File("a.csv")).First());

        r = CliRunner.Run("simulate", "--losses", "iou,foo", "-q", "--csv", dir.File("b.csv"), "--svg", dir.File("b.svg"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unknown simulation loss 'foo'", Assert.Single(r.ErrorLines));
        r = CliRunner.Run("simulate", "--points", "0", "-q");
        Assert.Contains("--points must be a positive integer", Assert.Single(r.ErrorLines));
        r = CliRunner.Run("simulate", "--dtype", "float16", "-q");
        Assert.Contains("unknown dtype 'float16'", Assert.Single(r.ErrorLines));
    }

    [Fact]
    public void Chart_HandlesNaNLogAxesAndEscaping()
    {
        var chart = new Chart { Title = "a < b & \"c\"" };
        chart.Y.Scale = AxisScale.Log;
        chart.X.Label = "x & y";
        chart.Series.Add(new Series("s<1>", [0, 1, 2, 3, 4], [1, double.NaN, 0, 1e-3, 1e4]));
        chart.Series.Add(new Series("dots", [0, 1], [5, 50]) { Kind = SeriesKind.Scatter });
        chart.ReferenceLines.Add(new ReferenceLine(true, 10, "ten"));
        XDocument doc = XDocument.Parse(chart.ToSvg());
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value == "a < b & \"c\"");
        string d = doc.Descendants(Svg + "path").Single().Attribute("d")!.Value;
        Assert.Equal(2, d.Count(c => c == 'M')); // broken at the NaN and at the value 0 (off a log axis)
        Assert.Equal(2, doc.Descendants(Svg + "circle").Count() - 1);
    }

    [Theory]
    [InlineData(0.0, 1.0, 0.2)]
    [InlineData(-3.0, 3.0, 1.0)]
    [InlineData(0.0, 27789.0, 5000.0)]
    [InlineData(0.001, 0.0042, 0.001)]
    public void Ticks_AreNiceSteps(double min, double max, double step)
    {
        var ticks = Ticks.Linear(min, max);
        Assert.InRange(ticks.Count, 3, 12);
        for (int i = 1; i < ticks.Count; i++)
        {
            Assert.Equal(step, ticks[i].Value - ticks[i - 1].Value, step * 1e-9);
        }

        Assert.Equal(["10⁻⁶", "10⁻⁵", "10⁻⁴", "10⁻³", "0.01", "0.1", "1"], Ticks.Log(1e-6, 1).Select(t => t.Label));
    }
}
