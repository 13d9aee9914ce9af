using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.MetricLearning;

/// <summary>CenterLoss (paper and KaiyangZhou conventions), the center update, and the joint objective.</summary>
public class CenterLossTests
{
    // REFERENCES.md §4's worked example
    private static readonly double[] X = [1, 2, 0.5, -1, 3, 0];
    private static readonly int[] Y = [1, 2, 1];
    private static readonly double[] C = [0, 0, 1, 1, 2, -2, 5, 5];

    [Fact]
    public void KaiyangZhou_WorkedExample_MatchesTheFloat64Reference()
    {
        var loss = new CenterLoss<double>(convention: CenterLossConvention.KaiyangZhou);
        var gx = new double[6];
        var gc = new double[8];
        double v = loss.ForwardBackward(X, Y, C, 3, 4, 2, gx, gc);
        // 37/12 + 3e-12: the (C − 1)·1e-12 per row of clamped masked zeros. The reference sums the 12 clamped entries in
        // PyTorch's order, LossKit sums per row: the two differ by 2 ulp (3.0833333333363329).
        Assert.True(Math.Abs(v - 3.0833333333363337) <= 1e-15 * 3.0833333333363337, $"{v:R}");
        Assert.True(v - 37.0 / 12 > 2.9e-12, "the 3e-12 of the masked zeros is there");
        AssertNear([0, 2.0 / 3, -1, 2.0 / 3, 4.0 / 3, -2.0 / 3], gx, 1e-15, "d/dx");
        AssertNear([0, 0, -4.0 / 3, 0, 1, -2.0 / 3, 0, 0], gc, 1e-15, "d/dc");
    }

    [Fact]
    public void Paper_WorkedExample_IsHalfTheSquaredDistanceOverN()
    {
        var loss = new CenterLoss<double>();
        var gx = new double[6];
        var gc = new double[8];
        double v = loss.ForwardBackward(X, Y, C, 3, 4, 2, gx, gc);
        Assert.Equal(37.0 / 24, v, 15);
        AssertNear([0, 1.0 / 3, -0.5, 1.0 / 3, 2.0 / 3, -1.0 / 3], gx, 1e-15, "d/dx");
        AssertNear([0, 0, -2.0 / 3, 0, 0.5, -1.0 / 3, 0, 0], gc, 1e-15, "d/dc");

        var f = new CenterLoss<float>(Reduction.None);
        var values = new float[3];
        f.Forward(X.Select(v => (float)v).ToArray(), Y, C.Select(v => (float)v).ToArray(), 3, 4, 2, values);
        Assert.Equal([0.5f, 1.625f, 2.5f], values);
    }

    [Fact]
    public void KaiyangZhou_ZeroDistance_IsClampedAndPassesNoGradient()
    {
        var loss = new CenterLoss<double>(Reduction.None, CenterLossConvention.KaiyangZhou);
        double[] x = [1, 1, 2, 2];
        var values = new double[2];
        var gx = new double[4];
        var gc = new double[8];
        loss.ForwardBackward(x, [1, 1], C, 2, 4, 2, gx, gc, values);
        Assert.Equal(4e-12, values[0], 1e-26);
        Assert.Equal(2 + 3e-12, values[1], 14);
        AssertNear([0, 0, 2, 2], gx, 0, "d/dx");
    }

    [Fact]
    public void UpdateCenters_FollowsThePaper_AndLeavesEmptyClassesAlone()
    {
        double[] centers = (double[])C.Clone();
        var counts = new int[4];
        CenterLoss<double>.UpdateCenters(X, Y, 3, 4, 2, centers, 0.5, counts);
        Assert.Equal([0, 2, 1, 0], counts);

        // class 1: Δ = ((1,1) − (1,2) + (1,1) − (3,0)) / 3 = (−2/3, 0); c ← c − 0.5Δ = (4/3, 1)
        // class 2: Δ = ((2,−2) − (0.5,−1)) / 2 = (0.75, −0.5); c ← (2 − 0.375, −2 + 0.25)
        AssertNear([0, 0, 4.0 / 3, 1, 1.625, -1.75, 5, 5], centers, 1e-15, "centers");

        // classes 0 and 3 have no samples: bit-for-bit unchanged
        Assert.Equal(0.0, centers[0]);
        Assert.Equal(0.0, centers[1]);
        Assert.Equal(5.0, centers[6]);
        Assert.Equal(5.0, centers[7]);

        // α = 0 moves nothing; all samples of one class with α = 1: c ← (c + Σx)/(1 + n)
        double[] same = (double[])C.Clone();
        CenterLoss<double>.UpdateCenters(X, Y, 3, 4, 2, same, 0.0, counts);
        Assert.Equal(C, same);
        float[] one = [0, 0, 7, 7];
        CenterLoss<float>.UpdateCenters([4f, 0f, 0f, 4f, 2f, 2f], [0, 0, 0], 3, 2, 2, one, 1.0, new int[2]);
        Assert.Equal([1.5f, 1.5f, 7f, 7f], one);
    }

    [Theory]
    [InlineData(CenterLossConvention.Paper)]
    [InlineData(CenterLossConvention.KaiyangZhou)]
    public void Gradient_MatchesFiniteDifferences(CenterLossConvention convention)
    {
        foreach (Reduction reduction in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            var loss = new CenterLoss<double>(reduction, convention);
            foreach ((int n, int k, int d) in new[] { (3, 4, 5), (9, 3, 17), (1, 1, 2) })
            {
                var rng = new Random(n * 7 + d);
                double[] x = Enumerable.Range(0, n * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
                double[] c = Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
                int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(k)).ToArray();
                double[] up = Enumerable.Range(0, n).Select(_ => rng.NextDouble() + 0.5).ToArray();
                var gx = new double[n * d];
                var gc = new double[k * d];
                if (reduction == Reduction.None)
                {
                    loss.Backward(x, y, c, n, k, d, up, gx, gc);
                }
                else
                {
                    loss.Backward(x, y, c, n, k, d, 0.75, gx, gc);
                }

                double Objective(double[] xv, double[] cv)
                {
                    if (reduction != Reduction.None)
                    {
                        return 0.75 * loss.Forward(xv, y, cv, n, k, d);
                    }

                    var values = new double[n];
                    loss.Forward(xv, y, cv, n, k, d, values);
                    return values.Select((v, i) => v * up[i]).Sum();
                }

                Tolerance.AssertClose(gx, FiniteDifference.Gradient(v => Objective(v, c), x), 1e-6, 1e-6, $"{convention} {reduction} d/dx");
                Tolerance.AssertClose(gc, FiniteDifference.Gradient(v => Objective(x, v), c), 1e-6, 1e-6, $"{convention} {reduction} d/dc");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(33)]
    [InlineData(129)]
    public void EntryPoints_AndTensorOverloads_Agree(int dim)
    {
        EntryPoints<float>(dim);
        EntryPoints<double>(dim);
    }

    private static void EntryPoints<T>(int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int n = 300, k = 7; // n·d up to 38,700: with d = 129 the column pass runs threaded
        var rng = new Random(d);
        T[] x = Enumerable.Range(0, n * d).Select(_ => T.CreateTruncating(rng.NextDouble() * 2 - 1)).ToArray();
        T[] c = Enumerable.Range(0, k * d).Select(_ => T.CreateTruncating(rng.NextDouble() * 2 - 1)).ToArray();
        int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(k - 1)).ToArray(); // class k − 1 has no samples
        foreach (CenterLossConvention convention in new[] { CenterLossConvention.Paper, CenterLossConvention.KaiyangZhou })
        {
            var loss = new CenterLoss<T>(Reduction.Mean, convention);
            T f = loss.Forward(x, y, c, n, k, d);
            var gx = new T[n * d];
            var gc = new T[k * d];
            T fb = loss.ForwardBackward(x, y, c, n, k, d, gx, gc);
            Tolerance.AssertIdentical<T>([f], [fb], "value");
            var bx = new T[n * d];
            var bc = new T[k * d];
            loss.Backward(x, y, c, n, k, d, T.One, bx, bc);
            Tolerance.AssertIdentical<T>(bx, gx, "Backward d/dx");
            Tolerance.AssertIdentical<T>(bc, gc, "Backward d/dc");
            Assert.All(gc[((k - 1) * d)..], v => Assert.Equal(T.Zero, v));

            // skipping one gradient does not change the other
            var only = new T[k * d];
            loss.ForwardBackward(x, y, c, n, k, d, default, only);
            Tolerance.AssertIdentical<T>(only, gc, "d/dc alone");

            var tx = new ReadOnlyTensorSpan<T>(x, [n, d], []);
            var ty = new ReadOnlyTensorSpan<int>(y, [n], []);
            var tc = new ReadOnlyTensorSpan<T>(c, [k, d], []);
            var tgx = new T[n * d];
            var tgc = new T[k * d];
            T ft = loss.ForwardBackward(tx, ty, tc, new TensorSpan<T>(tgx, [n, d], []), new TensorSpan<T>(tgc, [k, d], []));
            Tolerance.AssertIdentical<T>([ft], [f], "tensor value");
            Tolerance.AssertIdentical<T>(tgx, gx, "tensor d/dx");
            Tolerance.AssertIdentical<T>(tgc, gc, "tensor d/dc");
            Tolerance.AssertIdentical<T>([loss.Forward(tx, ty, tc)], [f], "tensor Forward");
        }
    }

    /// <summary>
    /// With None, the tensor forms (destination [batch], per-row upstream [batch]) give the span forms' values and
    /// gradients bit for bit; the per-row Backward is the fused gradient times the upstream row by row.
    /// </summary>
    [Fact]
    public void None_TensorFormsEqualSpanForms_PerRowUpstream()
    {
        const int n = 5, k = 4, d = 3;
        var rng = new Random(4);
        double[] x = Enumerable.Range(0, n * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] c = Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] up = [0.5, -1, 2, 0, 1.5];
        int[] y = [3, 0, 3, 1, 0];
        var loss = new CenterLoss<double>(Reduction.None, CenterLossConvention.KaiyangZhou);
        double[] values = new double[n], gx = new double[n * d], gc = new double[k * d];
        double sum = loss.ForwardBackward(x, y, c, n, k, d, gx, gc, values);
        double[] ux = new double[n * d], uc = new double[k * d];
        loss.Backward(x, y, c, n, k, d, up, ux, uc);
        for (int i = 0; i < n * d; i++)
        {
            Assert.Equal(gx[i] * up[i / d], ux[i], 15);
        }

        var tx = new ReadOnlyTensorSpan<double>(x, [n, d], []);
        var ty = new ReadOnlyTensorSpan<int>(y, [n], []);
        var tc = new ReadOnlyTensorSpan<double>(c, [k, d], []);
        double[] tValues = new double[n], tgx = new double[n * d], tgc = new double[k * d];
        Assert.Equal(sum, loss.ForwardBackward(tx, ty, tc, new TensorSpan<double>(tgx, [n, d], []), new TensorSpan<double>(tgc, [k, d], []),
            new TensorSpan<double>(tValues, [n], [])));
        Assert.Equal(values, tValues);
        Assert.Equal(gx, tgx);
        Assert.Equal(gc, tgc);
        double[] tux = new double[n * d], tuc = new double[k * d];
        loss.Backward(tx, ty, tc, new ReadOnlyTensorSpan<double>(up, [n], []), new TensorSpan<double>(tux, [n, d], []), new TensorSpan<double>(tuc, [k, d], []));
        Assert.Equal(ux, tux);
        Assert.Equal(uc, tuc);

        // Tensor shape errors name the parameter.
        Assert.Equal("upstream", Assert.Throws<ArgumentException>(() => loss.Backward(new ReadOnlyTensorSpan<double>(x, [n, d], []), new ReadOnlyTensorSpan<int>(y, [n], []),
            new ReadOnlyTensorSpan<double>(c, [k, d], []), new ReadOnlyTensorSpan<double>(up, [1, n], []), default, new TensorSpan<double>(tuc, [k, d], []))).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => loss.Forward(new ReadOnlyTensorSpan<double>(x, [n, d], []), new ReadOnlyTensorSpan<int>(y, [n], []),
            new ReadOnlyTensorSpan<double>(c, [k, d], []), new TensorSpan<double>(tValues, [1, n], []))).ParamName);
        Assert.Equal("centersGradient", Assert.Throws<ArgumentException>(() => loss.Backward(new ReadOnlyTensorSpan<double>(x, [n, d], []), new ReadOnlyTensorSpan<int>(y, [n], []),
            new ReadOnlyTensorSpan<double>(c, [k, d], []), new ReadOnlyTensorSpan<double>(up, [n], []), default, new TensorSpan<double>(tuc, [d, k], []))).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => loss.Forward(new ReadOnlyTensorSpan<double>(x, [n, d], []), new ReadOnlyTensorSpan<int>(y, [1, n], []),
            new ReadOnlyTensorSpan<double>(c, [k, d], []), new TensorSpan<double>(tValues, [n], []))).ParamName);
        Assert.Equal("centersGradient", Assert.Throws<ArgumentException>(() => loss.ForwardBackward(x, y, c, n, k, d, gx, x.AsSpan(0, k * d), values)).ParamName);
    }

    [Fact]
    public void Objective_IsClassificationPlusLambdaCenter_WithSummedGradients()
    {
        const int n = 6, k = 5, d = 4;
        const double lambda = 0.3;
        var rng = new Random(2);
        double[] x = Enumerable.Range(0, n * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] w = Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] c = Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        int[] y = [0, 1, 1, 4, 4, 4];
        foreach (CosineHead<double>? head in new[] { null, new CosineHead<double>() })
        {
            ClassIndexLoss<double> cls = head is null ? new CrossEntropyLoss<double>() : AngularMarginLoss<double>.CosFace(16);
            var objective = new CenterLossObjective<double>(cls, new CenterLoss<double>(), lambda, head);
            var ws = new double[CenterLossObjective<double>.WorkspaceSize(n, k, d)];
            var gx = new double[n * d];
            var gw = new double[k * d];
            var gc = new double[k * d];
            JointLossValue<double> v = objective.ForwardBackward(x, w, y, c, n, k, d, gx, gw, gc, ws);
            Assert.Equal(v.Classification + lambda * v.Center, v.Total, 14);
            Assert.Equal(new CenterLoss<double>().Forward(x, y, c, n, k, d), v.Center, 15);

            double Total(double[] xv, double[] wv, double[] cv) =>
                objective.ForwardBackward(xv, wv, y, cv, n, k, d, new double[n * d], default, default, new double[ws.Length]).Total;

            Tolerance.AssertClose(gx, FiniteDifference.Gradient(v2 => Total(v2, w, c), x), 1e-6, 1e-6, "d/dx");
            Tolerance.AssertClose(gw, FiniteDifference.Gradient(v2 => Total(x, v2, c), w), 1e-6, 1e-6, "d/dW");
            Tolerance.AssertClose(gc, FiniteDifference.Gradient(v2 => Total(x, w, v2), c), 1e-6, 1e-6, "d/dc");
        }
    }

    [Fact]
    public void BadInput_ThrowsNamedExceptions()
    {
        var loss = new CenterLoss<float>();
        float[] x = new float[6], c = new float[8];
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward(x, [0, 4, 1], c, 3, 4, 2)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward(x, [0, -1, 1], c, 3, 4, 2)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => loss.Forward(x, [0, 1], c, 3, 4, 2)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => loss.Forward(x, [0, 1, 1], c, 3, 4, 3)).ParamName);
        Assert.Equal("centers", Assert.Throws<ArgumentException>(() => loss.Forward(x, [0, 1, 1], new float[6], 3, 4, 2)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward([], [], [], 0, 0, 2)).ParamName);
        Assert.Equal("inputGradient", Assert.Throws<ArgumentException>(() => loss.ForwardBackward(x, [0, 1, 1], c, 3, 4, 2, new float[5], default)).ParamName);
        Assert.Equal("centersGradient", Assert.Throws<ArgumentException>(() => loss.ForwardBackward(x, [0, 1, 1], c, 3, 4, 2, default, new float[7])).ParamName);
        Assert.Equal("upstream", Assert.Throws<ArgumentException>(() => loss.Backward(x, [0, 1, 1], c, 3, 4, 2, new float[3], new float[6], default)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => new CenterLoss<float>(Reduction.None).Forward(x, [0, 1, 1], c, 3, 4, 2, new float[2])).ParamName);
        Assert.Equal("convention", Assert.Throws<ArgumentOutOfRangeException>(() => new CenterLoss<float>(convention: (CenterLossConvention)5)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => CenterLoss<float>.UpdateCenters(x, [0, 1, 1], 3, 4, 2, c, -0.5, new int[4])).ParamName);
        Assert.Equal("counts", Assert.Throws<ArgumentException>(() => CenterLoss<float>.UpdateCenters(x, [0, 1, 1], 3, 4, 2, c, 0.5, new int[3])).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => CenterLoss<float>.UpdateCenters(x, [0, 9, 1], 3, 4, 2, c, 0.5, new int[4])).ParamName);
        Assert.Equal("centers", Assert.Throws<ArgumentException>(() =>
        {
            var tx = new ReadOnlyTensorSpan<float>(x, [3, 2], []);
            loss.Forward(tx, new ReadOnlyTensorSpan<int>(new[] { 0, 1, 1 }, [3], []), new ReadOnlyTensorSpan<float>(c, [2, 4], []));
        }).ParamName);

        var objective = new CenterLossObjective<float>(new CrossEntropyLoss<float>(), loss, 0.1);
        Assert.Equal("lambda", Assert.Throws<ArgumentOutOfRangeException>(() => new CenterLossObjective<float>(new CrossEntropyLoss<float>(), loss, -1)).ParamName);
        Assert.Equal("classification", Assert.Throws<ArgumentException>(() => new CenterLossObjective<float>(new CrossEntropyLoss<float>(Reduction.None), loss, 1)).ParamName);
        Assert.Equal("workspace", Assert.Throws<ArgumentException>(() =>
            objective.ForwardBackward(x, c, [0, 1, 1], c, 3, 4, 2, new float[6], new float[8], new float[8], new float[10])).ParamName);
        Assert.Equal("classWeights", Assert.Throws<ArgumentException>(() =>
            objective.ForwardBackward(x, new float[7], [0, 1, 1], c, 3, 4, 2, new float[6], new float[8], new float[8], new float[CenterLossObjective<float>.WorkspaceSize(3, 4, 2)])).ParamName);
    }

    private static void AssertNear(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{what}[{i}]: {actual[i]:R} vs {expected[i]:R}");
        }
    }

    /// <summary>
    /// At a size that runs in parallel (rows gathered per class for the center pass), each center's gradient is minus
    /// the sum of its rows' input gradients (d/dc_j = −Σ_{yᵢ=j} d/dxᵢ for both conventions), rows of every class
    /// present or absent; 700 classes span several chunks of the class-sorted pass. The gradient buffer starts as a
    /// sentinel: every center row is written, not added to.
    /// </summary>
    [Theory]
    [InlineData(CenterLossConvention.Paper, 9)]
    [InlineData(CenterLossConvention.KaiyangZhou, 9)]
    [InlineData(CenterLossConvention.Paper, 700)]
    [InlineData(CenterLossConvention.KaiyangZhou, 700)]
    public void CenterGradient_IsMinusTheSumOfItsRows_AtParallelSize(CenterLossConvention convention, int classes)
    {
        const int batch = 2500, dim = 40;
        var rng = new Random(5);
        double[] x = Enumerable.Range(0, batch * dim).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] c = Enumerable.Range(0, classes * dim).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        int[] y = Enumerable.Range(0, batch).Select(_ => rng.Next(classes - 1)).ToArray(); // the last class has no rows
        var loss = new CenterLoss<double>(Reduction.Sum, convention);
        var gx = new double[batch * dim];
        var gc = Enumerable.Repeat(-7.25e10, classes * dim).ToArray();
        loss.ForwardBackward(x, y, c, batch, classes, dim, gx, gc);
        var expected = new double[classes * dim];
        for (int i = 0; i < batch; i++)
        {
            for (int q = 0; q < dim; q++)
            {
                expected[y[i] * dim + q] -= gx[i * dim + q];
            }
        }

        for (int k = 0; k < expected.Length; k++)
        {
            Assert.True(Math.Abs(gc[k] - expected[k]) <= 1e-11 * (1 + Math.Abs(expected[k])), $"centersGradient[{k}] = {gc[k]}, expected {expected[k]}");
        }

        Assert.All(gc.AsSpan((classes - 1) * dim).ToArray(), v => Assert.Equal(0.0, v));
    }
}

/// <summary>
/// The center gradient is the same bit for bit on one thread and on all cores; the entry points allocate nothing once
/// warm (both change a global setting).
/// </summary>
[Collection(LossKit.Tests.Internal.GlobalSettingsCollection.Name)]
public class CenterLossThreadTests
{
    [Fact]
    public void CenterGradient_OneThreadEqualsAllCores()
    {
        const int batch = 3000, dim = 40, classes = 7;
        var rng = new Random(9);
        float[] x = Enumerable.Range(0, batch * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] c = Enumerable.Range(0, classes * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        int[] y = Enumerable.Range(0, batch).Select(_ => rng.Next(classes)).ToArray();
        var loss = new CenterLoss<float>(Reduction.Mean, CenterLossConvention.KaiyangZhou);
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            var one = new float[classes * dim];
            LossKitSettings.MaxDegreeOfParallelism = 1;
            loss.ForwardBackward(x, y, c, batch, classes, dim, new float[batch * dim], one);
            var many = new float[classes * dim];
            LossKitSettings.MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount);
            loss.ForwardBackward(x, y, c, batch, classes, dim, new float[batch * dim], many);
            Assert.Equal(one, many);
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    [Fact]
    public void EntryPoints_SteadyStateAllocateNothing()
    {
        const int n = 40, k = 6, d = 9;
        var rng = new Random(8);
        float[] x = Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] c = Enumerable.Range(0, k * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] w = Enumerable.Range(0, k * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(k)).ToArray();
        float[] gx = new float[n * d], gc = new float[k * d], gw = new float[k * d], values = new float[n], up = new float[n], moved = (float[])c.Clone();
        int[] counts = new int[k];
        var mean = new CenterLoss<float>(Reduction.Mean, CenterLossConvention.KaiyangZhou);
        var none = new CenterLoss<float>(Reduction.None);
        var objective = new CenterLossObjective<float>(new CrossEntropyLoss<float>(), mean, 0.01);
        float[] workspace = new float[CenterLossObjective<float>.WorkspaceSize(n, k, d)];
        SteadyStateAllocation.AssertNone(
            ("Forward", () => mean.Forward(x, y, c, n, k, d)),
            ("ForwardBackward", () => mean.ForwardBackward(x, y, c, n, k, d, gx, gc)),
            ("Backward", () => mean.Backward(x, y, c, n, k, d, 2f, gx, gc)),
            ("Backward per row", () => none.Backward(x, y, c, n, k, d, up, gx, gc)),
            ("tensor ForwardBackward", () => none.ForwardBackward(new ReadOnlyTensorSpan<float>(x, [n, d], []), new ReadOnlyTensorSpan<int>(y, [n], []),
                new ReadOnlyTensorSpan<float>(c, [k, d], []), new TensorSpan<float>(gx, [n, d], []), new TensorSpan<float>(gc, [k, d], []), new TensorSpan<float>(values, [n], []))),
            ("tensor Backward per row", () => none.Backward(new ReadOnlyTensorSpan<float>(x, [n, d], []), new ReadOnlyTensorSpan<int>(y, [n], []),
                new ReadOnlyTensorSpan<float>(c, [k, d], []), new ReadOnlyTensorSpan<float>(up, [n], []), new TensorSpan<float>(gx, [n, d], []), default)),
            ("UpdateCenters", () => CenterLoss<float>.UpdateCenters(x, y, n, k, d, moved, 0.5, counts)),
            ("objective", () => objective.ForwardBackward(x, w, y, c, n, k, d, gx, gw, gc, workspace)));
    }
}
