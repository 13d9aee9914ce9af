using System.Globalization;
using System.Numerics;
using System.Text;
using LossKit.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LossKit.Tests.MetricLearning;

/// <summary>
/// Every case of Reference/metric.json in double (1e-10) and float (1e-5) on the suite's relative scheme (|ours − ref|
/// ≤ tol·max(|ref|, max |ref| of the array)), through Forward, Backward and ForwardBackward; plus a table of the largest
/// errors per loss id (test output, xunit diagnostics and metric-reference-errors.txt next to the test assembly).
/// </summary>
public sealed class MetricReferenceTests(ITestOutputHelper output, DiagnosticOutput diagnostics) : IClassFixture<DiagnosticOutput>
{
    private const string MarginLosses = "arcface,arcface_easy,cosface,combined_margin,sphereface,pml_arcface,insightface";

    [Theory]
    [MemberData(nameof(MetricGolden.Names), MarginLosses, MemberType = typeof(MetricGolden))]
    public void AngularMargin_Double(string name) => MetricCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(MetricGolden.Names), MarginLosses, MemberType = typeof(MetricGolden))]
    public void AngularMargin_Float(string name) => MetricCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(MetricGolden.Names), "cosine_head,head_margin", MemberType = typeof(MetricGolden))]
    public void CosineHead_Double(string name) => MetricCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(MetricGolden.Names), "cosine_head,head_margin", MemberType = typeof(MetricGolden))]
    public void CosineHead_Float(string name) => MetricCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(MetricGolden.Names), "center,center_update,center_objective", MemberType = typeof(MetricGolden))]
    public void Center_Double(string name) => MetricCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(MetricGolden.Names), "center,center_update,center_objective", MemberType = typeof(MetricGolden))]
    public void Center_Float(string name) => MetricCheck.Assert<float>(name);

    [Fact]
    public void GoldenFile_CoversEveryForm()
    {
        string[] expected = ["arcface", "arcface_easy", "cosface", "combined_margin", "sphereface", "pml_arcface", "insightface",
            "cosine_head", "head_margin", "center", "center_update", "center_objective"];
        var present = MetricGolden.All.Select(c => c.Loss).Distinct().ToHashSet();
        Assert.All(expected, id => Assert.Contains(id, present));
        Assert.Contains(MetricGolden.All, c => c.Name.StartsWith("arcface/unit", StringComparison.Ordinal));
        Assert.Contains(MetricGolden.All, c => c.Name.StartsWith("center/kaiyangzhou/worked/mean", StringComparison.Ordinal));
    }

    [Fact]
    public void MaxErrorsPerLoss_Table()
    {
        var rows = new Dictionary<string, (int Cases, double[] Worst, string[] Where)>();
        var failures = new List<string>();
        foreach (MetricCase c in MetricGolden.All)
        {
            if (!rows.TryGetValue(c.Loss, out var row))
            {
                row = (0, new double[4], ["", "", "", ""]);
            }

            row.Cases++;
            Add(c, Evaluate<double>(c, failures), row, 0);
            Add(c, Evaluate<float>(c, failures), row, 2);
            rows[c.Loss] = row;
        }

        var sb = new StringBuilder();
        sb.AppendLine("LossKit metric learning vs metric.json: largest normalised error |ours - ref| / max(|ref|, max|ref| of the array)");
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"(Forward, Backward, ForwardBackward; tolerances double {Tolerance.Double:E0}, float {Tolerance.Float:E0}; SIMD: {LossKitSettings.SimdDescription})"));
        sb.AppendLine($"{"loss",-18} {"cases",5} {"double value",13} {"double grad",13} {"float value",13} {"float grad",13}");
        foreach ((string loss, var row) in rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{loss,-18} {row.Cases,5}");
            foreach (double w in row.Worst)
            {
                sb.Append(CultureInfo.InvariantCulture, $" {w,13:E2}");
            }

            sb.AppendLine();
        }

        sb.AppendLine("Worst case per cell:");
        string[] cells = ["double value", "double grad", "float value", "float grad"];
        foreach ((string loss, var row) in rows)
        {
            for (int i = 0; i < 4; i++)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"  {loss,-18} {cells[i],-13} {row.Worst[i],10:E2}  {row.Where[i]}");
            }
        }

        string table = sb.ToString();
        output.WriteLine(table);
        diagnostics.Write(table);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "metric-reference-errors.txt"), table);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static MetricResult? Evaluate<T>(MetricCase c, List<string> failures)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        try
        {
            MetricResult r = MetricCheck.Evaluate<T>(c);
            failures.AddRange(r.Failures.Select(f => $"{typeof(T).Name} {c.Name}: {f}"));
            return r;
        }
        catch (Exception e)
        {
            failures.Add($"{typeof(T).Name} {c.Name}: threw {e.GetType().Name}: {e.Message}");
            return null;
        }
    }

    private static void Add(MetricCase c, MetricResult? r, (int Cases, double[] Worst, string[] Where) row, int offset)
    {
        double value = r?.Value.Error ?? double.PositiveInfinity, gradient = r?.Gradient.Error ?? double.PositiveInfinity;
        if (value > row.Worst[offset] || double.IsNaN(value) || row.Where[offset].Length == 0)
        {
            row.Worst[offset] = value;
            row.Where[offset] = c.Name;
        }

        if (gradient > row.Worst[offset + 1] || double.IsNaN(gradient) || row.Where[offset + 1].Length == 0)
        {
            row.Worst[offset + 1] = gradient;
            row.Where[offset + 1] = c.Name;
        }
    }
}
