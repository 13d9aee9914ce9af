using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Regression;

public class BalancedL1Tests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "balanced_l1", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "balanced_l1", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "balanced_l1", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "balanced_l1", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>The two pieces meet at |d| = β, and for β = 1 the gradient is continuous there (= γ).</summary>
    [Fact]
    public void Pieces_MeetAtBeta()
    {
        foreach ((double alpha, double gamma, double beta) in new[] { (0.5, 1.5, 1.0), (0.3, 1.2, 0.5) })
        {
            var loss = new BalancedL1Loss<double>(Reduction.None, alpha, gamma, beta);
            var v = new double[2];
            loss.Forward([beta - 1e-9, beta + 1e-9], [0.0, 0.0], v);
            Assert.Equal(v[0], v[1], 1e-8);
        }

        var g = new double[2];
        new BalancedL1Loss<double>(Reduction.Sum).ForwardBackward([1 - 1e-9, 1 + 1e-9], [0.0, 0.0], g);
        Assert.Equal(1.5, g[0], 1e-7);
        Assert.Equal(1.5, g[1], 1e-15);
    }

    [Theory]
    [InlineData("alpha", 0.0, 1.5, 1.0)]
    [InlineData("alpha", double.NaN, 1.5, 1.0)]
    [InlineData("gamma", 0.5, 0.0, 1.0)]
    [InlineData("gamma", 0.5, -1.0, 1.0)]
    [InlineData("beta", 0.5, 1.5, 0.0)]
    [InlineData("beta", 0.5, 1.5, double.PositiveInfinity)]
    [InlineData("gamma", 0.001, 1000.0, 1.0)]
    public void BadHyperParameters_Throw(string paramName, double alpha, double gamma, double beta) =>
        LossChecks.Throws<ArgumentOutOfRangeException>(paramName, () => _ = new BalancedL1Loss<double>(Reduction.Mean, alpha, gamma, beta));

    /// <summary>
    /// γ/α whose b = e^(γ/α) − 1 overflows float (but not double) is rejected by the float loss: it used to give NaN for
    /// every inlier (b·d = ∞, ∞/∞ in the gradient), found by the fuzz suite (alpha 0.003, gamma 1.5: γ/α = 500).
    /// </summary>
    [Fact]
    public void GammaOverAlpha_BeyondFloat_ThrowsForFloatOnly()
    {
        LossChecks.Throws<ArgumentOutOfRangeException>("gamma", () => _ = new BalancedL1Loss<float>(Reduction.Mean, 0.003, 1.5, 1.0));
        var g = new double[1];
        double v = new BalancedL1Loss<double>(Reduction.Mean, 0.003, 1.5, 1.0).ForwardBackward([0.5], [0.0], g);
        Assert.True(double.IsFinite(v) && double.IsFinite(g[0]), $"{v} {g[0]}");
        var gf = new float[1];
        float vf = new BalancedL1Loss<float>(Reduction.Mean, 0.05, 4.0, 2.0).ForwardBackward([0.5f], [0.0f], gf); // γ/α = 80
        Assert.True(float.IsFinite(vf) && float.IsFinite(gf[0]), $"{vf} {gf[0]}");
    }
}
