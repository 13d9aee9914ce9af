using System.Numerics.Tensors;

namespace LossKit.Tests.Infrastructure;

/// <summary>Tensor spans of a given shape for the shape and message tests: zeros, zero indices, and sizes past int's range.</summary>
public static class ShapedSpans
{
    /// <summary>2³¹: one past int's range.</summary>
    public static readonly long PastInt = 1L << 31;

    /// <summary><see cref="PastInt"/> as a tensor dimension.</summary>
    public static readonly nint PastIntDimension = checked((nint)PastInt);

    /// <summary>A read-only tensor of zeros.</summary>
    public static ReadOnlyTensorSpan<T> Zeros<T>(params nint[] shape) => new(new T[Count(shape)], shape, []);

    /// <summary>A writable tensor of zeros (a gradient or destination).</summary>
    public static TensorSpan<T> Output<T>(params nint[] shape) => new(new T[Count(shape)], shape, []);

    /// <summary>A [rows, columns] tensor of no elements (one dimension 0): with the other at <see cref="PastIntDimension"/> it
    /// reaches a size check without memory.</summary>
    public static ReadOnlyTensorSpan<T> NoElements<T>(nint rows, nint columns) => new(Array.Empty<T>(), [rows, columns], []);

    private static int Count(nint[] shape) => (int)shape.Aggregate((nint)1, (a, b) => a * b);
}
