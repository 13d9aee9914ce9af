using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;

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
public sealed class KLDivergenceLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
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
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, Span<T> destination = default)
    {
        double denominator = Validate(input, target, batch, destination, default, Reduction == Reduction.None, false);
        double sum = Run(input, target, Reduction == Reduction.None ? destination : default, default, T.Zero, default);
        return Reductions.Finish<T>(Reduction, sum, denominator);
    }

    /// <summary>d loss / d input for a scalar upstream gradient.</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, T upstream, Span<T> gradient)
    {
        Reductions.CheckUpstreamScalar(Reduction);
        double denominator = Validate(input, target, batch, default, gradient, false, true);
        Run(input, target, default, gradient, Reductions.GradientScale(Reduction, upstream, denominator), default);
    }

    /// <summary>d loss / d input for a per-element upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, ReadOnlySpan<T> upstream, Span<T> gradient)
    {
        Reductions.CheckUpstreamSpan(Reduction, upstream.Length, input.Length);
        Validate(input, target, batch, default, gradient, false, true);
        Run(input, target, default, gradient, T.One, upstream);
    }

    /// <summary>Loss and gradient in one pass.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, Span<T> gradient, Span<T> destination = default)
    {
        double denominator = Validate(input, target, batch, destination, gradient, Reduction == Reduction.None, true);
        double sum = Run(input, target, Reduction == Reduction.None ? destination : default, gradient,
            Reductions.GradientScale(Reduction, T.One, denominator), default);
        return Reductions.Finish<T>(Reduction, sum, denominator);
    }

    /// <summary>Tensor form; the batch is the first dimension.</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default)
    {
        TensorArgs.SameShape(target.Lengths, input.Lengths, nameof(target));
        return Forward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), BatchOf(input), TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient, TensorSpan<T> destination = default)
    {
        TensorArgs.SameShape(target.Lengths, input.Lengths, nameof(target));
        TensorArgs.SameShape(gradient.Lengths, input.Lengths, nameof(gradient));
        return ForwardBackward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), BatchOf(input),
            TensorArgs.Flat(gradient, nameof(gradient)), TensorArgs.Flat(destination, nameof(destination)));
    }

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient)
    {
        TensorArgs.SameShape(target.Lengths, input.Lengths, nameof(target));
        TensorArgs.SameShape(gradient.Lengths, input.Lengths, nameof(gradient));
        Backward(TensorArgs.Flat(input, nameof(input)), TensorArgs.Flat(target, nameof(target)), BatchOf(input), upstream, TensorArgs.Flat(gradient, nameof(gradient)));
    }

    private static int BatchOf(in ReadOnlyTensorSpan<T> input) => input.Rank == 0 ? 1 : checked((int)input.Lengths[0]);

    private double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        LogTarget
            ? Pointwise.Run(default(LogTargetOp), input, target, default, values, gradient, scale, upstream)
            : Pointwise.Run(default(ProbabilityOp), input, target, default, values, gradient, scale, upstream);

    private double Validate(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, Span<T> values, Span<T> gradient, bool requireValues, bool requireGradient)
    {
        ThrowHelper.CheckDimension(batch, nameof(batch));
        ThrowHelper.CheckLength(target.Length, input.Length, nameof(target), "one per input element");
        if (batch == 0 ? input.Length != 0 : input.Length % batch != 0)
        {
            ThrowHelper.Argument(nameof(batch), $"input length {input.Length} is not a multiple of batch = {batch}.");
        }

        if (requireValues)
        {
            ThrowHelper.CheckDestination(values.Length, input.Length, "destination");
        }

        if (requireGradient)
        {
            ThrowHelper.CheckDestination(gradient.Length, input.Length, nameof(gradient));
        }

        return Reduction == Reduction.BatchMean ? batch : input.Length;
    }

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
