using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LossKit.Internal;

/// <summary>
/// The per-element math of an element-wise loss l(x, y) and its derivative ∂l/∂x, in scalar and vector form. The two
/// forms compute the same thing; the scalar one serves tails, Half, and machines without SIMD.
/// </summary>
internal interface IPointwiseOp<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    T Value(T x, T y);

    T Value(T x, T y, out T gradient);

    Vector<T> Value(Vector<T> x, Vector<T> y);

    Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient);

    /// <summary>
    /// True when the op also has a <see cref="Vector512{T}"/> form for this T. <see cref="Vector{T}"/> stays 256 bits on
    /// AVX-512 hardware, and on cores with full-width 512-bit units (Zen 5, Sapphire Rapids) the compute-bound ops run
    /// about twice as fast at 512 bits; the driver then takes the reduced, unweighted call (the training step) 16 floats
    /// at a time. A constant per op type, so the JIT drops the branch for every op that leaves it false.
    /// </summary>
    static virtual bool HasVector512 => false;

    /// <summary>The 512-bit form, same math lane by lane; called only when <see cref="HasVector512"/> is true.</summary>
    Vector512<T> Value(Vector512<T> x, Vector512<T> y) => throw new NotSupportedException();

    /// <inheritdoc cref="Value(Vector512{T}, Vector512{T})"/>
    Vector512<T> Value(Vector512<T> x, Vector512<T> y, out Vector512<T> gradient) => throw new NotSupportedException();

    /// <summary>
    /// True when the 512-bit form splits in two: <see cref="Stage(Vector512{T})"/> (an exponential, say) and the rest, which takes
    /// the staged value. The driver then runs the first stage over a block of elements into a small buffer before the
    /// second: each half's dependency chain is short enough for the CPU to overlap many elements, where the whole
    /// chain (exp, then a division and a polynomial on its result) keeps too few in flight (docs/PERFORMANCE.md has
    /// the measurements). The results are the same values either way.
    /// </summary>
    static virtual bool HasStagedVector512 => false;

    /// <summary>The first stage of the 512-bit form; called only when <see cref="HasStagedVector512"/> is true.</summary>
    Vector512<T> Stage(Vector512<T> x) => throw new NotSupportedException();

    /// <summary>The 512-bit form from <paramref name="staged"/> = <see cref="Stage(Vector512{T})"/>, with the gradient.</summary>
    Vector512<T> Value(Vector512<T> x, Vector512<T> y, Vector512<T> staged, out Vector512<T> gradient) => throw new NotSupportedException();

    /// <summary>
    /// <see cref="HasStagedVector512"/> for the <see cref="Vector{T}"/> form: the reduced call's Vector&lt;T&gt; blocks
    /// then run in two stages as well (where no 512-bit blocks run: 256-bit and 128-bit machines).
    /// </summary>
    static virtual bool HasStagedVector => false;

    /// <summary>The first stage of the <see cref="Vector{T}"/> form; called only when <see cref="HasStagedVector"/> is true.</summary>
    Vector<T> Stage(Vector<T> x) => throw new NotSupportedException();

    /// <summary>The <see cref="Vector{T}"/> form from <paramref name="staged"/> = <see cref="Stage(Vector{T})"/>, with the gradient.</summary>
    Vector<T> Value(Vector<T> x, Vector<T> y, Vector<T> staged, out Vector<T> gradient) => throw new NotSupportedException();
}

/// <summary>
/// The shared driver for element-wise losses: one pass that computes w·l(x, y), optionally stores it, sums it, and
/// optionally writes the gradient (w·∂l/∂x times a scalar scale or a per-element upstream). Work is cut into chunks
/// whose size depends only on the length, each chunk is summed on its own and the chunk sums are added in order, so
/// the result is the same on one thread or many. Lanes: full <see cref="Vector{T}"/> blocks, then a scalar tail. The
/// reduced call writes a large aligned gradient with non-temporal stores (<see cref="Streams"/>).
/// </summary>
internal static unsafe class Pointwise
{
    /// <summary>Elements per chunk (at least); below <see cref="ParallelThreshold"/> chunks run on the calling thread.</summary>
    public const int MinChunk = 16384;

    /// <summary>Inputs shorter than this never leave the calling thread.</summary>
    public const int ParallelThreshold = 65536;

    private const int MaxChunks = 2048;

    /// <summary>
    /// Runs the loss over <paramref name="x"/>/<paramref name="y"/>. Empty <paramref name="weight"/>,
    /// <paramref name="values"/>, <paramref name="gradient"/> or <paramref name="upstream"/> mean "not used". Returns Σ w·l
    /// accumulated in chunks (in T within a chunk, in double across chunks).
    /// </summary>
    public static double Run<T, TOp>(in TOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> weight,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : unmanaged, IPointwiseOp<T>
    {
        fixed (T* px = x, py = y, pw = weight, pv = values, pg = gradient, pu = upstream)
        {
            // Elements are "rows" of one column: the row driver's fixed chunking and ordered partial sums apply as is.
            var kernel = new Kernel<T, TOp>
            {
                Op = op, X = px, Y = py, W = weight.IsEmpty ? null : pw, Values = values.IsEmpty ? null : pv,
                Gradient = gradient.IsEmpty ? null : pg, Upstream = upstream.IsEmpty ? null : pu, Scale = scale,
                Stream = Streams(pg, gradient.Length * (long)sizeof(T)),
            };
            return RowDriver.Run(ref kernel, x.Length, 1);
        }
    }

    /// <summary>
    /// True when a gradient at <paramref name="gradient"/> of <paramref name="bytes"/> is streamed: large enough, on x86
    /// (elsewhere the aligned non-temporal store is an ordinary one), and 64-byte aligned, so that every vector block of
    /// every chunk is aligned (chunks start at multiples of 64 elements and vector blocks follow each other from there).
    /// Only the store instruction changes: the values are the same bits either way.
    /// </summary>
    public static bool Streams(void* gradient, long bytes) =>
        bytes >= LossKitSettings.NonTemporalStoreBytes && System.Runtime.Intrinsics.X86.Sse.IsSupported && ((nuint)gradient & 63) == 0;

    /// <summary>A chunk size that depends only on <paramref name="n"/>: at least <paramref name="min"/>, at most 2048 chunks, a multiple of 64.</summary>
    public static int ChunkSize(int n, int min)
    {
        int bySplit = (int)(((long)n + MaxChunks - 1) / MaxChunks);
        bySplit = (bySplit + 63) & ~63;
        return Math.Max(min, bySplit);
    }

    private struct Kernel<T, TOp> : IRowKernel
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : unmanaged, IPointwiseOp<T>
    {
        public TOp Op;
        public T* X, Y, W, Values, Gradient, Upstream;
        public T Scale;
        public bool Stream;

        public readonly double Run(int start, int end) => double.CreateTruncating(Sum(start, end));

        // Not inlined into the row driver's job: compiled on its own, this loop keeps the JIT's whole inlining budget
        // for the element math (exp/log1p polynomials, vector constructors), which must all inline to stay in registers.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private readonly T Sum(int start, int end)
        {
            // Fields to locals: the loops below then keep pointers and the op in registers.
            TOp op = Op;
            T* x = X, y = Y, w = W, values = Values, gradient = Gradient, upstream = Upstream;
            bool stream = Stream;
            int i = start;
            T sum = T.Zero;
            if (VMath.IsVectorized<T>())
            {
                // Lanes: full Vector<T> blocks [start, last]; the scalar loop below takes the tail (< Count elements).
                Vector<T> acc = Vector<T>.Zero;
                Vector<T> scale = new(Scale);
                int last = end - Vector<T>.Count;
                if (w == null && values == null && upstream == null)
                {
                    // The reduced call (Mean/Sum, no weight): Σ l, and g·scale when a gradient is wanted; 512-bit blocks
                    // first where the op has them, then Vector<T> blocks for the rest.
                    if (TOp.HasStagedVector512 && VMath.IsWide<T>())
                    {
                        sum = SumWideStaged(op, x, y, gradient, Scale, stream, ref i, end);
                    }
                    else if (TOp.HasVector512 && VMath.IsWide<T>())
                    {
                        sum = SumWide(op, x, y, gradient, Scale, stream, ref i, end);
                    }

                    if (TOp.HasStagedVector)
                    {
                        sum += SumStaged(op, x, y, gradient, Scale, stream, ref i, end);
                    }

                    if (gradient == null)
                    {
                        for (; i <= last; i += Vector<T>.Count)
                        {
                            acc += op.Value(Vector.Load(x + i), Vector.Load(y + i));
                        }
                    }
                    else
                    {
                        for (; i <= last; i += Vector<T>.Count)
                        {
                            Vector<T> g;
                            acc += op.Value(Vector.Load(x + i), Vector.Load(y + i), out g);
                            Store(g * scale, gradient + i, stream);
                        }

                        if (stream)
                        {
                            // Non-temporal stores are weakly ordered: fence them before the chunk reports done.
                            System.Runtime.Intrinsics.X86.Sse.StoreFence();
                        }
                    }
                }
                else
                {
                    for (; i <= last; i += Vector<T>.Count)
                    {
                        Vector<T> vx = Vector.Load(x + i), vy = Vector.Load(y + i);
                        Vector<T> l, g = default;
                        if (gradient != null)
                        {
                            l = op.Value(vx, vy, out g);
                        }
                        else
                        {
                            l = op.Value(vx, vy);
                        }

                        if (w != null)
                        {
                            Vector<T> vw = Vector.Load(w + i);
                            l *= vw;
                            g *= vw;
                        }

                        if (values != null)
                        {
                            l.Store(values + i);
                        }

                        acc += l;
                        if (gradient != null)
                        {
                            g *= upstream != null ? Vector.Load(upstream + i) : scale;
                            g.Store(gradient + i);
                        }
                    }
                }

                sum += Vector.Sum(acc);
            }

            // Scalar tail (and the whole range where vectors are not used): the same math one element at a time.
            for (; i < end; i++)
            {
                T l, g = T.Zero;
                if (gradient != null)
                {
                    l = op.Value(x[i], y[i], out g);
                }
                else
                {
                    l = op.Value(x[i], y[i]);
                }

                if (w != null)
                {
                    l *= w[i];
                    g *= w[i];
                }

                if (values != null)
                {
                    values[i] = l;
                }

                sum += l;
                if (gradient != null)
                {
                    gradient[i] = g * (upstream != null ? upstream[i] : Scale);
                }
            }

            return sum;
        }

        /// <summary>Σ l over whole <see cref="Vector512{T}"/> blocks from <paramref name="start"/> (advanced past them), with g·scale stored when wanted.</summary>
        /// <remarks>The index runs in a local and is written back once: a loop on the ref itself kept it in memory (a load
        /// and a read-modify-write per block), and the op is taken by value so it needs no null check per block.</remarks>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static T SumWide(TOp op, T* x, T* y, T* gradient, T scale, bool stream, ref int start, int end)
        {
            Vector512<T> acc = Vector512<T>.Zero;
            int i = start, last = end - Vector512<T>.Count;
            if (gradient == null)
            {
                for (; i <= last; i += Vector512<T>.Count)
                {
                    acc += op.Value(Vector512.Load(x + i), Vector512.Load(y + i));
                }
            }
            else
            {
                Vector512<T> s = Vector512.Create(scale);
                for (; i <= last; i += Vector512<T>.Count)
                {
                    Vector512<T> g;
                    acc += op.Value(Vector512.Load(x + i), Vector512.Load(y + i), out g);
                    Store(g * s, gradient + i, stream);
                }
            }

            start = i;
            return Vector512.Sum(acc);
        }

        /// <summary>Stores a gradient block: non-temporal when <paramref name="stream"/> (the address is then 64-byte aligned).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(Vector<T> g, T* destination, bool stream)
        {
            if (stream)
            {
                Vector.StoreAlignedNonTemporal(g, destination);
            }
            else
            {
                g.Store(destination);
            }
        }

        /// <inheritdoc cref="Store(Vector{T}, T*, bool)"/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(Vector512<T> g, T* destination, bool stream)
        {
            if (stream)
            {
                Vector512.StoreAlignedNonTemporal(g, destination);
            }
            else
            {
                g.Store(destination);
            }
        }

        /// <summary>Elements per block of <see cref="SumWideStaged"/>: the staged values fit a 1 KB (float) stack buffer.</summary>
        private const int StageBlock = 256;

        /// <summary>
        /// <see cref="SumWide"/> for ops with <see cref="IPointwiseOp{T}.HasStagedVector512"/>: per block
        /// of up to <see cref="StageBlock"/> elements, the first stage of every 512-bit block into a buffer, then the rest.
        /// The same values and the same order of the sum as <see cref="SumWide"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        [SkipLocalsInit]
        private static T SumWideStaged(TOp op, T* x, T* y, T* gradient, T scale, bool stream, ref int start, int end)
        {
            T* staged = stackalloc T[StageBlock];
            Vector512<T> acc = Vector512<T>.Zero, s = Vector512.Create(scale);
            int i = start, wholeEnd = start + (end - start) / Vector512<T>.Count * Vector512<T>.Count;
            while (i < wholeEnd)
            {
                int n = Math.Min(StageBlock, wholeEnd - i);
                for (int k = 0; k < n; k += Vector512<T>.Count)
                {
                    op.Stage(Vector512.Load(x + i + k)).Store(staged + k);
                }

                if (gradient == null)
                {
                    for (int k = 0; k < n; k += Vector512<T>.Count)
                    {
                        acc += op.Value(Vector512.Load(x + i + k), Vector512.Load(y + i + k), Vector512.Load(staged + k), out _);
                    }
                }
                else
                {
                    for (int k = 0; k < n; k += Vector512<T>.Count)
                    {
                        Vector512<T> g;
                        acc += op.Value(Vector512.Load(x + i + k), Vector512.Load(y + i + k), Vector512.Load(staged + k), out g);
                        Store(g * s, gradient + i + k, stream);
                    }
                }

                i += n;
            }

            start = i;
            return Vector512.Sum(acc);
        }

        /// <summary>
        /// <see cref="SumWideStaged"/> over <see cref="Vector{T}"/> blocks, for ops with <see cref="IPointwiseOp{T}.HasStagedVector"/>:
        /// the same values and the same order of the sum as the reduced call's Vector&lt;T&gt; loop. The loop repeats
        /// SumWideStaged's at the other vector type (Vector&lt;T&gt; and Vector512 share no public interface).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        [SkipLocalsInit]
        private static T SumStaged(TOp op, T* x, T* y, T* gradient, T scale, bool stream, ref int start, int end)
        {
            T* staged = stackalloc T[StageBlock];
            Vector<T> acc = Vector<T>.Zero, s = new(scale);
            int i = start, wholeEnd = start + (end - start) / Vector<T>.Count * Vector<T>.Count;
            while (i < wholeEnd)
            {
                int n = Math.Min(StageBlock, wholeEnd - i);
                for (int k = 0; k < n; k += Vector<T>.Count)
                {
                    op.Stage(Vector.Load(x + i + k)).Store(staged + k);
                }

                if (gradient == null)
                {
                    for (int k = 0; k < n; k += Vector<T>.Count)
                    {
                        acc += op.Value(Vector.Load(x + i + k), Vector.Load(y + i + k), Vector.Load(staged + k), out _);
                    }
                }
                else
                {
                    for (int k = 0; k < n; k += Vector<T>.Count)
                    {
                        Vector<T> g;
                        acc += op.Value(Vector.Load(x + i + k), Vector.Load(y + i + k), Vector.Load(staged + k), out g);
                        Store(g * s, gradient + i + k, stream);
                    }
                }

                i += n;
            }

            start = i;
            return Vector.Sum(acc);
        }
    }
}
