using LossKit.Classification;
using LossKit.Detection;
using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Layouts;

/// <summary>
/// A destination passed to a reducing loss is left as it was: only <see cref="Reduction.None"/> writes per-value losses
/// (run N: handing the destination to the kernels whatever the reduction survived every test).
/// </summary>
public class EntryPointContractTests
{
    private const double Sentinel = -4.5e300;

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void ReducingLosses_LeaveTheDestinationAlone(Reduction reduction)
    {
        var rng = new Random(21);
        double[] x = [.. Enumerable.Range(0, 24).Select(_ => rng.NextDouble() * 4 - 2)];
        double[] y = [.. Enumerable.Range(0, 24).Select(_ => rng.NextDouble() * 4 - 2)];
        double[] boxes = [0, 0, 2, 2, 1, 1, 3, 4, 0.5, 0.5, 1.5, 2.5], targets = [0.2, 0, 2, 2.5, 1, 0.5, 3, 3, 0, 0, 1, 1];
        int[] labels = [0, 3, 1, 2, 3, 0];
        var cases = new (string Name, Func<double[], double> Forward, Func<double[], double> ForwardBackward, int Values)[]
        {
            ("mse", d => new MseLoss<double>(reduction).Forward(x, y, d), d => new MseLoss<double>(reduction).ForwardBackward(x, y, new double[24], d), 24),
            ("cross_entropy", d => new CrossEntropyLoss<double>(reduction).Forward(x, labels, 6, 4, d),
                d => new CrossEntropyLoss<double>(reduction).ForwardBackward(x, labels, 6, 4, new double[24], d), 6),
            ("giou", d => new GIoULoss<double>(reduction).Forward(boxes, targets, d), d => new GIoULoss<double>(reduction).ForwardBackward(boxes, targets, new double[12], d), 3),
        };
        foreach (var (name, forward, forwardBackward, n) in cases)
        {
            double expected = forward([]);
            foreach (var (entry, call) in new[] { ("Forward", forward), ("ForwardBackward", forwardBackward) })
            {
                double[] destination = [.. Enumerable.Repeat(Sentinel, n)];
                Assert.Equal(expected, call(destination), 14);
                Assert.True(destination.All(v => v == Sentinel), $"{name} {reduction} {entry} wrote into the destination");
            }
        }

        // Half runs through the float32 path (RunWidened).
        Half[] hx = [.. x.Select(v => (Half)v)], hy = [.. y.Select(v => (Half)v)];
        var mse = new MseLoss<Half>(reduction);
        Half expectedHalf = mse.Forward(hx, hy);
        Half[] hd = [.. Enumerable.Repeat(Half.MinValue, 24)];
        Assert.Equal(expectedHalf, mse.Forward(hx, hy, hd));
        Assert.Equal(expectedHalf, mse.ForwardBackward(hx, hy, new Half[24], hd));
        Assert.True(hd.All(v => v == Half.MinValue), $"mse Half {reduction} wrote into the destination");
    }

    /// <summary>
    /// The per-value Backward (Reduction.None with an upstream per value) checks what the other entry points check: the
    /// input/target shapes and the loss's own preparation (class indices in range). Run N: both could be removed.
    /// </summary>
    [Fact]
    public void PerValueBackward_ChecksShapesAndTargets()
    {
        var ce = new CrossEntropyLoss<double>(Reduction.None);
        double[] x = new double[12], up = [1, 1, 1], g = new double[12];
        int[] labels = [0, 3, 1], outOfRange = [0, 4, 1], tooShort = [0, 3];
        ce.Backward(x, labels, 3, 4, up, g); // the control
        LossChecks.Throws<ArgumentOutOfRangeException>("target", () => ce.Backward(x, outOfRange, 3, 4, up, g));
        LossChecks.ThrowsNaming("target", () => ce.Backward(x, tooShort, 3, 4, up, g));
        var mse = new MseLoss<double>(Reduction.None);
        mse.Backward(new double[5], new double[5], new double[5], new double[5]); // the control
        LossChecks.ThrowsNaming("target", () => mse.Backward(new double[5], new double[4], new double[5], new double[5]));
    }
}
