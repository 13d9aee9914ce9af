using LossKit.Criteria;

namespace LossKit.Tests.Criteria;

/// <summary>
/// BalancedPositiveNegativeSampler against torchvision's definition (detection/_utils.py): positives are
/// <c>matched_idxs &gt;= 1</c> — any class index, not only 1 — and negatives <c>== 0</c>, each a uniformly random subset.
/// Added for what mutation testing found unchecked (docs/TESTING.md, area <c>sampler</c>).
/// </summary>
public class SamplerContractTests
{
    /// <summary>RoI heads sample class labels 1…K as positives. Every candidate is taken here, so the result is
    /// torchvision's exactly: the positives are the labels ≥ 1, whatever the class.</summary>
    [Fact]
    public void ClassLabelsAboveOne_ArePositives()
    {
        int[] labels = [3, 0, 7, -1, 2, 0, 1, 91, -2];
        var selection = new SampleKind[labels.Length];
        SampleCounts counts = BalancedPositiveNegativeSampler.RoiHeads.Sample(labels, selection, 5);
        Assert.Equal(new SampleCounts(5, 2), counts);
        Assert.Equal(
            [SampleKind.Positive, SampleKind.Negative, SampleKind.Positive, SampleKind.None, SampleKind.Positive, SampleKind.Negative,
             SampleKind.Positive, SampleKind.Positive, SampleKind.None],
            selection);
    }

    /// <summary>With more positives of mixed classes than the sampler takes, exactly ⌊b·f⌋ of them are drawn.</summary>
    [Fact]
    public void ManyClassLabels_CountAsPositives()
    {
        int[] labels = Enumerable.Range(0, 60).Select(i => i % 3 == 0 ? 0 : 2 + i % 5).ToArray(); // 20 negatives, 40 positives of classes 2…6
        var selection = new SampleKind[labels.Length];
        SampleCounts counts = new BalancedPositiveNegativeSampler(16, 0.5).Sample(labels, selection, 11);
        Assert.Equal(new SampleCounts(8, 8), counts);
        Assert.Equal(16, counts.Total);
        Assert.Equal(8, selection.Count(s => s == SampleKind.Positive));
        Assert.Equal(8, selection.Count(s => s == SampleKind.Negative));
    }

    /// <summary>The negatives are a uniform subset too (torch.randperm over the negatives): over many seeds each of 40
    /// negatives is drawn about 20/40 of the time.</summary>
    [Fact]
    public void NegativeChoice_IsRoughlyUniform()
    {
        var sampler = new BalancedPositiveNegativeSampler(20, 0.5);
        int[] labels = Enumerable.Range(0, 44).Select(i => i < 40 ? 0 : -1).ToArray();
        var hits = new int[40];
        var selection = new SampleKind[labels.Length];
        const int Trials = 4000;
        for (ulong seed = 0; seed < Trials; seed++)
        {
            Assert.Equal(new SampleCounts(0, 20), sampler.Sample(labels, selection, seed));
            for (int i = 0; i < 40; i++)
            {
                hits[i] += selection[i] == SampleKind.Negative ? 1 : 0;
            }
        }

        // Expected 2000 per candidate, standard deviation √(4000·0.5·0.5) ≈ 32.
        Assert.All(hits, h => Assert.InRange(h, 2000 - 160, 2000 + 160));
    }

    /// <summary>A selection longer than the labels: the entries past the labels are left alone.</summary>
    [Fact]
    public void LongerSelection_TailUntouched()
    {
        int[] labels = [1, 0, 0, 1];
        var selection = Enumerable.Repeat((SampleKind)9, 7).ToArray();
        BalancedPositiveNegativeSampler.Rpn.Sample(labels, selection, 3);
        Assert.Equal([SampleKind.Positive, SampleKind.Negative, SampleKind.Negative, SampleKind.Positive, (SampleKind)9, (SampleKind)9, (SampleKind)9], selection);
    }
}
