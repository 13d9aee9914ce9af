using FsCheck;
using FsCheck.Fluent;

namespace LossKit.Tests.Fuzz;

/// <summary>Which values an array may hold.</summary>
internal enum ValueMix
{
    /// <summary>Moderate values on a grid (|x| up to the array's scale).</summary>
    Normal,

    /// <summary>Normal values mixed with ±0, tiny, float-subnormal, double-subnormal and huge (up to 1e30) ones: all finite in float and double.</summary>
    Finite,

    /// <summary>The finite mix plus NaN, ±∞ and ±double.MaxValue (∞ in float).</summary>
    NonFinite,
}

/// <summary>Value generators (FsCheck) for the fuzz cases.</summary>
internal static class FuzzValues
{
    /// <summary>A value in [−scale, scale] on a grid of scale·1e-5.</summary>
    public static Gen<double> Normal(double scale) => Gen.Choose(-100_000, 100_000).Select(i => i * scale / 100_000);

    /// <summary>A value in [lo, hi] on a grid of (hi − lo)·1e-5, the ends included.</summary>
    public static Gen<double> Uniform(double lo, double hi) =>
        Gen.Frequency((90, Gen.Choose(0, 100_000).Select(i => lo + (hi - lo) * i / 100_000)), (10, Gen.Elements(lo, hi)));

    /// <summary>±m·10^e, m in [1, 10), e in [minExponent, maxExponent].</summary>
    public static Gen<double> Magnitude(int minExponent, int maxExponent) =>
        from m in Gen.Choose(1000, 9999)
        from e in Gen.Choose(minExponent, maxExponent)
        from s in Gen.Elements(1.0, -1.0)
        select s * (m / 1000.0) * Math.Pow(10, e);

    /// <summary>The finite mix around <see cref="Normal"/> values of <paramref name="scale"/>.</summary>
    public static Gen<double> Finite(double scale) => Gen.Frequency(
        (70, Normal(scale)),
        (5, Gen.Elements(0.0, -0.0)),
        (6, Magnitude(-30, -20)), // tiny: normal in float and double
        (6, Magnitude(-44, -39)), // subnormal in float
        (4, Magnitude(-320, -310)), // subnormal in double, 0 in float
        (9, Magnitude(15, 30))); // huge: finite in float, squares overflow it

    /// <summary>The finite mix with NaN, ±∞ and ±double.MaxValue.</summary>
    public static Gen<double> NonFinite(double scale) => Gen.Frequency(
        (75, Finite(scale)),
        (8, Gen.Constant(double.NaN)),
        (6, Gen.Constant(double.PositiveInfinity)),
        (6, Gen.Constant(double.NegativeInfinity)),
        (5, Gen.Elements(double.MaxValue, -double.MaxValue)));

    /// <summary>Values of <paramref name="mix"/> around <paramref name="scale"/>.</summary>
    public static Gen<double> Of(ValueMix mix, double scale) => mix switch
    {
        ValueMix.Normal => Normal(scale),
        ValueMix.Finite => Finite(scale),
        _ => NonFinite(scale),
    };

    /// <summary><paramref name="n"/> values of <paramref name="g"/>.</summary>
    public static Gen<double[]> Array(int n, Gen<double> g) => n == 0 ? Gen.Constant(System.Array.Empty<double>()) : Gen.ArrayOf(g, n);

    /// <summary><paramref name="n"/> values of <paramref name="mix"/>.</summary>
    public static Gen<double[]> Array(int n, ValueMix mix, double scale = 10) => Array(n, Of(mix, scale));

    /// <summary>Class indices in [0, classes), sometimes <paramref name="ignore"/> (when given).</summary>
    public static Gen<double[]> Indices(int n, int classes, int? ignore = null) =>
        Array(n, ignore is int ig && classes > 0
            ? Gen.Frequency((85, Gen.Choose(0, classes - 1).Select(i => (double)i)), (15, Gen.Constant((double)ig)))
            : classes > 0 ? Gen.Choose(0, classes - 1).Select(i => (double)i) : Gen.Constant((double)ignore.GetValueOrDefault(-100)));

    /// <summary>±1 labels.</summary>
    public static Gen<double[]> PlusMinusOne(int n) => Array(n, Gen.Elements(1.0, -1.0));

    /// <summary>Probabilities in [0, 1] (0 and 1 included, tiny ones sometimes).</summary>
    public static Gen<double[]> UnitInterval(int n, ValueMix mix) =>
        Array(n, mix == ValueMix.Normal ? Uniform(0, 1) : Gen.Frequency((85, Uniform(0, 1)), (15, Magnitude(-44, -20).Select(Math.Abs))));
}
