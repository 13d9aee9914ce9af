using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LossKit.Internal;

/// <summary>
/// Transposes between records of four consecutive values in memory (boxes: x1, y1, x2, y2) and four
/// <see cref="Vector{T}"/> holding one component each, lane i = record i, so box kernels can compute on whole vectors
/// of boxes. x86 with 128- or 256-bit <see cref="Vector{T}"/> uses unpack/shuffle transposes; any other width or
/// instruction set (AVX-512 width, Arm, float types other than float/double) goes element by element, which computes
/// the same thing more slowly.
/// </summary>
internal static unsafe class Quads
{
    /// <summary>Reads <see cref="Vector{T}"/>.Count records from <paramref name="p"/> (4·Count values) as four component vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<T>(T* p, out Vector<T> c0, out Vector<T> c1, out Vector<T> c2, out Vector<T> c3)
        where T : unmanaged
    {
        if (Vector<byte>.Count == 32 && Avx.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                // 8 records. The low 128-bit half of r_i gets record i, the high half record i + 4; each half is then the
                // classic SSE 4×4 transpose of records 0–3 (low) and 4–7 (high).
                float* f = (float*)p;
                Vector256<float> r0 = Vector256.Create(Sse.LoadVector128(f), Sse.LoadVector128(f + 16));
                Vector256<float> r1 = Vector256.Create(Sse.LoadVector128(f + 4), Sse.LoadVector128(f + 20));
                Vector256<float> r2 = Vector256.Create(Sse.LoadVector128(f + 8), Sse.LoadVector128(f + 24));
                Vector256<float> r3 = Vector256.Create(Sse.LoadVector128(f + 12), Sse.LoadVector128(f + 28));
                Transpose4x4(r0, r1, r2, r3, out Vector256<float> a, out Vector256<float> b, out Vector256<float> c, out Vector256<float> d);
                (c0, c1, c2, c3) = (a.AsVector().As<float, T>(), b.AsVector().As<float, T>(), c.AsVector().As<float, T>(), d.AsVector().As<float, T>());
                return;
            }

            if (typeof(T) == typeof(double))
            {
                // 4 records. t0 = (rec0.c0, rec0.c1 | rec2.c0, rec2.c1), t1 the same for records 1 and 3; unpacking the
                // pair gives (rec0, rec1 | rec2, rec3) of c0 and of c1. t2, t3 do the same with components 2 and 3.
                double* d = (double*)p;
                Vector256<double> t0 = Vector256.Create(Sse2.LoadVector128(d), Sse2.LoadVector128(d + 8));
                Vector256<double> t1 = Vector256.Create(Sse2.LoadVector128(d + 4), Sse2.LoadVector128(d + 12));
                Vector256<double> t2 = Vector256.Create(Sse2.LoadVector128(d + 2), Sse2.LoadVector128(d + 10));
                Vector256<double> t3 = Vector256.Create(Sse2.LoadVector128(d + 6), Sse2.LoadVector128(d + 14));
                c0 = Avx.UnpackLow(t0, t1).AsVector().As<double, T>();
                c1 = Avx.UnpackHigh(t0, t1).AsVector().As<double, T>();
                c2 = Avx.UnpackLow(t2, t3).AsVector().As<double, T>();
                c3 = Avx.UnpackHigh(t2, t3).AsVector().As<double, T>();
                return;
            }
        }
        else if (Vector<byte>.Count == 16 && Sse2.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                // 4 records, one per 128-bit load: the SSE 4×4 transpose.
                float* f = (float*)p;
                Transpose4x4(Sse.LoadVector128(f), Sse.LoadVector128(f + 4), Sse.LoadVector128(f + 8), Sse.LoadVector128(f + 12),
                    out Vector128<float> a, out Vector128<float> b, out Vector128<float> c, out Vector128<float> d);
                (c0, c1, c2, c3) = (a.AsVector().As<float, T>(), b.AsVector().As<float, T>(), c.AsVector().As<float, T>(), d.AsVector().As<float, T>());
                return;
            }

            if (typeof(T) == typeof(double))
            {
                // 2 records, each two 128-bit halves: pair record 0's half with record 1's.
                double* d = (double*)p;
                Vector128<double> lo0 = Sse2.LoadVector128(d), hi0 = Sse2.LoadVector128(d + 2);
                Vector128<double> lo1 = Sse2.LoadVector128(d + 4), hi1 = Sse2.LoadVector128(d + 6);
                c0 = Sse2.UnpackLow(lo0, lo1).AsVector().As<double, T>();
                c1 = Sse2.UnpackHigh(lo0, lo1).AsVector().As<double, T>();
                c2 = Sse2.UnpackLow(hi0, hi1).AsVector().As<double, T>();
                c3 = Sse2.UnpackHigh(hi0, hi1).AsVector().As<double, T>();
                return;
            }
        }

        LoadByElement(p, out c0, out c1, out c2, out c3);
    }

    /// <summary><see cref="Load{T}"/> element by element: any width, any instruction set.</summary>
    internal static void LoadByElement<T>(T* p, out Vector<T> c0, out Vector<T> c1, out Vector<T> c2, out Vector<T> c3)
        where T : unmanaged
    {
        Vector<T> v0 = default, v1 = default, v2 = default, v3 = default;
        for (int i = 0; i < Vector<T>.Count; i++)
        {
            Unsafe.Add(ref Unsafe.As<Vector<T>, T>(ref v0), i) = p[4 * i];
            Unsafe.Add(ref Unsafe.As<Vector<T>, T>(ref v1), i) = p[4 * i + 1];
            Unsafe.Add(ref Unsafe.As<Vector<T>, T>(ref v2), i) = p[4 * i + 2];
            Unsafe.Add(ref Unsafe.As<Vector<T>, T>(ref v3), i) = p[4 * i + 3];
        }

        (c0, c1, c2, c3) = (v0, v1, v2, v3);
    }

    /// <summary>Writes four component vectors as <see cref="Vector{T}"/>.Count records to <paramref name="p"/> (the inverse of <see cref="Load{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(T* p, Vector<T> c0, Vector<T> c1, Vector<T> c2, Vector<T> c3)
        where T : unmanaged
    {
        if (Vector<byte>.Count == 32 && Avx.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                // The in-lane transpose turns components into records i (low half) and i + 4 (high half); the 128-bit
                // permutes then pair records (0, 1), (2, 3), (4, 5), (6, 7) for full-width stores.
                Transpose4x4(c0.As<T, float>().AsVector256(), c1.As<T, float>().AsVector256(), c2.As<T, float>().AsVector256(), c3.As<T, float>().AsVector256(),
                    out Vector256<float> s0, out Vector256<float> s1, out Vector256<float> s2, out Vector256<float> s3);
                float* f = (float*)p;
                Avx.Store(f, Avx.Permute2x128(s0, s1, 0x20));
                Avx.Store(f + 8, Avx.Permute2x128(s2, s3, 0x20));
                Avx.Store(f + 16, Avx.Permute2x128(s0, s1, 0x31));
                Avx.Store(f + 24, Avx.Permute2x128(s2, s3, 0x31));
                return;
            }

            if (typeof(T) == typeof(double))
            {
                // u0 = (rec0.c0, rec0.c1 | rec2.c0, rec2.c1), u1 the same for records 1 and 3; u2, u3 carry components
                // 2 and 3. Record i is the low (i < 2) or high half of its pair joined with the matching half of the other.
                Vector256<double> a = c0.As<T, double>().AsVector256(), b = c1.As<T, double>().AsVector256();
                Vector256<double> c = c2.As<T, double>().AsVector256(), e = c3.As<T, double>().AsVector256();
                Vector256<double> u0 = Avx.UnpackLow(a, b), u1 = Avx.UnpackHigh(a, b), u2 = Avx.UnpackLow(c, e), u3 = Avx.UnpackHigh(c, e);
                double* d = (double*)p;
                Avx.Store(d, Avx.Permute2x128(u0, u2, 0x20));
                Avx.Store(d + 4, Avx.Permute2x128(u1, u3, 0x20));
                Avx.Store(d + 8, Avx.Permute2x128(u0, u2, 0x31));
                Avx.Store(d + 12, Avx.Permute2x128(u1, u3, 0x31));
                return;
            }
        }
        else if (Vector<byte>.Count == 16 && Sse2.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                Transpose4x4(c0.As<T, float>().AsVector128(), c1.As<T, float>().AsVector128(), c2.As<T, float>().AsVector128(), c3.As<T, float>().AsVector128(),
                    out Vector128<float> s0, out Vector128<float> s1, out Vector128<float> s2, out Vector128<float> s3);
                float* f = (float*)p;
                Sse.Store(f, s0);
                Sse.Store(f + 4, s1);
                Sse.Store(f + 8, s2);
                Sse.Store(f + 12, s3);
                return;
            }

            if (typeof(T) == typeof(double))
            {
                Vector128<double> a = c0.As<T, double>().AsVector128(), b = c1.As<T, double>().AsVector128();
                Vector128<double> c = c2.As<T, double>().AsVector128(), e = c3.As<T, double>().AsVector128();
                double* d = (double*)p;
                Sse2.Store(d, Sse2.UnpackLow(a, b));
                Sse2.Store(d + 2, Sse2.UnpackLow(c, e));
                Sse2.Store(d + 4, Sse2.UnpackHigh(a, b));
                Sse2.Store(d + 6, Sse2.UnpackHigh(c, e));
                return;
            }
        }

        StoreByElement(p, c0, c1, c2, c3);
    }

    /// <summary><see cref="Store{T}"/> element by element: any width, any instruction set.</summary>
    internal static void StoreByElement<T>(T* p, Vector<T> c0, Vector<T> c1, Vector<T> c2, Vector<T> c3)
        where T : unmanaged
    {
        for (int i = 0; i < Vector<T>.Count; i++)
        {
            p[4 * i] = c0[i];
            p[4 * i + 1] = c1[i];
            p[4 * i + 2] = c2[i];
            p[4 * i + 3] = c3[i];
        }
    }

    /// <summary>
    /// 4×4 transpose within each 128-bit lane: rows r0..r3 (four values each) become columns. u0 = (r0[0], r1[0], r0[1],
    /// r1[1]) and u2 the same of r2, r3; shuffle 0x44 takes elements 0, 1 of each (column 0), 0xEE elements 2, 3
    /// (column 1); u1, u3 give columns 2 and 3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        out Vector256<float> k0, out Vector256<float> k1, out Vector256<float> k2, out Vector256<float> k3)
    {
        Vector256<float> u0 = Avx.UnpackLow(r0, r1), u1 = Avx.UnpackHigh(r0, r1), u2 = Avx.UnpackLow(r2, r3), u3 = Avx.UnpackHigh(r2, r3);
        k0 = Avx.Shuffle(u0, u2, 0x44);
        k1 = Avx.Shuffle(u0, u2, 0xEE);
        k2 = Avx.Shuffle(u1, u3, 0x44);
        k3 = Avx.Shuffle(u1, u3, 0xEE);
    }

    /// <inheritdoc cref="Transpose4x4(Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}, out Vector256{float}, out Vector256{float}, out Vector256{float}, out Vector256{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3,
        out Vector128<float> k0, out Vector128<float> k1, out Vector128<float> k2, out Vector128<float> k3)
    {
        Vector128<float> u0 = Sse.UnpackLow(r0, r1), u1 = Sse.UnpackHigh(r0, r1), u2 = Sse.UnpackLow(r2, r3), u3 = Sse.UnpackHigh(r2, r3);
        k0 = Sse.Shuffle(u0, u2, 0x44);
        k1 = Sse.Shuffle(u0, u2, 0xEE);
        k2 = Sse.Shuffle(u1, u3, 0x44);
        k3 = Sse.Shuffle(u1, u3, 0xEE);
    }
}
