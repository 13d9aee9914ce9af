using System.Numerics;

namespace LossKit.Detection;

/// <summary>
/// The per-box math of a box loss written out by hand in reverse mode, in a scalar form and a <see cref="Vector{T}"/>
/// form (lane i = box i) that compute the same thing bit for bit. Each returns whether its result is the one the
/// dual-number formula (<see cref="IoUFormulas{T}"/>) would give, up to rounding in the gradient; where it is not (a
/// tie, a degenerate or non-finite box, a non-finite result) the driver recomputes that box on dual numbers.
/// </summary>
internal interface IFastBoxOp<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>One box in xyxy. Always sets <paramref name="loss"/>; sets the gradient with respect to (x1, y1, x2, y2)
    /// when <typeparamref name="TPass"/> asks for it (zeros otherwise).</summary>
    bool Loss<TPass>(T x1, T y1, T x2, T y2, T gx1, T gy1, T gx2, T gy2, out T loss, out T g0, out T g1, out T g2, out T g3)
        where TPass : struct, IBoxPass;

    /// <summary>Vector&lt;T&gt;.Count boxes, one per lane. Returns a mask: all bits set in the lanes whose result holds.</summary>
    Vector<T> Loss<TPass>(Vector<T> x1, Vector<T> y1, Vector<T> x2, Vector<T> y2, Vector<T> gx1, Vector<T> gy1, Vector<T> gx2, Vector<T> gy2,
        out Vector<T> loss, out Vector<T> g0, out Vector<T> g1, out Vector<T> g2, out Vector<T> g3)
        where TPass : struct, IBoxPass;
}

/// <summary>Whether a pass computes the gradient, as a type so the JIT compiles the value-only pass without it.</summary>
internal interface IBoxPass
{
    static abstract bool Gradient { get; }
}

/// <summary>Loss values only (Forward).</summary>
internal struct ValuePass : IBoxPass
{
    public static bool Gradient => false;
}

/// <summary>Loss values and gradient (Backward, ForwardBackward).</summary>
internal struct GradientPass : IBoxPass
{
    public static bool Gradient => true;
}
