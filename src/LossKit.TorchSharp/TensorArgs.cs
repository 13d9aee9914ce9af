using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using LossKit.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>
/// How the bridge reads torch tensors: checks (device, dtype, rank) with messages that name the parameter and the value,
/// one contiguous copy for a non-contiguous tensor, and spans straight over torch's memory (no copy) for contiguous
/// CPU tensors.
/// </summary>
internal static class TensorArgs
{
    /// <summary>Throws <see cref="NotSupportedException"/> naming the device unless <paramref name="t"/> lives on the CPU.</summary>
    public static void CheckCpu(Tensor t, string name)
    {
        if (t.device_type != DeviceType.CPU)
        {
            throw new NotSupportedException(
                $"LossKit runs on the CPU: {name} is on device '{t.device}'. Move it with .cpu() (LossKit has no {t.device_type} kernels).");
        }
    }

    /// <summary>The element type name as torch prints it (float32, float64, float16, int64, …).</summary>
    public static string DType(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Int64 => "int64",
        ScalarType.Int32 => "int32",
        ScalarType.Int16 => "int16",
        ScalarType.Int8 => "int8",
        ScalarType.Byte => "uint8",
        ScalarType.Bool => "bool",
        _ => t.ToString(),
    };

    /// <summary>The shape as torch prints it: [2, 3].</summary>
    public static string Shape(Tensor t) => "[" + string.Join(", ", Sizes(t)) + "]";

    /// <summary>
    /// The tensor's sizes, one native call per dimension. TorchSharp's <c>shape</c> (and <c>size()</c>) marshals a new
    /// callback delegate and pins an array on every call, which costs about 1.3 µs; a bridge call reads shapes several times.
    /// </summary>
    public static long[] Sizes(Tensor t)
    {
        int rank = (int)t.dim();
        if (rank == 0)
        {
            return [];
        }

        var sizes = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            sizes[i] = t.size(i);
        }

        return sizes;
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> have the same shape (no array made).</summary>
    public static bool SameSizes(Tensor a, Tensor b)
    {
        long rank = a.dim();
        if (rank != b.dim())
        {
            return false;
        }

        for (int i = 0; i < rank; i++)
        {
            if (a.size(i) != b.size(i))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="t"/> holds whole numbers (int64, int32, …).</summary>
    public static bool IsIndexType(ScalarType t) => t is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;

    /// <summary>A contiguous tensor with <paramref name="t"/>'s values: <paramref name="t"/> itself, or one copy.</summary>
    public static Tensor Contiguous(Tensor t) => t.is_contiguous() ? t : t.contiguous();

    /// <summary>A span over the elements of a contiguous CPU tensor (torch's memory, no copy).</summary>
    public static Span<T> Span<T>(Tensor t, string name)
        where T : unmanaged
    {
        long bytes = t.numel() * t.ElementSize;
        if (bytes > int.MaxValue)
        {
            throw new ArgumentException($"{name} has {t.numel()} elements ({bytes} bytes); the bridge reads tensors of at most 2 GiB", name);
        }

        return bytes == 0 ? default : MemoryMarshal.Cast<byte, T>(t.bytes);
    }

    /// <summary>A tensor's shape as LossKit tensor-span lengths.</summary>
    public static nint[] Lengths(Tensor t)
    {
        var lengths = new nint[(int)t.dim()];
        for (int i = 0; i < lengths.Length; i++)
        {
            lengths[i] = (nint)t.size(i);
        }

        return lengths;
    }

    /// <summary>Checks that <paramref name="t"/> has rank <paramref name="rank"/> (naming the parameter and the layout).</summary>
    public static void Rank(Tensor t, int rank, string name, string expected)
    {
        if (t.dim() != rank)
        {
            throw new ArgumentException($"{name} must have shape {expected}, got {Shape(t)}", name);
        }
    }

    /// <summary>Checks that <paramref name="t"/> has exactly the shape of <paramref name="of"/>.</summary>
    public static void SameShape(Tensor t, string name, Tensor of, string ofName)
    {
        if (!SameSizes(t, of))
        {
            throw new ArgumentException($"{name} must have the shape of {ofName} {Shape(of)}, got {Shape(t)}", name);
        }
    }

    /// <summary>Checks that <paramref name="t"/> is [rows] (one entry per row of the tensor named <paramref name="ofName"/>).</summary>
    public static void RowVector(Tensor t, string name, long rows, string ofName)
    {
        if (t.dim() != 1 || t.size(0) != rows)
        {
            throw new ArgumentException($"{name} must have shape [{rows}] (one entry per row of {ofName}), got {Shape(t)}", name);
        }
    }

    /// <summary>
    /// Class indices as int32: an int32 tensor is read in place; int64 (torch's default for indices) and the narrower
    /// integer types are converted into <paramref name="rented"/>, an array from the shared pool that the caller returns
    /// (no managed allocation per call once the pool is warm). Values beyond the int32 range saturate, so the loss's own
    /// index check rejects them.
    /// </summary>
    public static ReadOnlySpan<int> Indices(Tensor t, string name, ref int[]? rented)
    {
        switch (t.dtype)
        {
            case ScalarType.Int32:
                return Span<int>(t, name);
            case ScalarType.Int64:
            {
                ReadOnlySpan<long> src = Span<long>(t, name);
                rented = ArrayPool<int>.Shared.Rent(src.Length);
                Span<int> dst = rented.AsSpan(0, src.Length);
                Narrow(src, dst);
                return dst;
            }

            case ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte:
            {
                using Tensor wide = t.to_type(ScalarType.Int32);
                int n = (int)wide.numel();
                rented = ArrayPool<int>.Shared.Rent(n);
                Span<int> dst = rented.AsSpan(0, n);
                Span<int>(wide, name).CopyTo(dst);
                return dst;
            }

            default:
                throw new ArgumentException($"{name} must hold class indices (int64 or int32), got dtype {DType(t.dtype)}", name);
        }
    }

    /// <summary>The smallest chunk of <see cref="Narrow"/> on LossKit's worker threads.</summary>
    private const int NarrowChunk = 8192;

    /// <summary>
    /// int64 → int32, saturating at the int32 range (an index past it still fails the class check). After a training
    /// step the indices are usually cold in cache, and reading them is what this costs, so from two chunks on it runs on
    /// LossKit's worker threads (the result does not depend on how many).
    /// </summary>
    internal static unsafe void Narrow(ReadOnlySpan<long> source, Span<int> destination)
    {
        int size = Pointwise.ChunkSize(source.Length, NarrowChunk);
        int chunks = (int)(((long)source.Length + size - 1) / size);
        if (chunks < 2)
        {
            NarrowRange(source, destination);
            return;
        }

        fixed (long* s = source)
        fixed (int* d = destination)
        {
            var job = new NarrowJob(s, d, source.Length, size);
            WorkPool.Run(ref job, chunks);
        }
    }

    /// <summary>
    /// The sequential narrowing: a vector of each at a time (TensorPrimitives.ConvertSaturating runs this pair element
    /// by element).
    /// </summary>
    private static void NarrowRange(ReadOnlySpan<long> source, Span<int> destination)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref long s = ref MemoryMarshal.GetReference(source);
            ref int d = ref MemoryMarshal.GetReference(destination);
            var lo = new Vector<long>(int.MinValue);
            var hi = new Vector<long>(int.MaxValue);
            for (int step = Vector<int>.Count; i <= source.Length - step; i += step)
            {
                Vector<long> a = Vector.Min(Vector.Max(Vector.LoadUnsafe(ref s, (nuint)i), lo), hi);
                Vector<long> b = Vector.Min(Vector.Max(Vector.LoadUnsafe(ref s, (nuint)(i + Vector<long>.Count)), lo), hi);
                Vector.Narrow(a, b).StoreUnsafe(ref d, (nuint)i);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = (int)Math.Clamp(source[i], int.MinValue, int.MaxValue);
        }
    }

    private readonly unsafe struct NarrowJob(long* source, int* destination, int length, int size) : IChunkJob
    {
        public void Run(int chunk)
        {
            int start = chunk * size, count = Math.Min(size, length - start);
            NarrowRange(new ReadOnlySpan<long>(source + start, count), new Span<int>(destination + start, count));
        }
    }

    /// <summary>Returns an array rented by <see cref="Indices"/>.</summary>
    public static void Return(int[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }
}
