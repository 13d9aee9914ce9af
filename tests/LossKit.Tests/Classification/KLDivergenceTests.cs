using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Classification;

public class KLDivergenceTests
{
    [Theory]
    [MemberData(nameof(Golden.Names), "kl_div", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "kl_div", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Variants.Names), "kl_div", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "kl_div", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    /// <summary>BatchMean is Sum / batch; Mean is Sum / element count; log targets give the same as their exponentials.</summary>
    [Fact]
    public void Reductions_AndLogTarget_AreConsistent()
    {
        Scenario s = Scenarios.Random(new Variant("kl_div", Reduction.Sum), 4, 6, 11);
        double[] t = s.Setup.Target.Select(v => v == 0 ? 1e-30 : v).ToArray();
        double sum = new KLDivergenceLoss<double>(Reduction.Sum).Forward(s.Input, t, 4);
        Assert.Equal(sum / 4, new KLDivergenceLoss<double>(Reduction.BatchMean).Forward(s.Input, t, 4), 1e-14);
        Assert.Equal(sum / 24, new KLDivergenceLoss<double>(Reduction.Mean).Forward(s.Input, t, 4), 1e-14);
        double[] logT = t.Select(v => Math.Log(v)).ToArray();
        Assert.Equal(sum, new KLDivergenceLoss<double>(Reduction.Sum, logTarget: true).Forward(s.Input, logT, 4), 1e-12);

        // The tensor form takes the batch from the first dimension.
        Assert.Equal(sum / 4, new KLDivergenceLoss<double>(Reduction.BatchMean).Forward(Tensor.Create(s.Input, [4, 6]), Tensor.Create(t, [4, 6])), 1e-14);
        Assert.Equal(sum / 2, new KLDivergenceLoss<double>(Reduction.BatchMean).Forward(Tensor.Create(s.Input, [2, 12]), Tensor.Create(t, [2, 12])), 1e-14);
    }

    [Fact]
    public void ZeroTarget_ContributesNothing_AndNegativeTargetIsNaN()
    {
        var loss = new KLDivergenceLoss<double>(Reduction.None);
        var values = new double[3];
        loss.Forward([-1.0, -2.0, -0.5], [0.0, 0.5, -0.1], 1, values);
        Assert.Equal(0.0, values[0]);
        Assert.Equal(0.5 * Math.Log(0.5) + 0.5 * 2.0, values[1], 1e-15);
        Assert.True(double.IsNaN(values[2])); // log of a negative target, as PyTorch
    }

    [Fact]
    public void BadBatch_Throws()
    {
        var loss = new KLDivergenceLoss<double>(Reduction.BatchMean);
        LossChecks.Throws<ArgumentException>("batch", () => loss.Forward(new double[10], new double[10], 3));
        LossChecks.Throws<ArgumentException>("batch", () => loss.Forward(new double[10], new double[10], 0));
        LossChecks.Throws<ArgumentOutOfRangeException>("batch", () => loss.Forward(new double[10], new double[10], -2));
        LossChecks.Throws<ArgumentException>("batch", () => loss.Backward(new double[10], new double[10], 4, 1.0, new double[10]));
        LossChecks.Throws<ArgumentException>("batch", () => loss.ForwardBackward(new double[10], new double[10], 3, new double[10]));
        LossChecks.Throws<ArgumentException>("target", () => loss.Forward(new double[10], new double[9], 2));
        LossChecks.Throws<ArgumentException>("gradient", () => loss.ForwardBackward(new double[10], new double[10], 2, new double[9]));
        LossChecks.Throws<ArgumentException>("upstream", () => loss.Backward(new double[10], new double[10], 2, new double[10], new double[10]));

        var none = new KLDivergenceLoss<double>(Reduction.None);
        LossChecks.Throws<ArgumentException>("destination", () => none.Forward(new double[10], new double[10], 2, new double[9]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(new double[10], new double[10], 2, 1.0, new double[10]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(new double[10], new double[10], 2, new double[9], new double[10]));
    }

    [Fact]
    public void TensorShapeMismatch_Throws()
    {
        var loss = new KLDivergenceLoss<double>(Reduction.BatchMean);
        Tensor<double> x = Tensor.Create(new double[6], [2, 3]);
        LossChecks.Throws<ArgumentException>("target", () => loss.Forward(x, Tensor.Create(new double[6], [3, 2])));
        LossChecks.Throws<ArgumentException>("gradient", () => loss.ForwardBackward(x, Tensor.Create(new double[6], [2, 3]), Tensor.Create(new double[6], [6])));
        LossChecks.Throws<ArgumentException>("gradient", () => loss.Backward(x, Tensor.Create(new double[6], [2, 3]), 1.0, Tensor.Create(new double[6], [1, 6])));
    }

    [Fact]
    public void InvalidReduction_Throws() =>
        LossChecks.Throws<ArgumentOutOfRangeException>("reduction", () => _ = new KLDivergenceLoss<double>((Reduction)42));
}
