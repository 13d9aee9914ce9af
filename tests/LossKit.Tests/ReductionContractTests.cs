using LossKit.Classification;
using LossKit.Regression;

namespace LossKit.Tests;

/// <summary>
/// The reduction rules as numbers, through one simple loss (L1: per-element |x − y|, gradient sign(x − y)) so every
/// expected value is a hand computation: Mean, Sum and None with a scalar or per-element upstream, mmdetection's
/// avg_factor (Σ / (avgFactor + float32 eps), 0 allowed, ignored by None, refused by Sum), and KL's batchmean.
/// </summary>
public class ReductionContractTests
{
    private const double Eps = 1.1920928955078125e-07; // torch.finfo(torch.float32).eps, mmdetection's avg_factor epsilon

    // x − y = 1, −2, 3.5: losses 1, 2, 3.5 (Σ = 6.5), gradients +1, −1, +1.
    private static readonly double[] X = [1.0, -2.0, 3.5];
    private static readonly double[] Y = [0.0, 0.0, 0.0];
    private static readonly double[] Sign = [1.0, -1.0, 1.0];

    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-13 * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");

    [Theory]
    [InlineData(Reduction.Mean, 6.5 / 3, 1.0 / 3)]
    [InlineData(Reduction.Sum, 6.5, 1.0)]
    public void ScalarUpstream_ScalesByTheDenominator(Reduction reduction, double value, double scale)
    {
        var loss = new L1Loss<double>(reduction);
        var g = new double[3];
        Close(value, loss.ForwardBackward(X, Y, g), "ForwardBackward");
        Close(value, loss.Forward(X, Y), "Forward");
        for (int i = 0; i < 3; i++)
        {
            Close(Sign[i] * scale, g[i], $"gradient[{i}]");
        }

        loss.Backward(X, Y, 3.0, g);
        for (int i = 0; i < 3; i++)
        {
            Close(3.0 * Sign[i] * scale, g[i], $"Backward(upstream 3)[{i}]");
        }
    }

    [Fact]
    public void None_PerElementValuesAndUpstream()
    {
        var loss = new L1Loss<double>(Reduction.None);
        var values = new double[3];
        Close(6.5, loss.Forward(X, Y, values), "returned sum");
        Assert.Equal([1.0, 2.0, 3.5], values);
        var g = new double[3];
        loss.Backward(X, Y, (ReadOnlySpan<double>)[2.0, 3.0, -4.0], g);
        Assert.Equal([2.0, -3.0, -4.0], g);
    }

    /// <summary>mmdetection's weight_reduce_loss: mean → Σ / (avg_factor + eps); avg_factor = 0 is legal (a batch without
    /// positives), giving Σ / eps.</summary>
    [Theory]
    [InlineData(2.5)]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public void AvgFactor_Mean_DividesByAvgFactorPlusEps(double avgFactor)
    {
        var loss = new L1Loss<double>(Reduction.Mean);
        double den = avgFactor + Eps;
        Close(6.5 / den, loss.Forward(X, Y, default, default, avgFactor), "Forward");
        var g = new double[3];
        Close(6.5 / den, loss.ForwardBackward(X, Y, g, default, default, avgFactor), "ForwardBackward");
        for (int i = 0; i < 3; i++)
        {
            Close(Sign[i] / den, g[i], $"gradient[{i}]");
        }

        loss.Backward(X, Y, 2.0, g, default, avgFactor);
        for (int i = 0; i < 3; i++)
        {
            Close(2.0 * Sign[i] / den, g[i], $"Backward(upstream 2)[{i}]");
        }
    }

    /// <summary>With None, avg_factor changes nothing (mmdetection applies it only to 'mean'), but is still validated.</summary>
    [Fact]
    public void AvgFactor_None_IsIgnored()
    {
        var loss = new L1Loss<double>(Reduction.None);
        var values = new double[3];
        var g = new double[3];
        Close(6.5, loss.ForwardBackward(X, Y, g, values, default, 2.5), "returned sum");
        Assert.Equal([1.0, 2.0, 3.5], values);
        Assert.Equal(Sign, g);
        Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward(X, Y, values, default, -1.0));
    }

    [Fact]
    public void AvgFactor_Sum_Throws_EvenWhenZero()
    {
        var loss = new L1Loss<double>(Reduction.Sum);
        Assert.Equal("avgFactor", Assert.Throws<ArgumentException>(() => loss.Forward(X, Y, default, default, 0.0)).ParamName);
        Assert.Equal("avgFactor", Assert.Throws<ArgumentException>(() => loss.Backward(X, Y, 1.0, new double[3], default, 2.0)).ParamName);
        Close(6.5, loss.Forward(X, Y), "Sum without avgFactor");
    }

    /// <summary>
    /// KL divergence (input log q, target p, PyTorch's kl_div): l = p·(ln p − x), ∂l/∂x = −p. Two rows of two:
    /// p = (0.5, 0.5 | 0.25, 0.75), q = 0.5 everywhere, so Σ = 0.25·ln 0.5 + 0.75·ln 1.5; batchmean divides by the
    /// 2 rows, mean by the 4 elements.
    /// </summary>
    [Theory]
    [InlineData(Reduction.BatchMean, 2)]
    [InlineData(Reduction.Mean, 4)]
    [InlineData(Reduction.Sum, 1)]
    public void KL_BatchMeanDividesByRows(Reduction reduction, int denominator)
    {
        double[] p = [0.5, 0.5, 0.25, 0.75];
        double[] x = [Math.Log(0.5), Math.Log(0.5), Math.Log(0.5), Math.Log(0.5)];
        double sum = 0.25 * Math.Log(0.5) + 0.75 * Math.Log(1.5);
        var loss = new KLDivergenceLoss<double>(reduction);
        var g = new double[4];
        Close(sum / denominator, loss.ForwardBackward(x, p, 2, g), "value");
        for (int i = 0; i < 4; i++)
        {
            Close(-p[i] / denominator, g[i], $"gradient[{i}]");
        }
    }
}
