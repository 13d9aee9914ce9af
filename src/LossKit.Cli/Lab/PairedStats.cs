using System.Diagnostics;

namespace LossKit.Cli.Lab;

/// <summary>
/// Paired statistics for the lab's verdicts: the mean of per-unit differences (unit = seed, dataset or anchor centre:
/// every compared loss sees the same data and initialisation within a unit), its paired t-interval and a percentile
/// bootstrap interval with a fixed seed, so a verdict can be recomputed from the per-unit values in results.json.
/// </summary>
internal static class PairedStats
{
    /// <summary>Bootstrap resamples of the per-unit differences.</summary>
    public const int BootstrapResamples = 10_000;

    /// <summary>Seed of the bootstrap's generator (System.Random's seeded algorithm is stable across .NET versions).</summary>
    public const int BootstrapSeed = 20_170_807;

    /// <summary>Two-sided confidence level of both intervals.</summary>
    public const double Level = 0.95;

    /// <summary>Arithmetic mean and sample standard deviation (n − 1; 0 for one value, NaN for none).</summary>
    public static (double Mean, double Sd) MeanSd(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty)
        {
            return (double.NaN, double.NaN);
        }

        double mean = 0;
        foreach (double v in values)
        {
            mean += v;
        }

        mean /= values.Length;
        double ss = 0;
        foreach (double v in values)
        {
            ss += (v - mean) * (v - mean);
        }

        return (mean, values.Length > 1 ? Math.Sqrt(ss / (values.Length - 1)) : 0);
    }

    /// <summary>
    /// The paired t-interval of the mean difference: mean ± t_{n−1, (1+level)/2} · sd / √n. NaN bounds for fewer than two
    /// differences (no spread to measure).
    /// </summary>
    public static (double Low, double High) TInterval(ReadOnlySpan<double> differences, double level = Level)
    {
        int n = differences.Length;
        if (n < 2)
        {
            return (double.NaN, double.NaN);
        }

        (double mean, double sd) = MeanSd(differences);
        double half = StudentTQuantile((1 + level) / 2, n - 1) * sd / Math.Sqrt(n);
        return (mean - half, mean + half);
    }

    /// <summary>
    /// Percentile bootstrap interval of the mean difference: <see cref="BootstrapResamples"/> resamples of the n
    /// differences with replacement (generator seeded with <see cref="BootstrapSeed"/>), the (1 − level)/2 and
    /// (1 + level)/2 quantiles of the resampled means (linear interpolation between order statistics, numpy's default).
    /// NaN bounds for fewer than two differences.
    /// </summary>
    public static (double Low, double High) BootstrapInterval(ReadOnlySpan<double> differences, double level = Level,
        int resamples = BootstrapResamples, int seed = BootstrapSeed)
    {
        int n = differences.Length;
        if (n < 2)
        {
            return (double.NaN, double.NaN);
        }

        var rng = new Random(seed);
        var means = new double[resamples];
        for (int b = 0; b < resamples; b++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += differences[rng.Next(n)];
            }

            means[b] = sum / n;
        }

        Array.Sort(means);
        return (Quantile(means, (1 - level) / 2), Quantile(means, (1 + level) / 2));
    }

    /// <summary>Quantile of sorted values with linear interpolation (numpy's default, "type 7").</summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        Debug.Assert(sorted.Length > 0 && q is >= 0 and <= 1);
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>
    /// The rule every verdict uses. The differences are oriented so that positive means "as claimed". Confirmed when both
    /// 95 % intervals (paired t and bootstrap) lie above 0, so both exclude the reverse (difference ≤ 0); Not reproduced
    /// when both lie below 0 (the reverse is significant); Inconclusive otherwise, including fewer than two units.
    /// </summary>
    public static Verdict Decide((double Low, double High) t, (double Low, double High) bootstrap)
    {
        if (!(double.IsFinite(t.Low) && double.IsFinite(t.High) && double.IsFinite(bootstrap.Low) && double.IsFinite(bootstrap.High)))
        {
            return Verdict.Inconclusive;
        }

        if (t.Low > 0 && bootstrap.Low > 0)
        {
            return Verdict.Confirmed;
        }

        return t.High < 0 && bootstrap.High < 0 ? Verdict.NotReproduced : Verdict.Inconclusive;
    }

    /// <summary>The rule's text, as the report states it.</summary>
    public const string RuleText =
        "Each claim is a paired comparison: for every unit (a seed, a dataset or an anchor centre: the same data and initialisation for every loss) "
        + "the difference is taken in the direction the claim predicts, so positive means \"as claimed\". Two 95 % intervals of the mean difference are computed: "
        + "the paired t-interval and a percentile bootstrap (10,000 resamples of the units, fixed seed). "
        + "Confirmed when both intervals lie above 0 (they exclude the reverse); Not reproduced when both lie below 0 (the reverse is significant); "
        + "Inconclusive otherwise (and with fewer than two units). A section is Confirmed when all its claims are, Not reproduced when any claim is, Inconclusive otherwise.";

    /// <summary>Student's t quantile: the x with P(T ≤ x) = <paramref name="p"/> for <paramref name="df"/> degrees of freedom.</summary>
    public static double StudentTQuantile(double p, double df)
    {
        Debug.Assert(p is > 0 and < 1 && df > 0);
        if (p == 0.5)
        {
            return 0;
        }

        if (p < 0.5)
        {
            return -StudentTQuantile(1 - p, df);
        }

        // Bracket, then bisect on the CDF (monotone); 200 halvings reach double precision.
        double lo = 0, hi = 1;
        while (StudentTCdf(hi, df) < p)
        {
            lo = hi;
            hi *= 2;
        }

        for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (StudentTCdf(mid, df) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return 0.5 * (lo + hi);
    }

    /// <summary>Student's t CDF through the regularised incomplete beta: P(T ≤ t) = 1 − ½·I_{df/(df+t²)}(df/2, ½) for t ≥ 0.</summary>
    public static double StudentTCdf(double t, double df)
    {
        double x = df / (df + t * t);
        double tail = 0.5 * RegularizedIncompleteBeta(x, df / 2, 0.5);
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>I_x(a, b) by the continued fraction (Lentz's method), with the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).</summary>
    public static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        return x < (a + 1) / (a + b + 2)
            ? Math.Exp(lnFront) * BetaContinuedFraction(x, a, b) / a
            : 1 - Math.Exp(lnFront) * BetaContinuedFraction(1 - x, b, a) / b;
    }

    private static double BetaContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double f = d;
        for (int m = 1; m <= 1000; m++)
        {
            // Even step.
            double num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + num * d;
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            f *= c * d;

            // Odd step.
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            d = 1 + num * d;
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
            {
                break;
            }
        }

        return f;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15).</summary>
    public static double LogGamma(double x)
    {
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5)
        {
            // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        x -= 1;
        double sum = g[0];
        for (int i = 1; i < g.Length; i++)
        {
            sum += g[i] / (x + i);
        }

        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
