using LossKit.Classification;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Classification;

public class SoftMarginTests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "soft_margin", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "soft_margin", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "soft_margin", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "soft_margin", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>
    /// ln 2 at a zero margin; where PyTorch 1.13's log1p(exp(1000)) is +∞ with a NaN gradient, the exact values
    /// (1000 and −1 for y = 1, x = −1000) — F.softplus(torch.tensor(1000.)) = 1000; far on the right side 0 and −0.
    /// </summary>
    [Fact]
    public void KnownValues_AndNoOverflow()
    {
        foreach (bool wide in new[] { false, true })
        {
            int n = wide ? 64 : 4;
            double[] x = [.. Enumerable.Range(0, n).Select(i => (i % 4) switch { 0 => 0.0, 1 => -1000.0, 2 => 1000.0, _ => -1.0 })];
            double[] y = [.. Enumerable.Repeat(1.0, n)];
            var loss = new SoftMarginLoss<double>(Reduction.None);
            var values = new double[n];
            var g = new double[n];
            loss.ForwardBackward(x, y, g, values);
            Assert.Equal(Math.Log(2), values[0], 1e-15);
            Assert.Equal(-0.5, g[0], 1e-15);
            Assert.Equal(1000.0, values[1]);
            Assert.Equal(-1.0, g[1]);
            Assert.Equal(0.0, values[2]);
            Assert.Equal(0.0, g[2], 1e-300);
            Assert.Equal(Math.Log(1 + Math.E), values[3], 1e-15); // ln(1 + e^1) = 1.3132616875182228
            Assert.Equal(-Math.E / (1 + Math.E), g[3], 1e-15);
        }
    }

    [Fact]
    public void TargetsOtherThanPlusMinusOne_Throw() =>
        LossChecks.Throws<ArgumentOutOfRangeException>("target", () => new SoftMarginLoss<double>().Forward([0.5], [0.0]));
}
