using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Regression;

public class L1Tests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "l1", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "l1", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "l1", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "l1", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>Worked example: mean absolute error 0.275.</summary>
    [Fact]
    public void WorkedExample_MeanIs0_275()
    {
        Assert.Equal(0.275, new L1Loss<double>().Forward(RegressionData.Prediction, RegressionData.OneHot), 1e-7);
        Assert.Equal(0.275, new L1Loss<float>().Forward(RegressionData.PredictionF, RegressionData.OneHotF), 1e-7);
        Assert.Equal(3.3, new L1Loss<double>(Reduction.Sum).Forward(RegressionData.Prediction, RegressionData.OneHot), 1e-12);
    }

    /// <summary>The gradient at x = y is 0 (torch.sign), ±1 elsewhere, ±1 at ±∞.</summary>
    [Fact]
    public void Gradient_IsSign_ZeroAtZero()
    {
        var g = new double[4];
        new L1Loss<double>(Reduction.Sum).ForwardBackward([1.0, 2.0, -3.0, double.PositiveInfinity], [1.0, 1.0, 0.0, 0.0], g);
        Assert.Equal([0.0, 1.0, -1.0, 1.0], g);
    }
}
