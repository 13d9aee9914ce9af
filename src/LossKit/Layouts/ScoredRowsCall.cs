using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The scored rows layout: <c>input [batch × classes]</c> row-major, and per row a <c>label</c> (a class or background),
/// a quality <c>score</c> and the optional <c>weight</c>; one value per row. Quality focal loss (GFL).
/// </summary>
internal readonly ref struct ScoredRowsCall<T> : ILayoutCall
{
    public ScoredRowsCall(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, ReadOnlySpan<T> scores, int batch, int classes, ReadOnlySpan<T> weight)
    {
        Input = input;
        Labels = labels;
        Scores = scores;
        Batch = batch;
        Classes = classes;
        Weight = weight;
    }

    public ReadOnlySpan<T> Input { get; }

    public ReadOnlySpan<int> Labels { get; }

    public ReadOnlySpan<T> Scores { get; }

    public int Batch { get; }

    public int Classes { get; }

    /// <summary>Per-row weight, or empty for none.</summary>
    public ReadOnlySpan<T> Weight { get; }

    public int InputLength => Input.Length;

    public int ValueLength => Batch;

    public void CheckShapes()
    {
        RowsCall.CheckRows(Input.Length, Batch, Classes, "classes");
        ThrowHelper.CheckLength(Labels.Length, Batch, "labels", "one label per anchor");
        ThrowHelper.CheckLength(Scores.Length, Batch, "scores", "one quality score per anchor");
        WeightedRows.CheckWeight(Weight, Batch, "one weight per anchor");
    }

    /// <summary>Binds tensor arguments: <paramref name="input"/> [batch, classes]; labels, scores and weight (when given) [batch].</summary>
    public static ScoredRowsCall<T> From(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> labels, in ReadOnlyTensorSpan<T> scores, in ReadOnlyTensorSpan<T> weight)
    {
        (int batch, int classes) = RowsCall.Matrix(input.Lengths, "[batch, classes]");
        RowsCall.RowVector(labels.Lengths, input.Lengths, nameof(labels), "[batch]");
        RowsCall.RowVector(scores.Lengths, input.Lengths, nameof(scores), "[batch]");
        WeightedRows.CheckWeight(weight, input.Lengths);
        return new ScoredRowsCall<T>(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(labels, nameof(labels)), TensorArgs.Flat(scores, nameof(scores)),
            batch, classes, TensorArgs.Flat(weight, nameof(weight)));
    }
}

/// <summary>The optional per-row weight of the row layouts that have one (scored rows, bins).</summary>
internal static class WeightedRows
{
    /// <summary>Checks a per-row weight span: empty (no weight) or one per row.</summary>
    public static void CheckWeight<T>(ReadOnlySpan<T> weight, int batch, string what)
    {
        if (!weight.IsEmpty)
        {
            ThrowHelper.CheckLength(weight.Length, batch, "weight", what);
        }
    }

    /// <summary>Checks a per-row weight tensor: the default (no weight) or shape [rows of input].</summary>
    public static void CheckWeight<T>(in ReadOnlyTensorSpan<T> weight, ReadOnlySpan<nint> inputLengths)
    {
        if (weight.FlattenedLength != 0 || weight.Rank != 0)
        {
            RowsCall.RowVector(weight.Lengths, inputLengths, nameof(weight), "[batch]");
        }
    }
}
