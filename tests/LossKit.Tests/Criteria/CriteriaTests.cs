using System.Numerics;
using LossKit.Classification;
using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Regression;
using LossKit.Tests.Infrastructure;
using LossKit.Tests.Internal;

namespace LossKit.Tests.Criteria;

/// <summary>Synthetic detection scenes for the criteria tests (deterministic).</summary>
internal static class Scenes
{
    /// <summary>Integer anchors of 6 shapes centred on a stride grid over a size × size image.</summary>
    public static double[] Anchors(int size, int stride)
    {
        int[][] shapes = [[8, 8], [16, 8], [8, 16], [16, 16], [32, 16], [16, 32]];
        var list = new List<double>();
        for (int cy = stride / 2; cy < size; cy += stride)
        {
            for (int cx = stride / 2; cx < size; cx += stride)
            {
                foreach (int[] s in shapes)
                {
                    list.AddRange([cx - s[0] / 2, cy - s[1] / 2, cx - s[0] / 2 + s[0], cy - s[1] / 2 + s[1]]);
                }
            }
        }

        return list.ToArray();
    }

    /// <summary>Ground truths near random anchors (small integer perturbations).</summary>
    public static double[] Truths(double[] anchors, int count, Random rng)
    {
        var boxes = new double[4 * count];
        for (int t = 0; t < count; t++)
        {
            int a = rng.Next(anchors.Length / 4);
            double x1 = anchors[4 * a] + rng.Next(-3, 4), y1 = anchors[4 * a + 1] + rng.Next(-3, 4);
            double x2 = Math.Max(x1 + 2, anchors[4 * a + 2] + rng.Next(-3, 4)), y2 = Math.Max(y1 + 2, anchors[4 * a + 3] + rng.Next(-3, 4));
            (boxes[4 * t], boxes[4 * t + 1], boxes[4 * t + 2], boxes[4 * t + 3]) = (x1, y1, x2, y2);
        }

        return boxes;
    }

    public static T[] Normal<T>(int n, double scale, Random rng)
        where T : IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = T.CreateTruncating(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return a;
    }

    public static T[] Convert<T>(double[] a)
        where T : IFloatingPointIeee754<T> => Array.ConvertAll(a, v => T.CreateTruncating(v));
}

public class FasterRcnnCriteriaTests
{
    /// <summary>
    /// The seed's simple form: cross_entropy(cls_score, labels) + smooth_l1(bbox_pred, bbox_targets). fastrcnn_loss is
    /// that with two differences: the box term takes each positive RoI's own-class deltas only (background RoIs add
    /// nothing), and it is summed and divided by all RoIs instead of averaged over elements. Composed from the library's
    /// CrossEntropyLoss and SmoothL1Loss the terms must agree to the last bits; on all-positive RoIs the box term is
    /// exactly 4 × the element mean of the simple form.
    /// </summary>
    [Fact]
    public void SeedSimpleForm_CrossEntropyPlusSmoothL1()
    {
        var rng = new Random(5);
        const int S = 40, C = 5;
        double[] logits = Scenes.Normal<double>(S * C, 2.0, rng), regression = Scenes.Normal<double>(S * 4 * C, 0.5, rng);
        double[] targets = Scenes.Normal<double>(S * 4, 0.5, rng);
        int[] labels = Enumerable.Range(0, S).Select(i => i % 3 == 0 ? 0 : 1 + rng.Next(C - 1)).ToArray();
        var loss = new FastRcnnLoss<double>();
        FastRcnnLossTerms<double> terms = loss.Forward(logits, regression, labels, targets, C);

        double ce = new CrossEntropyLoss<double>().Forward(logits, labels, S, C);
        var selected = new List<double>();
        var selectedTargets = new List<double>();
        for (int i = 0; i < S; i++)
        {
            if (labels[i] > 0)
            {
                selected.AddRange(regression.AsSpan((i * C + labels[i]) * 4, 4).ToArray());
                selectedTargets.AddRange(targets.AsSpan(i * 4, 4).ToArray());
            }
        }

        double box = new SmoothL1Loss<double>(Reduction.Sum, 1.0 / 9).Forward(selected.ToArray(), selectedTargets.ToArray()) / S;
        Assert.Equal(ce, terms.Classifier);
        Assert.Equal(box, terms.BoxRegression, 1e-15);
        Assert.Equal(ce + box, terms.Total, 1e-14);

        // All positive: the box term is 4 × the simple form's element mean (β = 1 here, the simple form's default).
        int[] positive = Enumerable.Range(0, S).Select(i => 1 + i % (C - 1)).ToArray();
        FastRcnnLossTerms<double> allPositive = new FastRcnnLoss<double>(beta: 1.0).Forward(logits, regression, positive, targets, C);
        var bboxPred = new double[S * 4];
        for (int i = 0; i < S; i++)
        {
            regression.AsSpan((i * C + positive[i]) * 4, 4).CopyTo(bboxPred.AsSpan(i * 4));
        }

        double simpleBox = new SmoothL1Loss<double>().Forward(bboxPred, targets);
        double simpleCe = new CrossEntropyLoss<double>().Forward(logits, positive, S, C);
        Assert.Equal(simpleCe, allPositive.Classifier);
        Assert.Equal(4 * simpleBox, allPositive.BoxRegression, 1e-14);
    }

    /// <summary>The full RPN path equals its stages: AssignTargets, the sampler with the per-image seeds, the loss stage.</summary>
    [Fact]
    public void Rpn_FullPath_EqualsStages_WithRealSampling()
    {
        var rng = new Random(17);
        double[] anchors = Scenes.Anchors(200, 8); // 625 centres × 6 = 3750 anchors, more negatives than sampled
        int a = anchors.Length / 4;
        int[] counts = [12, 0, 3];
        double[] gt = [.. Scenes.Truths(anchors, 12, rng), .. Scenes.Truths(anchors, 3, rng)];
        int n = counts.Length * a;
        double[] objectness = Scenes.Normal<double>(n, 2.0, rng), deltas = Scenes.Normal<double>(4 * n, 0.3, rng);
        var rpn = new RpnLoss<double>();
        var ws = new CriterionWorkspace<double>();
        var go = new double[n];
        var gd = new double[4 * n];
        const ulong Seed = 99;
        RpnLossTerms<double> full = rpn.ForwardBackward(objectness, deltas, anchors, gt, counts, go, gd, Seed, ws);

        var labels = new int[n];
        var targets = new double[4 * n];
        rpn.AssignTargets(anchors, gt, counts, labels, targets, ws);
        var selection = new SampleKind[n];
        for (int i = 0; i < counts.Length; i++)
        {
            SampleCounts c = rpn.Sampler.Sample(labels.AsSpan(i * a, a), selection.AsSpan(i * a, a), SplitMix64.ForImage(Seed, i));
            Assert.True(c.Positives <= 128 && c.Total <= 256);
            Assert.Equal(256, c.Total); // plenty of negatives in every image
        }

        var go2 = new double[n];
        var gd2 = new double[4 * n];
        RpnLossTerms<double> staged = rpn.ForwardBackwardFromTargets(objectness, deltas, labels, targets, selection, go2, gd2, ws);
        Assert.Equal(staged, full);
        Assert.Equal(go2, go);
        Assert.Equal(gd2, gd);

        // Gradients live exactly on the sampled anchors (objectness) and sampled positives (deltas).
        for (int k = 0; k < n; k++)
        {
            Assert.Equal(selection[k] != SampleKind.None, go[k] != 0);
            if (selection[k] != SampleKind.Positive)
            {
                Assert.True(gd.AsSpan(4 * k, 4).IndexOfAnyExcept(0.0) < 0);
            }
        }

        // Another seed draws another sample.
        RpnLossTerms<double> other = rpn.Forward(objectness, deltas, anchors, gt, counts, Seed + 1, ws);
        Assert.NotEqual(full.Objectness, other.Objectness);
        Assert.Equal(full, rpn.Forward(objectness, deltas, anchors, gt, counts, Seed));
    }

    /// <summary>RoI sampling with 2000 proposals: at most 512 per image, 25 % positive, labels from the matched ground truths.</summary>
    [Fact]
    public void Roi_SelectTrainingSamples_LargeInputs_Invariants()
    {
        var rng = new Random(23);
        double[] anchors = Scenes.Anchors(400, 16); // proposals: 625 × 6 = 3750 boxes, take 2000 per image
        int[] pCounts = [2000, 2000], gCounts = [20, 0];
        double[] proposals = [.. anchors.AsSpan(0, 8000), .. anchors.AsSpan(4000, 8000)];
        double[] gt = Scenes.Truths(anchors.AsSpan(0, 8000).ToArray(), 20, rng);
        int[] gtLabels = Enumerable.Range(0, 20).Select(_ => 1 + rng.Next(80)).ToArray();
        var roi = new FastRcnnLoss<double>();
        int capacity = roi.SampledCapacity(pCounts, gCounts);
        Assert.Equal(1024, capacity);
        var sp = new double[4 * capacity];
        var sl = new int[capacity];
        var st = new double[4 * capacity];
        var sc = new int[2];
        int s = roi.SelectTrainingSamples(proposals, pCounts, gt, gtLabels, gCounts, 81, sp, sl, st, sc, seed: 3);
        Assert.Equal(1024, s);
        Assert.Equal([512, 512], sc);
        int positives = sl.AsSpan(0, 512).ToArray().Count(l => l > 0);
        Assert.InRange(positives, 21, 128); // the ground truths themselves are candidates (IoU 1)
        Assert.All(sl.AsSpan(512, 512).ToArray(), l => Assert.Equal(0, l)); // no ground truth in image 1
        Assert.All(sl, l => Assert.InRange(l, 0, 80));

        // Positive RoIs decode back onto a ground truth of their class.
        var box = new double[4];
        for (int i = 0; i < 512; i++)
        {
            if (sl[i] == 0)
            {
                continue;
            }

            BoxCoder.RoiHeads.Decode<double>(st.AsSpan(4 * i, 4), sp.AsSpan(4 * i, 4), box);
            bool found = false;
            for (int t = 0; t < 20 && !found; t++)
            {
                found = gtLabels[t] == sl[i] && Enumerable.Range(0, 4).All(k => Math.Abs(box[k] - gt[4 * t + k]) < 1e-9);
            }

            Assert.True(found, $"RoI {i} does not decode onto a ground truth of class {sl[i]}");
        }

        // The head's loss on the sampled RoIs.
        double[] logits = Scenes.Normal<double>(s * 81, 1.0, rng), regression = Scenes.Normal<double>(s * 4 * 81, 0.3, rng);
        var gx = new double[logits.Length];
        var gr = new double[regression.Length];
        FastRcnnLossTerms<double> terms = roi.ForwardBackward(logits, regression, sl.AsSpan(0, s), st.AsSpan(0, 4 * s), 81, gx, gr);
        Assert.True(double.IsFinite(terms.Total));
        Assert.Equal(roi.Forward(logits, regression, sl.AsSpan(0, s), st.AsSpan(0, 4 * s), 81), terms);
    }

    /// <summary>Images without ground truths are valid: every anchor is background; the box term is 0.</summary>
    [Fact]
    public void Rpn_NoGroundTruths_OnlyNegatives()
    {
        double[] anchors = Scenes.Anchors(64, 16);
        int n = 2 * anchors.Length / 4;
        var rng = new Random(2);
        float[] objectness = Scenes.Normal<float>(n, 1.0, rng);
        float[] deltas = Scenes.Normal<float>(4 * n, 1.0, rng);
        var go = new float[n];
        var gd = new float[4 * n];
        RpnLossTerms<float> terms = new RpnLoss<float>().ForwardBackward(objectness, deltas, Scenes.Convert<float>(anchors), [], [0, 0], go, gd);
        Assert.Equal(0f, terms.BoxRegression);
        float expected = new BinaryCrossEntropyWithLogitsLoss<float>().Forward(objectness, new float[n]);
        Assert.Equal(expected, terms.Objectness, 1e-6f);
        Assert.All(gd, g => Assert.Equal(0f, g));
    }

    [Fact]
    public void BadInput_Throws_WithParameterName()
    {
        var rpn = new RpnLoss<double>();
        double[] anchors = Scenes.Anchors(32, 16);
        int a = anchors.Length / 4;
        var o = new double[a];
        var d = new double[4 * a];
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => rpn.Forward(o, d, anchors, [5, 5, 5, 9], [1]));
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => rpn.Forward(o, d, anchors, [5, 5, 4, 9], [1]));
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => rpn.Forward(o, d, anchors, [5, 5, double.NaN, 9], [1]));
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => rpn.Forward(o, d, anchors, [5, 5, 8, 9], [2]));
        LossChecks.Throws<ArgumentOutOfRangeException>("groundTruthCounts", () => rpn.Forward(o, d, anchors, [], [-1]));
        LossChecks.Throws<ArgumentException>("objectness", () => rpn.Forward(new double[a + 1], d, anchors, [], [0]));
        LossChecks.Throws<ArgumentException>("boxDeltas", () => rpn.Forward(o, new double[4 * a - 4], anchors, [], [0]));
        LossChecks.Throws<ArgumentException>("objectnessGradient", () => rpn.ForwardBackward(o, d, anchors, [], [0], new double[1], new double[4 * a]));
        LossChecks.Throws<ArgumentException>("selection", () =>
            rpn.ForwardFromTargets([0.0], [0, 0, 0, 0], [0], [0, 0, 0, 0], [SampleKind.Positive]));
        LossChecks.Throws<ArgumentException>("selection", () =>
            rpn.ForwardFromTargets([0.0], [0, 0, 0, 0], [1], [0, 0, 0, 0], [SampleKind.Negative]));

        var roi = new FastRcnnLoss<double>();
        LossChecks.Throws<ArgumentOutOfRangeException>("labels", () => roi.Forward(new double[6], new double[24], [0, 3], new double[8], 3));
        LossChecks.Throws<ArgumentOutOfRangeException>("labels", () => roi.Forward(new double[6], new double[24], [-1, 0], new double[8], 3));
        LossChecks.Throws<ArgumentException>("classLogits", () => roi.Forward(new double[5], new double[24], [0, 1], new double[8], 3));
        LossChecks.Throws<ArgumentException>("boxRegression", () => roi.Forward(new double[6], new double[8], [0, 1], new double[8], 3));
        LossChecks.Throws<ArgumentOutOfRangeException>("groundTruthLabels", () => roi.SelectTrainingSamples(
            [0.0, 0, 4, 4], [1], [0.0, 0, 4, 4], [3], [1], 3, new double[8], new int[2], new double[8], new int[1]));
        LossChecks.Throws<ArgumentException>("sampledProposals", () => roi.SelectTrainingSamples(
            [0.0, 0, 4, 4], [1], [0.0, 0, 4, 4], [1], [1], 3, new double[4], new int[2], new double[8], new int[1]));
        LossChecks.Throws<ArgumentOutOfRangeException>("beta", () => new RpnLoss<double>(beta: -1));
    }

    /// <summary>Fast R-CNN with nothing sampled: NaN terms (0/0, as torchvision), no throw.</summary>
    [Fact]
    public void FastRcnn_Empty_IsNaN()
    {
        FastRcnnLossTerms<float> t = new FastRcnnLoss<float>().ForwardBackward([], [], [], [], 4, [], []);
        Assert.True(float.IsNaN(t.Classifier) && float.IsNaN(t.BoxRegression));
    }
}

public class RetinaNetCriteriaTests
{
    [Fact]
    public void PriorBias_IsPaperValue()
    {
        Assert.Equal(-4.59511985013459, RetinaNetLoss<float>.PriorBias(), 1e-14);
        Assert.Equal(0.0, RetinaNetLoss<float>.PriorBias(0.5));
        LossChecks.Throws<ArgumentOutOfRangeException>("priorProbability", () => RetinaNetLoss<float>.PriorBias(1.0));
    }

    /// <summary>Ignored anchors (−2) get no gradient; background anchors a focal gradient towards 0; the normaliser is the
    /// foreground count.</summary>
    [Fact]
    public void IgnoredAnchors_NoGradient_AndNormaliser()
    {
        var rng = new Random(4);
        double[] anchors = Scenes.Anchors(64, 16);
        int a = anchors.Length / 4;
        const int C = 3;
        double[] gt = Scenes.Truths(anchors, 4, rng);
        int[] labels = [0, 1, 2, 1];
        double[] logits = Scenes.Normal<double>(a * C, 1.0, rng), regression = Scenes.Normal<double>(a * 4, 0.2, rng);
        var loss = new RetinaNetLoss<double>();
        var matches = new int[a];
        loss.MatchAnchors(anchors, gt, [4], matches);
        Assert.Contains(-2, matches);
        var gx = new double[logits.Length];
        var gr = new double[regression.Length];
        RetinaNetLossTerms<double> terms = loss.ForwardBackward(logits, regression, anchors, gt, labels, [4], C, gx, gr);
        int foreground = matches.Count(m => m >= 0);
        var focalSum = 0.0;
        var focal = new LossKit.Detection.SigmoidFocalLoss<double>(Reduction.None);
        var values = new double[C];
        for (int k = 0; k < a; k++)
        {
            bool ignored = matches[k] == -2;
            if (ignored)
            {
                Assert.True(gx.AsSpan(k * C, C).IndexOfAnyExcept(0.0) < 0);
                continue;
            }

            var t = new double[C];
            if (matches[k] >= 0)
            {
                t[labels[matches[k]]] = 1;
            }

            focalSum += focal.Forward(logits.AsSpan(k * C, C), t, values);
        }

        Assert.Equal(focalSum / Math.Max(1, foreground), terms.Classification, 1e-12);
    }

    [Fact]
    public void BadInput_Throws_WithParameterName()
    {
        var loss = new RetinaNetLoss<double>();
        double[] anchors = Scenes.Anchors(32, 16);
        int a = anchors.Length / 4;
        var x = new double[a * 3];
        var r = new double[a * 4];
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => loss.Forward(x, r, anchors, [4, 4, 2, 8], [0], [1], 3));
        LossChecks.Throws<ArgumentOutOfRangeException>("groundTruthLabels", () => loss.Forward(x, r, anchors, [0, 0, 4, 4], [3], [1], 3));
        LossChecks.Throws<ArgumentOutOfRangeException>("groundTruthLabels", () => loss.Forward(x, r, anchors, [0, 0, 4, 4], [-1], [1], 3));
        LossChecks.Throws<ArgumentException>("classLogits", () => loss.Forward(new double[a * 3 + 1], r, anchors, [], [], [0], 3));
        LossChecks.Throws<ArgumentException>("boxRegression", () => loss.Forward(x, new double[a], anchors, [], [], [0], 3));
        LossChecks.Throws<ArgumentException>("groundTruthLabels", () => loss.Forward(x, r, anchors, [0, 0, 4, 4], [], [1], 3));
        LossChecks.Throws<ArgumentOutOfRangeException>("matchedIndices", () =>
            loss.ForwardFromMatches(x, r, anchors, [0, 0, 4, 4], [0], [1], Enumerable.Repeat(1, a).ToArray(), 3));
        LossChecks.Throws<ArgumentOutOfRangeException>("boxLoss", () => new RetinaNetLoss<double>((BoxLossKind)9));
        LossChecks.Throws<ArgumentOutOfRangeException>("boxLoss", () => new RetinaNetLoss<double>(BoxLossKind.EfficientIoU));
        LossChecks.Throws<ArgumentOutOfRangeException>("ultralytics", () => new YoloV3Loss<double>(3, variant: YoloV3Variant.Ultralytics,
            ultralytics: new YoloV3UltralyticsOptions { BoxLossKind = BoxLossKind.L1 }));
        LossChecks.Throws<ArgumentOutOfRangeException>("alpha", () => new RetinaNetLoss<double>(alpha: 2));
    }
}

public class YoloV3CriteriaTests
{
    [Fact]
    public void Layout_StridesGridsAndMasks()
    {
        var loss = new YoloV3Loss<float>(80);
        Assert.Equal((13, 13), loss.GridSize(0));
        Assert.Equal((26, 26), loss.GridSize(1));
        Assert.Equal((52, 52), loss.GridSize(2));
        Assert.Equal([6, 7, 8], Enumerable.Range(0, 3).Select(s => YoloV3Loss<float>.AnchorIndex(0, s)));
        Assert.Equal([3, 4, 5], Enumerable.Range(0, 3).Select(s => YoloV3Loss<float>.AnchorIndex(1, s)));
        Assert.Equal([0, 1, 2], Enumerable.Range(0, 3).Select(s => YoloV3Loss<float>.AnchorIndex(2, s)));
        Assert.Equal(8 * 255 * 13 * 13, loss.OutputLength(0, 8));
        Assert.Equal(YoloV3Variant.Darknet, loss.Variant);
        Assert.Equal(0.7, loss.IgnoreThreshold);
        Assert.Equal(YoloV3Loss<float>.DarknetAnchors.ToArray(), loss.Anchors.ToArray());
    }

    /// <summary>darknet's deltas negated: the objectness gradient is (σ(o) − 1)/B on positive slots, σ(o)/B on counted
    /// negatives and 0 on ignored ones; x, y get scale·(σ − t)/B; w, h scale·(z − t)/B.</summary>
    [Fact]
    public void Darknet_GradientIsSigmoidMinusTarget()
    {
        CriteriaCase c = CriteriaGolden.Get("yolo/steered/darknet");
        YoloV3Loss<double> loss = CriteriaRunner.Yolo<double>(c);
        double[][] outputs = [c.In<double>("output0"), c.In<double>("output1"), c.In<double>("output2")];
        double[][] grads = [new double[outputs[0].Length], new double[outputs[1].Length], new double[outputs[2].Length]];
        int[] counts = c.InInts("gt_counts");
        loss.ForwardBackward(outputs[0], outputs[1], outputs[2], c.In<double>("gt_boxes"), c.InInts("gt_labels"), counts, grads[0], grads[1], grads[2]);
        int batch = counts.Length, entries = 5 + loss.Classes, zeros = 0, positives = 0;
        for (int layer = 0; layer < 3; layer++)
        {
            (int w, int h) = loss.GridSize(layer);
            int hw = w * h;
            for (int plane = 0; plane < batch * 3; plane++)
            {
                for (int k = 0; k < hw; k++)
                {
                    int o = (plane * entries + 4) * hw + k;
                    double sigma = 1 / (1 + Math.Exp(-outputs[layer][o]));
                    double g = grads[layer][o];
                    if (g == 0)
                    {
                        zeros++;
                    }
                    else if (Math.Abs(g - (sigma - 1) / batch) < 1e-15)
                    {
                        positives++;
                    }
                    else
                    {
                        Assert.Equal(sigma / batch, g, 1e-15);
                    }
                }
            }
        }

        // The generator counted slots with IoU > 0.7 (ignored unless they are positive slots).
        Assert.InRange(positives, 1, c.InInts("gt_labels").Length);
        Assert.InRange(zeros, c.Integer("ignored") - positives, c.Integer("ignored"));
        Assert.True(zeros > 0);
    }

    /// <summary>Gradients against central differences of Forward (double) on the golden inputs (decisions are at least
    /// 1e-4 from their thresholds there, far beyond the step). Darknet only: the ultralytics loss has detached terms (the
    /// objectness target is the IoU, CIoU's α) that a finite difference of the value would differentiate.</summary>
    [Theory]
    [InlineData("yolo/small_mixed/darknet")]
    [InlineData("yolo/crowded/darknet")]
    [InlineData("yolo/steered/darknet")]
    public void Gradient_MatchesFiniteDifferences(string name)
    {
        CriteriaCase c = CriteriaGolden.Get(name);
        YoloV3Loss<double> loss = CriteriaRunner.Yolo<double>(c);
        double[][] outputs = [c.In<double>("output0"), c.In<double>("output1"), c.In<double>("output2")];
        double[] gt = c.In<double>("gt_boxes");
        int[] labels = c.InInts("gt_labels"), counts = c.InInts("gt_counts");
        double[][] grads = [new double[outputs[0].Length], new double[outputs[1].Length], new double[outputs[2].Length]];
        loss.ForwardBackward(outputs[0], outputs[1], outputs[2], gt, labels, counts, grads[0], grads[1], grads[2]);
        var rng = new Random(1);
        for (int layer = 0; layer < 3; layer++)
        {
            // Every entry with a non-zero gradient (the interesting ones) plus a random sample of the rest.
            int[] picks = Enumerable.Range(0, outputs[layer].Length)
                .Where(i => grads[layer][i] != 0 && (i % 7 == 0 || Math.Abs(grads[layer][i]) > 0.05) || rng.Next(200) == 0).Take(300).ToArray();
            foreach (int i in picks)
            {
                double keep = outputs[layer][i], h = 1e-6;
                outputs[layer][i] = keep + h;
                double up = loss.Forward(outputs[0], outputs[1], outputs[2], gt, labels, counts).Total;
                outputs[layer][i] = keep - h;
                double down = loss.Forward(outputs[0], outputs[1], outputs[2], gt, labels, counts).Total;
                outputs[layer][i] = keep;
                double numeric = (up - down) / (2 * h);
                Assert.True(Math.Abs(numeric - grads[layer][i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                    $"{name} layer {layer} entry {i}: analytic {grads[layer][i]:R}, numeric {numeric:R}");
            }
        }
    }

    [Fact]
    public void BadInput_Throws_WithParameterName()
    {
        var loss = new YoloV3Loss<float>(3, 64, 64);
        float[] o0 = new float[loss.OutputLength(0, 1)], o1 = new float[loss.OutputLength(1, 1)], o2 = new float[loss.OutputLength(2, 1)];
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => loss.Forward(o0, o1, o2, [0.5f, 0.5f, 0f, 0.1f], [0], [1]));
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => loss.Forward(o0, o1, o2, [0.5f, 0.5f, 0.2f, -0.1f], [0], [1]));
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => loss.Forward(o0, o1, o2, [1.0f, 0.5f, 0.2f, 0.1f], [0], [1]));
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => loss.Forward(o0, o1, o2, [0.5f, float.NaN, 0.2f, 0.1f], [0], [1]));
        LossChecks.Throws<ArgumentOutOfRangeException>("groundTruthLabels", () => loss.Forward(o0, o1, o2, [0.5f, 0.5f, 0.2f, 0.1f], [3], [1]));
        LossChecks.Throws<ArgumentException>("output1", () => loss.Forward(o0, o0, o2, [], [], [0]));
        LossChecks.Throws<ArgumentException>("output0", () => loss.Forward(o0, o1, o2, [], [], [0, 0]));
        LossChecks.Throws<ArgumentException>("gradient2", () => loss.ForwardBackward(o0, o1, o2, [], [], [0], new float[o0.Length], new float[o1.Length], new float[3]));
        LossChecks.Throws<ArgumentOutOfRangeException>("inputWidth", () => new YoloV3Loss<float>(3, 100));
        LossChecks.Throws<ArgumentException>("anchors", () => new YoloV3Loss<float>(3, anchors: [1.0, 2.0]));
        LossChecks.Throws<ArgumentOutOfRangeException>("classes", () => new YoloV3Loss<float>(0));
        LossChecks.Throws<ArgumentOutOfRangeException>("ignoreThreshold", () => new YoloV3Loss<float>(3, ignoreThreshold: 1.5));
    }

    /// <summary>No ground truths in any image: only the objectness of every slot, towards 0.</summary>
    [Fact]
    public void NoGroundTruths_OnlyNegativeObjectness()
    {
        var loss = new YoloV3Loss<double>(2, 64, 64);
        var rng = new Random(9);
        double[][] o = [.. Enumerable.Range(0, 3).Select(l => Scenes.Normal<double>(loss.OutputLength(l, 2), 1.0, rng))];
        YoloV3LossTerms<double> t = loss.Forward(o[0], o[1], o[2], [], [], [0, 0]);
        Assert.Equal(0.0, t.Box);
        Assert.Equal(0.0, t.Classification);
        double expected = 0;
        var bce = new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.Sum);
        for (int layer = 0; layer < 3; layer++)
        {
            (int w, int h) = loss.GridSize(layer);
            for (int plane = 0; plane < 6; plane++)
            {
                expected += bce.Forward(o[layer].AsSpan((plane * 7 + 4) * w * h, w * h), new double[w * h]);
            }
        }

        Assert.Equal(expected / 2, t.Objectness, 1e-12);
    }
}

/// <summary>Results do not depend on the thread count, and a reused workspace makes the criteria allocation-free.</summary>
[Collection(GlobalSettingsCollection.Name)]
public class CriteriaThreadingAndAllocationTests
{
    private static (double[] Logits, double[] Regression, double[] Anchors, double[] Gt, int[] Labels) RetinaScene(int size, int classes)
    {
        var rng = new Random(31);
        double[] anchors = Scenes.Anchors(size, 8);
        int a = anchors.Length / 4;
        double[] gt = [.. Scenes.Truths(anchors, 20, rng), .. Scenes.Truths(anchors, 7, rng)];
        int[] labels = Enumerable.Range(0, 27).Select(_ => rng.Next(classes)).ToArray();
        return (Scenes.Normal<double>(2 * a * classes, 2.0, rng), Scenes.Normal<double>(2 * a * 4, 0.3, rng), anchors, gt, labels);
    }

    [Fact]
    public void RetinaNetAndYolo_ThreadCount_DoesNotChangeResults()
    {
        (double[] x, double[] r, double[] anchors, double[] gt, int[] labels) = RetinaScene(320, 20); // 1600 × 6 anchors × 20 classes × 2 images
        var retina = new RetinaNetLoss<double>(BoxLossKind.GIoU);
        var yolo = new YoloV3Loss<float>(20, 256, 256);
        var rng = new Random(8);
        float[][] o = [.. Enumerable.Range(0, 3).Select(l => Scenes.Normal<float>(yolo.OutputLength(l, 4), 1.0, rng))];
        float[] yoloGt = Enumerable.Range(0, 40).SelectMany(i => new[] { (float)rng.NextDouble() * 0.98f, (float)rng.NextDouble() * 0.98f, 0.05f + 0.3f * (float)rng.NextDouble(), 0.05f + 0.3f * (float)rng.NextDouble() }).ToArray();
        int[] yoloLabels = Enumerable.Range(0, 40).Select(_ => rng.Next(20)).ToArray();
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            var results = new List<(RetinaNetLossTerms<double>, double[], double[], YoloV3LossTerms<float>, float[])>();
            foreach (int threads in new[] { 1, Math.Max(2, Environment.ProcessorCount), 3 })
            {
                LossKitSettings.MaxDegreeOfParallelism = threads;
                var gx = new double[x.Length];
                var gr = new double[r.Length];
                RetinaNetLossTerms<double> t = retina.ForwardBackward(x, r, anchors, gt, labels, [20, 7], 20, gx, gr);
                float[] g0 = new float[o[0].Length], g1 = new float[o[1].Length], g2 = new float[o[2].Length];
                YoloV3LossTerms<float> y = yolo.ForwardBackward(o[0], o[1], o[2], yoloGt, yoloLabels, [10, 10, 20, 0], g0, g1, g2);
                results.Add((t, gx, gr, y, [.. g0, .. g1, .. g2]));
            }

            foreach (var res in results.Skip(1))
            {
                Assert.Equal(results[0].Item1, res.Item1);
                Assert.Equal(results[0].Item2, res.Item2);
                Assert.Equal(results[0].Item3, res.Item3);
                Assert.Equal(results[0].Item4, res.Item4);
                Assert.Equal(results[0].Item5, res.Item5);
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    /// <summary>With a reused workspace the second and later calls of every criterion allocate nothing.</summary>
    [Fact]
    public void ReusedWorkspace_SteadyStateAllocatesNothing()
    {
        (double[] x, double[] r, double[] anchors, double[] gt, int[] labels) = RetinaScene(160, 5);
        int a = anchors.Length / 4;
        var gx = new double[x.Length];
        var gr = new double[r.Length];
        var ws = new CriterionWorkspace<double>();
        var retina = new RetinaNetLoss<double>(BoxLossKind.CIoU);
        var rpn = new RpnLoss<double>();
        var roi = new FastRcnnLoss<double>();
        var yolo = new YoloV3Loss<double>(5, 128, 128);
        var yoloUltra = new YoloV3Loss<double>(5, 128, 128, variant: YoloV3Variant.Ultralytics);
        var rng = new Random(3);
        double[][] o = [.. Enumerable.Range(0, 3).Select(l => Scenes.Normal<double>(yolo.OutputLength(l, 2), 1.0, rng))];
        double[][] g = [new double[o[0].Length], new double[o[1].Length], new double[o[2].Length]];
        double[] yoloGt = [0.5, 0.5, 0.3, 0.2, 0.2, 0.7, 0.05, 0.1, 0.81, 0.33, 0.6, 0.5];
        int[] yoloLabels = [1, 4, 0];
        double[] obj = new double[2 * a], deltas = new double[8 * a], go = new double[2 * a], gd = new double[8 * a];
        int capacity = roi.SampledCapacity([a, a], [20, 7]);
        double[] sp = new double[4 * capacity], st = new double[4 * capacity];
        int[] sl = new int[capacity], sc = new int[2];
        double[] logits = new double[capacity * 5], regression = new double[capacity * 20];
        double[] glogits = new double[logits.Length], gregression = new double[regression.Length];
        int[] roiLabels = labels.Select(l => l % 4 + 1).ToArray();

        // Count arrays hoisted: a collection expression inside the lambdas allocates in a Debug build of the tests.
        int[] counts = [20, 7], halves = [a / 2, a / 2], yoloCounts = [2, 1];
        (string Name, Action Call)[] steps =
        [
            ("RetinaNet", () => retina.ForwardBackward(x, r, anchors, gt, labels, counts, 5, gx, gr, ws)),
            ("RPN", () => rpn.ForwardBackward(obj, deltas, anchors, gt, counts, go, gd, 1, ws)),
            ("RoI select + Fast R-CNN", () =>
            {
                int s = roi.SelectTrainingSamples(anchors, halves, gt, roiLabels, counts, 5, sp, sl, st, sc, 2, ws);
                roi.ForwardBackward(logits.AsSpan(0, s * 5), regression.AsSpan(0, s * 20), sl.AsSpan(0, s), st.AsSpan(0, 4 * s), 5,
                    glogits, gregression, ws);
            }),
            ("YOLOv3 darknet", () => yolo.ForwardBackward(o[0], o[1], o[2], yoloGt, yoloLabels, yoloCounts, g[0], g[1], g[2], ws)),
            ("YOLOv3 ultralytics", () => yoloUltra.ForwardBackward(o[0], o[1], o[2], yoloGt, yoloLabels, yoloCounts, g[0], g[1], g[2], ws)),
        ];

        // Counted on the calling thread with the kernels kept on it; the threaded path is covered by the benchmarks'
        // --alloc-check in its own process (process-wide counters also see the test host's background activity).
        SteadyStateAllocation.AssertNone(steps);
        Assert.True(ws.AllocatedBytes > 0);
    }
}
