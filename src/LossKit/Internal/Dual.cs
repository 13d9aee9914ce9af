using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Internal;

/// <summary>
/// A forward-mode dual number carrying the derivatives with respect to the four coordinates of one box. The box
/// losses are written once, in the reference's order of operations, on these numbers; the value and the exact gradient
/// come out of the same pass, in whatever box format the caller seeded. The primitives follow PyTorch autograd's
/// conventions where they decide gradient bits: <see cref="Max(Dual{T}, Dual{T})"/>/<see cref="Min(Dual{T}, Dual{T})"/>
/// split the gradient evenly on ties (torch.maximum/minimum), <see cref="ClampMin"/> passes it where x ≥ min
/// (inclusive), <see cref="Abs"/> has derivative sign(x) with 0 at 0, and <see cref="Detach"/> is torch.no_grad.
/// </summary>
internal readonly struct Dual<T>
    where T : IFloatingPointIeee754<T>
{
    public readonly T V, D0, D1, D2, D3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Dual(T v, T d0, T d1, T d2, T d3)
    {
        V = v;
        D0 = d0;
        D1 = d1;
        D2 = d2;
        D3 = d3;
    }

    /// <summary>The input coordinate <paramref name="index"/> (0..3) with value <paramref name="v"/>: derivative 1 there.</summary>
    public static Dual<T> Seed(T v, int index) => new(v, index == 0 ? T.One : T.Zero, index == 1 ? T.One : T.Zero, index == 2 ? T.One : T.Zero, index == 3 ? T.One : T.Zero);

    public static implicit operator Dual<T>(T v) => new(v, T.Zero, T.Zero, T.Zero, T.Zero);

    public static Dual<T> Detach(Dual<T> a) => a.V;

    /// <summary>a·s for a constant s (value and derivatives scaled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual<T> operator *(Dual<T> a, T s) => new(a.V * s, a.D0 * s, a.D1 * s, a.D2 * s, a.D3 * s);

    /// <summary>s·a for a constant s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual<T> operator *(T s, Dual<T> a) => new(s * a.V, s * a.D0, s * a.D1, s * a.D2, s * a.D3);

    /// <summary>
    /// A derivative component times a local derivative, where an exactly-zero component stays zero even if the local
    /// derivative is infinite. A coordinate that does not reach an operation has a structural zero there; reverse-mode
    /// autograd never multiplies it (it has no edge), so 0·∞ must not turn it into NaN here either.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Z(T d, T s) => d == T.Zero ? T.Zero : d * s;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Dual<T> WithValue(T v, T s) => new(v, Z(D0, s), Z(D1, s), Z(D2, s), Z(D3, s));

    public static Dual<T> operator +(Dual<T> a, Dual<T> b) => new(a.V + b.V, a.D0 + b.D0, a.D1 + b.D1, a.D2 + b.D2, a.D3 + b.D3);

    public static Dual<T> operator -(Dual<T> a, Dual<T> b) => new(a.V - b.V, a.D0 - b.D0, a.D1 - b.D1, a.D2 - b.D2, a.D3 - b.D3);

    public static Dual<T> operator -(Dual<T> a) => new(-a.V, -a.D0, -a.D1, -a.D2, -a.D3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual<T> operator *(Dual<T> a, Dual<T> b) =>
        new(a.V * b.V, Z(a.D0, b.V) + Z(b.D0, a.V), Z(a.D1, b.V) + Z(b.D1, a.V), Z(a.D2, b.V) + Z(b.D2, a.V), Z(a.D3, b.V) + Z(b.D3, a.V));

    /// <summary>a / b with autograd's local derivatives 1/b and −a/b².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual<T> operator /(Dual<T> a, Dual<T> b)
    {
        T inv = T.One / b.V;
        T db = -a.V / (b.V * b.V);
        return new(a.V / b.V, Z(a.D0, inv) + Z(b.D0, db), Z(a.D1, inv) + Z(b.D1, db), Z(a.D2, inv) + Z(b.D2, db), Z(a.D3, inv) + Z(b.D3, db));
    }

    /// <summary>torch.maximum: the larger input's derivative; the mean of both on a tie; NaN if either is NaN.</summary>
    public static Dual<T> Max(Dual<T> a, Dual<T> b)
    {
        if (a.V > b.V)
        {
            return a;
        }

        if (a.V < b.V)
        {
            return b;
        }

        if (T.IsNaN(a.V) || T.IsNaN(b.V))
        {
            return T.NaN;
        }

        return Half(a, b);
    }

    /// <summary>torch.minimum: the smaller input's derivative; the mean of both on a tie; NaN if either is NaN.</summary>
    public static Dual<T> Min(Dual<T> a, Dual<T> b)
    {
        if (a.V < b.V)
        {
            return a;
        }

        if (a.V > b.V)
        {
            return b;
        }

        if (T.IsNaN(a.V) || T.IsNaN(b.V))
        {
            return T.NaN;
        }

        return Half(a, b);
    }

    /// <summary>clamp(min=lo): passes the derivative where x ≥ lo (inclusive), as torch.clamp; NaN stays NaN with a zero
    /// derivative (torch's mask x ≥ lo is false for NaN).</summary>
    public static Dual<T> ClampMin(Dual<T> x, T lo) => x.V >= lo ? x : T.IsNaN(x.V) ? T.NaN : lo;

    /// <summary>clamp(min=lo, max=hi): passes the derivative where lo ≤ x ≤ hi; NaN stays NaN with a zero derivative.</summary>
    public static Dual<T> Clamp(Dual<T> x, T lo, T hi) => x.V < lo ? lo : x.V > hi ? hi : T.IsNaN(x.V) ? T.NaN : x;

    public static Dual<T> Square(Dual<T> a) => a * a;

    public static Dual<T> Abs(Dual<T> a) => a.V > T.Zero ? a : a.V < T.Zero ? -a : a.WithValue(T.Abs(a.V), T.Zero);

    public static Dual<T> Sqrt(Dual<T> a)
    {
        T r = T.Sqrt(a.V);
        return a.WithValue(r, T.One / (r + r));
    }

    public static Dual<T> Exp(Dual<T> a)
    {
        T e = T.Exp(a.V);
        return a.WithValue(e, e);
    }

    public static Dual<T> Log(Dual<T> a) => a.WithValue(T.Log(a.V), T.One / a.V);

    public static Dual<T> Atan(Dual<T> a) => a.WithValue(T.Atan(a.V), T.One / (T.One + a.V * a.V));

    public static Dual<T> Asin(Dual<T> a) => a.WithValue(T.Asin(a.V), T.One / T.Sqrt(T.One - a.V * a.V));

    public static Dual<T> Cos(Dual<T> a) => a.WithValue(T.Cos(a.V), -T.Sin(a.V));

    /// <summary>a^p for a constant p, with PyTorch's pow backward: p·a^(p−1), and 0 when p = 0.</summary>
    public static Dual<T> Pow(Dual<T> a, T p)
    {
        if (p == T.Zero)
        {
            return T.One;
        }

        return a.WithValue(T.Pow(a.V, p), p * T.Pow(a.V, p - T.One));
    }

    private static Dual<T> Half(Dual<T> a, Dual<T> b)
    {
        T h = T.CreateTruncating(0.5);
        return new(a.V, (a.D0 + b.D0) * h, (a.D1 + b.D1) * h, (a.D2 + b.D2) * h, (a.D3 + b.D3) * h);
    }
}
