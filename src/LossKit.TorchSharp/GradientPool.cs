using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>
/// Gradient tensors (and the 0-d losses of reduced calls) over reused memory. A bridge node hands its gradient to
/// autograd, which keeps it (as a leaf's <c>.grad</c>, or until the next node has used it), so each step needs a new
/// tensor. libtorch's CPU allocator serves each from glibc's <c>posix_memalign</c>, which here returns new addresses
/// step after step (the freed block cannot hold the aligned request that follows), so every step writes its gradient
/// into memory not touched before. This pool wraps 64-byte aligned native blocks as torch tensors
/// (<c>torch::from_blob</c> through LibTorchSharp) whose deleter, run by libtorch when the last reference to the
/// storage goes, returns the block here; the next step of the same size writes where the last one did. Blocks are keyed
/// by byte size; at most <see cref="PerSize"/> idle blocks of a size and <see cref="MaxIdleBytes"/> in all are kept,
/// the rest are freed.
/// </summary>
internal static unsafe class GradientPool
{
    /// <summary>Idle blocks kept per size (steady state needs one or two: the gradient in use and the one being freed).</summary>
    public const int PerSize = 4;

    /// <summary>Idle bytes kept over all sizes.</summary>
    public const long MaxIdleBytes = 256L << 20;

    // Each block starts with a 64-byte header holding the size of its payload, so the deleter (given the payload's
    // address only) finds its bucket.
    private const int Header = 64;

    private static readonly Dictionary<long, Stack<nint>> Idle = [];
    private static readonly object Gate = new();
    private static long s_idleBytes;
    private static int s_unavailable;

    /// <summary>Bytes held by idle blocks now.</summary>
    public static long IdleBytes
    {
        get
        {
            lock (Gate)
            {
                return s_idleBytes;
            }
        }
    }

    /// <summary>An uninitialised CPU tensor of <paramref name="like"/>'s shape and dtype over pooled memory.</summary>
    public static Tensor Empty(Tensor like)
    {
        if (Volatile.Read(ref s_unavailable) != 0)
        {
            return empty_like(like);
        }

        long[] shape = TensorArgs.Sizes(like);
        nint payload = Rent(like.numel() * like.ElementSize);
        fixed (long* dims = shape)
        {
            return Adopt(payload, dims, shape.Length, like.dtype) ?? empty_like(like);
        }
    }

    /// <summary>
    /// A 0-d CPU tensor holding <paramref name="value"/> (float or double) over pooled memory: the loss a reduced call
    /// returns. One native call, where <c>torch.tensor</c> dispatches an allocation and a fill.
    /// </summary>
    public static Tensor Scalar<T>(T value)
        where T : unmanaged
    {
        ScalarType dtype = typeof(T) == typeof(float) ? ScalarType.Float32 : ScalarType.Float64;
        if (Volatile.Read(ref s_unavailable) == 0)
        {
            nint payload = Rent(sizeof(T));
            *(T*)payload = value;
            if (Adopt(payload, null, 0, dtype) is { } t)
            {
                return t;
            }
        }

        return typeof(T) == typeof(float) ? torch.tensor((float)(object)value) : torch.tensor((double)(object)value);
    }

    /// <summary>
    /// Wraps the rented <paramref name="payload"/> as a tensor whose deleter returns it here; null (the block freed) when
    /// LibTorchSharp lacks the entry point (then torch's allocator serves from now on) or libtorch refuses.
    /// </summary>
    private static Tensor? Adopt(nint payload, long* dims, int rank, ScalarType dtype)
    {
        nint handle;
        try
        {
            handle = THSTensor_new(payload, &Return, dims, rank, (sbyte)dtype, (sbyte)dtype, 0, -1, false);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref s_unavailable, 1);
            handle = 0;
        }

        if (handle == 0)
        {
            // Not adopted (libtorch's message, if any, stays in TorchSharp's error slot).
            Free(payload);
            return null;
        }

        return Tensor.UnsafeCreateTensor(handle);
    }

    private static nint Rent(long bytes)
    {
        lock (Gate)
        {
            if (Idle.TryGetValue(bytes, out Stack<nint>? stack) && stack.TryPop(out nint block))
            {
                s_idleBytes -= bytes;
                return block;
            }
        }

        byte* b = (byte*)NativeMemory.AlignedAlloc((nuint)(bytes + Header), Header);
        *(long*)b = bytes;
        return (nint)(b + Header);
    }

    /// <summary>libtorch's deleter: the storage over <paramref name="payload"/> has no references left.</summary>
    [UnmanagedCallersOnly]
    private static void Return(nint payload)
    {
        long bytes = *(long*)((byte*)payload - Header);
        lock (Gate)
        {
            if (s_idleBytes + bytes <= MaxIdleBytes)
            {
                if (!Idle.TryGetValue(bytes, out Stack<nint>? stack))
                {
                    Idle[bytes] = stack = new Stack<nint>(PerSize);
                }

                if (stack.Count < PerSize)
                {
                    stack.Push(payload);
                    s_idleBytes += bytes;
                    return;
                }
            }
        }

        Free(payload);
    }

    private static void Free(nint payload) => NativeMemory.AlignedFree((byte*)payload - Header);

    /// <summary>Frees every idle block (the memory of gradients no longer in use).</summary>
    public static void Trim()
    {
        lock (Gate)
        {
            foreach (Stack<nint> stack in Idle.Values)
            {
                while (stack.TryPop(out nint block))
                {
                    Free(block);
                }
            }

            s_idleBytes = 0;
        }
    }

    // LibTorchSharp's tensor-from-memory entry (torch::from_blob with a deleter), which TorchSharp's own array factories
    // use; TorchSharp has already loaded the library by the time a tensor exists.
    [DllImport("LibTorchSharp")]
    private static extern nint THSTensor_new(nint data, delegate* unmanaged<nint, void> deleter, long* sizes, int dimensions,
        sbyte scalarType, sbyte dtype, int deviceType, int deviceIndex, [MarshalAs(UnmanagedType.U1)] bool requiresGrad);
}
