using System.Numerics;
using LossKit.Internal;

namespace LossKit.Layouts;

/// <summary>
/// Each layout call run by a float32 kernel for a narrow element type (<see cref="Float32Path"/>): the call's
/// floating-point spans widened into rented float32 copies, integer spans and shapes passed as they are, the outputs
/// rounded back to the narrow type (see <see cref="WideScope{T}.Run"/>).
/// </summary>
internal static class Widened
{
    public static double Run<T>(ILayoutKernel<float, ElementwiseCall<float>> kernel, scoped in ElementwiseCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new ElementwiseCall<float>(wide.Read(call.Input), wide.Read(call.Target), wide.Read(call.Weight), call.Batch);
        return wide.Run(kernel, wideCall, values, gradient, scale, upstream);
    }

    public static double Run<T>(ILayoutKernel<float, ClassIndexCall<float>> kernel, scoped in ClassIndexCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new ClassIndexCall<float>(wide.Read(call.Input), call.Target, call.Batch, call.Classes);
        return wide.Run(kernel, wideCall, values, gradient, scale, upstream);
    }

    public static double Run<T>(ILayoutKernel<float, ProbabilityRowsCall<float>> kernel, scoped in ProbabilityRowsCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new ProbabilityRowsCall<float>(wide.Read(call.Input), wide.Read(call.Target), call.Batch, call.Classes);
        return wide.Run(kernel, wideCall, values, gradient, scale, upstream);
    }

    public static double Run<T>(ILayoutKernel<float, BoxCall<float>> kernel, scoped in BoxCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new BoxCall<float>(wide.Read(call.Predicted), wide.Read(call.Target), wide.Read(call.Weight));
        return wide.Run(kernel, wideCall, values, gradient, scale, upstream);
    }

    public static double Run<T>(ILayoutKernel<float, ScoredRowsCall<float>> kernel, scoped in ScoredRowsCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new ScoredRowsCall<float>(wide.Read(call.Input), call.Labels, wide.Read(call.Scores), call.Batch, call.Classes, wide.Read(call.Weight));
        return wide.Run(kernel, wideCall, values, gradient, scale, upstream);
    }

    public static double Run<T>(ILayoutKernel<float, BinsCall<float>> kernel, scoped in BinsCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new BinsCall<float>(wide.Read(call.Input), wide.Read(call.Target), call.Batch, call.Bins, wide.Read(call.Weight));
        return wide.Run(kernel, wideCall, values, gradient, scale, upstream);
    }

    /// <summary>The features-and-centres call with its two gradients (centre loss).</summary>
    public static double Run<T>(IFeaturesCentersKernel<float> kernel, scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> inputGradient, Span<T> centersGradient,
        float scale, ReadOnlySpan<T> upstream, bool wantValue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new FeaturesCentersCall<float>(wide.Read(call.Input), call.Target, wide.Read(call.Centers), call.Batch, call.Classes, call.Dim);
        Span<float> v = wide.Output(values, call.ValueLength), gi = wide.Output(inputGradient, call.InputLength), gc = wide.Output(centersGradient, call.Centers.Length);
        double sum = kernel.Run(wideCall, v, gi, gc, scale, wide.Read(upstream), wantValue);
        WideScope<T>.Narrow(v, values);
        WideScope<T>.Narrow(gi, inputGradient);
        WideScope<T>.Narrow(gc, centersGradient);
        return sum;
    }

    /// <summary>The pair call with its two gradients (cosine embedding).</summary>
    public static double Run<T>(IPairKernel<float> kernel, scoped in PairCall<T> call, Span<T> values, Span<T> gradient1, Span<T> gradient2, float scale, ReadOnlySpan<T> upstream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var wide = WideScope<T>.Start();
        var wideCall = new PairCall<float>(wide.Read(call.Input1), wide.Read(call.Input2), wide.Read(call.Target), call.Batch, call.Dim);
        Span<float> v = wide.Output(values, call.ValueLength), g1 = wide.Output(gradient1, call.InputLength), g2 = wide.Output(gradient2, call.InputLength);
        double sum = kernel.Run(wideCall, v, g1, g2, scale, wide.Read(upstream));
        WideScope<T>.Narrow(v, values);
        WideScope<T>.Narrow(g1, gradient1);
        WideScope<T>.Narrow(g2, gradient2);
        return sum;
    }
}
