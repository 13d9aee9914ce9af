using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit;

/// <summary>
/// Base of the losses over a batch of rows of class scores with one class index per row (cross-entropy, NLL,
/// multi-margin): shapes <c>input [batch × classes]</c> row-major, <c>target [batch]</c>.
/// </summary>
/// <remarks>
/// Entry points as for every LossKit loss: <c>Forward</c> (with <see cref="Reduction.None"/> the per-row losses go to
/// <c>destination</c>, length batch, and their sum is returned), <c>Backward</c> (scalar upstream for Mean/Sum,
/// per-row upstream for None; writes d loss / d input, batch × classes) and the fused <c>ForwardBackward</c>.
/// Targets must be in [0, classes) or equal the ignore index where the loss has one (ArgumentOutOfRangeException
/// naming <c>target</c> otherwise).
/// </remarks>
public abstract class ClassIndexLoss<T> : ILayoutKernel<T, ClassIndexCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _hasIgnoreIndex;
    private ClassIndexLoss<float>? _float32;

    private protected ClassIndexLoss(Reduction reduction, ReadOnlyMemory<T> weight, int? ignoreIndex)
    {
        Reduction = Reductions.Validate(reduction);
        Weight = weight;
        _hasIgnoreIndex = ignoreIndex.HasValue;
        IgnoreIndex = ignoreIndex ?? int.MinValue;
        foreach (T w in weight.Span)
        {
            if (!T.IsFinite(w))
            {
                ThrowHelper.OutOfRange(nameof(weight), w, $"Class weights must be finite, got {w}.");
            }
        }
    }

    /// <summary>How per-row losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>Per-class weights (length = classes), or empty for none.</summary>
    public ReadOnlyMemory<T> Weight { get; }

    /// <summary>Target value whose rows contribute nothing (PyTorch's ignore_index; −100 by default).</summary>
    public int IgnoreIndex { get; }

    /// <summary>Computes the loss value.</summary>
    /// <param name="input">Scores, batch × classes, row-major.</param>
    /// <param name="target">Class index per row.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="classes">Columns (≥ 1).</param>
    /// <param name="destination">With <see cref="Reduction.None"/>: receives the per-row losses (required, length batch).</param>
    /// <param name="avgFactor">mmdetection's avg_factor: Mean divides by avgFactor + float32 eps instead (not with Sum).</param>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, Span<T> destination = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, new ClassIndexCall<T>(input, target, batch, classes), destination, avgFactor);

    /// <summary>Writes d loss / d input (batch × classes) for a scalar upstream gradient (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, T upstream, Span<T> gradient, double? avgFactor = null) =>
        EntryPoints.Backward(this, new ClassIndexCall<T>(input, target, batch, classes), upstream, gradient, avgFactor);

    /// <summary>Writes d loss / d input (batch × classes) for a per-row upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, ReadOnlySpan<T> upstream, Span<T> gradient) =>
        EntryPoints.Backward(this, new ClassIndexCall<T>(input, target, batch, classes), upstream, gradient);

    /// <summary>Computes the loss and d loss / d input (upstream 1) in one pass.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, Span<T> gradient, Span<T> destination = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, new ClassIndexCall<T>(input, target, batch, classes), gradient, destination, avgFactor);

    /// <summary>
    /// Tensor form: <paramref name="input"/> [batch, classes] with <paramref name="target"/> [batch], or PyTorch's dense
    /// form [N, C, d1, …, dk] with target [N, d1, …, dk] (class scores along dimension 1, e.g. a segmentation map);
    /// the values (None) have the target's shape.
    /// </summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, TensorSpan<T> destination = default, double? avgFactor = null) =>
        input.Rank > 2
            ? DenseClassIndex.Forward(this, input, target, EntryPoints.Destination(destination, target.Lengths, Reduction), avgFactor)
            : EntryPoints.Forward(this, ClassIndexCall<T>.From(input, target), EntryPoints.Destination(destination, target.Lengths, Reduction), avgFactor);

    /// <summary>Tensor form of the scalar-upstream backward (rows or the dense [N, C, d1, …, dk] form).</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, T upstream, TensorSpan<T> gradient, double? avgFactor = null)
    {
        if (input.Rank > 2)
        {
            DenseClassIndex.Backward(this, input, target, upstream, default, perValue: false, gradient, avgFactor);
            return;
        }

        EntryPoints.Backward(this, ClassIndexCall<T>.From(input, target), upstream, EntryPoints.Gradient(gradient, input.Lengths), avgFactor);
    }

    /// <summary>Tensor form of the per-value-upstream backward (upstream of the target's shape).</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient)
    {
        if (input.Rank > 2)
        {
            DenseClassIndex.Backward(this, input, target, T.Zero, EntryPoints.Upstream(upstream, target.Lengths), perValue: true, gradient, null);
            return;
        }

        EntryPoints.Backward(this, ClassIndexCall<T>.From(input, target), EntryPoints.Upstream(upstream, target.Lengths), EntryPoints.Gradient(gradient, input.Lengths));
    }

    /// <summary>Tensor form of the fused pass (rows or the dense [N, C, d1, …, dk] form).</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, TensorSpan<T> gradient, TensorSpan<T> destination = default, double? avgFactor = null) =>
        input.Rank > 2
            ? DenseClassIndex.ForwardBackward(this, input, target, gradient, EntryPoints.Destination(destination, target.Lengths, Reduction), avgFactor)
            : EntryPoints.ForwardBackward(this, ClassIndexCall<T>.From(input, target), EntryPoints.Gradient(gradient, input.Lengths),
                EntryPoints.Destination(destination, target.Lengths, Reduction), avgFactor);

    /// <summary>The loss's kernel: Σ of per-row losses; stores them and writes the scaled gradient when asked.</summary>
    private protected abstract double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream);

    /// <summary>The Mean denominator: the row count, or Σ of the non-ignored targets' weights for the weighted means.</summary>
    /// <summary>The same loss (same parameters) in float32: the kernel of narrow element types (<see cref="Float32Path"/>).</summary>
    private protected abstract ClassIndexLoss<float> CreateFloat32();

    /// <summary>The float32 instance, created on first use.</summary>
    internal ClassIndexLoss<float> Float32 => _float32 ??= CreateFloat32();

    private protected virtual double MeanDenominator(ReadOnlySpan<int> target, int keptRows) => target.Length;

    /// <summary>Σ over non-ignored rows of the target class's weight (PyTorch's weighted-mean denominator).</summary>
    private protected double SumOfTargetWeights(ReadOnlySpan<int> target, int keptRows)
    {
        if (Weight.IsEmpty)
        {
            return keptRows;
        }

        ReadOnlySpan<T> w = Weight.Span;
        double sum = 0;
        foreach (int t in target)
        {
            if (!(_hasIgnoreIndex && t == IgnoreIndex))
            {
                sum += double.CreateTruncating(w[t]);
            }
        }

        return sum;
    }

    /// <summary>Checks the class weights against the classes; the per-class weights' length must match.</summary>
    private protected void CheckClassWeights(int classes)
    {
        if (!Weight.IsEmpty)
        {
            ThrowHelper.CheckLength(Weight.Length, classes, "weight", "one weight per class");
        }
    }

    double ILayoutKernel<T, ClassIndexCall<T>>.Prepare(scoped in ClassIndexCall<T> call, double? avgFactor)
    {
        CheckClassWeights(call.Classes);
        int kept = DataChecks.ClassIndices(call.Target, call.Classes, IgnoreIndex, _hasIgnoreIndex);
        return avgFactor.HasValue ? Reductions.MeanDenominator(Reduction, call.Batch, avgFactor) : MeanDenominator(call.Target, kept);
    }

    double ILayoutKernel<T, ClassIndexCall<T>>.Run(scoped in ClassIndexCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Run(call.Input, call.Target, call.Batch, call.Classes, values, gradient, scale, upstream);

    double ILayoutKernel<T, ClassIndexCall<T>>.RunWidened(scoped in ClassIndexCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run(Float32, call, values, gradient, scale, upstream);
}
