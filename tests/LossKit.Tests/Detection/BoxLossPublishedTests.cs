using LossKit.Detection;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Detection;

/// <summary>
/// Published numbers of the box losses: torchvision's test_losses.py values (GIoU, DIoU = CIoU on square boxes), the
/// float64 GIoU values with gradients of REFERENCES.md §3, and named golden cases that exercise what those tests do
/// not (CIoU's aspect term on non-square boxes, ties, touching boxes).
/// </summary>
public class BoxLossPublishedTests
{
    private static readonly double[] B1 = [-1, -1, 1, 1], B2 = [0, 0, 1, 1], B3 = [0, 1, 1, 2], B4 = [1, 1, 2, 2];

    private static T One<T>(BoxRegressionLoss<T> loss, double[] p, double[] t)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var v = new T[1];
        loss.Forward(Array.ConvertAll(p, T.CreateTruncating), Array.ConvertAll(t, T.CreateTruncating), v);
        return v[0];
    }

    private static void Near(double expected, double actual, double abs, string what) =>
        Assert.True(Math.Abs(expected - actual) <= abs, $"{what}: expected {expected:R} ± {abs}, got {actual:R}");

    // ---- torchvision test_losses.py ------------------------------------------------------------------------------

    public static TheoryData<string, string, double> GIoUPairs() => new()
    {
        { "b1", "b1", 0.0 },
        { "b1", "b2", 0.75 },
        { "b2", "b3", 1.0 },
        // torchvision's eps 1e-7 in (C − U)/(C + eps) makes it 1.4999999875; the test compares to 1e-7.
        { "b2", "b4", 1.5 },
    };

    private static double[] Box(string name) => name switch { "b1" => B1, "b2" => B2, "b3" => B3, _ => B4 };

    [Theory]
    [MemberData(nameof(GIoUPairs))]
    public void GIoU_TorchvisionTestValues(string a, string b, double expected)
    {
        Near(expected, One(new GIoULoss<double>(), Box(a), Box(b)), 1e-7, $"double GIoU({a}, {b})");
        Near(expected, One(new GIoULoss<float>(), Box(a), Box(b)), 1e-7, $"float GIoU({a}, {b})");
    }

    [Fact]
    public void GIoU_B2B4_CarriesTorchvisionEps()
    {
        // 1 − (0 − (4 − 2)/(4 + 1e-7)) = 1 + 2/(4 + 1e-7) = 1.4999999875 (torchvision's own value, not 1.5).
        Near(1.4999999875, One(new GIoULoss<double>(), B2, B4), 1e-15, "double GIoU(b2, b4)");
    }

    [Fact]
    public void GIoU_Batched_SumAndMean()
    {
        double[] p = [.. B2, .. B2], t = [.. B3, .. B4];
        Near(2.5, new GIoULoss<double>(Reduction.Sum).Forward(p, t), 1e-7, "sum");
        Near(1.25, new GIoULoss<double>(Reduction.Mean).Forward(p, t), 1e-7, "mean");
        float[] pf = Array.ConvertAll(p, v => (float)v), tf = Array.ConvertAll(t, v => (float)v);
        Near(2.5, new GIoULoss<float>(Reduction.Sum).Forward(pf, tf), 1e-6, "float sum");
        Near(1.25, new GIoULoss<float>(Reduction.Mean).Forward(pf, tf), 1e-6, "float mean");
    }

    public static TheoryData<string, string, double> DIoUPairs() => new()
    {
        { "b1", "b1", 0.0 },
        { "b1", "b2", 0.8125 },
        { "b1", "b3", 1.1923 },
        { "b1", "b4", 1.25 },
    };

    /// <summary>All four boxes are square, so v = 0 and CIoU = DIoU; the published numbers have 4 decimals.</summary>
    [Theory]
    [MemberData(nameof(DIoUPairs))]
    public void DIoUAndCIoU_TorchvisionTestValues(string a, string b, double expected)
    {
        Near(expected, One(new DIoULoss<double>(), Box(a), Box(b)), 1e-4, $"DIoU({a}, {b})");
        Near(expected, One(new CIoULoss<double>(), Box(a), Box(b)), 1e-4, $"CIoU({a}, {b})");
        Near(expected, One(new DIoULoss<float>(), Box(a), Box(b)), 1e-4, $"float DIoU({a}, {b})");
        Near(expected, One(new CIoULoss<float>(), Box(a), Box(b)), 1e-4, $"float CIoU({a}, {b})");
        Assert.Equal(One(new DIoULoss<double>(), Box(a), Box(b)), One(new CIoULoss<double>(), Box(a), Box(b)));
    }

    [Fact]
    public void DIoUAndCIoU_Batched_SumAndMean()
    {
        double[] p = [.. B2, .. B2], t = [.. B3, .. B4];
        foreach (Reduction r in new[] { Reduction.Sum, Reduction.Mean })
        {
            double expected = r == Reduction.Sum ? 2.45 : 1.225;
            Near(expected, new DIoULoss<double>(r).Forward(p, t), 1e-4, $"DIoU {r}");
            Near(expected, new CIoULoss<double>(r).Forward(p, t), 1e-4, $"CIoU {r}");
        }
    }

    // ---- float64 GIoU values with gradients (REFERENCES.md §3) ---------------------------------------------------

    public static TheoryData<double[], double[], double, double[]> GIoUFloat64() => new()
    {
        { [0, 0, 10, 10], [2, 2, 12, 8], 0.6380952384223356, [-0.03270975050782178, -0.0482653060513403, -0.07159863940750527, 0.0482653060513403] },
        { [5, 5, 15, 25], [20, 20, 30, 30], 1.5199999999168, [0.012799999994624, -0.003200000002815999, -0.03199999999488, -0.01599999999744] },
    };

    [Theory]
    [MemberData(nameof(GIoUFloat64))]
    public void GIoU_Float64ValuesAndGradients(double[] p, double[] t, double value, double[] gradient)
    {
        var loss = new GIoULoss<double>(Reduction.Sum);
        var g = new double[4];
        double v = loss.ForwardBackward(p, t, g);
        Near(value, v, 1e-12, "value");
        Near(value, loss.Forward(p, t), 1e-12, "Forward value");
        for (int i = 0; i < 4; i++)
        {
            Near(gradient[i], g[i], 1e-12, $"d/dx[{i}]");
        }

        var b = new double[4];
        loss.Backward(p, t, 1.0, b);
        Tolerance.AssertIdentical<double>(b, g, "Backward vs ForwardBackward");
    }

    // ---- named golden cases --------------------------------------------------------------------------------------

    /// <summary>
    /// torchvision's tests only use square boxes (v = 0), so CIoU's aspect term is never exercised there. These golden
    /// cases are non-square; the aspect term α·v must contribute (CIoU ≠ DIoU) and match the reference.
    /// </summary>
    [Theory]
    [InlineData("ciou/degenerate_non_square_overlap/none/eps=1e-07,in_fmt=xyxy/n=1")]
    [InlineData("ciou/degenerate_non_square_high_iou/none/eps=1e-07,in_fmt=xyxy/n=1")]
    [InlineData("ciou/degenerate_non_square_cross/none/eps=1e-07,in_fmt=xyxy/n=1")]
    [InlineData("ciou_mmdet/degenerate_non_square_high_iou/none/eps=1e-06/n=1")]
    [InlineData("ciou_ultra/degenerate_non_square_overlap/none/eps=1e-07,xywh=false/n=1")]
    public void CIoU_NonSquare_AspectTermMatchesReference(string name)
    {
        DetectionReference.Assert<double>(name);
        DetectionReference.Assert<float>(name);
        GoldenCase c = Golden.GetDetection(name);
        string diouName = name.Replace("ciou", "diou", StringComparison.Ordinal);
        GoldenCase d = Golden.GetDetection(diouName);
        double aspect = c.Value.Data[0] - d.Value.Data[0];
        Assert.True(aspect > 1e-5, $"{name}: the aspect term α·v should contribute, CIoU − DIoU = {aspect}");
        Near(aspect, One(BoxLoss(c), c.Input.Data, c.Target.Data) - One(BoxLoss(d), d.Input.Data, d.Target.Data), 1e-12, "CIoU − DIoU");
    }

    /// <summary>
    /// The non-square torchvision CIoU golden case by name: pred [0, 0, 6, 2] (3:1), target [1, 0.5, 4, 3] (6:5), so
    /// v = (4/π²)(atan(6/5) − atan(3))² ≠ 0 and CIoU = DIoU + α·v with the detached α = v/((1 − IoU) + v + eps).
    /// </summary>
    [Fact]
    public void CIoU_NonSquareOverlap_TorchvisionGoldenCase()
    {
        const string name = "ciou/degenerate_non_square_overlap/none/eps=1e-07,in_fmt=xyxy/n=1";
        GoldenCase c = Golden.GetDetection(name);
        Assert.Equal([0, 0, 6, 2], c.Input.Data);
        Assert.Equal([1, 0.5, 4, 3], c.Target.Data);
        DetectionReference.Assert<double>(name);
        DetectionReference.Assert<float>(name);

        // The aspect term by hand: inter = 3 × 1.5 = 4.5, union = 12 + 7.5 − 4.5 = 15.
        double iou = 4.5 / (15 + 1e-7);
        double dv = Math.Atan(3.0 / 2.5) - Math.Atan(6.0 / 2.0);
        double v = 4 / (Math.PI * Math.PI) * dv * dv;
        double alpha = v / (1 - iou + v + 1e-7);
        double ciou = One(new CIoULoss<double>(), c.Input.Data, c.Target.Data);
        double diou = One(new DIoULoss<double>(), c.Input.Data, c.Target.Data);
        Assert.True(v > 0.05, $"v = {v}");
        Near(alpha * v, ciou - diou, 1e-12, "CIoU − DIoU = α·v");
        Near(c.Value.Data[0], ciou, 1e-12, "golden value");
    }

    private static BoxRegressionLoss<double> BoxLoss(GoldenCase c) => DetectionRunner<double>.MakeBoxLoss(c);

    /// <summary>
    /// Identical boxes tie on every edge: torch.maximum/minimum give each side half the gradient. The golden gradient
    /// is that; it is also the mean of the one-sided gradients with the ties broken both ways (pred grown by δ, where
    /// the prediction wins the enclosing max/min, and shrunk by δ, where it wins the intersection's).
    /// </summary>
    [Theory]
    [InlineData("giou/degenerate_identical/none/eps=1e-07,in_fmt=xyxy/n=1")]
    [InlineData("giou/degenerate_identical_square/none/eps=1e-07,in_fmt=xyxy/n=1")]
    [InlineData("diou/degenerate_identical/none/eps=1e-07,in_fmt=xyxy/n=1")]
    [InlineData("ciou/degenerate_identical/none/eps=1e-07,in_fmt=xyxy/n=1")]
    public void IdenticalBoxes_TieGradientIsHalved(string name)
    {
        DetectionReference.Assert<double>(name);
        DetectionReference.Assert<float>(name);
        GoldenCase c = Golden.GetDetection(name);
        BoxRegressionLoss<double> loss = BoxLoss(c);
        double[] box = c.Input.Data;
        var tie = new double[4];
        loss.Backward(box, c.Target.Data, [1.0], tie);
        Assert.Contains(tie, g => g != 0);

        const double delta = 1e-7;
        double[] grown = [box[0] - delta, box[1] - delta, box[2] + delta, box[3] + delta];
        double[] shrunk = [box[0] + delta, box[1] + delta, box[2] - delta, box[3] - delta];
        var gGrown = new double[4];
        var gShrunk = new double[4];
        loss.Backward(grown, c.Target.Data, [1.0], gGrown);
        loss.Backward(shrunk, c.Target.Data, [1.0], gShrunk);
        for (int i = 0; i < 4; i++)
        {
            Near(0.5 * (gGrown[i] + gShrunk[i]), tie[i], 1e-6, $"{name}: tie gradient [{i}] vs mean of one-sided gradients");
        }

        Assert.True(Enumerable.Range(0, 4).Any(i => Math.Abs(gGrown[i] - gShrunk[i]) > 1e-3), $"{name}: the two sides should differ (a real kink)");
    }

    /// <summary>
    /// Touching boxes (zero-width intersection): torchvision's strict mask (xk2 &gt; xk1) gives inter = 0 with no
    /// gradient through it; mmdetection's clamp(min = 0) passes it at exactly 0, so ∂inter/∂x2 = overlap height
    /// reaches the prediction's right edge. Both against the golden file, and they differ on that edge.
    /// </summary>
    [Fact]
    public void TouchingBoxes_TorchvisionMaskVsMMDetectionClamp()
    {
        const string tv = "giou/degenerate_touching_edge/none/eps=1e-07,in_fmt=xyxy/n=1";
        const string mm = "giou_mmdet/degenerate_touching_edge/none/eps=1e-06/n=1";
        foreach (string name in new[] { tv, mm })
        {
            DetectionReference.Assert<double>(name);
            DetectionReference.Assert<float>(name);
        }

        // pred [0, 0, 2, 3], target [2, 1, 5, 3]: overlap width min(2, 5) − max(0, 2) = 0, overlap height 2.
        GoldenCase ctv = Golden.GetDetection(tv), cmm = Golden.GetDetection(mm);
        Assert.Equal([0, 0, 2, 3], ctv.Input.Data);
        Assert.Equal([2, 1, 5, 3], ctv.Target.Data);
        var gtv = new double[4];
        var gmm = new double[4];
        BoxLoss(ctv).Backward(ctv.Input.Data, ctv.Target.Data, [1.0], gtv);
        BoxLoss(cmm).Backward(cmm.Input.Data, cmm.Target.Data, [1.0], gmm);

        // U = 6 + 6 − 0 = 12, C = 5 × 3 = 15; x2 = 2 is not the enclosing edge (5 is), so ∂C/∂x2 = 0 and ∂area/∂x2 = 3.
        // torchvision: loss = 1 − iou + (C − U)/(C + eps) with no gradient through iou: d/dx2 = −3/(C + eps).
        Near(-3.0 / (15 + 1e-7), gtv[2], 1e-12, "torchvision d/dx2 (no intersection gradient)");

        // mmdetection: ∂overlap/∂x2 = overlap height 2 (clamp passes at 0), ∂U/∂x2 = 3 − 2 = 1, ∂IoU/∂x2 = 2/U:
        // d/dx2 = −2/12 + (0 − 1)/15.
        Near(-2.0 / 12 - 1.0 / 15, gmm[2], 1e-12, "mmdetection d/dx2 (clamp passes ∂inter/∂w = h)");
        Assert.True(Math.Abs(gtv[2] - gmm[2]) > 0.03, "the intersection gradient should separate the conventions");
    }
}
