using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Detection;

/// <summary>
/// atan(n/dd) for dd &gt; 0 in float and double, scalar and vector (the same bits), to about an ulp, for CIoU's aspect term.
/// </summary>
/// <remarks>
/// With x = |n|/dd: x &gt; tan(3π/8) = 1 + √2 uses π/2 + atan(−dd/|n|), x &gt; tan(π/8) = √2 − 1 uses
/// π/4 + atan((|n| − dd)/(|n| + dd)), else atan(|n|/dd) itself, so one division leaves |y| ≤ tan(π/8) and
/// z = y² ≤ 0.1716; atan(y) = y + y·z·P(z) with P the Chebyshev economisation of Σ (−1)^(k+1) z^k/(2k + 3) on
/// [0, 0.1716] (degree 4 for float, truncation ≤ 3e-9 relative; degree 10 for double, ≤ 6e-18). π/2 and π/4 are added
/// as T's value plus the residual T misses (Cody–Waite). Error against Math.Atan2: ≤ 2 ulp (float: the rounding of
/// the reduced argument shows near 0.4). The sign of n is put back last.
/// </remarks>
internal static class TorchvisionAtan<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T TanThreePiOver8 = T.CreateTruncating(2.414213562373095), TanPiOver8 = T.CreateTruncating(0.41421356237309503);
    private static readonly T PiOver2 = T.CreateTruncating(Math.PI / 2), PiOver4 = T.CreateTruncating(Math.PI / 4);

    // What T's π/2 and π/4 miss (the double residual of float's, the literal residual of double's).
    private static readonly T PiOver2Low = T.CreateTruncating(Math.PI / 2 - double.CreateTruncating(PiOver2) + 6.123233995736766e-17);
    private static readonly T PiOver4Low = T.CreateTruncating(Math.PI / 4 - double.CreateTruncating(PiOver4) + 3.061616997868383e-17);

    /// <summary>atan(n/dd) for dd &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Atan(T n, T dd)
    {
        T x = T.Abs(n);
        T num = x, den = dd, offset = T.Zero, offsetLow = T.Zero;
        if (x > TanThreePiOver8 * dd)
        {
            (num, den, offset, offsetLow) = (-dd, x, PiOver2, PiOver2Low);
        }
        else if (x > TanPiOver8 * dd)
        {
            (num, den, offset, offsetLow) = (x - dd, x + dd, PiOver4, PiOver4Low);
        }

        T y = num / den;
        T z = y * y;
        T a = offset + (y + (y * (z * AtanPolynomial(z)) + offsetLow));
        return n < T.Zero ? -a : a;
    }

    /// <inheritdoc cref="Atan(T, T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Atan(Vector<T> n, Vector<T> dd)
    {
        Vector<T> x = Vector.Abs(n);
        Vector<T> big = Vector.GreaterThan(x, new Vector<T>(TanThreePiOver8) * dd);
        Vector<T> middle = Vector.AndNot(Vector.GreaterThan(x, new Vector<T>(TanPiOver8) * dd), big);
        Vector<T> num = BoxLanes<T>.Select(big, -dd, BoxLanes<T>.Select(middle, x - dd, x));
        Vector<T> den = BoxLanes<T>.Select(big, x, BoxLanes<T>.Select(middle, x + dd, dd));
        Vector<T> offset = (new Vector<T>(PiOver2) & big) | (new Vector<T>(PiOver4) & middle);
        Vector<T> offsetLow = (new Vector<T>(PiOver2Low) & big) | (new Vector<T>(PiOver4Low) & middle);
        Vector<T> y = num / den;
        Vector<T> z = y * y;
        Vector<T> a = offset + (y + (y * (z * AtanPolynomial(z)) + offsetLow));
        return BoxLanes<T>.Select(Vector.LessThan(n, Vector<T>.Zero), -a, a);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T AtanPolynomial(T z)
    {
        if (typeof(T) == typeof(float))
        {
            float f = float.CreateTruncating(z);
            float p = -0.06459047129390824f;
            p = p * f + 0.10746199598737523f;
            p = p * f - 0.14264223467947362f;
            p = p * f + 0.19999549816101203f;
            p = p * f - 0.33333331812304756f;
            return T.CreateTruncating(p);
        }

        double d = double.CreateTruncating(z);
        double q = -0.019200190093082433;
        q = q * d + 0.039251789809503355;
        q = q * d - 0.05086189029096897;
        q = q * d + 0.058582992548110675;
        q = q * d - 0.06664529928267222;
        q = q * d + 0.07692184597340589;
        q = q * d - 0.09090904643318888;
        q = q * d + 0.11111111016993042;
        q = q * d - 0.14285714284690054;
        q = q * d + 0.19999999999995643;
        q = q * d - 0.3333333333333333;
        return T.CreateTruncating(q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> AtanPolynomial(Vector<T> z)
    {
        if (typeof(T) == typeof(float))
        {
            Vector<float> f = z.As<T, float>();
            Vector<float> p = new(-0.06459047129390824f);
            p = p * f + new Vector<float>(0.10746199598737523f);
            p = p * f - new Vector<float>(0.14264223467947362f);
            p = p * f + new Vector<float>(0.19999549816101203f);
            p = p * f - new Vector<float>(0.33333331812304756f);
            return p.As<float, T>();
        }

        Vector<double> d = z.As<T, double>();
        Vector<double> q = new(-0.019200190093082433);
        q = q * d + new Vector<double>(0.039251789809503355);
        q = q * d - new Vector<double>(0.05086189029096897);
        q = q * d + new Vector<double>(0.058582992548110675);
        q = q * d - new Vector<double>(0.06664529928267222);
        q = q * d + new Vector<double>(0.07692184597340589);
        q = q * d - new Vector<double>(0.09090904643318888);
        q = q * d + new Vector<double>(0.11111111016993042);
        q = q * d - new Vector<double>(0.14285714284690054);
        q = q * d + new Vector<double>(0.19999999999995643);
        q = q * d - new Vector<double>(0.3333333333333333);
        return q.As<double, T>();
    }
}
