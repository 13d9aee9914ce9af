using System.Numerics.Tensors;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests;

/// <summary>Argument validation shared by every element-wise loss (span and tensor forms).</summary>
public class ElementwiseLossTests
{
    private static Scenario Valid(string loss, Reduction reduction, int rows = 3, int cols = 5) =>
        Scenarios.Random(new Variant(loss, reduction) { Weight = true }, rows, cols, 17);

    private static LossSetup WithData(LossSetup s, double[]? target = null, double[]? weight = null) => new()
    {
        Loss = s.Loss, Reduction = s.Reduction, Shape = s.Shape, Target = target ?? s.Target, Weight = weight ?? s.Weight,
        PosWeight = s.PosWeight, Margin = s.Margin, Beta = s.Beta, Delta = s.Delta, Alpha = s.Alpha, Gamma = s.Gamma,
    };

    [Theory]
    [MemberData(nameof(LossSetup.ElementwiseIds), MemberType = typeof(LossSetup))]
    public void LengthMismatches_Throw_NamingTheArgument(string loss)
    {
        Scenario s = Valid(loss, Reduction.Mean);
        double[] x = s.Input;
        int n = x.Length;

        LossRunner<double> shortTarget = LossRunner<double>.Create(WithData(s.Setup, target: s.Setup.Target[..^1]));
        LossChecks.Throws<ArgumentException>("target", () => shortTarget.Forward(x, default));
        LossChecks.Throws<ArgumentException>("target", () => shortTarget.Backward(x, 1.0, new double[n]));
        LossChecks.Throws<ArgumentException>("target", () => shortTarget.ForwardBackward(x, new double[n], default));

        LossRunner<double> longWeight = LossRunner<double>.Create(WithData(s.Setup, weight: [.. s.Setup.Weight!, 1.0]));
        LossChecks.Throws<ArgumentException>("weight", () => longWeight.Forward(x, default));
        LossChecks.Throws<ArgumentException>("weight", () => longWeight.ForwardBackward(x, new double[n], default));

        LossRunner<double> mean = LossRunner<double>.Create(s.Setup);
        LossChecks.Throws<ArgumentException>("gradient", () => mean.Backward(x, 1.0, new double[n - 1]));
        LossChecks.Throws<ArgumentException>("gradient", () => mean.ForwardBackward(x, new double[n - 1], default));
        LossChecks.Throws<ArgumentException>("upstream", () => mean.Backward(x, new double[n], new double[n]));

        LossRunner<double> none = LossRunner<double>.Create(s.Setup.With(Reduction.None));
        LossChecks.Throws<ArgumentException>("destination", () => none.Forward(x, new double[n - 1]));
        LossChecks.Throws<ArgumentException>("destination", () => none.Forward(x, default));
        LossChecks.Throws<ArgumentException>("destination", () => none.ForwardBackward(x, new double[n], new double[n - 1]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(x, 1.0, new double[n]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(x, new double[n - 1], new double[n]));
        LossChecks.Throws<ArgumentException>("gradient", () => none.Backward(x, new double[n], new double[n - 1]));

        // Longer destinations are fine (only the first n elements are written).
        var longer = Enumerable.Repeat(-7.0, n + 2).ToArray();
        none.Forward(x, longer);
        Assert.Equal(-7.0, longer[n]);
        Assert.Equal(-7.0, longer[n + 1]);
    }

    [Theory]
    [MemberData(nameof(LossSetup.ElementwiseIds), MemberType = typeof(LossSetup))]
    public void TensorShapeMismatches_Throw_NamingTheArgument(string loss)
    {
        Scenario s = Valid(loss, Reduction.Mean, 2, 6);
        ElementwiseLoss<double> mean = LossRunner<double>.MakeElementwise(s.Setup);
        ElementwiseLoss<double> none = LossRunner<double>.MakeElementwise(s.Setup.With(Reduction.None));
        Tensor<double> x = Tensor.Create(s.Input, [2, 6]);
        Tensor<double> y = Tensor.Create(s.Setup.Target, [2, 6]);
        Tensor<double> yWrong = Tensor.Create(s.Setup.Target, [6, 2]);
        Tensor<double> w = Tensor.Create(s.Setup.Weight!, [2, 6]);
        Tensor<double> wWrong = Tensor.Create(s.Setup.Weight!, [12]);
        Tensor<double> g = Tensor.Create(new double[12], [2, 6]);
        Tensor<double> gWrong = Tensor.Create(new double[12], [3, 4]);

        LossChecks.Throws<ArgumentException>("target", () => mean.Forward(x, yWrong));
        LossChecks.Throws<ArgumentException>("weight", () => mean.Forward(x, y, default, wWrong));
        LossChecks.Throws<ArgumentException>("gradient", () => mean.Backward(x, y, 1.0, gWrong));
        LossChecks.Throws<ArgumentException>("gradient", () => mean.ForwardBackward(x, y, gWrong));
        LossChecks.Throws<ArgumentException>("target", () => mean.ForwardBackward(x, yWrong, g));
        LossChecks.Throws<ArgumentException>("destination", () => none.Forward(x, y, Tensor.Create(new double[12], [12])));
        LossChecks.Throws<ArgumentException>("destination", () => none.ForwardBackward(x, y, g, Tensor.Create(new double[12], [1, 12])));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(x, y, Tensor.Create(new double[12], [6, 2]), g));
        LossChecks.Throws<ArgumentException>("weight", () => none.Backward(x, y, Tensor.Create(new double[12], [2, 6]), g, wWrong));

        // Matching shapes work, with and without weight.
        Assert.True(double.IsFinite(mean.Forward(x, y, default, w)));
        Assert.True(double.IsFinite(mean.Forward(x, y)));
    }

    [Theory]
    [MemberData(nameof(LossSetup.ElementwiseIds), MemberType = typeof(LossSetup))]
    public void NonDenseTensor_Throws(string loss)
    {
        Scenario s = Valid(loss, Reduction.Mean, 2, 8);
        ElementwiseLoss<double> mean = LossRunner<double>.MakeElementwise(s.Setup);

        // A [2, 3] view with row stride 8 over 16 elements: not contiguous.
        Tensor<double> x = Tensor.Create(s.Input, [2, 3], [8, 1]);
        Tensor<double> y = Tensor.Create(s.Setup.Target, [2, 3], [8, 1]);
        Tensor<double> dense = Tensor.Create(s.Input[..6], [2, 3]);
        Tensor<double> denseY = Tensor.Create(s.Setup.Target[..6], [2, 3]);
        LossChecks.Throws<ArgumentException>("input", () => mean.Forward(x, denseY));
        LossChecks.Throws<ArgumentException>("target", () => mean.Forward(dense, y));
    }
}
