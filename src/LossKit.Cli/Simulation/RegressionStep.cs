using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LossKit.Cli.Simulation;

/// <summary>
/// The simulation's update, fused into one pass over the cases: B ← B − η·(2 − IoU(B, target))·∇ on (x, y, w, h)
/// (cxcywh; the IoU is plain inter/union, and a disjoint box's 0 or a degenerate box's NaN counts as 0), returning the new
/// error Σ |Δx| + |Δy| + |Δw| + |Δh| over the finite cases. float64 on AVX runs four boxes per step (a 4×4 transpose
/// turns four (x, y, w, h) rows into x, y, w, h vectors); everything else runs the scalar loop. Both give the same boxes;
/// the error sums differ only in summation order.
/// </summary>
internal static class RegressionStep
{
    public static double Apply<T>(T[] boxes, T[] target, T[] gradient, double eta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double) && Avx.IsSupported)
        {
            double[] b = (double[])(object)boxes, t = (double[])(object)target, g = (double[])(object)gradient;
            int vectorBoxes = boxes.Length / 16 * 4;
            return Avx4(b, t, g, vectorBoxes, eta) + Scalar<double>(b, t, g, vectorBoxes, eta);
        }

        return Scalar(boxes, target, gradient, 0, eta);
    }

    /// <summary>Scalar loop over cases <paramref name="first"/> … end.</summary>
    internal static double Scalar<T>(T[] boxes, T[] target, T[] gradient, int first, double eta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5), two = T.CreateTruncating(2), rate = T.CreateTruncating(eta);
        double total = 0;
        for (int k = 4 * first; k < boxes.Length; k += 4)
        {
            T bx = boxes[k], by = boxes[k + 1], bw = boxes[k + 2], bh = boxes[k + 3];
            T tx = target[k], ty = target[k + 1], tw = target[k + 2], th = target[k + 3];
            T iw = T.Min(bx + half * bw, tx + half * tw) - T.Max(bx - half * bw, tx - half * tw);
            T ih = T.Min(by + half * bh, ty + half * th) - T.Max(by - half * bh, ty - half * th);
            T inter = T.Max(iw, T.Zero) * T.Max(ih, T.Zero);
            T iou = inter / (bw * bh + tw * th - inter);
            T step = rate * (two - (T.IsFinite(iou) ? iou : T.Zero));
            bx -= step * gradient[k];
            by -= step * gradient[k + 1];
            bw -= step * gradient[k + 2];
            bh -= step * gradient[k + 3];
            boxes[k] = bx;
            boxes[k + 1] = by;
            boxes[k + 2] = bw;
            boxes[k + 3] = bh;
            double e = double.CreateTruncating(T.Abs(bx - tx) + T.Abs(by - ty) + T.Abs(bw - tw) + T.Abs(bh - th));
            if (double.IsFinite(e))
            {
                total += e;
            }
        }

        return total;
    }

    /// <summary>The first <paramref name="count"/> cases (a multiple of 4), four at a time.</summary>
    private static double Avx4(double[] boxes, double[] target, double[] gradient, int count, double eta)
    {
        ref double b = ref MemoryMarshal.GetArrayDataReference(boxes);
        ref double t = ref MemoryMarshal.GetArrayDataReference(target);
        ref double g = ref MemoryMarshal.GetArrayDataReference(gradient);
        Vector256<double> half = Vector256.Create(0.5), two = Vector256.Create(2.0), rate = Vector256.Create(eta);
        Vector256<double> total = Vector256<double>.Zero;
        for (nint k = 0; k < 4 * (nint)count; k += 16)
        {
            Transpose(ref Unsafe.Add(ref b, k), out Vector256<double> x, out Vector256<double> y, out Vector256<double> w, out Vector256<double> h);
            Transpose(ref Unsafe.Add(ref t, k), out Vector256<double> tx, out Vector256<double> ty, out Vector256<double> tw, out Vector256<double> th);
            Transpose(ref Unsafe.Add(ref g, k), out Vector256<double> gx, out Vector256<double> gy, out Vector256<double> gw, out Vector256<double> gh);
            // vminpd/vmaxpd return the second operand when either is NaN; a NaN box stays NaN whatever its step.
            Vector256<double> iw = Avx.Min(x + half * w, tx + half * tw) - Avx.Max(x - half * w, tx - half * tw);
            Vector256<double> ih = Avx.Min(y + half * h, ty + half * th) - Avx.Max(y - half * h, ty - half * th);
            Vector256<double> inter = Avx.Max(iw, Vector256<double>.Zero) * Avx.Max(ih, Vector256<double>.Zero);
            Vector256<double> iou = inter / (w * h + tw * th - inter);
            // iou − iou is 0 exactly when iou is finite.
            iou = Vector256.ConditionalSelect(Vector256.Equals(iou - iou, Vector256<double>.Zero), iou, Vector256<double>.Zero);
            Vector256<double> step = rate * (two - iou);
            x -= step * gx;
            y -= step * gy;
            w -= step * gw;
            h -= step * gh;
            Vector256<double> e = Vector256.Abs(x - tx) + Vector256.Abs(y - ty) + Vector256.Abs(w - tw) + Vector256.Abs(h - th);
            total += Vector256.ConditionalSelect(Vector256.Equals(e - e, Vector256<double>.Zero), e, Vector256<double>.Zero);
            Store(ref Unsafe.Add(ref b, k), x, y, w, h);
        }

        return Vector256.Sum(total);
    }

    /// <summary>Loads four (x, y, w, h) rows and returns the columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref double rows, out Vector256<double> x, out Vector256<double> y, out Vector256<double> w, out Vector256<double> h)
    {
        Vector256<double> r0 = Vector256.LoadUnsafe(ref rows), r1 = Vector256.LoadUnsafe(ref rows, 4);
        Vector256<double> r2 = Vector256.LoadUnsafe(ref rows, 8), r3 = Vector256.LoadUnsafe(ref rows, 12);
        Vector256<double> xw01 = Avx.UnpackLow(r0, r1), yh01 = Avx.UnpackHigh(r0, r1);
        Vector256<double> xw23 = Avx.UnpackLow(r2, r3), yh23 = Avx.UnpackHigh(r2, r3);
        x = Avx.Permute2x128(xw01, xw23, 0x20);
        w = Avx.Permute2x128(xw01, xw23, 0x31);
        y = Avx.Permute2x128(yh01, yh23, 0x20);
        h = Avx.Permute2x128(yh01, yh23, 0x31);
    }

    /// <summary>Writes the columns back as four (x, y, w, h) rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref double rows, Vector256<double> x, Vector256<double> y, Vector256<double> w, Vector256<double> h)
    {
        Vector256<double> lo0 = Avx.Permute2x128(x, w, 0x20), hi0 = Avx.Permute2x128(x, w, 0x31);
        Vector256<double> lo1 = Avx.Permute2x128(y, h, 0x20), hi1 = Avx.Permute2x128(y, h, 0x31);
        // lo0 = [x0, x1, w0, w1], lo1 = [y0, y1, h0, h1]: unpack gives rows 0 and 1; hi* give rows 2 and 3.
        Avx.UnpackLow(lo0, lo1).StoreUnsafe(ref rows);
        Avx.UnpackHigh(lo0, lo1).StoreUnsafe(ref rows, 4);
        Avx.UnpackLow(hi0, hi1).StoreUnsafe(ref rows, 8);
        Avx.UnpackHigh(hi0, hi1).StoreUnsafe(ref rows, 12);
    }
}
