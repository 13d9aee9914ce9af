namespace LossKit.Tests.Infrastructure;

/// <summary>
/// Inputs for the Half-is-float32-rounded checks: the same numbers for both types (rounded to Half first), and the
/// float32 results rounded once, to compare with the Half results.
/// </summary>
internal static class HalfData
{
    /// <summary>The values rounded to Half.</summary>
    public static Half[] Halves(double[] values) => Array.ConvertAll(values, v => (Half)v);

    /// <summary>The values rounded to Half, as float32: what the float32 reference computes on.</summary>
    public static float[] Floats(double[] values) => Array.ConvertAll(values, v => (float)(Half)v);

    /// <summary>Float32 results rounded once to Half.</summary>
    public static Half[] Rounded(IEnumerable<float> values) => [.. values.Select(v => (Half)v)];
}
