using System.Numerics;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>One predicted box (duals seeded in the caller's format, converted to xyxy) and its target (values).</summary>
internal readonly struct BoxPair<T>
    where T : IFloatingPointIeee754<T>
{
    public readonly Dual<T> X1, Y1, X2, Y2, W, H;
    public readonly T GX1, GY1, GX2, GY2, GW, GH;

    public BoxPair(Dual<T> x1, Dual<T> y1, Dual<T> x2, Dual<T> y2, Dual<T> w, Dual<T> h, T gx1, T gy1, T gx2, T gy2, T gw, T gh)
    {
        (X1, Y1, X2, Y2, W, H) = (x1, y1, x2, y2, w, h);
        (GX1, GY1, GX2, GY2, GW, GH) = (gx1, gy1, gx2, gy2, gw, gh);
    }
}

/// <summary>The per-box formula of a box loss on dual numbers.</summary>
internal interface IBoxOp<T>
    where T : IFloatingPointIeee754<T>
{
    Dual<T> Loss(in BoxPair<T> b);
}

/// <summary>Drives a box operator over boxes [start, end): seeds, converts, evaluates, writes value and gradient.</summary>
internal unsafe struct BoxKernel<T, TOp> : IRowKernel
    where T : unmanaged, IFloatingPointIeee754<T>
    where TOp : unmanaged, IBoxOp<T>
{
    public TOp Op;
    public T* P, Target, W, Values, G, Up;
    public T Scale;
    public BoxFormat Format;

    public readonly double Run(int start, int end)
    {
        double total = 0;
        for (int r = start; r < end; r++)
        {
            T* p = P + 4L * r;
            T* t = Target + 4L * r;
            Dual<T> a = Dual<T>.Seed(p[0], 0), b = Dual<T>.Seed(p[1], 1), c = Dual<T>.Seed(p[2], 2), d = Dual<T>.Seed(p[3], 3);
            (Dual<T> x1, Dual<T> y1, Dual<T> x2, Dual<T> y2) = (a, b, c, d);
            BoxConvert.ToXyxy<Dual<T>, DualArithmetic<T>>(Format, ref x1, ref y1, ref x2, ref y2);
            BoxConvert.ToXyxy(t[0], t[1], t[2], t[3], Format, out T gx1, out T gy1, out T gx2, out T gy2);
            bool native = Format != BoxFormat.Xyxy;
            var pair = new BoxPair<T>(x1, y1, x2, y2, native ? c : x2 - x1, native ? d : y2 - y1,
                gx1, gy1, gx2, gy2, native ? t[2] : gx2 - gx1, native ? t[3] : gy2 - gy1);
            Dual<T> loss = Op.Loss(pair);
            T w = W == null ? T.One : W[r];
            T value = loss.V * w;
            if (Values != null)
            {
                Values[r] = value;
            }

            total += double.CreateTruncating(value);
            if (G != null)
            {
                T k = (Up == null ? Scale : Up[r]) * w;
                T* g = G + 4L * r;
                g[0] = k * loss.D0;
                g[1] = k * loss.D1;
                g[2] = k * loss.D2;
                g[3] = k * loss.D3;
            }
        }

        return total;
    }
}
