using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit;

/// <summary>
/// Base of the element-wise losses l(xᵢ, yᵢ) (regression, binary classification, hinge family): one kernel per loss,
/// and the entry points, validation, reductions and tensor overloads shared here.
/// </summary>
/// <remarks>
/// <para>Entry points (same inputs, same order): <c>Forward</c> returns the reduced value (with <see cref="Reduction.None"/>
/// the per-element values go to <c>destination</c> and their sum is returned); <c>Backward</c> writes d loss / d input for
/// a scalar upstream gradient (Mean/Sum) or a per-element one (None); <c>ForwardBackward</c> does both in one pass,
/// with upstream 1 (for None: the gradient of the sum of the per-element values).</para>
/// <para>The optional <c>weight</c> multiplies each element's loss (PyTorch's <c>weight</c> for the BCE losses; an
/// mmdetection-style element weight for the others); Mean still divides by the element count, as PyTorch does.
/// Empty input: Sum is 0, Mean is NaN (0/0), as in PyTorch. NaN in the input or target propagates to its element.</para>
/// </remarks>
public abstract class ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected ElementwiseLoss(Reduction reduction) => Reduction = Reductions.Validate(reduction);

    /// <summary>How per-element losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>Computes the loss value.</summary>
    /// <param name="input">Predictions (any shape, flattened).</param>
    /// <param name="target">Targets, same length as <paramref name="input"/>.</param>
    /// <param name="destination">With <see cref="Reduction.None"/>: receives the per-element losses (required).</param>
    /// <param name="weight">Optional per-element weight, same length as <paramref name="input"/>.</param>
    /// <param name="avgFactor">mmdetection's avg_factor: Mean divides by avgFactor + float32 eps instead of the element
    /// count (e.g. the number of positives); not allowed with Sum.</param>
    /// <returns>The reduced loss (with None: the sum of the per-element losses).</returns>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null)
    {
        Validate(input, target, weight, destination, default, requireValues: Reduction == Reduction.None, requireGradient: false);
        double denominator = Reductions.MeanDenominator(Reduction, input.Length, avgFactor);
        double sum = Run(input, target, weight, Reduction == Reduction.None ? destination : default, default, T.Zero, default);
        return Reductions.Finish<T>(Reduction, sum, denominator);
    }

    /// <summary>Writes d loss / d input given the scalar upstream gradient of the reduced loss (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, T upstream, Span<T> gradient, ReadOnlySpan<T> weight = default, double? avgFactor = null)
    {
        Reductions.CheckUpstreamScalar(Reduction);
        Validate(input, target, weight, default, gradient, requireValues: false, requireGradient: true);
        double denominator = Reductions.MeanDenominator(Reduction, input.Length, avgFactor);
        Run(input, target, weight, default, gradient, Reductions.GradientScale(Reduction, upstream, denominator), default);
    }

    /// <summary>Writes d loss / d input given the per-element upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> upstream, Span<T> gradient, ReadOnlySpan<T> weight = default)
    {
        Reductions.CheckUpstreamSpan(Reduction, upstream.Length, input.Length);
        Validate(input, target, weight, default, gradient, requireValues: false, requireGradient: true);
        Run(input, target, weight, default, gradient, T.One, upstream);
    }

    /// <summary>Computes the loss and d loss / d input (upstream 1) in one pass over the data.</summary>
    /// <returns>The reduced loss (with None: the sum of the per-element losses, whose gradient is written).</returns>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> gradient, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null)
    {
        Validate(input, target, weight, destination, gradient, requireValues: Reduction == Reduction.None, requireGradient: true);
        double denominator = Reductions.MeanDenominator(Reduction, input.Length, avgFactor);
        double sum = Run(input, target, weight, Reduction == Reduction.None ? destination : default, gradient,
            Reductions.GradientScale(Reduction, T.One, denominator), default);
        return Reductions.Finish<T>(Reduction, sum, denominator);
    }

    /// <inheritdoc cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T}, double?)"/>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default)
    {
        CheckShapes(input, target, weight, destination.Lengths, nameof(destination), Reduction == Reduction.None);
        return Forward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)),
            TensorArgs.Flat(destination, nameof(destination)), TensorArgs.Flat(weight, nameof(weight)));
    }

    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{T}, T, Span{T}, ReadOnlySpan{T}, double?)"/>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default)
    {
        CheckShapes(input, target, weight, gradient.Lengths, nameof(gradient), true);
        Backward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), upstream,
            TensorArgs.Flat(gradient, nameof(gradient)), TensorArgs.Flat(weight, nameof(weight)));
    }

    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T})"/>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default)
    {
        CheckShapes(input, target, weight, gradient.Lengths, nameof(gradient), true);
        TensorArgs.SameShape(upstream.Lengths, input.Lengths, nameof(upstream));
        Backward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(upstream, nameof(upstream)),
            TensorArgs.Flat(gradient, nameof(gradient)), TensorArgs.Flat(weight, nameof(weight)));
    }

    /// <inheritdoc cref="ForwardBackward(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, ReadOnlySpan{T}, double?)"/>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient, TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default)
    {
        CheckShapes(input, target, weight, gradient.Lengths, nameof(gradient), true);
        if (Reduction == Reduction.None)
        {
            TensorArgs.SameShape(destination.Lengths, input.Lengths, nameof(destination));
        }

        return ForwardBackward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)),
            TensorArgs.Flat(gradient, nameof(gradient)), TensorArgs.Flat(destination, nameof(destination)), TensorArgs.Flat(weight, nameof(weight)));
    }

    /// <summary>Runs the kernel: Σ w·l, optionally storing values and writing scale- or upstream-multiplied gradients.</summary>
    private protected abstract double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream);

    /// <summary>Loss-specific checks of the data (target domains); shapes are already checked.</summary>
    private protected virtual void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target)
    {
    }

    private void Validate(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, bool requireValues, bool requireGradient)
    {
        int n = input.Length;
        ThrowHelper.CheckLength(target.Length, n, nameof(target), "one per input element");
        if (!weight.IsEmpty)
        {
            ThrowHelper.CheckLength(weight.Length, n, nameof(weight), "one per input element");
        }

        if (requireValues)
        {
            ThrowHelper.CheckDestination(values.Length, n, "destination");
        }

        if (requireGradient)
        {
            ThrowHelper.CheckDestination(gradient.Length, n, nameof(gradient));
        }

        ValidateData(input, target);
    }

    private void CheckShapes(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<T> target, in ReadOnlyTensorSpan<T> weight,
        ReadOnlySpan<nint> outShape, string outName, bool checkOut)
    {
        TensorArgs.SameShape(target.Lengths, input.Lengths, nameof(target));
        if (weight.FlattenedLength != 0 || weight.Rank != 0)
        {
            TensorArgs.SameShape(weight.Lengths, input.Lengths, nameof(weight));
        }

        if (checkOut)
        {
            TensorArgs.SameShape(outShape, input.Lengths, outName);
        }
    }
}
