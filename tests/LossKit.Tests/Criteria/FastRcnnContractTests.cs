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
        LossChecks.ThrowsNaming("classLogitsGradient", () => Loss.ForwardBackward(logits, box, labels, targets, c, gl[..8], gb));
        LossChecks.ThrowsNaming("boxRegressionGradient", () => Loss.ForwardBackward(logits, box, labels, targets, c, gl, gb[..35]));
    }
}
