using System.Diagnostics;
using System.Globalization;
using LossKit.Cli.Commands;

namespace LossKit.Cli.Lab;

/// <summary>How big the lab runs: the default (under a minute on two cores), a scale factor, tiny (tests) or full.</summary>
internal sealed class LabContext(double scale, bool tiny, bool full, int seed, ProgressReporter progress)
{
    public double Scale { get; } = scale;

    public bool Tiny { get; } = tiny;

    public bool Full { get; } = full;

    public int Seed { get; } = seed;

    public ProgressReporter Progress { get; } = progress;

    /// <summary>A size: <paramref name="normal"/> × scale (at least <paramref name="min"/>), or <paramref name="full"/> with --full.</summary>
    public int Size(int normal, int min, int full) => Full ? full : Math.Max(min, (int)Math.Round(normal * Scale));

    /// <summary>A number of seeds (or other repeated units): 2 when tiny, default × √scale (at least 2), or full.</summary>
    public int Seeds(int normal, int full) => Tiny ? 2 : Full ? full : Math.Max(2, (int)Math.Round(normal * Math.Sqrt(Scale)));

    /// <summary>The size name in results.json ("default", "full", "tiny", "scale 0.25").</summary>
    public string SizeName => Full ? "full" : Tiny ? "tiny" : Scale == 1 ? "default" : $"scale {Scale.ToString("0.###", CultureInfo.InvariantCulture)}";

    public string Describe() => Full ? "full (more seeds and data)" : Tiny ? "tiny (tests)" : Scale == 1 ? "default" : $"scale {Scale.ToString("0.###", CultureInfo.InvariantCulture)}";
}

/// <summary>Outcome of a claim check (the rule: <see cref="PairedStats.Decide"/>).</summary>
internal enum Verdict
{
    Confirmed,
    Inconclusive,
    NotReproduced,
}

/// <summary>
/// One claimed difference, measured per unit (seed, dataset or anchor centre) for two conditions that share the unit's
/// data and initialisation. <see cref="Differences"/> are oriented so that positive means "as claimed".
/// </summary>
internal sealed class Comparison
{
    public Comparison(string claim, string metric, string unit, string claimed, string other, bool higherIsBetter, double[] claimedValues, double[] otherValues)
    {
        Debug.Assert(claimedValues.Length == otherValues.Length);
        Claim = claim;
        Metric = metric;
        Unit = unit;
        Claimed = claimed;
        Other = other;
        HigherIsBetter = higherIsBetter;
        ClaimedValues = claimedValues;
        OtherValues = otherValues;
        Differences = [.. claimedValues.Select((v, i) => higherIsBetter ? v - otherValues[i] : otherValues[i] - v)];
        (Mean, Sd) = PairedStats.MeanSd(Differences);
        T = PairedStats.TInterval(Differences);
        Bootstrap = PairedStats.BootstrapInterval(Differences);
        Verdict = PairedStats.Decide(T, Bootstrap);
    }

    /// <summary>The claim in words ("focal AP > α-CE AP").</summary>
    public string Claim { get; }

    public string Metric { get; }

    /// <summary>What one paired value is ("seed", "dataset", "anchor centre").</summary>
    public string Unit { get; }

    /// <summary>The condition the claim says is better, and the one it is compared with.</summary>
    public string Claimed { get; }

    public string Other { get; }

    public bool HigherIsBetter { get; }

    public double[] ClaimedValues { get; }

    public double[] OtherValues { get; }

    /// <summary>Per-unit differences, positive = as claimed.</summary>
    public double[] Differences { get; }

    public double Mean { get; }

    public double Sd { get; }

    public (double Low, double High) T { get; }

    public (double Low, double High) Bootstrap { get; }

    public Verdict Verdict { get; }

    /// <summary>Set when another run (--compare) reached a different verdict on the same claim.</summary>
    public string? Flip { get; set; }

    /// <summary>"+0.046 [0.012, 0.080]": mean difference and the t-interval.</summary>
    public string IntervalText(Func<double, string> format) =>
        $"{Sign(Mean, format)} [{format(T.Low)}, {format(T.High)}] (bootstrap [{format(Bootstrap.Low)}, {format(Bootstrap.High)}])";

    private static string Sign(double v, Func<double, string> format) => v > 0 ? "+" + format(v) : format(v);

    /// <summary>A section's verdict: Confirmed when every claim is, Not reproduced when any claim is, else Inconclusive.</summary>
    public static Verdict Combine(IReadOnlyCollection<Comparison> comparisons) =>
        comparisons.Count == 0 ? Verdict.Inconclusive
        : comparisons.All(c => c.Verdict == Verdict.Confirmed) ? Verdict.Confirmed
        : comparisons.Any(c => c.Verdict == Verdict.NotReproduced) ? Verdict.NotReproduced
        : Verdict.Inconclusive;
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

    /// <summary>The claimed differences behind the verdict (each with its interval and per-unit values).</summary>
    public List<Comparison> Comparisons { get; } = [];

    /// <summary>Formats a comparison's numbers (differences and values) for the report.</summary>
    public Func<double, string> Format { get; set; } = v => Fmt.G(v);

    /// <summary>The section's verdict, computed from <see cref="Comparisons"/> by <see cref="Comparison.Combine"/>.</summary>
    public Verdict Verdict => Comparison.Combine(Comparisons);

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

    /// <summary>A rough run time on two cores at this size (for the time-left estimate; rescaled by the clock as runs finish).</summary>
    double EstimateSeconds(LabContext context);

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
