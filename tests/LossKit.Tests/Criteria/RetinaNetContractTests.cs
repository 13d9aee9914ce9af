using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>
/// The RetinaNet criterion's contract beyond its golden values (run M: its argument checks, the use of given matches,
/// the clearing of the box gradient, the parts given to its constructor and its Half path could all be removed with the
/// criteria tests passing).
/// </summary>
public class RetinaNetContractTests
{
    private const int C = 3;
    private static readonly double[] Anchors = Scenes.Anchors(64, 16);
    private static readonly int A = Anchors.Length / 4;
    private static readonly double[] Gt = [.. Scenes.Truths(Anchors, 3, new Random(1)), .. Scenes.Truths(Anchors, 2, new Random(2))];
    private static readonly int[] Counts = [3, 2], Labels = [0, 2, 1, 1, 0];
    private static readonly double[] Logits = Scenes.Normal<double>(2 * A * C, 1.5, new Random(3));
    private static readonly double[] Deltas = Scenes.Normal<double>(8 * A, 0.3, new Random(4));

    public static TheoryData<BoxLossKind> Kinds => [BoxLossKind.L1, BoxLossKind.SmoothL1, BoxLossKind.GIoU];

    [Fact]
    public void Constructor_KeepsTheGivenPartsAndRefusesAnUnknownBoxLoss()
    {
        var matcher = new Matcher(0.6, 0.3, false);
        var coder = new BoxCoder(2, 2, 1, 1);
        var loss = new RetinaNetLoss<double>(BoxLossKind.SmoothL1, 0.5, 1.5, 0.2, 1e-6, matcher, coder);
        Assert.Same(matcher, loss.Matcher);
        Assert.Same(coder, loss.BoxCoder);
        (BoxLossKind kind, double alpha, double gamma, double beta, double eps) = (loss.BoxLossKind, loss.Alpha, loss.Gamma, loss.Beta, loss.Eps);
        Assert.Equal((BoxLossKind.SmoothL1, 0.5, 1.5, 0.2, 1e-6), (kind, alpha, gamma, beta, eps));
        var defaults = new RetinaNetLoss<double>();
        Assert.Same(Matcher.RetinaNet, defaults.Matcher);
        Assert.Same(BoxCoder.Unit, defaults.BoxCoder);
        LossChecks.Throws<ArgumentOutOfRangeException>("boxLoss", () => new RetinaNetLoss<double>((BoxLossKind)99));
        Assert.Contains("L1, SmoothL1, GIoU, DIoU or CIoU", Assert.ThrowsAny<ArgumentException>(() => new RetinaNetLoss<double>((BoxLossKind)99)).Message);
    }

    [Fact]
    public void PriorBias_IsThePapersInitialisationOnTheOpenInterval()
    {
        Assert.Equal(-Math.Log(99), RetinaNetLoss<double>.PriorBias(), 1e-15); // −ln((1 − 0.01) / 0.01)
        Assert.Equal(0.0, RetinaNetLoss<double>.PriorBias(0.5));
        foreach (double bad in new[] { 0.0, 1.0, -0.1, double.NaN })
        {
            LossChecks.ThrowsNaming("priorProbability", () => RetinaNetLoss<double>.PriorBias(bad), "(0, 1)", $"got {bad}");
        }
    }

    [Fact]
    public void MatchAnchors_NamesEachBadArgument()
    {
        var loss = new RetinaNetLoss<double>();
        int[] matches = new int[2 * A];
        var ws = new CriterionWorkspace<double>();
        loss.MatchAnchors(Anchors, Gt, Counts, matches, ws); // the control
        Assert.True(ws.AllocatedBytes > 0); // the given workspace is the one used
        LossChecks.ThrowsNaming("anchors", () => loss.MatchAnchors(Anchors[..^2], Gt, Counts, matches), "not a multiple of 4");
        LossChecks.ThrowsNaming("groundTruthCounts", () => loss.MatchAnchors(Anchors, Gt, [-1, 6], matches), "groundTruthCounts[0] = -1");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.MatchAnchors(Anchors, Gt[..^4], Counts, matches), "4 per ground truth");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.MatchAnchors(Anchors, [.. Gt[..^1], double.NaN], Counts, matches), "NaN or infinite");
        LossChecks.ThrowsNaming("matchedIndices", () => loss.MatchAnchors(Anchors, Gt, Counts, matches[..^1]), $"needs {2 * A} elements");
    }

    [Fact]
    public void ForwardBackward_NamesEachBadArgument()
    {
        var loss = new RetinaNetLoss<double>();
        double[] gl = new double[Logits.Length], gd = new double[Deltas.Length];
        loss.ForwardBackward(Logits, Deltas, Anchors, Gt, Labels, Counts, C, gl, gd); // the control
        LossChecks.ThrowsNaming("classes", () => loss.Forward(Logits, Deltas, Anchors, Gt, Labels, Counts, 0), ">= 1, got 0");
        LossChecks.ThrowsNaming("anchors", () => loss.Forward(Logits, Deltas, Anchors[..^1], Gt, Labels, Counts, C), "not a multiple of 4");
        LossChecks.ThrowsNaming("groundTruthCounts", () => loss.Forward(Logits, Deltas, Anchors, Gt, Labels, [6, -1], C), "groundTruthCounts[1] = -1");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(Logits, Deltas, Anchors, Gt[..^4], Labels, Counts, C), "4 per ground truth");
        LossChecks.ThrowsNaming("groundTruthLabels", () => loss.Forward(Logits, Deltas, Anchors, Gt, Labels[..^1], Counts, C), "one per ground truth");
        LossChecks.ThrowsNaming("classLogits", () => loss.Forward(Logits[..^1], Deltas, Anchors, Gt, Labels, Counts, C), "images·anchors × classes");
        LossChecks.ThrowsNaming("boxRegression", () => loss.Forward(Logits, Deltas[..^4], Anchors, Gt, Labels, Counts, C), "images·anchors × 4");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => loss.Forward(Logits, Deltas, Anchors, [.. Gt[..^2], Gt[^4], Gt[^3]], Labels, Counts, C), "empty or inverted");
        LossChecks.ThrowsNaming("groundTruthLabels", () => loss.Forward(Logits, Deltas, Anchors, Gt, [0, 2, 1, 3, 0], Counts, C), "groundTruthLabels[3] = 3");
        LossChecks.ThrowsNaming("classLogitsGradient", () => loss.ForwardBackward(Logits, Deltas, Anchors, Gt, Labels, Counts, C, gl[..^1], gd));
        LossChecks.ThrowsNaming("boxRegressionGradient", () => loss.ForwardBackward(Logits, Deltas, Anchors, Gt, Labels, Counts, C, gl, gd[..^1]));

        int[] matches = new int[2 * A];
        loss.MatchAnchors(Anchors, Gt, Counts, matches);
        LossChecks.ThrowsNaming("matchedIndices", () => loss.ForwardFromMatches(Logits, Deltas, Anchors, Gt, Labels, Counts, matches[..^1], C), "images × anchors");
        int[] bad = [.. matches];
        bad[A + 5] = 2; // image 1 has two ground truths
        LossChecks.Throws<ArgumentOutOfRangeException>("matchedIndices", () => loss.ForwardFromMatches(Logits, Deltas, Anchors, Gt, Labels, Counts, bad, C));
        Assert.Contains($"matchedIndices[{A + 5}] = 2: image 1 has 2 ground truths",
            Assert.ThrowsAny<ArgumentException>(() => loss.ForwardFromMatches(Logits, Deltas, Anchors, Gt, Labels, Counts, bad, C)).Message);
        bad[A + 5] = -3;
        LossChecks.Throws<ArgumentOutOfRangeException>("matchedIndices", () => loss.ForwardFromMatches(Logits, Deltas, Anchors, Gt, Labels, Counts, bad, C));
    }

    /// <summary>Given matches are used as given: all ignored (−2) leaves nothing to learn, whatever the matcher would say.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void FromMatches_UsesTheGivenMatches(BoxLossKind kind)
    {
        var loss = new RetinaNetLoss<double>(kind);
        int[] ignored = new int[2 * A];
        Array.Fill(ignored, Matcher.BetweenThresholds);
        double[] gl = new double[Logits.Length], gd = new double[Deltas.Length];
        Assert.Equal(new RetinaNetLossTerms<double>(0, 0), loss.ForwardFromMatches(Logits, Deltas, Anchors, Gt, Labels, Counts, ignored, C));
        Assert.Equal(new RetinaNetLossTerms<double>(0, 0), loss.ForwardBackwardFromMatches(Logits, Deltas, Anchors, Gt, Labels, Counts, ignored, C, gl, gd));
        Assert.All(gl, g => Assert.Equal(0, g));
        Assert.All(gd, g => Assert.Equal(0, g));
        RetinaNetLossTerms<double> matched = loss.Forward(Logits, Deltas, Anchors, Gt, Labels, Counts, C);
        Assert.True(matched.Classification > 0 && matched.BoxRegression > 0);

        // Given the matcher's own matches, the loss stage is the whole criterion, gradients included.
        int[] own = new int[2 * A];
        loss.MatchAnchors(Anchors, Gt, Counts, own);
        double[] gl2 = new double[Logits.Length], gd2 = new double[Deltas.Length];
        Assert.Equal(loss.ForwardBackward(Logits, Deltas, Anchors, Gt, Labels, Counts, C, gl, gd),
            loss.ForwardBackwardFromMatches(Logits, Deltas, Anchors, Gt, Labels, Counts, own, C, gl2, gd2));
        Assert.Equal(gl, gl2);
        Assert.Equal(gd, gd2);
        Assert.Contains(gd2, v => v != 0);
    }

    /// <summary>
    /// With matches given no IoU matrix is built, so its size is not checked: 50 000 ground truths × 50 000 anchors
    /// (2.5·10⁹ IoUs) is refused when matching and accepted with given matches.
    /// </summary>
    [Fact]
    public void FromMatches_NeedsNoQualityMatrix()
    {
        const int n = 50_000;
        var boxes = new float[4 * n];
        for (int i = 0; i < n; i++)
        {
            (boxes[4 * i + 2], boxes[4 * i + 3]) = (1f, 1f);
        }

        var loss = new RetinaNetLoss<float>();
        float[] logits = new float[n], deltas = new float[4 * n];
        int[] labels = new int[n], background = new int[n];
        Array.Fill(background, Matcher.BelowLowThreshold);
        LossChecks.ThrowsNaming("groundTruthCounts", () => loss.Forward(logits, deltas, boxes, boxes, labels, [n], 1), "ground truths × anchors", "50000 × 50000");
        LossChecks.ThrowsNaming("groundTruthCounts", () => loss.MatchAnchors(boxes, boxes, [n], new int[n]), "ground truths × anchors", "50000 × 50000");
        RetinaNetLossTerms<float> t = loss.ForwardFromMatches(logits, deltas, boxes, boxes, labels, [n], background, 1);
        Assert.Equal(0f, t.BoxRegression);
        Assert.True(float.IsFinite(t.Classification) && t.Classification > 0);
    }

    /// <summary>The box gradient is written whole: NaN left in the buffers never shows through.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Gradients_OverwriteTheBuffers(BoxLossKind kind)
    {
        var loss = new RetinaNetLoss<double>(kind);
        double[] gl = new double[Logits.Length], gd = new double[Deltas.Length], dirtyL = new double[Logits.Length], dirtyD = new double[Deltas.Length];
        Array.Fill(dirtyL, double.NaN);
        Array.Fill(dirtyD, double.NaN);
        RetinaNetLossTerms<double> clean = loss.ForwardBackward(Logits, Deltas, Anchors, Gt, Labels, Counts, C, gl, gd);
        Assert.Equal(clean, loss.ForwardBackward(Logits, Deltas, Anchors, Gt, Labels, Counts, C, dirtyL, dirtyD));
        Assert.Equal(gl, dirtyL);
        Assert.Equal(gd, dirtyD);
        Assert.Contains(gd, v => v == 0); // background anchors
        Assert.Contains(gd, v => v != 0);
    }

    [Fact]
    public void NoImages_GiveZeroTerms()
    {
        var loss = new RetinaNetLoss<double>();
        Assert.Equal(new RetinaNetLossTerms<double>(0, 0), loss.Forward([], [], Anchors, [], [], [], C));
        Assert.Equal(new RetinaNetLossTerms<double>(0, 0), loss.ForwardBackward([], [], Anchors, [], [], [], C, [], []));
    }

    /// <summary>Half computes in float32 and rounds the terms and gradients once (the library's narrow-type contract).</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Half_IsTheFloat32CriterionRounded(BoxLossKind kind)
    {
        var single = new RetinaNetLoss<float>(kind);
        var half = new RetinaNetLoss<Half>(kind);
        var ws = new CriterionWorkspace<Half>();
        float[] glf = new float[Logits.Length], gdf = new float[Deltas.Length];
        Half[] glh = new Half[Logits.Length], gdh = new Half[Deltas.Length];
        RetinaNetLossTerms<float> tf = single.ForwardBackward(HalfData.Floats(Logits), HalfData.Floats(Deltas), HalfData.Floats(Anchors), HalfData.Floats(Gt), Labels, Counts, C, glf, gdf);
        RetinaNetLossTerms<Half> th = half.ForwardBackward(HalfData.Halves(Logits), HalfData.Halves(Deltas), HalfData.Halves(Anchors), HalfData.Halves(Gt), Labels, Counts, C, glh, gdh, ws);
        Assert.Equal(((Half)tf.Classification, (Half)tf.BoxRegression), (th.Classification, th.BoxRegression));
        Assert.Equal(HalfData.Rounded(glf), glh);
        Assert.Equal(HalfData.Rounded(gdf), gdh);
        Assert.Equal(th, half.Forward(HalfData.Halves(Logits), HalfData.Halves(Deltas), HalfData.Halves(Anchors), HalfData.Halves(Gt), Labels, Counts, C, ws));

        int[] mf = new int[2 * A], mh = new int[2 * A];
        single.MatchAnchors(HalfData.Floats(Anchors), HalfData.Floats(Gt), Counts, mf);
        half.MatchAnchors(HalfData.Halves(Anchors), HalfData.Halves(Gt), Counts, mh, ws);
        Assert.Equal(mf, mh);
        mh[3] = mh[A + 3] = Matcher.BetweenThresholds; // matches of the caller's own
        tf = single.ForwardBackwardFromMatches(HalfData.Floats(Logits), HalfData.Floats(Deltas), HalfData.Floats(Anchors), HalfData.Floats(Gt), Labels, Counts, mh, C, glf, gdf);
        th = half.ForwardBackwardFromMatches(HalfData.Halves(Logits), HalfData.Halves(Deltas), HalfData.Halves(Anchors), HalfData.Halves(Gt), Labels, Counts, mh, C, glh, gdh, ws);
        Assert.Equal(((Half)tf.Classification, (Half)tf.BoxRegression), (th.Classification, th.BoxRegression));
        Assert.Equal(HalfData.Rounded(glf), glh);
        Assert.Equal(HalfData.Rounded(gdf), gdh);
        Assert.Equal(th, half.ForwardFromMatches(HalfData.Halves(Logits), HalfData.Halves(Deltas), HalfData.Halves(Anchors), HalfData.Halves(Gt), Labels, Counts, mh, C, ws));
        Assert.True(ws.AllocatedBytes > 0);
    }
}
