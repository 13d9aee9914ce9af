using System.Numerics;

namespace LossKit.Internal;

/// <summary>
/// Vectorised row primitives for the softmax-based kernels: max, Σ e^(x − m) (optionally storing the exponentials),
/// weighted sums. Full <see cref="Vector{T}"/> blocks, then a scalar tail computing the same thing.
/// </summary>
internal static unsafe class RowMath
{
    /// <summary>max over the row; NaN if any element is NaN.</summary>
    public static T Max<T>(T* x, int n)
        where T : unmanaged, IFloatingPointIeee754<T> => VMath.Max(new ReadOnlySpan<T>(x, n));

    /// <summary>Σ e^(xᵢ − m); when <paramref name="store"/> is not null also stores each e^(xᵢ − m) there. <paramref name="m"/>
    /// must be the row maximum (every caller passes <see cref="Max{T}"/>), so xᵢ − m ≤ 0 and the float vector path uses
    /// <see cref="VMath.ExpNonPositive{T}(Vector{T})"/>.</summary>
    public static T SumExpShifted<T>(T* x, T* store, int n, T m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
        {
            Vector<T> vm = new(m), acc = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> e = VMath.ExpNonPositive(Vector.Load(x + i) - vm);
                if (store != null)
                {
                    e.Store(store + i);
                }

                acc += e;
            }

            sum = Vector.Sum(acc);
        }

        for (; i < n; i++)
        {
            T e = T.Exp(x[i] - m);
            if (store != null)
            {
                store[i] = e;
            }

            sum += e;
        }

        return sum;
    }

    /// <summary>Σ wᵢ·((c − xᵢ) + d) (wᵢ = 1 when <paramref name="w"/> is null): with c the row maximum and d = ln Σ e^(x − c),
    /// the weighted sum of −log-softmax terms, each formed as PyTorch forms it (exact when xᵢ is the maximum).</summary>
    public static T WeightedNegativeLogSoftmaxSum<T>(T* x, T* w, int n, T c, T d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
        {
            Vector<T> vc = new(c), vd = new(d), acc = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> t = (vc - Vector.Load(x + i)) + vd;
                acc += w == null ? t : t * Vector.Load(w + i);
            }

            sum = Vector.Sum(acc);
        }

        for (; i < n; i++)
        {
            T t = (c - x[i]) + d;
            sum += w == null ? t : w[i] * t;
        }

        return sum;
    }

    /// <summary>gᵢ = eᵢ·a − b·wᵢ (wᵢ = 1 when <paramref name="w"/> is null), in place over <paramref name="g"/> holding eᵢ.</summary>
    public static void ScaleSubtract<T>(T* g, T* w, int n, T a, T b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
        {
            Vector<T> va = new(a), vb = new(b);
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> r = Vector.Load(g + i) * va - (w == null ? vb : vb * Vector.Load(w + i));
                r.Store(g + i);
            }
        }

        for (; i < n; i++)
        {
            g[i] = g[i] * a - (w == null ? b : b * w[i]);
        }
    }
}
