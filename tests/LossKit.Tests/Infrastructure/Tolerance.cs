using System.Globalization;
using System.Numerics;
using Xunit.Sdk;

namespace LossKit.Tests.Infrastructure;

/// <summary>The worst element of a comparison: its normalised error and where it was.</summary>
public readonly record struct Mismatch(double Error, int Index, double Actual, double Expected)
{
    public static readonly Mismatch None = new(0, -1, 0, 0);

    public Mismatch Max(Mismatch other) => other.Error > Error || double.IsNaN(other.Error) ? other : this;
}

/// <summary>
/// The comparison scheme of the suite. For reference arrays b and ours a, element i passes when
/// |aᵢ − bᵢ| ≤ tol · max(|bᵢ|, scale), scale = max |b| over the finite entries of the array (a scalar is compared
/// relative to itself); an all-zero reference array needs |aᵢ − bᵢ| ≤ 1e-12. NaN must meet NaN and ±∞ the same ±∞.
/// The normalised error |aᵢ − bᵢ| / max(|bᵢ|, scale) is what the error table reports.
/// </summary>
public static class Tolerance
{
    /// <summary>Relative tolerance of double results against the float64 reference.</summary>
    public const double Double = 1e-10;

    /// <summary>Relative tolerance of float results against the float64 reference.</summary>
    public const double Float = 1e-5;

    /// <summary>Absolute tolerance where the whole reference array is zero.</summary>
    public const double ZeroArray = 1e-12;

    /// <summary>Relative tolerance of Half results (2⁻¹¹ rounding, sums of a few dozen terms).</summary>
    public const double Half = 5e-3;

    public static double For<T>() => For(typeof(T));

    public static double[] Widen<T>(ReadOnlySpan<T> values)
        where T : INumberBase<T>
    {
        var r = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            r[i] = double.CreateTruncating(values[i]);
        }

        return r;
    }

    /// <summary>The worst normalised error of <paramref name="actual"/> against <paramref name="expected"/>.</summary>
    /// <param name="baseTolerance">The type's tolerance: with it an all-zero reference maps 1e-12 absolute to error = tolerance.</param>
    /// <param name="minimumScale">A lower bound for the scale, for results that are differences of larger terms.</param>
    public static Mismatch Worst(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double baseTolerance, double minimumScale = 0)
    {
        if (actual.Length != expected.Length)
        {
            return new Mismatch(double.PositiveInfinity, -1, actual.Length, expected.Length);
        }

        double scale = 0;
        foreach (double b in expected)
        {
            if (double.IsFinite(b))
            {
                scale = Math.Max(scale, Math.Abs(b));
            }
        }

        scale = Math.Max(scale, minimumScale);
        double floor = scale > 0 ? scale : ZeroArray / baseTolerance;
        Mismatch worst = Mismatch.None;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], b = expected[i], e;
            if (double.IsNaN(b) || double.IsInfinity(b))
            {
                e = a.Equals(b) ? 0 : double.PositiveInfinity;
            }
            else if (!double.IsFinite(a))
            {
                e = double.PositiveInfinity;
            }
            else
            {
                double d = Math.Abs(a - b);
                e = d == 0 ? 0 : d / Math.Max(Math.Abs(b), floor);
            }

            if (e > worst.Error)
            {
                worst = new Mismatch(e, i, a, b);
            }
        }

        return worst;
    }

    /// <summary>Asserts the comparison passes with <paramref name="tolerance"/> (≥ the base tolerance).</summary>
    public static void AssertClose(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double baseTolerance, double tolerance, string what, double minimumScale = 0)
    {
        Mismatch m = Worst(actual, expected, baseTolerance, minimumScale);
        if (!(m.Error <= tolerance))
        {
            throw new XunitException(Describe(m, tolerance, what, actual.Length, expected.Length));
        }
    }

    public static void AssertClose<T>(ReadOnlySpan<T> actual, ReadOnlySpan<double> expected, double tolerance, string what)
        where T : INumberBase<T> => AssertClose(Widen(actual), expected, For(typeof(T)), tolerance, what);

    public static void AssertClose<T>(T actual, double expected, double tolerance, string what)
        where T : INumberBase<T> => AssertClose([double.CreateTruncating(actual)], [expected], For(typeof(T)), tolerance, what);

    /// <summary>Asserts bit-for-bit equality (NaN equals NaN).</summary>
    public static void AssertIdentical<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> expected, string what)
        where T : INumberBase<T>
    {
        Assert.True(actual.Length == expected.Length, $"{what}: length {actual.Length} vs {expected.Length}");
        for (int i = 0; i < actual.Length; i++)
        {
            if (!actual[i].Equals(expected[i]))
            {
                throw new XunitException($"{what}: element {i} differs: {actual[i]} vs {expected[i]}");
            }
        }
    }

    public static double For(Type t) =>
        t == typeof(double) ? Double : t == typeof(float) ? Float : t == typeof(System.Half) ? Half : throw new NotSupportedException(t.Name);

    public static string Describe(Mismatch m, double tolerance, string what, int actualLength, int expectedLength) =>
        m.Index < 0
            ? $"{what}: length {actualLength} but the reference has {expectedLength}"
            : string.Create(CultureInfo.InvariantCulture,
                $"{what}: element {m.Index} is {m.Actual:R}, reference {m.Expected:R}; normalised error {m.Error:E3} > tolerance {tolerance:E1}");
}
