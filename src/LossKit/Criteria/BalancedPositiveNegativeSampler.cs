using LossKit.Internal;

namespace LossKit.Criteria;

/// <summary>What the sampler did with a candidate.</summary>
public enum SampleKind : byte
{
    /// <summary>Not sampled (ignored, or not drawn).</summary>
    None = 0,

    /// <summary>Sampled as a positive (foreground).</summary>
    Positive = 1,

    /// <summary>Sampled as a negative (background).</summary>
    Negative = 2,
}

/// <summary>How many candidates one call sampled.</summary>
/// <param name="Positives">Sampled positives.</param>
/// <param name="Negatives">Sampled negatives.</param>
public readonly record struct SampleCounts(int Positives, int Negatives)
{
    /// <summary>Positives + negatives.</summary>
    public int Total => Positives + Negatives;
}

/// <summary>
/// Draws a fixed-size, fixed-proportion training batch of positives and negatives per image, as torchvision's
/// <c>BalancedPositiveNegativeSampler(batch_size_per_image, positive_fraction)</c>.
/// </summary>
/// <remarks>
/// <para>Labels follow torchvision: ≥ 1 is a positive candidate, 0 a negative one, anything below 0 (−1, the ignore
/// band) is never sampled. With P positive and Q negative candidates the sample takes
/// p = min(P, ⌊batch·fraction⌋) positives and q = min(Q, batch − p) negatives, each a uniformly random subset.</para>
/// <para>Determinism: the subsets come from a SplitMix64 stream seeded by the <c>seed</c> argument (selection
/// sampling, Knuth's Algorithm S, in index order), so equal inputs and seeds give equal samples on every machine and
/// thread count. The random choice is not torch's (torch.randperm with its generator): the same seed does not pick the
/// same anchors as torchvision, only subsets with the same distribution. When every candidate is taken (P ≤ ⌊batch·fraction⌋,
/// Q ≤ batch − p) there is no randomness and the result is exactly torchvision's.</para>
/// <para>Presets: <see cref="Rpn"/> (256, 0.5) and <see cref="RoiHeads"/> (512, 0.25). No allocation.</para>
/// </remarks>
public sealed class BalancedPositiveNegativeSampler
{
    /// <summary>Creates a sampler.</summary>
    /// <param name="batchSizePerImage">Candidates to sample per image (≥ 0).</param>
    /// <param name="positiveFraction">Largest share of positives, in [0, 1].</param>
    public BalancedPositiveNegativeSampler(int batchSizePerImage, double positiveFraction)
    {
        ThrowHelper.CheckDimension(batchSizePerImage, nameof(batchSizePerImage));
        PositiveFraction = ThrowHelper.CheckInRange(positiveFraction, 0.0, 1.0, nameof(positiveFraction));
        BatchSizePerImage = batchSizePerImage;

        // Python's int(batch * fraction): the product in double, truncated.
        MaxPositives = (int)(batchSizePerImage * positiveFraction);
    }

    /// <summary>torchvision's RPN sampler: 256 anchors per image, at most 50 % positive.</summary>
    public static BalancedPositiveNegativeSampler Rpn { get; } = new(256, 0.5);

    /// <summary>torchvision's RoI-heads sampler: 512 RoIs per image, at most 25 % positive.</summary>
    public static BalancedPositiveNegativeSampler RoiHeads { get; } = new(512, 0.25);

    /// <summary>Candidates sampled per image.</summary>
    public int BatchSizePerImage { get; }

    /// <summary>Largest share of positives.</summary>
    public double PositiveFraction { get; }

    /// <summary>⌊batch · fraction⌋: the most positives one image contributes.</summary>
    public int MaxPositives { get; }

    /// <summary>Samples one image's candidates.</summary>
    /// <param name="labels">Per candidate: ≥ 1 positive, 0 negative, &lt; 0 ignored.</param>
    /// <param name="selection">Receives, per candidate, <see cref="SampleKind.Positive"/>, <see cref="SampleKind.Negative"/> or <see cref="SampleKind.None"/>.</param>
    /// <param name="seed">Seed of the random choice.</param>
    /// <returns>The numbers of sampled positives and negatives.</returns>
    public SampleCounts Sample(ReadOnlySpan<int> labels, Span<SampleKind> selection, ulong seed = 0)
    {
        ThrowHelper.CheckDestination(selection.Length, labels.Length, nameof(selection));
        return SampleUnchecked(labels, selection[..labels.Length], seed);
    }

    /// <summary>The sampler on checked arguments.</summary>
    internal SampleCounts SampleUnchecked(ReadOnlySpan<int> labels, Span<SampleKind> selection, ulong seed)
    {
        int positives = 0, negatives = 0;
        foreach (int label in labels)
        {
            if (label >= 1)
            {
                positives++;
            }
            else if (label == 0)
            {
                negatives++;
            }
        }

        int takePositives = Math.Min(positives, MaxPositives);
        int takeNegatives = Math.Min(negatives, BatchSizePerImage - takePositives);
        var random = new SplitMix64(seed);

        // Algorithm S: walk the candidates of a class in index order; take each with probability
        // (still needed)/(still available). Every subset of the requested size is equally likely.
        int needPositives = takePositives, leftPositives = positives;
        int needNegatives = takeNegatives, leftNegatives = negatives;
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            SampleKind kind = SampleKind.None;
            if (label >= 1)
            {
                if (needPositives > 0 && (needPositives == leftPositives || random.NextBelow(leftPositives) < needPositives))
                {
                    kind = SampleKind.Positive;
                    needPositives--;
                }

                leftPositives--;
            }
            else if (label == 0)
            {
                if (needNegatives > 0 && (needNegatives == leftNegatives || random.NextBelow(leftNegatives) < needNegatives))
                {
                    kind = SampleKind.Negative;
                    needNegatives--;
                }

                leftNegatives--;
            }

            selection[i] = kind;
        }

        return new SampleCounts(takePositives, takeNegatives);
    }
}
