using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Regression;

public class HuberTests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "huber", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "huber", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "huber", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "huber", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>Huber(δ) = δ · SmoothL1(β = δ), element by element.</summary>
    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(3.0)]
    public void Huber_IsDeltaTimesSmoothL1(double delta)
    {
        Scenario s = Scenarios.Random(new Variant("huber", Reduction.None) { Delta = delta }, 4, 9, 8);
        var h = new double[36];
        var sl = new double[36];
        new HuberLoss<double>(Reduction.None, delta).Forward(s.Input, s.Setup.Target, h);
        new SmoothL1Loss<double>(Reduction.None, delta).Forward(s.Input, s.Setup.Target, sl);
        for (int i = 0; i < 36; i++)
        {
            Assert.Equal(delta * sl[i], h[i], 1e-13);
        }

        // With δ = 1 the worked example gives the Smooth L1 value 0.04625.
        Assert.Equal(0.04625, new HuberLoss<double>().Forward(RegressionData.Prediction, RegressionData.OneHot), 1e-7);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void BadDelta_Throws(double delta) =>
        LossChecks.Throws<ArgumentOutOfRangeException>("delta", () => _ = new HuberLoss<double>(delta: delta));
}
