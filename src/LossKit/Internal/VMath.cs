using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Internal;

/// <summary>
/// Element-wise math shared by the kernels, in a scalar form and a <see cref="Vector{T}"/> form that compute the same
/// thing. <see cref="Vector{T}"/> is 512, 256 or 128 bits wide as the runtime chooses (DOTNET_EnableAVX512=0,
/// DOTNET_EnableAVX=0 and DOTNET_EnableHWIntrinsic=0 narrow it); Exp and Log exist there for float and double only, so
/// the vector paths are taken for those two types and every other IEEE type (Half) runs the scalar path.
/// </summary>
internal static class VMath
{
    /// <summary>True when the vector kernels run for <typeparamref name="T"/> on this machine.</summary>
    public static bool IsVectorized<T>() =>
        Vector.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.Exp(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.Exp(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.Log(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.Log(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException();
    }

    /// <summary>
    /// log(1 + u) accurate for small u (Goldberg's trick: log(w)·u/(w − 1) with w = 1 + u; u when w rounds to 1).
    /// .NET's LogP1 is log(1 + u) and loses everything below the rounding unit. Valid for u &gt; −1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Log1p<T>(T u) where T : IFloatingPointIeee754<T>
    {
        T w = T.One + u;
        T d = w - T.One;
        return d == T.Zero ? u : T.Log(w) * (u / d);
    }

    /// <inheritdoc cref="Log1p{T}(T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log1p<T>(Vector<T> u)
    {
        Vector<T> w = Vector<T>.One + u;
        Vector<T> d = w - Vector<T>.One;
        Vector<T> r = Log(w) * (u / d);
        return Vector.ConditionalSelect(Vector.Equals(d, Vector<T>.Zero), u, r);
    }

    /// <summary>Numerically stable sigmoid and softplus(−|x|) = log1p(e^−|x|) from one exponential.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SigmoidAndLog1pExpNegAbs<T>(T x, out T log1pExpNegAbs) where T : IFloatingPointIeee754<T>
    {
        T e = T.Exp(-T.Abs(x));
        log1pExpNegAbs = Log1p(e);
        T r = T.One / (T.One + e);
        return x >= T.Zero ? r : e * r;
    }

    /// <inheritdoc cref="SigmoidAndLog1pExpNegAbs{T}(T, out T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> SigmoidAndLog1pExpNegAbs<T>(Vector<T> x, out Vector<T> log1pExpNegAbs)
    {
        Vector<T> e = Exp(-Vector.Abs(x));
        log1pExpNegAbs = Log1p(e);
        Vector<T> r = Vector<T>.One / (Vector<T>.One + e);
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<T>.Zero), r, e * r);
    }

    /// <summary>Sign with sign(0) = 0 and sign(NaN) = NaN, as torch.sign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sign<T>(T x) where T : IFloatingPointIeee754<T> =>
        x > T.Zero ? T.One : x < T.Zero ? -T.One : x;

    /// <inheritdoc cref="Sign{T}(T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Sign<T>(Vector<T> x)
    {
        Vector<T> r = Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), Vector<T>.One, x);
        return Vector.ConditionalSelect(Vector.LessThan(x, Vector<T>.Zero), -Vector<T>.One, r);
    }

    /// <summary>Horizontal maximum of a row, NaN if any element is NaN (TensorPrimitives.Max semantics).</summary>
    public static T Max<T>(ReadOnlySpan<T> row) where T : IFloatingPointIeee754<T> =>
        System.Numerics.Tensors.TensorPrimitives.Max(row);
}
