using LossKit.Criteria;

namespace LossKit.Tests.Criteria;

/// <summary>
/// Matcher tests that a broken matcher fails: box matching with ground truths, outputs written exactly where they
/// belong (sentinel-filled buffers longer than needed), block and thread splits against an independent transcription of
/// torchvision's Matcher, and the dimension checks. Expected matches come from torchvision 0.14
/// (tests/reference/matcher_cases.py) or from <see cref="TorchvisionMatch"/>.
/// </summary>
public class MatcherReferenceTests
{
    private const int Sentinel = 12345;
    private const int Slack = 5;

    // tests/reference/matcher_cases.py, "boxes": gt 0 = (0, 0, 10, 10), gt 1 = (20, 20, 30, 30).
    private static readonly double[] GtBoxes = [0, 0, 10, 10, 20, 20, 30, 30];

    private static readonly double[] PredictedBoxes =
    [
        0, 0, 10, 10,       // IoU 1 with gt 0
        0, 0, 10, 5,        // 50 / 100 = 0.5 with gt 0
        100, 100, 110, 110, // disjoint from both
        20, 20, 25, 25,     // 25 / 100 = 0.25 with gt 1
        5, 0, 15, 10,       // 50 / 150 = 1/3 with gt 0
        8, 8, 28, 28,       // gt 0: 4 / (100 + 400 − 4) = 1/124; gt 1: 64 / (100 + 400 − 64) = 16/109
    ];

    // torchvision.ops.box_iou(gt, pred), float64 (the fractions above).
    private static readonly double[] ExpectedIou =
    [
        1, 0.5, 0, 0, 1.0 / 3, 1.0 / 124,
        0, 0, 0, 0.25, 0, 16.0 / 109,
    ];

    public static TheoryData<string, int[]> BoxPresets => new()
    {
        // torchvision 0.14 (matcher_cases.py, same in float32 and float64). RPN: prediction 3 is below 0.3 but is gt 1's
        // best, so the low-quality step restores it; prediction 1 (0.5) and 4 (1/3) are in the ignore band.
        { "rpn", [0, -2, -1, 1, -2, -1] },
        { "roi", [0, 0, -1, -1, -1, -1] },
        { "retinanet", [0, 0, -1, 1, -1, -1] },
    };

    private static Matcher Preset(string name) => name switch
    {
        "rpn" => Matcher.Rpn,
        "roi" => Matcher.RoiHeads,
        "retinanet" => Matcher.RetinaNet,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown preset"),
    };

    private static int[] Filled(int length)
    {
        var a = new int[length];
        Array.Fill(a, Sentinel);
        return a;
    }

    /// <summary>The first <paramref name="expected"/>.Length entries are the expected ones, the rest still the sentinel.</summary>
    private static void AssertWrittenExactly(int[] expected, int[] actual)
    {
        Assert.Equal(expected, actual[..expected.Length]);
        Assert.All(actual[expected.Length..], m => Assert.Equal(Sentinel, m));
    }

    [Theory]
    [MemberData(nameof(BoxPresets))]
    public void MatchBoxes_Double_IouMatrixAndMatchesAreTorchvisions(string preset, int[] expected)
    {
        var matches = Filled(6 + Slack);
        var quality = new double[12 + Slack];
        Array.Fill(quality, -7.0);
        Preset(preset).MatchBoxes<double>(GtBoxes, PredictedBoxes, matches, quality);
        AssertWrittenExactly(expected, matches);
        for (int i = 0; i < ExpectedIou.Length; i++)
        {
            Assert.Equal(ExpectedIou[i], quality[i], 1e-15);
        }

        Assert.All(quality[12..], v => Assert.Equal(-7.0, v));
    }

    [Theory]
    [MemberData(nameof(BoxPresets))]
    public void MatchBoxes_Float_IouMatrixAndMatchesAreTorchvisions(string preset, int[] expected)
    {
        var matches = Filled(6 + Slack);
        var quality = new float[12 + Slack];
        Array.Fill(quality, -7f);
        Preset(preset).MatchBoxes<float>(Array.ConvertAll(GtBoxes, v => (float)v), Array.ConvertAll(PredictedBoxes, v => (float)v), matches, quality);
        AssertWrittenExactly(expected, matches);
        for (int i = 0; i < ExpectedIou.Length; i++)
        {
            Assert.Equal(ExpectedIou[i], quality[i], 1e-7);
        }

        Assert.All(quality[12..], v => Assert.Equal(-7f, v));
    }

    /// <summary>The quality scratch is overwritten with the IoU matrix whatever it held, so stale values never match.</summary>
    [Fact]
    public void MatchBoxes_StaleScratch_IsOverwritten()
    {
        var matches = Filled(6);
        var quality = new double[12];
        Array.Fill(quality, 0.9); // stale "matches" everywhere
        Matcher.RoiHeads.MatchBoxes<double>(GtBoxes, PredictedBoxes, matches, quality);
        Assert.Equal([0, 0, -1, -1, -1, -1], matches);
    }

    /// <summary>
    /// Row 0's maximum 0.75 is also row 1's first element, the element just past row 0's block: a restore loop that ran
    /// one column too far would see it and write past the block. torchvision 0.14 (matcher_cases.py, "next_row_tie").
    /// </summary>
    [Theory]
    [InlineData("rpn", new[] { 1, 0, -2 })]
    [InlineData("roi", new[] { 1, 0, -1 })]
    [InlineData("retinanet", new[] { 1, 0, -1 })]
    public void NextRowTie_WritesOnlyItsColumns(string preset, int[] expected)
    {
        double[] q = [0.5, 0.75, 0.125, 0.75, 0.25, 0.375];
        var matches = Filled(3 + Slack);
        Preset(preset).Match<double>(q, 2, 3, matches);
        AssertWrittenExactly(expected, matches);
    }

    /// <summary>Float quality is compared with float thresholds, as a float32 tensor: (float)0.7 matches, (float)0.3 is
    /// in the ignore band, the float below it is background. torchvision 0.14 (matcher_cases.py, "float_thresholds").</summary>
    [Fact]
    public void FloatQuality_OnTheFloatThresholds()
    {
        float[] q = [0.7f, 0.3f, 0.29999998f];
        var matches = Filled(3 + Slack);
        Matcher.Rpn.Match<float>(q, 1, 3, matches);
        AssertWrittenExactly([0, -2, -1], matches);
        Matcher.RoiHeads.Match<float>(q, 1, 3, matches);
        AssertWrittenExactly([0, -1, -1], matches);
    }

    /// <summary>
    /// Column counts around the 512-column block (one block, a full one, a block and one column, several), and sizes
    /// above the parallel threshold, against <see cref="TorchvisionMatch"/>; outputs past N must stay untouched and every
    /// entry up to N must be written. Qualities on a 1/8 grid with NaNs, so ties, NaN columns and values exactly on the
    /// thresholds (0.5, 0.25 and 0.75) all occur.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(4, 511)]
    [InlineData(4, 512)]
    [InlineData(4, 513)]
    [InlineData(2, 1025)]
    [InlineData(9, 1500)]
    [InlineData(40, 1700)] // 68,000 elements: above Pointwise.ParallelThreshold, split across threads
    public void Blocks_MatchTranscription(int g, int n)
    {
        var rng = new Random(1000 * g + n);
        var q = new double[g * n];
        for (int i = 0; i < q.Length; i++)
        {
            q[i] = rng.Next(200) == 0 ? double.NaN : rng.Next(9) / 8.0;
        }

        foreach (var matcher in new[] { new Matcher(0.5, 0.25, true), new Matcher(0.75, 0.25, false), new Matcher(0.5, 0.5, true) })
        {
            int[] expected = TorchvisionMatch(q, g, n, matcher.HighThreshold, matcher.LowThreshold, matcher.AllowLowQualityMatches);
            var matches = Filled(n + Slack);
            matcher.Match<double>(q, g, n, matches);
            AssertWrittenExactly(expected, matches);

            var qf = Array.ConvertAll(q, v => (float)v);
            var matchesF = Filled(n + Slack);
            matcher.Match<float>(qf, g, n, matchesF);
            AssertWrittenExactly(expected, matchesF);
        }
    }

    /// <summary>
    /// More than 1024 ground truths: the per-ground-truth maxima come from the array pool instead of the stack (a
    /// rented array is longer than asked for; only its first G entries may be used). Against <see cref="TorchvisionMatch"/>.
    /// </summary>
    [Theory]
    [InlineData(1025, 3)]
    [InlineData(1100, 40)]
    public void ManyGroundTruths_MatchTranscription(int g, int n)
    {
        var rng = new Random(g + n);
        var q = new double[g * n];
        for (int i = 0; i < q.Length; i++)
        {
            q[i] = rng.Next(9) / 8.0 * 0.625; // at most 0.625: below 0.7, so matches come from the low-quality step too
        }

        foreach (var matcher in new[] { Matcher.Rpn, Matcher.RetinaNet })
        {
            int[] expected = TorchvisionMatch(q, g, n, matcher.HighThreshold, matcher.LowThreshold, true);
            var matches = Filled(n + Slack);
            matcher.Match<double>(q, g, n, matches);
            AssertWrittenExactly(expected, matches);
        }
    }

    /// <summary>A low-quality match restores the column's argmax even when that is another ground truth (torchvision's
    /// <c>matches[pred_inds_to_update] = all_matches[pred_inds_to_update]</c>).</summary>
    [Fact]
    public void LowQuality_RestoresColumnArgmax_NotTheRow()
    {
        // Row 1's best (0.25) is at column 0, whose column maximum is row 0 (0.375): column 0 gets 0. Column 1's best is
        // row 1 (0.125), below both thresholds and nobody's row maximum: stays −1. Hand-computed from det_utils.py.
        double[] q = [0.375, 0.0, 0.25, 0.125];
        var matches = Filled(2 + Slack);
        new Matcher(0.7, 0.3, true).Match<double>(q, 2, 2, matches);
        AssertWrittenExactly([0, -1], matches);
    }

    [Fact]
    public void NegativeOrZeroDimensions()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Matcher.Rpn.Match<double>([], 0, -1, []));
        Assert.Equal("predictions", e.ParamName);
        Assert.Equal(-1, e.ActualValue);
        var g = Assert.Throws<ArgumentOutOfRangeException>(() => Matcher.Rpn.Match<double>([], -3, 0, []));
        Assert.Equal("groundTruths", g.ParamName);
        Assert.Equal(-3, g.ActualValue);

        // No predictions: nothing is written, whatever the ground truths.
        var matches = Filled(Slack);
        Matcher.Rpn.Match<double>([], 4, 0, matches);
        Assert.All(matches, m => Assert.Equal(Sentinel, m));

        // No ground truths: exactly N entries become −1.
        Matcher.Rpn.Match<double>([], 0, 2, matches);
        AssertWrittenExactly([-1, -1], matches);
    }

    /// <summary>G × N beyond the int range (46341² &gt; 2³¹ − 1) is refused, never wrapped into a small scratch size.</summary>
    [Fact]
    public void MatchBoxes_MatrixBeyondIntRange_Throws()
    {
        var boxes = new float[46341 * 4];
        // An ArgumentException naming the buffer and the sizes, as the README promises (not an OverflowException).
        var e = Assert.Throws<ArgumentException>(() => Matcher.Rpn.MatchBoxes<float>(boxes, boxes, new int[46341], new float[16]));
        Assert.Equal("quality", e.ParamName);
        Assert.Contains("46341 × 46341", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MatchBoxes_ShortBuffers_NameTheirParameter()
    {
        Assert.Equal("matches", Assert.Throws<ArgumentException>(() => Matcher.Rpn.MatchBoxes<double>(GtBoxes, PredictedBoxes, new int[5], new double[12])).ParamName);
        Assert.Equal("quality", Assert.Throws<ArgumentException>(() => Matcher.Rpn.MatchBoxes<double>(GtBoxes, PredictedBoxes, new int[6], new double[11])).ParamName);
        Assert.Equal("groundTruthBoxes", Assert.Throws<ArgumentException>(() => Matcher.Rpn.MatchBoxes<double>(new double[7], PredictedBoxes, new int[6], new double[12])).ParamName);
    }

    /// <summary>
    /// An independent transcription of torchvision 0.14's <c>det_utils.Matcher.__call__</c> (torch.max(dim=0): first
    /// maximum wins, the first NaN wins; thresholds compared in the element type; low-quality pairs from
    /// <c>torch.where(q == q.max(dim=1)[:, None])</c>, where a NaN row maximum equals nothing).
    /// </summary>
    internal static int[] TorchvisionMatch(double[] q, int g, int n, double high, double low, bool allowLowQuality)
    {
        var matches = new int[n];
        var allMatches = new int[n];
        for (int j = 0; j < n; j++)
        {
            int arg = 0;
            double best = q[j];
            for (int i = 1; i < g; i++)
            {
                double v = q[i * n + j];
                if (!double.IsNaN(best) && (double.IsNaN(v) || v > best))
                {
                    best = v;
                    arg = i;
                }
            }

            allMatches[j] = arg;
            bool below = best < low;
            bool between = best >= low && best < high;
            matches[j] = below ? -1 : between ? -2 : arg;
        }

        if (allowLowQuality)
        {
            for (int i = 0; i < g; i++)
            {
                double rowMax = q[i * n];
                for (int j = 1; j < n && !double.IsNaN(rowMax); j++)
                {
                    double v = q[i * n + j];
                    rowMax = double.IsNaN(v) || v > rowMax ? v : rowMax;
                }

                for (int j = 0; j < n; j++)
                {
                    if (q[i * n + j] == rowMax)
                    {
                        matches[j] = allMatches[j];
                    }
                }
            }
        }

        return matches;
    }
}
