using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>Which reference library's formulation of an IoU-type loss to reproduce (they differ in eps placement,
/// clamping and CIoU's α).</summary>
public enum BoxLossConvention
{
    /// <summary>torchvision.ops (default): strict-overlap intersection (touching boxes get no gradient through it),
    /// union without eps, iou = inter / (union + eps), CIoU α detached, no gating, no clamp.</summary>
    Torchvision = 0,

    /// <summary>mmdetection: intersection sides clamped at 0; IoU/GIoU union = max(union, eps); DIoU/CIoU union + eps;
    /// CIoU eps added to both heights, α gated on IoU &gt; 0.5 without eps, and the result clamped to [−1, 1].</summary>
    MMDetection = 1,

    /// <summary>ultralytics bbox_iou: clamped sides, union + eps; with xyxy input eps is added to the heights only; with
    /// <see cref="BoxFormat.Cxcywh"/> input the raw widths and heights are used; CIoU α = v / (v − iou + (1 + eps)).</summary>
    Ultralytics = 2,
}

/// <summary>
/// Base of the box-regression losses: predicted boxes [N × 4] against target boxes [N × 4], one loss per box, and the
/// gradient with respect to the predicted boxes in the caller's <see cref="Format"/>.
/// </summary>
/// <remarks>
/// <para>Entry points as everywhere in LossKit: <c>Forward</c> (with <see cref="Reduction.None"/> the per-box losses go
/// to <c>destination</c>, length N, and their sum is returned), <c>Backward</c> (scalar upstream for Mean/Sum, per-box
/// upstream for None) and the fused <c>ForwardBackward</c>. Optional per-box <c>weight</c> multiplies each loss and
/// mmdetection's <c>avgFactor</c> replaces Mean's denominator (avgFactor + float32 eps).</para>
/// <para>Reductions follow the convention's library: default None; Mean of zero boxes is 0 under torchvision (its
/// <c>0.0 * loss.sum()</c>) and NaN under mmdetection and ultralytics (a plain mean); with avgFactor it is 0.</para>
/// <para>Gradients are the exact derivatives of the reference formula as PyTorch autograd takes them: ties between
/// predicted and target edges (identical or touching boxes) give half the gradient to each side, clamps pass the
/// gradient at their bound, detached terms (CIoU's α) are constants. They are computed in forward mode alongside the
/// value, in the caller's box format. Under the torchvision convention, the IoU (linear and square), GIoU, DIoU and
/// CIoU losses in float and double run a hand-written reverse-mode kernel over vectors of boxes instead and hand every
/// box it does not cover (an exact tie between a predicted and a target edge, a zero-size, inverted or non-finite box,
/// a non-finite result) to the forward-mode path, so the semantics above hold box by box: values are the same bits
/// (CIoU's aspect term aside, see <see cref="CIoULoss{T}"/>) and gradients agree to rounding.</para>
/// <para>Degenerate boxes are not rejected by default (as in the references): zero-size, inverted or disjoint boxes
/// give whatever the reference formula gives, which is finite except where the reference divides by zero (CIoU's
/// w/h with h = 0 under the torchvision convention gives NaN, as torchvision; the MMDetection and Ultralytics
/// conventions add eps to h). Pass <c>validate: true</c> to the constructor (or call <see cref="ValidateBoxes"/>) to
/// reject NaN and inverted boxes with their index instead.</para>
/// </remarks>
public abstract class BoxRegressionLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected BoxRegressionLoss(Reduction reduction, double eps, BoxFormat format, BoxLossConvention convention, bool validate)
    {
        Reduction = Reductions.Validate(reduction);
        Eps = ThrowHelper.CheckAtLeast(eps, 0.0, nameof(eps));
        Format = BoxConvert.CheckFormat(format, nameof(format));
        if (convention is not (BoxLossConvention.Torchvision or BoxLossConvention.MMDetection or BoxLossConvention.Ultralytics))
        {
            ThrowHelper.OutOfRange(nameof(convention), convention, "convention must be Torchvision, MMDetection or Ultralytics.");
        }

        Convention = convention;
        Validates = validate;
    }

    /// <summary>How per-box losses are reduced (default None, as torchvision).</summary>
    public Reduction Reduction { get; }

    /// <summary>The eps of the reference formula (torchvision 1e-7; mmdetection's configs use 1e-6).</summary>
    public double Eps { get; }

    /// <summary>The format of the predicted and target boxes, and of the returned gradient.</summary>
    public BoxFormat Format { get; }

    /// <summary>Which reference formulation is reproduced.</summary>
    public BoxLossConvention Convention { get; }

    /// <summary>Whether every call rejects NaN and inverted boxes (see <see cref="ValidateBoxes"/>).</summary>
    public bool Validates { get; }

    /// <summary>Whether losses with a hand-written kernel (<see cref="IFastBoxOp{T}"/>) use it; false runs every box on
    /// the dual numbers, the reference the fast kernels are tested against.</summary>
    internal bool FastKernels { get; init; } = true;

    /// <summary>Computes the loss.</summary>
    /// <param name="predicted">Predicted boxes, N × 4 in <see cref="Format"/>.</param>
    /// <param name="target">Target boxes, N × 4 in <see cref="Format"/>.</param>
    /// <param name="destination">With None: receives the N per-box losses (required).</param>
    /// <param name="weight">Optional per-box weight (length N).</param>
    /// <param name="avgFactor">mmdetection's avg_factor for Mean (not with Sum).</param>
    public T Forward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null)
    {
        double denominator = Validate(predicted, target, weight, destination, default, Reduction == Reduction.None, false, avgFactor);
        double sum = Run(predicted, target, weight, Reduction == Reduction.None ? destination : default, default, T.Zero, default);
        return Finish(sum, denominator, predicted.Length / 4);
    }

    /// <summary>Writes d loss / d predicted (N × 4, in <see cref="Format"/>) for a scalar upstream gradient.</summary>
    public void Backward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, T upstream, Span<T> gradient, ReadOnlySpan<T> weight = default, double? avgFactor = null)
    {
        Reductions.CheckUpstreamScalar(Reduction);
        double denominator = Validate(predicted, target, weight, default, gradient, false, true, avgFactor);
        Run(predicted, target, weight, default, gradient, Scale(upstream, denominator, predicted.Length / 4), default);
    }

    /// <summary>Writes d loss / d predicted for a per-box upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> upstream, Span<T> gradient, ReadOnlySpan<T> weight = default)
    {
        Reductions.CheckUpstreamSpan(Reduction, upstream.Length, predicted.Length / 4);
        Validate(predicted, target, weight, default, gradient, false, true, null);
        Run(predicted, target, weight, default, gradient, T.One, upstream);
    }

    /// <summary>Loss and gradient in one pass.</summary>
    public T ForwardBackward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, Span<T> gradient, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null)
    {
        double denominator = Validate(predicted, target, weight, destination, gradient, Reduction == Reduction.None, true, avgFactor);
        int n = predicted.Length / 4;
        double sum = Run(predicted, target, weight, Reduction == Reduction.None ? destination : default, gradient, Scale(T.One, denominator, n), default);
        return Finish(sum, denominator, n);
    }

    /// <summary>Tensor form: boxes [N, 4].</summary>
    public T Forward(ReadOnlyTensorSpan<T> predicted, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default)
    {
        CheckShapes(predicted, target);
        return Forward(TensorArgs.Flat(predicted, nameof(predicted)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>Tensor form of the fused pass: gradient [N, 4].</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> predicted, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient, TensorSpan<T> destination = default)
    {
        CheckShapes(predicted, target);
        TensorArgs.SameShape(gradient.Lengths, predicted.Lengths, nameof(gradient));
        return ForwardBackward(TensorArgs.Flat(predicted, nameof(predicted)), TensorArgs.Flat(target, nameof(target)),
            TensorArgs.Flat(gradient, nameof(gradient)), TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> predicted, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient)
    {
        CheckShapes(predicted, target);
        TensorArgs.SameShape(gradient.Lengths, predicted.Lengths, nameof(gradient));
        Backward(TensorArgs.Flat(predicted, nameof(predicted)), TensorArgs.Flat(target, nameof(target)), upstream, TensorArgs.Flat(gradient, nameof(gradient)));
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming <paramref name="paramName"/> and the box index if any box has a NaN
    /// or infinite coordinate or is inverted (negative width or height).
    /// </summary>
    public static void ValidateBoxes(ReadOnlySpan<T> boxes, BoxFormat format, string paramName = "boxes")
    {
        BoxConvert.CheckBoxes(boxes.Length, paramName);
        for (int i = 0; i < boxes.Length; i += 4)
        {
            T a = boxes[i], b = boxes[i + 1], c = boxes[i + 2], d = boxes[i + 3];
            if (!(T.IsFinite(a) && T.IsFinite(b) && T.IsFinite(c) && T.IsFinite(d)))
            {
                ThrowHelper.Argument(paramName, $"{paramName}[{i / 4}] = ({a}, {b}, {c}, {d}) has a NaN or infinite coordinate.");
            }

            BoxConvert.ToXyxy(a, b, c, d, format, out T x1, out T y1, out T x2, out T y2);
            if (x2 < x1 || y2 < y1)
            {
                ThrowHelper.Argument(paramName, $"{paramName}[{i / 4}] = ({a}, {b}, {c}, {d}) is inverted (x2 < x1 or y2 < y1 in xyxy).");
            }
        }
    }

    /// <summary>Runs the loss's kernel over the boxes.</summary>
    private protected abstract double Run(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream);

    /// <summary>Runs a box operator through the shared per-box driver.</summary>
    private protected unsafe double Run<TOp>(in TOp op, ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
        where TOp : unmanaged, IBoxOp<T>
    {
        fixed (T* p = predicted, t = target, w = weight, v = values, g = gradient, u = upstream)
        {
            var kernel = Kernel(op, p, t, weight.IsEmpty ? null : w, values.IsEmpty ? null : v, gradient.IsEmpty ? null : g, upstream.IsEmpty ? null : u, scale);
            return RowDriver.Run(ref kernel, predicted.Length / 4, 16);
        }
    }

    /// <summary>
    /// Runs the hand-written operator <paramref name="fast"/> where it holds and the dual-number operator
    /// <paramref name="exact"/> for the boxes it declines (or for all boxes when <see cref="FastKernels"/> is off);
    /// same chunking as <see cref="Run{TOp}"/>.
    /// </summary>
    private protected unsafe double Run<TOp, TFast>(in TOp exact, in TFast fast, ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
        where TOp : unmanaged, IBoxOp<T>
        where TFast : unmanaged, IFastBoxOp<T>
    {
        if (!FastKernels)
        {
            return Run(exact, predicted, target, weight, values, gradient, scale, upstream);
        }

        fixed (T* p = predicted, t = target, w = weight, v = values, g = gradient, u = upstream)
        {
            var kernel = new FastBoxKernel<T, TOp, TFast>
            {
                Exact = Kernel(exact, p, t, weight.IsEmpty ? null : w, values.IsEmpty ? null : v, gradient.IsEmpty ? null : g, upstream.IsEmpty ? null : u, scale),
                Fast = fast,
            };
            return RowDriver.Run(ref kernel, predicted.Length / 4, 16);
        }
    }

    private unsafe BoxKernel<T, TOp> Kernel<TOp>(in TOp op, T* p, T* t, T* w, T* v, T* g, T* u, T scale)
        where TOp : unmanaged, IBoxOp<T> =>
        new() { Op = op, P = p, Target = t, W = w, Values = v, G = g, Up = u, Scale = scale, Format = Format };

    /// <summary>torchvision's box losses define the mean of nothing as 0 (0·sum); mmdetection and ultralytics take a plain mean (NaN).</summary>
    private bool EmptyMeanIsZero(int n) => Reduction == Reduction.Mean && n == 0 && Convention == BoxLossConvention.Torchvision;

    private T Finish(double sum, double denominator, int n) =>
        EmptyMeanIsZero(n) ? T.Zero : Reductions.Finish<T>(Reduction, sum, denominator);

    private T Scale(T upstream, double denominator, int n) =>
        EmptyMeanIsZero(n) ? T.Zero : Reductions.GradientScale(Reduction, upstream, denominator);

    private double Validate(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient,
        bool requireValues, bool requireGradient, double? avgFactor)
    {
        BoxConvert.CheckBoxes(predicted.Length, nameof(predicted));
        int n = predicted.Length / 4;
        ThrowHelper.CheckLength(target.Length, predicted.Length, nameof(target), "one target box per predicted box");
        if (!weight.IsEmpty)
        {
            ThrowHelper.CheckLength(weight.Length, n, nameof(weight), "one weight per box");
        }

        if (requireValues)
        {
            ThrowHelper.CheckDestination(values.Length, n, "destination");
        }

        if (requireGradient)
        {
            ThrowHelper.CheckDestination(gradient.Length, predicted.Length, nameof(gradient));
        }

        if (Validates)
        {
            ValidateBoxes(predicted, Format, nameof(predicted));
            ValidateBoxes(target, Format, nameof(target));
        }

        return Reductions.MeanDenominator(Reduction, n, avgFactor);
    }

    private static void CheckShapes(in ReadOnlyTensorSpan<T> predicted, in ReadOnlyTensorSpan<T> target)
    {
        TensorArgs.Rank(predicted.Lengths, 2, nameof(predicted), "[N, 4]");
        if (predicted.Lengths[1] != 4)
        {
            ThrowHelper.Argument(nameof(predicted), $"predicted must have shape [N, 4], got {TensorArgs.Shape(predicted.Lengths)}.");
        }

        TensorArgs.SameShape(target.Lengths, predicted.Lengths, nameof(target));
    }
}

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
            BoxConvert.ToXyxy(a, b, c, d, Format, out Dual<T> x1, out Dual<T> y1, out Dual<T> x2, out Dual<T> y2);
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
