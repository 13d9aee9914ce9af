using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

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
public abstract class ClassIndexLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _hasIgnoreIndex;

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
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, Span<T> destination = default, double? avgFactor = null)
    {
        double denominator = Validate(input, target, batch, classes, destination, default, Reduction == Reduction.None, false, avgFactor);
        double sum = Run(input, target, batch, classes, Reduction == Reduction.None ? destination : default, default, T.Zero, default);
        return Reductions.Finish<T>(Reduction, sum, denominator);
    }

    /// <summary>Writes d loss / d input (batch × classes) for a scalar upstream gradient (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, T upstream, Span<T> gradient, double? avgFactor = null)
    {
        Reductions.CheckUpstreamScalar(Reduction);
        double denominator = Validate(input, target, batch, classes, default, gradient, false, true, avgFactor);
        Run(input, target, batch, classes, default, gradient, Reductions.GradientScale(Reduction, upstream, denominator), default);
    }

    /// <summary>Writes d loss / d input (batch × classes) for a per-row upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, ReadOnlySpan<T> upstream, Span<T> gradient)
    {
        Reductions.CheckUpstreamSpan(Reduction, upstream.Length, batch);
        Validate(input, target, batch, classes, default, gradient, false, true, null);
        Run(input, target, batch, classes, default, gradient, T.One, upstream);
    }

    /// <summary>Computes the loss and d loss / d input (upstream 1) in one pass.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, Span<T> gradient, Span<T> destination = default, double? avgFactor = null)
    {
        double denominator = Validate(input, target, batch, classes, destination, gradient, Reduction == Reduction.None, true, avgFactor);
        double sum = Run(input, target, batch, classes, Reduction == Reduction.None ? destination : default, gradient,
            Reductions.GradientScale(Reduction, T.One, denominator), default);
        return Reductions.Finish<T>(Reduction, sum, denominator);
    }

    /// <summary>Tensor form: <paramref name="input"/> [batch, classes], <paramref name="target"/> [batch].</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, TensorSpan<T> destination = default)
    {
        (int batch, int classes) = Shape(input, target);
        return Forward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), batch, classes, TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, T upstream, TensorSpan<T> gradient)
    {
        (int batch, int classes) = Shape(input, target);
        TensorArgs.SameShape(gradient.Lengths, input.Lengths, nameof(gradient));
        Backward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), batch, classes, upstream, TensorArgs.Flat(gradient, nameof(gradient)));
    }

    /// <summary>Tensor form of the per-row-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient)
    {
        (int batch, int classes) = Shape(input, target);
        TensorArgs.SameShape(gradient.Lengths, input.Lengths, nameof(gradient));
        TensorArgs.SameShape(upstream.Lengths, target.Lengths, nameof(upstream));
        Backward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), batch, classes, TensorArgs.Flat(upstream, nameof(upstream)), TensorArgs.Flat(gradient, nameof(gradient)));
    }

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, TensorSpan<T> gradient, TensorSpan<T> destination = default)
    {
        (int batch, int classes) = Shape(input, target);
        TensorArgs.SameShape(gradient.Lengths, input.Lengths, nameof(gradient));
        return ForwardBackward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), batch, classes,
            TensorArgs.Flat(gradient, nameof(gradient)), TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>The loss's kernel: Σ of per-row losses; stores them and writes the scaled gradient when asked.</summary>
    private protected abstract double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream);

    /// <summary>The Mean denominator: the row count, or Σ of the non-ignored targets' weights for the weighted means.</summary>
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

    /// <summary>Checks shapes, destinations and targets; returns the Mean denominator.</summary>
    private protected double Validate(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, bool requireValues, bool requireGradient, double? avgFactor)
    {
        ThrowHelper.CheckDimension(batch, nameof(batch));
        if (classes < 1)
        {
            ThrowHelper.OutOfRange(nameof(classes), classes, $"classes must be >= 1, got {classes}.");
        }

        ThrowHelper.CheckMatrix(input.Length, batch, classes, nameof(input), nameof(batch), nameof(classes));
        ThrowHelper.CheckLength(target.Length, batch, nameof(target), "one class index per row");
        if (!Weight.IsEmpty)
        {
            ThrowHelper.CheckLength(Weight.Length, classes, "weight", "one weight per class");
        }

        if (requireValues)
        {
            ThrowHelper.CheckDestination(values.Length, batch, "destination");
        }

        if (requireGradient)
        {
            ThrowHelper.CheckDestination(gradient.Length, input.Length, nameof(gradient));
        }

        int kept = DataChecks.ClassIndices(target, classes, IgnoreIndex, _hasIgnoreIndex);
        return avgFactor.HasValue ? Reductions.MeanDenominator(Reduction, batch, avgFactor) : MeanDenominator(target, kept);
    }

    private static (int Batch, int Classes) Shape(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> target)
    {
        TensorArgs.Rank(input.Lengths, 2, nameof(input), "[batch, classes]");
        TensorArgs.Rank(target.Lengths, 1, nameof(target), "[batch]");
        if (target.Lengths[0] != input.Lengths[0])
        {
            ThrowHelper.Argument(nameof(target), $"target must have shape [{input.Lengths[0]}] to match input {TensorArgs.Shape(input.Lengths)}, got {TensorArgs.Shape(target.Lengths)}.");
        }

        return (checked((int)input.Lengths[0]), checked((int)input.Lengths[1]));
    }
}
