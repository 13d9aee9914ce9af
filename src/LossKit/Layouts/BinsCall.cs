using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The bins layout: <c>input [batch × bins]</c> row-major logits over the bins 0 … bins − 1, a continuous
/// <c>target [batch]</c> between two bins and the optional per-row <c>weight</c>; one value per row. Distribution focal
/// loss (GFL).
/// </summary>
internal readonly ref struct BinsCall<T> : ILayoutCall
{
    public BinsCall(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int bins, ReadOnlySpan<T> weight)
    {
        Input = input;
        Target = target;
        Batch = batch;
        Bins = bins;
        Weight = weight;
    }

    public ReadOnlySpan<T> Input { get; }

    public ReadOnlySpan<T> Target { get; }

    public int Batch { get; }

    public int Bins { get; }

    /// <summary>Per-row weight, or empty for none.</summary>
    public ReadOnlySpan<T> Weight { get; }

    public int InputLength => Input.Length;

    public int ValueLength => Batch;

    public void CheckShapes()
    {
        if (Bins < 2)
        {
            ThrowHelper.OutOfRange("bins", Bins, $"bins must be >= 2 (a target between two bins), got {Bins}.");
        }

        RowsCall.CheckRows(Input.Length, Batch, Bins, "bins");
        ThrowHelper.CheckLength(Target.Length, Batch, "target", "one target per row");
        WeightedRows.CheckWeight(Weight, Batch, "one weight per row");
    }

    /// <summary>Binds tensor arguments: <paramref name="input"/> [batch, bins]; target and weight (when given) [batch].</summary>
    public static BinsCall<T> From(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<T> target, in ReadOnlyTensorSpan<T> weight)
    {
        (int batch, int bins) = RowsCall.Matrix(input.Lengths, "[batch, bins]");
        RowsCall.RowVector(target.Lengths, input.Lengths, nameof(target), "[batch]");
        WeightedRows.CheckWeight(weight, input.Lengths);
        return new BinsCall<T>(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), batch, bins, TensorArgs.Flat(weight, nameof(weight)));
    }
}
