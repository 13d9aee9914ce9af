using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>
/// The YOLOv3 criterion's contract beyond its golden values (run M: its argument checks, the clearing of the gradient,
/// darknet's tie-break and per-image truths, the ultralytics options and the Half path could all change with the
/// criteria tests passing).
/// </summary>
public class YoloV3ContractTests
{
    private const int C = 4;

    private static double[][] Outputs(YoloV3Loss<double> loss, int batch, int seed, double scale = 1.0)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, 3).Select(l => Scenes.Normal<double>(loss.OutputLength(l, batch), scale, rng))];
    }

    // Two images: 2 and 1 ground truths (normalised cx, cy, w, h).
    private static readonly double[] Gt = [0.3, 0.4, 0.2, 0.3, 0.7, 0.6, 0.1, 0.05, 0.5, 0.5, 0.4, 0.6];
    private static readonly int[] Labels = [1, 3, 0], Counts = [2, 1];

    [Fact]
    public void Constructor_NamesEachBadArgument()
    {
        LossChecks.ThrowsNaming("classes", () => new YoloV3Loss<double>(0), ">= 1, got 0");
        foreach (int bad in new[] { 0, -32, 100 })
        {
            LossChecks.ThrowsNaming("inputWidth", () => new YoloV3Loss<double>(C, bad, 416), $"positive multiple of 32, got {bad}");
            LossChecks.ThrowsNaming("inputHeight", () => new YoloV3Loss<double>(C, 416, bad), $"positive multiple of 32, got {bad}");
        }

        Assert.Equal((32, 5), new YoloV3Loss<double>(C, 1024, 160).GridSize(0));
        LossChecks.ThrowsNaming("anchors", () => new YoloV3Loss<double>(C, anchors: new double[16]), "nine (w, h) pairs");
        double[] anchors = [.. YoloV3Loss<double>.DarknetAnchors];
        anchors[5] = 0;
        LossChecks.ThrowsNaming("anchors", () => new YoloV3Loss<double>(C, anchors: anchors), "got 0");
        LossChecks.Throws<ArgumentOutOfRangeException>("variant", () => new YoloV3Loss<double>(C, variant: (YoloV3Variant)7));
        Assert.Contains("Darknet or Ultralytics", Assert.ThrowsAny<ArgumentException>(() => new YoloV3Loss<double>(C, variant: (YoloV3Variant)7)).Message);
        LossChecks.ThrowsNaming("ignoreThreshold", () => new YoloV3Loss<double>(C, ignoreThreshold: 1.5));
        var u = YoloV3Variant.Ultralytics;
        LossChecks.ThrowsNaming("ultralytics.BoxGain", () => new YoloV3Loss<double>(C, variant: u, ultralytics: new() { BoxGain = -1 }));
        LossChecks.ThrowsNaming("ultralytics.ObjectnessGain", () => new YoloV3Loss<double>(C, variant: u, ultralytics: new() { ObjectnessGain = -1 }));
        LossChecks.ThrowsNaming("ultralytics.ClassGain", () => new YoloV3Loss<double>(C, variant: u, ultralytics: new() { ClassGain = double.NaN }));
        LossChecks.ThrowsNaming("ultralytics.AnchorThreshold", () => new YoloV3Loss<double>(C, variant: u, ultralytics: new() { AnchorThreshold = 1.1 }));
        LossChecks.ThrowsNaming("ultralytics.IoURatio", () => new YoloV3Loss<double>(C, variant: u, ultralytics: new() { IoURatio = -0.1 }));
        var l1 = new YoloV3UltralyticsOptions { BoxLossKind = BoxLossKind.L1 };
        LossChecks.Throws<ArgumentOutOfRangeException>("ultralytics", () => new YoloV3Loss<double>(C, variant: u, ultralytics: l1));
        Assert.Contains("GIoU or CIoU", Assert.ThrowsAny<ArgumentException>(() => new YoloV3Loss<double>(C, variant: u, ultralytics: l1)).Message);
    }

#pragma warning disable CS0618 // the former enum's mapping
    [Fact]
    public void FormerBoxLossEnum_MapsOnlyItsTwoValues()
    {
        Assert.Equal(BoxLossKind.CIoU, new YoloV3UltralyticsOptions { BoxLoss = YoloV3BoxLoss.CIoU }.BoxLossKind);
        Assert.Equal(YoloV3BoxLoss.GIoU, new YoloV3UltralyticsOptions().BoxLoss);
        var unknown = new YoloV3UltralyticsOptions { BoxLoss = (YoloV3BoxLoss)5 };
        Assert.False(Enum.IsDefined(unknown.BoxLossKind));
        LossChecks.Throws<ArgumentOutOfRangeException>("ultralytics", () => new YoloV3Loss<double>(C, variant: YoloV3Variant.Ultralytics, ultralytics: unknown));
        Assert.False(Enum.IsDefined(new YoloV3UltralyticsOptions { BoxLossKind = BoxLossKind.L1 }.BoxLoss));
    }
#pragma warning restore CS0618

    [Fact]
    public void Layers_AreZeroToTwo()
    {
        Assert.Equal([32, 16, 8], Enumerable.Range(0, 3).Select(YoloV3Loss<double>.Stride));
        foreach (int bad in new[] { -1, 3 })
        {
            LossChecks.ThrowsNaming("layer", () => YoloV3Loss<double>.Stride(bad), $"0, 1 or 2, got {bad}");
            LossChecks.ThrowsNaming("layer", () => YoloV3Loss<double>.AnchorIndex(bad, 0));
        }

        var loss = new YoloV3Loss<double>(C);
        LossChecks.ThrowsNaming("batch", () => loss.OutputLength(0, int.MaxValue), "batch × 3·(5 + classes) × H × W");
    }

    [Fact]
    public void ForwardBackward_NamesEachBadArgument()
    {
        var loss = new YoloV3Loss<double>(C, 128, 64);
        double[][] o = Outputs(loss, 2, 1);
        double[][] g = [.. o.Select(x => new double[x.Length])];
        loss.ForwardBackward(o[0], o[1], o[2], Gt, Labels, Counts, g[0], g[1], g[2]); // the control
        LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(o[0], o[1], o[2], Gt[..^4], Labels, Counts), "4 per ground truth");
        LossChecks.ThrowsNaming("groundTruthLabels", () => loss.Forward(o[0], o[1], o[2], Gt, Labels[..^1], Counts), "one per ground truth");
        LossChecks.ThrowsNaming("groundTruthLabels", () => loss.Forward(o[0], o[1], o[2], Gt, [1, 4, 0], Counts), "groundTruthLabels[1] = 4");
        LossChecks.ThrowsNaming("output0", () => loss.Forward(o[0][..^1], o[1], o[2], Gt, Labels, Counts), "2 × 27 × 2 × 4");
        LossChecks.ThrowsNaming("output1", () => loss.Forward(o[0], o[1][..^1], o[2], Gt, Labels, Counts), "2 × 27 × 4 × 8");
        LossChecks.ThrowsNaming("output2", () => loss.Forward(o[0], o[1], o[2][..^1], Gt, Labels, Counts), "2 × 27 × 8 × 16", $"{o[2].Length} elements");
        LossChecks.ThrowsNaming("gradient0", () => loss.ForwardBackward(o[0], o[1], o[2], Gt, Labels, Counts, g[0][..^1], g[1], g[2]));
        LossChecks.ThrowsNaming("gradient1", () => loss.ForwardBackward(o[0], o[1], o[2], Gt, Labels, Counts, g[0], g[1][..^1], g[2]));
        LossChecks.ThrowsNaming("gradient2", () => loss.ForwardBackward(o[0], o[1], o[2], Gt, Labels, Counts, g[0], g[1], g[2][..^1]));
    }

    [Theory]
    [InlineData(YoloV3Variant.Darknet)]
    [InlineData(YoloV3Variant.Ultralytics)]
    public void GroundTruths_AreChecked(YoloV3Variant variant)
    {
        var loss = new YoloV3Loss<double>(C, 128, 64, variant: variant);
        double[][] o = Outputs(loss, 2, 1);
        for (int coordinate = 0; coordinate < 4; coordinate++)
        {
            foreach (double bad in new[] { double.NaN, double.PositiveInfinity })
            {
                double[] gt = [.. Gt];
                gt[8 + coordinate] = bad;
                LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(o[0], o[1], o[2], gt, Labels, Counts), "groundTruthBoxes[2] = (", "NaN or infinite");
            }
        }

        double[] Replace(int index, double value)
        {
            double[] gt = [.. Gt];
            gt[4 + index] = value;
            return gt;
        }

        LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(o[0], o[1], o[2], Replace(2, 0), Labels, Counts), "groundTruthBoxes[1] = (", "is empty");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(o[0], o[1], o[2], Replace(3, 0), Labels, Counts), "groundTruthBoxes[1] = (", "is empty");
        foreach ((int index, double value) in new[] { (0, 1.0), (1, 1.0), (0, -0.01), (1, -0.01) })
        {
            LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(o[0], o[1], o[2], Replace(index, value), Labels, Counts),
                "groundTruthBoxes[1] = (", "centre must be in [0, 1)");
        }

        loss.Forward(o[0], o[1], o[2], Replace(0, 0.0), Labels, Counts); // the centre's closed end
        loss.Forward(o[0], o[1], o[2], Replace(1, 0.0), Labels, Counts);
        if (variant == YoloV3Variant.Darknet)
        {
            LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(o[0], o[1], o[2], Replace(3, 1.5), Labels, Counts), "groundTruthBoxes[1] = (", "(0, 1]");
            loss.Forward(o[0], o[1], o[2], Replace(3, 1.0), Labels, Counts);
        }
        else
        {
            loss.Forward(o[0], o[1], o[2], Replace(3, 1.5), Labels, Counts);
        }
    }

    /// <summary>The gradients are written whole: NaN left in the buffers never shows through.</summary>
    [Theory]
    [InlineData(YoloV3Variant.Darknet)]
    [InlineData(YoloV3Variant.Ultralytics)]
    public void Gradients_OverwriteTheBuffers(YoloV3Variant variant)
    {
        var loss = new YoloV3Loss<double>(C, 128, 64, variant: variant);
        double[][] o = Outputs(loss, 2, 1);
        double[][] g = [.. o.Select(x => new double[x.Length])];
        double[][] dirty = [.. o.Select(x => Enumerable.Repeat(double.NaN, x.Length).ToArray())];
        YoloV3LossTerms<double> clean = loss.ForwardBackward(o[0], o[1], o[2], Gt, Labels, Counts, g[0], g[1], g[2]);
        Assert.Equal(clean, loss.ForwardBackward(o[0], o[1], o[2], Gt, Labels, Counts, dirty[0], dirty[1], dirty[2]));
        for (int l = 0; l < 3; l++)
        {
            Assert.Equal(g[l], dirty[l]);
        }
    }

    /// <summary>
    /// darknet's best anchor is the first of equal IoUs (its <c>if (iou &gt; best_iou)</c>): anchors 0 and 1 are the same
    /// rectangle turned 90°, so a square ground truth has exactly the same IoU with both, and slot 0 of layer 2 trains it.
    /// </summary>
    [Fact]
    public void Darknet_BestAnchor_FirstOfEqualIoUsWins()
    {
        double[] anchors = [40, 20, 20, 40, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
        var loss = new YoloV3Loss<double>(1, 64, 64, anchors);
        double[][] o = [.. Enumerable.Range(0, 3).Select(l => new double[loss.OutputLength(l, 1)])];
        double[][] g = [.. o.Select(x => new double[x.Length])];
        loss.ForwardBackward(o[0], o[1], o[2], [0.5, 0.5, 0.5, 0.5], [0], [1], g[0], g[1], g[2]);
        (int w, int h) = loss.GridSize(2);
        int hw = w * h, cell = (h / 2) * w + w / 2, entries = 6;
        // x entries of slots 0 and 1 at the truth's cell (target offset 0, logit 0: gradient weight·(σ(0) − 0)).
        Assert.NotEqual(0, g[2][0 * entries * hw + cell]);
        Assert.Equal(0, g[2][1 * entries * hw + cell]);
    }

    [Fact]
    public void DarknetIoU_DisjointOnOneAxis_IsZero()
    {
        // Overlapping in y, apart in x (and the reverse): darknet's box_iou returns 0 when either overlap is negative.
        Assert.Equal(0, YoloV3Loss<double>.DarknetIoU(0.2, 0.5, 0.1, 0.4, 0.6, 0.5, 0.1, 0.4));
        Assert.Equal(0, YoloV3Loss<double>.DarknetIoU(0.5, 0.2, 0.4, 0.1, 0.5, 0.6, 0.4, 0.1));
        Assert.Equal(0, YoloV3Loss<double>.DarknetIoU(0.2, 0.2, 0.1, 0.1, 0.6, 0.6, 0.1, 0.1));
        Assert.Equal(1.0 / 3, YoloV3Loss<double>.DarknetIoU(0.5, 0.5, 0.2, 0.2, 0.6, 0.5, 0.2, 0.2), 1e-15);
    }

    /// <summary>
    /// darknet: each image's objectness ignore mask and targets use that image's truths only, and every term carries
    /// 1/batch, so a batch of two is the mean of the two images alone. Image 1's truth is exactly the box that image 0
    /// predicts at one slot (all outputs 0): it must not make image 0 ignore that slot.
    /// </summary>
    [Fact]
    public void Darknet_ImagesAreIndependent()
    {
        var loss = new YoloV3Loss<double>(C, 128, 128);
        (int w0, int h0) = loss.GridSize(0);
        double[] gt0 = [0.8, 0.85, 0.1, 0.1], gt1 = [3.5 / w0, 1.5 / h0, 116.0 / 128, 90.0 / 128]; // anchor 6 at cell (3, 1) of layer 0
        double[][] zero(int batch) => [.. Enumerable.Range(0, 3).Select(l => new double[loss.OutputLength(l, batch)])];
        double[][] o = zero(2), o0 = zero(1), o1 = zero(1);
        double[][] g = zero(2), g0 = zero(1), g1 = zero(1);
        YoloV3LossTerms<double> both = loss.ForwardBackward(o[0], o[1], o[2], [.. gt0, .. gt1], [1, 2], [1, 1], g[0], g[1], g[2]);
        YoloV3LossTerms<double> first = loss.ForwardBackward(o0[0], o0[1], o0[2], gt0, [1], [1], g0[0], g0[1], g0[2]);
        YoloV3LossTerms<double> second = loss.ForwardBackward(o1[0], o1[1], o1[2], gt1, [2], [1], g1[0], g1[1], g1[2]);
        Assert.Equal((first.Box + second.Box) / 2, both.Box, 1e-12 * Math.Abs(both.Box));
        Assert.Equal((first.Objectness + second.Objectness) / 2, both.Objectness, 1e-12 * Math.Abs(both.Objectness));
        Assert.Equal((first.Classification + second.Classification) / 2, both.Classification, 1e-12 * Math.Abs(both.Classification));
        for (int l = 0; l < 3; l++)
        {
            Assert.Equal([.. g0[l].Select(v => v / 2), .. g1[l].Select(v => v / 2)], g[l]);
        }
    }

    [Fact]
    public void Ultralytics_ScaleOptions_AreFactorsOfTheTerms()
    {
        var scaled = new YoloV3Loss<double>(C, 128, 64, variant: YoloV3Variant.Ultralytics);
        var plain = new YoloV3Loss<double>(C, 128, 64, variant: YoloV3Variant.Ultralytics,
            ultralytics: new() { ScaleByBatch = false, ScaleClassGainByClasses = false });
        double[][] o = Outputs(scaled, 2, 4);
        YoloV3LossTerms<double> s = scaled.Forward(o[0], o[1], o[2], Gt, Labels, Counts), p = plain.Forward(o[0], o[1], o[2], Gt, Labels, Counts);
        Assert.Equal(p.Box * 2 / 64, s.Box, 1e-13);
        Assert.Equal(p.Objectness * 2 / 64, s.Objectness, 1e-13);
        Assert.Equal(p.Classification * 2 / 64 * C / 80, s.Classification, 1e-13);
    }

    /// <summary>
    /// ultralytics clamps e^z at 1000 before the anchor scale (torch.clamp): above it the size gets no gradient, below it
    /// (e⁶ ≈ 403) it does.
    /// </summary>
    [Theory]
    [InlineData(8.0, false)]
    [InlineData(6.0, true)]
    public void Ultralytics_ClampedSizes_GetNoGradient(double sizeLogit, bool expectGradient)
    {
        var loss = new YoloV3Loss<double>(C, 128, 64, variant: YoloV3Variant.Ultralytics);
        double[][] o = Outputs(loss, 2, 6, 0.3);
        for (int l = 0; l < 3; l++)
        {
            (int w, int h) = loss.GridSize(l);
            int hw = w * h;
            for (int plane = 0; plane < 6; plane++)
            {
                o[l].AsSpan((plane * (5 + C) + 2) * hw, 2 * hw).Fill(sizeLogit);
            }
        }

        double[][] g = [.. o.Select(x => new double[x.Length])];
        YoloV3LossTerms<double> t = loss.ForwardBackward(o[0], o[1], o[2], Gt, Labels, Counts, g[0], g[1], g[2]);
        Assert.True(t.Box > 0, $"box term {t.Box}");
        int sizeGradients = 0;
        for (int l = 0; l < 3; l++)
        {
            (int w, int h) = loss.GridSize(l);
            int hw = w * h;
            for (int plane = 0; plane < 6; plane++)
            {
                sizeGradients += g[l].AsSpan((plane * (5 + C) + 2) * hw, 2 * hw).ToArray().Count(v => v != 0);
            }
        }

        Assert.Equal(expectGradient, sizeGradients > 0);
    }

    /// <summary>Half computes in float32 and rounds the terms and gradients once (the library's narrow-type contract).</summary>
    [Theory]
    [InlineData(YoloV3Variant.Darknet)]
    [InlineData(YoloV3Variant.Ultralytics)]
    public void Half_IsTheFloat32CriterionRounded(YoloV3Variant variant)
    {
        var single = new YoloV3Loss<float>(C, 128, 64, variant: variant);
        var half = new YoloV3Loss<Half>(C, 128, 64, variant: variant);
        double[][] o = Outputs(new YoloV3Loss<double>(C, 128, 64), 2, 8);
        float[][] gf = [.. o.Select(x => new float[x.Length])];
        Half[][] gh = [.. o.Select(x => new Half[x.Length])];
        var ws = new CriterionWorkspace<Half>();
        YoloV3LossTerms<float> tf = single.ForwardBackward(HalfData.Floats(o[0]), HalfData.Floats(o[1]), HalfData.Floats(o[2]), HalfData.Floats(Gt), Labels, Counts, gf[0], gf[1], gf[2]);
        YoloV3LossTerms<Half> th = half.ForwardBackward(HalfData.Halves(o[0]), HalfData.Halves(o[1]), HalfData.Halves(o[2]), HalfData.Halves(Gt), Labels, Counts, gh[0], gh[1], gh[2], ws);
        Assert.Equal(((Half)tf.Box, (Half)tf.Objectness, (Half)tf.Classification), (th.Box, th.Objectness, th.Classification));
        for (int l = 0; l < 3; l++)
        {
            Assert.Equal(HalfData.Rounded(gf[l]), gh[l]);
        }

        Assert.Equal(th, half.Forward(HalfData.Halves(o[0]), HalfData.Halves(o[1]), HalfData.Halves(o[2]), HalfData.Halves(Gt), Labels, Counts, ws));
        Assert.True(ws.AllocatedBytes > 0);
    }
}
