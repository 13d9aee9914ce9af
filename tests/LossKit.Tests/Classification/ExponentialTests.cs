using LossKit.Classification;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Classification;

public class ExponentialTests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "exponential", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "exponential", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "exponential", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "exponential", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>e^(−y·f): e at a wrong unit margin; overflows to +∞ below y·f ≈ −709 (documented), 0 gradient far on the right side.</summary>
    [Fact]
    public void KnownValues_AndDocumentedOverflow()
    {
        var loss = new ExponentialLoss<double>(Reduction.None);
        var values = new double[4];
        var g = new double[4];
        loss.ForwardBackward([-1.0, 1.0, -800.0, 800.0], [1.0, 1.0, 1.0, 1.0], g, values);
        Assert.Equal(Math.E, values[0], 1e-15);
        Assert.Equal(1 / Math.E, values[1], 1e-15);
        Assert.Equal(double.PositiveInfinity, values[2]);
        Assert.Equal(0.0, values[3]);
        Assert.Equal(-Math.E, g[0], 1e-15);
    }
}
