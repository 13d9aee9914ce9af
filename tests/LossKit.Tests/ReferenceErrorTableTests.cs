using System.Globalization;
using System.Numerics;
using System.Text;
using LossKit.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LossKit.Tests;

/// <summary>
/// Runs every golden case in double and float and tabulates, per loss, the largest normalised error of the value and
/// of the gradient (over Forward, Backward and ForwardBackward), then asserts each case within its tolerance. The table
/// goes to the test output, to the xunit diagnostic stream (shown by <c>dotnet test</c>, see xunit.runner.json) and to
/// <c>reference-errors.txt</c> next to the test assembly.
/// </summary>
public sealed class ReferenceErrorTableTests(ITestOutputHelper output, DiagnosticOutput diagnostics) : IClassFixture<DiagnosticOutput>
{
    public const string FileName = "reference-errors.txt";

    private sealed class Row
    {
        public int Cases;
        public readonly Worst[] Cells = [new(), new(), new(), new()]; // double value, double grad, float value, float grad
    }

    private sealed class Worst
    {
        public double Error;
        public string Case = "";

        public void Add(double error, string name)
        {
            if (error > Error || double.IsNaN(error) || Case.Length == 0)
            {
                Error = error;
                Case = name;
            }
        }
    }

    [Fact]
    public void AllGoldenCases_MaxErrorsPerLoss_WithinTolerance()
    {
        var rows = new Dictionary<string, Row>();
        var failures = new List<string>();
        var loosened = new List<string>();
        foreach (GoldenCase c in Golden.All)
        {
            if (!rows.TryGetValue(c.Loss, out Row? row))
            {
                rows[c.Loss] = row = new Row();
            }

            row.Cases++;
            Check<double>(c, row.Cells[0], row.Cells[1], failures, loosened);
            Check<float>(c, row.Cells[2], row.Cells[3], failures, loosened);
        }

        string table = Format(rows, loosened);
        output.WriteLine(table);
        diagnostics.Write(table);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, FileName), table);
        Assert.True(failures.Count == 0, $"{failures.Count} golden checks failed:\n" + string.Join("\n", failures));
    }

    private static void Check<T>(GoldenCase c, Worst value, Worst gradient, List<string> failures, List<string> loosened)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReferenceResult r;
        try
        {
            r = ReferenceCheck.Evaluate<T>(c);
        }
        catch (Exception e)
        {
            failures.Add($"{typeof(T).Name} {c.Name}: threw {e.GetType().Name}: {e.Message}");
            value.Add(double.PositiveInfinity, c.Name);
            gradient.Add(double.PositiveInfinity, c.Name);
            return;
        }

        CaseTolerance tol = CaseTolerance.For<T>(c);
        double b = Tolerance.For<T>();

        // The table shows the worst case among those held to the base tolerance; loosened cases are listed apart.
        if (tol.Value == b)
        {
            value.Add(r.Value.Error, c.Name);
        }

        if (tol.Gradient == b)
        {
            gradient.Add(r.Gradient.Error, c.Name);
        }

        if (tol.Reason is not null)
        {
            loosened.Add($"{typeof(T).Name,-6} {c.Name}: value ≤ {tol.Value:E0}, gradient ≤ {tol.Gradient:E0} ({tol.Reason}); "
                + string.Create(CultureInfo.InvariantCulture, $"seen {r.Value.Error:E2} / {r.Gradient.Error:E2}"));
        }

        if (!(r.Value.Error <= tol.Value))
        {
            failures.Add($"{typeof(T).Name} {c.Name}: " + Tolerance.Describe(r.Value, tol.Value, r.ValueEntry + " value", 0, 0));
        }

        if (!(r.Gradient.Error <= tol.Gradient))
        {
            failures.Add($"{typeof(T).Name} {c.Name}: " + Tolerance.Describe(r.Gradient, tol.Gradient, r.GradientEntry, 0, 0));
        }

        failures.AddRange(r.Other.Select(o => $"{typeof(T).Name} {c.Name}: {o}"));
    }

    private static string Format(Dictionary<string, Row> rows, List<string> loosened)
    {
        var sb = new StringBuilder();
        sb.AppendLine("LossKit vs PyTorch golden files: largest normalised error |ours - ref| / max(|ref|, max|ref| of the array)");
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"(over Forward, Backward, ForwardBackward; tolerances: double {Tolerance.Double:E0}, float {Tolerance.Float:E0}; SIMD: {LossKitSettings.SimdDescription})"));
        sb.AppendLine();
        sb.AppendLine($"{"loss",-20} {"cases",5} {"double value",13} {"double grad",13} {"float value",13} {"float grad",13}");
        foreach ((string loss, Row row) in rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{loss,-20} {row.Cases,5}");
            foreach (Worst w in row.Cells)
            {
                sb.Append(CultureInfo.InvariantCulture, $" {w.Error,13:E2}");
            }

            sb.AppendLine();
        }

        sb.AppendLine();
        sb.AppendLine("Worst case per cell:");
        string[] cells = ["double value", "double grad", "float value", "float grad"];
        foreach ((string loss, Row row) in rows)
        {
            for (int i = 0; i < 4; i++)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"  {loss,-20} {cells[i],-13} {row.Cells[i].Error,10:E2}  {row.Cells[i].Case}");
            }
        }

        sb.AppendLine();
        sb.AppendLine(loosened.Count == 0 ? "No loosened tolerances." : $"Loosened tolerances ({loosened.Count}; not in the maxima above):");
        foreach (string l in loosened)
        {
            sb.AppendLine("  " + l);
        }

        return sb.ToString();
    }
}
