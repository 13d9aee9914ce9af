using LossKit.Detection;

namespace LossKit.Tests.Detection;

// Gaps that mutation testing found in the GFL family (docs/TESTING.md, area qualityfocal). Expected values come from
// mmdetection's formulas run in PyTorch 1.13 (quality_focal_loss and varifocal_loss of mmdet 2.x, transcribed in each
// comment) or from the contract's own wording (messages).

/// <summary>QualityFocalLoss: the positive entry at s = q, inputs read only within their spans, the labels message.</summary>
public class QualityFocalContractTests
{
    /// <summary>
    /// s = σ(0) = 0.5 = q: the positive entry's distance |q − s| is 0, so its gradient is 0 (autograd: pow'(0) = 0,
    /// abs'(0) = 0). Dividing by sign(q − s) instead of multiplying would give 0/0 = NaN there.
    /// <code>
    /// x = torch.tensor([[0.0, -1.0, 0.5]], dtype=torch.float64, requires_grad=True)
    /// quality_focal_loss(x, label=[0], score=[0.5]).sum().backward()
    /// # loss [0.4000696583678771], grad [[0.0, 0.05258112997756062, 0.5261518218745831]]
    /// </code>
    /// </summary>
    [Fact]
    public void PositiveAtItsScore_HasZeroGradient()
    {
        var g = new double[3];
        double value = new QualityFocalLoss<double>(Reduction.Sum).ForwardBackward([0.0, -1.0, 0.5], [0], [0.5], 1, 3, g);
        Assert.Equal(0.4000696583678771, value, 1e-14);
        Assert.Equal(0.0, g[0]);
        Assert.Equal(0.05258112997756062, g[1], 1e-15);
        Assert.Equal(0.5261518218745831, g[2], 1e-15);
    }

    /// <summary>
    /// Spans cut from longer arrays whose next entries are a background anchor: the background run must stop at the
    /// batch, not read on. Three anchors of five classes, labels [1, −1, 5]:
    /// <code>
    /// x = torch.tensor(xs, dtype=torch.float64).reshape(3, 5)
    /// quality_focal_loss(x, label=[1, -1, 5], score=[0.6, 0, 0]).sum()   # 6.550254038855226; mean 2.183418012951742
    /// </code>
    /// </summary>
    [Fact]
    public void ReadsNothingPastItsSpans()
    {
        double[] x = [0.3, -1.2, 2.0, 0.7, -0.4, 1.1, -0.6, 0.2, -2.5, 0.9, -0.3, 0.8, 1.7, -1.0, 0.05, /* beyond: */ 5, 5, 5, 5, 5];
        int[] labels = [1, -1, 5, /* beyond: background */ -1, 5];
        double[] scores = [0.6, 0.0, 0.0, 0.0, 0.0];
        var loss = new QualityFocalLoss<double>(Reduction.Sum);
        Assert.Equal(6.550254038855226, loss.Forward(x.AsSpan(0, 15), labels.AsSpan(0, 3), scores.AsSpan(0, 3), 3, 5), 1e-13);
        Assert.Equal(2.183418012951742, new QualityFocalLoss<double>().Forward(x.AsSpan(0, 15), labels.AsSpan(0, 3), scores.AsSpan(0, 3), 3, 5), 1e-13);
        float[] xf = x.Select(v => (float)v).ToArray();
        float[] sf = scores.Select(v => (float)v).ToArray();
        Assert.Equal(6.550254038855226, new QualityFocalLoss<float>(Reduction.Sum).Forward(xf.AsSpan(0, 15), labels.AsSpan(0, 3), sf.AsSpan(0, 3), 3, 5), 1e-5);
    }

    /// <summary>Background (= classes, or negative) before the bad label: the message names the first label above
    /// classes, its index and the allowed values.</summary>
    [Fact]
    public void LabelAboveClasses_MessageNamesIt()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new QualityFocalLoss<double>().Forward(new double[16], [0, 4, -1, 9], new double[4], 4, 4));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("labels[3] = 9", e.Message);
        Assert.Contains("neither a class in [0, 4) nor background (4 or negative)", e.Message);
    }
}

/// <summary>DistributionFocalLoss: the target range message.</summary>
public class DistributionFocalContractTests
{
    /// <summary>
    /// Targets must satisfy 0 ≤ t &lt; bins − 1 (mmdetection indexes bins ⌊t⌋ and ⌊t⌋ + 1). 0 and 2.5 are fine, 16 with
    /// 17 bins is the first bad one: the message names its index, value and the bound.
    /// </summary>
    [Fact]
    public void TargetAtTheLastBin_MessageNamesIt()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new DistributionFocalLoss<double>().Forward(new double[4 * 17], [0.0, 2.5, 16.0, 3.0], 4, 17));
        Assert.Equal("target", e.ParamName);
        Assert.Contains("target[2] = 16", e.Message);
        Assert.Contains("0 <= target < bins - 1 = 16", e.Message);
    }
}

/// <summary>VarifocalLoss: a negative entry whose sigmoid is exactly its target 0.</summary>
public class VarifocalContractTests
{
    /// <summary>
    /// x = −800 (double) or −200 (float): σ(x) = 0 = t, so |p − t|^γ and its derivative are 0 and the gradient is 0.
    /// Three elements run the scalar path. Dividing by sign(p − t) would give 0/0 = NaN.
    /// <code>
    /// p = x.sigmoid(); fw = t*(t &gt; 0) + 0.75*(p - t).abs().pow(2)*(t &lt;= 0)
    /// (F.binary_cross_entropy_with_logits(x, t, reduction='none')*fw).sum().backward()
    /// # x = [-800, 0.3, -0.2], t = [0, 0, 0.7]: loss [0, 0.2114428021776227, 0.5166972085671142],
    /// # grad [0, 0.32212985143931283, -0.17488379811873445]
    /// </code>
    /// </summary>
    [Fact]
    public void SaturatedNegative_HasZeroGradient()
    {
        var g = new double[3];
        var v = new double[3];
        new VarifocalLoss<double>(Reduction.None).ForwardBackward([-800.0, 0.3, -0.2], [0.0, 0.0, 0.7], g, v);
        Assert.Equal([0.0, 0.0], [v[0], g[0]]);
        Assert.Equal(0.2114428021776227, v[1], 1e-15);
        Assert.Equal(0.5166972085671142, v[2], 1e-15);
        Assert.Equal(0.32212985143931283, g[1], 1e-15);
        Assert.Equal(-0.17488379811873445, g[2], 1e-15);

        var gf = new float[1];
        new VarifocalLoss<float>(Reduction.Sum).ForwardBackward([-200f], [0f], gf);
        Assert.Equal(0f, gf[0]);
    }

    /// <summary>
    /// x = double.MaxValue with α = 10, γ = 3, t = 0: σ(x) = 1, so σ'(x) = 0 and the exact gradient is the BCE term
    /// alone, α·|σ − t|^γ·(σ − t) = 10 (the σ' term, ce·α·γ·|σ − t|^(γ−1)·σ', tends to 0 as x e^(−x)). The cap on ce must
    /// account for α &gt; 1 and γ &gt; 1 so ce·α·γ stays finite and meets σ' = 0 as a finite product, not ∞·0 = NaN
    /// (mmdetection's autograd gives NaN here; the loss value itself overflows to +∞, as it must).
    /// </summary>
    [Fact]
    public void LargeAlphaAndGamma_AtMaxLogit_GradientStaysFinite()
    {
        var g = new double[1];
        new VarifocalLoss<double>(Reduction.Sum, alpha: 10, gamma: 3).ForwardBackward([double.MaxValue], [0.0], g);
        Assert.Equal(10.0, g[0]);
    }
}
