using System.Numerics;
using LossKit.Internal;

namespace LossKit;

/// <summary>How per-element losses are combined into the returned value (PyTorch's <c>reduction</c> argument).</summary>
public enum Reduction
{
    /// <summary>No reduction: per-element values go to a destination span; the entry points return their sum.</summary>
    None = 0,

    /// <summary>
    /// The sum divided by the loss's mean denominator: the element count for most losses; Σ of the target weights of
    /// non-ignored rows for class-index cross-entropy and NLL (PyTorch's weighted mean); the row count for
    /// probability-target cross-entropy and the margin losses. The mean of nothing is NaN, as in PyTorch.
    /// </summary>
    Mean = 1,

    /// <summary>The plain sum (0 for empty input).</summary>
    Sum = 2,

    /// <summary>The sum divided by the batch size (first dimension); KL divergence only, as PyTorch's <c>batchmean</c>.</summary>
    BatchMean = 3,
}

/// <summary>
/// The one place where reductions are applied: turning a sum into the returned value and an upstream gradient into the
/// factor every per-element gradient is multiplied by. Losses compute (sum, denominator) and call these.
/// </summary>
internal static class Reductions
{
    /// <summary>Throws unless <paramref name="reduction"/> is None, Mean or Sum (or BatchMean where allowed).</summary>
    public static Reduction Validate(Reduction reduction, bool allowBatchMean = false, string paramName = "reduction")
    {
        if (reduction is Reduction.None or Reduction.Mean or Reduction.Sum || (allowBatchMean && reduction == Reduction.BatchMean))
        {
            return reduction;
        }

        ThrowHelper.OutOfRange(paramName, reduction,
            allowBatchMean ? "reduction must be None, Mean, Sum or BatchMean." : "reduction must be None, Mean or Sum (BatchMean is for KL divergence only).");
        return default;
    }

    /// <summary>
    /// The reduced value: the sum, or the sum divided by <paramref name="denominator"/> for the means. A mean over nothing
    /// (no elements, every row ignored, every target weight 0) is NaN, as PyTorch's, even where the sum is not 0
    /// (cross-entropy's label-smoothing term over zero-weight targets would otherwise give ±∞).
    /// </summary>
    public static T Finish<T>(Reduction reduction, double sum, double denominator)
        where T : IFloatingPointIeee754<T> =>
        T.CreateTruncating(reduction is Reduction.Mean or Reduction.BatchMean ? (denominator == 0 ? double.NaN : sum / denominator) : sum);

    /// <summary>The factor d(reduced)/d(per-element loss) × upstream: upstream/denominator for the means, upstream otherwise.</summary>
    public static T GradientScale<T>(Reduction reduction, T upstream, double denominator)
        where T : IFloatingPointIeee754<T> =>
        reduction is Reduction.Mean or Reduction.BatchMean ? T.CreateTruncating(double.CreateTruncating(upstream) / denominator) : upstream;

    /// <summary>mmdetection's epsilon added to avg_factor: float32 machine epsilon (torch.finfo(torch.float32).eps).</summary>
    public const double AvgFactorEpsilon = 1.1920928955078125e-07;

    /// <summary>
    /// The Mean denominator with mmdetection's <c>avg_factor</c>: <paramref name="count"/> without it, avgFactor + ε
    /// (float32 eps) with it. avgFactor with Sum throws (as mmdetection's ValueError); with None it is ignored.
    /// </summary>
    public static double MeanDenominator(Reduction reduction, double count, double? avgFactor)
    {
        if (avgFactor is not double a)
        {
            return count;
        }

        if (!double.IsFinite(a) || a < 0)
        {
            ThrowHelper.OutOfRange("avgFactor", a, $"avgFactor must be a finite number >= 0, got {a}.");
        }

        if (reduction == Reduction.Sum)
        {
            ThrowHelper.Argument("avgFactor", $"avgFactor ({a}) can not be used with Reduction.Sum (as in mmdetection).");
        }

        return a + AvgFactorEpsilon;
    }

    /// <summary>Checks the per-element upstream gradient of a <see cref="Reduction.None"/> backward call.</summary>
    public static void CheckUpstreamSpan(Reduction reduction, int upstreamLength, int required)
    {
        if (reduction != Reduction.None)
        {
            ThrowHelper.Argument("upstream", $"A per-element upstream gradient needs Reduction.None; this loss reduces with {reduction}. Pass a scalar upstream instead.");
        }

        ThrowHelper.CheckLength(upstreamLength, required, "upstream", "one per loss element");
    }

    /// <summary>Checks that a scalar upstream gradient is used with a reducing loss.</summary>
    public static void CheckUpstreamScalar(Reduction reduction)
    {
        if (reduction == Reduction.None)
        {
            ThrowHelper.Argument("upstream", "Reduction.None needs a per-element upstream gradient span, not a scalar.");
        }
    }
}
