using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>
/// Drives a fast box operator over boxes [start, end): full <see cref="Vector{T}"/> blocks of boxes (transposed in and
/// out by <see cref="Quads"/>), then a scalar tail, each box weighted and written as <see cref="BoxKernel{T, TOp}"/>
/// writes it. Boxes the fast operator declines are recomputed by <see cref="Exact"/>, the dual-number kernel, after the
/// block's stores, so they overwrite the fast lanes' value and gradient; their losses are summed apart. Boxes in xywh
/// or cxcywh go to xyxy through <see cref="BoxConvert"/>'s conversion (the one the dual-number kernel uses), and the
/// xyxy gradient back through its chain rule.
/// </summary>
internal unsafe struct FastBoxKernel<T, TExact, TFast> : IRowKernel
    where T : unmanaged, IFloatingPointIeee754<T>
    where TExact : unmanaged, IBoxOp<T>
    where TFast : unmanaged, IFastBoxOp<T>
{
    public BoxKernel<T, TExact> Exact;
    public TFast Fast;

    public readonly double Run(int start, int end) => Exact.G == null ? Run<ValuePass>(start, end) : Run<GradientPass>(start, end);

    private readonly double Run<TPass>(int start, int end)
        where TPass : struct, IBoxPass
    {
        T* p = Exact.P, t = Exact.Target, weights = Exact.W, values = Exact.Values, g = Exact.G, up = Exact.Up;
        bool gradient = TPass.Gradient;
        BoxFormat format = Exact.Format;
        double total = 0, declined = 0;
        int r = start;
        if (VMath.IsVectorized<T>())
        {
            // Lane sums in double (float values are widened), added up once at the end of the chunk.
            Vector<double> sum = Vector<double>.Zero;
            for (; r <= end - Vector<T>.Count; r += Vector<T>.Count)
            {
                Quads.Load(p + 4L * r, out Vector<T> x1, out Vector<T> y1, out Vector<T> x2, out Vector<T> y2);
                Quads.Load(t + 4L * r, out Vector<T> gx1, out Vector<T> gy1, out Vector<T> gx2, out Vector<T> gy2);
                if (format != BoxFormat.Xyxy)
                {
                    BoxConvert.ToXyxy<Vector<T>, VectorArithmetic<T>>(format, ref x1, ref y1, ref x2, ref y2);
                    BoxConvert.ToXyxy<Vector<T>, VectorArithmetic<T>>(format, ref gx1, ref gy1, ref gx2, ref gy2);
                }

                Vector<T> ok = Fast.Loss<TPass>(x1, y1, x2, y2, gx1, gy1, gx2, gy2, out Vector<T> loss,
                    out Vector<T> g0, out Vector<T> g1, out Vector<T> g2, out Vector<T> g3);
                Vector<T> w = weights == null ? Vector<T>.One : Vector.Load(weights + r);
                Vector<T> value = loss * w;
                if (values != null)
                {
                    value.Store(values + r);
                }

                // Declined lanes contribute through the exact kernel below, not here.
                Vector<T> counted = value & ok;
                if (typeof(T) == typeof(float))
                {
                    Vector.Widen(counted.As<T, float>(), out Vector<double> low, out Vector<double> high);
                    sum += low + high;
                }
                else
                {
                    sum += counted.As<T, double>();
                }

                if (gradient)
                {
                    if (format != BoxFormat.Xyxy)
                    {
                        BoxConvert.XyxyGradientToFormat<Vector<T>, VectorArithmetic<T>>(format, ref g0, ref g1, ref g2, ref g3);
                    }

                    Vector<T> k = (up == null ? new Vector<T>(Exact.Scale) : Vector.Load(up + r)) * w;
                    Quads.Store(g + 4L * r, k * g0, k * g1, k * g2, k * g3);
                }

                if (!Vector.EqualsAll(ok.As<T, byte>(), Vector<byte>.AllBitsSet))
                {
                    for (int i = 0; i < Vector<T>.Count; i++)
                    {
                        // A valid lane's mask is all ones, which reads as NaN.
                        if (!T.IsNaN(ok[i]))
                        {
                            declined += Exact.Run(r + i, r + i + 1);
                        }
                    }
                }
            }

            total = Vector.Sum(sum);
        }

        // Scalar tail (everything when not vectorised): the same math one box at a time.
        for (; r < end; r++)
        {
            T* pb = p + 4L * r, tb = t + 4L * r;
            BoxConvert.ToXyxy(pb[0], pb[1], pb[2], pb[3], format, out T x1, out T y1, out T x2, out T y2);
            BoxConvert.ToXyxy(tb[0], tb[1], tb[2], tb[3], format, out T gx1, out T gy1, out T gx2, out T gy2);
            if (!Fast.Loss<TPass>(x1, y1, x2, y2, gx1, gy1, gx2, gy2, out T loss, out T g0, out T g1, out T g2, out T g3))
            {
                declined += Exact.Run(r, r + 1);
                continue;
            }

            T w = weights == null ? T.One : weights[r];
            T value = loss * w;
            if (values != null)
            {
                values[r] = value;
            }

            total += double.CreateTruncating(value);
            if (gradient)
            {
                BoxConvert.XyxyGradientToFormat<T, ScalarArithmetic<T>>(format, ref g0, ref g1, ref g2, ref g3);
                T k = (up == null ? Exact.Scale : up[r]) * w;
                T* gb = g + 4L * r;
                gb[0] = k * g0;
                gb[1] = k * g1;
                gb[2] = k * g2;
                gb[3] = k * g3;
            }
        }

        return total + declined;
    }
}
