using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.Classification;

/// <summary>
/// Kullback–Leibler divergence, as <c>torch.nn.KLDivLoss(reduction='mean', log_target=False)</c>. The input holds
/// log-probabilities x; the target holds probabilities t (or log-probabilities with <c>logTarget</c>).
/// Pointwise <c>l = xlogy(t, t) − t·x</c> (0 where t = 0), gradient <c>−t</c>; with logTarget <c>l = e^t·(t − x)</c>,
/// gradient <c>−e^t</c>.
/// </summary>
/// <remarks>Reductions: None, Mean (divides by the element count, as PyTorch's default, which is not the true KL),
/// Sum, and <see cref="Reduction.BatchMean"/> (sum / batch, the mathematically correct KL per sample). Negative
/// targets give NaN (log of a negative), as PyTorch. NaN propagates; t = 0 with x = −∞ gives NaN (0·∞), as PyTorch.
/// Empty input: Sum 0, Mean and BatchMean NaN.</remarks>
public sealed class KLDivergenceLoss<T> : ILayoutKernel<T, ElementwiseCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private KLDivergenceLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default), Sum or BatchMean.</param>
    /// <param name="logTarget">Whether the target is given as log-probabilities (default false).</param>
    public KLDivergenceLoss(Reduction reduction = Reduction.Mean, bool logTarget = false)
    {
        Reduction = Reductions.Validate(reduction, allowBatchMean: true);
        LogTarget = logTarget;
    }

    /// <summary>How pointwise terms are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>Whether the target holds log-probabilities.</summary>
    public bool LogTarget { get; }

    /// <summary>Computes the loss.</summary>
    /// <param name="input">Log-probabilities, batch × features (flattened).</param>
    /// <param name="target">Probabilities (or log-probabilities), same length.</param>
    /// <param name="batch">The first dimension (used by BatchMean; the length must be a multiple of it).</param>
    /// <param name="destination">With None: receives the pointwise terms (required).</param>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, Span<T> destination = default) =>
        EntryPoints.Forward(this, Call(input, target, batch), destination, null);

    /// <summary>d loss / d input for a scalar upstream gradient.</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, T upstream, Span<T> gradient) =>
        EntryPoints.Backward(this, Call(input, target, batch), upstream, gradient, null);

    /// <summary>d loss / d input for a per-element upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, ReadOnlySpan<T> upstream, Span<T> gradient) =>
        EntryPoints.Backward(this, Call(input, target, batch), upstream, gradient);

    /// <summary>Loss and gradient in one pass.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, Span<T> gradient, Span<T> destination = default) =>
        EntryPoints.ForwardBackward(this, Call(input, target, batch), gradient, destination, null);

    /// <summary>Tensor form; the batch is the first dimension.</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default) =>
        EntryPoints.Forward(this, ElementwiseCall<T>.From(input, target, default, batched: true), EntryPoints.Destination(destination, input.Lengths, Reduction), null);

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient, TensorSpan<T> destination = default) =>
        EntryPoints.ForwardBackward(this, ElementwiseCall<T>.From(input, target, default, batched: true), EntryPoints.Gradient(gradient, input.Lengths),
            EntryPoints.Destination(destination, input.Lengths, Reduction), null);

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient) =>
        EntryPoints.Backward(this, ElementwiseCall<T>.From(input, target, default, batched: true), upstream, EntryPoints.Gradient(gradient, input.Lengths), null);

    /// <summary>Tensor form of the per-element-upstream backward (Reduction.None).</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient) =>
        EntryPoints.Backward(this, ElementwiseCall<T>.From(input, target, default, batched: true), EntryPoints.Upstream(upstream, input.Lengths),
            EntryPoints.Gradient(gradient, input.Lengths));

    private static ElementwiseCall<T> Call(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch)
    {
        ThrowHelper.CheckDimension(batch, nameof(batch));
        return new ElementwiseCall<T>(input, target, default, batch);
    }

    double ILayoutKernel<T, ElementwiseCall<T>>.RunWidened(scoped in ElementwiseCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run(_float32 ??= new KLDivergenceLoss<float>(Reduction, LogTarget), call, values, gradient, scale, upstream);

    double ILayoutKernel<T, ElementwiseCall<T>>.Prepare(scoped in ElementwiseCall<T> call, double? avgFactor) =>
        Reduction == Reduction.BatchMean ? call.Batch : call.Input.Length;

    double ILayoutKernel<T, ElementwiseCall<T>>.Run(scoped in ElementwiseCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        LogTarget
            ? Pointwise.Run(default(LogTargetOp), call.Input, call.Target, default, values, gradient, scale, upstream)
            : Pointwise.Run(default(ProbabilityOp), call.Input, call.Target, default, values, gradient, scale, upstream);

    private readonly struct ProbabilityOp : IPointwiseOp<T>
    {
        public T Value(T x, T t) => (t == T.Zero ? T.Zero : t * T.Log(t)) - t * x;

        public T Value(T x, T t, out T gradient)
        {
            gradient = -t;
            return Value(x, t);
        }

        public Vector<T> Value(Vector<T> x, Vector<T> t)
        {
            Vector<T> xlogy = Vector.ConditionalSelect(Vector.Equals(t, Vector<T>.Zero), Vector<T>.Zero, t * VMath.Log(t));
            return xlogy - t * x;
        }

        public Vector<T> Value(Vector<T> x, Vector<T> t, out Vector<T> gradient)
        {
            gradient = -t;
            return Value(x, t);
        }
    }

    private readonly struct LogTargetOp : IPointwiseOp<T>
    {
        public T Value(T x, T t) => T.Exp(t) * (t - x);

        public T Value(T x, T t, out T gradient)
        {
            T e = T.Exp(t);
            gradient = -e;
            return e * (t - x);
        }

        public Vector<T> Value(Vector<T> x, Vector<T> t) => VMath.Exp(t) * (t - x);

        public Vector<T> Value(Vector<T> x, Vector<T> t, out Vector<T> gradient)
        {
            Vector<T> e = VMath.Exp(t);
            gradient = -e;
            return e * (t - x);
        }
    }
}
