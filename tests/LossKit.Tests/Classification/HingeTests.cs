using System.Numerics;
using LossKit.Classification;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Classification;

/// <summary>HingeLoss, SquaredHingeLoss, HingeEmbeddingLoss and MultiMarginLoss.</summary>
public class HingeTests
{
    // ---- PyTorch golden cases -------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Golden.Names), "hinge", MemberType = typeof(Golden))]
    public void HingeReference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "hinge", MemberType = typeof(Golden))]
    public void HingeReference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "squared_hinge", MemberType = typeof(Golden))]
    public void SquaredHingeReference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "squared_hinge", MemberType = typeof(Golden))]
    public void SquaredHingeReference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "hinge_embedding", MemberType = typeof(Golden))]
    public void HingeEmbeddingReference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "hinge_embedding", MemberType = typeof(Golden))]
    public void HingeEmbeddingReference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "multi_margin", MemberType = typeof(Golden))]
    public void MultiMarginReference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "multi_margin", MemberType = typeof(Golden))]
    public void MultiMarginReference_Float(string name) => ReferenceCheck.Assert<float>(name);

    // ---- finite differences and entry points ----------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Variants.Names), "hinge", MemberType = typeof(Variants))]
    [MemberData(nameof(Variants.Names), "squared_hinge", MemberType = typeof(Variants))]
    [MemberData(nameof(Variants.Names), "hinge_embedding", MemberType = typeof(Variants))]
    [MemberData(nameof(Variants.Names), "multi_margin", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "hinge", MemberType = typeof(Variants))]
    [MemberData(nameof(Variants.Names), "squared_hinge", MemberType = typeof(Variants))]
    [MemberData(nameof(Variants.Names), "hinge_embedding", MemberType = typeof(Variants))]
    [MemberData(nameof(Variants.Names), "multi_margin", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    // ---- kinks follow PyTorch's clamp ------------------------------------------------------------------------------

    [Fact]
    public void Hinge_AtTheKink_PassesTheGradient_LikeClamp()
    {
        var g = new double[2];
        new HingeLoss<double>(Reduction.Sum).ForwardBackward([1.0, -1.0], [1.0, -1.0], g);
        Assert.Equal([-1.0, 1.0], g);
        new HingeEmbeddingLoss<double>(Reduction.Sum, margin: 0.5).ForwardBackward([0.5, 0.5], [-1.0, 1.0], g);
        Assert.Equal([-1.0, 1.0], g);
    }

    // ---- extreme logits -------------------------------------------------------------------------------------------

    public static TheoryData<string, double> ExtremeCases()
    {
        var data = new TheoryData<string, double>();
        foreach (string loss in new[] { "hinge", "squared_hinge", "hinge_embedding", "multi_margin" })
        {
            data.Add(loss, 1e4);
            data.Add(loss, 1e30);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ExtremeCases))]
    public void ExtremeLogits_FiniteValueAndGradient(string loss, double big)
    {
        Extreme<double>(loss, big);

        // In float, (1e30)² = 1e60 is beyond float's range: the squared hinge and multi-margin with p = 2 overflow to
        // +∞ by necessity there, so float runs those at 1e4 only.
        Extreme<float>(loss, big, squaredRepresentable: big * big < float.MaxValue);
    }

    private static void Extreme<T>(string loss, double big, bool squaredRepresentable = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] pattern = [big, -big, 0.0, 3.0, -big, big, 1.0];
        if (loss == "multi_margin")
        {
            const int rows = 5, cols = 8;
            double[] x = Enumerable.Range(0, rows * cols).Select(i => pattern[(i + i / cols) % pattern.Length]).ToArray();
            foreach (int p in squaredRepresentable ? new[] { 1, 2 } : new[] { 1 })
            {
                foreach (double[]? w in new[] { null, Scenarios.Uniform(new Random(1), cols, 0.1, 2.0) })
                {
                    var setup = new LossSetup { Loss = loss, Shape = [rows, cols], IndexTarget = [0, 1, 2, 3, 7], P = p, Weight = w };
                    LossChecks.AssertFinite<T>(setup, x);
                }
            }

            return;
        }

        if (loss == "squared_hinge" && !squaredRepresentable)
        {
            return;
        }

        double[] input = Enumerable.Range(0, 24).Select(i => pattern[i % pattern.Length]).ToArray();
        double[] y = Enumerable.Range(0, 24).Select(i => i % 3 == 0 ? -1.0 : 1.0).ToArray();
        foreach (double margin in new[] { 1.0, 2.0 })
        {
            var setup = new LossSetup { Loss = loss, Shape = [24], Target = y, Margin = margin, Weight = Scenarios.Uniform(new Random(2), 24, 0.1, 2.0) };
            LossChecks.AssertFinite<T>(setup, input);
        }
    }

    // ---- bad input ------------------------------------------------------------------------------------------------

    public static TheoryData<string, double> BadLabels()
    {
        var data = new TheoryData<string, double>();
        foreach (string loss in new[] { "hinge", "squared_hinge", "hinge_embedding", "exponential" })
        {
            foreach (double label in new[] { 0.0, 0.5, 2.0, -1.0000001, double.NaN })
            {
                data.Add(loss, label);
            }
        }

        return data;
    }

    /// <summary>Labels must be exactly ±1; the bad label sits in the vector part and in the scalar tail.</summary>
    [Theory]
    [MemberData(nameof(BadLabels))]
    public void LabelsNotPlusMinusOne_Throw(string loss, double label)
    {
        foreach (int at in new[] { 0, 5, 36 })
        {
            double[] y = Enumerable.Range(0, 37).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();
            y[at] = label;
            LossRunner<double> d = LossRunner<double>.Create(new LossSetup { Loss = loss, Shape = [37], Target = y });
            LossChecks.Throws<ArgumentOutOfRangeException>("target", () => d.Forward(new double[37], default));
            LossChecks.Throws<ArgumentOutOfRangeException>("target", () => d.Backward(new double[37], 1.0, new double[37]));
            LossChecks.Throws<ArgumentOutOfRangeException>("target", () => d.ForwardBackward(new double[37], new double[37], default));
            LossRunner<float> f = LossRunner<float>.Create(new LossSetup { Loss = loss, Shape = [37], Target = y });
            LossChecks.Throws<ArgumentOutOfRangeException>("target", () => f.Forward(new float[37], default));
        }
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void HingeEmbedding_BadMargin_Throws(double margin) =>
        LossChecks.Throws<ArgumentOutOfRangeException>("margin", () => _ = new HingeEmbeddingLoss<double>(margin: margin));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(-1)]
    public void MultiMargin_PNotOneOrTwo_Throws(int p) =>
        LossChecks.Throws<ArgumentOutOfRangeException>("p", () => _ = new MultiMarginLoss<double>(p: p));

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void MultiMargin_BadMargin_Throws(double margin) =>
        LossChecks.Throws<ArgumentOutOfRangeException>("margin", () => _ = new MultiMarginLoss<double>(margin: margin));

    [Fact]
    public void MultiMargin_ZeroMargin_IsAllowed()
    {
        // margin 0: l = Σ_{i≠y} max(0, x_i − x_y) / C.
        double value = new MultiMarginLoss<double>(Reduction.Sum, margin: 0).Forward([1.0, 3.0, 0.5], [0], 1, 3);
        Assert.Equal(2.0 / 3, value, 1e-15);
    }
}
