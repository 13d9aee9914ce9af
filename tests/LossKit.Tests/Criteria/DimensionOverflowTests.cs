using LossKit.Criteria;
using LossKit.Detection;
using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>
/// Dimension products that do not fit an int give an ArgumentException naming the argument and the sizes (the
/// README's promise), never an OverflowException, and before anything of that size is allocated: the spans the
/// check comes before are passed empty.
/// </summary>
public class DimensionOverflowTests
{
    /// <summary>n boxes (0, 0, 1, 1): 50 000 of them make a 2.5·10⁹-element pairwise matrix.</summary>
    private static float[] Boxes(int n)
    {
        var b = new float[4 * n];
        for (int i = 0; i < n; i++)
        {
            b[4 * i + 2] = 1f;
            b[4 * i + 3] = 1f;
        }

        return b;
    }

    private static void Overflows(string paramName, Action action, params string[] inMessage)
    {
        // Exactly ArgumentException (LossChecks.Throws): an OverflowException, or a check that fires on a later
        // argument, fails here.
        ArgumentException e = Assert.Throws<ArgumentException>(action);
        Assert.Equal(paramName, e.ParamName);
        foreach (string s in inMessage)
        {
            Assert.Contains(s, e.Message);
        }
    }

    [Fact]
    public void BoxOps_PairwiseIou_50k_By_50k_NamesDestination()
    {
        float[] boxes = Boxes(50_000);
        Overflows("destination", () => BoxOps.Iou<float>(boxes, boxes, []), "50000 × 50000", "overflows int");
        Overflows("destination", () => BoxOps.GeneralizedIou<float>(boxes, boxes, []), "50000 × 50000");
        Overflows("destination", () => BoxOps.CompleteIou<float>(boxes, boxes, []), "50000 × 50000");
    }

    [Fact]
    public void Matcher_MatchBoxes_QualityMatrixTooLarge_NamesQuality()
    {
        float[] boxes = Boxes(50_000);
        Overflows("quality", () => Matcher.RoiHeads.MatchBoxes<float>(boxes, boxes, new int[50_000], []), "50000 × 50000");
    }

    [Fact]
    public void RetinaNet_MatchAnchors_4M_Anchors_By_4096_GroundTruths_NamesGroundTruthCounts()
    {
        var anchors = new float[4 * 4_194_304];
        float[] truths = Boxes(4096);
        Overflows("groundTruthCounts", () => new RetinaNetLoss<float>().MatchAnchors(anchors, truths, [4096], []), "4096 × 4194304");
    }

    [Fact]
    public void Rpn_AssignTargets_4M_Anchors_By_4096_GroundTruths_NamesGroundTruthCounts()
    {
        var anchors = new float[4 * 4_194_304];
        float[] truths = Boxes(4096);
        Overflows("groundTruthCounts", () => new RpnLoss<float>().AssignTargets(anchors, truths, [4096], [], []), "4096 × 4194304");
    }

    [Fact]
    public void CosineHead_65536_Classes_By_65536_Dim_NamesClasses()
    {
        Overflows("classes", () => CosineHead<float>.WorkspaceSize(1, 65536, 65536), "classes × dim = 65536 × 65536 overflows int");
        Overflows("classes", () => CosineHead<float>.MinimumWorkspaceSize(1, 65536, 65536), "classes × dim = 65536 × 65536");
        Overflows("classes", () => new CosineHead<float>().Forward([], [], 1, 65536, 65536, [], []), "classes × dim = 65536 × 65536");
        Overflows("batch", () => CosineHead<float>.WorkspaceSize(65536, 1, 65536), "batch × dim = 65536 × 65536");
        Overflows("classes", () => CenterLossObjective<float>.WorkspaceSize(65536, 65536, 1), "batch × classes = 65536 × 65536");
    }

    [Fact]
    public void YoloV3_OutputLength_Overflow_NamesBatch()
    {
        var loss = new YoloV3Loss<float>(80);
        Overflows("batch", () => loss.OutputLength(0, int.MaxValue), "overflows int", "2147483647");
        LossChecks.Throws<ArgumentOutOfRangeException>("batch", () => loss.OutputLength(0, -1));
        Assert.Equal(3 * 85 * 13 * 13, loss.OutputLength(0, 1));
    }
}
