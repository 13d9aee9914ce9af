using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// PyTorch's dense form of the class-index losses: <c>input [N, C, d1, …, dk]</c> (class scores along dimension 1, as
/// a segmentation head writes them) and <c>target [N, d1, …, dk]</c>, one value per (n, d1, …, dk). The scores are
/// gathered into N·d1⋯dk rows of C (pooled buffers) and run through the row layout, so every reduction, weight,
/// ignore-index and avgFactor rule is the row layout's; the gradient is scattered back into the input's order.
/// </summary>
internal static class DenseClassIndex
{
    public static T Forward<T>(ClassIndexLoss<T> loss, in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> target, Span<T> values, double? avgFactor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int n, int c, int s) = Shape(input.Lengths, target.Lengths);
        T[] rows = Gather(TensorArgs.Flat(input, nameof(input)), n, c, s);
        try
        {
            return EntryPoints.Forward(loss, new ClassIndexCall<T>(rows.AsSpan(0, n * c * s), TensorArgs.Flat(target, nameof(target)), n * s, c), values, avgFactor);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rows);
        }
    }

    public static T ForwardBackward<T>(ClassIndexLoss<T> loss, in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> target, in TensorSpan<T> gradient,
        Span<T> values, double? avgFactor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int n, int c, int s) = Shape(input.Lengths, target.Lengths);
        Span<T> g = EntryPoints.Gradient(gradient, input.Lengths);
        T[] rows = Gather(TensorArgs.Flat(input, nameof(input)), n, c, s);
        T[] rowGradient = ArrayPool<T>.Shared.Rent(n * c * s);
        try
        {
            T value = EntryPoints.ForwardBackward(loss, new ClassIndexCall<T>(rows.AsSpan(0, n * c * s), TensorArgs.Flat(target, nameof(target)), n * s, c),
                rowGradient.AsSpan(0, n * c * s), values, avgFactor);
            Scatter(rowGradient, g, n, c, s);
            return value;
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rows);
            ArrayPool<T>.Shared.Return(rowGradient);
        }
    }

    /// <summary>Backward with a scalar upstream (<paramref name="upstream"/> empty) or a per-value one ([N, d1, …, dk]).</summary>
    public static void Backward<T>(ClassIndexLoss<T> loss, in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> target, T scalarUpstream,
        ReadOnlySpan<T> upstream, bool perValue, in TensorSpan<T> gradient, double? avgFactor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int n, int c, int s) = Shape(input.Lengths, target.Lengths);
        Span<T> g = EntryPoints.Gradient(gradient, input.Lengths);
        T[] rows = Gather(TensorArgs.Flat(input, nameof(input)), n, c, s);
        T[] rowGradient = ArrayPool<T>.Shared.Rent(n * c * s);
        try
        {
            var call = new ClassIndexCall<T>(rows.AsSpan(0, n * c * s), TensorArgs.Flat(target, nameof(target)), n * s, c);
            if (perValue)
            {
                EntryPoints.Backward(loss, call, upstream, rowGradient.AsSpan(0, n * c * s));
            }
            else
            {
                EntryPoints.Backward(loss, call, scalarUpstream, rowGradient.AsSpan(0, n * c * s), avgFactor);
            }

            Scatter(rowGradient, g, n, c, s);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rows);
            ArrayPool<T>.Shared.Return(rowGradient);
        }
    }

    /// <summary>
    /// N, C and the spatial size d1⋯dk of an input [N, C, d1, …, dk] whose target is [N, d1, …, dk] (ArgumentException
    /// naming <c>target</c> otherwise, or naming <c>input</c> when the sizes' product overflows).
    /// </summary>
    public static (int N, int C, int Spatial) Shape(ReadOnlySpan<nint> input, ReadOnlySpan<nint> target)
    {
        bool matches = target.Length == input.Length - 1 && target[0] == input[0] && target[1..].SequenceEqual(input[2..]);
        if (!matches)
        {
            nint[] expected = [input[0], .. input[2..]];
            ThrowHelper.Argument("target", $"target must have shape {TensorArgs.Shape(expected)} to match input {TensorArgs.Shape(input)} ([N, C, d1, …, dk]), got {TensorArgs.Shape(target)}.");
        }

        Span<long> spatial = stackalloc long[input.Length - 2];
        for (int i = 2; i < input.Length; i++)
        {
            spatial[i - 2] = input[i];
        }

        int s = ThrowHelper.Product("input", "d1 × … × dk", spatial);
        ThrowHelper.Product("input", "N × C × d1⋯dk", [input[0], input[1], s]);
        if (input[1] < 1)
        {
            ThrowHelper.OutOfRange("classes", input[1], $"classes (input dimension 1) must be >= 1, got {input[1]}.");
        }

        return ((int)input[0], (int)input[1], s);
    }

    /// <summary>rows[(b·S + p)·C + k] = x[(b·C + k)·S + p]: a pooled buffer of N·S rows of C.</summary>
    private static T[] Gather<T>(ReadOnlySpan<T> x, int n, int c, int s)
    {
        T[] rows = ArrayPool<T>.Shared.Rent(n * c * s);
        for (int b = 0; b < n; b++)
        {
            for (int k = 0; k < c; k++)
            {
                ReadOnlySpan<T> plane = x.Slice((b * c + k) * s, s);
                int start = b * s * c + k;
                for (int p = 0; p < s; p++)
                {
                    rows[start + p * c] = plane[p];
                }
            }
        }

        return rows;
    }

    /// <summary>The inverse of <see cref="Gather{T}"/> for the gradient: g[(b·C + k)·S + p] = rows[(b·S + p)·C + k].</summary>
    private static void Scatter<T>(T[] rows, Span<T> g, int n, int c, int s)
    {
        for (int b = 0; b < n; b++)
        {
            for (int k = 0; k < c; k++)
            {
                Span<T> plane = g.Slice((b * c + k) * s, s);
                int start = b * s * c + k;
                for (int p = 0; p < s; p++)
                {
                    plane[p] = rows[start + p * c];
                }
            }
        }
    }
}
