using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.Detection;

/// <summary>
/// Distribution focal loss (GFL, Li et al. 2020), as mmdetection's <c>DistributionFocalLoss</c>
/// (<c>mmdet/models/losses/gfocal_loss.py</c>, <c>distribution_focal_loss</c>), on logits <c>input [batch × bins]</c> over the bins 0 … bins − 1 of one box edge and a continuous target y per row:
/// with l = ⌊y⌋ and r = l + 1, <c>loss = CE(z, l)·(r − y) + CE(z, r)·(y − l)</c>, where
/// CE(z, k) = (m − z_k) + ln Σ e^(z − m) is cross-entropy with a max-subtracted log-sum-exp (m = max z).
/// </summary>
/// <remarks>
/// <para>Gradient: <c>∂/∂z_j = (w_l + w_r)·p_j − w_l·[j = l] − w_r·[j = r]</c> with p = softmax(z), w_l = r − y,
/// w_r = y − l (w_l + w_r = 1 up to rounding).</para>
/// <para>Targets must satisfy 0 ≤ y &lt; bins − 1, so that r is a valid bin (ArgumentOutOfRangeException naming
/// <c>target</c>, with the index and value; NaN throws too). The bin count is just <c>bins</c>; callers keep targets
/// inside it as the references do: mmdetection's GFL head (reg_max 16, 17 bins) expects targets ≤ 15.9 (its
/// point-distance box coder clamps to reg_max − 0.1), and ultralytics' <c>DFLoss</c> (reg_max 16, 16 bins) clamps
/// targets to [0, 14.99] itself. Ultralytics also takes w_r = 1 − w_l (equal up to rounding) and averages the four
/// edges of a box; with this type that is a None reduction over rows followed by a mean per group of 4.</para>
/// <para>Reduction: default Mean = Σ / batch, or Σ / (avgFactor + float32 eps) with mmdetection's avg_factor (GFL passes
/// 4 per positive); Sum; None writes per-row losses. The optional per-row weight multiplies each row's loss
/// (mmdetection's weight; GFL repeats each anchor's quality weight over its 4 edges).</para>
/// <para>Special values: NaN logits give NaN for that row; a +∞ logit gives NaN (∞ − ∞); finite logits of any size
/// (±1e4) give finite values and gradients. Empty batch: Sum 0, Mean NaN.</para>
/// </remarks>
public sealed class DistributionFocalLoss<T> : ILayoutKernel<T, BinsCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private DistributionFocalLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public DistributionFocalLoss(Reduction reduction = Reduction.Mean) => Reduction = Reductions.Validate(reduction);

    /// <summary>How per-row losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>Computes the loss value.</summary>
    /// <param name="input">Logits over the bins, batch × bins, row-major.</param>
    /// <param name="target">Continuous target per row, 0 ≤ y &lt; bins − 1.</param>
    /// <param name="batch">Rows (anchors × edges).</param>
    /// <param name="bins">Bins per row (≥ 2).</param>
    /// <param name="destination">With <see cref="Reduction.None"/>: receives the per-row losses (required, length batch).</param>
    /// <param name="weight">Optional per-row weight (length batch).</param>
    /// <param name="avgFactor">mmdetection's avg_factor: Mean divides by avgFactor + float32 eps instead of batch (not with Sum).</param>
    /// <returns>The reduced loss (with None: the sum of the per-row losses).</returns>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int bins,
        Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, new BinsCall<T>(input, target, batch, bins, weight), destination, avgFactor);

    /// <summary>Writes d loss / d input (batch × bins) for a scalar upstream gradient (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int bins,
        T upstream, Span<T> gradient, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, new BinsCall<T>(input, target, batch, bins, weight), upstream, gradient, avgFactor);

    /// <summary>Writes d loss / d input (batch × bins) for a per-row upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int bins,
        ReadOnlySpan<T> upstream, Span<T> gradient, ReadOnlySpan<T> weight = default) =>
        EntryPoints.Backward(this, new BinsCall<T>(input, target, batch, bins, weight), upstream, gradient);

    /// <summary>Computes the loss and d loss / d input (upstream 1) in one pass.</summary>
    /// <returns>The reduced loss (with None: the sum of the per-row losses, whose gradient is written).</returns>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int bins,
        Span<T> gradient, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, new BinsCall<T>(input, target, batch, bins, weight), gradient, destination, avgFactor);

    /// <summary>Tensor form: <paramref name="input"/> [batch, bins]; <paramref name="target"/>, <paramref name="weight"/>
    /// and <paramref name="destination"/> [batch].</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default,
        ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, BinsCall<T>.From(input, target, weight), EntryPoints.Destination(destination, target.Lengths, Reduction), avgFactor);

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient,
        ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, BinsCall<T>.From(input, target, weight), upstream, EntryPoints.Gradient(gradient, input.Lengths), avgFactor);

    /// <summary>Tensor form of the per-row-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient,
        ReadOnlyTensorSpan<T> weight = default) =>
        EntryPoints.Backward(this, BinsCall<T>.From(input, target, weight), EntryPoints.Upstream(upstream, target.Lengths), EntryPoints.Gradient(gradient, input.Lengths));

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient,
        TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, BinsCall<T>.From(input, target, weight), EntryPoints.Gradient(gradient, input.Lengths),
            EntryPoints.Destination(destination, target.Lengths, Reduction), avgFactor);

    /// <summary>Targets must satisfy 0 ≤ y &lt; bins − 1 (NaN fails); returns the Mean denominator.</summary>
    double ILayoutKernel<T, BinsCall<T>>.Prepare(scoped in BinsCall<T> call, double? avgFactor)
    {
        // Fast vectorised check (Min/Max propagate NaN, which fails the comparison), then find the offender.
        ReadOnlySpan<T> target = call.Target;
        int bins = call.Bins;
        T upper = T.CreateTruncating(bins - 1);
        if (!target.IsEmpty && !(TensorPrimitives.Min(target) >= T.Zero && TensorPrimitives.Max(target) < upper))
        {
            for (int i = 0; i < target.Length; i++)
            {
                if (!(target[i] >= T.Zero && target[i] < upper))
                {
                    ThrowHelper.OutOfRange(nameof(target), target[i],
                        $"target[{i}] = {target[i]} must satisfy 0 <= target < bins - 1 = {bins - 1} (floor and floor + 1 must be bins).");
                }
            }
        }

        return Reductions.MeanDenominator(Reduction, call.Batch, avgFactor);
    }

    double ILayoutKernel<T, BinsCall<T>>.RunWidened(scoped in BinsCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run(_float32 ??= new DistributionFocalLoss<float>(Reduction), call, values, gradient, scale, upstream);

    unsafe double ILayoutKernel<T, BinsCall<T>>.Run(scoped in BinsCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        fixed (T* x = call.Input, y = call.Target, w = call.Weight, v = values, g = gradient, u = upstream)
        {
            var kernel = new Kernel
            {
                X = x, Target = y, W = call.Weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v,
                G = gradient.IsEmpty ? null : g, Up = upstream.IsEmpty ? null : u, Scale = scale, C = call.Bins,
            };
            return RowDriver.Run(ref kernel, call.Batch, call.Bins);
        }
    }

    /// <summary>One row: max, Σ e^(z − m) (stored into the gradient row), the two cross-entropies, then the gradient.</summary>
    private unsafe struct Kernel : IRowKernel
    {
        public T* X, Target, W, Values, G, Up;
        public T Scale;
        public int C;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * C;
                T* g = G == null ? null : G + (long)r * C;
                T y = Target[r];
                T floor = T.Floor(y);
                int left = int.CreateTruncating(floor);
                T weightLeft = (floor + T.One) - y;
                T weightRight = y - floor;
                T m = RowMath.Max(x, C);
                T s = RowMath.SumExpShifted(x, g, C, m);
                T logSum = T.Log(s);
                T wr = W == null ? T.One : W[r];

                // CE(z, k) = (m − z_k) + ln s: the difference to the maximum first keeps float accurate at ±1e4 logits.
                T loss = (((m - x[left]) + logSum) * weightLeft + ((m - x[left + 1]) + logSum) * weightRight) * wr;
                if (Values != null)
                {
                    Values[r] = loss;
                }

                total += double.CreateTruncating(loss);
                if (g != null)
                {
                    // g_j = k·[(w_l + w_r)·e_j/s − w_l·δ_jl − w_r·δ_jr], k = upstream × row weight.
                    T k = (Up == null ? Scale : Up[r]) * wr;
                    RowMath.ScaleSubtract(g, null, C, k * (weightLeft + weightRight) / s, T.Zero);
                    g[left] -= k * weightLeft;
                    g[left + 1] -= k * weightRight;
                }
            }

            return total;
        }
    }
}
