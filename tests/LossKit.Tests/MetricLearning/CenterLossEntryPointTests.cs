using LossKit.MetricLearning;

namespace LossKit.Tests.MetricLearning;

/// <summary>
/// Center loss's span entry points: the upstream's kind against the reduction, the input gradient's length in the
/// per-row Backward, the value of a fused call that asks for the centers' gradient only, a reducing call's destination
/// left alone, and a short destination refused with Reduction.None.
/// </summary>
public class CenterLossEntryPointTests
{
    private const int Batch = 4, Classes = 3, Dim = 2;

    private static readonly double[] Input = [0.5, -1, 2, 0.25, -0.75, 1.5, 1, 1];
    private static readonly int[] Target = [0, 2, 1, 2];
    private static readonly double[] Centers = [0, 0, 1, -1, 0.5, 2];

    [Fact]
    public void ScalarUpstream_WithNone_IsRefused()
    {
        var none = new CenterLoss<double>(Reduction.None);
        var e = Assert.Throws<ArgumentException>(() =>
            none.Backward(Input, Target, Centers, Batch, Classes, Dim, 1.0, new double[Batch * Dim], new double[Classes * Dim]));
        Assert.Equal("upstream", e.ParamName);
    }

    [Fact]
    public void PerRowBackward_ChecksTheInputGradient()
    {
        var none = new CenterLoss<double>(Reduction.None);
        var e = Assert.Throws<ArgumentException>(() =>
            none.Backward(Input, Target, Centers, Batch, Classes, Dim, new double[Batch], new double[Batch * Dim - 1], default));
        Assert.Equal("inputGradient", e.ParamName);
    }

    /// <summary>ForwardBackward returns the loss also when only the centers' gradient is asked for.</summary>
    [Theory]
    [InlineData(Reduction.Sum)]
    [InlineData(Reduction.Mean)]
    public void CentersGradientOnly_StillReturnsTheValue(Reduction reduction)
    {
        var loss = new CenterLoss<double>(reduction);
        double value = loss.Forward(Input, Target, Centers, Batch, Classes, Dim);
        double fused = loss.ForwardBackward(Input, Target, Centers, Batch, Classes, Dim, default, new double[Classes * Dim]);
        Assert.Equal(value, fused);
        Assert.True(value > 0);
    }

    /// <summary>The same in Half, which runs through the float32 path.</summary>
    [Fact]
    public void CentersGradientOnly_StillReturnsTheValue_Half()
    {
        Half[] input = [.. Input.Select(v => (Half)v)], centers = [.. Centers.Select(v => (Half)v)];
        var loss = new CenterLoss<Half>(Reduction.Sum);
        Half value = loss.Forward(input, Target, centers, Batch, Classes, Dim);
        Half fused = loss.ForwardBackward(input, Target, centers, Batch, Classes, Dim, default, new Half[Classes * Dim]);
        Assert.Equal(value, fused);
        Assert.True(value > Half.Zero);
    }

    [Fact]
    public void ReducingForwardBackward_LeavesADestinationAlone()
    {
        double[] destination = [.. Enumerable.Repeat(-7.0, Batch)];
        new CenterLoss<double>(Reduction.Sum).ForwardBackward(Input, Target, Centers, Batch, Classes, Dim, new double[Batch * Dim], default, destination);
        Assert.All(destination, v => Assert.Equal(-7.0, v));
    }

    [Fact]
    public void NoneForwardBackward_RefusesAShortDestination()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new CenterLoss<double>(Reduction.None).ForwardBackward(Input, Target, Centers, Batch, Classes, Dim, new double[Batch * Dim], default, new double[Batch - 1]));
        Assert.Equal("destination", e.ParamName);
    }
}
