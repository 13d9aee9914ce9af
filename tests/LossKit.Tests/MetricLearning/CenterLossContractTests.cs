using LossKit.Classification;
using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.MetricLearning;

/// <summary>
/// What the metric mutation run K found untested in center loss, its objective and the center update: outputs written
/// rather than added to (every output buffer starts as a sentinel and is longer than needed), the argument checks of the
/// objective and the update with their messages, the workspace formula, and the update at a size with many class chunks
/// against the paper's rule transcribed here (the centers gradient over many chunks: CenterLossTests).
/// </summary>
public class CenterLossContractTests
{
    private const double Sentinel = -7.25e10;

    private static double[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1)];
    }

    private static double[] Filled(int n, double value) => [.. Enumerable.Repeat(value, n)];

    [Theory]
    [InlineData(Reduction.Mean, CenterLossConvention.Paper)]
    [InlineData(Reduction.Sum, CenterLossConvention.KaiyangZhou)]
    [InlineData(Reduction.None, CenterLossConvention.Paper)]
    [InlineData(Reduction.None, CenterLossConvention.KaiyangZhou)]
    public void Gradients_AreWrittenNotAdded_AndNothingPastThem(Reduction reduction, CenterLossConvention convention)
    {
        const int n = 7, k = 4, d = 5;
        double[] x = Random(n * d, 1), c = Random(k * d, 2), up = Random(n, 3);
        int[] y = [0, 3, 3, 1, 0, 2, 3];
        var loss = new CenterLoss<double>(reduction, convention);

        var gx0 = new double[n * d];
        var gc0 = new double[k * d];
        var v0 = new double[reduction == Reduction.None ? n : 0];
        double value0 = loss.ForwardBackward(x, y, c, n, k, d, gx0, gc0, v0);

        double[] gx = Filled(n * d + 3, Sentinel), gc = Filled(k * d + 3, Sentinel), v = Filled(v0.Length + 3, Sentinel);
        double value = loss.ForwardBackward(x, y, c, n, k, d, gx.AsSpan(0, n * d), gc.AsSpan(0, k * d), v.AsSpan(0, v0.Length));
        Assert.Equal(value0, value);
        Assert.Equal(gx0, gx[..(n * d)]);
        Assert.Equal(gc0, gc[..(k * d)]);
        Assert.Equal(v0, v[..v0.Length]);
        Assert.All(gx[(n * d)..].Concat(gc[(k * d)..]).Concat(v[v0.Length..]), t => Assert.Equal(Sentinel, t));

        // Only the input's gradient, then only the centers': each equal to its part of the fused call.
        double[] onlyX = Filled(n * d, Sentinel), onlyC = Filled(k * d, Sentinel);
        loss.ForwardBackward(x, y, c, n, k, d, onlyX, default, v0.Length == 0 ? default : new double[n]);
        loss.ForwardBackward(x, y, c, n, k, d, default, onlyC, v0.Length == 0 ? default : new double[n]);
        Assert.Equal(gx0, onlyX);
        Assert.Equal(gc0, onlyC);

        if (reduction == Reduction.None)
        {
            // The per-row upstream: backward writes too.
            var bx0 = new double[n * d];
            var bc0 = new double[k * d];
            loss.Backward(x, y, c, n, k, d, up, bx0, bc0);
            double[] bx = Filled(n * d, Sentinel), bc = Filled(k * d, Sentinel);
            loss.Backward(x, y, c, n, k, d, up, bx, bc);
            Assert.Equal(bx0, bx);
            Assert.Equal(bc0, bc);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Objective_WritesItsOutputs_WhateverTheBuffersHeld(bool cosineHead)
    {
        const int n = 6, k = 5, d = 4;
        double[] x = Random(n * d, 4), w = Random(k * d, 5), c = Random(k * d, 6);
        int[] y = [0, 1, 1, 4, 4, 2];
        ClassIndexLoss<double> cls = cosineHead ? AngularMarginLoss<double>.ArcFace(16, 0.3) : new CrossEntropyLoss<double>(Reduction.Sum);
        var objective = new CenterLossObjective<double>(cls, new CenterLoss<double>(Reduction.Sum), 0.2, cosineHead ? new CosineHead<double>() : null);
        int size = CenterLossObjective<double>.WorkspaceSize(n, k, d);

        var gx0 = new double[n * d];
        var gw0 = new double[k * d];
        var gc0 = new double[k * d];
        JointLossValue<double> v0 = objective.ForwardBackward(x, w, y, c, n, k, d, gx0, gw0, gc0, new double[size]);

        double[] gx = Filled(n * d, Sentinel), gw = Filled(k * d, Sentinel), gc = Filled(k * d, Sentinel), ws = Filled(size, Sentinel);
        JointLossValue<double> v = objective.ForwardBackward(x, w, y, c, n, k, d, gx, gw, gc, ws);
        Assert.Equal(v0.Total, v.Total);
        Assert.Equal(v0.Classification, v.Classification);
        Assert.Equal(v0.Center, v.Center);
        Assert.Equal(gx0, gx);
        Assert.Equal(gw0, gw);
        Assert.Equal(gc0, gc);
    }

    [Fact]
    public void Objective_Workspace_IsTwoLogitsPlusTheHeads()
    {
        foreach ((int b, int k, int d) in new[] { (1, 1, 1), (6, 5, 4), (300, 1000, 128) })
        {
            Assert.Equal(2 * b * k + CosineHead<double>.WorkspaceSize(b, k, d), CenterLossObjective<double>.WorkspaceSize(b, k, d));
            Assert.Equal(2 * b * k + CosineHead<float>.WorkspaceSize(b, k, d), CenterLossObjective<float>.WorkspaceSize(b, k, d));
        }

        var e = Assert.Throws<ArgumentException>(() => CenterLossObjective<float>.WorkspaceSize(65536, 65536, 4));
        Assert.Equal("classes", e.ParamName);
        Assert.Contains("batch × classes = 65536 × 65536 overflows int", e.Message);
    }

    [Fact]
    public void Objective_BadArguments_NameTheParameterAndTheValue()
    {
        var center = new CenterLoss<float>();
        var ce = new CrossEntropyLoss<float>();
        Assert.Equal("classification", Assert.Throws<ArgumentNullException>(() => new CenterLossObjective<float>(null!, center, 1)).ParamName);
        Assert.Equal("center", Assert.Throws<ArgumentNullException>(() => new CenterLossObjective<float>(ce, null!, 1)).ParamName);
        var none = Assert.Throws<ArgumentException>(() => new CenterLossObjective<float>(ce, new CenterLoss<float>(Reduction.None), 1));
        Assert.Equal("center", none.ParamName);
        Assert.Contains("The center loss must reduce (Mean or Sum); got Reduction.None.", none.Message);
        var clsNone = Assert.Throws<ArgumentException>(() => new CenterLossObjective<float>(new CrossEntropyLoss<float>(Reduction.None), center, 1));
        Assert.Contains("The classification loss must reduce (Mean or Sum); got Reduction.None.", clsNone.Message);

        var objective = new CenterLossObjective<float>(ce, center, 0.5);
        const int n = 3, k = 4, d = 2;
        float[] x = new float[n * d], w = new float[k * d], c = new float[k * d], gx = new float[n * d], gw = new float[k * d], gc = new float[k * d];
        float[] ws = new float[CenterLossObjective<float>.WorkspaceSize(n, k, d)];
        int[] y = [0, 1, 3];

        LossChecks.Throws<ArgumentOutOfRangeException>("batch", () => objective.ForwardBackward(x, w, y, c, -1, k, d, gx, gw, gc, ws));
        LossChecks.Throws<ArgumentOutOfRangeException>("dim", () => objective.ForwardBackward(x, w, y, c, n, k, -2, gx, gw, gc, ws));
        LossChecks.Throws<ArgumentOutOfRangeException>("classes", () => objective.ForwardBackward(x, w, y, c, n, 0, d, gx, gw, gc, ws),
            "classes must be >= 1, got 0.");
        LossChecks.Throws<ArgumentException>("input", () => objective.ForwardBackward(x[..5], w, y, c, n, k, d, gx, gw, gc, ws));
        LossChecks.Throws<ArgumentException>("classWeights", () => objective.ForwardBackward(x, w[..7], y, c, n, k, d, gx, gw, gc, ws));
        LossChecks.Throws<ArgumentException>("inputGradient", () => objective.ForwardBackward(x, w, y, c, n, k, d, gx[..5], gw, gc, ws));
        LossChecks.Throws<ArgumentException>("classWeightsGradient", () => objective.ForwardBackward(x, w, y, c, n, k, d, gx, gw[..7], gc, ws));
        LossChecks.Throws<ArgumentException>("workspace", () =>
        {
            float[] shared = new float[ws.Length + n * d];
            objective.ForwardBackward(shared.AsSpan(0, n * d), w, y, c, n, k, d, gx, gw, gc, shared.AsSpan(0, ws.Length));
        }, "workspace must not overlap the inputs or the gradients.");
        foreach (int which in new[] { 1, 2, 3, 4 })
        {
            LossChecks.Throws<ArgumentException>("workspace", () =>
            {
                float[] big = new float[ws.Length + 64];
                Span<float> wsp = big.AsSpan(0, ws.Length), tail = big.AsSpan(ws.Length - 8, 8);
                objective.ForwardBackward(x, which == 1 ? tail : w, y, which == 2 ? tail : c, n, k, d, which == 3 ? tail[..6] : gx, which == 4 ? tail : gw, gc, wsp);
            }, "workspace must not overlap");
        }

        LossChecks.Throws<ArgumentException>("workspace", () =>
        {
            float[] big = new float[ws.Length + 64];
            objective.ForwardBackward(x, w, y, c, n, k, d, gx, gw, big.AsSpan(ws.Length - 8, 8), big.AsSpan(0, ws.Length));
        }, "workspace must not overlap");
        LossChecks.Throws<ArgumentException>("inputGradient", () =>
            objective.ForwardBackward(x, w, y, c, n, k, d, x, gw, gc, ws), "inputGradient must not overlap input, classWeights or classWeightsGradient.");
        LossChecks.Throws<ArgumentException>("inputGradient", () =>
            objective.ForwardBackward(x, w, y, c, n, k, d, w.AsSpan(0, 6), gw, gc, ws), "must not overlap");
        LossChecks.Throws<ArgumentException>("inputGradient", () =>
            objective.ForwardBackward(x, w, y, c, n, k, d, gw.AsSpan(0, 6), gw, gc, ws), "must not overlap");
        LossChecks.Throws<ArgumentOutOfRangeException>("target", () => objective.ForwardBackward(x, w, [0, 1, 4], c, n, k, d, gx, gw, gc, ws));
    }

    [Fact]
    public void Update_BadArguments_AndCountsAreWritten()
    {
        double[] x = [1, 2, 3, 4, 5, 6], c = new double[8];
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => CenterLoss<double>.UpdateCenters(x[..5], [0, 1, 1], 3, 4, 2, c, 0.5, new int[4])).ParamName);
        Assert.Equal("centers", Assert.Throws<ArgumentException>(() => CenterLoss<double>.UpdateCenters(x, [0, 1, 1], 3, 4, 2, c[..7], 0.5, new int[4])).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => CenterLoss<double>.UpdateCenters(x, [0, 1], 3, 4, 2, c, 0.5, new int[4])).ParamName);
        var overlap = Assert.Throws<ArgumentException>(() =>
        {
            double[] both = new double[14];
            CenterLoss<double>.UpdateCenters(both.AsSpan(0, 6), [0, 1, 1], 3, 4, 2, both.AsSpan(4, 8), 0.5, new int[4]);
        });
        Assert.Equal("centers", overlap.ParamName);
        Assert.Contains("centers must not overlap input.", overlap.Message);

        // Counts are n_j of this batch, whatever the buffer held; entries past the classes are left alone.
        int[] counts = [9, 9, 9, 9, 9];
        CenterLoss<double>.UpdateCenters(x, [3, 1, 3], 3, 4, 2, c, 0.5, counts);
        Assert.Equal([0, 1, 0, 2, 9], counts);
    }

    [Fact]
    public void Update_ManyClassChunks_FollowsThePaperRule()
    {
        // Wen et al. 2016, eq. 4: Δc_j = Σ_{i: y_i = j} (c_j − x_i) / (1 + n_j), c_j ← c_j − α·Δc_j, at a size whose
        // classes span several chunks (and threads).
        const int batch = 3000, classes = 700, dim = 19;
        const double alpha = 0.4;
        double[] x = Random(batch * dim, 7), c = Random(classes * dim, 8);
        var rng = new Random(9);
        int[] y = [.. Enumerable.Range(0, batch).Select(_ => rng.Next(classes - 3))]; // the last classes get no rows
        var expected = (double[])c.Clone();
        var n = new int[classes];
        foreach (int j in y)
        {
            n[j]++;
        }

        for (int j = 0; j < classes; j++)
        {
            for (int q = 0; q < dim; q++)
            {
                double delta = 0;
                for (int i = 0; i < batch; i++)
                {
                    if (y[i] == j)
                    {
                        delta += c[j * dim + q] - x[i * dim + q];
                    }
                }

                expected[j * dim + q] = c[j * dim + q] - alpha * delta / (1 + n[j]);
            }
        }

        var counts = new int[classes];
        CenterLoss<double>.UpdateCenters(x, y, batch, classes, dim, c, alpha, counts);
        Assert.Equal(n, counts);
        for (int i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - c[i]) <= 1e-13 * (1 + Math.Abs(expected[i])), $"centers[{i}]: {c[i]:R} vs {expected[i]:R}");
        }
    }

    [Fact]
    public void UnknownConvention_IsNamed()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CenterLoss<float>(convention: (CenterLossConvention)5));
        Assert.Equal("convention", e.ParamName);
        Assert.Contains("Unknown convention 5.", e.Message);
    }

    [Fact]
    public void Objective_OneClass_Sizes_AndTheExactWorkspace()
    {
        // One class is a valid objective (every row has class 0).
        var one = new CenterLossObjective<double>(new CrossEntropyLoss<double>(), new CenterLoss<double>(), 0.5);
        double[] x = Random(6, 11), w = Random(2, 12), c = Random(2, 13);
        JointLossValue<double> v = one.ForwardBackward(x, w, [0, 0, 0], c, 3, 1, 2, new double[6], new double[2], new double[2],
            new double[CenterLossObjective<double>.WorkspaceSize(3, 1, 2)]);
        Assert.Equal(0.0, v.Classification); // a single class: log-softmax of one logit is 0
        Assert.Equal(new CenterLoss<double>().Forward(x, [0, 0, 0], c, 3, 1, 2), v.Center, 15);

        // The products of the sizes name what does not fit (dim 0 keeps every array empty).
        var objective = new CenterLossObjective<float>(new CrossEntropyLoss<float>(), new CenterLoss<float>(), 0.5);
        var logits = Assert.Throws<ArgumentException>(() => objective.ForwardBackward([], [], [], [], 65536, 65536, 0, [], [], [], []));
        Assert.Equal("classes", logits.ParamName);
        Assert.Contains("batch × classes = 65536 × 65536 overflows int", logits.Message);
        var twice = Assert.Throws<ArgumentException>(() => objective.ForwardBackward([], [], [], [], 40000, 40000, 0, [], [], [], []));
        Assert.Equal("workspace", twice.ParamName);
        Assert.Contains("2·batch·classes + the head's workspace", twice.Message);
        var size = Assert.Throws<ArgumentException>(() => CenterLossObjective<float>.WorkspaceSize(40000, 40000, 1));
        Assert.Contains("workspace elements (2·batch·classes + the head's)", size.Message);

        // The workspace the method needs: 2·batch·classes + the head's minimum, not one element less.
        const int n = 3, k = 4, d = 2;
        int minimum = 2 * n * k + CosineHead<float>.MinimumWorkspaceSize(n, k, d);
        float[] xf = new float[n * d], wf = new float[k * d], cf = new float[k * d];
        objective.ForwardBackward(xf, wf, [0, 1, 3], cf, n, k, d, new float[n * d], new float[k * d], new float[k * d], new float[minimum]);
        var shortBy1 = Assert.Throws<ArgumentException>(() =>
            objective.ForwardBackward(xf, wf, [0, 1, 3], cf, n, k, d, new float[n * d], new float[k * d], new float[k * d], new float[minimum - 1]));
        Assert.Equal("workspace", shortBy1.ParamName);
    }

    [Fact]
    public void KaiyangZhou_ClampedDistances_PassNoGradient()
    {
        // torch.clamp(distmat, 1e-12, 1e12) passes no gradient outside its bounds: a row just off its center
        // (0 < d < 1e-12) and a row far from it (d > 1e12) get 0; a row in between gets 2·(x − c) (Sum).
        double[] c = [0.5, -0.25, 1.0, 2.0];
        double[] x = [0.5 + 3e-7, -0.25, 2e6 + 1.0, 2.0, 0.75, 0.0];
        int[] y = [0, 1, 0];
        var loss = new CenterLoss<double>(Reduction.Sum, CenterLossConvention.KaiyangZhou);
        double[] gx = Filled(6, Sentinel), gc = Filled(4, Sentinel);
        loss.ForwardBackward(x, y, c, 3, 2, 2, gx, gc);
        Assert.Equal([0.0, 0.0, 0.0, 0.0, 2 * (0.75 - 0.5), 2 * (0.0 + 0.25)], gx);
        Assert.Equal([-2 * (0.75 - 0.5), -2 * (0.0 + 0.25), 0.0, 0.0], gc);
    }

    [Fact]
    public void Half_IsTheFloat32ObjectiveAndUpdateRounded()
    {
        // The Half contract (docs/RELIABILITY.md): Half computes through float32 and rounds once.
        const int n = 5, k = 4, d = 3;
        float[] x = [.. Random(n * d, 17).Select(v => (float)(Half)v)], w = [.. Random(k * d, 18).Select(v => (float)(Half)v)];
        float[] c = [.. Random(k * d, 19).Select(v => (float)(Half)v)];
        int[] y = [0, 3, 3, 1, 2];
        var f = new CenterLossObjective<float>(new CrossEntropyLoss<float>(), new CenterLoss<float>(), 0.25);
        var h = new CenterLossObjective<Half>(new CrossEntropyLoss<Half>(), new CenterLoss<Half>(), 0.25);
        float[] fx = new float[n * d], fw = new float[k * d], fc = new float[k * d];
        JointLossValue<float> fv = f.ForwardBackward(x, w, y, c, n, k, d, fx, fw, fc, new float[CenterLossObjective<float>.WorkspaceSize(n, k, d)]);
        Half[] hx = new Half[n * d], hw = new Half[k * d], hc = new Half[k * d];
        Half[] H(float[] a) => [.. a.Select(v => (Half)v)];
        JointLossValue<Half> hv = h.ForwardBackward(H(x), H(w), y, H(c), n, k, d, hx, hw, hc, new Half[CenterLossObjective<Half>.WorkspaceSize(n, k, d)]);
        Assert.Equal((Half)fv.Total, hv.Total);
        Assert.Equal(H(fx), hx);
        Assert.Equal(H(fw), hw);
        Assert.Equal(H(fc), hc);

        float[] cf = [.. c];
        Half[] ch = H(c);
        int[] countsF = new int[k], countsH = new int[k];
        CenterLoss<float>.UpdateCenters(x, y, n, k, d, cf, 0.5, countsF);
        CenterLoss<Half>.UpdateCenters(H(x), y, n, k, d, ch, 0.5, countsH);
        Assert.Equal(H(cf), ch);
        Assert.Equal(countsF, countsH);
    }
}
