using LossKit.Criteria;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>
/// The Fast R-CNN criterion's argument checks name the parameter and what it expected (run M: removing any of them
/// passed the criteria tests, which call it only with well-formed buffers).
/// </summary>
public class FastRcnnContractTests
{
    private static readonly FastRcnnLoss<double> Loss = new();

    // One image: two proposals, one ground truth of class 1 (three classes with background).
    private static readonly double[] Proposals = [0, 0, 10, 10, 5, 5, 20, 20], GtBoxes = [1, 1, 11, 11];
    private static readonly int[] ProposalCounts = [2], GtLabels = [1], GtCounts = [1];

    [Fact]
    public void SelectTrainingSamples_NamesEachBadArgument()
    {
        double[] sp = new double[64], rt = new double[64];
        int[] sl = new int[16], sc = new int[1];
        int Select(double[]? proposals = null, int[]? gtCounts = null, double[]? gtBoxes = null, int[]? gtLabels = null, int classes = 3,
            double[]? sampledProposals = null, int[]? sampledLabels = null, double[]? targets = null, int[]? counts = null) =>
            Loss.SelectTrainingSamples(proposals ?? Proposals, ProposalCounts, gtBoxes ?? GtBoxes, gtLabels ?? GtLabels, gtCounts ?? GtCounts, classes,
                sampledProposals ?? sp, sampledLabels ?? sl, targets ?? rt, counts ?? sc);

        Assert.Equal(3, Select()); // the control: the two proposals and the ground truth appended to them
        Assert.Equal(3, sc[0]);
        LossChecks.ThrowsNaming("classes", () => Select(classes: 0));
        LossChecks.ThrowsNaming("groundTruthCounts", () => Select(gtCounts: [1, 0]), "one count per image, like proposalCounts");
        LossChecks.ThrowsNaming("proposals", () => Select(proposals: Proposals[..7]), "4 per proposal");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => Select(gtBoxes: GtBoxes[..3]), "4 per ground truth");
        LossChecks.ThrowsNaming("groundTruthLabels", () => Select(gtLabels: []), "one per ground truth");
        LossChecks.ThrowsNaming("groundTruthBoxes", () => Select(gtBoxes: [1, 1, 1, 11]), "empty or inverted");
        // 30 000 ground truths × (41 590 proposals + themselves) = 2.1·10⁹ IoUs: refused before any work.
        var many = new double[4 * 30_000];
        for (int i = 0; i < 30_000; i++)
        {
            (many[4 * i + 2], many[4 * i + 3]) = (1, 1);
        }

        LossChecks.ThrowsNaming("groundTruthCounts", () => Loss.SelectTrainingSamples(new double[4 * 41_590], [41_590], many, new int[30_000], [30_000], 3,
            sp, sl, rt, sc), "ground truths × candidates", "30000 × 71590");
        LossChecks.ThrowsNaming("sampledProposals", () => Select(sampledProposals: new double[11]));
        LossChecks.ThrowsNaming("sampledLabels", () => Select(sampledLabels: new int[2]));
        LossChecks.ThrowsNaming("regressionTargets", () => Select(targets: new double[11]));
        LossChecks.ThrowsNaming("sampledCounts", () => Select(counts: []));
    }

    [Fact]
    public void ForwardBackward_NamesEachBadArgument()
    {
        const int s = 3, c = 3;
        var rng = new Random(4);
        double[] logits = [.. Enumerable.Range(0, s * c).Select(_ => rng.NextDouble())], box = [.. Enumerable.Range(0, s * 4 * c).Select(_ => rng.NextDouble())];
        double[] targets = [.. Enumerable.Range(0, s * 4).Select(_ => rng.NextDouble())];
        int[] labels = [1, 0, 2];
        double[] gl = new double[s * c], gb = new double[s * 4 * c];
        Loss.ForwardBackward(logits, box, labels, targets, c, gl, gb); // the control
        LossChecks.ThrowsNaming("classes", () => Loss.ForwardBackward(logits, box, labels, targets, 0, gl, gb));
        LossChecks.ThrowsNaming("regressionTargets", () => Loss.ForwardBackward(logits, box, labels, targets[..11], c, gl, gb), "4 per RoI");
        LossChecks.ThrowsNaming("classLogits", () => Loss.ForwardBackward(logits[..8], box, labels, targets, c, gl, gb), "RoIs × classes");
        LossChecks.ThrowsNaming("boxRegression", () => Loss.ForwardBackward(logits, box[..35], labels, targets, c, gl, gb), "RoIs × classes·4");
        LossChecks.ThrowsNaming("classLogitsGradient", () => Loss.ForwardBackward(logits, box, labels, targets, c, gl[..8], gb));
        LossChecks.ThrowsNaming("boxRegressionGradient", () => Loss.ForwardBackward(logits, box, labels, targets, c, gl, gb[..35]));
    }

    [Fact]
    public void SampledCapacity_IsTheSumOfTheCappedImageCounts()
    {
        Assert.Equal(4 + 512, Loss.SampledCapacity([3, 600], [1, 2])); // Σ min(Pᵢ + Gᵢ, 512)
        Assert.Equal(0, Loss.SampledCapacity([], []));
        LossChecks.ThrowsNaming("groundTruthCounts", () => Loss.SampledCapacity([3, 4], [1]), "one count per image");
        LossChecks.ThrowsNaming("proposalCounts", () => Loss.SampledCapacity([3, -4], [1, 1]), "proposalCounts[1] = -4");
        LossChecks.ThrowsNaming("groundTruthCounts", () => Loss.SampledCapacity([3, 4], [1, -1]), "groundTruthCounts[1] = -1");
    }

    /// <summary>
    /// Matcher (0.7, 0.3): a proposal whose best IoU lies between the thresholds is ignored (never sampled), one below
    /// 0.3 is background, one at or above 0.7 takes its ground truth's class; an image without ground truths samples
    /// background only.
    /// </summary>
    [Fact]
    public void SelectTrainingSamples_LabelsByThresholdAndImage()
    {
        var loss = new FastRcnnLoss<double>(new Matcher(0.7, 0.3, false), new BalancedPositiveNegativeSampler(64, 0.5));
        // Image 0: ground truth (0, 0, 10, 10) class 2; proposals with IoU 0.81, 0.5 and 0 with it. Image 1: no ground truth.
        double[] proposals = [0, 0, 9, 9, 0, 0, 10, 5, 50, 50, 60, 60, 1, 1, 5, 5, 20, 20, 30, 30];
        int[] proposalCounts = [3, 2];
        int capacity = loss.SampledCapacity(proposalCounts, [1, 0]);
        double[] sp = new double[4 * capacity], st = new double[4 * capacity];
        int[] sl = new int[capacity], sc = new int[2];
        Array.Fill(sl, 99);
        int s = loss.SelectTrainingSamples(proposals, proposalCounts, [0, 0, 10, 10], [2], [1, 0], 3, sp, sl, st, sc, 7);
        Assert.Equal([3, 2], sc); // image 0: the 0.81 proposal, the background one and the ground truth itself
        Assert.Equal(5, s);
        var image0 = Enumerable.Range(0, 3).Select(j => (sl[j], sp[4 * j], sp[4 * j + 2])).OrderBy(t => t.Item3).ToArray();
        Assert.Equal([(2, 0.0, 9.0), (2, 0.0, 10.0), (0, 50.0, 60.0)], image0);
        Assert.Equal([0, 0], sl[3..5]);
    }

    /// <summary>The box gradient is written whole: NaN left in the buffers never shows through.</summary>
    [Fact]
    public void Gradients_OverwriteTheBuffers()
    {
        const int s = 4, c = 3;
        var rng = new Random(9);
        double[] logits = [.. Enumerable.Range(0, s * c).Select(_ => rng.NextDouble())], box = [.. Enumerable.Range(0, s * 4 * c).Select(_ => rng.NextDouble())];
        double[] targets = [.. Enumerable.Range(0, s * 4).Select(_ => rng.NextDouble())];
        int[] labels = [1, 0, 2, 0];
        double[] gl = new double[s * c], gb = new double[s * 4 * c], dl = new double[s * c], db = new double[s * 4 * c];
        Array.Fill(dl, double.NaN);
        Array.Fill(db, double.NaN);
        FastRcnnLossTerms<double> clean = Loss.ForwardBackward(logits, box, labels, targets, c, gl, gb);
        Assert.Equal(clean, Loss.ForwardBackward(logits, box, labels, targets, c, dl, db));
        Assert.Equal(gl, dl);
        Assert.Equal(gb, db);
        Assert.Contains(gb, v => v == 0);
        Assert.Contains(gb, v => v != 0);
    }

    /// <summary>Half computes in float32 and rounds the outputs once (the library's narrow-type contract).</summary>
    [Fact]
    public void Half_IsTheFloat32CriterionRounded()
    {
        double[] anchors = Scenes.Anchors(64, 16);
        int a = anchors.Length / 4;
        var rng = new Random(12);
        double[] proposals = [.. anchors.Select(v => (double)(Half)(1.37 * v))];
        double[] gt = [.. Scenes.Truths(anchors, 5, rng).Select(v => (double)(Half)(1.37 * v))];
        int[] pc = [a / 2, a - a / 2], gc = [3, 2], gl = [1, 2, 1, 3, 2];
        var single = new FastRcnnLoss<float>();
        var half = new FastRcnnLoss<Half>();
        var ws = new CriterionWorkspace<Half>();
        int capacity = single.SampledCapacity(pc, gc);
        float[] spf = new float[4 * capacity], stf = new float[4 * capacity];
        Half[] sph = new Half[4 * capacity], sth = new Half[4 * capacity];
        int[] slf = new int[capacity], slh = new int[capacity], scf = new int[2], sch = new int[2];
        int sf = single.SelectTrainingSamples(HalfData.Floats(proposals), pc, HalfData.Floats(gt), gl, gc, 4, spf, slf, stf, scf, 3);
        int sh = half.SelectTrainingSamples(HalfData.Halves(proposals), pc, HalfData.Halves(gt), gl, gc, 4, sph, slh, sth, sch, 3, ws);
        Assert.Equal(sf, sh);
        Assert.Equal(scf, sch);
        Assert.Equal(slf, slh);
        Assert.Equal(HalfData.Rounded(spf[..(4 * sf)]), sph[..(4 * sh)]);
        Assert.Equal(HalfData.Rounded(stf[..(4 * sf)]), sth[..(4 * sh)]);

        double[] logits = Scenes.Normal<double>(sf * 4, 1.0, rng), box = Scenes.Normal<double>(sf * 16, 0.3, rng);
        double[] targets = [.. stf[..(4 * sf)].Select(v => (double)(Half)v)];
        logits = [.. logits.Select(v => (double)(Half)v)];
        box = [.. box.Select(v => (double)(Half)v)];
        float[] glf = new float[logits.Length], gbf = new float[box.Length];
        Half[] glh = new Half[logits.Length], gbh = new Half[box.Length];
        FastRcnnLossTerms<float> tf = single.ForwardBackward(HalfData.Floats(logits), HalfData.Floats(box), slf[..sf], HalfData.Floats(targets), 4, glf, gbf);
        FastRcnnLossTerms<Half> th = half.ForwardBackward(HalfData.Halves(logits), HalfData.Halves(box), slh[..sh], HalfData.Halves(targets), 4, glh, gbh, ws);
        Assert.Equal(((Half)tf.Classifier, (Half)tf.BoxRegression), (th.Classifier, th.BoxRegression));
        Assert.Equal(HalfData.Rounded(glf), glh);
        Assert.Equal(HalfData.Rounded(gbf), gbh);
        Assert.Equal(th, half.Forward(HalfData.Halves(logits), HalfData.Halves(box), slh[..sh], HalfData.Halves(targets), 4, ws));
        Assert.True(ws.AllocatedBytes > 0);
    }
}
