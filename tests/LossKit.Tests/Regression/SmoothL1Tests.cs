using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Regression;

public class SmoothL1Tests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "smooth_l1", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "smooth_l1", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "smooth_l1", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "smooth_l1", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>Worked example: mean Smooth L1 (β = 1) 0.04625 (every |d| &lt; 1, so it is half the MSE).</summary>
    [Fact]
    public void WorkedExample_MeanIs0_04625()
    {
        Assert.Equal(0.04625, new SmoothL1Loss<double>().Forward(RegressionData.Prediction, RegressionData.OneHot), 1e-7);
        Assert.Equal(0.04625, new SmoothL1Loss<float>(beta: 1.0).Forward(RegressionData.PredictionF, RegressionData.OneHotF), 1e-7);
    }

    /// <summary>β = 0 is exactly L1 (values and gradients).</summary>
    [Fact]
    public void BetaZero_IsL1()
    {
        Scenario s = Scenarios.Random(new Variant("l1", Reduction.None), 3, 7, 3);
        var a = new double[21];
        var b = new double[21];
        var ga = new double[21];
        var gb = new double[21];
        new SmoothL1Loss<double>(Reduction.None, 0).ForwardBackward(s.Input, s.Setup.Target, ga, a);
        new L1Loss<double>(Reduction.None).ForwardBackward(s.Input, s.Setup.Target, gb, b);
        Assert.Equal(b, a);
        Assert.Equal(gb, ga);
    }

    [Theory]
    [InlineData(-1e-9)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void BadBeta_Throws(double beta) =>
        LossChecks.Throws<ArgumentOutOfRangeException>("beta", () => _ = new SmoothL1Loss<double>(beta: beta));
}
