using System.Buffers;
using System.Numerics;
using LossKit.Internal;

namespace LossKit.MetricLearning;

/// <summary>
/// The kernels of <see cref="CenterLoss{T}"/> and its center update: the row pass (values and d/dx), the per-class
/// pass (d/dc, over the rows of each class from a stable sort by class), their SIMD row helpers and the chunking of
/// the per-class passes (<see cref="CenterUpdate{T}"/> shares it).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal static unsafe class CenterLossKernels<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// d/dc_j = −Σ_{yᵢ=j} kᵢ·factorᵢ·(xᵢ − c_j) into <paramref name="g"/> (overwritten, classes × dim), with the rows of
    /// each class in batch order. The sort by class is pooled: no allocation once warm.
    /// </summary>
    public static void CentersGradient(T* x, int* y, T* centers, T* g, T* upstream, T scale, int batch, int classes, int dim, bool kaiyangZhou)
    {
        // The rows of each class, in batch order (a stable counting sort of the targets), so that each chunk of
        // classes visits its own rows only instead of scanning the whole batch.
        int[] order = ArrayPool<int>.Shared.Rent(batch), first = ArrayPool<int>.Shared.Rent(classes + 1);
        try
        {
            fixed (int* o = order, f = first)
            {
                SortByClass(y, batch, classes, o, f);
                var job = new CentersGradientJob
                {
                    X = x, Centers = centers, Y = y, Order = o, First = f, G = g, Up = upstream, Scale = scale,
                    Dim = dim, Classes = classes, KaiyangZhou = kaiyangZhou, Lo = T.CreateTruncating(CenterLoss<T>.ClampMin),
                    Hi = T.CreateTruncating(CenterLoss<T>.ClampMax), ClassesPerChunk = ClassesPerChunk(classes),
                };
                RunChunks(ref job, classes, batch, dim);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
            ArrayPool<int>.Shared.Return(first);
        }
    }

    /// <summary>Classes per chunk of a per-class pass: a function of the class count only (at most 64 chunks).</summary>
    public static int ClassesPerChunk(int classes) => Math.Max(1, (classes + 63) / 64);

    /// <summary>
    /// Runs a per-class pass chunk by chunk: each chunk owns a range of classes, so every center row is written by one
    /// chunk and the result does not depend on the thread count. Small batches stay on the calling thread.
    /// </summary>
    public static void RunChunks<TJob>(ref TJob job, int classes, int batch, int dim)
        where TJob : unmanaged, IChunkJob
    {
        int perChunk = ClassesPerChunk(classes);
        int chunks = (classes + perChunk - 1) / perChunk;
        if ((long)batch * Math.Max(dim, 1) < Pointwise.ParallelThreshold)
        {
            for (int i = 0; i < chunks; i++)
            {
                job.Run(i);
            }
        }
        else
        {
            WorkPool.Run(ref job, chunks);
        }
    }

    /// <summary>Σ (aᵢ − bᵢ)².</summary>
    public static T SquaredDistance(T* a, T* b, int n)
    {
        int i = 0;
        T sum = T.Zero;
        if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
        {
            Vector<T> acc = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> d = Vector.Load(a + i) - Vector.Load(b + i);
                acc += d * d;
            }

            sum = Vector.Sum(acc);
        }

        for (; i < n; i++)
        {
            T d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    /// <summary>dst = (add ? dst : 0) + f·(a − b).</summary>
    public static void ScaledDifference(T* dst, T* a, T* b, int n, T f, bool add)
    {
        int i = 0;
        if (VMath.IsVectorized<T>())
        {
            Vector<T> vf = new(f);
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> r = (Vector.Load(a + i) - Vector.Load(b + i)) * vf;
                if (add)
                {
                    r += Vector.Load(dst + i);
                }

                r.Store(dst + i);
            }
        }

        for (; i < n; i++)
        {
            T r = (a[i] - b[i]) * f;
            dst[i] = add ? dst[i] + r : r;
        }
    }

    /// <summary>
    /// Stable counting sort of row indices by class: the rows of class j are order[first[j] .. first[j + 1]), ascending.
    /// </summary>
    private static void SortByClass(int* y, int batch, int classes, int* order, int* first)
    {
        new Span<int>(first, classes + 1).Clear();
        for (int i = 0; i < batch; i++)
        {
            first[y[i] + 1]++;
        }

        for (int j = 0; j < classes; j++)
        {
            first[j + 1] += first[j];
        }

        // Fill with a moving cursor per class (first[j] advances to first[j + 1]), then shift back.
        for (int i = 0; i < batch; i++)
        {
            order[first[y[i]]++] = i;
        }

        for (int j = classes; j > 0; j--)
        {
            first[j] = first[j - 1];
        }

        first[0] = 0;
    }

    /// <summary>Rows: value and d/dxᵢ (written, or added with <see cref="Accumulate"/>).</summary>
    public struct RowKernel : IRowKernel
    {
        public T* X, Centers, Values, G, Up;
        public int* Y;
        public T Scale, Constant, Lo, Hi;
        public int Dim;
        public bool KaiyangZhou, Accumulate;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            T half = T.CreateTruncating(0.5), two = T.CreateTruncating(2);
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * Dim;
                T* c = Centers + (long)Y[r] * Dim;
                T d = SquaredDistance(x, c, Dim);
                T loss;
                T factor; // ∂lᵢ/∂xᵢ = factor·(xᵢ − c)
                if (KaiyangZhou)
                {
                    // torch.clamp passes the gradient where Lo ≤ d ≤ Hi (inclusive); NaN stays NaN.
                    bool inside = !(d < Lo) && !(d > Hi);
                    loss = T.Clamp(d, Lo, Hi) + Constant;
                    if (T.IsNaN(d))
                    {
                        loss = d;
                    }

                    factor = inside ? two : T.Zero;
                }
                else
                {
                    loss = half * d;
                    factor = T.One;
                }

                if (Values != null)
                {
                    Values[r] = loss;
                }

                total += double.CreateTruncating(loss);
                if (G != null)
                {
                    T k = Up == null ? Scale : Up[r];
                    ScaledDifference(G + (long)r * Dim, x, c, Dim, factor * k, Accumulate);
                }
            }

            return total;
        }
    }

    /// <summary>
    /// The per-class gradient pass, chunked by class ranges, each class's samples in batch order (from the class-sorted
    /// row index; deterministic whatever the thread count): d/dc_j = −Σ_{yᵢ=j} kᵢ·factorᵢ·(xᵢ − c_j).
    /// </summary>
    private struct CentersGradientJob : IChunkJob
    {
        public T* X, Centers, G, Up;
        public int* Y, Order, First;
        public T Scale, Lo, Hi;
        public int Dim, Classes, ClassesPerChunk;
        public bool KaiyangZhou;

        public readonly void Run(int chunk)
        {
            int first = chunk * ClassesPerChunk, last = Math.Min(first + ClassesPerChunk, Classes);
            new Span<T>(G + (long)first * Dim, (last - first) * Dim).Clear();
            T two = T.CreateTruncating(2);
            for (int r = First[first]; r < First[last]; r++)
            {
                int i = Order[r], j = Y[i];
                T* x = X + (long)i * Dim;
                T* c = Centers + (long)j * Dim;
                T factor = T.One;
                if (KaiyangZhou)
                {
                    T d = SquaredDistance(x, c, Dim);
                    factor = !(d < Lo) && !(d > Hi) ? two : T.Zero;
                }

                T k = Up == null ? Scale : Up[i];

                // −k·factor·(x − c) = k·factor·(c − x)
                ScaledDifference(G + (long)j * Dim, c, x, Dim, factor * k, true);
            }
        }
    }
}
