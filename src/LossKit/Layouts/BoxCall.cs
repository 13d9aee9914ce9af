using System.Numerics.Tensors;
using LossKit.Detection;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The box layout: <c>predicted [N × 4]</c> and <c>target [N × 4]</c> row-major in the loss's box format, and the optional
/// per-box <c>weight [N]</c>; one value per box. The gradient has the predicted boxes' shape. Used by the box-regression
/// losses (<see cref="BoxRegressionLoss{T}"/>).
/// </summary>
internal readonly ref struct BoxCall<T> : ILayoutCall
{
    public BoxCall(ReadOnlySpan<T> predicted, ReadOnlySpan<T> target, ReadOnlySpan<T> weight)
    {
        Predicted = predicted;
        Target = target;
        Weight = weight;
    }

    public ReadOnlySpan<T> Predicted { get; }

    public ReadOnlySpan<T> Target { get; }

    /// <summary>Per-box weight, or empty for none.</summary>
    public ReadOnlySpan<T> Weight { get; }

    /// <summary>N, the number of boxes (a length that is not a multiple of 4 is reported by <see cref="CheckShapes"/>).</summary>
    public int Count => Predicted.Length / 4;

    public int InputLength => Predicted.Length;

    public int ValueLength => Predicted.Length / 4;

    public void CheckShapes()
    {
        BoxConvert.CheckBoxes(Predicted.Length, "predicted");
        ThrowHelper.CheckLength(Target.Length, Predicted.Length, "target", "one target box per predicted box");
        if (!Weight.IsEmpty)
        {
            ThrowHelper.CheckLength(Weight.Length, Count, "weight", "one weight per box");
        }
    }

    /// <summary>Binds tensor arguments: <paramref name="predicted"/> [N, 4], <paramref name="target"/> [N, 4] and, when
    /// given, <paramref name="weight"/> [N].</summary>
    public static BoxCall<T> From(in ReadOnlyTensorSpan<T> predicted, in ReadOnlyTensorSpan<T> target, in ReadOnlyTensorSpan<T> weight)
    {
        TensorArgs.Rank(predicted.Lengths, 2, nameof(predicted), "[N, 4]");
        if (predicted.Lengths[1] != 4)
        {
            ThrowHelper.Argument(nameof(predicted), $"predicted must have shape [N, 4], got {TensorArgs.Shape(predicted.Lengths)}.");
        }

        TensorArgs.SameShape(target.Lengths, predicted.Lengths, nameof(target));
        if (weight.FlattenedLength != 0 || weight.Rank != 0)
        {
            TensorArgs.SameShape(weight.Lengths, predicted.Lengths[..1], nameof(weight));
        }

        return new BoxCall<T>(TensorArgs.Flat(predicted, nameof(predicted)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(weight, nameof(weight)));
    }
}
