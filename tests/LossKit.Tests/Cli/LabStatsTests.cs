using LossKit.Cli.Lab;

namespace LossKit.Tests.Cli;

/// <summary>The lab's paired statistics and verdict rule (<see cref="PairedStats"/>, <see cref="Comparison"/>).</summary>
public class LabStatsTests
{
    // Student t quantiles t_{0.975}(df), the two-sided 95 % critical values, from scipy 1.10 (Debian python3-scipy):
    // python3 -c "from scipy.stats import t; print(repr(t.ppf(0.975, df)))". scipy's ppf is itself good to about 1e-8
    // (at df = 39 its t.cdf of its own ppf is 0.97499999955), hence the tolerance; the CDF test below is tighter.
    [Theory]
    [InlineData(1, 12.706204736432095)]
    [InlineData(4, 2.7764451051977987)]
    [InlineData(9, 2.2621571627409915)]
    [InlineData(29, 2.045229642132703)]
    [InlineData(39, 2.022690911734728)]
    public void StudentTQuantile_MatchesScipy(int df, double expected)
    {
        Assert.Equal(expected, PairedStats.StudentTQuantile(0.975, df), 2e-8);
        Assert.Equal(-expected, PairedStats.StudentTQuantile(0.025, df), 2e-8);
        Assert.Equal(0.975, PairedStats.StudentTCdf(PairedStats.StudentTQuantile(0.975, df), df), 1e-13);
    }

    // scipy 1.10: python3 -c "from scipy.stats import t; print(repr(t.cdf(x, df)))".
    [Theory]
    [InlineData(1, 1.0, 0.7500000000000002)]
    [InlineData(2, 1.5, 0.8638034375544996)]
    [InlineData(4, 2.7764451051977987, 0.9750000000000001)]
    [InlineData(9, -1.3, 0.1129531863365247)]
    [InlineData(39, 2.0226909200367613, 0.975)]
    [InlineData(120, 0.7, 0.7573589222571797)]
    public void StudentTCdf_MatchesScipy(int df, double x, double expected) =>
        Assert.Equal(expected, PairedStats.StudentTCdf(x, df), 1e-13);

    [Fact]
    public void StudentTCdf_KnownValues()
    {
        // df = 1 is the Cauchy distribution: P(T ≤ 1) = 3/4; df = 2 has P(T ≤ t) = 1/2 + t / (2·√(2 + t²)).
        Assert.Equal(0.75, PairedStats.StudentTCdf(1, 1), 1e-12);
        Assert.Equal(0.5 + 1.5 / (2 * Math.Sqrt(2 + 2.25)), PairedStats.StudentTCdf(1.5, 2), 1e-12);
        Assert.Equal(0.5, PairedStats.StudentTCdf(0, 7), 1e-15);
    }

    [Fact]
    public void TInterval_HandComputed()
    {
        // d = 1..5: mean 3, sd √2.5, se √0.5, t_{0.975}(4) = 2.7764451051977987 → 3 ± 1.9632431...
        // (scipy: stats.t.interval(0.95, 4, loc=3, scale=stats.sem([1, 2, 3, 4, 5])) = (1.036756838522439, 4.9632431614775605)).
        (double lo, double hi) = PairedStats.TInterval([1, 2, 3, 4, 5]);
        double half = 2.7764451051977987 * Math.Sqrt(0.5);
        Assert.Equal(3 - half, lo, 1e-9);
        Assert.Equal(3 + half, hi, 1e-9);
        Assert.Equal(1.036756838522439, lo, 1e-9);
        Assert.True(double.IsNaN(PairedStats.TInterval([4.0]).Low));
    }

    [Fact]
    public void Quantile_IsNumpysLinearInterpolation()
    {
        // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.975]) = [1.75, 2.5, 3.925].
        double[] sorted = [1, 2, 3, 4];
        Assert.Equal(1.75, PairedStats.Quantile(sorted, 0.25), 1e-12);
        Assert.Equal(2.5, PairedStats.Quantile(sorted, 0.5), 1e-12);
        Assert.Equal(3.925, PairedStats.Quantile(sorted, 0.975), 1e-12);
    }

    [Fact]
    public void Bootstrap_ConstantDifferencesGiveAPointAndIsReproducible()
    {
        Assert.Equal((0.25, 0.25), PairedStats.BootstrapInterval([0.25, 0.25, 0.25]));
        double[] d = [0.3, -0.1, 0.5, 0.2, 0.9, 0.05, 0.4];
        Assert.Equal(PairedStats.BootstrapInterval(d), PairedStats.BootstrapInterval(d));
        (double lo, double hi) = PairedStats.BootstrapInterval(d);
        double mean = d.Average();
        Assert.True(lo < mean && mean < hi, $"[{lo}, {hi}] around {mean}");
        Assert.True(lo >= d.Min() && hi <= d.Max());
    }

    [Fact]
    public void Bootstrap_AgreesWithTheTIntervalOnALargeNormalSample()
    {
        var rng = new Random(5);
        double[] d = [.. Enumerable.Range(0, 400).Select(_ => 0.1 + Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))];
        (double tl, double th) = PairedStats.TInterval(d);
        (double bl, double bh) = PairedStats.BootstrapInterval(d);
        Assert.Equal(th - tl, bh - bl, 0.1 * (th - tl));
        Assert.Equal((tl + th) / 2, (bl + bh) / 2, 0.05 * (th - tl));
    }

    [Fact]
    public void Decide_TheRule()
    {
        Assert.Equal(Verdict.Confirmed, PairedStats.Decide((0.1, 0.5), (0.05, 0.4)));
        Assert.Equal(Verdict.NotReproduced, PairedStats.Decide((-0.5, -0.1), (-0.4, -0.05)));

        // Either interval touching or crossing 0 leaves it open.
        Assert.Equal(Verdict.Inconclusive, PairedStats.Decide((0.1, 0.5), (-0.01, 0.4)));
        Assert.Equal(Verdict.Inconclusive, PairedStats.Decide((-0.01, 0.5), (0.05, 0.4)));
        Assert.Equal(Verdict.Inconclusive, PairedStats.Decide((-0.5, -0.1), (-0.4, 0.01)));
        Assert.Equal(Verdict.Inconclusive, PairedStats.Decide((0, 0.5), (0, 0.4)));
        Assert.Equal(Verdict.Inconclusive, PairedStats.Decide((double.NaN, double.NaN), (double.NaN, double.NaN)));
    }

    [Fact]
    public void Comparison_OrientsDifferencesAndDecides()
    {
        // Higher is better: claimed beats other on every seed by about 0.1.
        var better = new Comparison("A > B", "AP", "seed", "A", "B", higherIsBetter: true, [0.8, 0.7, 0.75, 0.9, 0.85], [0.7, 0.62, 0.64, 0.8, 0.74]);
        Assert.Equal(Verdict.Confirmed, better.Verdict);
        Assert.All(better.Differences, d => Assert.True(d > 0));

        // Lower is better, but the claimed condition is higher on every unit: the reverse is significant.
        var reversed = new Comparison("A < B", "error", "dataset", "A", "B", higherIsBetter: false, [2.0, 2.1, 1.9, 2.2, 2.05], [1.0, 1.1, 0.9, 1.2, 1.0]);
        Assert.Equal(Verdict.NotReproduced, reversed.Verdict);
        Assert.True(reversed.Mean < 0);

        // Means ordered as claimed but the per-seed differences go both ways (a collapsing seed): not significant.
        var noisy = new Comparison("A > B", "AP", "seed", "A", "B", higherIsBetter: true, [0.8, 0.2, 0.85, 0.9, 0.3], [0.6, 0.7, 0.6, 0.5, 0.6]);
        Assert.True(noisy.Mean > 0);
        Assert.Equal(Verdict.Inconclusive, noisy.Verdict);

        // One unit: no spread to measure.
        Assert.Equal(Verdict.Inconclusive, new Comparison("A > B", "AP", "seed", "A", "B", true, [0.9], [0.1]).Verdict);
    }

    [Fact]
    public void Combine_SectionVerdict()
    {
        Comparison confirmed = new("c", "m", "seed", "A", "B", true, [2, 2.1, 2.2], [1, 1, 1]);
        Comparison reversed = new("r", "m", "seed", "A", "B", true, [1, 1, 1], [2, 2.1, 2.2]);
        Comparison open = new("o", "m", "seed", "A", "B", true, [1, 2, 0], [1, 1, 1]);
        Assert.Equal(Verdict.Confirmed, Comparison.Combine([confirmed, confirmed]));
        Assert.Equal(Verdict.Inconclusive, Comparison.Combine([confirmed, open]));
        Assert.Equal(Verdict.NotReproduced, Comparison.Combine([confirmed, open, reversed]));
        Assert.Equal(Verdict.Inconclusive, Comparison.Combine([]));
    }

    [Fact]
    public void TimeLeft_RescalesTheEstimateByTheClock()
    {
        Assert.Equal(100, LossKit.Cli.Commands.LabCommand.Remaining(100, 0, 0));
        Assert.Equal(200, LossKit.Cli.Commands.LabCommand.Remaining(100, 10, 20));
        Assert.Equal("2 min 05 s", LossKit.Cli.Commands.LabCommand.Duration(125));
        Assert.Equal("45 s", LossKit.Cli.Commands.LabCommand.Duration(45));
    }
}
