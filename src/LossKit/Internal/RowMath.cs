using System.Numerics;
using System.Runtime.Intrinsics;

namespace LossKit.Internal;

/// <summary>
/// Vectorised row primitives for the softmax-based kernels: max, Σ e^(x − m) (optionally storing the exponentials),
/// weighted sums. Where Vector512 is accelerated, full 512-bit blocks first (<see cref="Vector{T}"/> stays 256 bits
/// on AVX-512 hardware, and on cores with full-width units these rows run about twice as fast at 512), then full
/// <see cref="Vector{T}"/> blocks, then a scalar tail computing the same thing.
/// </summary>
internal static unsafe class RowMath
{
    /// <summary>max over the row; NaN if any element is NaN.</summary>
    public static T Max<T>(T* x, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!VMath.IsWide<T>() || n < Vector512<T>.Count)
        {
            return VMath.Max(new ReadOnlySpan<T>(x, n));
        }

        // The raw max instruction per block (no NaN or signed-zero handling), NaN lanes tracked on the side; a ragged
        // end is covered by one last block overlapping the previous one (max does not mind seeing elements twice).
        Vector512<T> m = Vector512.Load(x), nan = Vector512.IsNaN(m);
        for (int i = Vector512<T>.Count; i < n; i += Vector512<T>.Count)
        {
            Vector512<T> v = Vector512.Load(x + Math.Min(i, n - Vector512<T>.Count));
            m = Vector512.MaxNative(m, v);
            nan |= Vector512.IsNaN(v);
        }

        return HorizontalMax(m, nan);
    }

    /// <summary>
    /// <see cref="Max{T}"/> of two rows of length <paramref name="n"/> at once, their instructions interleaved so the
    /// CPU overlaps the two dependency chains; each result equals that row's <see cref="Max{T}"/>. Only where
    /// <see cref="VMath.IsWide{T}"/> and <paramref name="n"/> ≥ Vector512&lt;T&gt;.Count.
    /// </summary>
    public static T Max2<T>(T* x0, T* x1, int n, out T max1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> m0 = Vector512.Load(x0), m1 = Vector512.Load(x1), nan0 = Vector512.IsNaN(m0), nan1 = Vector512.IsNaN(m1);
        for (int i = Vector512<T>.Count; i < n; i += Vector512<T>.Count)
        {
            int o = Math.Min(i, n - Vector512<T>.Count);
            Vector512<T> v0 = Vector512.Load(x0 + o), v1 = Vector512.Load(x1 + o);
            m0 = Vector512.MaxNative(m0, v0);
            m1 = Vector512.MaxNative(m1, v1);
            nan0 |= Vector512.IsNaN(v0);
            nan1 |= Vector512.IsNaN(v1);
        }

        max1 = HorizontalMax(m1, nan1);
        return HorizontalMax(m0, nan0);
    }

    /// <summary>
    /// Σ of the lanes as a tree (halves added, then quarters, then the runtime's 128-bit sum): a shorter dependency
    /// chain per row than Vector512.Sum.
    /// </summary>
    private static T HorizontalSum<T>(Vector512<T> v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> h = v.GetLower() + v.GetUpper();
        return Vector128.Sum(h.GetLower() + h.GetUpper());
    }

    /// <summary>The largest lane of <paramref name="m"/>, or NaN when any lane of <paramref name="nan"/> is set.</summary>
    private static T HorizontalMax<T>(Vector512<T> m, Vector512<T> nan)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (nan.AsByte() != Vector512<byte>.Zero)
        {
            return T.NaN;
        }

        Vector128<T> q = Vector128.MaxNative(Vector128.MaxNative(m.GetLower().GetLower(), m.GetLower().GetUpper()),
            Vector128.MaxNative(m.GetUpper().GetLower(), m.GetUpper().GetUpper()));
        T r = q[0];
        for (int k = 1; k < Vector128<T>.Count; k++)
        {
            r = T.Max(r, q[k]);
        }

        return r;
    }

    /// <summary>Σ e^(xᵢ − m); when <paramref name="store"/> is not null also stores each e^(xᵢ − m) there. <paramref name="m"/>
    /// must be the row maximum (every caller passes <see cref="Max{T}"/>), so xᵢ − m ≤ 0 and the float vector path uses
    /// <see cref="VMath.ExpNonPositive{T}(Vector{T})"/>.</summary>
    public static T SumExpShifted<T>(T* x, T* store, int n, T m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (VMath.IsWide<T>() && n >= Vector512<T>.Count)
        {
            Vector512<T> vm = Vector512.Create(m), acc = Vector512<T>.Zero;
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                Vector512<T> e = VMath.ExpNonPositive(Vector512.Load(x + i) - vm);
                if (store != null)
                {
                    e.Store(store + i);
                }

                acc += e;
            }

            sum = HorizontalSum(acc);
        }

        return SumExpShiftedRest(x, store, n, m, i, sum);
    }

    /// <summary>
    /// <see cref="SumExpShifted{T}"/> of two rows at once, their 512-bit blocks interleaved (see <see cref="Max2{T}"/>);
    /// each sum, and each stored exponential, equals what <see cref="SumExpShifted{T}"/> gives for that row.
    /// <paramref name="store0"/> and <paramref name="store1"/> are both null or both not. Only where
    /// <see cref="VMath.IsWide{T}"/> and <paramref name="n"/> ≥ Vector512&lt;T&gt;.Count.
    /// </summary>
    public static T SumExpShifted2<T>(T* x0, T* store0, T m0, T* x1, T* store1, T m1, int n, out T sum1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> vm0 = Vector512.Create(m0), vm1 = Vector512.Create(m1), acc0 = Vector512<T>.Zero, acc1 = Vector512<T>.Zero;
        int i = 0;
        for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
        {
            Vector512<T> e0 = VMath.ExpNonPositive(Vector512.Load(x0 + i) - vm0);
            Vector512<T> e1 = VMath.ExpNonPositive(Vector512.Load(x1 + i) - vm1);
            if (store0 != null)
            {
                e0.Store(store0 + i);
                e1.Store(store1 + i);
            }

            acc0 += e0;
            acc1 += e1;
        }

        sum1 = SumExpShiftedRest(x1, store1, n, m1, i, HorizontalSum(acc1));
        return SumExpShiftedRest(x0, store0, n, m0, i, HorizontalSum(acc0));
    }

    /// <summary>The part of <see cref="SumExpShifted{T}"/> after the 512-bit blocks: elements from <paramref name="i"/> on, added to <paramref name="sum"/>.</summary>
    private static T SumExpShiftedRest<T>(T* x, T* store, int n, T m, int i, T sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (VMath.IsVectorized<T>() && n - i >= Vector<T>.Count)
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

            sum += Vector.Sum(acc);
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
        if (VMath.IsWide<T>() && n >= Vector512<T>.Count)
        {
            Vector512<T> vc = Vector512.Create(c), vd = Vector512.Create(d), acc = Vector512<T>.Zero;
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                Vector512<T> t = (vc - Vector512.Load(x + i)) + vd;
                acc += w == null ? t : t * Vector512.Load(w + i);
            }

            sum = Vector512.Sum(acc);
        }

        if (VMath.IsVectorized<T>() && n - i >= Vector<T>.Count)
        {
            Vector<T> vc = new(c), vd = new(d), acc = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> t = (vc - Vector.Load(x + i)) + vd;
                acc += w == null ? t : t * Vector.Load(w + i);
            }

            sum += Vector.Sum(acc);
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
        if (VMath.IsWide<T>() && n >= Vector512<T>.Count)
        {
            Vector512<T> va = Vector512.Create(a), vb = Vector512.Create(b);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                Vector512<T> r = Vector512.Load(g + i) * va - (w == null ? vb : vb * Vector512.Load(w + i));
                r.Store(g + i);
            }
        }

        ScaleSubtractRest(g, w, n, a, b, i);
    }

    /// <summary>
    /// <see cref="ScaleSubtract{T}"/> of two rows (same <paramref name="w"/>) with their 512-bit blocks interleaved;
    /// each row ends as <see cref="ScaleSubtract{T}"/> leaves it. Only where <see cref="VMath.IsWide{T}"/>.
    /// </summary>
    public static void ScaleSubtract2<T>(T* g0, T a0, T b0, T* g1, T a1, T b1, T* w, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> va0 = Vector512.Create(a0), vb0 = Vector512.Create(b0), va1 = Vector512.Create(a1), vb1 = Vector512.Create(b1);
        int i = 0;
        for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
        {
            Vector512<T> r0 = Vector512.Load(g0 + i) * va0 - (w == null ? vb0 : vb0 * Vector512.Load(w + i));
            Vector512<T> r1 = Vector512.Load(g1 + i) * va1 - (w == null ? vb1 : vb1 * Vector512.Load(w + i));
            r0.Store(g0 + i);
            r1.Store(g1 + i);
        }

        ScaleSubtractRest(g0, w, n, a0, b0, i);
        ScaleSubtractRest(g1, w, n, a1, b1, i);
    }

    /// <summary>The part of <see cref="ScaleSubtract{T}"/> after the 512-bit blocks: elements from <paramref name="i"/> on.</summary>
    private static void ScaleSubtractRest<T>(T* g, T* w, int n, T a, T b, int i)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (VMath.IsVectorized<T>() && n - i >= Vector<T>.Count)
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
