using LossKit.Criteria;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>
/// The RPN criterion's contract beyond its golden values (run M: its argument checks, the clearing of the gradient
/// buffers, the parts given to its constructor and its Half path could all be removed with the criteria tests passing).
/// </summary>
public class RpnContractTests
{
    // Two images over 6 × 16 anchors, 3 and 2 ground truths.
    private static readonly double[] Anchors = Scenes.Anchors(64, 16);
    private static readonly int A = Anchors.Length / 4;
    private static readonly double[] Gt = [.. Scenes.Truths(Anchors, 3, new Random(1)), .. Scenes.Truths(Anchors, 2, new Random(2))];
    private static readonly int[] Counts = [3, 2];
    private static readonly double[] Objectness = Scenes.Normal<double>(2 * A, 1.5, new Random(3));
    private static readonly double[] Deltas = Scenes.Normal<double>(8 * A, 0.3, new Random(4));
    private static readonly RpnLoss<double> Loss = new();

    [Fact]
    public void AssignTargets_NamesEachBadArgument()
    {
        int[] labels = new int[2 * A];
        double[] targets = new double[8 * A];
        Loss.AssignTargets(Anchors, Gt, Counts, labels, targets); // the control
        LossChecks.ThrowsNaming("anchors", () => Loss.AssignTargets(Anchors[..^1], Gt, Counts, labels, targets), "not a multiple of 4");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => Loss.AssignTargets(Anchors, Gt[..^4], Counts, labels, targets), "4 per ground truth");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => Loss.AssignTargets(Anchors, [.. Gt[..^2], Gt[^4], Gt[^3]], Counts, labels, targets), "empty or inverted");
        LossChecks.ThrowsNaming("groundTruthCounts", () => Loss.AssignTargets(Anchors, Gt, [6, -1], labels, targets), "groundTruthCounts[1] = -1");
        LossChecks.ThrowsNaming("labels", () => Loss.AssignTargets(Anchors, Gt, Counts, labels[..^1], targets), $"needs {2 * A} elements");
        LossChecks.ThrowsNaming("regressionTargets", () => Loss.AssignTargets(Anchors, Gt, Counts, labels, targets[..^1]), $"needs {8 * A} elements");
    }

    [Fact]
    public void ForwardBackward_NamesEachBadArgument()
    {
        double[] go = new double[2 * A], gd = new double[8 * A];
        Loss.ForwardBackward(Objectness, Deltas, Anchors, Gt, Counts, go, gd); // the control
        LossChecks.ThrowsNaming("anchors", () => Loss.ForwardBackward(Objectness, Deltas, Anchors[..^1], Gt, Counts, go, gd), "not a multiple of 4");
        LossChecks.ThrowsNaming("objectness", () => Loss.ForwardBackward(Objectness[..^1], Deltas, Anchors, Gt, Counts, go, gd), "images × anchors");
        LossChecks.ThrowsNaming("boxDeltas", () => Loss.ForwardBackward(Objectness, Deltas[..^4], Anchors, Gt, Counts, go, gd), "images × anchors·4");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => Loss.ForwardBackward(Objectness, Deltas, Anchors, Gt[..^4], Counts, go, gd), "4 per ground truth");
        LossChecks.ThrowsNaming("objectnessGradient", () => Loss.ForwardBackward(Objectness, Deltas, Anchors, Gt, Counts, go[..^1], gd));
        LossChecks.ThrowsNaming("boxDeltasGradient", () => Loss.ForwardBackward(Objectness, Deltas, Anchors, Gt, Counts, go, gd[..^1]));
    }

    [Fact]
    public void FromTargets_NamesEachBadArgument()
    {
        int n = 5;
        double[] obj = Objectness[..n], deltas = Deltas[..(4 * n)], targets = Deltas[(4 * n)..(8 * n)];
        int[] labels = [1, 0, -1, 1, 0];
        SampleKind[] selection = [SampleKind.Positive, SampleKind.Negative, SampleKind.None, SampleKind.None, SampleKind.Negative];
        double[] go = new double[n], gd = new double[4 * n];
        Loss.ForwardBackwardFromTargets(obj, deltas, labels, targets, selection, go, gd); // the control
        Loss.ForwardFromTargets(obj, deltas, labels, targets, selection);
        LossChecks.ThrowsNaming("boxDeltas", () => Loss.ForwardFromTargets(obj, deltas[..^1], labels, targets, selection), "4 per objectness logit");
        LossChecks.ThrowsNaming("labels", () => Loss.ForwardFromTargets(obj, deltas, labels[..^1], targets, selection), "one per objectness logit");
        LossChecks.ThrowsNaming("regressionTargets", () => Loss.ForwardFromTargets(obj, deltas, labels, targets[..^1], selection), "4 per objectness logit");
        LossChecks.ThrowsNaming("selection", () => Loss.ForwardFromTargets(obj, deltas, labels, targets, selection[..^1]), "one per objectness logit");
        LossChecks.ThrowsNaming("objectnessGradient", () => Loss.ForwardBackwardFromTargets(obj, deltas, labels, targets, selection, go[..^1], gd));
        LossChecks.ThrowsNaming("boxDeltasGradient", () => Loss.ForwardBackwardFromTargets(obj, deltas, labels, targets, selection, go, gd[..^1]));
        LossChecks.ThrowsNaming("selection", () => Loss.ForwardFromTargets(obj, deltas, labels, targets,
            [SampleKind.Positive, SampleKind.Negative, SampleKind.None, SampleKind.None, SampleKind.Positive]), "selection[4] is Positive but labels[4] = 0");
        LossChecks.ThrowsNaming("selection", () => Loss.ForwardFromTargets(obj, deltas, labels, targets,
            [SampleKind.Negative, SampleKind.Negative, SampleKind.None, SampleKind.None, SampleKind.Negative]), "selection[0] is Negative but labels[0] = 1");
        LossChecks.Throws<ArgumentOutOfRangeException>("selection", () => Loss.ForwardFromTargets(obj, deltas, labels, targets,
            [SampleKind.Positive, SampleKind.Negative, (SampleKind)7, SampleKind.None, SampleKind.Negative]));
        Assert.Contains("selection[2] = 7 is not a SampleKind", Assert.ThrowsAny<ArgumentException>(() => Loss.ForwardFromTargets(obj, deltas, labels, targets,
            [SampleKind.Positive, SampleKind.Negative, (SampleKind)7, SampleKind.None, SampleKind.Negative])).Message);
    }

    [Fact]
    public void AssignTargets_ImageWithoutGroundTruths_IsAllBackground()
    {
        int[] labels = new int[2 * A];
        Array.Fill(labels, 7);
        var ws = new CriterionWorkspace<double>();
        Loss.AssignTargets(Anchors, Gt[..12], [3, 0], labels, new double[8 * A], ws);
        Assert.All(labels[A..], l => Assert.Equal(0, l));
        Assert.Contains(labels[..A], l => l == 1);
        Assert.True(ws.AllocatedBytes > 0); // the given workspace is the one used
        SampleKind[] selection = [.. labels.Select(l => l == 1 ? SampleKind.Positive : l == 0 ? SampleKind.Negative : SampleKind.None)];
        var fresh = new CriterionWorkspace<double>();
        Loss.ForwardFromTargets(Objectness, Deltas, labels, new double[8 * A], selection, fresh);
        Assert.True(fresh.AllocatedBytes > 0);
    }

    /// <summary>50 000 ground truths × 50 000 anchors (2.5·10⁹ IoUs) are refused before any work, naming the counts.</summary>
    [Fact]
    public void Forward_QualityMatrixTooLarge_NamesGroundTruthCounts()
    {
        const int n = 50_000;
        var boxes = new float[4 * n];
        for (int i = 0; i < n; i++)
        {
            (boxes[4 * i + 2], boxes[4 * i + 3]) = (1f, 1f);
        }

        LossChecks.ThrowsNaming("groundTruthCounts", () => new RpnLoss<float>().Forward(new float[n], new float[4 * n], boxes, boxes, [n]), "ground truths × anchors", "50000 × 50000");
        LossChecks.ThrowsNaming("groundTruthCounts", () => new RpnLoss<float>().AssignTargets(boxes, boxes, [n], [], []), "ground truths × anchors", "50000 × 50000");
    }

    /// <summary>
    /// Ground truths that are the anchors themselves: every anchor is a positive (IoU 1), and the sampler keeps all of
    /// them (96 per image, under its 128): the box term trains 2 × 96 anchors, gathered from both images.
    /// </summary>
    [Fact]
    public void EveryAnchorPositive_InTwoImages()
    {
        double[] gt = [.. Anchors, .. Anchors];
        double[] go = new double[2 * A], gd = new double[8 * A];
        Loss.ForwardBackward(Objectness, Deltas, Anchors, gt, [A, A], go, gd, 3);
        int trained = Enumerable.Range(0, 2 * A).Count(k => gd.AsSpan(4 * k, 4).IndexOfAnyExcept(0.0) >= 0);
        Assert.Equal(2 * A, trained);
        Assert.True(go.All(v => v != 0));
    }

    /// <summary>The gradients are written whole: what the buffers held before (NaN here) never shows through.</summary>
    [Fact]
    public void Gradients_OverwriteTheBuffers()
    {
        double[] go = new double[2 * A], gd = new double[8 * A], dirtyO = new double[2 * A], dirtyD = new double[8 * A];
        Array.Fill(dirtyO, double.NaN);
        Array.Fill(dirtyD, double.NaN);
        RpnLossTerms<double> clean = Loss.ForwardBackward(Objectness, Deltas, Anchors, Gt, Counts, go, gd, 5);
        Assert.Equal(clean, Loss.ForwardBackward(Objectness, Deltas, Anchors, Gt, Counts, dirtyO, dirtyD, 5));
        Assert.Equal(go, dirtyO);
        Assert.Equal(gd, dirtyD);
        Assert.Contains(go, v => v == 0); // anchors not sampled
        Assert.Contains(gd, v => v != 0);

        int[] labels = new int[2 * A];
        double[] targets = new double[8 * A];
        Loss.AssignTargets(Anchors, Gt, Counts, labels, targets);
        SampleKind[] selection = [.. labels.Select(l => l == 1 ? SampleKind.Positive : l == 0 ? SampleKind.Negative : SampleKind.None)];
        Array.Fill(dirtyO, double.NaN);
        Array.Fill(dirtyD, double.NaN);
        Loss.ForwardBackwardFromTargets(Objectness, Deltas, labels, targets, selection, go, gd);
        Loss.ForwardBackwardFromTargets(Objectness, Deltas, labels, targets, selection, dirtyO, dirtyD);
        Assert.Equal(go, dirtyO);
        Assert.Equal(gd, dirtyD);
    }

    /// <summary>Half computes in float32 and rounds the terms and gradients once (the library's narrow-type contract).</summary>
    [Fact]
    public void Half_IsTheFloat32CriterionRounded()
    {
        // Inputs exactly representable in Half, so both types see the same numbers.
        // Coordinates scaled off the integers, where Half arithmetic would round differently from float32 rounded once.
        double[] anchors = [.. Anchors.Select(v => (double)(Half)(1.37 * v))], gt = [.. Gt.Select(v => (double)(Half)(1.37 * v))];
        double[] obj = [.. Objectness.Select(v => (double)(Half)v)], deltas = [.. Deltas.Select(v => (double)(Half)v)];
        var single = new RpnLoss<float>();
        var half = new RpnLoss<Half>();
        var ws = new CriterionWorkspace<Half>();

        float[] gof = new float[2 * A], gdf = new float[8 * A];
        Half[] goh = new Half[2 * A], gdh = new Half[8 * A];
        RpnLossTerms<float> tf = single.ForwardBackward(HalfData.Floats(obj), HalfData.Floats(deltas), HalfData.Floats(anchors), HalfData.Floats(gt), Counts, gof, gdf, 9);
        RpnLossTerms<Half> th = half.ForwardBackward(HalfData.Halves(obj), HalfData.Halves(deltas), HalfData.Halves(anchors), HalfData.Halves(gt), Counts, goh, gdh, 9, ws);
        Assert.Equal((Half)tf.Objectness, th.Objectness);
        Assert.Equal((Half)tf.BoxRegression, th.BoxRegression);
        Assert.Equal(HalfData.Rounded(gof), goh);
        Assert.Equal(HalfData.Rounded(gdf), gdh);
        Assert.Equal(th, half.Forward(HalfData.Halves(obj), HalfData.Halves(deltas), HalfData.Halves(anchors), HalfData.Halves(gt), Counts, 9, ws));

        int[] lf = new int[2 * A], lh = new int[2 * A];
        float[] rf = new float[8 * A];
        Half[] rh = new Half[8 * A];
        single.AssignTargets(HalfData.Floats(anchors), HalfData.Floats(gt), Counts, lf, rf);
        half.AssignTargets(HalfData.Halves(anchors), HalfData.Halves(gt), Counts, lh, rh, ws);
        Assert.Equal(lf, lh);
        Assert.Equal(HalfData.Rounded(rf), rh);

        SampleKind[] selection = [.. lf.Select(l => l == 1 ? SampleKind.Positive : l == 0 ? SampleKind.Negative : SampleKind.None)];
        double[] targets = [.. rf.Select(v => (double)(Half)v)];
        tf = single.ForwardBackwardFromTargets(HalfData.Floats(obj), HalfData.Floats(deltas), lf, HalfData.Floats(targets), selection, gof, gdf);
        th = half.ForwardBackwardFromTargets(HalfData.Halves(obj), HalfData.Halves(deltas), lh, HalfData.Halves(targets), selection, goh, gdh, ws);
        Assert.Equal((Half)tf.Objectness, th.Objectness);
        Assert.Equal((Half)tf.BoxRegression, th.BoxRegression);
        Assert.Equal(HalfData.Rounded(gof), goh);
        Assert.Equal(HalfData.Rounded(gdf), gdh);
        Assert.Equal(th, half.ForwardFromTargets(HalfData.Halves(obj), HalfData.Halves(deltas), lh, HalfData.Halves(targets), selection, ws));
    }
}
