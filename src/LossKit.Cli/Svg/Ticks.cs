using System.Globalization;

namespace LossKit.Cli.Svg;

/// <summary>Tick positions and labels: 1-2-5 steps on linear axes, decades (or 1-2-5 within a decade) on log axes.</summary>
internal static class Ticks
{
    /// <summary>The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ <paramref name="raw"/>.</summary>
    public static double NiceStep(double raw)
    {
        if (!(raw > 0) || !double.IsFinite(raw))
        {
            return 1;
        }

        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double m = raw / magnitude;
        double nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
        return nice * magnitude;
    }

    public static List<(double Value, string Label)> For(AxisScale scale, double min, double max) =>
        scale == AxisScale.Log ? Log(min, max) : Linear(min, max);

    public static List<(double Value, string Label)> Linear(double min, double max, int target = 6)
    {
        var ticks = new List<(double, string)>();
        double step = NiceStep((max - min) / target);
        int decimals = Decimals(step);
        double first = Math.Ceiling(min / step - 1e-9) * step;
        for (int i = 0; ; i++)
        {
            double v = first + i * step;
            if (v > max + step * 1e-9 || i > 100)
            {
                break;
            }

            if (Math.Abs(v) < step * 1e-9)
            {
                v = 0;
            }

            ticks.Add((v, Format(v, decimals)));
        }

        return ticks;
    }

    public static List<(double Value, string Label)> Log(double min, double max)
    {
        var ticks = new List<(double, string)>();
        int lo = (int)Math.Ceiling(Math.Log10(min) - 1e-9), hi = (int)Math.Floor(Math.Log10(max) + 1e-9);
        if (hi - lo < 1)
        {
            // Less than a decade: 1-2-5 multiples.
            for (int e = lo - 1; e <= hi; e++)
            {
                foreach (int k in new[] { 1, 2, 5 })
                {
                    double v = k * Math.Pow(10, e);
                    if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9))
                    {
                        ticks.Add((v, Compact(v)));
                    }
                }
            }

            return ticks.Count >= 2 ? ticks : Linear(min, max, 4);
        }

        int stride = Math.Max(1, (int)Math.Ceiling((hi - lo + 1) / 8.0));
        for (int e = lo; e <= hi; e += stride)
        {
            ticks.Add((Math.Pow(10, e), Power(e)));
        }

        return ticks;
    }

    /// <summary>10^e as "1", "10", "100", "1000" for small e, else "10⁻⁵" with superscripts.</summary>
    public static string Power(int e) => e switch
    {
        0 => "1",
        1 => "10",
        2 => "100",
        3 => "1000",
        -1 => "0.1",
        -2 => "0.01",
        _ => "10" + Superscript(e),
    };

    public static string Superscript(int e)
    {
        const string digits = "⁰¹²³⁴⁵⁶⁷⁸⁹";
        string s = Math.Abs(e).ToString(CultureInfo.InvariantCulture);
        var chars = s.Select(c => digits[c - '0']).ToArray();
        return (e < 0 ? "⁻" : "") + new string(chars);
    }

    /// <summary>A short label for a value (shortest of fixed and exponent forms).</summary>
    public static string Compact(double v)
    {
        if (v == 0)
        {
            return "0";
        }

        double a = Math.Abs(v);
        if (a >= 1e5 || a < 1e-3)
        {
            int e = (int)Math.Floor(Math.Log10(a));
            double m = v / Math.Pow(10, e);
            string ms = Math.Round(m, 2).ToString("0.##", CultureInfo.InvariantCulture);
            return ms == "1" ? "10" + Superscript(e) : ms == "-1" ? "−10" + Superscript(e) : ms + "×10" + Superscript(e);
        }

        return v.ToString("0.####", CultureInfo.InvariantCulture).Replace("-", "−", StringComparison.Ordinal);
    }

    private static int Decimals(double step)
    {
        for (int d = 0; d < 12; d++)
        {
            double scaled = step * Math.Pow(10, d);
            if (Math.Abs(scaled - Math.Round(scaled)) < 1e-6 * scaled)
            {
                return d;
            }
        }

        return 12;
    }

    private static string Format(double v, int decimals)
    {
        double a = Math.Abs(v);
        if (v != 0 && (a >= 1e6 || a < 1e-4))
        {
            return Compact(v);
        }

        return v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).Replace("-", "−", StringComparison.Ordinal);
    }
}

/// <summary>Text helpers for SVG/XML output.</summary>
internal static class SvgText
{
    public const string FontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif";

    /// <summary>Escapes text for XML element content and attribute values.</summary>
    public static string Escape(string s) =>
        s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
         .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);

    /// <summary>Approximate rendered width of <paramref name="s"/> at <paramref name="size"/> px (DejaVu-like metrics).</summary>
    public static double Width(string s, double size) => s.Sum(c => c switch
    {
        'i' or 'l' or 'j' or '.' or ',' or ':' or ';' or '|' or '!' or '\'' or ' ' => 0.32,
        'm' or 'w' or 'M' or 'W' => 0.9,
        >= 'A' and <= 'Z' => 0.7,
        >= '0' and <= '9' => 0.64,
        _ => 0.6,
    }) * size;
}
