using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Regression;

namespace LossKit.Tests;

/// <summary>
/// The README's promise that bad input throws "naming the parameter and the value", and STYLE.md's "a message that says
/// what was expected and what came": the message is part of the contract. Each case checks the parameter name and the
/// parts of the message that only the library's own text supplies (the expected condition or bound), plus the
/// offending value. An <see cref="ArgumentOutOfRangeException"/> appends its actual value by itself, so for those the
/// expected part is what a lost message would drop.
/// </summary>
public class ErrorMessageTests
{
    private static void Names<TException>(Action call, string paramName, params string[] parts)
        where TException : ArgumentException
    {
        var e = Assert.Throws<TException>(call);
        Assert.Equal(paramName, e.ParamName);
        foreach (string part in parts)
        {
            Assert.Contains(part, e.Message);
        }
    }

    [Fact]
    public void Matcher_Thresholds() =>
        Names<ArgumentOutOfRangeException>(() => new Matcher(0.3, 0.7), "lowThreshold", "<= highThreshold (0.3)", "got 0.7");

    [Fact]
    public void Matcher_NaNHighThreshold() =>
        Names<ArgumentOutOfRangeException>(() => new Matcher(double.NaN, 0.3), "highThreshold", "highThreshold must not be NaN", "NaN");

    [Fact]
    public void Matcher_NaNLowThreshold() =>
        Names<ArgumentOutOfRangeException>(() => new Matcher(0.7, double.NaN), "lowThreshold", "<= highThreshold (0.7)", "got NaN");

    [Fact]
    public void Matcher_NegativeDimensions()
    {
        Names<ArgumentOutOfRangeException>(() => Matcher.Rpn.Match<double>([], 0, -4, []), "predictions", "predictions must be >= 0", "got -4");
        Names<ArgumentOutOfRangeException>(() => Matcher.Rpn.Match<double>([], -2, 0, []), "groundTruths", "groundTruths must be >= 0", "got -2");
    }

    [Fact]
    public void Matcher_Shapes()
    {
        Names<ArgumentException>(() => Matcher.Rpn.Match<double>(new double[5], 2, 3, new int[3]), "quality", "6 elements", "2 × 3", "has 5");
        Names<ArgumentException>(() => Matcher.Rpn.Match<double>(new double[6], 2, 3, new int[2]), "matches", "needs 3 elements", "has 2");
        Names<ArgumentException>(() => Matcher.Rpn.MatchBoxes<double>(new double[8], new double[10], new int[3], new double[6]), "predictedBoxes", "length 10", "multiple of 4");
        Names<ArgumentException>(() => Matcher.Rpn.MatchBoxes<double>(new double[8], new double[12], new int[3], new double[5]), "quality", "needs 6 elements", "has 5");
    }

    [Fact]
    public void Reduction_Undefined()
    {
        Names<ArgumentOutOfRangeException>(() => new L1Loss<double>((Reduction)7), "reduction", "None, Mean or Sum", "7");
        Names<ArgumentOutOfRangeException>(() => new L1Loss<double>(Reduction.BatchMean), "reduction", "None, Mean or Sum", "KL divergence only", "BatchMean");
        Names<ArgumentOutOfRangeException>(() => new KLDivergenceLoss<double>((Reduction)9), "reduction", "None, Mean, Sum or BatchMean", "9");
    }

    [Fact]
    public void Reduction_AvgFactor()
    {
        Names<ArgumentOutOfRangeException>(() => new L1Loss<double>().Forward([1.0], [0.0], avgFactor: -1), "avgFactor", "finite number >= 0", "got -1");
        Names<ArgumentOutOfRangeException>(() => new L1Loss<double>().Forward([1.0], [0.0], avgFactor: double.PositiveInfinity), "avgFactor", "finite number >= 0", "got Infinity");
        Names<ArgumentException>(() => new L1Loss<double>(Reduction.Sum).Forward([1.0], [0.0], avgFactor: 2), "avgFactor", "Reduction.Sum", "avgFactor (2)");
    }

    [Fact]
    public void Reduction_Upstream()
    {
        var gradient = new double[1];
        Names<ArgumentException>(() => new L1Loss<double>(Reduction.Mean).Backward([1.0], [0.0], (ReadOnlySpan<double>)[1.0], gradient), "upstream", "Reduction.None", "Mean");
        Names<ArgumentException>(() => new L1Loss<double>(Reduction.None).Backward([1.0], [0.0], 1.0, gradient), "upstream", "Reduction.None", "per-element");
        Names<ArgumentException>(() => new L1Loss<double>(Reduction.None).Backward([1.0, 2.0], [0.0, 0.0], (ReadOnlySpan<double>)[1.0], new double[2]), "upstream", "2 elements", "one per loss element", "has 1");
    }

    [Fact]
    public void Regression_HyperParameters()
    {
        Names<ArgumentOutOfRangeException>(() => new SmoothL1Loss<double>(beta: -0.5), "beta", ">= 0", "got -0.5");
        Names<ArgumentOutOfRangeException>(() => new HuberLoss<double>(delta: 0), "delta", "> 0", "got 0");
        Names<ArgumentOutOfRangeException>(() => new BalancedL1Loss<double>(alpha: 0.001, gamma: 1), "gamma", "gamma/alpha = 1000", "overflows");
        Names<ArgumentOutOfRangeException>(() => new BalancedL1Loss<double>(beta: double.NaN), "beta", "> 0", "got NaN");
    }

    [Fact]
    public void Focal_HyperParameters()
    {
        Names<ArgumentOutOfRangeException>(() => new SigmoidFocalLoss<double>(alpha: 1.5), "alpha", "<= 1", "got 1.5");
        Names<ArgumentOutOfRangeException>(() => new SigmoidFocalLoss<double>(alpha: double.NaN), "alpha", "<= 1", "got NaN");
        Names<ArgumentOutOfRangeException>(() => new SigmoidFocalLoss<double>(gamma: -1), "gamma", ">= 0", "got -1");
        Names<ArgumentOutOfRangeException>(() => new SoftmaxFocalLoss<double>(classAlpha: new double[] { 0.25, double.NaN }), "classAlpha", "must be finite", "got NaN");
    }

    [Fact]
    public void BoxCoder_Shapes()
    {
        double[] anchors = [0, 0, 4, 4, 1, 1, 5, 5];
        Names<ArgumentException>(() => BoxCoder.Unit.Decode<double>(new double[8], [], new double[8]), "deltas", "8 elements", "no anchors");
        Names<ArgumentException>(() => BoxCoder.Unit.Decode<double>(new double[12], anchors, new double[12]), "deltas", "4K values per anchor", "12 elements for 2 anchors");
        Names<ArgumentException>(() => BoxCoder.Unit.Decode<double>(
            Tensor.Create(new double[12], [2, 6]), Tensor.Create(anchors, [2, 4]), Tensor.Create(new double[12], [2, 6])), "deltas", "[2, 4K]", "anchors [2, 4]", "got [2, 6]");
        Names<ArgumentException>(() => BoxCoder.Unit.Encode<double>(
            Tensor.Create(new double[10], [2, 5]), Tensor.Create(new double[10], [2, 5]), Tensor.Create(new double[10], [2, 5])), "boxes", "[N, 4]", "got [2, 5]");
    }

    [Fact]
    public void BoxCoder_Clip() =>
        Names<ArgumentOutOfRangeException>(() => new BoxCoder(boxTransformClip: double.NaN), "boxTransformClip", "must not be NaN");
}
