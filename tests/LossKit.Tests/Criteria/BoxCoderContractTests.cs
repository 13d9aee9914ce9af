using System.Numerics.Tensors;
using LossKit.Criteria;

namespace LossKit.Tests.Criteria;

/// <summary>
/// BoxCoder decode and its gradient where the size clamp decides (exactly on the clip, above, below), for the unit and
/// the RoI-heads weights, and the empty cases. Expected values: torchvision 0.14 <c>BoxCoder.decode_single</c> with
/// autograd, float64 (tests/reference/boxcoder_cases.py); torch.clamp(max) passes the gradient at the bound itself.
/// </summary>
public class BoxCoderContractTests
{
    private static readonly double Clip = Math.Log(1000.0 / 16);

    // Anchor (2, 4, 10, 8): width 8, height 4. Upstream d L / d(x1, y1, x2, y2) = (1, −2, 3, 0.5).
    private static readonly double[] Anchor = [2, 4, 10, 8];
    private static readonly double[] Upstream = [1, -2, 3, 0.5];

    public static TheoryData<string, string, double[], double[]> Cases()
    {
        // Boxes on/above the clip are the same: e^clip = 62.5, so width 8·62.5 = 500 and height 4·62.5 = 250 around the
        // centre (6 + 0.25·8, 6 − 0.5·4) = (8, 4). Gradient (hand check of the unit case): dx: (1 + 3)·8 = 32,
        // dy: (−2 + 0.5)·4 = −6, dw: 0.5·(3 − 1)·8·62.5 = 500, dh: 0.5·(0.5 + 2)·4·62.5 = 312.5; the RoI weights divide
        // each by its weight (10, 10, 5, 5).
        double[] clipped = [-242.00000000000009, -121.00000000000004, 258.00000000000011, 129.00000000000006];
        double[] inside = [1.4051149171994872, 2.44239843385719, 14.594885082800513, 5.55760156614281];
        return new TheoryData<string, string, double[], double[]>
        {
            { "unit", "on_clip", clipped, [32, -6, 500.00000000000017, 312.50000000000011] },
            { "unit", "above_clip", clipped, [32, -6, 0, 0] },
            { "unit", "below_clip", inside, [32, -6, 13.189770165601026, 3.8940039153570245] },
            { "roi", "on_clip", clipped, [3.2000000000000002, -0.59999999999999998, 100.00000000000003, 62.500000000000021] },
            { "roi", "above_clip", clipped, [3.2000000000000002, -0.59999999999999998, 0, 0] },
            { "roi", "below_clip", inside, [3.2000000000000002, -0.59999999999999998, 2.6379540331202049, 0.77880078307140488] },
        };
    }

    private static double[] Deltas(BoxCoder coder, string where) => where switch
    {
        // As boxcoder_cases.py builds them: (0.25·w_x, −0.5·w_y, size·w_w, size·w_h).
        "on_clip" => [0.25 * coder.WeightX, -0.5 * coder.WeightY, Clip * coder.WeightWidth, Clip * coder.WeightHeight],
        "above_clip" => [0.25 * coder.WeightX, -0.5 * coder.WeightY, (Clip + 0.25) * coder.WeightWidth, (Clip + 0.5) * coder.WeightHeight],
        _ => [0.25 * coder.WeightX, -0.5 * coder.WeightY, 0.5 * coder.WeightWidth, -0.25 * coder.WeightHeight],
    };

    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-14 * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeAndGradient_AroundTheClip_AreTorchvisions(string weights, string where, double[] boxes, double[] gradient)
    {
        var coder = weights == "unit" ? BoxCoder.Unit : BoxCoder.RoiHeads;
        double[] deltas = Deltas(coder, where);

        // Two anchors: the case, then a copy, so a per-anchor loop that stops early or runs over fails too.
        double[] anchors = [.. Anchor, .. Anchor];
        double[] d2 = [.. deltas, .. deltas];
        var decoded = new double[8];
        coder.Decode<double>(d2, anchors, decoded);
        var grad = new double[8];
        coder.DecodeGradient<double>(d2, anchors, [.. Upstream, .. Upstream], grad);
        for (int i = 0; i < 8; i++)
        {
            Close(boxes[i % 4], decoded[i], $"box[{i}]");
            Close(gradient[i % 4], grad[i], $"gradient[{i}]");
        }
    }

    /// <summary>Class-specific deltas (K = 3 sets per anchor): set k of anchor a decodes against anchor a only.</summary>
    [Fact]
    public void ClassSpecificSets_DecodeAgainstTheirAnchor()
    {
        double[] anchors = [.. Anchor, 0, 0, 16, 16];
        double[] sets = [.. Deltas(BoxCoder.Unit, "below_clip"), .. Deltas(BoxCoder.Unit, "on_clip"), .. Deltas(BoxCoder.Unit, "above_clip")];
        double[] deltas = [.. sets, .. sets];
        var boxes = new double[24];
        BoxCoder.Unit.Decode<double>(deltas, anchors, boxes);
        var grad = new double[24];
        double[] up = [.. Upstream, .. Upstream, .. Upstream, .. Upstream, .. Upstream, .. Upstream];
        BoxCoder.Unit.DecodeGradient<double>(deltas, anchors, up, grad);
        for (int a = 0; a < 2; a++)
        {
            for (int k = 0; k < 3; k++)
            {
                var one = new double[4];
                BoxCoder.Unit.Decode<double>(sets.AsSpan(4 * k, 4), anchors.AsSpan(4 * a, 4), one);
                var oneGrad = new double[4];
                BoxCoder.Unit.DecodeGradient<double>(sets.AsSpan(4 * k, 4), anchors.AsSpan(4 * a, 4), Upstream, oneGrad);
                Assert.Equal(one, boxes.AsSpan(12 * a + 4 * k, 4).ToArray());
                Assert.Equal(oneGrad, grad.AsSpan(12 * a + 4 * k, 4).ToArray());
            }
        }
    }

    /// <summary>No anchors and no deltas is an empty call (torchvision decodes an empty batch to an empty tensor).</summary>
    [Fact]
    public void Empty_IsNothing()
    {
        var boxes = new double[] { 7, 7 };
        BoxCoder.Unit.Decode<double>([], [], boxes);
        BoxCoder.Unit.DecodeGradient<double>([], [], [], boxes);
        BoxCoder.Unit.Encode<double>([], [], boxes);
        Assert.Equal([7.0, 7.0], boxes);
        Assert.Equal("deltas", Assert.Throws<ArgumentException>(() => BoxCoder.Unit.Decode<double>(new double[4], [], new double[4])).ParamName);
        Assert.Equal("deltas", Assert.Throws<ArgumentException>(() => BoxCoder.Unit.Decode<double>([], Anchor, new double[4])).ParamName);
    }

    /// <summary>Every argument check of the span and tensor entry points names its parameter and what it expected.</summary>
    [Fact]
    public void BadArguments_NameTheParameterAndTheShape()
    {
        var c = BoxCoder.Unit;
        double[] a2 = [0, 0, 4, 4, 1, 1, 5, 5];
        Check(() => c.Encode<double>(new double[8], new double[4], new double[8]), "anchors", "one anchor per box", "has 4");
        Check(() => c.DecodeGradient<double>(new double[8], a2, new double[4], new double[8]), "boxGradient", "one gradient per delta", "has 4");
        Check(() => c.DecodeGradient<double>(new double[8], a2, new double[8], new double[7]), "deltaGradient", "needs 8", "has 7");
        Check(() => c.Decode<double>(new double[12], new double[6], new double[12]), "anchors", "multiple of 4");

        Check(() => c.Encode<double>(T(a2, 2, 4), T(new double[12], 3, 4), T(new double[8], 2, 4)), "anchors", "shape [2, 4]", "got [3, 4]");
        Check(() => c.Encode<double>(T(a2, 2, 4), T(a2, 2, 4), T(new double[4], 1, 4)), "deltas", "shape [2, 4]", "got [1, 4]");
        Check(() => c.Encode<double>(T(a2, 8), T(a2, 8), T(a2, 8)), "boxes", "rank 2", "[N, 4]", "got shape [8]");
        Check(() => c.Decode<double>(T(new double[8], 2, 4), T(new double[10], 2, 5), T(new double[8], 2, 4)), "anchors", "[N, 4]", "got [2, 5]");
        Check(() => c.Decode<double>(T(new double[8], 8), T(a2, 2, 4), T(new double[8], 2, 4)), "deltas", "rank 2", "[N, 4K]", "got shape [8]");
        Check(() => c.Decode<double>(T(new double[8], 2, 4), T(a2, 2, 4), T(new double[16], 2, 8)), "boxes", "shape [2, 4]", "got [2, 8]");
    }

    private static Tensor<double> T(double[] data, params nint[] shape) => Tensor.Create(data, shape);

    private static void Check(Action call, string paramName, params string[] parts)
    {
        var e = Assert.Throws<ArgumentException>(call);
        Assert.Equal(paramName, e.ParamName);
        foreach (string part in parts)
        {
            Assert.Contains(part, e.Message);
        }
    }
}
