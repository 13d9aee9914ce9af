using System.Numerics;
using System.Runtime.Intrinsics;
using LossKit.Internal;

namespace LossKit.Tests.Internal;

/// <summary>
/// The element-wise driver with an op that has a 512-bit form but no staged one (run P: no library op is like that
/// today, so <c>SumWide</c> had no test): the value and the gradient of the reduced call are the definition's
/// (a squared error), at lengths around the 512-bit and Vector&lt;T&gt; block edges, and the same on one thread or
/// several.
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public class PointwiseTests
{
    private readonly struct SquaredError : IPointwiseOp<float>
    {
        public static bool HasVector512 => true;

        public float Value(float x, float y) => (x - y) * (x - y);

        public float Value(float x, float y, out float gradient)
        {
            gradient = 2 * (x - y);
            return (x - y) * (x - y);
        }

        public Vector<float> Value(Vector<float> x, Vector<float> y) => (x - y) * (x - y);

        public Vector<float> Value(Vector<float> x, Vector<float> y, out Vector<float> gradient)
        {
            gradient = 2 * (x - y);
            return (x - y) * (x - y);
        }

        public Vector512<float> Value(Vector512<float> x, Vector512<float> y) => (x - y) * (x - y);

        public Vector512<float> Value(Vector512<float> x, Vector512<float> y, out Vector512<float> gradient)
        {
            gradient = Vector512.Create(2f) * (x - y);
            return (x - y) * (x - y);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(40)]
    [InlineData(257)]
    [InlineData(70_001)]
    public void WideUnstagedOp_ReducedCall_IsTheDefinition(int n)
    {
        var rng = new Random(n);
        // Quarter-integers: every square and partial sum below is exact in float, so the sum's order cannot matter.
        float[] x = [.. Enumerable.Range(0, n).Select(_ => rng.Next(-8, 9) / 4f)], y = [.. Enumerable.Range(0, n).Select(_ => rng.Next(-8, 9) / 4f)];
        double expected = x.Zip(y, (a, b) => (double)(a - b) * (a - b)).Sum();
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                LossKitSettings.MaxDegreeOfParallelism = threads;
                var op = new SquaredError();
                Assert.Equal(expected, Pointwise.Run<float, SquaredError>(op, x, y, default, default, default, 1f, default));
                float[] g = new float[n + 1];
                g[n] = float.NaN; // past the end: never written
                Assert.Equal(expected, Pointwise.Run<float, SquaredError>(op, x, y, default, default, g.AsSpan(0, n), 0.5f, default));
                for (int i = 0; i < n; i++)
                {
                    Assert.True(g[i] == x[i] - y[i], $"gradient[{i}] = {g[i]}, expected {x[i] - y[i]} ({threads} threads)");
                }

                Assert.True(float.IsNaN(g[n]));
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    /// <summary>
    /// The staged 512-bit ops (BCE-with-logits, sigmoid focal with γ = 2, float) over several chunks: Forward's value is
    /// ForwardBackward's, bit for bit, and the definition's in double to float accuracy (run P: Forward's staged loop
    /// read the wrong elements past the first chunk with every test passing, as none was that long).
    /// </summary>
    [Fact]
    public void StagedOps_ForwardOverManyChunks_IsTheDefinition()
    {
        const int n = 70_001;
        var rng = new Random(11);
        float[] x = [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 16 - 8))];
        float[] t = [.. Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.3 ? 1f : 0f)];
        static double Softplus(double z) => Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
        double bce = Enumerable.Range(0, n).Sum(i => Softplus(x[i]) - t[i] * x[i]) / n;
        double focal = Enumerable.Range(0, n).Sum(i =>
        {
            double p = 1 / (1 + Math.Exp(-x[i])), pt = t[i] == 1 ? p : 1 - p, a = t[i] == 1 ? 0.25 : 0.75;
            return a * (1 - pt) * (1 - pt) * (Softplus(x[i]) - t[i] * x[i]);
        });
        var cases = new (string Name, LossKit.ElementwiseLoss<float> Loss, double Expected)[]
        {
            ("bce_with_logits", new LossKit.Classification.BinaryCrossEntropyWithLogitsLoss<float>(), bce),
            ("sigmoid_focal", new LossKit.Detection.SigmoidFocalLoss<float>(Reduction.Sum), focal),
        };
        foreach ((string name, LossKit.ElementwiseLoss<float> loss, double expected) in cases)
        {
            float forward = loss.Forward(x, t), fused = loss.ForwardBackward(x, t, new float[n]);
            Assert.Equal(fused, forward);
            Assert.True(Math.Abs(forward - expected) <= 1e-5 * Math.Abs(expected), $"{name}: {forward} vs {expected}");
        }
    }
    /// <summary>
    /// The staged ops (BCE-with-logits, sigmoid focal with γ = 2 and γ = 1.5, soft margin; float), whose reduced call
    /// stages the exponential at 512 bits and at Vector&lt;T&gt; width: the same gradient bits as the unstaged
    /// per-element path (Reduction.None with an upstream of ones), and the value the sum of None's values, over
    /// several chunks with tails, with some |x| past 87 (where the exponential leaves its normal range).
    /// </summary>
    [Fact]
    public void StagedOps_ReducedCall_IsThePerElementPath()
    {
        const int n = 70_001;
        var rng = new Random(12);
        float[] x = [.. Enumerable.Range(0, n).Select(i => i % 997 == 0 ? (i % 2 == 0 ? 100f : -95f) : (float)(rng.NextDouble() * 16 - 8))];
        float[] binary = [.. Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.3 ? 1f : 0f)];
        float[] soft = [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble())];
        float[] sign = [.. binary.Select(v => v == 1 ? 1f : -1f)];
        float[] ones = [.. Enumerable.Repeat(1f, n)];
        var cases = new (string Name, LossKit.ElementwiseLoss<float> Reduced, LossKit.ElementwiseLoss<float> PerElement, float[] Target)[]
        {
            ("bce_with_logits", new LossKit.Classification.BinaryCrossEntropyWithLogitsLoss<float>(Reduction.Sum), new LossKit.Classification.BinaryCrossEntropyWithLogitsLoss<float>(Reduction.None), soft),
            ("sigmoid_focal γ=2", new LossKit.Detection.SigmoidFocalLoss<float>(Reduction.Sum), new LossKit.Detection.SigmoidFocalLoss<float>(Reduction.None), binary),
            ("sigmoid_focal γ=1.5", new LossKit.Detection.SigmoidFocalLoss<float>(Reduction.Sum, gamma: 1.5), new LossKit.Detection.SigmoidFocalLoss<float>(Reduction.None, gamma: 1.5), binary),
            ("soft_margin", new LossKit.Classification.SoftMarginLoss<float>(Reduction.Sum), new LossKit.Classification.SoftMarginLoss<float>(Reduction.None), sign),
        };
        foreach ((string name, LossKit.ElementwiseLoss<float> reduced, LossKit.ElementwiseLoss<float> perElement, float[] t) in cases)
        {
            float[] staged = new float[n], unstaged = new float[n], values = new float[n];
            float sum = reduced.ForwardBackward(x, t, staged);
            perElement.Forward(x, t, values);
            perElement.Backward(x, t, ones, unstaged);
            for (int i = 0; i < n; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(staged[i]) == BitConverter.SingleToInt32Bits(unstaged[i]), $"{name}: gradient[{i}] {staged[i]} (staged) vs {unstaged[i]}");
            }

            double expected = values.Sum(v => (double)v);
            Assert.True(Math.Abs(sum - expected) <= 1e-5 * Math.Abs(expected), $"{name}: {sum} vs Σ {expected}");
        }
    }
}
