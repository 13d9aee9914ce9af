using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.Layouts;

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
public abstract class BoxRegressionLoss<T> : ILayoutKernel<T, BoxCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The elements of work one box counts as when <see cref="RowDriver"/> sizes its chunks (from the shape only,
    /// so sums do not depend on the thread count).</summary>
    private const int WorkPerBox = 16;

    private BoxRegressionLoss<float>? _float32;
    private bool _fastKernels = true;

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
    internal bool FastKernels { get => _fastKernels; init => _fastKernels = value; }

    /// <summary>The same loss (same parameters) in float32: the kernel of narrow element types (<see cref="Float32Path"/>).</summary>
    private protected abstract BoxRegressionLoss<float> CreateFloat32();

    /// <summary>Computes the loss.</summary>
    /// <param name="predicted">Predicted boxes, N × 4 in <see cref="Format"/>.</param>
    /// <param name="target">Target boxes, N × 4 in <see cref="Format"/>.</param>
    /// <param name="destination">With None: receives the N per-box losses (required).</param>
    /// <param name="weight">Optional per-box weight (length N).</param>
    /// <param name="avgFactor">mmdetection's avg_factor for Mean (not with Sum).</param>
    /// <returns>The reduced loss (with None: the sum of the per-box losses).</returns>
    public T Forward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, new BoxCall<T>(predicted, target, weight), destination, avgFactor);

    /// <summary>Writes d loss / d predicted (N × 4, in <see cref="Format"/>) for a scalar upstream gradient (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, T upstream, Span<T> gradient, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, new BoxCall<T>(predicted, target, weight), upstream, gradient, avgFactor);

    /// <summary>Writes d loss / d predicted for a per-box upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> upstream, Span<T> gradient, ReadOnlySpan<T> weight = default) =>
        EntryPoints.Backward(this, new BoxCall<T>(predicted, target, weight), upstream, gradient);

    /// <summary>Loss and d loss / d predicted (upstream 1) in one pass.</summary>
    /// <returns>The reduced loss (with None: the sum of the per-box losses, whose gradient is written).</returns>
    public T ForwardBackward(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, Span<T> gradient, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, new BoxCall<T>(predicted, target, weight), gradient, destination, avgFactor);

    /// <summary>Tensor form: boxes [N, 4], destination (None) and weight [N].</summary>
    /// <inheritdoc cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T}, double?)"/>
    public T Forward(ReadOnlyTensorSpan<T> predicted, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, BoxCall<T>.From(predicted, target, weight), EntryPoints.Destination(destination, predicted.Lengths[..1], Reduction), avgFactor);

    /// <summary>Tensor form of the scalar-upstream backward: gradient [N, 4].</summary>
    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{T}, T, Span{T}, ReadOnlySpan{T}, double?)"/>
    public void Backward(ReadOnlyTensorSpan<T> predicted, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, BoxCall<T>.From(predicted, target, weight), upstream, EntryPoints.Gradient(gradient, predicted.Lengths), avgFactor);

    /// <summary>Tensor form of the per-box-upstream backward: upstream [N], gradient [N, 4].</summary>
    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T})"/>
    public void Backward(ReadOnlyTensorSpan<T> predicted, ReadOnlyTensorSpan<T> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default) =>
        EntryPoints.Backward(this, BoxCall<T>.From(predicted, target, weight), EntryPoints.Upstream(upstream, predicted.Lengths[..1]), EntryPoints.Gradient(gradient, predicted.Lengths));

    /// <summary>Tensor form of the fused pass: gradient [N, 4], destination (None) [N].</summary>
    /// <inheritdoc cref="ForwardBackward(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, ReadOnlySpan{T}, double?)"/>
    public T ForwardBackward(ReadOnlyTensorSpan<T> predicted, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient, TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, BoxCall<T>.From(predicted, target, weight), EntryPoints.Gradient(gradient, predicted.Lengths),
            EntryPoints.Destination(destination, predicted.Lengths[..1], Reduction), avgFactor);

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

    /// <summary>The loss's per-box formula on dual numbers: its kind, the base's convention, eps and format, and its own
    /// hyper-parameters.</summary>
    private protected abstract IoUFormulas<T> Formula();

    /// <summary>
    /// Checks the boxes when <see cref="Validates"/> and returns the Mean denominator: N, or avgFactor + float32 eps.
    /// torchvision defines the mean of zero boxes as 0 (its <c>0.0 * loss.sum()</c>): under that convention the
    /// denominator of an empty call is +∞, so the (zero) sum divides to 0 and the gradient scale is 0.
    /// </summary>
    double ILayoutKernel<T, BoxCall<T>>.Prepare(scoped in BoxCall<T> call, double? avgFactor)
    {
        if (Validates)
        {
            ValidateBoxes(call.Predicted, Format, "predicted");
            ValidateBoxes(call.Target, Format, "target");
        }

        double denominator = Reductions.MeanDenominator(Reduction, call.Count, avgFactor);
        return call.Count == 0 && Convention == BoxLossConvention.Torchvision ? double.PositiveInfinity : denominator;
    }

    /// <summary>
    /// The one place that picks the kernel: under the torchvision convention in float and double, the IoU (linear and
    /// square), GIoU, DIoU and CIoU formulas run their hand-written kernel (<see cref="TorchvisionIoU{T, TLoss}"/>), which
    /// hands the boxes it declines to the dual numbers; every other loss, convention or type (or
    /// <see cref="FastKernels"/> off) runs every box on the dual numbers. Chunked by <see cref="RowDriver"/> either way.
    /// </summary>
    unsafe double ILayoutKernel<T, BoxCall<T>>.Run(scoped in BoxCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        fixed (T* p = call.Predicted, t = call.Target, w = call.Weight, v = values, g = gradient, u = upstream)
        {
            var exact = new BoxKernel<T, IoUFormulas<T>>
            {
                Op = Formula(), P = p, Target = t, W = call.Weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v,
                G = gradient.IsEmpty ? null : g, Up = upstream.IsEmpty ? null : u, Scale = scale, Format = Format,
            };
            int n = call.Count;
            bool fast = FastKernels && Convention == BoxLossConvention.Torchvision && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
            return !fast ? RowDriver.Run(ref exact, n, WorkPerBox) : (exact.Op.Kind, exact.Op.Mode) switch
            {
                (BoxLossKind.IoU, IoULossMode.Linear) => Fast(exact, new TorchvisionIoU<T, IoULinearKind>(Eps), n),
                (BoxLossKind.IoU, IoULossMode.Square) => Fast(exact, new TorchvisionIoU<T, IoUSquareKind>(Eps), n),
                (BoxLossKind.GIoU, _) => Fast(exact, new TorchvisionIoU<T, GIoUKind>(Eps), n),
                (BoxLossKind.DIoU, _) => Fast(exact, new TorchvisionIoU<T, DIoUKind>(Eps), n),
                (BoxLossKind.CIoU, _) => Fast(exact, new TorchvisionIoU<T, CIoUKind>(Eps), n),
                _ => RowDriver.Run(ref exact, n, WorkPerBox),
            };
        }
    }

    double ILayoutKernel<T, BoxCall<T>>.RunWidened(scoped in BoxCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run(_float32 ??= Float32Twin(), call, values, gradient, scale, upstream);

    private BoxRegressionLoss<float> Float32Twin()
    {
        BoxRegressionLoss<float> twin = CreateFloat32();
        twin._fastKernels = _fastKernels;
        return twin;
    }

    /// <summary>The fast operator <paramref name="fast"/> where it holds, <paramref name="exact"/> for the boxes it declines.</summary>
    private static double Fast<TFast>(in BoxKernel<T, IoUFormulas<T>> exact, in TFast fast, int n)
        where TFast : unmanaged, IFastBoxOp<T>
    {
        var kernel = new FastBoxKernel<T, IoUFormulas<T>, TFast> { Exact = exact, Fast = fast };
        return RowDriver.Run(ref kernel, n, WorkPerBox);
    }
}
