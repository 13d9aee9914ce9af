using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LossKit.Internal;

/// <summary>
/// Which kernel tier runs, read once per process from the LOSSKIT_SIMD_TIER environment variable so that every tier
/// can be tested on any CPU:
/// <list type="bullet">
/// <item><c>auto</c> (or unset, or empty): the machine's best. The <see cref="Vector512{T}"/> blocks where Vector512 is
/// hardware-accelerated, the <see cref="Vector{T}"/> kernels where <see cref="Vector.IsHardwareAccelerated"/>, scalar
/// code otherwise.</item>
/// <item><c>512</c>: the Vector512 blocks and the Vector&lt;T&gt; kernels, whatever the hardware. Where Vector512 is not
/// accelerated (a CPU without AVX-512, or DOTNET_EnableAVX512=0) its operations run in software: the runtime's managed
/// fallback, two Vector256 halves (themselves in software where those are not accelerated), lane for lane the same
/// operations. The kernels reach x86 instructions only through <c>IsSupported</c> checks
/// (<see cref="VMath.PositivePart{T}(Vector512{T})"/>, <see cref="Quads"/>, <c>BoxLanes</c>), whose fallbacks are the
/// same math, so nothing hardware-only runs.</item>
/// <item><c>vector</c>: the Vector&lt;T&gt; kernels at the width the runtime chose (256 or 128 bits, software where not
/// accelerated), no Vector512 blocks.</item>
/// <item><c>scalar</c>: the scalar code everywhere, as on a machine without SIMD.</item>
/// </list>
/// The kernels test <see cref="VMath.IsVectorized{T}"/> and <see cref="VMath.IsWide{T}"/>, which read the
/// <c>static readonly</c> fields below: tier-1 code is compiled after this class is initialized, so the JIT treats
/// them as constants and drops the untaken paths, as it did for the IsHardwareAccelerated properties they replace (the
/// default tier's tier-1 kernel code is instruction for instruction what those properties gave).
/// The runtime's own code (System.Numerics.Tensors' TensorPrimitives, Vector512.Exp and Log inside the 512-bit blocks)
/// keeps choosing its width from the hardware.
/// <para>
/// Any other value is an error: the first kernel that dispatches on the tier, and
/// <see cref="LossKitSettings.SimdDescription"/>, throw an <see cref="InvalidOperationException"/> that names the
/// variable, its value and the values allowed. It is not thrown while the fields are initialized (that would surface
/// as a TypeInitializationException, on every later use too), and the value is checked before any work is spread over
/// threads (<see cref="WorkPool"/>), so the exception reaches the caller rather than ending a worker thread.
/// </para>
/// </summary>
internal static class SimdTier
{
    /// <summary>The environment variable read once at startup.</summary>
    public const string Variable = "LOSSKIT_SIMD_TIER";

    /// <summary>A tier requested through <see cref="Variable"/>.</summary>
    public enum Kind
    {
        Auto,
        Wide,
        Vector,
        Scalar,
    }

    /// <summary>The variable's value as the process started (null when unset).</summary>
    public static readonly string? Value = Environment.GetEnvironmentVariable(Variable);

    /// <summary>True when <see cref="Value"/> is not a tier; <see cref="Error"/> says so.</summary>
    public static readonly bool Invalid = !TryParse(Value, out _);

    /// <summary>The message for an invalid value, else null.</summary>
    public static readonly string? Error = Invalid ? InvalidMessage(Value) : null;

    /// <summary>The tier asked for (<see cref="Kind.Auto"/> when the value is invalid, which the kernels never run).</summary>
    public static readonly Kind Requested = TryParse(Value, out Kind kind) ? kind : Kind.Auto;

    /// <summary>The <see cref="Vector{T}"/> kernels run (for float and double).</summary>
    public static readonly bool VectorKernels = Requested switch
    {
        Kind.Wide or Kind.Vector => true,
        Kind.Scalar => false,
        _ => Vector.IsHardwareAccelerated,
    };

    /// <summary>The <see cref="Vector512{T}"/> blocks run too (for float and double).</summary>
    public static readonly bool WideKernels = Requested switch
    {
        Kind.Wide => true,
        Kind.Vector or Kind.Scalar => false,
        _ => Vector512.IsHardwareAccelerated,
    };

    /// <summary>
    /// Reads a tier: auto, 512, vector or scalar, case and surrounding blanks ignored; null, empty or blank is auto.
    /// </summary>
    public static bool TryParse(string? value, out Kind kind)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                kind = Kind.Auto;
                return true;
            case "512":
                kind = Kind.Wide;
                return true;
            case "vector":
                kind = Kind.Vector;
                return true;
            case "scalar":
                kind = Kind.Scalar;
                return true;
            default:
                kind = Kind.Auto;
                return false;
        }
    }

    /// <summary>The error for a value that is not a tier.</summary>
    public static string InvalidMessage(string? value) =>
        $"{Variable}='{value}' is not a SIMD tier: use auto (the default), 512, vector or scalar.";

    /// <summary>Throws the invalid-value error when there is one; folds to nothing in tier-1 code otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfInvalid()
    {
        if (Invalid)
        {
            ThrowInvalid();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowInvalid() => throw new InvalidOperationException(Error);

    /// <summary>What the kernels run, e.g. "512-bit (software) + Vector&lt;T&gt; 256-bit (8 x float)".</summary>
    public static string Description
    {
        get
        {
            ThrowIfInvalid();
            string vector = $"Vector<T> {Vector<byte>.Count * 8}-bit ({Vector<float>.Count} x float{(Vector.IsHardwareAccelerated ? "" : ", software")})";
            string kernels = WideKernels
                ? $"512-bit ({(Vector512.IsHardwareAccelerated ? "hardware" : "software")}) + {vector}"
                : VectorKernels ? vector
                : Vector.IsHardwareAccelerated ? "scalar" : "scalar (no hardware SIMD)";
            string forced = Requested == Kind.Auto ? "" : $"{Variable}={Value!.Trim()}; ";
            return $"{kernels}; {forced}hardware: Vector128 {Vector128.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, "
                + $"Vector512 {Vector512.IsHardwareAccelerated}";
        }
    }
}
