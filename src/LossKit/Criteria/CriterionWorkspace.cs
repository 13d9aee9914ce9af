using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Internal;

namespace LossKit.Criteria;

/// <summary>
/// Reusable scratch memory for the detector criteria (<see cref="RpnLoss{T}"/>, <see cref="FastRcnnLoss{T}"/>,
/// <see cref="RetinaNetLoss{T}"/>, <see cref="YoloV3Loss{T}"/>): IoU matrices, match and label arrays, dense
/// classification targets and the gathered inputs of the composed losses. The buffers grow on demand and are kept, so
/// a workspace that is passed to every training step allocates only while the inputs grow, and nothing in the steady
/// state.
/// </summary>
/// <remarks>
/// <para>A workspace serves one call at a time: it is not thread-safe. Use one per thread (or per concurrent
/// training step). One workspace may be shared by different criteria called one after the other; each criterion type
/// keeps its own named buffers in it.</para>
/// <para>The criteria accept <c>null</c> instead of a workspace; they then allocate a temporary one for the call (its
/// size is what <see cref="AllocatedBytes"/> would report after that call: for RetinaNet the dense targets and weights,
/// 2 × images × anchors × classes elements, dominate).</para>
/// </remarks>
/// <typeparam name="T">The element type of the criteria it serves.</typeparam>
public sealed class CriterionWorkspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // One scratch set per criterion type that has used the workspace (four criteria exist; the array grows if needed).
    private CriterionScratch?[] _sets = new CriterionScratch?[4];

    // The float32 workspace behind a narrow element type's calls (Half computes through float32).
    private CriterionWorkspace<float>? _float32;

    /// <summary>The bytes currently held by the workspace's buffers.</summary>
    public long AllocatedBytes
    {
        get
        {
            long total = 0;
            foreach (CriterionScratch? set in _sets)
            {
                total += set?.AllocatedBytes ?? 0;
            }

            return total + (_float32?.AllocatedBytes ?? 0);
        }
    }

    /// <summary>Drops every buffer (the next call allocates again).</summary>
    public void Clear()
    {
        Array.Clear(_sets);
        _float32 = null;
    }

    /// <summary>The float32 workspace that a narrow element type's criteria compute in.</summary>
    internal CriterionWorkspace<float> Float32 => _float32 ??= new();

    /// <summary>The buffers of one criterion type, created on its first call with this workspace.</summary>
    internal TScratch Scratch<TScratch>()
        where TScratch : CriterionScratch, new()
    {
        CriterionScratch?[] sets = _sets;
        int i = 0;
        for (; i < sets.Length && sets[i] is not null; i++)
        {
            if (sets[i] is TScratch found)
            {
                return found;
            }
        }

        if (i == sets.Length)
        {
            Array.Resize(ref _sets, 2 * sets.Length);
        }

        var created = new TScratch();
        _sets[i] = created;
        return created;
    }
}

/// <summary>
/// The named scratch buffers of one criterion (a sealed subclass per criterion, declared beside it): each buffer is a
/// <see cref="ScratchBuffer{TElement}"/> field, and <see cref="AllocatedBytes"/> adds them up.
/// </summary>
internal abstract class CriterionScratch
{
    /// <summary>The bytes held by this criterion's buffers.</summary>
    public abstract long AllocatedBytes { get; }
}

/// <summary>One growable scratch array of a criterion's workspace; a mutable struct, used as a field in place.</summary>
internal struct ScratchBuffer<TElement>
{
    private TElement[]? _array;

    /// <summary>The bytes held.</summary>
    public readonly long Bytes => (long)(_array?.Length ?? 0) * Unsafe.SizeOf<TElement>();

    /// <summary>A span of <paramref name="length"/> elements (contents unspecified), growing the array when it is short.</summary>
    public Span<TElement> Get(long length)
    {
        if (length > Array.MaxLength)
        {
            ThrowHelper.Argument("workspace", $"A criterion needs a scratch buffer of {length} elements, more than an array can hold.");
        }

        int n = (int)length;
        TElement[]? buffer = _array;
        if (buffer is null || buffer.Length < n)
        {
            // Grow by at least half again, so inputs that fluctuate in size (ground-truth counts, sampled counts) settle quickly.
            long grown = buffer is null ? n : Math.Max(n, Math.Min(Array.MaxLength, buffer.Length + (long)buffer.Length / 2));
            buffer = GC.AllocateUninitializedArray<TElement>((int)grown);
            _array = buffer;
        }

        return buffer.AsSpan(0, n);
    }
}

/// <summary>Argument checks shared by the criteria (ragged ground truths, boxes, labels).</summary>
internal static class CriteriaChecks
{
    /// <summary>Checks the per-image counts (each ≥ 0) and returns their sum.</summary>
    public static int GroundTruthTotal(ReadOnlySpan<int> counts, string paramName = "groundTruthCounts")
    {
        long total = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] < 0)
            {
                ThrowHelper.OutOfRange(paramName, counts[i], $"{paramName}[{i}] = {counts[i]}: a count must be >= 0.");
            }

            total += counts[i];
        }

        if (total > int.MaxValue / 4)
        {
            ThrowHelper.Argument(paramName, $"{paramName} adds up to {total}, too many.");
        }

        return (int)total;
    }

    /// <summary>
    /// Checks, before any work, that every image's IoU matrix (Gᵢ × <paramref name="columns"/>, the matcher's quality
    /// matrix) has at most int.MaxValue elements: an <see cref="ArgumentException"/> naming
    /// <paramref name="paramName"/> with both sizes otherwise.
    /// </summary>
    /// <param name="counts">Gᵢ per image (already checked ≥ 0).</param>
    /// <param name="columns">Anchors or candidates per image.</param>
    /// <param name="paramName">The argument the message names.</param>
    /// <param name="columnsName">What the columns are, for the message.</param>
    /// <param name="extraColumns">Per image, columns added to <paramref name="columns"/> for image i: its own count
    /// (Fast R-CNN appends the ground truths to the proposals), else empty.</param>
    public static void QualityMatrix(ReadOnlySpan<int> counts, int columns, string paramName, string columnsName, ReadOnlySpan<int> extraColumns = default)
    {
        for (int i = 0; i < counts.Length; i++)
        {
            long n = columns + (extraColumns.IsEmpty ? 0L : (long)extraColumns[i] + counts[i]);
            if ((long)counts[i] * n > int.MaxValue)
            {
                ThrowHelper.Product(paramName, $"image {i}'s IoU matrix, ground truths × {columnsName}", counts[i], n);
            }
        }
    }

    /// <summary>Throws unless every xyxy box is finite with x2 &gt; x1 and y2 &gt; y1 (a ground-truth box must have an area).</summary>
    public static void PositiveXyxy<T>(ReadOnlySpan<T> boxes, string paramName)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < boxes.Length; i += 4)
        {
            T x1 = boxes[i], y1 = boxes[i + 1], x2 = boxes[i + 2], y2 = boxes[i + 3];
            if (!(T.IsFinite(x1) && T.IsFinite(y1) && T.IsFinite(x2) && T.IsFinite(y2)))
            {
                ThrowHelper.Argument(paramName, $"{paramName}[{i / 4}] = ({x1}, {y1}, {x2}, {y2}) has a NaN or infinite coordinate.");
            }

            if (!(x2 > x1 && y2 > y1))
            {
                ThrowHelper.Argument(paramName, $"{paramName}[{i / 4}] = ({x1}, {y1}, {x2}, {y2}) is empty or inverted: a ground-truth box needs x2 > x1 and y2 > y1.");
            }
        }
    }

    /// <summary>Throws unless every label is in [<paramref name="min"/>, <paramref name="classes"/>).</summary>
    public static void Labels(ReadOnlySpan<int> labels, int classes, string paramName, int min = 0)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < min || labels[i] >= classes)
            {
                ThrowHelper.OutOfRange(paramName, labels[i], $"{paramName}[{i}] = {labels[i]} is not a class in [{min}, {classes}).");
            }
        }
    }

    /// <summary>Throws unless <paramref name="classes"/> ≥ <paramref name="min"/>.</summary>
    public static void Classes(int classes, int min, string paramName = "classes")
    {
        if (classes < min)
        {
            ThrowHelper.OutOfRange(paramName, classes, $"{paramName} must be >= {min}, got {classes}.");
        }
    }

    /// <summary>Throws unless <paramref name="length"/> = <paramref name="rows"/> × <paramref name="columns"/> (long arithmetic).</summary>
    public static void Shape(int length, long rows, long columns, string paramName, string layout)
    {
        if (length != rows * columns)
        {
            ThrowHelper.Argument(paramName, $"{paramName} must have {rows * columns} elements ({layout} = {rows} × {columns}) but it has {length}.");
        }
    }
}

/// <summary>Parallel fills for the large scratch buffers of the criteria (fixed chunks; results never depend on the split).</summary>
internal static unsafe class CriteriaParallel
{
    private const int Chunk = 1 << 16;

    /// <summary>Sets every element of <paramref name="span"/> to <paramref name="value"/>, in parallel when it is large.</summary>
    public static void Fill<T>(Span<T> span, T value)
        where T : unmanaged
    {
        if (span.Length < 4 * Chunk)
        {
            span.Fill(value);
            return;
        }

        fixed (T* p = span)
        {
            var job = new FillJob<T> { P = p, Length = span.Length, Value = value };
            WorkPool.Run(ref job, (span.Length + Chunk - 1) / Chunk);
        }
    }

    private struct FillJob<T> : IChunkJob
        where T : unmanaged
    {
        public T* P;
        public int Length;
        public T Value;

        public readonly void Run(int chunk)
        {
            int start = chunk * Chunk;
            new Span<T>(P + start, Math.Min(Chunk, Length - start)).Fill(Value);
        }
    }
}

/// <summary>SplitMix64: a small, fast, seedable generator (Steele, Lea and Flood 2014) for the samplers; no allocation.</summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>An integer uniform in [0, <paramref name="bound"/>) (multiply-shift; bias below 2⁻³²).</summary>
    public int NextBelow(int bound) => (int)Math.BigMul(Next(), (ulong)bound, out _);

    /// <summary>The seed of image <paramref name="image"/> derived from a call's seed (independent streams per image).</summary>
    public static ulong ForImage(ulong seed, int image)
    {
        var g = new SplitMix64(seed ^ (0xD1B54A32D192ED03UL * (ulong)(image + 1)));
        return g.Next();
    }
}
