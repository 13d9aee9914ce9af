using System.Numerics.Tensors;
using LossKit.Criteria;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>BoxCoder, Matcher and sampler: published numbers, edge cases, invariants and argument validation.</summary>
public class BoxCoderTests
{
    private static readonly double[] Gt = [10, 20, 50, 80];
    private static readonly double[] Proposal = [12, 18, 48, 90];

    /// <summary>REFERENCES.md §5, weights (10, 10, 5, 5): encode(gt, proposal) = (0, −5/9, 5·ln(10/9), 5·ln(5/6)).</summary>
    [Fact]
    public void Encode_RoiWeights_ReferenceNumbers()
    {
        var d = new double[4];
        BoxCoder.RoiHeads.Encode<double>(Gt, Proposal, d);
        Assert.Equal(0.0, d[0]);
        Assert.Equal(-0.5555555555555556, d[1], 1e-15);
        Assert.Equal(0.5268025782891318, d[2], 1e-15);
        Assert.Equal(-0.9116077839697729, d[3], 1e-15);
    }

    /// <summary>
    /// The issue states that weights (1, 1, 1, 1) give [0, −0.5556, 0.5268, −0.9116] for the same pair. That is not
    /// right: those are the (10, 10, 5, 5) numbers. With unit weights the deltas are ten (x, y) and five (w, h) times
    /// smaller: (0, −1/18, ln(10/9), ln(5/6)) = (0, −0.0556, 0.1054, −0.1823) (torchvision gives the same; golden case
    /// box_encode/reference_1_1_1_1).
    /// </summary>
    [Fact]
    public void Encode_UnitWeights_AreTheRoiNumbersDividedByTheWeights()
    {
        var d = new double[4];
        BoxCoder.Unit.Encode<double>(Gt, Proposal, d);
        Assert.Equal(0.0, d[0]);
        Assert.Equal(-1.0 / 18, d[1], 1e-16);
        Assert.Equal(Math.Log(40.0 / 36), d[2], 1e-16);
        Assert.Equal(Math.Log(60.0 / 72), d[3], 1e-16);
        Assert.Equal(-0.0556, d[1], 4);
        Assert.Equal(0.1054, d[2], 4);
        Assert.Equal(-0.1823, d[3], 4);
        Assert.NotEqual(-0.5556, d[1], 3);
    }

    /// <summary>REFERENCES.md §5: decode (0.5, −0.5, dw with dw/5 &gt; 4.1352, 0.1) on the proposal, (10, 10, 5, 5).</summary>
    [Theory]
    [InlineData(20.7)]
    [InlineData(25.0)]
    [InlineData(1e6)]
    public void Decode_ClampsSizeDelta_ReferenceNumbers(double dw)
    {
        var boxes = new double[4];
        BoxCoder.RoiHeads.Decode<double>([0.5, -0.5, dw, 0.1], Proposal, boxes);
        Assert.Equal(-1093.2000000000005, boxes[0], 1e-12);
        Assert.Equal(13.672751759036792, boxes[1], 1e-12);
        Assert.Equal(1156.8000000000004, boxes[2], 1e-12);
        Assert.Equal(87.12724824096321, boxes[3], 1e-12);

        // Past the clamp, dw gets no gradient; the others do.
        var g = new double[4];
        BoxCoder.RoiHeads.DecodeGradient<double>([0.5, -0.5, dw, 0.1], Proposal, [1, 2, 3, 4], g);
        Assert.Equal(0.0, g[2]);
        Assert.NotEqual(0.0, g[3]);
        Assert.Equal(BoxCoder.DefaultBoxTransformClip, Math.Log(1000.0 / 16));
        Assert.Equal(4.135166556742356, BoxCoder.DefaultBoxTransformClip, 1e-15);
    }

    [Fact]
    public void DecodeThenEncode_RoundTrips()
    {
        var rng = new Random(3);
        foreach (BoxCoder coder in new[] { BoxCoder.Unit, BoxCoder.RoiHeads, new BoxCoder(2, 3, 0.5, 4) })
        {
            for (int k = 0; k < 50; k++)
            {
                double[] anchor = [rng.Next(0, 50), rng.Next(0, 50), 0, 0];
                anchor[2] = anchor[0] + rng.Next(2, 40);
                anchor[3] = anchor[1] + rng.Next(2, 40);
                double[] delta = [rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, (rng.NextDouble() - 0.5) * coder.WeightWidth, (rng.NextDouble() - 0.5) * coder.WeightHeight];
                var box = new double[4];
                var back = new double[4];
                coder.Decode<double>(delta, anchor, box);
                coder.Encode<double>(box, anchor, back);
                for (int i = 0; i < 4; i++)
                {
                    Assert.Equal(delta[i], back[i], 1e-12);
                }
            }
        }
    }

    /// <summary>DecodeGradient against central differences of Decode (away from the clamp), K = 2 delta sets per anchor.</summary>
    [Fact]
    public void DecodeGradient_MatchesFiniteDifferences()
    {
        var coder = new BoxCoder(10, 10, 5, 5);
        double[] anchors = [3, 4, 20, 30, -5, 2, 7, 9];
        double[] deltas = [0.3, -0.2, 1.1, -0.7, -0.4, 0.9, 2.0, 0.5, 0.1, 0.2, -1.5, 3.0, 0.6, -0.3, 0.25, -2.0];
        double[] upstream = [0.5, -1.0, 2.0, 0.25, 1, 1, -1, 3, -0.5, 0.7, 0.2, -1.2, 0.3, 0.3, -0.9, 1.1];
        var g = new double[16];
        coder.DecodeGradient<double>(deltas, anchors, upstream, g);
        double[] numeric = FiniteDifference.Gradient(d =>
        {
            var boxes = new double[16];
            coder.Decode<double>(d, anchors, boxes);
            double s = 0;
            for (int i = 0; i < 16; i++)
            {
                s += boxes[i] * upstream[i];
            }

            return s;
        }, deltas);
        Tolerance.AssertClose(g, numeric, 1e-10, 1e-7, "decode gradient");

        // In place: the gradient may overwrite the upstream buffer.
        double[] inPlace = (double[])upstream.Clone();
        coder.DecodeGradient<double>(deltas, anchors, inPlace, inPlace);
        Assert.Equal(g, inPlace);
    }

    [Fact]
    public void TensorOverloads_MatchSpans()
    {
        float[] boxes = [10, 20, 50, 80, 1, 2, 3, 5];
        float[] anchors = [12, 18, 48, 90, 0, 0, 4, 4];
        var d1 = new float[8];
        var d2 = new float[8];
        BoxCoder.RoiHeads.Encode<float>(boxes, anchors, d1);
        BoxCoder.RoiHeads.Encode<float>(Tensor.Create(boxes, [2, 4]), Tensor.Create(anchors, [2, 4]), Tensor.Create(d2, [2, 4]));
        Assert.Equal(d1, d2);
        var b1 = new float[8];
        var b2 = new float[8];
        BoxCoder.RoiHeads.Decode<float>(d1, anchors, b1);
        BoxCoder.RoiHeads.Decode<float>(Tensor.Create(d1, [2, 4]), Tensor.Create(anchors, [2, 4]), Tensor.Create(b2, [2, 4]));
        Assert.Equal(b1, b2);
        Assert.Equal("deltas", Assert.Throws<ArgumentException>(() =>
            BoxCoder.RoiHeads.Decode<float>(Tensor.Create(new float[12], [2, 6]), Tensor.Create(anchors, [2, 4]), Tensor.Create(new float[12], [2, 6]))).ParamName);
    }

    [Theory]
    [InlineData(0.0, "weightX")]
    [InlineData(-1.0, "weightX")]
    [InlineData(double.NaN, "weightX")]
    [InlineData(double.PositiveInfinity, "weightX")]
    public void Constructor_RejectsBadWeights(double w, string param) =>
        Assert.Equal(param, Assert.Throws<ArgumentOutOfRangeException>(() => new BoxCoder(w)).ParamName);

    [Fact]
    public void BadShapes_Throw()
    {
        Assert.Equal("boxes", Assert.Throws<ArgumentException>(() => BoxCoder.Unit.Encode<double>(new double[5], new double[5], new double[5])).ParamName);
        Assert.Equal("anchors", Assert.Throws<ArgumentException>(() => BoxCoder.Unit.Encode<double>(new double[8], new double[4], new double[8])).ParamName);
        Assert.Equal("deltas", Assert.Throws<ArgumentException>(() => BoxCoder.Unit.Encode<double>(new double[8], new double[8], new double[4])).ParamName);
        Assert.Equal("deltas", Assert.Throws<ArgumentException>(() => BoxCoder.Unit.Decode<double>(new double[12], new double[8], new double[12])).ParamName);
        Assert.Equal("boxes", Assert.Throws<ArgumentException>(() => BoxCoder.Unit.Decode<double>(new double[8], new double[8], new double[4])).ParamName);
        Assert.Equal("boxTransformClip", Assert.Throws<ArgumentOutOfRangeException>(() => new BoxCoder(boxTransformClip: double.NaN)).ParamName);
    }
}

public class MatcherTests
{
    [Fact]
    public void Presets_AreTorchvisions()
    {
        Assert.Equal((0.7, 0.3, true), (Matcher.Rpn.HighThreshold, Matcher.Rpn.LowThreshold, Matcher.Rpn.AllowLowQualityMatches));
        Assert.Equal((0.5, 0.5, false), (Matcher.RoiHeads.HighThreshold, Matcher.RoiHeads.LowThreshold, Matcher.RoiHeads.AllowLowQualityMatches));
        Assert.Equal((0.5, 0.4, true), (Matcher.RetinaNet.HighThreshold, Matcher.RetinaNet.LowThreshold, Matcher.RetinaNet.AllowLowQualityMatches));
        Assert.Equal(-1, Matcher.BelowLowThreshold);
        Assert.Equal(-2, Matcher.BetweenThresholds);
    }

    /// <summary>Worked example: ties in a column go to the first row; low-quality matches restore the column's argmax,
    /// with every tied prediction of a ground truth's best quality restored.</summary>
    [Fact]
    public void WorkedExample_TiesAndLowQuality()
    {
        double[] q =
        [
            0.20, 0.20, 0.10, 0.80,
            0.20, 0.05, 0.20, 0.10,
        ];
        var matches = new int[4];
        new Matcher(0.7, 0.3).Match<double>(q, 2, 4, matches);
        Assert.Equal([-1, -1, -1, 0], matches);
        new Matcher(0.7, 0.3, allowLowQualityMatches: true).Match<double>(q, 2, 4, matches);

        // Row 0's best is 0.8 (column 3). Row 1's best is 0.2, tied at columns 0 and 2: both restored, column 0 to its
        // own argmax (row 0, the first of the tie), column 2 to row 1.
        Assert.Equal([0, -1, 1, 0], matches);
    }

    [Fact]
    public void NoGroundTruths_AllBackground_AndNoPredictions_Nothing()
    {
        var matches = new int[5];
        Matcher.Rpn.Match<float>([], 0, 5, matches);
        Assert.All(matches, m => Assert.Equal(-1, m));
        Matcher.Rpn.Match<float>([], 3, 0, []);
        Matcher.Rpn.MatchBoxes<float>([], [0, 0, 1, 1, 2, 2, 3, 3], matches, []);
        Assert.Equal(-1, matches[0]);
    }

    /// <summary>NaN quality wins the column (torch.max semantics) and is neither below nor between the thresholds; a NaN
    /// row maximum restores nothing.</summary>
    [Fact]
    public void NaN_BehavesAsTorchMax()
    {
        double[] q = [0.9, double.NaN, 0.1, 0.2, 0.95, double.NaN];
        var matches = new int[3];
        new Matcher(0.7, 0.3).Match<double>(q, 2, 3, matches);
        Assert.Equal([0, 0, 1], matches); // torchvision 0.14: tensor([0, 0, 1])
        new Matcher(0.7, 0.3, allowLowQualityMatches: true).Match<double>(q, 2, 3, matches);
        Assert.Equal([0, 0, 1], matches);
    }

    /// <summary>Large matrices are split across threads by column blocks: the result equals the single-threaded one.</summary>
    [Fact]
    public void LargeMatrix_MatchesAcrossBlocks_SameAsSmallCalls()
    {
        var rng = new Random(11);
        int g = 7, n = 5000;
        var q = new double[g * n];
        for (int i = 0; i < q.Length; i++)
        {
            q[i] = rng.Next(0, 65) / 64.0;
        }

        var all = new int[n];
        Matcher.Rpn.Match<double>(q, g, n, all);

        // Column by column through tiny 1-column matrices (no low-quality step there): compare the threshold part.
        var noLow = new int[n];
        new Matcher(0.7, 0.3).Match<double>(q, g, n, noLow);
        for (int j = 0; j < n; j += 97)
        {
            var column = new double[g];
            for (int i = 0; i < g; i++)
            {
                column[i] = q[i * n + j];
            }

            var one = new int[1];
            new Matcher(0.7, 0.3).Match<double>(column, g, 1, one);
            Assert.Equal(one[0], noLow[j]);
        }

        // Low-quality matches only ever add matches.
        for (int j = 0; j < n; j++)
        {
            Assert.True(all[j] == noLow[j] || (noLow[j] < 0 && all[j] >= 0));
        }
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Equal("lowThreshold", Assert.Throws<ArgumentOutOfRangeException>(() => new Matcher(0.3, 0.7)).ParamName);
        Assert.Equal("highThreshold", Assert.Throws<ArgumentOutOfRangeException>(() => new Matcher(double.NaN, 0.3)).ParamName);
        Assert.Equal("quality", Assert.Throws<ArgumentException>(() => Matcher.Rpn.Match<double>(new double[5], 2, 3, new int[3])).ParamName);
        Assert.Equal("matches", Assert.Throws<ArgumentException>(() => Matcher.Rpn.Match<double>(new double[6], 2, 3, new int[2])).ParamName);
        Assert.Equal("groundTruths", Assert.Throws<ArgumentOutOfRangeException>(() => Matcher.Rpn.Match<double>([], -1, 0, [])).ParamName);
        Assert.Equal("quality", Assert.Throws<ArgumentException>(() => Matcher.Rpn.MatchBoxes<double>(new double[8], new double[12], new int[3], new double[5])).ParamName);
        Assert.Equal("predictedBoxes", Assert.Throws<ArgumentException>(() => Matcher.Rpn.MatchBoxes<double>(new double[8], new double[10], new int[3], new double[6])).ParamName);
    }
}

public class SamplerTests
{
    private static int[] Labels(int positives, int negatives, int ignored, int seed)
    {
        var list = new List<int>();
        list.AddRange(Enumerable.Repeat(1, positives));
        list.AddRange(Enumerable.Repeat(0, negatives));
        list.AddRange(Enumerable.Repeat(-1, ignored));
        var rng = new Random(seed);
        return list.OrderBy(_ => rng.Next()).ToArray();
    }

    [Fact]
    public void Presets_AreTorchvisions()
    {
        Assert.Equal((256, 0.5, 128), (BalancedPositiveNegativeSampler.Rpn.BatchSizePerImage, BalancedPositiveNegativeSampler.Rpn.PositiveFraction, BalancedPositiveNegativeSampler.Rpn.MaxPositives));
        Assert.Equal((512, 0.25, 128), (BalancedPositiveNegativeSampler.RoiHeads.BatchSizePerImage, BalancedPositiveNegativeSampler.RoiHeads.PositiveFraction, BalancedPositiveNegativeSampler.RoiHeads.MaxPositives));
    }

    /// <summary>The counts torchvision's sampler takes: p = min(P, ⌊b·f⌋), q = min(Q, b − p); only candidates of the
    /// right kind, never ignored ones.</summary>
    [Theory]
    [InlineData(256, 0.5, 1000, 20000, 300)]
    [InlineData(256, 0.5, 10, 20000, 0)]
    [InlineData(256, 0.5, 500, 30, 7)]
    [InlineData(256, 0.5, 40, 60, 3)]
    [InlineData(512, 0.25, 300, 1700, 0)]
    [InlineData(512, 0.25, 0, 0, 5)]
    [InlineData(10, 0.33, 9, 9, 0)]
    [InlineData(0, 0.5, 5, 5, 5)]
    public void Counts_AndInvariants(int batch, double fraction, int positives, int negatives, int ignored)
    {
        var sampler = new BalancedPositiveNegativeSampler(batch, fraction);
        int[] labels = Labels(positives, negatives, ignored, batch + positives);
        var selection = new SampleKind[labels.Length];
        SampleCounts counts = sampler.Sample(labels, selection, 42);
        int p = Math.Min(positives, (int)(batch * fraction));
        int q = Math.Min(negatives, batch - p);
        Assert.Equal(new SampleCounts(p, q), counts);
        Assert.Equal(p, selection.Count(s => s == SampleKind.Positive));
        Assert.Equal(q, selection.Count(s => s == SampleKind.Negative));
        for (int i = 0; i < labels.Length; i++)
        {
            if (selection[i] == SampleKind.Positive)
            {
                Assert.True(labels[i] >= 1);
            }
            else if (selection[i] == SampleKind.Negative)
            {
                Assert.Equal(0, labels[i]);
            }
        }
    }

    [Fact]
    public void SameSeed_SameSample_DifferentSeed_DifferentSample()
    {
        int[] labels = Labels(600, 5000, 100, 1);
        var a = new SampleKind[labels.Length];
        var b = new SampleKind[labels.Length];
        var c = new SampleKind[labels.Length];
        BalancedPositiveNegativeSampler.Rpn.Sample(labels, a, 7);
        BalancedPositiveNegativeSampler.Rpn.Sample(labels, b, 7);
        BalancedPositiveNegativeSampler.Rpn.Sample(labels, c, 8);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    /// <summary>Every candidate taken: the sample is all positive and negative candidates whatever the seed (torchvision's result).</summary>
    [Fact]
    public void AllTaken_IsIndependentOfTheSeed()
    {
        int[] labels = Labels(50, 100, 30, 2);
        var a = new SampleKind[labels.Length];
        BalancedPositiveNegativeSampler.Rpn.Sample(labels, a, 1);
        for (int i = 0; i < labels.Length; i++)
        {
            Assert.Equal(labels[i] >= 1 ? SampleKind.Positive : labels[i] == 0 ? SampleKind.Negative : SampleKind.None, a[i]);
        }
    }

    /// <summary>The choice is uniform: over many seeds each of 40 positives is drawn about 10/40 of the time.</summary>
    [Fact]
    public void Choice_IsRoughlyUniform()
    {
        var sampler = new BalancedPositiveNegativeSampler(20, 0.5);
        int[] labels = Enumerable.Repeat(1, 40).ToArray();
        var hits = new int[40];
        var selection = new SampleKind[40];
        const int Trials = 4000;
        for (ulong seed = 0; seed < Trials; seed++)
        {
            sampler.Sample(labels, selection, seed);
            for (int i = 0; i < 40; i++)
            {
                hits[i] += selection[i] == SampleKind.Positive ? 1 : 0;
            }
        }

        // Expected 1000 per candidate, standard deviation ≈ √(4000·0.25·0.75) ≈ 27.
        Assert.All(hits, h => Assert.InRange(h, 1000 - 150, 1000 + 150));
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Equal("batchSizePerImage", Assert.Throws<ArgumentOutOfRangeException>(() => new BalancedPositiveNegativeSampler(-1, 0.5)).ParamName);
        Assert.Equal("positiveFraction", Assert.Throws<ArgumentOutOfRangeException>(() => new BalancedPositiveNegativeSampler(10, 1.5)).ParamName);
        Assert.Equal("positiveFraction", Assert.Throws<ArgumentOutOfRangeException>(() => new BalancedPositiveNegativeSampler(10, double.NaN)).ParamName);
        Assert.Equal("selection", Assert.Throws<ArgumentException>(() => BalancedPositiveNegativeSampler.Rpn.Sample([1, 0, 0], new SampleKind[2])).ParamName);
    }
}
