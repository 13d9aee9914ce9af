namespace LossKit;

/// <summary>Process-wide settings of the LossKit kernels.</summary>
public static class LossKitSettings
{
    private static int s_maxDegreeOfParallelism = Environment.ProcessorCount;

    /// <summary>
    /// The most threads one call may use (default: the processor count). Results do not depend on it: kernels chunk
    /// their work by input size only. 1 runs everything on the calling thread.
    /// </summary>
    public static int MaxDegreeOfParallelism
    {
        get => s_maxDegreeOfParallelism;
        set
        {
            if (value < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "MaxDegreeOfParallelism must be >= 1.");
            }

            s_maxDegreeOfParallelism = value;
        }
    }

    /// <summary>Describes the SIMD width the kernels use on this machine, e.g. "Vector&lt;T&gt; 256-bit (8 x float)".</summary>
    public static string SimdDescription =>
        System.Numerics.Vector.IsHardwareAccelerated
            ? $"Vector<T> {System.Numerics.Vector<byte>.Count * 8}-bit ({System.Numerics.Vector<float>.Count} x float); "
              + $"Vector128 {System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated}, Vector256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, "
              + $"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}"
            : "scalar (no hardware SIMD)";
}
