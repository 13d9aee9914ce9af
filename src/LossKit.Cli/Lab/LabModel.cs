using System.Globalization;
using LossKit.Cli.Commands;

namespace LossKit.Cli.Lab;

/// <summary>How big the lab runs: the default (about two minutes on two cores), a scale factor, tiny (tests) or full.</summary>
internal sealed class LabContext(double scale, bool tiny, bool full, int seed, ProgressReporter progress)
{
    public double Scale { get; } = scale;

    public bool Tiny { get; } = tiny;

    public bool Full { get; } = full;

    public int Seed { get; } = seed;

    public ProgressReporter Progress { get; } = progress;

    /// <summary>A size: <paramref name="normal"/> × scale (at least <paramref name="min"/>), or <paramref name="full"/> with --full.</summary>
    public int Size(int normal, int min, int full) => Full ? full : Math.Max(min, (int)Math.Round(normal * Scale));

    public string Describe() => Full ? "full (paper scale)" : Tiny ? "tiny (tests)" : Scale == 1 ? "default" : $"scale {Scale.ToString("0.###", CultureInfo.InvariantCulture)}";
}

/// <summary>Outcome of a claim check.</summary>
internal enum Verdict
{
    Confirmed,
    Partly,
    NotReproduced,
}

/// <summary>A result table (cells are plain text; the report escapes them).</summary>
internal sealed class ResultTable(string caption, params string[] header)
{
    public string Caption { get; } = caption;

    public string[] Header { get; } = header;

    public List<string[]> Rows { get; } = [];

    public ResultTable Row(params string[] cells)
    {
        Rows.Add(cells);
        return this;
    }
}

/// <summary>One experiment's section of the report: claim, setup, measured tables and charts, computed verdict.</summary>
internal sealed class ExperimentReport
{
    public required string Id { get; init; }

    public required string Title { get; init; }

    /// <summary>The claim under test, as the source states it.</summary>
    public required string Claim { get; init; }

    /// <summary>Where the claim comes from.</summary>
    public required string Source { get; init; }

    public List<string> Setup { get; } = [];

    public List<ResultTable> Tables { get; } = [];

    /// <summary>SVG documents with captions.</summary>
    public List<(string Svg, string Caption)> Charts { get; } = [];

    public List<string> Notes { get; } = [];

    public Verdict Verdict { get; set; }

    /// <summary>One line computed from the measured numbers.</summary>
    public string VerdictText { get; set; } = "";

    /// <summary>Headline numbers (for the console summary and results.json).</summary>
    public Dictionary<string, double> Metrics { get; } = [];

    public double Seconds { get; set; }
}

/// <summary>A lab experiment.</summary>
internal interface IExperiment
{
    string Id { get; }

    string Title { get; }

    ExperimentReport Run(LabContext context);
}

/// <summary>Number formatting for tables and verdicts.</summary>
internal static class Fmt
{
    public static string N(double v, int decimals = 3) =>
        double.IsNaN(v) ? "NaN" : v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static string Pct(double fraction, int decimals = 1) =>
        double.IsNaN(fraction) ? "NaN" : (100 * fraction).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + " %";

    /// <summary>Three significant digits, plain or scientific.</summary>
    public static string G(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (v == 0)
        {
            return "0";
        }

        double a = Math.Abs(v);
        if (a >= 1e7 || a < 1e-3)
        {
            return v.ToString("0.00e+0", CultureInfo.InvariantCulture);
        }

        if (a >= 1000)
        {
            return v.ToString("N0", CultureInfo.InvariantCulture);
        }

        // Three significant digits without exponent (G3 would write 1E+02 for 100).
        int decimals = Math.Max(0, 2 - (int)Math.Floor(Math.Log10(a)));
        return Math.Round(v, decimals).ToString("0." + new string('#', Math.Max(1, decimals)), CultureInfo.InvariantCulture);
    }

    public static string I(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
}
