using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The pair layout: two embedding matrices <c>input1</c>, <c>input2 [batch × dim]</c> and a target per pair
/// <c>[batch]</c>; one value per pair and a gradient for each input. Cosine embedding loss; the shape margin-ranking
/// and triplet losses take.
/// </summary>
internal readonly ref struct PairCall<T> : ILayoutCall
{
    public PairCall(ReadOnlySpan<T> input1, ReadOnlySpan<T> input2, ReadOnlySpan<T> target, int batch, int dim)
    {
        Input1 = input1;
        Input2 = input2;
        Target = target;
        Batch = batch;
        Dim = dim;
    }

    public ReadOnlySpan<T> Input1 { get; }

    public ReadOnlySpan<T> Input2 { get; }

    public ReadOnlySpan<T> Target { get; }

    public int Batch { get; }

    public int Dim { get; }

    public int InputLength => Input1.Length;

    public int ValueLength => Batch;

    public void CheckShapes()
    {
        ThrowHelper.CheckDimension(Batch, "batch");
        ThrowHelper.CheckDimension(Dim, "dim");
        ThrowHelper.CheckMatrix(Input1.Length, Batch, Dim, "input1", "batch", "dim");
        ThrowHelper.CheckMatrix(Input2.Length, Batch, Dim, "input2", "batch", "dim");
        ThrowHelper.CheckLength(Target.Length, Batch, "target", "one per pair");
    }

    /// <summary>Binds tensor arguments: input1 and input2 [batch, dim], target [batch].</summary>
    public static PairCall<T> From(in ReadOnlyTensorSpan<T> input1, in ReadOnlyTensorSpan<T> input2, in ReadOnlyTensorSpan<T> target)
    {
        TensorArgs.Rank(input1.Lengths, 2, nameof(input1), "[batch, dim]");
        TensorArgs.SameShape(input2.Lengths, input1.Lengths, nameof(input2));
        RowsCall.RowVector(target.Lengths, input1.Lengths, nameof(target), "[batch]");
        return new PairCall<T>(TensorArgs.Flat(input1, nameof(input1)), TensorArgs.Flat(input2, nameof(input2)), TensorArgs.Flat(target, nameof(target)),
            ThrowHelper.Product(nameof(input1), "batch", input1.Lengths[0]), ThrowHelper.Product(nameof(input1), "dim", input1.Lengths[1]));
    }
}

/// <summary>A pair loss's kernel: the layout kernel with a gradient for each of the two inputs.</summary>
internal interface IPairKernel<T> : ILayoutKernel<T, PairCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Σ of the per-pair losses; values and both gradients (× scale or × upstream per pair) when non-empty.</summary>
    double Run(scoped in PairCall<T> call, Span<T> values, Span<T> gradient1, Span<T> gradient2, T scale, ReadOnlySpan<T> upstream);

    /// <summary>The same through the loss's float32 instance, for element types narrower than float32.</summary>
    double RunWidened(scoped in PairCall<T> call, Span<T> values, Span<T> gradient1, Span<T> gradient2, float scale, ReadOnlySpan<T> upstream);
}

/// <summary>The entry points with two gradients; Forward is <see cref="EntryPoints.Forward{T, TLoss, TCall}"/>.</summary>
internal static class PairEntryPoints
{
    public static void Backward<T, TLoss>(TLoss loss, scoped in PairCall<T> call, T upstream, Span<T> gradient1, Span<T> gradient2)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IPairKernel<T>
    {
        Reductions.CheckUpstreamScalar(loss.Reduction);
        double denominator = Prepare(loss, call, gradient1, gradient2);
        if (Float32Path.Applies<T>())
        {
            loss.RunWidened(call, default, gradient1, gradient2, Float32Path.GradientScale(loss.Reduction, upstream, denominator), default);
            return;
        }

        loss.Run(call, default, gradient1, gradient2, Reductions.GradientScale(loss.Reduction, upstream, denominator), default);
    }

    public static void Backward<T, TLoss>(TLoss loss, scoped in PairCall<T> call, ReadOnlySpan<T> upstream, Span<T> gradient1, Span<T> gradient2)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IPairKernel<T>
    {
        Reductions.CheckUpstreamSpan(loss.Reduction, upstream.Length, call.ValueLength);
        Prepare(loss, call, gradient1, gradient2);
        if (Float32Path.Applies<T>())
        {
            loss.RunWidened(call, default, gradient1, gradient2, 1f, upstream);
            return;
        }

        loss.Run(call, default, gradient1, gradient2, T.One, upstream);
    }

    public static T ForwardBackward<T, TLoss>(TLoss loss, scoped in PairCall<T> call, Span<T> gradient1, Span<T> gradient2, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IPairKernel<T>
    {
        call.CheckShapes();
        bool none = loss.Reduction == Reduction.None;
        if (none)
        {
            ThrowHelper.CheckDestination(destination.Length, call.ValueLength, nameof(destination));
        }

        double denominator = Prepare(loss, call, gradient1, gradient2);
        double sum = Float32Path.Applies<T>()
            ? loss.RunWidened(call, none ? destination : default, gradient1, gradient2, Float32Path.GradientScale(loss.Reduction, T.One, denominator), default)
            : loss.Run(call, none ? destination : default, gradient1, gradient2, Reductions.GradientScale(loss.Reduction, T.One, denominator), default);
        return Reductions.Finish<T>(loss.Reduction, sum, denominator);
    }

    private static double Prepare<T, TLoss>(TLoss loss, scoped in PairCall<T> call, Span<T> gradient1, Span<T> gradient2)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IPairKernel<T>
    {
        call.CheckShapes();
        ThrowHelper.CheckDestination(gradient1.Length, call.InputLength, nameof(gradient1));
        ThrowHelper.CheckDestination(gradient2.Length, call.InputLength, nameof(gradient2));
        return loss.Prepare(call, null);
    }
}
