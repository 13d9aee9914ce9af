using LossKit.Classification;
using LossKit.Criteria;
using LossKit.Detection;
using LossKit.MetricLearning;
using LossKit.Regression;
using LossKit.Tests.Infrastructure;
using LossKit.Tests.Internal;

namespace LossKit.Tests.HalfPrecision;

/// <summary>
/// The defects of issue "Reliability" items 1–2, each against PyTorch: Half sums, row sums and IoU intermediates that
/// overflowed or lost their precision while they ran in Half arithmetic. Expected values are PyTorch's (float32
/// computation on the same Half inputs, rounded to Half, where its own half kernel overflows or is missing).
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public class HalfFloat32PathTests
{
    private static Half[] Fill(int n, double v) => Enumerable.Repeat((Half)v, n).ToArray();

    [Fact]
    public void Mse_MeanOfTenThousandOnes_IsOne_AsPyTorch()
    {
        var mean = new MseLoss<Half>();
        var grad = new Half[10_000];
        Assert.Equal((Half)1.0, mean.ForwardBackward(Fill(10_000, 1), Fill(10_000, 0), grad));

        // torch.nn.functional.mse_loss(ones(10000), zeros(10000)) backward: 2/10000 rounded to half.
        Assert.All(grad, g => Assert.Equal((Half)0.00020003318786621094, g));
        Assert.Equal((Half)10_000.0, new MseLoss<Half>(Reduction.Sum).Forward(Fill(10_000, 1), Fill(10_000, 0)));
    }

    [Fact]
    public void Mse_MeanWhoseSumOverflowsHalf_IsFinite()
    {
        // d = 10 over 1,000 elements: Σ d² = 100,000 > 65504, the mean 100 is representable (float32 accumulation).
        Assert.Equal((Half)100.0, new MseLoss<Half>().Forward(Fill(1000, 10), Fill(1000, 0)));
    }

    [Fact]
    public void CrossEntropy_OverFourThousandClasses_IsLnC()
    {
        // F.cross_entropy(zeros(1, 4096), [0]) in float32 = ln 4096 = 8.3178; rounded to half 8.3203125. Its gradient:
        // 1/4096 − 1 → −1.0 (a tie, to even) and 1/4096 = 0.000244140625 elsewhere.
        var loss = new CrossEntropyLoss<Half>();
        var grad = new Half[4096];
        Half value = loss.ForwardBackward(new Half[4096], (int[])[0], 1, 4096, grad);
        Assert.Equal((Half)8.3203125, value);
        Assert.Equal((Half)(-1.0), grad[0]);
        Assert.All(grad[1..], g => Assert.Equal((Half)0.000244140625, g));
    }

    [Fact]
    public void CenterLoss_OverEightThousandDimensions_IsHalfTheSquaredDistance()
    {
        // ½‖x − c‖² with x = 1, c = 0 over 8192 dims = 4096 (PyTorch float32); gradients 1 and −1.
        var loss = new CenterLoss<Half>();
        var gx = new Half[8192];
        var gc = new Half[8192];
        Half value = loss.ForwardBackward(Fill(8192, 1), (int[])[0], new Half[8192], 1, 1, 8192, gx, gc);
        Assert.Equal((Half)4096.0, value);
        Assert.All(gx, g => Assert.Equal((Half)1.0, g));
        Assert.All(gc, g => Assert.Equal((Half)(-1.0), g));
    }

    public static TheoryData<double, double, double[]> CIoUCases() => new()
    {
        // torchvision.ops.complete_box_iou_loss in float32 on (0,0,s,s) vs (10,10,s+10,s+10), value and gradient rounded to half.
        { 300, 0.12408447265625, [-0.0027923583984375, -0.0027923583984375, -0.0029850006103515625, -0.0029850006103515625] },
        { 200, 0.179931640625, [-0.003849029541015625, -0.003849029541015625, -0.004253387451171875, -0.004253387451171875] },
    };

    [Theory]
    [MemberData(nameof(CIoUCases))]
    public void CIoU_OfBoxesWhoseAreaOverflowsHalf_MatchesTorchvision(double size, double value, double[] gradient)
    {
        // Areas of 40,000–90,000 overflow Half's 65504: in Half arithmetic the loss was NaN (300) or 1.0 with a zero gradient (200).
        Half[] predicted = [(Half)0, (Half)0, (Half)size, (Half)size];
        Half[] target = [(Half)10, (Half)10, (Half)(size + 10), (Half)(size + 10)];
        var grad = new Half[4];
        Half loss = new CIoULoss<Half>(Reduction.Sum).ForwardBackward(predicted, target, grad);
        Assert.Equal((Half)value, loss);
        Assert.Equal(gradient.Select(g => (Half)g), grad);
    }

    [Fact]
    public void PairwiseIoU_OfLargeBoxes_IsComputedInFloat32()
    {
        // torchvision.ops.box_iou upcasts half to float32: (0,0,300,300) vs (10,10,310,310) → 84100 / 95900 = 0.87695 (half 0.876953125).
        Half[] a = [(Half)0, (Half)0, (Half)300, (Half)300];
        Half[] b = [(Half)10, (Half)10, (Half)310, (Half)310];
        var iou = new Half[1];
        BoxOps.Iou<Half>(a, b, iou);
        Assert.Equal((Half)0.876953125, iou[0]);
    }

    [Fact]
    public void Outputs_PastTheRequiredLength_AreLeftAlone()
    {
        // The float32 path rounds back only what the call writes: a longer gradient keeps its tail.
        var grad = Fill(6, 7);
        new L1Loss<Half>().ForwardBackward(Fill(4, 1), Fill(4, 0), grad);
        Assert.Equal((Half)0.25, grad[0]);
        Assert.Equal((Half)7, grad[4]);
        Assert.Equal((Half)7, grad[5]);
    }

    [Fact]
    public void Float32Path_AllocatesNothingPerCall_OnceWarm()
    {
        // The float32 copies are rented from the shared array pool and returned: a warm Half call allocates nothing.
        Half[] x = Fill(4096, 0.5), t = Fill(4096, 0.25), g = new Half[4096];
        var mse = new MseLoss<Half>();
        var ce = new CrossEntropyLoss<Half>();
        int[] labels = new int[64];
        Half[] boxes = [.. Enumerable.Range(0, 256).SelectMany(i => new[] { (Half)i, (Half)i, (Half)(i + 10), (Half)(i + 12) })];
        Half[] targets = [.. Enumerable.Range(0, 256).SelectMany(i => new[] { (Half)(i + 1), (Half)i, (Half)(i + 11), (Half)(i + 10) })];
        var boxGradient = new Half[boxes.Length];
        var ciou = new CIoULoss<Half>(Reduction.Mean);
        SteadyStateAllocation.AssertNone(
            ("mse", () => mse.ForwardBackward(x, t, g)),
            ("cross_entropy", () => ce.ForwardBackward(x, labels, 64, 64, g)),
            ("ciou", () => ciou.ForwardBackward(boxes, targets, boxGradient)));
    }

    private static Half[] H(params double[] v) => Array.ConvertAll(v, x => (Half)x);

    [Fact]
    public void BoxCoder_EncodesDecodesAndDifferentiates_InFloat32()
    {
        // torchvision BoxCoder((1, 1, 1, 1)).encode_single / decode_single (and autograd of the decoded boxes' sum) in
        // float32 on these Half inputs, rounded to half.
        Half[] boxes = H(10, 20, 50, 80, 100.5, 7.25, 400, 300), anchors = H(12, 18, 48, 90, 96, 8, 380, 310);
        var deltas = new Half[8];
        BoxCoder.Unit.Encode<Half>(boxes, anchors, deltas);
        Assert.Equal(H(0.0, -0.0555419921875, 0.1053466796875, -0.182373046875, 0.043121337890625, -0.017791748046875, 0.053131103515625, -0.0311126708984375), deltas);

        Half[] d = H(0.1, -0.2, 0.3, -0.05, 0.02, 0.5, -0.4, 0.25);
        var decoded = new Half[8];
        BoxCoder.Unit.Decode<Half>(d, anchors, decoded);
        Assert.Equal(H(9.296875, 5.359375, 57.90625, 73.875, 148.5, 116.125, 339.0, 504.0), decoded);
        var gradient = new Half[8];
        BoxCoder.Unit.DecodeGradient<Half>(d, anchors, Enumerable.Repeat((Half)1, 8).ToArray(), gradient);
        Assert.Equal(H(72, 144, 0, 0, 568, 604, 0, 0), gradient);
    }

    [Fact]
    public void BoxConvert_AndItsGradient_InFloat32()
    {
        // torchvision.ops.box_convert(xyxy → cxcywh) in float32, and its autograd for the upstream (1, 2, 3, 4).
        var converted = new Half[4];
        BoxConvert.Convert<Half>(H(0.5, 1.25, 300.75, 200.5), BoxFormat.Xyxy, BoxFormat.Cxcywh, converted);
        Assert.Equal(H(150.625, 100.875, 300.25, 199.25), converted);
        var gradient = new Half[4];
        BoxConvert.ConvertGradient<Half>(H(1, 2, 3, 4), BoxFormat.Xyxy, BoxFormat.Cxcywh, gradient);
        Assert.Equal(H(-2.5, -3, 3.5, 5), gradient);
    }

    [Fact]
    public void MatchBoxes_OfBoxesWhoseAreaOverflowsHalf_MatchesTorchvision()
    {
        // torchvision: box_iou upcasts half to float32 → [[0.877, 0]]; Matcher(0.5, 0.4) → [0, −1]. In Half arithmetic
        // the 90,000-pixel areas overflow and the first box matched nothing.
        var matcher = new Matcher(0.5, 0.4);
        var matches = new int[2];
        var quality = new Half[2];
        matcher.MatchBoxes<Half>(H(0, 0, 300, 300), H(10, 10, 310, 310, 400, 400, 500, 500), matches, quality);
        Assert.Equal([0, Matcher.BelowLowThreshold], matches);
        Assert.Equal(H(0.876953125, 0), quality);

        var fromQuality = new int[2];
        matcher.Match<Half>(quality, 1, 2, fromQuality);
        Assert.Equal(matches, fromQuality);
    }

    [Fact]
    public void Float32Path_RunsOnAFreshThread()
    {
        // Each thread keeps its own list of rented buffers, created on its first narrow-type call.
        Half value = default;
        var thread = new Thread(() => value = new MseLoss<Half>().Forward(Fill(10_000, 1), Fill(10_000, 0)));
        thread.Start();
        thread.Join();
        Assert.Equal((Half)1.0, value);
    }
}
