using System.Globalization;

namespace LossKit.Cli.Svg;

/// <summary>A perceptual sequential colour map (viridis, sampled) for values mapped to [0, 1].</summary>
internal static class ColorScale
{
    private static readonly (double R, double G, double B)[] Viridis =
    [
        (68, 1, 84), (72, 35, 116), (64, 67, 135), (52, 94, 141), (41, 120, 142), (32, 144, 140),
        (34, 167, 132), (68, 190, 112), (121, 209, 81), (189, 222, 38), (253, 231, 37),
    ];

    /// <summary>The colour of <paramref name="t"/> ∈ [0, 1] (clamped; NaN gives grey).</summary>
    public static string Color(double t)
    {
        if (double.IsNaN(t))
        {
            return "#999999";
        }

        t = Math.Clamp(t, 0, 1) * (Viridis.Length - 1);
        int i = Math.Min((int)t, Viridis.Length - 2);
        double f = t - i;
        (double r0, double g0, double b0) = Viridis[i];
        (double r1, double g1, double b1) = Viridis[i + 1];
        return string.Create(CultureInfo.InvariantCulture,
            $"#{(int)Math.Round(r0 + (r1 - r0) * f):x2}{(int)Math.Round(g0 + (g1 - g0) * f):x2}{(int)Math.Round(b0 + (b1 - b0) * f):x2}");
    }
}
