using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Internal;
using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.MetricLearning;

/// <summary>The blocked matrix product (Internal/Gemm) and the cosine head built on it.</summary>
// In the global-settings collection: the Gemm thread test sets LossKitSettings.MaxDegreeOfParallelism, which other
// tests (allocation counts on the calling thread, thread-count identities) rely on while they run.
[Collection(LossKit.Tests.Internal.GlobalSettingsCollection.Name)]
public class CosineHeadTests
{
    // ---- Gemm -----------------------------------------------------------------------------------------------------

    public static TheoryData<int, int, int> GemmShapes() => new()
    {
        { 1, 1, 1 }, { 3, 5, 7 }, { 6, 16, 8 }, { 7, 17, 9 }, { 13, 33, 129 }, { 95, 31, 257 }, { 97, 258, 300 }, { 200, 513, 65 }, { 5, 3, 0 },
    };

    [Theory]
    [MemberData(nameof(GemmShapes))]
    public void Gemm_MatchesNaiveProduct_AllTranspositions(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    GemmCase<double>(m, n, k, ta, tb, accumulate, 1e-13);
                    GemmCase<float>(m, n, k, ta, tb, accumulate, 2e-6);
                }
            }
        }
    }

    private static unsafe void GemmCase<T>(int m, int n, int k, bool ta, bool tb, bool accumulate, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        double[] a = Enumerable.Range(0, m * k).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double[] b = Enumerable.Range(0, k * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double[] c0 = Enumerable.Range(0, m * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        int lda = ta ? m : k, ldb = tb ? k : n;

        // a holds op(A) stored as A (M×K) or Aᵀ (K×M); b likewise.
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = accumulate ? c0[i * n + j] : 0;
                for (int p = 0; p < k; p++)
                {
                    s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                }

                expected[i * n + j] = s;
            }
        }

        T[] ta1 = MetricCheck.Convert<T>(a), tb1 = MetricCheck.Convert<T>(b), tc = MetricCheck.Convert<T>(c0);
        var scratch = new T[Gemm.ScratchSize<T>(4)];
        fixed (T* pa = ta1, pb = tb1, pc = tc, ps = scratch)
        {
            Gemm.Multiply(pa, lda, ta, pb, ldb, tb, pc, n, m, n, k, accumulate, ps, scratch.Length);
        }

        double[] actual = Tolerance.Widen<T>(tc);
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * Math.Max(1, Math.Sqrt(k)),
                $"{typeof(T).Name} m={m} n={n} k={k} ta={ta} tb={tb} acc={accumulate} [{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public unsafe void Gemm_IsBitIdentical_WhateverTheThreadsAndScratch()
    {
        const int m = 300, n = 700, k = 260;
        var rng = new Random(11);
        float[] a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] b = Enumerable.Range(0, n * k).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] Run(int threads, int slots)
        {
            int saved = LossKitSettings.MaxDegreeOfParallelism;
            LossKitSettings.MaxDegreeOfParallelism = threads;
            try
            {
                var c = new float[m * n];
                var s = new float[Gemm.ScratchSize<float>(slots)];
                fixed (float* pa = a, pb = b, pc = c, ps = s)
                {
                    Gemm.Multiply(pa, k, false, pb, k, true, pc, n, m, n, k, false, ps, s.Length);
                }

                return c;
            }
            finally
            {
                LossKitSettings.MaxDegreeOfParallelism = saved;
            }
        }

        float[] one = Run(1, 1);
        Tolerance.AssertIdentical<float>(Run(2, 2), one, "2 threads");
        Tolerance.AssertIdentical<float>(Run(8, 8), one, "8 threads");
        Tolerance.AssertIdentical<float>(Run(8, 1), one, "8 threads, scratch for 1");
    }

    // ---- the head -------------------------------------------------------------------------------------------------

    [Fact]
    public void Gradient_MatchesFiniteDifferences()
    {
        foreach ((int n, int c, int d) in new[] { (3, 4, 5), (2, 9, 17), (5, 3, 1) })
        {
            var rng = new Random(n + c + d);
            double[] x = Enumerable.Range(0, n * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            double[] w = Enumerable.Range(0, c * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            double[] up = Enumerable.Range(0, n * c).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            var head = new CosineHead<double>();
            var ws = new double[CosineHead<double>.WorkspaceSize(n, c, d)];
            var gx = new double[n * d];
            var gw = new double[c * d];
            head.Backward(x, w, n, c, d, up, gx, gw, ws);

            double Objective(double[] xv, double[] wv)
            {
                var cos = new double[n * c];
                head.Forward(xv, wv, n, c, d, cos, new double[ws.Length]);
                return cos.Select((v, i) => v * up[i]).Sum();
            }

            double[] nx = FiniteDifference.Gradient(v => Objective(v, w), x);
            double[] nw = FiniteDifference.Gradient(v => Objective(x, v), w);
            Tolerance.AssertClose(gx, nx, 1e-6, 1e-6, $"d/dx n={n} c={c} d={d}");
            Tolerance.AssertClose(gw, nw, 1e-6, 1e-6, $"d/dW n={n} c={c} d={d}");
        }
    }

    [Fact]
    public void ZeroVectors_GiveZeroCosinesAndAFiniteGradient()
    {
        var head = new CosineHead<float>();
        float[] x = [0, 0, 0, 3, 4, 0];
        float[] w = [1, 0, 0, 0, 0, 0];
        var cos = new float[4];
        var ws = new float[CosineHead<float>.WorkspaceSize(2, 2, 3)];
        head.Forward(x, w, 2, 2, 3, cos, ws);
        Assert.Equal([0f, 0f, 0.6f, 0f], cos);
        var gx = new float[6];
        var gw = new float[6];
        head.Backward(x, w, 2, 2, 3, [1f, 1f, 1f, 1f], gx, gw, ws);
        Assert.All(gx, v => Assert.True(float.IsFinite(v)));
        Assert.All(gw, v => Assert.True(float.IsFinite(v)));

        // The zero row: ĝ/eps with ĝ = Σ_j up_j·Ŵ_j = (1, 0, 0) → (1e12, 0, 0).
        Assert.Equal(1e12f, gx[0], 1e5f);
    }

    [Fact]
    public void ForwardBackward_WithALoss_EqualsTheThreeSteps()
    {
        const int n = 7, c = 300, d = 33;
        var rng = new Random(5);
        float[] x = Enumerable.Range(0, n * d).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] w = Enumerable.Range(0, c * d).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(c)).ToArray();
        var loss = AngularMarginLoss<float>.ArcFace();
        var head = new CosineHead<float>();
        var ws = new float[CosineHead<float>.WorkspaceSize(n, c, d)];

        var cos = new float[n * c];
        head.Forward(x, w, n, c, d, cos, ws);
        var g = new float[n * c];
        float v = loss.ForwardBackward(cos, y, n, c, g);
        var gx = new float[n * d];
        var gw = new float[c * d];
        head.Backward(x, w, n, c, d, g, gx, gw, ws);

        var gx2 = new float[n * d];
        var gw2 = new float[c * d];
        var cos2 = new float[n * c];
        var g2 = new float[n * c];
        float v2 = head.ForwardBackward(loss, x, w, y, n, c, d, gx2, gw2, cos2, g2, ws);
        Assert.Equal(v, v2);
        Tolerance.AssertIdentical<float>(cos2, cos, "cos");
        Tolerance.AssertIdentical<float>(gx2, gx, "d/dx");
        Tolerance.AssertIdentical<float>(gw2, gw, "d/dW");

        // A workspace for one thread gives the same bits.
        var small = new float[CosineHead<float>.MinimumWorkspaceSize(n, c, d)];
        head.ForwardBackward(loss, x, w, y, n, c, d, gx2, gw2, cos2, g2, small);
        Tolerance.AssertIdentical<float>(gx2, gx, "d/dx, minimum workspace");
    }

    [Fact]
    public void TensorOverloads_MatchSpans()
    {
        const int n = 3, c = 5, d = 4;
        var rng = new Random(9);
        double[] x = Enumerable.Range(0, n * d).Select(_ => rng.NextDouble()).ToArray();
        double[] w = Enumerable.Range(0, c * d).Select(_ => rng.NextDouble()).ToArray();
        double[] up = Enumerable.Range(0, n * c).Select(_ => rng.NextDouble()).ToArray();
        var head = new CosineHead<double>();
        var ws = new double[CosineHead<double>.WorkspaceSize(n, c, d)];
        var cos = new double[n * c];
        head.Forward(x, w, n, c, d, cos, ws);
        var cosT = new double[n * c];
        head.Forward(new ReadOnlyTensorSpan<double>(x, [n, d], []), new ReadOnlyTensorSpan<double>(w, [c, d], []), new TensorSpan<double>(cosT, [n, c], []), ws);
        Tolerance.AssertIdentical<double>(cosT, cos, "cos");

        var gx = new double[n * d];
        var gw = new double[c * d];
        head.Backward(x, w, n, c, d, up, gx, gw, ws);
        var gxT = new double[n * d];
        var gwT = new double[c * d];
        head.Backward(new ReadOnlyTensorSpan<double>(x, [n, d], []), new ReadOnlyTensorSpan<double>(w, [c, d], []), new ReadOnlyTensorSpan<double>(up, [n, c], []),
            new TensorSpan<double>(gxT, [n, d], []), new TensorSpan<double>(gwT, [c, d], []), ws);
        Tolerance.AssertIdentical<double>(gxT, gx, "d/dx");
        Tolerance.AssertIdentical<double>(gwT, gw, "d/dW");

        Assert.Equal("weight", Assert.Throws<ArgumentException>(() =>
            head.Forward(new ReadOnlyTensorSpan<double>(x, [n, d], []), new ReadOnlyTensorSpan<double>(w, [d, c], []), new TensorSpan<double>(cosT, [n, c], []), ws)).ParamName);
    }

    [Fact]
    public void BadInput_ThrowsNamedExceptions()
    {
        var head = new CosineHead<float>();
        float[] x = new float[6], w = new float[9], cos = new float[6];
        var ws = new float[CosineHead<float>.WorkspaceSize(2, 3, 3)];
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => head.Forward(x, w, 2, 3, 4, cos, ws)).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => head.Forward(x, new float[8], 2, 3, 3, cos, ws)).ParamName);
        Assert.Equal("cosine", Assert.Throws<ArgumentException>(() => head.Forward(x, w, 2, 3, 3, new float[5], ws)).ParamName);
        Assert.Equal("workspace", Assert.Throws<ArgumentException>(() => head.Forward(x, w, 2, 3, 3, cos, new float[10])).ParamName);
        Assert.Equal("batch", Assert.Throws<ArgumentOutOfRangeException>(() => head.Forward(x, w, -2, 3, 3, cos, ws)).ParamName);
        Assert.Equal("upstream", Assert.Throws<ArgumentException>(() => head.Backward(x, w, 2, 3, 3, new float[5], new float[6], new float[9], ws)).ParamName);
        Assert.Equal("inputGradient", Assert.Throws<ArgumentException>(() => head.Backward(x, w, 2, 3, 3, cos, new float[5], new float[9], ws)).ParamName);
        Assert.Equal("weightGradient", Assert.Throws<ArgumentException>(() => head.Backward(x, w, 2, 3, 3, cos, new float[6], new float[8], ws)).ParamName);
        Assert.Equal("inputGradient", Assert.Throws<ArgumentException>(() => head.Backward(x, w, 2, 3, 3, cos, cos, new float[9], ws)).ParamName);
        Assert.Equal("eps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineHead<float>(0)).ParamName);
        Assert.Equal("loss", Assert.Throws<ArgumentException>(() =>
            head.ForwardBackward(AngularMarginLoss<float>.ArcFace(reduction: Reduction.None), x, w, [0, 1], 2, 3, 3, new float[6], new float[9], new float[6], new float[6], ws)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() =>
            head.ForwardBackward(AngularMarginLoss<float>.ArcFace(), x, w, [0, 3], 2, 3, 3, new float[6], new float[9], new float[6], new float[6], ws)).ParamName);

        // a workspace overlapping the embeddings
        float[] shared = new float[ws.Length + 6];
        Assert.Equal("workspace", Assert.Throws<ArgumentException>(() => head.Forward(shared.AsSpan(0, 6), w, 2, 3, 3, cos, shared.AsSpan(3))).ParamName);
        Assert.Equal("cosine", Assert.Throws<ArgumentException>(() => head.Forward(x, w, 2, 3, 3, ws.AsSpan(0, 6), ws)).ParamName);
    }
}
