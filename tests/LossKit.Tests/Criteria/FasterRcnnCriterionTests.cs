using LossKit.Criteria;

namespace LossKit.Tests.Criteria;

/// <summary>
/// Both Faster R-CNN criteria keep the matcher, sampler, box coder and β they are given, and default to torchvision's
/// (run M: dropping any given part for the default passed the criteria tests).
/// </summary>
public class FasterRcnnCriterionTests
{
    public static TheoryData<string> Criteria => ["rpn", "fast_rcnn"];

    private static FasterRcnnCriterion<double> Create(string kind, Matcher? matcher = null, BalancedPositiveNegativeSampler? sampler = null,
        BoxCoder? coder = null, double? beta = null) => kind == "rpn"
        ? new RpnLoss<double>(matcher, sampler, coder, beta ?? 1.0 / 9)
        : new FastRcnnLoss<double>(matcher, sampler, coder, beta ?? 1.0 / 9);

    [Theory]
    [MemberData(nameof(Criteria))]
    public void Constructor_KeepsTheGivenParts(string kind)
    {
        var matcher = new Matcher(0.6, 0.2, false);
        var sampler = new BalancedPositiveNegativeSampler(64, 0.25);
        var coder = new BoxCoder(2, 2, 1, 1);
        FasterRcnnCriterion<double> loss = Create(kind, matcher, sampler, coder, 0.5);
        Assert.Same(matcher, loss.Matcher);
        Assert.Same(sampler, loss.Sampler);
        Assert.Same(coder, loss.BoxCoder);
        Assert.Equal(0.5, loss.Beta);
    }

    [Fact]
    public void Defaults_AreTorchvisions()
    {
        FasterRcnnCriterion<double> rpn = Create("rpn"), roi = Create("fast_rcnn");
        Assert.Equal((Matcher.Rpn, BalancedPositiveNegativeSampler.Rpn, BoxCoder.Unit, 1.0 / 9), (rpn.Matcher, rpn.Sampler, rpn.BoxCoder, rpn.Beta));
        Assert.Equal((Matcher.RoiHeads, BalancedPositiveNegativeSampler.RoiHeads, BoxCoder.RoiHeads, 1.0 / 9), (roi.Matcher, roi.Sampler, roi.BoxCoder, roi.Beta));
    }
}
