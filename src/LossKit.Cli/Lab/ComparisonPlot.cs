using System.Globalization;
using System.Text;
using LossKit.Cli.Svg;

namespace LossKit.Cli.Lab;

/// <summary>
/// The two charts every section carries: bars of each condition's mean with the per-unit values as a strip plot beside
/// them (paired units joined by a faint line), and the claimed differences with their intervals against zero.
/// </summary>
internal static class ComparisonPlot
{
    private const double FontSize = 12;

    /// <summary>Bars (means) and per-unit dots for every condition that appears in the comparisons of one metric.</summary>
    public static string BarsAndStrip(string title, string metric, IReadOnlyList<Comparison> comparisons)
    {
        // Conditions in first-seen order, with their per-unit values.
        var conditions = new List<(string Name, double[] Values)>();
        foreach (Comparison c in comparisons)
        {
            if (!conditions.Exists(x => x.Name == c.Claimed))
            {
                conditions.Add((c.Claimed, c.ClaimedValues));
            }

            if (!conditions.Exists(x => x.Name == c.Other))
            {
                conditions.Add((c.Other, c.OtherValues));
            }
        }

        double slot = Math.Max(70, conditions.Max(c => SvgText.Width(c.Name, FontSize - 1)) + 16);
        double left = 62, top = 34, plotHeight = 220, bottom = 48;
        double width = left + slot * conditions.Count + 16, height = top + plotHeight + bottom;
        double[] all = [.. conditions.SelectMany(c => c.Values).Where(double.IsFinite)];
        double lo = Math.Min(0, all.Length > 0 ? all.Min() : 0), hi = all.Length > 0 ? all.Max() : 1;
        if (hi <= lo)
        {
            hi = lo + 1;
        }

        var ticks = Ticks.For(AxisScale.Linear, lo, hi);
        lo = Math.Min(lo, ticks.Min(t => t.Value));
        hi = Math.Max(hi, ticks.Max(t => t.Value));
        double Y(double v) => top + plotHeight * (1 - (v - lo) / (hi - lo));

        var sb = Open(width, height, title);
        foreach ((double v, string label) in ticks)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(left)}\" y1=\"{F(Y(v))}\" x2=\"{F(width - 16)}\" y2=\"{F(Y(v))}\" stroke=\"#e4e4e4\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left - 6)}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\" font-size=\"{F(FontSize - 1)}\" fill=\"#333333\">{SvgText.Escape(label)}</text>\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(14 {F(top + plotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\" font-size=\"{F(FontSize)}\" fill=\"#333333\">{SvgText.Escape(metric)}</text>\n");
        int units = conditions.Max(c => c.Values.Length);
        double Jitter(int unit) => units <= 1 ? 0 : ((unit * 0.618034) % 1 - 0.5) * slot * 0.3;

        // Paired units: a faint line joins a unit's values across neighbouring conditions (only for small unit counts).
        if (units <= 40)
        {
            for (int u = 0; u < units; u++)
            {
                var points = new List<string>();
                for (int k = 0; k < conditions.Count; k++)
                {
                    if (u < conditions[k].Values.Length && double.IsFinite(conditions[k].Values[u]))
                    {
                        points.Add($"{F(left + slot * (k + 0.62) + Jitter(u))},{F(Y(conditions[k].Values[u]))}");
                    }
                }

                sb.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{string.Join(' ', points)}\" fill=\"none\" stroke=\"#9aa5b1\" stroke-opacity=\"0.35\" stroke-width=\"1\"/>\n");
            }
        }

        for (int k = 0; k < conditions.Count; k++)
        {
            (string name, double[] values) = conditions[k];
            string color = Chart.Palette[k % Chart.Palette.Length];
            double mean = values.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
            double x0 = left + slot * k + 8;
            if (double.IsFinite(mean))
            {
                double yMean = Y(mean), yZero = Y(Math.Max(lo, 0));
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(x0)}\" y=\"{F(Math.Min(yMean, yZero))}\" width=\"{F(slot * 0.3)}\" height=\"{F(Math.Abs(yZero - yMean))}\" fill=\"{color}\" fill-opacity=\"0.55\"/>\n");
            }

            double radius = units > 200 ? 1.2 : units > 40 ? 1.8 : 3;
            for (int u = 0; u < values.Length; u++)
            {
                if (double.IsFinite(values[u]))
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(left + slot * (k + 0.62) + Jitter(u))}\" cy=\"{F(Y(values[u]))}\" r=\"{F(radius)}\" fill=\"{color}\" fill-opacity=\"0.8\"/>\n");
                }
            }

            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left + slot * (k + 0.5))}\" y=\"{F(top + plotHeight + 18)}\" text-anchor=\"middle\" font-size=\"{F(FontSize - 1)}\" fill=\"#333333\">{SvgText.Escape(name)}</text>\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left)}\" y=\"{F(height - 8)}\" font-size=\"{F(FontSize - 1.5)}\" fill=\"#59636e\">bar: mean; dots: one per {SvgText.Escape(comparisons[0].Unit)} ({units})</text>\n");
        return Close(sb);
    }

    /// <summary>Per claim: the per-unit differences (dots), the t-interval (thick) and the bootstrap interval (thin) against 0.</summary>
    public static string Differences(string title, IReadOnlyList<Comparison> comparisons, Func<double, string> format)
    {
        double labelWidth = Math.Min(300, comparisons.Max(c => SvgText.Width(c.Claim, FontSize - 1)) + 12);
        double left = labelWidth + 10, top = 34, row = 34, plotWidth = 320;
        double width = Math.Max(left + plotWidth + 20, SvgText.Width(title, 13) + 30), height = top + row * comparisons.Count + 44;
        double[] all = [.. comparisons.SelectMany(c => c.Differences.Append(c.T.Low).Append(c.T.High)).Where(double.IsFinite).Append(0)];
        double lo = all.Min(), hi = all.Max();
        if (hi <= lo)
        {
            hi = lo + 1;
        }

        double pad = 0.05 * (hi - lo);
        (lo, hi) = (lo - pad, hi + pad);
        double X(double v) => left + plotWidth * (v - lo) / (hi - lo);

        var sb = Open(width, height, title);
        foreach ((double v, string label) in Ticks.For(AxisScale.Linear, lo, hi))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(v))}\" y1=\"{F(top)}\" x2=\"{F(X(v))}\" y2=\"{F(top + row * comparisons.Count)}\" stroke=\"#e4e4e4\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(v))}\" y=\"{F(top + row * comparisons.Count + 16)}\" text-anchor=\"middle\" font-size=\"{F(FontSize - 1)}\" fill=\"#333333\">{SvgText.Escape(label)}</text>\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(0))}\" y1=\"{F(top - 4)}\" x2=\"{F(X(0))}\" y2=\"{F(top + row * comparisons.Count)}\" stroke=\"#222222\" stroke-dasharray=\"4 3\"/>\n");
        for (int i = 0; i < comparisons.Count; i++)
        {
            Comparison c = comparisons[i];
            double yc = top + row * (i + 0.5);
            string color = c.Verdict switch { Verdict.Confirmed => "#1a7f37", Verdict.NotReproduced => "#cf222e", _ => "#9a6700" };
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left - 8)}\" y=\"{F(yc + 4)}\" text-anchor=\"end\" font-size=\"{F(FontSize - 1)}\" fill=\"#333333\">{SvgText.Escape(c.Claim)}</text>\n");
            double radius = c.Differences.Length > 200 ? 1 : c.Differences.Length > 40 ? 1.6 : 2.6;
            for (int u = 0; u < c.Differences.Length; u++)
            {
                if (double.IsFinite(c.Differences[u]))
                {
                    double jitter = ((u * 0.618034) % 1 - 0.5) * row * 0.45;
                    sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(c.Differences[u]))}\" cy=\"{F(yc + jitter)}\" r=\"{F(radius)}\" fill=\"#9aa5b1\" fill-opacity=\"0.7\"/>\n");
                }
            }

            if (double.IsFinite(c.Bootstrap.Low))
            {
                sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(c.Bootstrap.Low))}\" y1=\"{F(yc + 7)}\" x2=\"{F(X(c.Bootstrap.High))}\" y2=\"{F(yc + 7)}\" stroke=\"{color}\" stroke-width=\"1.5\"/>\n");
            }

            if (double.IsFinite(c.T.Low))
            {
                sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(c.T.Low))}\" y1=\"{F(yc)}\" x2=\"{F(X(c.T.High))}\" y2=\"{F(yc)}\" stroke=\"{color}\" stroke-width=\"4\" stroke-linecap=\"round\"/>\n");
            }

            sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(c.Mean))}\" cy=\"{F(yc)}\" r=\"4\" fill=\"#ffffff\" stroke=\"{color}\" stroke-width=\"2\"/>\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left)}\" y=\"{F(height - 8)}\" font-size=\"{F(FontSize - 1.5)}\" fill=\"#59636e\">+ = as claimed; thick: t-interval, thin: bootstrap</text>\n");
        return Close(sb);
    }

    private static StringBuilder Open(double width, double height, string title)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(width)}\" height=\"{F(height)}\" viewBox=\"0 0 {F(width)} {F(height)}\" font-family=\"{SvgText.FontFamily}\" role=\"img\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{SvgText.Escape(title)}</title>\n<rect width=\"{F(width)}\" height=\"{F(height)}\" fill=\"#ffffff\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(width / 2)}\" y=\"20\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\" fill=\"#222222\">{SvgText.Escape(title)}</text>\n");
        return sb;
    }

    private static string Close(StringBuilder sb) => sb.Append("</svg>\n").ToString();

    private static string F(double v) => Chart.F(v);
}
