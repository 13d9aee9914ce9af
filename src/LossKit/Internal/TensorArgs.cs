using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace LossKit.Internal;

/// <summary>Turns dense tensor spans into flat spans, checking density and shapes with the parameter's name.</summary>
internal static class TensorArgs
{
    public static ReadOnlySpan<T> Flat<T>(in ReadOnlyTensorSpan<T> tensor, string paramName)
    {
        if (tensor.FlattenedLength == 0)
        {
            return default;
        }

        if (!tensor.IsDense)
        {
            ThrowHelper.Argument(paramName, $"{paramName} must be a dense (contiguous) tensor span.");
        }

        return MemoryMarshal.CreateReadOnlySpan(in TensorMarshal.GetReference(tensor), ThrowHelper.Product(paramName, "elements", tensor.FlattenedLength));
    }

    public static Span<T> Flat<T>(in TensorSpan<T> tensor, string paramName)
    {
        if (tensor.FlattenedLength == 0)
        {
            return default;
        }

        if (!tensor.IsDense)
        {
            ThrowHelper.Argument(paramName, $"{paramName} must be a dense (contiguous) tensor span.");
        }

        return MemoryMarshal.CreateSpan(ref TensorMarshal.GetReference(tensor), ThrowHelper.Product(paramName, "elements", tensor.FlattenedLength));
    }

    /// <summary>Throws unless <paramref name="actual"/> has exactly the shape <paramref name="expected"/>.</summary>
    public static void SameShape(ReadOnlySpan<nint> actual, ReadOnlySpan<nint> expected, string paramName)
    {
        if (!actual.SequenceEqual(expected))
        {
            ThrowHelper.Argument(paramName, $"{paramName} must have shape {Shape(expected)}, got {Shape(actual)}.");
        }
    }

    /// <summary>Throws unless the tensor has rank <paramref name="rank"/>.</summary>
    public static void Rank(ReadOnlySpan<nint> lengths, int rank, string paramName, string layout)
    {
        if (lengths.Length != rank)
        {
            ThrowHelper.Argument(paramName, $"{paramName} must have rank {rank} ({layout}), got shape {Shape(lengths)}.");
        }
    }

    public static string Shape(ReadOnlySpan<nint> lengths) => "[" + string.Join(", ", lengths.ToArray()) + "]";
}
