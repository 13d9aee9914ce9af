using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The arguments of one call in a layout's terms (element-wise pairs, class-index rows, boxes, …): the spans, bound and
/// with their shapes checked. A layout's call type is a <c>ref struct</c> built once per call by the public entry point.
/// </summary>
internal interface ILayoutCall
{
    /// <summary>Elements of the differentiable input: the length the gradient must have.</summary>
    int InputLength { get; }

    /// <summary>Per-value count with <see cref="Reduction.None"/>: the length of the destination and of a span upstream.</summary>
    int ValueLength { get; }

    /// <summary>Checks the shapes of the bound arguments against each other (ArgumentException naming the parameter).</summary>
    void CheckShapes();
}

/// <summary>
/// What a loss supplies for one layout: its reduction, the data checks and Mean denominator of a call, and its kernel.
/// Everything else (order of checks, outputs, the reduction and upstream rules) is <see cref="EntryPoints"/>'.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <typeparam name="TCall">The layout's call type.</typeparam>
internal interface ILayoutKernel<T, TCall>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TCall : ILayoutCall, allows ref struct
{
    /// <summary>How the per-value losses are reduced.</summary>
    Reduction Reduction { get; }

    /// <summary>
    /// Checks the call's data (target domains, class indices) and returns the Mean denominator (the value count, Σ of
    /// target weights, the batch, or mmdetection's avgFactor + ε through <see cref="Reductions.MeanDenominator"/>).
    /// </summary>
    double Prepare(scoped in TCall call, double? avgFactor);

    /// <summary>
    /// The kernel: Σ of the per-value losses; stores them in <paramref name="values"/> and writes the gradient
    /// (× <paramref name="scale"/>, or × <paramref name="upstream"/> per value) when those are non-empty.
    /// </summary>
    double Run(scoped in TCall call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream);

    /// <summary>
    /// The kernel for element types narrower than float32 (<see cref="Float32Path"/>): the same call run by the loss's
    /// float32 instance on widened copies, with a float32 <paramref name="scale"/>, the outputs rounded back.
    /// </summary>
    double RunWidened(scoped in TCall call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream);
}

/// <summary>
/// The one implementation of the entry-point contract every LossKit loss follows: <c>Forward</c>, <c>Backward</c> with a
/// scalar or per-value upstream gradient, and the fused <c>ForwardBackward</c>, for span and tensor arguments.
/// </summary>
/// <remarks>
/// Order of checks, the same for every layout: the upstream form against the reduction, the shapes of the arguments,
/// the outputs' lengths (destination with None, gradient), the data, then <c>avgFactor</c>. With
/// <see cref="Reduction.None"/> the entry points return the sum of the per-value losses and the fused call writes the
/// gradient of that sum.
/// </remarks>
internal static class EntryPoints
{
    public static T Forward<T, TLoss, TCall>(TLoss loss, scoped in TCall call, Span<T> destination, double? avgFactor)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : ILayoutKernel<T, TCall>
        where TCall : ILayoutCall, allows ref struct
    {
        call.CheckShapes();
        bool none = loss.Reduction == Reduction.None;
        if (none)
        {
            ThrowHelper.CheckDestination(destination.Length, call.ValueLength, "destination");
        }

        double denominator = loss.Prepare(call, avgFactor);
        double sum = Float32Path.Applies<T>()
            ? loss.RunWidened(call, none ? destination : default, default, 0f, default)
            : loss.Run(call, none ? destination : default, default, T.Zero, default);
        return Reductions.Finish<T>(loss.Reduction, sum, denominator);
    }

    public static void Backward<T, TLoss, TCall>(TLoss loss, scoped in TCall call, T upstream, Span<T> gradient, double? avgFactor)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : ILayoutKernel<T, TCall>
        where TCall : ILayoutCall, allows ref struct
    {
        Reductions.CheckUpstreamScalar(loss.Reduction);
        call.CheckShapes();
        ThrowHelper.CheckDestination(gradient.Length, call.InputLength, nameof(gradient));
        double denominator = loss.Prepare(call, avgFactor);
        if (Float32Path.Applies<T>())
        {
            loss.RunWidened(call, default, gradient, Float32Path.GradientScale(loss.Reduction, upstream, denominator), default);
            return;
        }

        loss.Run(call, default, gradient, Reductions.GradientScale(loss.Reduction, upstream, denominator), default);
    }

    public static void Backward<T, TLoss, TCall>(TLoss loss, scoped in TCall call, ReadOnlySpan<T> upstream, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : ILayoutKernel<T, TCall>
        where TCall : ILayoutCall, allows ref struct
    {
        Reductions.CheckUpstreamSpan(loss.Reduction, upstream.Length, call.ValueLength);
        call.CheckShapes();
        ThrowHelper.CheckDestination(gradient.Length, call.InputLength, nameof(gradient));
        loss.Prepare(call, null);
        if (Float32Path.Applies<T>())
        {
            loss.RunWidened(call, default, gradient, 1f, upstream);
            return;
        }

        loss.Run(call, default, gradient, T.One, upstream);
    }

    public static T ForwardBackward<T, TLoss, TCall>(TLoss loss, scoped in TCall call, Span<T> gradient, Span<T> destination, double? avgFactor)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : ILayoutKernel<T, TCall>
        where TCall : ILayoutCall, allows ref struct
    {
        call.CheckShapes();
        bool none = loss.Reduction == Reduction.None;
        if (none)
        {
            ThrowHelper.CheckDestination(destination.Length, call.ValueLength, "destination");
        }

        ThrowHelper.CheckDestination(gradient.Length, call.InputLength, nameof(gradient));
        double denominator = loss.Prepare(call, avgFactor);
        double sum = Float32Path.Applies<T>()
            ? loss.RunWidened(call, none ? destination : default, gradient, Float32Path.GradientScale(loss.Reduction, T.One, denominator), default)
            : loss.Run(call, none ? destination : default, gradient, Reductions.GradientScale(loss.Reduction, T.One, denominator), default);
        return Reductions.Finish<T>(loss.Reduction, sum, denominator);
    }

    /// <summary>
    /// Tensor outputs: the gradient has the input's shape, the destination (None) the value shape. Errors name
    /// <paramref name="paramName"/>, the caller's parameter (gradient1 and gradient2 of a pair loss).
    /// </summary>
    public static Span<T> Gradient<T>(in TensorSpan<T> gradient, ReadOnlySpan<nint> inputShape, string paramName = "gradient")
    {
        TensorArgs.SameShape(gradient.Lengths, inputShape, paramName);
        return TensorArgs.Flat(gradient, paramName);
    }

    /// <summary>The destination of a tensor call: checked against the value shape with None, ignored otherwise.</summary>
    public static Span<T> Destination<T>(in TensorSpan<T> destination, ReadOnlySpan<nint> valueShape, Reduction reduction)
    {
        if (reduction == Reduction.None)
        {
            TensorArgs.SameShape(destination.Lengths, valueShape, nameof(destination));
        }

        return TensorArgs.Flat(destination, nameof(destination));
    }

    /// <summary>A per-value upstream tensor: checked against the value shape.</summary>
    public static ReadOnlySpan<T> Upstream<T>(in ReadOnlyTensorSpan<T> upstream, ReadOnlySpan<nint> valueShape)
    {
        TensorArgs.SameShape(upstream.Lengths, valueShape, nameof(upstream));
        return TensorArgs.Flat(upstream, nameof(upstream));
    }
}
