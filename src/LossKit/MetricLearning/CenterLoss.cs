using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.MetricLearning;

/// <summary>Which published center-loss formula to reproduce.</summary>
public enum CenterLossConvention
{
    /// <summary>
    /// Wen et al. 2016 and the original Caffe layer (ydwen/caffe-face): <c>lᵢ = ½·‖xᵢ − c_yᵢ‖²</c>, Mean over the batch.
    /// </summary>
    Paper = 0,

    /// <summary>
    /// KaiyangZhou/pytorch-center-loss: no ½, the target distance clamped to [1e-12, 1e12] (no gradient outside, passes
    /// at the bounds), plus the (classes − 1)·1e-12 that the masked zeros of its distance matrix contribute per row
    /// after the same clamp: <c>lᵢ = clamp(‖xᵢ − c_yᵢ‖², 1e-12, 1e12) + (classes − 1)·1e-12</c>, Mean over the batch.
    /// </summary>
    KaiyangZhou = 1,
}

/// <summary>
/// Center loss (Wen et al., ECCV 2016) for features <c>x [batch × dim]</c>, class indices and class centers
/// <c>c [classes × dim]</c>: <c>L = (1/N)·Σᵢ ½‖xᵢ − c_yᵢ‖²</c> (paper and Caffe form; see
/// <see cref="CenterLossConvention"/> for the PyTorch variant), with gradients w.r.t. x and the centers and the paper's
/// separate center update (<see cref="UpdateCenters"/>).
/// </summary>
/// <remarks>
/// <para>Gradients (per row, times the reduction factor): paper <c>∂lᵢ/∂xᵢ = xᵢ − c_yᵢ</c>; KaiyangZhou
/// <c>2(xᵢ − c_yᵢ)</c> where 1e-12 ≤ ‖xᵢ − c_yᵢ‖² ≤ 1e12, else 0. For the centers <c>∂L/∂c_j = −Σ_{yᵢ=j} ∂L/∂xᵢ</c>; a
/// class with no samples gets 0.</para>
/// <para>Reduction: Mean (default) divides by the batch size N (the paper's 1/M, the Caffe layer's, KaiyangZhou's /B);
/// Sum; None writes per-row values. Empty batch: Sum 0, Mean NaN.</para>
/// <para>What the KaiyangZhou convention reproduces exactly: the value (including the (classes − 1)·1e-12 constant; for
/// x = [[1, 2], [0.5, −1], [3, 0]], y = [1, 2, 1], c = [[0, 0], [1, 1], [2, −2], [5, 5]] it gives
/// 3.0833333333363337 in double) and the gradients 2(x − c)/B and (2/B)Σ(c_j − xᵢ). What it does not: that code forms
/// the distance as ‖x‖² + ‖c‖² − 2x·c, which cancels for x ≈ c (it can round to 0 or below and then clamp to 1e-12);
/// here the distance is Σ(xᵢ − c)² directly, so the two differ by about ε·(‖x‖² + ‖c‖²) in the distance.</para>
/// <para>Special values: NaN in a row (of x or of its center) gives NaN for that row and its gradients; ±∞ gives ∞ loss
/// (NaN where ∞ − ∞). The distance is accumulated in T.</para>
/// </remarks>
public sealed class CenterLoss<T> : IFeaturesCentersKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lower clamp bound of the KaiyangZhou convention.</summary>
    public const double ClampMin = 1e-12;

    /// <summary>Upper clamp bound of the KaiyangZhou convention.</summary>
    public const double ClampMax = 1e12;

    private CenterLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="convention">Paper (default, ½, Caffe) or KaiyangZhou (PyTorch, no ½, clamp).</param>
    public CenterLoss(Reduction reduction = Reduction.Mean, CenterLossConvention convention = CenterLossConvention.Paper)
    {
        Reduction = Reductions.Validate(reduction);
        if (convention is not (CenterLossConvention.Paper or CenterLossConvention.KaiyangZhou))
        {
            ThrowHelper.OutOfRange(nameof(convention), convention, $"Unknown convention {convention}.");
        }

        Convention = convention;
    }

    /// <summary>How per-row losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>The formula reproduced.</summary>
    public CenterLossConvention Convention { get; }

    /// <summary>Computes the loss value.</summary>
    /// <param name="input">Features x, batch × dim.</param>
    /// <param name="target">Class index per row, in [0, classes).</param>
    /// <param name="centers">Centers c, classes × dim.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Rows of the centers (≥ 1).</param>
    /// <param name="dim">Feature size.</param>
    /// <param name="destination">With <see cref="Reduction.None"/>: receives the per-row losses (length batch).</param>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim, Span<T> destination = default) =>
        EntryPoints.Forward(this, new FeaturesCentersCall<T>(input, target, centers, batch, classes, dim), destination, null);

    /// <summary>Writes d loss/d x and d loss/d centers for a scalar upstream gradient (Mean or Sum); either may be empty to skip it.</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim, T upstream,
        Span<T> inputGradient, Span<T> centersGradient) =>
        FeaturesCentersEntryPoints.Backward(this, new FeaturesCentersCall<T>(input, target, centers, batch, classes, dim), upstream, inputGradient, centersGradient);

    /// <summary>Writes d loss/d x and d loss/d centers for a per-row upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim, ReadOnlySpan<T> upstream,
        Span<T> inputGradient, Span<T> centersGradient) =>
        FeaturesCentersEntryPoints.Backward(this, new FeaturesCentersCall<T>(input, target, centers, batch, classes, dim), upstream, inputGradient, centersGradient);

    /// <summary>The loss and its gradients (upstream 1) in one call; either gradient may be empty to skip it.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<int> target, ReadOnlySpan<T> centers, int batch, int classes, int dim,
        Span<T> inputGradient, Span<T> centersGradient, Span<T> destination = default) =>
        FeaturesCentersEntryPoints.ForwardBackward(this, new FeaturesCentersCall<T>(input, target, centers, batch, classes, dim), inputGradient, centersGradient, destination);

    /// <summary>Tensor form: input [batch, dim], target [batch], centers [classes, dim].</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> centers, TensorSpan<T> destination = default) =>
        EntryPoints.Forward(this, FeaturesCentersCall<T>.From(input, target, centers), EntryPoints.Destination(destination, target.Lengths, Reduction), null);

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> centers, T upstream,
        TensorSpan<T> inputGradient, TensorSpan<T> centersGradient) =>
        FeaturesCentersEntryPoints.Backward(this, FeaturesCentersCall<T>.From(input, target, centers), upstream,
            FeaturesCentersEntryPoints.Gradient(inputGradient, input.Lengths, nameof(inputGradient)),
            FeaturesCentersEntryPoints.Gradient(centersGradient, centers.Lengths, nameof(centersGradient)));

    /// <summary>Tensor form of the per-row-upstream backward (upstream [batch]).</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> centers, ReadOnlyTensorSpan<T> upstream,
        TensorSpan<T> inputGradient, TensorSpan<T> centersGradient) =>
        FeaturesCentersEntryPoints.Backward(this, FeaturesCentersCall<T>.From(input, target, centers), EntryPoints.Upstream(upstream, target.Lengths),
            FeaturesCentersEntryPoints.Gradient(inputGradient, input.Lengths, nameof(inputGradient)),
            FeaturesCentersEntryPoints.Gradient(centersGradient, centers.Lengths, nameof(centersGradient)));

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> target, ReadOnlyTensorSpan<T> centers,
        TensorSpan<T> inputGradient, TensorSpan<T> centersGradient, TensorSpan<T> destination = default) =>
        FeaturesCentersEntryPoints.ForwardBackward(this, FeaturesCentersCall<T>.From(input, target, centers),
            FeaturesCentersEntryPoints.Gradient(inputGradient, input.Lengths, nameof(inputGradient)),
            FeaturesCentersEntryPoints.Gradient(centersGradient, centers.Lengths, nameof(centersGradient)),
            EntryPoints.Destination(destination, target.Lengths, Reduction));

    /// <summary>
    /// The paper's center update (Wen et al. eq. 4; caffe-face's center diff with the solver step):
    /// <c>Δc_j = Σ_{yᵢ=j}(c_j − xᵢ) / (1 + n_j)</c>, <c>c_j ← c_j − α·Δc_j</c>, evaluated as
    /// <c>c_j·(1 − α·n_j/(1 + n_j)) + α·Σ_{yᵢ=j} xᵢ/(1 + n_j)</c>. Classes with no sample in the batch (n_j = 0) are not
    /// touched. This is not a gradient step: not × λ, not / N.
    /// </summary>
    /// <param name="input">Features x, batch × dim.</param>
    /// <param name="target">Class index per row, in [0, classes).</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Rows of the centers.</param>
    /// <param name="dim">Feature size.</param>
    /// <param name="centers">Centers, classes × dim, updated in place.</param>
    /// <param name="alpha">Rate α ≥ 0, finite (the paper uses α in [0, 1]; caffe-face base_lr × lr_mult).</param>
    /// <param name="counts">Workspace of at least classes ints; receives n_j, the samples of each class in the batch.</param>
    public static void UpdateCenters(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, int dim, Span<T> centers, double alpha, Span<int> counts) =>
        CenterUpdate<T>.Apply(input, target, batch, classes, dim, centers, alpha, counts);

    /// <summary>
    /// The kernel: per-row values (stored when asked) and their sum; d/dx written (or, with <paramref name="accumulateInput"/>,
    /// added) with the factor <paramref name="scale"/> or the per-row <paramref name="upstream"/>; d/dc overwritten.
    /// The row pass runs when the value, the values or d/dx are wanted; the per-class pass when d/dc is.
    /// </summary>
    internal unsafe double Run(scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> inputGradient, Span<T> centersGradient, T scale,
        ReadOnlySpan<T> upstream, bool accumulateInput, bool wantValue)
    {
        bool kz = Convention == CenterLossConvention.KaiyangZhou;
        int batch = call.Batch, classes = call.Classes, dim = call.Dim;
        double total = 0;
        fixed (T* x = call.Input, c = call.Centers, v = values, gx = inputGradient, gc = centersGradient, u = upstream)
        fixed (int* y = call.Target)
        {
            if (wantValue || !values.IsEmpty || !inputGradient.IsEmpty)
            {
                var kernel = new CenterLossKernels<T>.RowKernel
                {
                    X = x, Centers = c, Y = y, Values = values.IsEmpty ? null : v, G = inputGradient.IsEmpty ? null : gx,
                    Up = upstream.IsEmpty ? null : u, Scale = scale, Dim = dim, KaiyangZhou = kz, Accumulate = accumulateInput,
                    Constant = kz ? T.CreateTruncating((classes - 1) * ClampMin) : T.Zero,
                    Lo = T.CreateTruncating(ClampMin), Hi = T.CreateTruncating(ClampMax),
                };
                total = RowDriver.Run(ref kernel, batch, dim);
            }

            if (!centersGradient.IsEmpty)
            {
                CenterLossKernels<T>.CentersGradient(x, y, c, gc, upstream.IsEmpty ? null : u, scale, batch, classes, dim, kz);
            }
        }

        return total;
    }

    /// <summary>Targets must be class indices in [0, classes); the Mean denominator is the batch size.</summary>
    double ILayoutKernel<T, FeaturesCentersCall<T>>.Prepare(scoped in FeaturesCentersCall<T> call, double? avgFactor)
    {
        DataChecks.ClassIndices(call.Target, call.Classes, 0, false);
        return Reductions.MeanDenominator(Reduction, call.Batch, avgFactor);
    }

    double ILayoutKernel<T, FeaturesCentersCall<T>>.Run(scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Run(call, values, gradient, default, scale, upstream, false, true);

    double IFeaturesCentersKernel<T>.Run(scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> inputGradient, Span<T> centersGradient, T scale,
        ReadOnlySpan<T> upstream, bool wantValue) =>
        Run(call, values, inputGradient, centersGradient, scale, upstream, false, wantValue);

    /// <summary>The same loss in float32, which computes for narrow element types.</summary>
    internal CenterLoss<float> Float32 => _float32 ??= new CenterLoss<float>(Reduction, Convention);

    double ILayoutKernel<T, FeaturesCentersCall<T>>.RunWidened(scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        ((IFeaturesCentersKernel<T>)this).RunWidened(call, values, gradient, default, scale, upstream, true);

    double IFeaturesCentersKernel<T>.RunWidened(scoped in FeaturesCentersCall<T> call, Span<T> values, Span<T> inputGradient, Span<T> centersGradient, float scale,
        ReadOnlySpan<T> upstream, bool wantValue) =>
        Widened.Run(Float32, call, values, inputGradient, centersGradient, scale, upstream, wantValue);
}
