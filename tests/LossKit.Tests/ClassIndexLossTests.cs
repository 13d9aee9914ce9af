using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests;

/// <summary>Argument validation shared by the class-index losses (CrossEntropy, NLL, MultiMargin).</summary>
public class ClassIndexLossTests
{
    private static LossSetup Setup(string loss, Reduction reduction, double[]? weight = null, int ignoreIndex = -100) => new()
    {
        Loss = loss, Reduction = reduction, Shape = [2, 3], IndexTarget = [0, 2], Weight = weight, IgnoreIndex = ignoreIndex,
    };

    private static readonly double[] X = [0.1, -0.2, 0.3, 1.0, 2.0, -1.0];

    [Theory]
    [MemberData(nameof(LossSetup.ClassIndexIds), MemberType = typeof(LossSetup))]
    public void LengthMismatches_Throw_NamingTheArgument(string loss)
    {
        ClassIndexLoss<double> mean = LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.Mean));
        ClassIndexLoss<double> none = LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.None));
        ClassIndexLoss<double> weighted = LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.Mean, [1, 2, 3, 4]));
        int[] t = [0, 2];

        LossChecks.Throws<ArgumentException>("input", () => mean.Forward(X.AsSpan(0, 5), t, 2, 3));
        LossChecks.Throws<ArgumentException>("target", () => mean.Forward(X, [0, 2, 1], 2, 3));
        LossChecks.Throws<ArgumentException>("target", () => mean.Forward(X, [0], 2, 3));
        LossChecks.Throws<ArgumentException>("weight", () => weighted.Forward(X, t, 2, 3));
        LossChecks.Throws<ArgumentException>("gradient", () => mean.Backward(X, t, 2, 3, 1.0, new double[5]));
        LossChecks.Throws<ArgumentException>("gradient", () => mean.ForwardBackward(X, t, 2, 3, new double[5]));
        LossChecks.Throws<ArgumentException>("upstream", () => mean.Backward(X, t, 2, 3, new double[2], new double[6]));
        LossChecks.Throws<ArgumentException>("destination", () => none.Forward(X, t, 2, 3, new double[1]));
        LossChecks.Throws<ArgumentException>("destination", () => none.ForwardBackward(X, t, 2, 3, new double[6], new double[1]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(X, t, 2, 3, 1.0, new double[6]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(X, t, 2, 3, new double[3], new double[6]));
        LossChecks.Throws<ArgumentOutOfRangeException>("classes", () => mean.Forward([], [], 0, 0));
        LossChecks.Throws<ArgumentOutOfRangeException>("classes", () => mean.Forward(X, t, 2, -3));
        LossChecks.Throws<ArgumentOutOfRangeException>("batch", () => mean.Forward(X, t, -2, 3));
    }

    [Theory]
    [MemberData(nameof(LossSetup.ClassIndexIds), MemberType = typeof(LossSetup))]
    public void ClassIndexOutOfRange_Throws_NamingTarget(string loss)
    {
        foreach (Reduction r in new[] { Reduction.None, Reduction.Mean, Reduction.Sum })
        {
            ClassIndexLoss<double> l = LossRunner<double>.MakeClassIndex(Setup(loss, r));
            foreach (int bad in new[] { 3, -1, 1000, int.MinValue })
            {
                LossChecks.Throws<ArgumentOutOfRangeException>("target", () => l.Forward(X, [0, bad], 2, 3, new double[2]));
                LossChecks.Throws<ArgumentOutOfRangeException>("target", () => l.ForwardBackward(X, [bad, 0], 2, 3, new double[6], new double[2]));
            }

            // The default ignore index (−100) is a valid target for CE and NLL only (MultiMargin has none).
            if (loss == "multi_margin")
            {
                LossChecks.Throws<ArgumentOutOfRangeException>("target", () => l.Forward(X, [0, -100], 2, 3, new double[2]));
            }
            else
            {
                Assert.True(double.IsFinite(l.Forward(X, [0, -100], 2, 3, new double[2])));
            }
        }
    }

    /// <summary>An ignore index outside [0, classes) is accepted as a target and skips its row.</summary>
    [Theory]
    [InlineData("cross_entropy")]
    [InlineData("nll")]
    public void CustomIgnoreIndex_IsAllowed_AndSkipsTheRow(string loss)
    {
        ClassIndexLoss<double> l = LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.None, ignoreIndex: 7));
        var values = new double[2];
        var g = Enumerable.Repeat(9.0, 6).ToArray();
        l.ForwardBackward(X, [7, 2], 2, 3, g, values);
        Assert.Equal(0.0, values[0]);
        Assert.Equal([0.0, 0.0, 0.0], g[..3]);
        Assert.NotEqual(0.0, values[1]);

        // −100 is then an ordinary (invalid) class index.
        LossChecks.Throws<ArgumentOutOfRangeException>("target", () => l.Forward(X, [-100, 2], 2, 3, values));
    }

    [Theory]
    [MemberData(nameof(LossSetup.ClassIndexIds), MemberType = typeof(LossSetup))]
    public void NonFiniteClassWeight_Throws(string loss)
    {
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            LossChecks.Throws<ArgumentOutOfRangeException>("weight", () => LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.Mean, [1.0, bad, 1.0])),
                $"Class weights must be finite, got {bad}");
        }

        // Finite weights of the wrong length: refused at the call, naming what the weights are for.
        ClassIndexLoss<double> l = LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.Mean, [1.0, 2.0]));
        LossChecks.ThrowsNaming("weight", () => l.Forward(X, [0, 2], 2, 3), "one weight per class", "3", "2");
    }

    [Theory]
    [MemberData(nameof(LossSetup.ClassIndexIds), MemberType = typeof(LossSetup))]
    public void TensorShapeMismatches_Throw_NamingTheArgument(string loss)
    {
        ClassIndexLoss<double> mean = LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.Mean));
        ClassIndexLoss<double> none = LossRunner<double>.MakeClassIndex(Setup(loss, Reduction.None));
        Tensor<double> x = Tensor.Create(X, [2, 3]);
        Tensor<int> t = Tensor.Create(new[] { 0, 2 }, [2]);
        Tensor<double> g = Tensor.Create(new double[6], [2, 3]);

        // A rank-1 input is neither rows nor the dense form, in every entry point.
        const string rank = "input must have rank 2 ([batch, classes]), got shape [6].";
        LossChecks.ThrowsNaming("input", () => mean.Forward(Tensor.Create(X, [6]), t), rank);
        LossChecks.ThrowsNaming("input", () => mean.Backward(Tensor.Create(X, [6]), t, 1.0, g), rank);
        LossChecks.ThrowsNaming("input", () => none.Backward(Tensor.Create(X, [6]), t, Tensor.Create(new double[2], [2]), g), rank);
        LossChecks.ThrowsNaming("input", () => mean.ForwardBackward(Tensor.Create(X, [6]), t, g), rank);
        // A rank-3 input is the dense form [N, C, d1]: its target must be [N, d1] = [1, 3].
        LossChecks.Throws<ArgumentException>("target", () => mean.Forward(Tensor.Create(X, [1, 2, 3]), t));
        LossChecks.Throws<ArgumentException>("target", () => mean.Forward(x, Tensor.Create(new[] { 0, 2 }, [1, 2])));
        LossChecks.Throws<ArgumentException>("target", () => mean.Forward(x, Tensor.Create(new[] { 0, 2, 1 }, [3])));
        LossChecks.Throws<ArgumentException>("gradient", () => mean.Backward(x, t, 1.0, Tensor.Create(new double[6], [3, 2])));
        LossChecks.Throws<ArgumentException>("gradient", () => mean.ForwardBackward(x, t, Tensor.Create(new double[6], [6])));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(x, t, Tensor.Create(new double[2], [1, 2]), g));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(x, t, Tensor.Create(new double[3], [3]), g));
        Assert.True(double.IsFinite(mean.Forward(x, t)));
    }
}
