using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The class-index rows layout: <c>input [batch × classes]</c> row-major, <c>target [batch]</c> class indices; one value
/// per row. Used by cross-entropy, NLL, the margin losses, softmax focal and the angular margins (on cosines).
/// </summary>
internal readonly ref struct ClassIndexCall<T> : ILayoutCall
{
    public ClassIndexCall(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes)
    {
        Input = input;
        Target = target;
        Batch = batch;
        Classes = classes;
    }

    public ReadOnlySpan<T> Input { get; }

    public ReadOnlySpan<int> Target { get; }

    public int Batch { get; }

    public int Classes { get; }

    public int InputLength => Input.Length;

    public int ValueLength => Batch;

    public void CheckShapes()
    {
        RowsCall.CheckRows(Input.Length, Batch, Classes, "classes");
        ThrowHelper.CheckLength(Target.Length, Batch, "target", "one class index per row");
    }

    /// <summary>Binds tensor arguments: <paramref name="input"/> [batch, classes], <paramref name="target"/> [batch].</summary>
    public static ClassIndexCall<T> From(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> target)
    {
        (int batch, int classes) = RowsCall.Matrix(input.Lengths, "[batch, classes]");
        RowsCall.RowVector(target.Lengths, input.Lengths, nameof(target), "[batch]");
        return new ClassIndexCall<T>(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), batch, classes);
    }
}

/// <summary>
/// The probability rows layout: <c>input</c> and <c>target [batch × classes]</c> (a distribution per row); one value per
/// row. Cross-entropy with probability targets.
/// </summary>
internal readonly ref struct ProbabilityRowsCall<T> : ILayoutCall
{
    public ProbabilityRowsCall(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int classes)
    {
        Input = input;
        Target = target;
        Batch = batch;
        Classes = classes;
    }

    public ReadOnlySpan<T> Input { get; }

    public ReadOnlySpan<T> Target { get; }

    public int Batch { get; }

    public int Classes { get; }

    public int InputLength => Input.Length;

    public int ValueLength => Batch;

    public void CheckShapes()
    {
        RowsCall.CheckRows(Input.Length, Batch, Classes, "classes");
        ThrowHelper.CheckLength(Target.Length, Input.Length, "target", "probability targets have the input's shape");
    }

    /// <summary>Binds tensor arguments: input and target [batch, classes].</summary>
    public static ProbabilityRowsCall<T> From(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<T> target)
    {
        (int batch, int classes) = RowsCall.Matrix(input.Lengths, "[batch, classes]");
        TensorArgs.SameShape(target.Lengths, input.Lengths, nameof(target));
        return new ProbabilityRowsCall<T>(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), batch, classes);
    }
}

/// <summary>Shape rules shared by the row layouts (rows × columns matrices and one entry per row).</summary>
internal static class RowsCall
{
    /// <summary>Checks batch ≥ 0, columns ≥ 1 and input length = batch × columns (naming the columns parameter).</summary>
    public static void CheckRows(int inputLength, int batch, int columns, string columnsName)
    {
        ThrowHelper.CheckDimension(batch, "batch");
        if (columns < 1)
        {
            ThrowHelper.OutOfRange(columnsName, columns, $"{columnsName} must be >= 1, got {columns}.");
        }

        ThrowHelper.CheckMatrix(inputLength, batch, columns, "input", "batch", columnsName);
    }

    /// <summary>The rows and columns of a rank-2 input tensor.</summary>
    public static (int Rows, int Columns) Matrix(ReadOnlySpan<nint> lengths, string layout)
    {
        TensorArgs.Rank(lengths, 2, "input", layout);
        return (ThrowHelper.Product("input", "rows", lengths[0]), ThrowHelper.Product("input", "columns", lengths[1]));
    }

    /// <summary>Checks that a per-row tensor has shape [rows of input].</summary>
    public static void RowVector(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> inputLengths, string paramName, string layout)
    {
        TensorArgs.Rank(lengths, 1, paramName, layout);
        if (lengths[0] != inputLengths[0])
        {
            ThrowHelper.Argument(paramName, $"{paramName} must have shape [{inputLengths[0]}] to match input {TensorArgs.Shape(inputLengths)}, got {TensorArgs.Shape(lengths)}.");
        }
    }
}
