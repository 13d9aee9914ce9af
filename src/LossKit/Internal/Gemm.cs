using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Internal;

/// <summary>
/// Dense matrix product without a BLAS: <c>C (+)= op(A)·op(B)</c> for row-major float/double matrices, where op is the
/// identity or the transpose. It serves the cosine head (forward <c>X̂·Ŵᵀ</c>, backward <c>G·Ŵ</c> and <c>Gᵀ·X̂</c>).
/// </summary>
/// <remarks>
/// <para>Structure (GotoBLAS/BLIS): the output is cut into macro tiles of <see cref="Mc"/> × <see cref="Nc"/>; for each
/// block of <see cref="KcFor{T}"/> along K the tile's slice of op(A) is packed into strips of <see cref="Mr"/> rows
/// (column-major within a strip) and op(B)'s slice into strips of NR columns (row-major within a strip), zero-padded
/// at the edges, so the micro-kernel reads both sequentially whatever the transposition. The micro-kernel keeps an
/// Mr × NR block of C in 12 registers (NR = 2·<see cref="Vector{T}"/>.Count: 6 × 16 floats with AVX2) and does one
/// broadcast and two fused multiply-adds per row per k. Loop order inside a tile: B strips outer (a kc × NR strip
/// stays in L1), A strips inner (the packed A block, 96 × kc, stays in L2).</para>
/// <para>Threads: the tiles are taken from a shared counter by "slots" (at most
/// <see cref="LossKitSettings.MaxDegreeOfParallelism"/>, and at most as many as the caller's scratch holds), each slot
/// with its own packing buffers. Every output element is computed by one slot with the same order of operations
/// (K blocks in order, k in order inside a block), so the result does not depend on the number of threads or on
/// which thread ran which tile. Nothing is allocated: the packing buffers live in the caller's scratch span.</para>
/// <para>FMA: <c>Vector.MultiplyAddEstimate</c> is a fused multiply-add where
/// the hardware has one (x64 FMA3, Arm64) and multiply-then-add elsewhere, so results differ in the last bits between
/// such machines. Without hardware SIMD (or for other types) a scalar micro-kernel with NR = 4 runs on the same
/// packed layout.</para>
/// </remarks>
internal static unsafe class Gemm
{
    /// <summary>Rows of the micro-tile.</summary>
    public const int Mr = 6;

    /// <summary>Rows of a macro tile (a multiple of <see cref="Mr"/>).</summary>
    public const int Mc = 96;

    /// <summary>Columns of a macro tile (a multiple of every NR: 4, 8, 16, 32).</summary>
    public const int Nc = 256;

    /// <summary>Products below this many multiply-adds run on the calling thread.</summary>
    private const long ParallelThreshold = 1L << 21;

    /// <summary>
    /// Depth of a K block: 512 bytes (128 floats, 64 doubles). The micro-kernel's working set, a kc × NR strip of B
    /// (8 KiB for float with AVX2) and an Mr × kc strip of A (3 KiB), then fits in a 32 KiB L1 even when two hardware
    /// threads share it, and a slot's packing buffers ((96 + 256)·kc, 176 KiB) twice in a 512 KiB L2, where 1 KiB
    /// blocks would not (docs/PERFORMANCE.md).
    /// </summary>
    public static int KcFor<T>()
        where T : unmanaged => 512 / sizeof(T);

    /// <summary>Columns of the micro-tile: two vectors, or 4 on the scalar path.</summary>
    public static int NrFor<T>()
        where T : unmanaged, IFloatingPointIeee754<T> => VMath.IsVectorized<T>() ? 2 * Vector<T>.Count : 4;

    /// <summary>Scratch elements one thread (slot) needs for its packing buffers.</summary>
    public static int ScratchPerSlot<T>()
        where T : unmanaged => (Mc + Nc) * KcFor<T>();

    /// <summary>Scratch elements for <paramref name="slots"/> slots, including the slack used to align the buffers to 64 bytes.</summary>
    public static int ScratchSize<T>(int slots)
        where T : unmanaged => checked(Math.Max(slots, 1) * ScratchPerSlot<T>() + 64 / sizeof(T));

    /// <summary>
    /// <c>C = op(A)·op(B)</c> (or <c>C += ...</c> with <paramref name="accumulate"/>), op(A) M × K, op(B) K × N, C M × N
    /// with row stride <paramref name="ldc"/>. <paramref name="transA"/> false: A[i, p] = a[i·lda + p]; true:
    /// A[i, p] = a[p·lda + i]. <paramref name="transB"/> false: B[p, j] = b[p·ldb + j]; true: B[p, j] = b[j·ldb + p].
    /// C must not overlap A, B or the scratch. K = 0 gives C = 0 (or leaves C unchanged when accumulating).
    /// </summary>
    public static void Multiply<T>(T* a, int lda, bool transA, T* b, int ldb, bool transB, T* c, int ldc,
        int m, int n, int k, bool accumulate, T* scratch, int scratchLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(m >= 0 && n >= 0 && k >= 0);
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                for (int i = 0; i < m; i++)
                {
                    new Span<T>(c + (long)i * ldc, n).Clear();
                }
            }

            return;
        }

        // Align the packing buffers to 64 bytes (the slack is part of ScratchSize).
        T* aligned = (T*)(((nuint)scratch + 63) & ~(nuint)63);
        int usable = scratchLength - (int)(aligned - scratch);
        int perSlot = ScratchPerSlot<T>();
        Debug.Assert(usable >= perSlot, "scratch too small for one slot");

        int tilesM = (m + Mc - 1) / Mc, tilesN = (n + Nc - 1) / Nc;
        int tiles = tilesM * tilesN;
        int slots = (long)m * n * k < ParallelThreshold ? 1 : Math.Min(Math.Min(LossKitSettings.MaxDegreeOfParallelism, tiles), usable / perSlot);
        int next = -1;
        var job = new Job<T>
        {
            A = a, B = b, C = c, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA, TransB = transB, M = m, N = n, K = k,
            Accumulate = accumulate, Scratch = aligned, PerSlot = perSlot, TilesN = tilesN, Tiles = tiles, Next = &next,
        };
        if (slots <= 1)
        {
            job.Run(0);
        }
        else
        {
            WorkPool.Run(ref job, slots);
        }
    }

    private struct Job<T> : IChunkJob
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* A, B, C, Scratch;
        public int Lda, Ldb, Ldc, M, N, K, PerSlot, TilesN, Tiles;
        public bool TransA, TransB, Accumulate;
        public int* Next;

        /// <summary>One slot: takes tiles from the shared counter until none are left.</summary>
        public readonly void Run(int slot)
        {
            T* packA = Scratch + (long)slot * PerSlot;
            T* packB = packA + Mc * KcFor<T>();
            int t;
            while ((t = Interlocked.Increment(ref *Next)) < Tiles)
            {
                Tile(t / TilesN, t % TilesN, packA, packB);
            }
        }

        [SkipLocalsInit]
        private readonly void Tile(int tileRow, int tileColumn, T* packA, T* packB)
        {
            int kcMax = KcFor<T>(), nr = NrFor<T>();
            int i0 = tileRow * Mc, mc = Math.Min(Mc, M - i0);
            int j0 = tileColumn * Nc, nc = Math.Min(Nc, N - j0);
            T* edge = stackalloc T[Mr * 32]; // one micro-tile for the ragged edges (NR ≤ 32)
            for (int p0 = 0; p0 < K; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, K - p0);
                PackB(packB, p0, kc, j0, nc, nr);
                PackA(packA, i0, mc, p0, kc);
                bool add = Accumulate || p0 > 0;
                for (int js = 0; js < nc; js += nr)
                {
                    int cols = Math.Min(nr, nc - js);
                    T* bStrip = packB + (long)js * kc;
                    for (int isr = 0; isr < mc; isr += Mr)
                    {
                        int rows = Math.Min(Mr, mc - isr);
                        T* aStrip = packA + (long)isr * kc;
                        T* cTile = C + (long)(i0 + isr) * Ldc + j0 + js;
                        if (rows == Mr && cols == nr)
                        {
                            MicroKernel(aStrip, bStrip, kc, cTile, Ldc, add);
                        }
                        else
                        {
                            // Ragged edge: compute the full (zero-padded) micro-tile into a scratch block, then copy
                            // (or add) only the rows and columns that exist.
                            MicroKernel(aStrip, bStrip, kc, edge, nr, false);
                            for (int r = 0; r < rows; r++)
                            {
                                for (int q = 0; q < cols; q++)
                                {
                                    cTile[(long)r * Ldc + q] = add ? cTile[(long)r * Ldc + q] + edge[r * nr + q] : edge[r * nr + q];
                                }
                            }
                        }
                    }
                }
            }
        }

        /// <summary>op(A)[i0 .. i0 + mc, p0 .. p0 + kc] into strips of Mr rows: strip s holds, for each k, Mr values.</summary>
        private readonly void PackA(T* dst, int i0, int mc, int p0, int kc)
        {
            for (int s = 0; s < mc; s += Mr)
            {
                T* strip = dst + (long)s * kc;
                int rows = Math.Min(Mr, mc - s);
                if (!TransA)
                {
                    // Row i of A is contiguous along k: read rows, write with stride Mr.
                    for (int r = 0; r < rows; r++)
                    {
                        T* src = A + (long)(i0 + s + r) * Lda + p0;
                        for (int p = 0; p < kc; p++)
                        {
                            strip[p * Mr + r] = src[p];
                        }
                    }
                }
                else
                {
                    // A is stored transposed: the Mr values of one k are contiguous.
                    for (int p = 0; p < kc; p++)
                    {
                        T* src = A + (long)(p0 + p) * Lda + i0 + s;
                        for (int r = 0; r < rows; r++)
                        {
                            strip[p * Mr + r] = src[r];
                        }
                    }
                }

                for (int r = rows; r < Mr; r++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        strip[p * Mr + r] = T.Zero;
                    }
                }
            }
        }

        /// <summary>op(B)[p0 .. p0 + kc, j0 .. j0 + nc] into strips of nr columns: strip s holds, for each k, nr values.</summary>
        private readonly void PackB(T* dst, int p0, int kc, int j0, int nc, int nr)
        {
            for (int s = 0; s < nc; s += nr)
            {
                T* strip = dst + (long)s * kc;
                int cols = Math.Min(nr, nc - s);
                if (!TransB)
                {
                    // Row k of B is contiguous along j.
                    for (int p = 0; p < kc; p++)
                    {
                        T* src = B + (long)(p0 + p) * Ldb + j0 + s;
                        T* d = strip + (long)p * nr;
                        if (cols == nr)
                        {
                            new ReadOnlySpan<T>(src, nr).CopyTo(new Span<T>(d, nr));
                        }
                        else
                        {
                            for (int q = 0; q < cols; q++)
                            {
                                d[q] = src[q];
                            }

                            for (int q = cols; q < nr; q++)
                            {
                                d[q] = T.Zero;
                            }
                        }
                    }
                }
                else
                {
                    // B is stored transposed (row j of the stored matrix is column j of B): read along k.
                    for (int q = 0; q < cols; q++)
                    {
                        T* src = B + (long)(j0 + s + q) * Ldb + p0;
                        for (int p = 0; p < kc; p++)
                        {
                            strip[(long)p * nr + q] = src[p];
                        }
                    }

                    for (int q = cols; q < nr; q++)
                    {
                        for (int p = 0; p < kc; p++)
                        {
                            strip[(long)p * nr + q] = T.Zero;
                        }
                    }
                }
            }
        }
    }

    /// <summary>An Mr × NR block: <c>C = Σ_k a_k ⊗ b_k</c> (or <c>C += ...</c>) from packed strips.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel<T>(T* a, T* b, int kc, T* c, int ldc, bool add)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!VMath.IsVectorized<T>())
        {
            ScalarKernel(a, b, kc, c, ldc, add);
            return;
        }

        int v = Vector<T>.Count;
        Vector<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            // Lanes: b0/b1 are the 2·V columns of this k; each row's A value is broadcast to all lanes.
            Vector<T> b0 = Vector.Load(b), b1 = Vector.Load(b + v);
            Vector<T> x = new(a[0]);
            c00 = Fma(x, b0, c00);
            c01 = Fma(x, b1, c01);
            x = new Vector<T>(a[1]);
            c10 = Fma(x, b0, c10);
            c11 = Fma(x, b1, c11);
            x = new Vector<T>(a[2]);
            c20 = Fma(x, b0, c20);
            c21 = Fma(x, b1, c21);
            x = new Vector<T>(a[3]);
            c30 = Fma(x, b0, c30);
            c31 = Fma(x, b1, c31);
            x = new Vector<T>(a[4]);
            c40 = Fma(x, b0, c40);
            c41 = Fma(x, b1, c41);
            x = new Vector<T>(a[5]);
            c50 = Fma(x, b0, c50);
            c51 = Fma(x, b1, c51);
            a += Mr;
            b += 2 * v;
        }

        Store(c, v, add, c00, c01);
        Store(c + ldc, v, add, c10, c11);
        Store(c + 2L * ldc, v, add, c20, c21);
        Store(c + 3L * ldc, v, add, c30, c31);
        Store(c + 4L * ldc, v, add, c40, c41);
        Store(c + 5L * ldc, v, add, c50, c51);
    }

    /// <summary>x·y + z, fused where the hardware has FMA (Vector.MultiplyAddEstimate), for float and double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Fma<T>(Vector<T> x, Vector<T> y, Vector<T> z)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.MultiplyAddEstimate(x.As<T, float>(), y.As<T, float>(), z.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.MultiplyAddEstimate(x.As<T, double>(), y.As<T, double>(), z.As<T, double>()).As<double, T>();
        }

        return x * y + z;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* row, int v, bool add, Vector<T> left, Vector<T> right)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (add)
        {
            left += Vector.Load(row);
            right += Vector.Load(row + v);
        }

        left.Store(row);
        right.Store(row + v);
    }

    /// <summary>The same block product one element at a time (NR = 4), for machines and types without SIMD.</summary>
    [SkipLocalsInit]
    private static void ScalarKernel<T>(T* a, T* b, int kc, T* c, int ldc, bool add)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int nr = 4;
        T* acc = stackalloc T[Mr * nr];
        for (int i = 0; i < Mr * nr; i++)
        {
            acc[i] = T.Zero;
        }

        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < Mr; r++)
            {
                T x = a[r];
                for (int q = 0; q < nr; q++)
                {
                    acc[r * nr + q] += x * b[q];
                }
            }

            a += Mr;
            b += nr;
        }

        for (int r = 0; r < Mr; r++)
        {
            for (int q = 0; q < nr; q++)
            {
                c[(long)r * ldc + q] = add ? c[(long)r * ldc + q] + acc[r * nr + q] : acc[r * nr + q];
            }
        }
    }
}
