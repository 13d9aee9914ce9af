using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
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
        // The raw max instruction per block (no NaN or signed-zero handling), NaN lanes tracked on the side; a ragged
        // end is covered by one last block overlapping the previous one (max does not mind seeing elements twice).
        if (VMath.IsWide<T>() && n >= Vector512<T>.Count)
        {
            Vector512<T> m = Vector512.Load(x), nan = Vector512.IsNaN(m);
            for (int i = Vector512<T>.Count; i < n; i += Vector512<T>.Count)
            {
                Vector512<T> v = Vector512.Load(x + Math.Min(i, n - Vector512<T>.Count));
                m = Vector512.MaxNative(m, v);
                nan |= Vector512.IsNaN(v);
            }

            return HorizontalMax(FoldMaxTo128(m), nan.AsByte() != Vector512<byte>.Zero);
        }

        if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
        {
            Vector<T> m = Vector.Load(x), nan = ~Vector.Equals(m, m);
            for (int i = Vector<T>.Count; i < n; i += Vector<T>.Count)
            {
                Vector<T> v = Vector.Load(x + Math.Min(i, n - Vector<T>.Count));
                m = Vector.MaxNative(m, v);
                nan |= ~Vector.Equals(v, v);
            }

            return HorizontalMax(FoldMaxTo128(m), nan != Vector<T>.Zero);
        }

        return VMath.Max(new ReadOnlySpan<T>(x, n));
    }

    /// <summary>
    /// For each of <paramref name="rows"/> consecutive rows of length <paramref name="n"/> ≥ Vector&lt;T&gt;.Count
    /// (where <see cref="VMath.IsVectorized{T}"/>): max[k], the row maximum, and sum[k] = Σ e^(x − max[k]), storing each
    /// e^(x − max[k]) into the matching row of <paramref name="store"/> unless it is null. One call for a block of rows
    /// keeps the per-row work inside two loops (all the maxima, then all the exponentials), so the exponential loop
    /// never waits on a maximum being reduced. The maximum is taken with raw max instructions (512-bit blocks where
    /// <see cref="VMath.IsWide{T}"/> and the row has one, else <see cref="Vector{T}"/> blocks), reduced across lanes by
    /// shuffles: unlike <see cref="Max{T}"/> a NaN element may be dropped, but the row's exponential sum is then NaN,
    /// so whatever the caller derives from it is NaN as well; for every other row the maximum equals <see cref="Max{T}"/>
    /// (up to the sign of a zero maximum, which no e^(x − m) notices), and each row's results do not depend on the
    /// other rows.
    /// </summary>
    public static void MaxAndSumExp<T>(T* x, T* store, int n, int rows, T* max, T* sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(VMath.IsVectorized<T>() && n >= Vector<T>.Count && rows >= 1);
        // All the rows' maxima first, then all their exponentials: the exponential loop then never waits on a
        // maximum just being reduced, and the CPU keeps more exponentials in flight. A ragged end is covered by one
        // last block overlapping the previous one.
        T* row = x;
        bool wide = VMath.IsWide<T>() && n >= Vector512<T>.Count;
        for (int k = 0; k < rows; k++, row += n)
        {
            Vector128<T> q;
            if (wide)
            {
                Vector512<T> m = Vector512.Load(row);
                for (int i = Vector512<T>.Count; i < n; i += Vector512<T>.Count)
                {
                    m = Vector512.MaxNative(m, Vector512.Load(row + Math.Min(i, n - Vector512<T>.Count)));
                }

                q = FoldMaxTo128(m);
            }
            else
            {
                Vector<T> m = Vector.Load(row);
                for (int i = Vector<T>.Count; i < n; i += Vector<T>.Count)
                {
                    m = Vector.MaxNative(m, Vector.Load(row + Math.Min(i, n - Vector<T>.Count)));
                }

                q = FoldMaxTo128(m);
            }

            max[k] = HorizontalMaxQuiet(q);
        }

        for (int k = 0; k < rows; k++, x += n)
        {
            sum[k] = SumExpShiftedInline(x, store, n, max[k]);
            store = store == null ? null : store + n;
        }
    }

    /// <summary><paramref name="m"/>'s lanes folded to 128 bits by raw max instructions: halves, then quarters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> FoldMaxTo128<T>(Vector512<T> m)
    {
        Vector256<T> h = Vector256.MaxNative(m.GetLower(), m.GetUpper());
        return Vector128.MaxNative(h.GetLower(), h.GetUpper());
    }

    /// <summary><paramref name="m"/>'s lanes folded to 128 bits by raw max instructions (a 128-bit <see cref="Vector{T}"/> as it is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> FoldMaxTo128<T>(Vector<T> m)
    {
        if (Vector<T>.Count == Vector512<T>.Count)
        {
            return FoldMaxTo128(m.AsVector512());
        }

        if (Vector<T>.Count == Vector256<T>.Count)
        {
            Vector256<T> h = m.AsVector256();
            return Vector128.MaxNative(h.GetLower(), h.GetUpper());
        }

        return m.AsVector128();
    }

    /// <summary>The largest lane of <paramref name="q"/> by raw max instructions (a NaN lane may or may not win).</summary>
    private static T HorizontalMaxQuiet<T>(Vector128<T> q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            Vector128<float> f = q.As<T, float>();
            f = Vector128.MaxNative(f, Vector128.Shuffle(f, Vector128.Create(2, 3, 0, 1)));
            f = Vector128.MaxNative(f, Vector128.Shuffle(f, Vector128.Create(1, 0, 3, 2)));
            return f.As<float, T>().ToScalar();
        }

        Vector128<double> d = q.As<T, double>();
        return Vector128.MaxNative(d, Vector128.Shuffle(d, Vector128.Create(1L, 0L))).As<double, T>().ToScalar();
    }

    /// <summary>Rows per <see cref="LogBlock{T}(T*, T*, int)"/> call: one 512-bit float vector, a whole number of vectors at every width.</summary>
    public const int BlockRows = 16;

    /// <summary>
    /// destination[k] = ln source[k] for k &lt; <paramref name="n"/> ≤ <see cref="BlockRows"/>, all
    /// <see cref="BlockRows"/> lanes computed with the runtime's vector Log, 512 bits wide where
    /// <see cref="VMath.IsWide{T}"/>, else <see cref="Vector{T}"/> (lanes at or past n read and write the buffers'
    /// unused tail, so each result is the same whatever n is). Only where <see cref="VMath.IsVectorized{T}"/>.
    /// </summary>
    public static void LogBlock<T>(T* source, T* destination, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(VMath.IsVectorized<T>() && n >= 1 && n <= BlockRows && BlockRows % Vector<T>.Count == 0);
        for (int k = n; k < BlockRows; k++)
        {
            source[k] = T.One;
        }

        if (VMath.IsWide<T>())
        {
            for (int k = 0; k < BlockRows; k += Vector512<T>.Count)
            {
                VMath.Log(Vector512.Load(source + k)).Store(destination + k);
            }

            return;
        }

        for (int k = 0; k < BlockRows; k += Vector<T>.Count)
        {
            VMath.Log(Vector.Load(source + k)).Store(destination + k);
        }
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

    /// <summary>The largest lane of <paramref name="q"/> (a wider maximum folded to 128 bits), or NaN when <paramref name="nan"/>.</summary>
    private static T HorizontalMax<T>(Vector128<T> q, bool nan)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (nan)
        {
            return T.NaN;
        }

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
        where T : unmanaged, IFloatingPointIeee754<T> => SumExpShiftedInline(x, store, n, m);

    /// <summary><see cref="SumExpShifted{T}"/>'s body, inlined into <see cref="MaxAndSumExp{T}"/>'s loop over rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T SumExpShiftedInline<T>(T* x, T* store, int n, T m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (VMath.IsWide<T>() && n >= Vector512<T>.Count)
        {
            // The exponentials without a range test per vector, the lanes outside the range OR-ed on the side; a row
            // with any such lane (below −87 or NaN: rare) is done again with the tested exponential, giving the same
            // results as the tested loop everywhere.
            Vector512<T> vm = Vector512.Create(m), acc = Vector512<T>.Zero, outside = Vector512<T>.Zero;
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                Vector512<T> d = Vector512.Load(x + i) - vm;
                outside |= VMath.OutsideExpNormalRange(d);
                Vector512<T> e = VMath.ExpNonPositiveInRange(d);
                if (store != null)
                {
                    e.Store(store + i);
                }

                acc += e;
            }

            if (outside != Vector512<T>.Zero)
            {
                acc = Vector512<T>.Zero;
                for (i = 0; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                {
                    Vector512<T> e = VMath.ExpNonPositive(Vector512.Load(x + i) - vm);
                    if (store != null)
                    {
                        e.Store(store + i);
                    }

                    acc += e;
                }
            }

            sum = HorizontalSum(acc);
        }

        return SumExpShiftedRest(x, store, n, m, i, sum);
    }

    /// <summary>The part of <see cref="SumExpShifted{T}"/> after the 512-bit blocks: elements from <paramref name="i"/> on, added to <paramref name="sum"/>.</summary>
    private static T SumExpShiftedRest<T>(T* x, T* store, int n, T m, int i, T sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (VMath.IsVectorized<T>() && n - i >= Vector<T>.Count)
        {
            // As the 512-bit loop above: untested exponentials, the row redone with tested ones if any lane was outside.
            int first = i;
            Vector<T> vm = new(m), acc = Vector<T>.Zero, outside = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> d = Vector.Load(x + i) - vm;
                outside |= VMath.OutsideExpNormalRange(d);
                Vector<T> e = VMath.ExpNonPositiveInRange(d);
                if (store != null)
                {
                    e.Store(store + i);
                }

                acc += e;
            }

            if (outside != Vector<T>.Zero)
            {
                acc = Vector<T>.Zero;
                for (i = first; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                {
                    Vector<T> e = VMath.ExpNonPositive(Vector.Load(x + i) - vm);
                    if (store != null)
                    {
                        e.Store(store + i);
                    }

                    acc += e;
                }
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
        where T : unmanaged, IFloatingPointIeee754<T> => ScaleSubtractRows(g, w, n, 1, &a, &b);

    /// <summary>
    /// <see cref="ScaleSubtract{T}"/> over <paramref name="rows"/> consecutive rows of length <paramref name="n"/> (row k
    /// with a[k] and b[k], all with the same <paramref name="w"/>) in one loop; each row ends as
    /// <see cref="ScaleSubtract{T}"/> leaves it.
    /// </summary>
    public static void ScaleSubtractRows<T>(T* g, T* w, int n, int rows, T* a, T* b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int k = 0; k < rows; k++, g += n)
        {
            int i = 0;
            if (VMath.IsWide<T>() && n >= Vector512<T>.Count)
            {
                Vector512<T> va = Vector512.Create(a[k]), vb = Vector512.Create(b[k]);
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                {
                    Vector512<T> r = Vector512.Load(g + i) * va - (w == null ? vb : vb * Vector512.Load(w + i));
                    r.Store(g + i);
                }
            }

            ScaleSubtractRest(g, w, n, a[k], b[k], i);
        }
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
