using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.MetricLearning;

/// <summary>
/// Cosine embedding loss over pairs of embeddings, as <c>torch.nn.CosineEmbeddingLoss(margin=0.0, reduction='mean')</c>:
/// with <c>cos = x1·x2 / √((‖x1‖² + ε)(‖x2‖² + ε))</c>, ε = 1e-12 (PyTorch's), the loss of a pair is <c>1 − cos</c>
/// for y = 1 and <c>max(0, cos − margin)</c> for y = −1.
/// </summary>
/// <remarks>
/// <para>Gradient: ∂cos/∂x1 = x2/D − cos·x1/(‖x1‖² + ε), D the denominator, likewise for x2; times −1 for y = 1, and for
/// y = −1 times 1 where cos ≥ margin (the clamp passes its gradient at the boundary, as autograd's clamp_min does).</para>
/// <para>Inputs [batch × dim] row-major; targets ±1 (others throw ArgumentOutOfRangeException naming <c>target</c>;
/// PyTorch gives 0 for them). Mean divides by the batch. Zero vectors give cos = 0 (ε keeps D positive). NaN
/// propagates to its pair; empty batch: Sum 0, Mean NaN.</para>
/// </remarks>
public sealed class CosineEmbeddingLoss<T> : IPairKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double Epsilon = 1e-12;

    private CosineEmbeddingLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="margin">Margin for dissimilar pairs, in [−1, 1] (default 0; PyTorch suggests 0 to 0.5).</param>
    public CosineEmbeddingLoss(Reduction reduction = Reduction.Mean, double margin = 0.0)
    {
        Reduction = Reductions.Validate(reduction);
        Margin = ThrowHelper.CheckInRange(margin, -1.0, 1.0, nameof(margin));
    }

    /// <summary>How the per-pair losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>The margin for y = −1.</summary>
    public double Margin { get; }

    /// <summary>Computes the loss (with None the per-pair losses go to <paramref name="destination"/>, length batch).</summary>
    public T Forward(ReadOnlySpan<T> input1, ReadOnlySpan<T> input2, ReadOnlySpan<T> target, int batch, int dim, Span<T> destination = default) =>
        EntryPoints.Forward(this, new PairCall<T>(input1, input2, target, batch, dim), destination, null);

    /// <summary>Writes d loss / d input1 and d input2 for a scalar upstream gradient (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> input1, ReadOnlySpan<T> input2, ReadOnlySpan<T> target, int batch, int dim, T upstream, Span<T> gradient1, Span<T> gradient2) =>
        PairEntryPoints.Backward(this, new PairCall<T>(input1, input2, target, batch, dim), upstream, gradient1, gradient2);

    /// <summary>Writes both gradients for a per-pair upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input1, ReadOnlySpan<T> input2, ReadOnlySpan<T> target, int batch, int dim, ReadOnlySpan<T> upstream,
        Span<T> gradient1, Span<T> gradient2) =>
        PairEntryPoints.Backward(this, new PairCall<T>(input1, input2, target, batch, dim), upstream, gradient1, gradient2);

    /// <summary>The loss and both gradients (upstream 1) in one pass.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input1, ReadOnlySpan<T> input2, ReadOnlySpan<T> target, int batch, int dim, Span<T> gradient1, Span<T> gradient2,
        Span<T> destination = default) =>
        PairEntryPoints.ForwardBackward(this, new PairCall<T>(input1, input2, target, batch, dim), gradient1, gradient2, destination);

    /// <summary>Tensor form: input1, input2 [batch, dim], target [batch].</summary>
    public T Forward(ReadOnlyTensorSpan<T> input1, ReadOnlyTensorSpan<T> input2, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default) =>
        EntryPoints.Forward(this, PairCall<T>.From(input1, input2, target), EntryPoints.Destination(destination, target.Lengths, Reduction), null);

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input1, ReadOnlyTensorSpan<T> input2, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient1,
        TensorSpan<T> gradient2) =>
        PairEntryPoints.Backward(this, PairCall<T>.From(input1, input2, target), upstream, EntryPoints.Gradient(gradient1, input1.Lengths, nameof(gradient1)),
            EntryPoints.Gradient(gradient2, input1.Lengths, nameof(gradient2)));

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input1, ReadOnlyTensorSpan<T> input2, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient1,
        TensorSpan<T> gradient2, TensorSpan<T> destination = default) =>
        PairEntryPoints.ForwardBackward(this, PairCall<T>.From(input1, input2, target), EntryPoints.Gradient(gradient1, input1.Lengths, nameof(gradient1)),
            EntryPoints.Gradient(gradient2, input1.Lengths, nameof(gradient2)), EntryPoints.Destination(destination, target.Lengths, Reduction));

    double ILayoutKernel<T, PairCall<T>>.Prepare(scoped in PairCall<T> call, double? avgFactor)
    {
        DataChecks.PlusMinusOne(call.Target, "target");
        return call.Batch;
    }

    double ILayoutKernel<T, PairCall<T>>.Run(scoped in PairCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        ((IPairKernel<T>)this).Run(call, values, default, default, scale, upstream);

    double ILayoutKernel<T, PairCall<T>>.RunWidened(scoped in PairCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        ((IPairKernel<T>)this).RunWidened(call, values, default, default, scale, upstream);

    double IPairKernel<T>.RunWidened(scoped in PairCall<T> call, Span<T> values, Span<T> gradient1, Span<T> gradient2, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run(_float32 ??= new CosineEmbeddingLoss<float>(Reduction, Margin), call, values, gradient1, gradient2, scale, upstream);

    double IPairKernel<T>.Run(scoped in PairCall<T> call, Span<T> values, Span<T> gradient1, Span<T> gradient2, T scale, ReadOnlySpan<T> upstream)
    {
        int dim = call.Dim;
        double sum = 0;
        for (int i = 0; i < call.Batch; i++)
        {
            ReadOnlySpan<T> a = call.Input1.Slice(i * dim, dim), b = call.Input2.Slice(i * dim, dim);
            double p = 0, ma = Epsilon, mb = Epsilon;
            for (int j = 0; j < dim; j++)
            {
                double x = double.CreateTruncating(a[j]), y = double.CreateTruncating(b[j]);
                p += x * y;
                ma += x * x;
                mb += y * y;
            }

            double d = Math.Sqrt(ma * mb), cos = p / d;
            bool similar = call.Target[i] == T.One;
            double loss = similar ? 1 - cos : Math.Max(cos - Margin, 0);
            double slope = similar ? -1 : cos - Margin >= 0 ? 1 : 0;
            sum += loss;
            if (!values.IsEmpty)
            {
                values[i] = T.CreateTruncating(loss);
            }

            if (gradient1.IsEmpty)
            {
                continue;
            }

            double s = slope * double.CreateTruncating(upstream.IsEmpty ? scale : upstream[i]);
            Span<T> ga = gradient1.Slice(i * dim, dim), gb = gradient2.Slice(i * dim, dim);
            for (int j = 0; j < dim; j++)
            {
                double x = double.CreateTruncating(a[j]), y = double.CreateTruncating(b[j]);
                ga[j] = T.CreateTruncating(s * (y / d - cos * x / ma));
                gb[j] = T.CreateTruncating(s * (x / d - cos * y / mb));
            }
        }

        return sum;
    }
}
