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
        .v-partly { background: #fff8c5; border: 1px solid #d4a72c; color: #7d4e00; }
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

    public static string Write(IReadOnlyList<ExperimentReport> reports, LabContext context, double totalSeconds)
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

        // Summary.
        sb.Append("<h3>Summary</h3>\n<table class=\"summary\"><thead><tr><th>Experiment</th><th>Verdict</th><th>Measured</th><th>Time</th></tr></thead><tbody>\n");
        foreach (ExperimentReport r in reports)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"#{r.Id}\">{E(r.Title)}</a></td><td>{Badge(r.Verdict)}</td><td>{E(r.VerdictText)}</td><td class=\"num\">{r.Seconds:F1} s</td></tr>\n");
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
        Verdict.Partly => "Partly reproduced",
        _ => "Not reproduced",
    };

    private static string VerdictClass(Verdict v) => v switch
    {
        Verdict.Confirmed => "v-confirmed",
        Verdict.Partly => "v-partly",
        _ => "v-notreproduced",
    };

    private static string StripXmlDeclaration(string svg) =>
        svg.StartsWith("<?xml", StringComparison.Ordinal) ? svg[(svg.IndexOf("?>", StringComparison.Ordinal) + 2)..].TrimStart() : svg;

    private static string E(string s) => SvgText.Escape(s);
}
