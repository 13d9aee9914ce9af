using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.MetricLearning;

/// <summary>
/// The cosine head's argument contract (mutation run K found most of its checks untested): every size, destination and
/// no-overlap check names its parameter and says what it expected, the tensor forms name shapes, the size products
/// name the matrix that does not fit, and outputs are written, never added to.
/// </summary>
public class CosineHeadContractTests
{
    private const int B = 3, K = 4, D = 2;
    private static readonly CosineHead<double> Head = new();

    private static double[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1)];
    }

    private static readonly int Ws = CosineHead<double>.WorkspaceSize(B, K, D);

    [Fact]
    public void Forward_ChecksSizesAndOverlaps()
    {
        double[] x = Random(B * D, 1), w = Random(K * D, 2), cos = new double[B * K], ws = new double[Ws];
        LossChecks.ThrowsNaming("batch", () => Head.Forward(x, w, -1, K, D, cos, ws), ">= 0, got -1");
        LossChecks.ThrowsNaming("classes", () => Head.Forward(x, w, B, -1, D, cos, ws), ">= 0, got -1");
        LossChecks.ThrowsNaming("dim", () => Head.Forward(x, w, B, K, -1, cos, ws), ">= 0, got -1");
        LossChecks.ThrowsNaming("input", () => Head.Forward(x[..5], w, B, K, D, cos, ws));
        LossChecks.ThrowsNaming("weight", () => Head.Forward(x, w[..7], B, K, D, cos, ws));
        LossChecks.ThrowsNaming("workspace", () => Head.Forward(x, w, B, K, D, cos, ws[..(CosineHead<double>.MinimumWorkspaceSize(B, K, D) - 1)]));
        LossChecks.ThrowsNaming("cosine", () => Head.Forward(x, w, B, K, D, cos[..11], ws));

        double[] big = new double[Ws + 64];
        LossChecks.ThrowsNaming("workspace", () => Head.Forward(big.AsSpan(Ws - 2, B * D), w, B, K, D, cos, big.AsSpan(0, Ws)),
            "workspace must not overlap input.");
        LossChecks.ThrowsNaming("workspace", () => Head.Forward(x, big.AsSpan(Ws - 2, K * D), B, K, D, cos, big.AsSpan(0, Ws)),
            "workspace must not overlap weight.");
        LossChecks.ThrowsNaming("cosine", () =>
        {
            double[] a = new double[40];
            Random(B * D, 1).CopyTo(a, 0);
            Head.Forward(a.AsSpan(0, B * D), w, B, K, D, a.AsSpan(B * D - 1, B * K), ws);
        }, "cosine must not overlap input.");
        LossChecks.ThrowsNaming("cosine", () =>
        {
            double[] a = new double[40];
            Head.Forward(x, a.AsSpan(0, K * D), B, K, D, a.AsSpan(K * D - 1, B * K), ws);
        }, "cosine must not overlap weight.");
        LossChecks.ThrowsNaming("cosine", () => Head.Forward(x, w, B, K, D, big.AsSpan(Ws - 2, B * K), big.AsSpan(0, Ws)),
            "cosine must not overlap workspace.");
    }

    [Fact]
    public void Backward_ChecksSizesAndOverlaps()
    {
        double[] x = Random(B * D, 1), w = Random(K * D, 2), up = Random(B * K, 3), gx = new double[B * D], gw = new double[K * D], ws = new double[Ws];
        LossChecks.ThrowsNaming("upstream", () => Head.Backward(x, w, B, K, D, up[..11], gx, gw, ws));
        LossChecks.ThrowsNaming("inputGradient", () => Head.Backward(x, w, B, K, D, up, gx[..5], gw, ws));
        LossChecks.ThrowsNaming("weightGradient", () => Head.Backward(x, w, B, K, D, up, gx, gw[..7], ws));

        // The forward's checks run in Backward too (each entry point checks its own arguments).
        LossChecks.ThrowsNaming("input", () => Head.Backward(x[..5], w, B, K, D, up, gx, gw, ws));
        LossChecks.ThrowsNaming("weight", () => Head.Backward(x, w[..7], B, K, D, up, gx, gw, ws));
        LossChecks.ThrowsNaming("workspace", () => Head.Backward(x, w, B, K, D, up, gx, gw, ws[..(CosineHead<double>.MinimumWorkspaceSize(B, K, D) - 1)]));

        // Each pair on one shared array: the second span starts inside the first.
        double[] shared = new double[Ws + 64];
        Span<double> S(int offset, int n) => shared.AsSpan(offset, n);
        LossChecks.ThrowsNaming("inputGradient", () =>
        {
            double[] a = new double[40];
            Head.Backward(x, w, B, K, D, a.AsSpan(0, B * K), a.AsSpan(B * K - 1, B * D), gw, ws);
        }, "inputGradient must not overlap upstream.");
        LossChecks.ThrowsNaming("inputGradient", () =>
        {
            double[] a = new double[40];
            Random(B * D, 1).CopyTo(a, 0);
            Head.Backward(a.AsSpan(0, B * D), w, B, K, D, up, a.AsSpan(B * D - 1, B * D), gw, ws);
        }, "inputGradient must not overlap input.");
        LossChecks.ThrowsNaming("inputGradient", () =>
        {
            double[] a = new double[40];
            Head.Backward(x, a.AsSpan(0, K * D), B, K, D, up, a.AsSpan(K * D - 1, B * D), gw, ws);
        }, "inputGradient must not overlap weight.");
        LossChecks.ThrowsNaming("inputGradient", () =>
            Head.Backward(x, w, B, K, D, up, S(Ws - 1, B * D), gw, S(0, Ws)), "inputGradient must not overlap workspace.");
        LossChecks.ThrowsNaming("inputGradient", () =>
        {
            double[] a = new double[40];
            Head.Backward(x, w, B, K, D, up, a.AsSpan(0, B * D), a.AsSpan(B * D - 1, K * D), ws);
        }, "inputGradient must not overlap weightGradient.");
        LossChecks.ThrowsNaming("weightGradient", () =>
        {
            double[] a = new double[40];
            Head.Backward(x, w, B, K, D, a.AsSpan(0, B * K), gx, a.AsSpan(B * K - 1, K * D), ws);
        }, "weightGradient must not overlap upstream.");
        LossChecks.ThrowsNaming("weightGradient", () =>
        {
            double[] a = new double[40];
            Head.Backward(a.AsSpan(0, B * D), w, B, K, D, up, default, a.AsSpan(B * D - 1, K * D), ws);
        }, "weightGradient must not overlap input.");
        LossChecks.ThrowsNaming("weightGradient", () =>
        {
            double[] a = new double[40];
            Head.Backward(x, a.AsSpan(0, K * D), B, K, D, up, default, a.AsSpan(K * D - 1, K * D), ws);
        }, "weightGradient must not overlap weight.");
        LossChecks.ThrowsNaming("weightGradient", () =>
            Head.Backward(x, w, B, K, D, up, default, S(Ws - 1, K * D), S(0, Ws)), "weightGradient must not overlap workspace.");
    }

    [Fact]
    public void ForwardBackward_ChecksTheLossAndItsBuffers()
    {
        double[] x = Random(B * D, 1), w = Random(K * D, 2), gx = new double[B * D], gw = new double[K * D];
        double[] cos = new double[B * K], g = new double[B * K], ws = new double[Ws];
        int[] y = [0, 3, 1];
        var loss = new CrossEntropyLoss<double>();
        LossChecks.ThrowsNaming("loss", () => Head.ForwardBackward(null!, x, w, y, B, K, D, gx, gw, cos, g, ws));
        LossChecks.ThrowsNaming("loss", () => Head.ForwardBackward(new CrossEntropyLoss<double>(Reduction.None), x, w, y, B, K, D, gx, gw, cos, g, ws),
            "The loss must reduce (Mean or Sum) to give one value; got Reduction.None.");
        LossChecks.ThrowsNaming("cosine", () => Head.ForwardBackward(loss, x, w, y, B, K, D, gx, gw, cos[..11], g, ws));
        LossChecks.ThrowsNaming("cosineGradient", () => Head.ForwardBackward(loss, x, w, y, B, K, D, gx, gw, cos, g[..11], ws));
        LossChecks.ThrowsNaming("input", () => Head.ForwardBackward(loss, x[..5], w, y, B, K, D, gx, gw, cos, g, ws));
        LossChecks.ThrowsNaming("weight", () => Head.ForwardBackward(loss, x, w[..7], y, B, K, D, gx, gw, cos, g, ws));
        LossChecks.ThrowsNaming("workspace", () => Head.ForwardBackward(loss, x, w, y, B, K, D, gx, gw, cos, g, ws[..(CosineHead<double>.MinimumWorkspaceSize(B, K, D) - 1)]));
        LossChecks.ThrowsNaming("inputGradient", () => Head.ForwardBackward(loss, x, w, y, B, K, D, gx[..5], gw, cos, g, ws));
        LossChecks.ThrowsNaming("weightGradient", () => Head.ForwardBackward(loss, x, w, y, B, K, D, gx, gw[..7], cos, g, ws));
        LossChecks.ThrowsNaming("cosine", () =>
        {
            double[] a = new double[40];
            Head.ForwardBackward(loss, x, w, y, B, K, D, gx, gw, a.AsSpan(0, B * K), a.AsSpan(B * K - 1, B * K), ws);
        }, "cosine must not overlap cosineGradient.");
        LossChecks.ThrowsNaming("cosine", () =>
        {
            double[] a = new double[40];
            Random(B * D, 1).CopyTo(a, 0);
            Head.ForwardBackward(loss, a.AsSpan(0, B * D), w, y, B, K, D, gx, gw, a.AsSpan(B * D - 1, B * K), g, ws);
        }, "cosine must not overlap input.");
        LossChecks.ThrowsNaming("cosine", () =>
        {
            double[] a = new double[40];
            Head.ForwardBackward(loss, x, a.AsSpan(0, K * D), y, B, K, D, gx, gw, a.AsSpan(K * D - 1, B * K), g, ws);
        }, "cosine must not overlap weight.");
        LossChecks.ThrowsNaming("cosine", () =>
        {
            double[] a = new double[Ws + 64];
            Head.ForwardBackward(loss, x, w, y, B, K, D, gx, gw, a.AsSpan(Ws - 1, B * K), g, a.AsSpan(0, Ws));
        }, "cosine must not overlap workspace.");
    }

    [Fact]
    public void TensorForms_NameTheShapes()
    {
        double[] x = Random(B * D, 1), w = Random(K * D, 2), up = Random(B * K, 3), ws = new double[Ws];
        ReadOnlyTensorSpan<double> Tx() => new(x, [B, D], []);
        ReadOnlyTensorSpan<double> Tw() => new(w, [K, D], []);
        LossChecks.ThrowsNaming("input", () =>
            Head.Forward(new ReadOnlyTensorSpan<double>(x, [6], []), Tw(), new TensorSpan<double>(new double[12], [B, K], []), ws),
            "input must have rank 2 ([batch, dim]), got shape [6]");
        LossChecks.ThrowsNaming("weight", () =>
            Head.Forward(Tx(), new ReadOnlyTensorSpan<double>(w, [8], []), new TensorSpan<double>(new double[12], [B, K], []), ws),
            "weight must have rank 2 ([classes, dim]), got shape [8]");
        LossChecks.ThrowsNaming("weight", () =>
            Head.Forward(Tx(), new ReadOnlyTensorSpan<double>(w, [2, 4], []), new TensorSpan<double>(new double[12], [B, K], []), ws),
            "weight must have shape [classes, 2] to match input [3, 2], got [2, 4].");
        LossChecks.ThrowsNaming("cosine", () =>
            Head.Forward(Tx(), Tw(), new TensorSpan<double>(new double[12], [K, B], []), ws), "cosine must have shape [3, 4], got [4, 3]");
        TensorSpan<double> Gx() => new(new double[B * D], [B, D], []);
        TensorSpan<double> Gw() => new(new double[K * D], [K, D], []);
        LossChecks.ThrowsNaming("upstream", () =>
            Head.Backward(Tx(), Tw(), new ReadOnlyTensorSpan<double>(up, [12], []), Gx(), Gw(), ws), "upstream must have shape [3, 4], got [12]");
        LossChecks.ThrowsNaming("inputGradient", () =>
            Head.Backward(Tx(), Tw(), new ReadOnlyTensorSpan<double>(up, [B, K], []), new TensorSpan<double>(new double[6], [2, 3], []), Gw(), ws),
            "inputGradient must have shape [3, 2], got [2, 3]");
        LossChecks.ThrowsNaming("weightGradient", () =>
            Head.Backward(Tx(), Tw(), new ReadOnlyTensorSpan<double>(up, [B, K], []), Gx(), new TensorSpan<double>(new double[8], [8], []), ws),
            "weightGradient must have shape [4, 2], got [8]");
    }

    [Fact]
    public void Sizes_NameTheMatrixThatDoesNotFit()
    {
        LossChecks.ThrowsNaming("batch", () => CosineHead<float>.WorkspaceSize(70000, 1, 70000), "batch × dim = 70000 × 70000 overflows int");
        LossChecks.ThrowsNaming("classes", () => CosineHead<float>.WorkspaceSize(1, 70000, 70000), "classes × dim = 70000 × 70000 overflows int");
        LossChecks.ThrowsNaming("classes", () => CosineHead<float>.WorkspaceSize(70000, 70000, 1), "batch × classes = 70000 × 70000 overflows int");
        LossChecks.ThrowsNaming("dim", () => CosineHead<float>.WorkspaceSize(40000, 40000, 30000),
            "(batch + classes) × (dim + 1) = 80000 × 30001 overflows int");
        LossChecks.ThrowsNaming("dim", () => CosineHead<float>.MinimumWorkspaceSize(1, 1, -1));

        // The normalised copies just fit int (2 × 1,073,741,823 elements); the matrix-product buffers on top do not.
        const string Workspace = "workspace elements (normalized copies + matrix-product buffers) = ";
        LossChecks.ThrowsNaming("dim", () => CosineHead<float>.WorkspaceSize(1, 1, 1_073_741_822), Workspace, "overflows int");
        LossChecks.ThrowsNaming("dim", () => CosineHead<float>.MinimumWorkspaceSize(1, 1, 1_073_741_822), Workspace, "overflows int");

        // Tensor dimensions past int's range, with no elements (the other dimension 0): named by the tensor they come from.
        nint big = ShapedSpans.PastIntDimension;
        static ReadOnlyTensorSpan<float> Empty(nint rows, nint columns) => ShapedSpans.NoElements<float>(rows, columns);
        var head = new CosineHead<float>();
        LossChecks.ThrowsNaming("input", () => head.Forward(Empty(big, 0), Empty(3, 0), default, []), "batch = 2147483648 overflows int");
        LossChecks.ThrowsNaming("weight", () => head.Forward(Empty(2, 0), Empty(big, 0), default, []), "classes = 2147483648 overflows int");
        LossChecks.ThrowsNaming("input", () => head.Forward(Empty(0, big), Empty(0, big), default, []), "dim = 2147483648 overflows int");
    }

    [Fact]
    public void Outputs_AreWritten_WhateverTheyHeld()
    {
        const int b = 7, k = 9, d = 5;
        double[] x = Random(b * d, 4), w = Random(k * d, 5), up = Random(b * k, 6);
        int[] y = [0, 8, 3, 3, 1, 7, 2];
        int size = CosineHead<double>.WorkspaceSize(b, k, d);
        var loss = AngularMarginLoss<double>.CosFace(16);

        var gx0 = new double[b * d];
        var gw0 = new double[k * d];
        Head.Backward(x, w, b, k, d, up, gx0, gw0, new double[size]);
        double[] gx = [.. Enumerable.Repeat(-3e9, b * d)], gw = [.. Enumerable.Repeat(-3e9, k * d)], ws = [.. Enumerable.Repeat(-3e9, size)];
        Head.Backward(x, w, b, k, d, up, gx, gw, ws);
        Assert.Equal(gx0, gx);
        Assert.Equal(gw0, gw);

        var c0 = new double[b * k];
        var g0 = new double[b * k];
        double v0 = Head.ForwardBackward(loss, x, w, y, b, k, d, gx0, gw0, c0, g0, new double[size]);
        double[] c = [.. Enumerable.Repeat(-3e9, b * k)], g = [.. Enumerable.Repeat(-3e9, b * k)];
        gx = [.. Enumerable.Repeat(-3e9, b * d)];
        gw = [.. Enumerable.Repeat(-3e9, k * d)];
        ws = [.. Enumerable.Repeat(-3e9, size)];
        Assert.Equal(v0, Head.ForwardBackward(loss, x, w, y, b, k, d, gx, gw, c, g, ws));
        Assert.Equal(gx0, gx);
        Assert.Equal(gw0, gw);
        Assert.Equal(c0, c);
        Assert.Equal(g0, g);
    }

    [Fact]
    public void Half_ForwardBackward_IsTheFloat32HeadRounded()
    {
        // The Half contract (docs/RELIABILITY.md): Half computes through float32 and rounds once.
        const int b = 5, k = 6, d = 3;
        float[] x = [.. Random(b * d, 21).Select(v => (float)(Half)v)], w = [.. Random(k * d, 22).Select(v => (float)(Half)v)];
        int[] y = [0, 5, 2, 2, 4];
        Half[] H(float[] a) => [.. a.Select(v => (Half)v)];
        float[] fx = new float[b * d], fw = new float[k * d], fc = new float[b * k], fg = new float[b * k];
        float fv = new CosineHead<float>().ForwardBackward(AngularMarginLoss<float>.ArcFace(16, 0.3), x, w, y, b, k, d, fx, fw, fc, fg,
            new float[CosineHead<float>.WorkspaceSize(b, k, d)]);
        Half[] hx = new Half[b * d], hw = new Half[k * d], hc = new Half[b * k], hg = new Half[b * k];
        Half hv = new CosineHead<Half>().ForwardBackward(AngularMarginLoss<Half>.ArcFace(16, 0.3), H(x), H(w), y, b, k, d, hx, hw, hc, hg,
            new Half[CosineHead<Half>.WorkspaceSize(b, k, d)]);
        Assert.Equal((Half)fv, hv);
        Assert.Equal(H(fx), hx);
        Assert.Equal(H(fw), hw);
        Assert.Equal(H(fc), hc);
        Assert.Equal(H(fg), hg);
    }
}

/// <summary>
/// With exactly <see cref="CosineHead{T}.MinimumWorkspaceSize"/> elements the matrix products fit their packing buffers
/// into the workspace (fewer threads), and nothing past its end is written (K3's scratch-length survivors).
/// </summary>
[Collection(LossKit.Tests.Internal.GlobalSettingsCollection.Name)]
public class CosineHeadWorkspaceTests
{
    [Fact]
    public void MinimumWorkspace_IsNotWrittenPastItsEnd_AndGivesTheSameResults()
    {
        // Two row tiles of the forward product (Mc = 96) and of the weight gradient (Nc = 256 columns … 2 × 96 rows), past
        // the products' parallel threshold (2^21 multiply-adds).
        const int b = 200, k = 520, d = 48;
        const double sentinel = -7.25e300;
        var rng = new Random(17);
        double[] x = [.. Enumerable.Range(0, b * d).Select(_ => rng.NextDouble() * 2 - 1)];
        double[] w = [.. Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() * 2 - 1)];
        double[] up = [.. Enumerable.Range(0, b * k).Select(_ => rng.NextDouble() * 2 - 1)];
        int[] y = [.. Enumerable.Range(0, b).Select(i => (i * 7) % k)];
        var head = new CosineHead<double>();
        var loss = AngularMarginLoss<double>.ArcFace(32, 0.3);
        int min = CosineHead<double>.MinimumWorkspaceSize(b, k, d), full = CosineHead<double>.WorkspaceSize(b, k, d);
        Assert.True(full > min, "the sizes must leave the products fewer threads with the minimum workspace");
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            LossKitSettings.MaxDegreeOfParallelism = Math.Max(4, Environment.ProcessorCount);
            double[] cFull = new double[b * k], gxFull = new double[b * d], gwFull = new double[k * d], gFull = new double[b * k];
            head.Forward(x, w, b, k, d, cFull, new double[full]);
            double vFull = head.ForwardBackward(loss, x, w, y, b, k, d, gxFull, gwFull, new double[b * k], gFull, new double[full]);
            double[] bxFull = new double[b * d], bwFull = new double[k * d];
            head.Backward(x, w, b, k, d, up, bxFull, bwFull, new double[full]);

            double[] arena = new double[min + 4096];
            Array.Fill(arena, sentinel);
            Span<double> ws = arena.AsSpan(0, min);
            double[] c = new double[b * k], gx = new double[b * d], gw = new double[k * d], g = new double[b * k];
            head.Forward(x, w, b, k, d, c, ws);
            double v = head.ForwardBackward(loss, x, w, y, b, k, d, gx, gw, new double[b * k], g, ws);
            double[] bx = new double[b * d], bw = new double[k * d];
            head.Backward(x, w, b, k, d, up, bx, bw, ws);
            Assert.True(arena.AsSpan(min).IndexOfAnyExcept(sentinel) < 0, "an element past the workspace was written");

            Assert.Equal(vFull, v, 1e-12);
            foreach (var (expected, actual, what) in new[] { (cFull, c, "cosine"), (gxFull, gx, "input gradient"), (gwFull, gw, "weight gradient"), (bxFull, bx, "backward input gradient"), (bwFull, bw, "backward weight gradient") })
            {
                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * (1 + Math.Abs(expected[i])), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
                }
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }
}
