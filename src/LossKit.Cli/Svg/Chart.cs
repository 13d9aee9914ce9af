using System.Globalization;
using System.Text;

namespace LossKit.Cli.Svg;

/// <summary>How a series is drawn.</summary>
internal enum SeriesKind
{
    /// <summary>A polyline through the points (broken at NaN/∞ and, on a log axis, at values ≤ 0).</summary>
    Line,

    /// <summary>One dot per point.</summary>
    Scatter,
}

/// <summary>Axis scale.</summary>
internal enum AxisScale
{
    Linear,
    Log,
}

/// <summary>Where the legend goes; <see cref="Auto"/> picks the inside corner that hides the fewest points.</summary>
internal enum LegendPlacement
{
    Auto,
    TopRight,
    TopLeft,
    BottomRight,
    BottomLeft,
    Right,
    None,
}

/// <summary>One data series.</summary>
internal sealed class Series
{
    public Series(string name, IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"series '{name}': {x.Count} x values but {y.Count} y values");
        }

        Name = name;
        X = x;
        Y = y;
    }

    public string Name { get; }

    public IReadOnlyList<double> X { get; }

    public IReadOnlyList<double> Y { get; }

    public SeriesKind Kind { get; init; } = SeriesKind.Line;

    /// <summary>CSS colour; null takes the next palette colour.</summary>
    public string? Color { get; init; }

    /// <summary>Per-point colours for scatter series (overrides <see cref="Color"/> per dot).</summary>
    public IReadOnlyList<string>? PointColors { get; init; }

    public bool Dashed { get; init; }

    public double StrokeWidth { get; init; } = 2.0;

    public double MarkerRadius { get; init; } = 2.5;

    public double Opacity { get; init; } = 1.0;

    /// <summary>Whether the series gets a legend entry.</summary>
    public bool InLegend { get; init; } = true;
}

/// <summary>An axis: label, scale and optional fixed range.</summary>
internal sealed class Axis
{
    public string Label { get; set; } = "";

    public AxisScale Scale { get; set; } = AxisScale.Linear;

    public double? Min { get; set; }

    public double? Max { get; set; }

    /// <summary>Extra tick values (e.g. the aspect ratios 1/4 … 4 on a log axis); replaces the automatic ticks.</summary>
    public IReadOnlyList<(double Value, string Label)>? Ticks { get; set; }
}

/// <summary>A horizontal or vertical reference line with an optional label.</summary>
internal sealed record ReferenceLine(bool Horizontal, double Value, string Label, string Color = "#888888");

/// <summary>
/// A line / scatter chart rendered to SVG: title, axes with nice ticks (linear or log), grid, legend, clipped plot
/// area. Written by hand, no packages; the output is well-formed XML that works standalone or inline in XHTML.
/// </summary>
internal sealed class Chart
{
    /// <summary>Tableau 10: distinguishable on white, readable in print.</summary>
    public static readonly string[] Palette =
        ["#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"];

    private const double FontSize = 12;
    private const double TitleSize = 14;

    /// <summary>A white outline under label text, so labels stay readable where they cross data.</summary>
    private const string Halo = " stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";
    private static int s_idCounter;

    public string Title { get; set; } = "";

    public Axis X { get; } = new();

    public Axis Y { get; } = new();

    public List<Series> Series { get; } = [];

    public List<ReferenceLine> ReferenceLines { get; } = [];

    public double Width { get; set; } = 640;

    public double Height { get; set; } = 420;

    public LegendPlacement Legend { get; set; } = LegendPlacement.Auto;

    /// <summary>Adds a line series and returns this chart (fluent).</summary>
    public Chart Line(string name, IReadOnlyList<double> x, IReadOnlyList<double> y, string? color = null, bool dashed = false)
    {
        Series.Add(new Series(name, x, y) { Color = color, Dashed = dashed });
        return this;
    }

    /// <summary>A standalone SVG document.</summary>
    public string ToSvg()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(Width)}\" height=\"{F(Height)}\" viewBox=\"0 0 {F(Width)} {F(Height)}\" font-family=\"{SvgText.FontFamily}\" role=\"img\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{SvgText.Escape(Title)}</title>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{F(Width)}\" height=\"{F(Height)}\" fill=\"#ffffff\"/>\n");
        Render(sb, 0, 0);
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>Renders the chart's elements with its top-left corner at (<paramref name="left"/>, <paramref name="top"/>).</summary>
    internal void Render(StringBuilder sb, double left, double top)
    {
        string id = "c" + Interlocked.Increment(ref s_idCounter).ToString(CultureInfo.InvariantCulture) + "_" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var legendItems = Series.Where(s => s.InLegend && s.Name.Length > 0).ToList();
        string[] colors = AssignColors();

        // Layout: title on top, y label and tick labels on the left, x label and tick labels at the bottom.
        double legendWidth = legendItems.Count == 0 ? 0 : legendItems.Max(s => SvgText.Width(s.Name, FontSize)) + 36;
        bool outside = Legend == LegendPlacement.Right && legendItems.Count > 0;
        double titleHeight = Title.Length > 0 ? 26 : 8;
        (double xMin, double xMax) = Range(X, Series.SelectMany(s => s.X), isX: true);
        (double yMin, double yMax) = Range(Y, Series.SelectMany(s => s.Y), isX: false);
        var xTicks = X.Ticks?.Where(t => t.Value >= xMin && t.Value <= xMax).ToList() ?? Ticks.For(X.Scale, xMin, xMax);
        var yTicks = Y.Ticks?.Where(t => t.Value >= yMin && t.Value <= yMax).ToList() ?? Ticks.For(Y.Scale, yMin, yMax);
        double yTickWidth = yTicks.Count == 0 ? 0 : yTicks.Max(t => SvgText.Width(t.Label, FontSize - 1));
        double plotLeft = left + (Y.Label.Length > 0 ? 22 : 4) + yTickWidth + 10;
        double plotTop = top + titleHeight + 6;
        double plotRight = left + Width - 14 - (outside ? legendWidth + 10 : 0);
        double plotBottom = top + Height - (X.Label.Length > 0 ? 44 : 26);
        double pw = Math.Max(10, plotRight - plotLeft), ph = Math.Max(10, plotBottom - plotTop);

        double Px(double v) => plotLeft + pw * Fraction(X.Scale, v, xMin, xMax);
        double Py(double v) => plotBottom - ph * Fraction(Y.Scale, v, yMin, yMax);

        sb.Append("<g>\n");
        if (Title.Length > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left + Width / 2)}\" y=\"{F(top + 18)}\" text-anchor=\"middle\" font-size=\"{F(TitleSize)}\" font-weight=\"bold\" fill=\"#222222\">{SvgText.Escape(Title)}</text>\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<defs><clipPath id=\"{id}\"><rect x=\"{F(plotLeft)}\" y=\"{F(plotTop)}\" width=\"{F(pw)}\" height=\"{F(ph)}\"/></clipPath></defs>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(plotLeft)}\" y=\"{F(plotTop)}\" width=\"{F(pw)}\" height=\"{F(ph)}\" fill=\"#fbfbfb\" stroke=\"none\"/>\n");

        // Grid and ticks.
        foreach ((double v, string label) in xTicks)
        {
            double px = Px(v);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(px)}\" y1=\"{F(plotTop)}\" x2=\"{F(px)}\" y2=\"{F(plotBottom)}\" stroke=\"#e4e4e4\" stroke-width=\"1\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(px)}\" y1=\"{F(plotBottom)}\" x2=\"{F(px)}\" y2=\"{F(plotBottom + 5)}\" stroke=\"#444444\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(px)}\" y=\"{F(plotBottom + 18)}\" text-anchor=\"middle\" font-size=\"{F(FontSize - 1)}\" fill=\"#333333\">{SvgText.Escape(label)}</text>\n");
        }

        foreach ((double v, string label) in yTicks)
        {
            double py = Py(v);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(plotLeft)}\" y1=\"{F(py)}\" x2=\"{F(plotRight)}\" y2=\"{F(py)}\" stroke=\"#e4e4e4\" stroke-width=\"1\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(plotLeft - 5)}\" y1=\"{F(py)}\" x2=\"{F(plotLeft)}\" y2=\"{F(py)}\" stroke=\"#444444\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(plotLeft - 8)}\" y=\"{F(py + 4)}\" text-anchor=\"end\" font-size=\"{F(FontSize - 1)}\" fill=\"#333333\">{SvgText.Escape(label)}</text>\n");
        }

        if (X.Scale == AxisScale.Log && X.Ticks is null)
        {
            MinorLogTicks(sb, xMin, xMax, v => Px(v), horizontal: true, plotLeft, plotBottom);
        }

        if (Y.Scale == AxisScale.Log && Y.Ticks is null)
        {
            MinorLogTicks(sb, yMin, yMax, v => Py(v), horizontal: false, plotLeft, plotBottom);
        }

        // Reference lines under the data, their labels over it.
        var labels = new StringBuilder();
        foreach (ReferenceLine r in ReferenceLines)
        {
            if (r.Horizontal && r.Value >= yMin && r.Value <= yMax)
            {
                double py = Py(r.Value);
                sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(plotLeft)}\" y1=\"{F(py)}\" x2=\"{F(plotRight)}\" y2=\"{F(py)}\" stroke=\"{r.Color}\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>\n");
                if (r.Label.Length > 0)
                {
                    labels.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(plotRight - 6)}\" y=\"{F(py - 4)}\" text-anchor=\"end\" font-size=\"{F(FontSize - 1)}\" fill=\"{r.Color}\"{Halo}>{SvgText.Escape(r.Label)}</text>\n");
                }
            }
            else if (!r.Horizontal && r.Value >= xMin && r.Value <= xMax)
            {
                double px = Px(r.Value);
                sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(px)}\" y1=\"{F(plotTop)}\" x2=\"{F(px)}\" y2=\"{F(plotBottom)}\" stroke=\"{r.Color}\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>\n");
                if (r.Label.Length > 0)
                {
                    labels.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(px + 4)}\" y=\"{F(plotTop + 12)}\" font-size=\"{F(FontSize - 1)}\" fill=\"{r.Color}\"{Halo}>{SvgText.Escape(r.Label)}</text>\n");
                }
            }
        }

        // Data.
        sb.Append(CultureInfo.InvariantCulture, $"<g clip-path=\"url(#{id})\">\n");
        for (int si = 0; si < Series.Count; si++)
        {
            Series s = Series[si];
            string color = colors[si];
            if (s.Kind == SeriesKind.Line)
            {
                string path = LinePath(s, Px, Py);
                if (path.Length > 0)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{F(s.StrokeWidth)}\" stroke-linejoin=\"round\" stroke-linecap=\"round\"{(s.Dashed ? " stroke-dasharray=\"7 4\"" : "")}{(s.Opacity < 1 ? $" stroke-opacity=\"{F(s.Opacity)}\"" : "")}/>\n");
                }
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"<g fill=\"{color}\"{(s.Opacity < 1 ? $" fill-opacity=\"{F(s.Opacity)}\"" : "")}>");
                for (int i = 0; i < s.X.Count; i++)
                {
                    if (!Plottable(X.Scale, s.X[i]) || !Plottable(Y.Scale, s.Y[i]))
                    {
                        continue;
                    }

                    string fill = s.PointColors is { } pc ? $" fill=\"{pc[i]}\"" : "";
                    sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(Px(s.X[i]))}\" cy=\"{F(Py(s.Y[i]))}\" r=\"{F(s.MarkerRadius)}\"{fill}/>");
                }

                sb.Append("</g>\n");
            }
        }

        sb.Append("</g>\n");
        sb.Append(labels);

        // Frame and axis labels.
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(plotLeft)}\" y=\"{F(plotTop)}\" width=\"{F(pw)}\" height=\"{F(ph)}\" fill=\"none\" stroke=\"#444444\" stroke-width=\"1\"/>\n");
        if (X.Label.Length > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(plotLeft + pw / 2)}\" y=\"{F(plotBottom + 36)}\" text-anchor=\"middle\" font-size=\"{F(FontSize)}\" fill=\"#222222\">{SvgText.Escape(X.Label)}</text>\n");
        }

        if (Y.Label.Length > 0)
        {
            double cx = left + 14, cy = plotTop + ph / 2;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(cx)}\" y=\"{F(cy)}\" text-anchor=\"middle\" font-size=\"{F(FontSize)}\" fill=\"#222222\" transform=\"rotate(-90 {F(cx)} {F(cy)})\">{SvgText.Escape(Y.Label)}</text>\n");
        }

        if (legendItems.Count > 0 && Legend != LegendPlacement.None)
        {
            double lh = 18, boxH = legendItems.Count * lh + 8, boxW = legendWidth;
            (double lx, double ly) = outside
                ? (plotRight + 10, plotTop)
                : LegendCorner(Legend == LegendPlacement.Auto ? BestCorner(boxW, boxH, plotLeft, plotTop, pw, ph, Px, Py) : Legend, boxW, boxH, plotLeft, plotTop, pw, ph);
            sb.Append(CultureInfo.InvariantCulture, $"<g><rect x=\"{F(lx)}\" y=\"{F(ly)}\" width=\"{F(boxW)}\" height=\"{F(boxH)}\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#cccccc\" rx=\"3\"/>\n");
            for (int i = 0; i < legendItems.Count; i++)
            {
                Series s = legendItems[i];
                string color = colors[Series.IndexOf(s)];
                double y = ly + 4 + lh * i + lh / 2;
                if (s.Kind == SeriesKind.Line)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(lx + 6)}\" y1=\"{F(y)}\" x2=\"{F(lx + 26)}\" y2=\"{F(y)}\" stroke=\"{color}\" stroke-width=\"{F(Math.Max(2, s.StrokeWidth))}\"{(s.Dashed ? " stroke-dasharray=\"5 3\"" : "")}/>");
                }
                else
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(lx + 16)}\" cy=\"{F(y)}\" r=\"4\" fill=\"{color}\"/>");
                }

                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(lx + 31)}\" y=\"{F(y + 4)}\" font-size=\"{F(FontSize)}\" fill=\"#222222\">{SvgText.Escape(s.Name)}</text>\n");
            }

            sb.Append("</g>\n");
        }

        sb.Append("</g>\n");
    }

    private string[] AssignColors()
    {
        var colors = new string[Series.Count];
        int next = 0;
        for (int i = 0; i < Series.Count; i++)
        {
            colors[i] = Series[i].Color ?? Palette[next++ % Palette.Length];
        }

        return colors;
    }

    private static bool Plottable(AxisScale scale, double v) => double.IsFinite(v) && (scale == AxisScale.Linear || v > 0);

    private static double Fraction(AxisScale scale, double v, double min, double max) =>
        scale == AxisScale.Log ? (Math.Log10(v) - Math.Log10(min)) / (Math.Log10(max) - Math.Log10(min)) : (v - min) / (max - min);

    /// <summary>The axis range: fixed bounds where given, else the data's extent (finite values, &gt; 0 on log axes), rounded out to ticks.</summary>
    private static (double Min, double Max) Range(Axis axis, IEnumerable<double> values, bool isX)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values)
        {
            if (Plottable(axis.Scale, v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }

        if (axis.Min is double fixedMin)
        {
            min = fixedMin;
        }

        if (axis.Max is double fixedMax)
        {
            max = fixedMax;
        }

        if (!double.IsFinite(min) || !double.IsFinite(max))
        {
            (min, max) = axis.Scale == AxisScale.Log ? (1.0, 10.0) : (0.0, 1.0);
        }

        if (axis.Scale == AxisScale.Log)
        {
            if (max <= min)
            {
                (min, max) = (min / 2, max * 2);
            }

            if (axis.Min is null)
            {
                double lo = Math.Pow(10, Math.Floor(Math.Log10(min) + 1e-9));
                min = max / min > 30 || isX ? lo : min;
            }

            if (axis.Max is null)
            {
                double hi = Math.Pow(10, Math.Ceiling(Math.Log10(max) - 1e-9));
                max = max / min > 30 || isX ? hi : max;
            }

            return (min, max);
        }

        if (max <= min)
        {
            double pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
            (min, max) = (min - pad, max + pad);
        }

        double step = Ticks.NiceStep((max - min) / 6);
        if (axis.Min is null)
        {
            min = Math.Floor(min / step + 1e-9) * step;
        }

        if (axis.Max is null)
        {
            max = Math.Ceiling(max / step - 1e-9) * step;
        }

        return (min, max);
    }

    private static string LinePath(Series s, Func<double, double> px, Func<double, double> py)
    {
        var sb = new StringBuilder();
        bool pen = false;
        for (int i = 0; i < s.X.Count; i++)
        {
            double x = px(s.X[i]), y = py(s.Y[i]);
            if (!double.IsFinite(x) || !double.IsFinite(y))
            {
                pen = false;
                continue;
            }

            // Keep coordinates bounded; the clip path hides what lies outside the plot area.
            x = Math.Clamp(x, -1e5, 1e5);
            y = Math.Clamp(y, -1e5, 1e5);
            sb.Append(pen ? 'L' : 'M').Append(F(x)).Append(' ').Append(F(y));
            pen = true;
        }

        return sb.ToString();
    }

    private static void MinorLogTicks(StringBuilder sb, double min, double max, Func<double, double> map, bool horizontal, double plotLeft, double plotBottom)
    {
        if (max / min > 1e8)
        {
            return;
        }

        for (double decade = Math.Pow(10, Math.Floor(Math.Log10(min))); decade < max; decade *= 10)
        {
            for (int k = 2; k <= 9; k++)
            {
                double v = decade * k;
                if (v < min || v > max)
                {
                    continue;
                }

                double p = map(v);
                sb.Append(horizontal
                    ? string.Create(CultureInfo.InvariantCulture, $"<line x1=\"{F(p)}\" y1=\"{F(plotBottom)}\" x2=\"{F(p)}\" y2=\"{F(plotBottom + 3)}\" stroke=\"#666666\"/>\n")
                    : string.Create(CultureInfo.InvariantCulture, $"<line x1=\"{F(plotLeft - 3)}\" y1=\"{F(p)}\" x2=\"{F(plotLeft)}\" y2=\"{F(p)}\" stroke=\"#666666\"/>\n"));
            }
        }
    }

    private LegendPlacement BestCorner(double w, double h, double left, double top, double pw, double ph, Func<double, double> px, Func<double, double> py)
    {
        LegendPlacement best = LegendPlacement.TopRight;
        long bestCount = long.MaxValue;
        foreach (LegendPlacement corner in new[] { LegendPlacement.TopRight, LegendPlacement.TopLeft, LegendPlacement.BottomRight, LegendPlacement.BottomLeft })
        {
            (double lx, double ly) = LegendCorner(corner, w, h, left, top, pw, ph);
            long count = 0;
            foreach (Series s in Series)
            {
                // Sample lines densely enough that a segment crossing the box counts.
                for (int i = 0; i < s.X.Count; i++)
                {
                    double x = px(s.X[i]), y = py(s.Y[i]);
                    if (x >= lx - 4 && x <= lx + w + 4 && y >= ly - 4 && y <= ly + h + 4)
                    {
                        count++;
                    }

                    if (s.Kind == SeriesKind.Line && i > 0)
                    {
                        double x0 = px(s.X[i - 1]), y0 = py(s.Y[i - 1]);
                        for (int k = 1; k < 4; k++)
                        {
                            double xm = x0 + (x - x0) * k / 4, ym = y0 + (y - y0) * k / 4;
                            if (xm >= lx && xm <= lx + w && ym >= ly && ym <= ly + h)
                            {
                                count++;
                            }
                        }
                    }
                }
            }

            if (count < bestCount)
            {
                (best, bestCount) = (corner, count);
            }
        }

        return best;
    }

    private static (double X, double Y) LegendCorner(LegendPlacement corner, double w, double h, double left, double top, double pw, double ph) => corner switch
    {
        LegendPlacement.TopLeft => (left + 8, top + 8),
        LegendPlacement.BottomRight => (left + pw - w - 8, top + ph - h - 8),
        LegendPlacement.BottomLeft => (left + 8, top + ph - h - 8),
        _ => (left + pw - w - 8, top + 8),
    };

    internal static string F(double v) => double.IsFinite(v) ? Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture) : "0";
}
