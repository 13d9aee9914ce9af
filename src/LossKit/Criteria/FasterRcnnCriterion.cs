using System.Numerics;
using LossKit.Internal;
using LossKit.Regression;

namespace LossKit.Criteria;

/// <summary>
/// What the two Faster R-CNN criteria (<see cref="RpnLoss{T}"/>, <see cref="FastRcnnLoss{T}"/>) share: the matcher,
/// the sampler and the box coder of their targets and the Smooth L1 box term, set once here.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public abstract class FasterRcnnCriterion<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected FasterRcnnCriterion(Matcher matcher, BalancedPositiveNegativeSampler sampler, BoxCoder boxCoder, double beta)
    {
        Matcher = matcher;
        Sampler = sampler;
        BoxCoder = boxCoder;
        BoxLoss = new SmoothL1Loss<T>(Reduction.Sum, beta);
        Beta = beta;
    }

    /// <summary>The matcher of anchors (RPN) or proposals (RoI head) to ground truths.</summary>
    public Matcher Matcher { get; }

    /// <summary>The sampler of the training anchors or RoIs.</summary>
    public BalancedPositiveNegativeSampler Sampler { get; }

    /// <summary>The box coder of the regression targets.</summary>
    public BoxCoder BoxCoder { get; }

    /// <summary>Smooth L1 β of the box term.</summary>
    public double Beta { get; }

    /// <summary>The box term's loss: Smooth L1 with β, summed (the criteria divide by the sampled count).</summary>
    private protected SmoothL1Loss<T> BoxLoss { get; }
}
