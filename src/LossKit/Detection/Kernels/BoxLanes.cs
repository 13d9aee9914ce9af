using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LossKit.Detection;

/// <summary>Lane helpers of the box kernels.</summary>
internal static class BoxLanes<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lanes where <paramref name="x"/> is finite (x − x is 0; NaN for ±∞ and NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Finite(Vector<T> x) => Vector.Equals(x - x, Vector<T>.Zero);

    /// <summary>mask ? a : b per lane for a compare mask: one blend instruction on x86 (which reads each lane's sign bit,
    /// the same thing for all-ones/all-zeros lanes), the bitwise select elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Select(Vector<T> mask, Vector<T> a, Vector<T> b)
    {
        if (Vector<byte>.Count == 32 && Avx.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                return Avx.BlendVariable(b.As<T, float>().AsVector256(), a.As<T, float>().AsVector256(), mask.As<T, float>().AsVector256()).AsVector().As<float, T>();
            }

            if (typeof(T) == typeof(double))
            {
                return Avx.BlendVariable(b.As<T, double>().AsVector256(), a.As<T, double>().AsVector256(), mask.As<T, double>().AsVector256()).AsVector().As<double, T>();
            }
        }
        else if (Vector<byte>.Count == 16 && Sse41.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                return Sse41.BlendVariable(b.As<T, float>().AsVector128(), a.As<T, float>().AsVector128(), mask.As<T, float>().AsVector128()).AsVector().As<float, T>();
            }

            if (typeof(T) == typeof(double))
            {
                return Sse41.BlendVariable(b.As<T, double>().AsVector128(), a.As<T, double>().AsVector128(), mask.As<T, double>().AsVector128()).AsVector().As<double, T>();
            }
        }

        return Vector.ConditionalSelect(mask, a, b);
    }
}
