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

    private static long s_nonTemporalStoreBytes = 8L << 20;

    /// <summary>
    /// Gradients of at least this many bytes (default 8 MiB) are written with non-temporal stores by the element-wise
    /// losses' reduced calls (Mean or Sum, no weight: the training step), when the gradient is 64-byte aligned (torch's
    /// tensors are) on x86. Such a store skips the caches and the read of each line before it is written, which an
    /// ordinary store makes: for a loss that reads two arrays and writes one, a quarter less memory traffic. Below the
    /// threshold the gradient stays in cache for whoever reads it next. The values are the same bits either way.
    /// 0 streams every aligned gradient; <see cref="long.MaxValue"/> none.
    /// </summary>
    public static long NonTemporalStoreBytes
    {
        get => s_nonTemporalStoreBytes;
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, $"NonTemporalStoreBytes must be >= 0, got {value}.");
            }

            s_nonTemporalStoreBytes = value;
        }
    }

    /// <summary>
    /// Describes the SIMD tier the float and double kernels run on this machine, e.g. "512-bit (hardware) +
    /// Vector&lt;T&gt; 256-bit (8 x float)" or "Vector&lt;T&gt; 256-bit (8 x float)", then which vector widths the
    /// hardware accelerates. The LOSSKIT_SIMD_TIER environment variable (auto, 512, vector, scalar), read once at
    /// startup, forces a tier for testing; a forced 512-bit tier without AVX-512 reads "512-bit (software)".
    /// Throws <see cref="InvalidOperationException"/> when that variable holds anything else.
    /// </summary>
    public static string SimdDescription => Internal.SimdTier.Description;
}
