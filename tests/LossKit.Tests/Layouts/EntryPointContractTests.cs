using LossKit.Classification;
using LossKit.Detection;
using LossKit.Regression;

namespace LossKit.Tests.Layouts;

/// <summary>
/// A destination passed to a reducing loss is left as it was: only <see cref="Reduction.None"/> writes per-value losses
/// (run N: handing the destination to the kernels whatever the reduction survived every test).
/// </summary>
public class EntryPointContractTests
{
    private const double Sentinel = -4.5e300;

    // Half views of test data; a destination comes back through Unhalf so the sentinel check sees what was written.
    [ThreadStatic]
    private static Half[]? t_halfDestination;

    private static Half[] H(double[] values)
    {
        Half[] h = [.. values.Select(v => v == Sentinel ? Half.MinValue : (Half)v)];
        if (values.Length > 0 && values[0] == Sentinel)
        {
            t_halfDestination = h;
        }

        return h;
    }

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
            // Half runs through the float32 path (RunWidened).
            ("mse Half", d => (double)new MseLoss<Half>(reduction).Forward(H(x), H(y), H(d)), d => (double)new MseLoss<Half>(reduction).ForwardBackward(H(x), H(y), new Half[24], H(d)), 24),
        };
        foreach (var (name, forward, forwardBackward, n) in cases)
        {
            double expected = forward([]);
            foreach (var (entry, call) in new[] { ("Forward", forward), ("ForwardBackward", forwardBackward) })
            {
                double[] destination = [.. Enumerable.Repeat(Sentinel, n)];
                t_halfDestination = null;
                Assert.Equal(expected, call(destination), 14);
                Assert.True(destination.All(v => v == Sentinel), $"{name} {reduction} {entry} wrote into the destination");
                Assert.True(t_halfDestination is null || t_halfDestination.All(v => v == Half.MinValue), $"{name} {reduction} {entry} wrote into the Half destination");
            }
        }
    }
}
