using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit;

/// <summary>
/// Base of the element-wise losses l(xᵢ, yᵢ) (regression, binary classification, hinge family): the element-wise layout
/// (<c>input</c> of any shape, <c>target</c> and optional <c>weight</c> of the same shape, one value per element). A
/// loss supplies its kernel and its target checks; the entry points are the layout's.
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
public abstract class ElementwiseLoss<T> : ILayoutKernel<T, ElementwiseCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private ElementwiseLoss<float>? _float32;

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
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, new ElementwiseCall<T>(input, target, weight), destination, avgFactor);

    /// <summary>Writes d loss / d input given the scalar upstream gradient of the reduced loss (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, T upstream, Span<T> gradient, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, new ElementwiseCall<T>(input, target, weight), upstream, gradient, avgFactor);

    /// <summary>Writes d loss / d input given the per-element upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> upstream, Span<T> gradient, ReadOnlySpan<T> weight = default) =>
        EntryPoints.Backward(this, new ElementwiseCall<T>(input, target, weight), upstream, gradient);

    /// <summary>Computes the loss and d loss / d input (upstream 1) in one pass over the data.</summary>
    /// <returns>The reduced loss (with None: the sum of the per-element losses, whose gradient is written).</returns>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> gradient, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, new ElementwiseCall<T>(input, target, weight), gradient, destination, avgFactor);

    /// <inheritdoc cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T}, double?)"/>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, ElementwiseCall<T>.From(input, target, weight), EntryPoints.Destination(destination, input.Lengths, Reduction), avgFactor);

    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{T}, T, Span{T}, ReadOnlySpan{T}, double?)"/>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, ElementwiseCall<T>.From(input, target, weight), upstream, EntryPoints.Gradient(gradient, input.Lengths), avgFactor);

    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T})"/>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default) =>
        EntryPoints.Backward(this, ElementwiseCall<T>.From(input, target, weight), EntryPoints.Upstream(upstream, input.Lengths), EntryPoints.Gradient(gradient, input.Lengths));

    /// <inheritdoc cref="ForwardBackward(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, ReadOnlySpan{T}, double?)"/>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient, TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, ElementwiseCall<T>.From(input, target, weight), EntryPoints.Gradient(gradient, input.Lengths),
            EntryPoints.Destination(destination, input.Lengths, Reduction), avgFactor);

    /// <summary>Runs the kernel: Σ w·l, optionally storing values and writing scale- or upstream-multiplied gradients.</summary>
    private protected abstract double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream);

    /// <summary>The same loss (same parameters) in float32: the kernel of narrow element types (<see cref="Float32Path"/>).</summary>
    private protected abstract ElementwiseLoss<float> CreateFloat32();

    /// <summary>Loss-specific checks of the data (target domains); shapes are already checked.</summary>
    private protected virtual void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target)
    {
    }

    double ILayoutKernel<T, ElementwiseCall<T>>.Prepare(scoped in ElementwiseCall<T> call, double? avgFactor)
    {
        ValidateData(call.Input, call.Target);
        return Reductions.MeanDenominator(Reduction, call.Input.Length, avgFactor);
    }

    double ILayoutKernel<T, ElementwiseCall<T>>.Run(scoped in ElementwiseCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Run(call.Input, call.Target, call.Weight, values, gradient, scale, upstream);

    double ILayoutKernel<T, ElementwiseCall<T>>.RunWidened(scoped in ElementwiseCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run(_float32 ??= CreateFloat32(), call, values, gradient, scale, upstream);
}
