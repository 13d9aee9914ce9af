using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using LossKit.Cli.Svg;

namespace LossKit.Cli.Lab;

/// <summary>
/// Writes the lab report: one self-contained XHTML-compatible page (inline CSS and SVG, no scripts, no network), one
/// section per experiment with claim, setup, tables, charts and the computed verdict.
/// </summary>
internal static class HtmlReport
{
    private const string Css = """
        :root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --bg: #f6f8fa; }
        * { box-sizing: border-box; }
        body { margin: 0; font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); background: #ffffff; line-height: 1.45; font-size: 15px; }
        header { background: #24292f; color: #ffffff; padding: 22px 40px 18px; }
        header h1 { margin: 0 0 6px; font-size: 26px; }
        header p { margin: 2px 0; color: #d0d7de; font-size: 13.5px; }
        main { max-width: 1360px; margin: 0 auto; padding: 10px 40px 40px; }
        h2 { font-size: 21px; margin: 34px 0 8px; padding-top: 10px; border-top: 3px solid #24292f; }
        h3 { font-size: 15px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
        .claim { background: var(--bg); border-left: 4px solid #4e79a7; padding: 8px 14px; margin: 8px 0; }
        .claim .src { color: var(--muted); font-size: 13px; }
        .verdict { display: block; padding: 9px 14px; margin: 12px 0; border-radius: 6px; font-weight: bold; font-size: 15.5px; }
        .v-confirmed { background: #dafbe1; border: 1px solid #4ac26b; color: #116329; }
        .v-inconclusive { background: #fff8c5; border: 1px solid #d4a72c; color: #7d4e00; }
        .rule { font-size: 13px; color: #3d444d; margin: 6px 0; }
        .flip { background: #fbefff; border: 1px solid #a475f9; color: #6639ba; padding: 7px 12px; margin: 10px 0; border-radius: 6px; font-weight: bold; }
        .size { background: #ddf4ff; border: 1px solid #54aeff; color: #0a3069; padding: 7px 12px; margin: 12px 0 4px; border-radius: 6px; }
        .v-notreproduced { background: #ffebe9; border: 1px solid #ff8182; color: #a40e26; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12.5px; font-weight: bold; }
        ul.setup { margin: 4px 0 8px; padding-left: 22px; }
        ul.setup li { margin: 2px 0; }
        table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13.5px; }
        caption { text-align: left; font-weight: bold; padding: 4px 0; color: var(--ink); }
        th, td { border: 1px solid var(--line); padding: 4px 10px; }
        th { background: var(--bg); text-align: left; }
        td.num { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
        tr:nth-child(even) td { background: #fbfcfd; }
        .charts { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
        figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #ffffff; max-width: 100%; }
        figure svg { display: block; max-width: 100%; height: auto; }
        figcaption { font-size: 12.5px; color: var(--muted); padding: 4px 4px 0; max-width: 640px; }
        .notes { font-size: 13.5px; color: #3d444d; }
        .notes li { margin: 3px 0; }
        .tables { display: flex; flex-wrap: wrap; gap: 0 28px; align-items: flex-start; }
        .summary td, .summary th { font-size: 14px; }
        a { color: #0969da; text-decoration: none; }
        footer { color: var(--muted); font-size: 12.5px; margin-top: 30px; border-top: 1px solid var(--line); padding-top: 10px; }
        """;

    /// <summary>Placeholder that a later run's --compare replaces with its flip notice (see <see cref="InsertFlipNotice"/>).</summary>
    public const string FlipMarker = "<!--losskit-lab:flips-->";

    public static string Write(IReadOnlyList<ExperimentReport> reports, LabContext context, double totalSeconds, string? comparedWith = null)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>LossKit loss lab</title>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<meta name=\"losskit-page-height\" content=\"{EstimateHeight(reports)}\"/>\n");
        sb.Append("<style>\n").Append(Css).Append("\n</style>\n</head>\n<body>\n");
        sb.Append("<header><h1>LossKit loss lab</h1>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<p>Claims from the loss-function literature, re-measured with LossKit's exact gradients on small synthetic problems. Size: {E(context.Describe())}, seed {context.Seed}; total time {totalSeconds:F1} s.</p>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<p>{E(Environment.ProcessorCount + " cores, " + RuntimeInformation.OSDescription + ", " + RuntimeInformation.FrameworkDescription + ", " + LossKitSettings.SimdDescription)}; generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Every verdict below is computed from the numbers in its section.</p>\n");
        sb.Append("</header>\n<main>\n");
        int claims = reports.Sum(r => r.Comparisons.Count);
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"size\">This report was produced at size <strong>{E(context.SizeName)}</strong> ({E(context.Describe())}) with all {reports.Count} selected experiment{(reports.Count == 1 ? "" : "s")} completed: {claims} claimed difference{(claims == 1 ? "" : "s")} tested.</div>\n");
        sb.Append("<p class=\"rule\"><strong>Verdict rule.</strong> ").Append(E(PairedStats.RuleText)).Append("</p>\n");
        var flips = reports.SelectMany(r => r.Comparisons.Where(c => c.Flip is not null).Select(c => (r, c))).ToList();
        if (flips.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<div class=\"flip\">Verdicts that differ from {E(comparedWith ?? "the compared run")}: ");
            sb.Append(E(string.Join("; ", flips.Select(f => $"{f.r.Title.Split(' ')[0]} {f.c.Claim}: {VerdictWord(f.c.Verdict)} here, {f.c.Flip}")))).Append("</div>\n");
        }

        sb.Append(FlipMarker).Append('\n');

        // Summary.
        sb.Append("<h3>Summary</h3>\n<table class=\"summary\"><thead><tr><th>Experiment</th><th>Verdict</th><th>Measured</th><th>Time</th></tr></thead><tbody>\n");
        foreach (ExperimentReport r in reports)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"#{r.Id}\">{E(r.Title)}</a></td><td>{Badge(r.Verdict)}</td><td>{E(r.VerdictText)} ({r.Comparisons.Count(c => c.Verdict == Verdict.Confirmed)} of {r.Comparisons.Count} claims confirmed)</td><td class=\"num\">{r.Seconds:F1} s</td></tr>\n");
        }

        sb.Append("</tbody></table>\n");

        foreach (ExperimentReport r in reports)
        {
            Section(sb, r);
        }

        sb.Append("<footer>Written by <code>losskit lab</code>. Models (dense layers, SGD with momentum) live in the CLI; every loss value and gradient comes from the LossKit library. ");
        sb.Append("Charts are inline SVG drawn by the CLI's own chart writer; the page needs no network.</footer>\n");
        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// A generous estimate of the rendered page height at 1400 px (tools/screenshot-report.sh sizes its window with it):
    /// chart rows laid out as the flex container wraps them, plus tables, lists and headings.
    /// </summary>
    private static int EstimateHeight(IReadOnlyList<ExperimentReport> reports)
    {
        const double content = 1280;
        double height = 260 + 40 * reports.Count;
        foreach (ExperimentReport r in reports)
        {
            height += r.Comparisons.Count > 0 ? 120 + 340 * r.Comparisons.Select(c => c.Metric).Distinct().Count() + 31 * r.Comparisons.Count + (r.Comparisons[0].Differences.Length <= 25 ? 31 * r.Comparisons[0].Differences.Length : 0) : 0;
            height += 200 + 28 * r.Setup.Count + 28 * r.Notes.Count + (r.Notes.Count > 0 ? 40 : 0);
            height += r.Tables.Sum(t => 50 + 31 * t.Rows.Count);
            double rowWidth = 0, rowHeight = 0;
            foreach ((string svg, string caption) in r.Charts)
            {
                (double w, double h) = SvgSize(svg);
                w = Math.Min(w + 14, content);
                h += 14 + (caption.Length > 0 ? 18 * Math.Ceiling(caption.Length / Math.Max(40.0, Math.Min(w, 640) / 7)) : 0);
                if (rowWidth > 0 && rowWidth + 14 + w > content)
                {
                    height += rowHeight + 14;
                    (rowWidth, rowHeight) = (0, 0);
                }

                rowWidth += (rowWidth > 0 ? 14 : 0) + w;
                rowHeight = Math.Max(rowHeight, h);
            }

            height += rowHeight;
        }

        return (int)(height * 1.1);
    }

    private static (double Width, double Height) SvgSize(string svg)
    {
        static double Attr(string svg, string name)
        {
            int i = svg.IndexOf(" " + name + "=\"", StringComparison.Ordinal);
            if (i < 0)
            {
                return 400;
            }

            int start = i + name.Length + 3, end = svg.IndexOf('"', start);
            return double.TryParse(svg[start..end], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : 400;
        }

        return (Attr(svg, "width"), Attr(svg, "height"));
    }

    private static void Section(StringBuilder sb, ExperimentReport r)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<section id=\"{r.Id}\">\n<h2>{E(r.Title)}</h2>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"claim\"><strong>Claim.</strong> {E(r.Claim)} <span class=\"src\">— {E(r.Source)}</span></div>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"verdict {VerdictClass(r.Verdict)}\">{E(VerdictWord(r.Verdict))}: {E(r.VerdictText)}</div>\n");
        Comparisons(sb, r);
        if (r.Setup.Count > 0)
        {
            sb.Append("<h3>Setup</h3>\n<ul class=\"setup\">\n");
            foreach (string s in r.Setup)
            {
                sb.Append("<li>").Append(E(s)).Append("</li>\n");
            }

            sb.Append("</ul>\n");
        }

        if (r.Tables.Count > 0)
        {
            sb.Append("<h3>Results</h3>\n<div class=\"tables\">\n");
            foreach (ResultTable t in r.Tables)
            {
                Table(sb, t);
            }

            sb.Append("</div>\n");
        }

        if (r.Charts.Count > 0)
        {
            sb.Append("<div class=\"charts\">\n");
            foreach ((string svg, string caption) in r.Charts)
            {
                sb.Append("<figure>\n").Append(StripXmlDeclaration(svg));
                if (caption.Length > 0)
                {
                    sb.Append("<figcaption>").Append(E(caption)).Append("</figcaption>\n");
                }

                sb.Append("</figure>\n");
            }

            sb.Append("</div>\n");
        }

        if (r.Notes.Count > 0)
        {
            sb.Append("<h3>Notes</h3>\n<ul class=\"notes\">\n");
            foreach (string n in r.Notes)
            {
                sb.Append("<li>").Append(E(n)).Append("</li>\n");
            }

            sb.Append("</ul>\n");
        }

        sb.Append("</section>\n");
    }

    /// <summary>The claimed differences: one row each with the interval and verdict, the per-unit values, and the two charts.</summary>
    private static void Comparisons(StringBuilder sb, ExperimentReport r)
    {
        if (r.Comparisons.Count == 0)
        {
            return;
        }

        foreach (Comparison c in r.Comparisons.Where(c => c.Flip is not null))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<div class=\"flip\">Flipped: \"{E(c.Claim)}\" is {E(VerdictWord(c.Verdict))} here but {E(c.Flip!)}.</div>\n");
        }

        sb.Append("<h3>Claims tested</h3>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"rule\">Rule: paired over {E(string.Join(" / ", r.Comparisons.Select(c => c.Unit + "s").Distinct()))}; Confirmed when the paired t-interval and the bootstrap interval (95 %) both lie above 0, Not reproduced when both lie below 0, Inconclusive otherwise; the section is Confirmed when every claim is, Not reproduced when any claim is.</p>\n");
        sb.Append("<div class=\"tables\">\n");
        var t = new ResultTable("Paired differences (positive = as claimed), mean with 95 % intervals", "Claim", "unit", "n", "claimed: mean", "other: mean",
            "difference", "t-interval", "bootstrap", "verdict");
        foreach (Comparison c in r.Comparisons)
        {
            t.Row(c.Claim, c.Unit, c.Differences.Length.ToString(CultureInfo.InvariantCulture), r.Format(c.ClaimedValues.Average()), r.Format(c.OtherValues.Average()),
                (c.Mean > 0 ? "+" : "") + r.Format(c.Mean), $"[{r.Format(c.T.Low)}, {r.Format(c.T.High)}]", $"[{r.Format(c.Bootstrap.Low)}, {r.Format(c.Bootstrap.High)}]",
                VerdictWord(c.Verdict) + (c.Flip is null ? "" : " (flipped)"));
        }

        Table(sb, t);

        // Per-unit values, when there are few enough units to read (all of them are in results.json).
        Comparison first = r.Comparisons[0];
        int units = first.Differences.Length;
        if (units <= 25 && r.Comparisons.All(c => c.Differences.Length == units && c.Unit == first.Unit))
        {
            var conditions = new List<(string Name, double[] Values)>();
            foreach (Comparison c in r.Comparisons)
            {
                foreach ((string name, double[] values) in new[] { (c.Claimed, c.ClaimedValues), (c.Other, c.OtherValues) })
                {
                    if (!conditions.Exists(x => x.Name == name && x.Values == values))
                    {
                        conditions.Add((c.Metric + ": " + name, values));
                    }
                }
            }

            conditions = [.. conditions.DistinctBy(x => x.Name)];
            var perUnit = new ResultTable($"Per-{first.Unit} values", [first.Unit, .. conditions.Select(x => x.Name)]);
            for (int u = 0; u < units; u++)
            {
                perUnit.Row([(u + 1).ToString(CultureInfo.InvariantCulture), .. conditions.Select(x => r.Format(x.Values[u]))]);
            }

            Table(sb, perUnit);
        }

        sb.Append("</div>\n<div class=\"charts\">\n");
        // Per metric: the bars with the strip plot beside them, then the differences on their own scale.
        foreach (IGrouping<string, Comparison> metric in r.Comparisons.GroupBy(c => c.Metric))
        {
            sb.Append("<figure>\n").Append(StripXmlDeclaration(ComparisonPlot.BarsAndStrip(metric.Key, metric.Key, [.. metric]))).Append("</figure>\n");
            sb.Append("<figure>\n").Append(StripXmlDeclaration(ComparisonPlot.Differences("Claimed differences: " + metric.Key, [.. metric], r.Format))).Append("</figure>\n");
        }

        sb.Append("</div>\n");
    }

    /// <summary>
    /// Inserts (or replaces) a flip notice in a report written earlier, at <see cref="FlipMarker"/>; returns the page
    /// unchanged when it has no marker.
    /// </summary>
    public static string InsertFlipNotice(string html, string notice)
    {
        const string start = "<!--losskit-lab:flip-notice-->", end = "<!--/losskit-lab:flip-notice-->";
        int a = html.IndexOf(start, StringComparison.Ordinal);
        if (a >= 0)
        {
            int b = html.IndexOf(end, a, StringComparison.Ordinal);
            html = html.Remove(a, b + end.Length - a);
        }

        int at = html.IndexOf(FlipMarker, StringComparison.Ordinal);
        return at < 0 ? html : html.Insert(at + FlipMarker.Length, $"\n{start}<div class=\"flip\">{E(notice)}</div>{end}");
    }

    private static void Table(StringBuilder sb, ResultTable t)
    {
        sb.Append("<table>");
        if (t.Caption.Length > 0)
        {
            sb.Append("<caption>").Append(E(t.Caption)).Append("</caption>");
        }

        sb.Append("<thead><tr>");
        foreach (string h in t.Header)
        {
            sb.Append("<th>").Append(E(h)).Append("</th>");
        }

        sb.Append("</tr></thead>\n<tbody>\n");
        foreach (string[] row in t.Rows)
        {
            sb.Append("<tr>");
            for (int i = 0; i < row.Length; i++)
            {
                bool numeric = i > 0 && LooksNumeric(row[i]);
                sb.Append(numeric ? "<td class=\"num\">" : "<td>").Append(E(row[i])).Append("</td>");
            }

            sb.Append("</tr>\n");
        }

        sb.Append("</tbody></table>\n");
    }

    private static bool LooksNumeric(string s)
    {
        string t = s.TrimStart('-', '−', '+', '≥', '>', '<', ' ');
        return s == "NaN" || s == "—" || (t.Length > 0 && char.IsDigit(t[0]));
    }

    private static string Badge(Verdict v) => $"<span class=\"badge {VerdictClass(v)}\">{E(VerdictWord(v))}</span>";

    public static string VerdictWord(Verdict v) => v switch
    {
        Verdict.Confirmed => "Confirmed",
        Verdict.Inconclusive => "Inconclusive",
        _ => "Not reproduced",
    };

    private static string VerdictClass(Verdict v) => v switch
    {
        Verdict.Confirmed => "v-confirmed",
        Verdict.Inconclusive => "v-inconclusive",
        _ => "v-notreproduced",
    };

    private static string StripXmlDeclaration(string svg) =>
        svg.StartsWith("<?xml", StringComparison.Ordinal) ? svg[(svg.IndexOf("?>", StringComparison.Ordinal) + 2)..].TrimStart() : svg;

    private static string E(string s) => SvgText.Escape(s);
}
