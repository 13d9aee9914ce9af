using LossKit.MetricLearning;

namespace LossKit.Tests.MetricLearning;

/// <summary>
/// The two-gradient entry points (cosine embedding's Backward and ForwardBackward): the upstream's kind and length
/// checked against the reduction, both gradients' lengths checked, a reducing call's destination left alone, and Half
/// through the float32 path (the float32 gradients rounded once).
/// </summary>
public class CosineEmbeddingContractTests
{
    private const int Batch = 5, Dim = 3;

    private static (float[] X1, float[] X2, float[] Target) Data()
    {
        var rng = new Random(17);
        float[] x1 = [.. Enumerable.Range(0, Batch * Dim).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        float[] x2 = [.. Enumerable.Range(0, Batch * Dim).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        return (x1, x2, [1, -1, 1, -1, -1]);
    }

    [Fact]
    public void Upstream_MustMatchTheReduction()
    {
        (float[] x1, float[] x2, float[] t) = Data();
        float[] g1 = new float[Batch * Dim], g2 = new float[Batch * Dim];
        var none = new CosineEmbeddingLoss<float>(Reduction.None, 0.1);
        var mean = new CosineEmbeddingLoss<float>(Reduction.Mean, 0.1);

        var e = Assert.Throws<ArgumentException>(() => none.Backward(x1, x2, t, Batch, Dim, 1f, g1, g2));
        Assert.Equal("upstream", e.ParamName);
        Assert.StartsWith("Reduction.None needs a per-element upstream gradient span", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ArgumentException>(() => mean.Backward(x1, x2, t, Batch, Dim, new float[Batch], g1, g2));
        Assert.Equal("upstream", e.ParamName);
        Assert.StartsWith("A per-element upstream gradient needs Reduction.None", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ArgumentException>(() => none.Backward(x1, x2, t, Batch, Dim, new float[Batch - 1], g1, g2));
        Assert.Equal("upstream", e.ParamName);
    }

    [Fact]
    public void Gradients_MustHoldTheInputs()
    {
        (float[] x1, float[] x2, float[] t) = Data();
        var none = new CosineEmbeddingLoss<float>(Reduction.None);
        var mean = new CosineEmbeddingLoss<float>();
        float[] full = new float[Batch * Dim], shortOne = new float[Batch * Dim - 1];
        float[] up = new float[Batch];

        Assert.Equal("gradient1", Assert.Throws<ArgumentException>(() => none.Backward(x1, x2, t, Batch, Dim, up, shortOne, full)).ParamName);
        Assert.Equal("gradient2", Assert.Throws<ArgumentException>(() => none.Backward(x1, x2, t, Batch, Dim, up, full, shortOne)).ParamName);
        Assert.Equal("gradient1", Assert.Throws<ArgumentException>(() => mean.Backward(x1, x2, t, Batch, Dim, 1f, shortOne, full)).ParamName);
        Assert.Equal("gradient2", Assert.Throws<ArgumentException>(() => mean.ForwardBackward(x1, x2, t, Batch, Dim, full, shortOne)).ParamName);
    }

    /// <summary>A reducing call given a destination anyway writes nothing into it.</summary>
    [Fact]
    public void ReducingForwardBackward_LeavesADestinationAlone()
    {
        (float[] x1, float[] x2, float[] t) = Data();
        float[] g1 = new float[Batch * Dim], g2 = new float[Batch * Dim];
        float[] destination = [.. Enumerable.Repeat(-7f, Batch)];
        float value = new CosineEmbeddingLoss<float>(Reduction.Sum, 0.1).ForwardBackward(x1, x2, t, Batch, Dim, g1, g2, destination);
        Assert.All(destination, v => Assert.Equal(-7f, v));
        Assert.True(value > 0);

        // Half runs the float32 loss on widened copies: the destination is left alone there too.
        Half[] h1 = [.. x1.Select(v => (Half)v)], h2 = [.. x2.Select(v => (Half)v)], ht = [.. t.Select(v => (Half)v)];
        Half[] halfDestination = [.. Enumerable.Repeat((Half)(-7f), Batch)];
        Half halfValue = new CosineEmbeddingLoss<Half>(Reduction.Sum, 0.1).ForwardBackward(h1, h2, ht, Batch, Dim, new Half[Batch * Dim], new Half[Batch * Dim], halfDestination);
        Assert.All(halfDestination, v => Assert.Equal((Half)(-7f), v));
        Assert.True(halfValue > Half.Zero);
    }

    /// <summary>Half's Backward (both upstream kinds) is the float32 Backward of the same values, rounded once.</summary>
    [Fact]
    public void HalfBackward_IsTheFloat32BackwardRounded()
    {
        (float[] x1f, float[] x2f, float[] tf) = Data();
        // Inputs exact in Half, so both types see the same values.
        Half[] x1 = [.. x1f.Select(v => (Half)v)], x2 = [.. x2f.Select(v => (Half)v)], t = [.. tf.Select(v => (Half)v)];
        float[] x1w = [.. x1.Select(v => (float)v)], x2w = [.. x2.Select(v => (float)v)];
        float[] upf = [0.5f, -2f, 1f, 0.25f, 3f];
        Half[] up = [.. upf.Select(v => (Half)v)];
        foreach (Reduction reduction in new[] { Reduction.Mean, Reduction.None })
        {
            float[] f1 = new float[Batch * Dim], f2 = new float[Batch * Dim];
            Half[] h1 = new Half[Batch * Dim], h2 = new Half[Batch * Dim];
            var lf = new CosineEmbeddingLoss<float>(reduction, 0.1);
            var lh = new CosineEmbeddingLoss<Half>(reduction, 0.1);
            if (reduction == Reduction.None)
            {
                lf.Backward(x1w, x2w, tf, Batch, Dim, upf, f1, f2);
                lh.Backward(x1, x2, t, Batch, Dim, up, h1, h2);
            }
            else
            {
                lf.Backward(x1w, x2w, tf, Batch, Dim, 0.75f, f1, f2);
                lh.Backward(x1, x2, t, Batch, Dim, (Half)0.75f, h1, h2);
            }

            Assert.Equal(f1.Select(v => (Half)v), h1);
            Assert.Equal(f2.Select(v => (Half)v), h2);
            Assert.Contains(h1, v => v != Half.Zero);
        }
    }
}
