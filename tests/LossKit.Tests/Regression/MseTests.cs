using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Regression;

public class MseTests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "mse", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "mse", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "mse", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "mse", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>Worked example: mean squared error 0.0925.</summary>
    [Fact]
    public void WorkedExample_MeanIs0_0925()
    {
        Assert.Equal(0.0925, new MseLoss<double>().Forward(RegressionData.Prediction, RegressionData.OneHot), 1e-7);
        Assert.Equal(0.0925, new MseLoss<float>().Forward(RegressionData.PredictionF, RegressionData.OneHotF), 1e-7);
    }
}
