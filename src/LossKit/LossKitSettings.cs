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

    /// <summary>
    /// Describes the SIMD tier the float and double kernels run on this machine, e.g. "512-bit (hardware) +
    /// Vector&lt;T&gt; 256-bit (8 x float)" or "Vector&lt;T&gt; 256-bit (8 x float)", then which vector widths the
    /// hardware accelerates. The LOSSKIT_SIMD_TIER environment variable (auto, 512, vector, scalar), read once at
    /// startup, forces a tier for testing; a forced 512-bit tier without AVX-512 reads "512-bit (software)".
    /// Throws <see cref="InvalidOperationException"/> when that variable holds anything else.
    /// </summary>
    public static string SimdDescription => Internal.SimdTier.Description;
}
