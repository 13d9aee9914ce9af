using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// The features-and-centers layout: features <c>input [batch × dim]</c>, class indices <c>target [batch]</c> and the
/// class centers <c>centers [classes × dim]</c>, all row-major; one value per row and two gradients, d/d input and
/// d/d centers, either of which may be skipped. Center loss.
/// </summary>
internal readonly ref struct FeaturesCentersCall<T> : ILayoutCall
{
    public FeaturesCentersCall(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim)
    {
        Input = input;
        Target = target;
        Centers = centers;
        Batch = batch;
        Classes = classes;
        Dim = dim;
    }

    public ReadOnlySpan<T> Input { get; }

    public ReadOnlySpan<int> Target { get; }

    public ReadOnlySpan<T> Centers { get; }

    public int Batch { get; }

    public int Classes { get; }

    public int Dim { get; }

    public int InputLength => Input.Length;

    public int ValueLength => Batch;

    public void CheckShapes()
    {
        ThrowHelper.CheckDimension(Batch, "batch");
        if (Classes < 1)
        {
            ThrowHelper.OutOfRange("classes", Classes, $"classes must be >= 1, got {Classes}.");
        }

        ThrowHelper.CheckDimension(Dim, "dim");
        ThrowHelper.CheckMatrix(Input.Length, Batch, Dim, "input", "batch", "dim");
        ThrowHelper.CheckLength(Target.Length, Batch, "target", "one class index per row");
        ThrowHelper.CheckMatrix(Centers.Length, Classes, Dim, "centers", "classes", "dim");
    }

    /// <summary>Binds tensor arguments: input [batch, dim], target [batch], centers [classes, dim].</summary>
    public static FeaturesCentersCall<T> From(in ReadOnlyTensorSpan<T> input, in ReadOnlyTensorSpan<int> target, in ReadOnlyTensorSpan<T> centers)
    {
        (int batch, int dim) = RowsCall.Matrix(input.Lengths, "[batch, dim]");
        RowsCall.RowVector(target.Lengths, input.Lengths, nameof(target), "[batch]");
        TensorArgs.Rank(centers.Lengths, 2, nameof(centers), "[classes, dim]");
        if (centers.Lengths[1] != input.Lengths[1])
        {
            ThrowHelper.Argument(nameof(centers), $"centers must have shape [classes, {input.Lengths[1]}] to match input {TensorArgs.Shape(input.Lengths)}, got {TensorArgs.Shape(centers.Lengths)}.");
        }

        return new FeaturesCentersCall<T>(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), TensorArgs.Flat(centers, nameof(centers)),
            batch, ThrowHelper.Product(nameof(centers), "classes", centers.Lengths[0]), dim);
    }
}

/// <summary>
/// What a loss with the two gradients of <see cref="FeaturesCentersCall{T}"/> supplies: the one-gradient kernel (its
/// value-only calls run through <see cref="EntryPoints"/>) and a run that writes d/d input and d/d centers.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IFeaturesCentersKernel<T> : ILayoutKernel<T, FeaturesCentersCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The kernel: Σ of the per-row losses when <paramref name="wantValue"/> (stored in <paramref name="values"/> when
    /// non-empty); writes each non-empty gradient × <paramref name="scale"/>, or × <paramref name="upstream"/> per row.
    /// </summary>
    double Run(scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> inputGradient, Span<T> centersGradient, T scale, ReadOnlySpan<T> upstream, bool wantValue);

    /// <summary>The same through the loss's float32 instance, for element types narrower than float32.</summary>
    double RunWidened(scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> inputGradient, Span<T> centersGradient, float scale, ReadOnlySpan<T> upstream, bool wantValue);
}

/// <summary>
/// The entry points of the features-and-centers layout where they differ from <see cref="EntryPoints"/>: two gradient
/// outputs, <c>inputGradient</c> and <c>centersGradient</c>, each optional (empty skips it). <c>Forward</c> is
/// <see cref="EntryPoints.Forward"/>. No avgFactor: Mean divides by what the loss's Prepare returns.
/// </summary>
/// <remarks>
/// Order of checks as in <see cref="EntryPoints"/>: the upstream form, the shapes, the outputs (destination with None,
/// then each given gradient's length; <c>centersGradient</c> must not overlap the inputs or <c>inputGradient</c>, as
/// it is written while they are read), then the data.
/// </remarks>
internal static class FeaturesCentersEntryPoints
{
    public static void Backward<T, TLoss>(TLoss loss, scoped in FeaturesCentersCall<T> call, T upstream, Span<T> inputGradient, Span<T> centersGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IFeaturesCentersKernel<T>
    {
        Reductions.CheckUpstreamScalar(loss.Reduction);
        double denominator = Prepare(loss, call, default, inputGradient, centersGradient, false);
        if (Float32Path.Applies<T>())
        {
            loss.RunWidened(call, default, inputGradient, centersGradient, Float32Path.GradientScale(loss.Reduction, upstream, denominator), default, false);
            return;
        }

        loss.Run(call, default, inputGradient, centersGradient, Reductions.GradientScale(loss.Reduction, upstream, denominator), default, false);
    }

    public static void Backward<T, TLoss>(TLoss loss, scoped in FeaturesCentersCall<T> call, ReadOnlySpan<T> upstream, Span<T> inputGradient, Span<T> centersGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IFeaturesCentersKernel<T>
    {
        Reductions.CheckUpstreamSpan(loss.Reduction, upstream.Length, call.ValueLength);
        Prepare(loss, call, default, inputGradient, centersGradient, false);
        if (Float32Path.Applies<T>())
        {
            loss.RunWidened(call, default, inputGradient, centersGradient, 1f, upstream, false);
            return;
        }

        loss.Run(call, default, inputGradient, centersGradient, T.One, upstream, false);
    }

    public static T ForwardBackward<T, TLoss>(TLoss loss, scoped in FeaturesCentersCall<T> call, Span<T> inputGradient, Span<T> centersGradient, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IFeaturesCentersKernel<T>
    {
        double denominator = Prepare(loss, call, destination, inputGradient, centersGradient, true);
        Span<T> values = loss.Reduction == Reduction.None ? destination : default;
        double sum = Float32Path.Applies<T>()
            ? loss.RunWidened(call, values, inputGradient, centersGradient, Float32Path.GradientScale(loss.Reduction, T.One, denominator), default, true)
            : loss.Run(call, values, inputGradient, centersGradient, Reductions.GradientScale(loss.Reduction, T.One, denominator), default, true);
        return Reductions.Finish<T>(loss.Reduction, sum, denominator);
    }

    /// <summary>
    /// The checks of a call, in order: shapes, outputs (the destination with None when <paramref name="valueCall"/>, the
    /// gradients given), data; returns the Mean denominator. Also for composite objectives that run the kernel themselves.
    /// </summary>
    public static double Prepare<T, TLoss>(TLoss loss, scoped in FeaturesCentersCall<T> call, Span<T> destination, Span<T> inputGradient, Span<T> centersGradient, bool valueCall)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoss : IFeaturesCentersKernel<T>
    {
        call.CheckShapes();
        if (valueCall && loss.Reduction == Reduction.None)
        {
            ThrowHelper.CheckDestination(destination.Length, call.ValueLength, nameof(destination));
        }

        if (!inputGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(inputGradient.Length, call.InputLength, nameof(inputGradient));
        }

        if (!centersGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(centersGradient.Length, call.Centers.Length, nameof(centersGradient));
            if (centersGradient.Overlaps(call.Input) || centersGradient.Overlaps(call.Centers) || centersGradient.Overlaps(inputGradient))
            {
                ThrowHelper.Argument(nameof(centersGradient), "centersGradient must not overlap input, centers or inputGradient.");
            }
        }

        return loss.Prepare(call, null);
    }

    /// <summary>An optional gradient tensor: empty skips it, otherwise it has the shape of what it differentiates.</summary>
    public static Span<T> Gradient<T>(in TensorSpan<T> gradient, ReadOnlySpan<nint> shape, string paramName)
    {
        if (gradient.FlattenedLength != 0)
        {
            TensorArgs.SameShape(gradient.Lengths, shape, paramName);
        }

        return TensorArgs.Flat(gradient, paramName);
    }
}
