using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>
/// Box areas and IoU-family overlap values between xyxy boxes, as torchvision.ops computes them: the pairwise N × M
/// matrices (<c>box_iou</c>, <c>generalized_box_iou</c>, <c>distance_box_iou</c>, <c>complete_box_iou</c>) and the
/// element-wise (aligned) forms, which are the same formulas applied to pairs (i, i). Values only; the losses carry
/// gradients.
/// </summary>
/// <remarks>
/// <para>Formulas (torchvision 0.14): inter = Π clamp(min(x2) − max(x1), 0); union = area₁ + area₂ − inter;
/// IoU = inter / union (no eps: two zero-area boxes give 0/0 = NaN, as torchvision); GIoU = IoU − (C − union)/C with C
/// the enclosing area (clamped sides); DIoU = IoU − ρ²/(c_w² + c_h² + eps); CIoU = DIoU − α·v with
/// v = (4/π²)(atan(w₁/h₁) − atan(w₂/h₂))², α = v/(1 − IoU + v + eps).</para>
/// <para>The matrices are blocked (tiles of the second set transposed to structure-of-arrays on the stack), SIMD over
/// the second set, and split across cores by rows of the first set; they allocate nothing.</para>
/// </remarks>
public static class BoxOps
{
    private const int Tile = 256;

    /// <summary>Areas (x2 − x1)(y2 − y1) of xyxy boxes (torchvision <c>box_area</c>).</summary>
    public static void Area<T>(ReadOnlySpan<T> boxes, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BoxConvert.CheckBoxes(boxes.Length, nameof(boxes));
        ThrowHelper.CheckDestination(destination.Length, boxes.Length / 4, nameof(destination));
        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> areas = wide.Output(boxes.Length / 4);
            Area(wide.Read(boxes), areas);
            WideScope<T>.Narrow(areas, destination);

            return;
        }

        for (int i = 0; i < boxes.Length / 4; i++)
        {
            destination[i] = (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]);
        }
    }

    /// <summary>Pairwise IoU (torchvision <c>box_iou</c>): destination[i·M + j] for boxes1 [N × 4], boxes2 [M × 4].</summary>
    public static void Iou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> => Pairwise(boxes1, boxes2, destination, BoxLossKind.IoU, 0);

    /// <summary>Pairwise generalized IoU (torchvision <c>generalized_box_iou</c>).</summary>
    public static void GeneralizedIou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> => Pairwise(boxes1, boxes2, destination, BoxLossKind.GIoU, 0);

    /// <summary>Pairwise distance IoU (torchvision <c>distance_box_iou</c>, eps 1e-7).</summary>
    public static void DistanceIou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination, double eps = 1e-7)
        where T : unmanaged, IFloatingPointIeee754<T> => Pairwise(boxes1, boxes2, destination, BoxLossKind.DIoU, eps);

    /// <summary>Pairwise complete IoU (torchvision <c>complete_box_iou</c>, eps 1e-7).</summary>
    public static void CompleteIou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination, double eps = 1e-7)
        where T : unmanaged, IFloatingPointIeee754<T> => Pairwise(boxes1, boxes2, destination, BoxLossKind.CIoU, eps);

    /// <summary>Element-wise IoU of aligned pairs (boxes1[i], boxes2[i]); the diagonal of <see cref="Iou{T}"/>.</summary>
    public static void ElementwiseIou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> => Aligned(boxes1, boxes2, destination, BoxLossKind.IoU, 0);

    /// <summary>Element-wise generalized IoU of aligned pairs.</summary>
    public static void ElementwiseGeneralizedIou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> => Aligned(boxes1, boxes2, destination, BoxLossKind.GIoU, 0);

    /// <summary>Element-wise distance IoU of aligned pairs.</summary>
    public static void ElementwiseDistanceIou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination, double eps = 1e-7)
        where T : unmanaged, IFloatingPointIeee754<T> => Aligned(boxes1, boxes2, destination, BoxLossKind.DIoU, eps);

    /// <summary>Element-wise complete IoU of aligned pairs.</summary>
    public static void ElementwiseCompleteIou<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination, double eps = 1e-7)
        where T : unmanaged, IFloatingPointIeee754<T> => Aligned(boxes1, boxes2, destination, BoxLossKind.CIoU, eps);

    private static void Aligned<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination, BoxLossKind kind, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BoxConvert.CheckBoxes(boxes1.Length, nameof(boxes1));
        ThrowHelper.CheckLength(boxes2.Length, boxes1.Length, nameof(boxes2), "one box per box of boxes1");
        ThrowHelper.CheckAtLeast(eps, 0, nameof(eps));
        int n = boxes1.Length / 4;
        ThrowHelper.CheckDestination(destination.Length, n, nameof(destination));
        if (Float32Path.Applies<T>())
        {
            Widen(boxes1, boxes2, destination[..n], kind, eps, pairwise: false);
            return;
        }

        T e = T.CreateTruncating(eps);
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> a = boxes1.Slice(4 * i, 4), b = boxes2.Slice(4 * i, 4);
            destination[i] = Pair(kind, e, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], AspectAngle(a), AspectAngle(b));
        }
    }

    private static unsafe void Pairwise<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination, BoxLossKind kind, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BoxConvert.CheckBoxes(boxes1.Length, nameof(boxes1));
        BoxConvert.CheckBoxes(boxes2.Length, nameof(boxes2));
        ThrowHelper.CheckAtLeast(eps, 0, nameof(eps));
        int n = boxes1.Length / 4, m = boxes2.Length / 4;
        ThrowHelper.CheckDestination(destination.Length, ThrowHelper.Product(nameof(destination), "boxes1 × boxes2 (the pairwise matrix)", n, m), nameof(destination));
        if (n == 0 || m == 0)
        {
            return;
        }

        if (Float32Path.Applies<T>())
        {
            Widen(boxes1, boxes2, destination[..(n * m)], kind, eps, pairwise: true);
            return;
        }

        fixed (T* a = boxes1, b = boxes2, d = destination)
        {
            var kernel = new PairwiseKernel<T> { A = a, B = b, D = d, M = m, Kind = kind, Eps = T.CreateTruncating(eps) };
            RowDriver.Run(ref kernel, n, Math.Max(m, 1) * 8);
        }
    }

    /// <summary>The float32 path of a narrow element type: the values computed in float32 from widened boxes, rounded once.</summary>
    private static void Widen<T>(ReadOnlySpan<T> boxes1, ReadOnlySpan<T> boxes2, Span<T> destination, BoxLossKind kind, double eps, bool pairwise)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        Span<float> values = wide.Output(destination.Length);
        if (pairwise)
        {
            Pairwise(wide.Read(boxes1), wide.Read(boxes2), values, kind, eps);
        }
        else
        {
            Aligned(wide.Read(boxes1), wide.Read(boxes2), values, kind, eps);
        }

        WideScope<T>.Narrow(values, destination);
    }

    /// <summary>atan(w/h) of a box, CIoU's aspect angle.</summary>
    private static T AspectAngle<T>(ReadOnlySpan<T> box)
        where T : IFloatingPointIeee754<T> => T.Atan((box[2] - box[0]) / (box[3] - box[1]));

    /// <summary>One pair, scalar: the reference formulas in torchvision's order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Pair<T>(BoxLossKind kind, T eps, T ax1, T ay1, T ax2, T ay2, T bx1, T by1, T bx2, T by2, T angleA, T angleB)
        where T : IFloatingPointIeee754<T>
    {
        T w = T.Max(T.Min(ax2, bx2) - T.Max(ax1, bx1), T.Zero);
        T h = T.Max(T.Min(ay2, by2) - T.Max(ay1, by1), T.Zero);
        T inter = w * h;
        T union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
        T iou = inter / union;
        if (kind == BoxLossKind.IoU)
        {
            return iou;
        }

        T cw = T.Max(T.Max(ax2, bx2) - T.Min(ax1, bx1), T.Zero);
        T ch = T.Max(T.Max(ay2, by2) - T.Min(ay1, by1), T.Zero);
        if (kind == BoxLossKind.GIoU)
        {
            T area = cw * ch;
            return iou - (area - union) / area;
        }

        T two = T.CreateTruncating(2);
        T diagonal = cw * cw + ch * ch + eps;
        T dx = (ax1 + ax2) / two - (bx1 + bx2) / two, dy = (ay1 + ay2) / two - (by1 + by2) / two;
        T diou = iou - (dx * dx + dy * dy) / diagonal;
        if (kind == BoxLossKind.DIoU)
        {
            return diou;
        }

        T da = angleA - angleB;
        T v = T.CreateTruncating(4.0 / (Math.PI * Math.PI)) * (da * da);
        T alpha = v / (T.One - iou + v + eps);
        return diou - alpha * v;
    }

    /// <summary>Rows [start, end) of boxes1 against all of boxes2, tile by tile.</summary>
    private unsafe struct PairwiseKernel<T> : IRowKernel
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* A, B, D;
        public int M;
        public BoxLossKind Kind;
        public T Eps;

        [SkipLocalsInit]
        public readonly double Run(int start, int end)
        {
            // Structure-of-arrays copy of one tile of boxes2: x1, y1, x2, y2, area, centre x, centre y, aspect angle.
            T* soa = stackalloc T[8 * Tile];
            T two = T.CreateTruncating(2);
            for (int j0 = 0; j0 < M; j0 += Tile)
            {
                int count = Math.Min(Tile, M - j0);
                for (int j = 0; j < count; j++)
                {
                    T* b = B + 4L * (j0 + j);
                    soa[j] = b[0];
                    soa[Tile + j] = b[1];
                    soa[2 * Tile + j] = b[2];
                    soa[3 * Tile + j] = b[3];
                    soa[4 * Tile + j] = (b[2] - b[0]) * (b[3] - b[1]);
                    soa[5 * Tile + j] = (b[0] + b[2]) / two;
                    soa[6 * Tile + j] = (b[1] + b[3]) / two;
                    soa[7 * Tile + j] = Kind == BoxLossKind.CIoU ? T.Atan((b[2] - b[0]) / (b[3] - b[1])) : T.Zero;
                }

                for (int i = start; i < end; i++)
                {
                    RowTile(A + 4L * i, soa, D + (long)i * M + j0, count);
                }
            }

            return 0;
        }

        private readonly void RowTile(T* a, T* soa, T* dst, int count)
        {
            T ax1 = a[0], ay1 = a[1], ax2 = a[2], ay2 = a[3];
            T angleA = Kind == BoxLossKind.CIoU ? T.Atan((ax2 - ax1) / (ay2 - ay1)) : T.Zero;
            int j = 0;
            if (VMath.IsVectorized<T>())
            {
                T two = T.CreateTruncating(2);
                Vector<T> vax1 = new(ax1), vay1 = new(ay1), vax2 = new(ax2), vay2 = new(ay2);
                Vector<T> areaA = new((ax2 - ax1) * (ay2 - ay1));
                Vector<T> cxA = new((ax1 + ax2) / two), cyA = new((ay1 + ay2) / two), vAngleA = new(angleA);
                Vector<T> eps = new(Eps), fourOverPi2 = new(T.CreateTruncating(4.0 / (Math.PI * Math.PI)));
                for (; j <= count - Vector<T>.Count; j += Vector<T>.Count)
                {
                    Vector<T> bx1 = Vector.Load(soa + j), by1 = Vector.Load(soa + Tile + j);
                    Vector<T> bx2 = Vector.Load(soa + 2 * Tile + j), by2 = Vector.Load(soa + 3 * Tile + j);
                    Vector<T> w = Vector.Max(Vector.Min(vax2, bx2) - Vector.Max(vax1, bx1), Vector<T>.Zero);
                    Vector<T> h = Vector.Max(Vector.Min(vay2, by2) - Vector.Max(vay1, by1), Vector<T>.Zero);
                    Vector<T> inter = w * h;
                    Vector<T> union = areaA + Vector.Load(soa + 4 * Tile + j) - inter;
                    Vector<T> r = inter / union;
                    if (Kind != BoxLossKind.IoU)
                    {
                        Vector<T> cw = Vector.Max(Vector.Max(vax2, bx2) - Vector.Min(vax1, bx1), Vector<T>.Zero);
                        Vector<T> ch = Vector.Max(Vector.Max(vay2, by2) - Vector.Min(vay1, by1), Vector<T>.Zero);
                        if (Kind == BoxLossKind.GIoU)
                        {
                            Vector<T> area = cw * ch;
                            r -= (area - union) / area;
                        }
                        else
                        {
                            Vector<T> iou = r;
                            Vector<T> dx = cxA - Vector.Load(soa + 5 * Tile + j), dy = cyA - Vector.Load(soa + 6 * Tile + j);
                            r = iou - (dx * dx + dy * dy) / (cw * cw + ch * ch + eps);
                            if (Kind == BoxLossKind.CIoU)
                            {
                                Vector<T> da = vAngleA - Vector.Load(soa + 7 * Tile + j);
                                Vector<T> v = fourOverPi2 * (da * da);
                                r -= v / (Vector<T>.One - iou + v + eps) * v;
                            }
                        }
                    }

                    r.Store(dst + j);
                }
            }

            for (; j < count; j++)
            {
                dst[j] = Pair(Kind, Eps, ax1, ay1, ax2, ay2, soa[j], soa[Tile + j], soa[2 * Tile + j], soa[3 * Tile + j], angleA, soa[7 * Tile + j]);
            }
        }
    }
}
