using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The element-wise layout: <c>input</c> of any shape, <c>target</c> and the optional per-element <c>weight</c> of the same
/// length; one value per element. <see cref="Batch"/> is the first dimension (used by <see cref="Reduction.BatchMean"/>).
/// </summary>
internal readonly ref struct ElementwiseCall<T> : ILayoutCall
{
    public ElementwiseCall(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, int batch = -1)
    {
        Input = input;
        Target = target;
        Weight = weight;
        Batch = batch;
    }

    public ReadOnlySpan<T> Input { get; }

    public ReadOnlySpan<T> Target { get; }

    /// <summary>Per-element weight, or empty for none.</summary>
    public ReadOnlySpan<T> Weight { get; }

    /// <summary>The first dimension when the call has one (KL's BatchMean), else −1.</summary>
    public int Batch { get; }

    public int InputLength => Input.Length;

    public int ValueLength => Input.Length;

    public void CheckShapes()
    {
        int n = Input.Length;
        ThrowHelper.CheckLength(Target.Length, n, "target", "one per input element");
        if (Batch >= 0 && (Batch == 0 ? n != 0 : n % Batch != 0))
        {
            ThrowHelper.Argument("batch", $"input length {n} is not a multiple of batch = {Batch}.");
        }

        if (!Weight.IsEmpty)
        {
            ThrowHelper.CheckLength(Weight.Length, n, "weight", "one per input element");
        }
    }

    /// <summary>Binds tensor arguments: target and weight (when given) must have the input's shape.</summary>
    public static ElementwiseCall<T> From(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<T> target, in ReadOnlyTensorSpan<T> weight, bool batched = false)
    {
        TensorArgs.SameShape(target.Lengths, input.Lengths, nameof(target));
        if (weight.FlattenedLength != 0 || weight.Rank != 0)
        {
            TensorArgs.SameShape(weight.Lengths, input.Lengths, nameof(weight));
        }

        int batch = !batched ? -1 : input.Rank == 0 ? 1 : ThrowHelper.Product(nameof(input), "batch", input.Lengths[0]);
        return new ElementwiseCall<T>(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(weight, nameof(weight)), batch);
    }
}
