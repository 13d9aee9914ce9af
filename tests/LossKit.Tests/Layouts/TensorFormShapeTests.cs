using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.MetricLearning;
using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Layouts;

/// <summary>
/// Every layout's binding of tensor arguments (the <c>From</c> of each call) and the span-level shape checks it feeds:
/// a wrong rank, a wrong row count, a wrong trailing size or a mismatched weight is refused with an ArgumentException
/// that names the parameter and shows the shapes. Mutation run N found these checks removable with no test failing
/// under its filter (the tensor forms were reached only by value tests with well-formed shapes).
/// </summary>
public class TensorFormShapeTests
{
    private static ReadOnlyTensorSpan<double> T(params nint[] shape) => ShapedSpans.Zeros<double>(shape);

    private static TensorSpan<double> G(params nint[] shape) => ShapedSpans.Output<double>(shape);

    private static ReadOnlyTensorSpan<int> I(params nint[] shape) => ShapedSpans.Zeros<int>(shape);

    [Fact]
    public void Elementwise_TargetAndWeight_MustHaveTheInputShape()
    {
        var mse = new MseLoss<double>();
        LossChecks.ThrowsNaming("target", () => mse.Forward(T(3, 4), T(4, 3)), "target must have shape [3, 4], got [4, 3].");
        LossChecks.ThrowsNaming("weight", () => mse.Forward(T(3, 4), T(3, 4), default, T(3, 5)), "weight must have shape [3, 4], got [3, 5].");
        LossChecks.ThrowsNaming("weight", () => mse.Forward(T(3, 4), T(3, 4), default, T(0)), "weight must have shape [3, 4], got [0].");
        Assert.Equal(0.0, mse.Forward(T(3, 4), T(3, 4), default, T(3, 4)));

        // KL's BatchMean divides by the first dimension of the tensor; a scalar input is one batch row.
        var kl = new KLDivergenceLoss<double>(Reduction.BatchMean);
        LossChecks.ThrowsNaming("target", () => kl.Forward(T(2, 3), T(3, 2)), "target must have shape [2, 3], got [3, 2].");
        double[] x = [-1.0, -2.0, -0.5, -1.5, -0.25, -3.0], y = [0.1, 0.2, 0.3, 0.1, 0.2, 0.1];
        double perRow = kl.Forward(new ReadOnlyTensorSpan<double>(x, [2, 3], []), new ReadOnlyTensorSpan<double>(y, [2, 3], []));
        double flat = new KLDivergenceLoss<double>(Reduction.Sum).Forward(x, y, 2);
        Assert.Equal(flat / 2, perRow, 15);
        Assert.Equal(flat, kl.Forward(new ReadOnlyTensorSpan<double>(x, [6], []).Reshape([1, 6]), new ReadOnlyTensorSpan<double>(y, [1, 6], [])), 15);
    }

    [Fact]
    public void ElementwiseSpans_BatchMustDivideTheInput()
    {
        var kl = new KLDivergenceLoss<double>(Reduction.BatchMean);
        LossChecks.ThrowsNaming("batch", () => kl.Forward(new double[6], new double[6], 4), "input length 6 is not a multiple of batch = 4.");
        LossChecks.ThrowsNaming("batch", () => kl.Forward(new double[6], new double[6], 0), "input length 6 is not a multiple of batch = 0.");
        Assert.Equal(0.0, kl.Forward(new double[6], new double[6], 3));
    }

    [Fact]
    public void Boxes_AreNBy4_WithMatchingTargetAndPerBoxWeight()
    {
        var giou = new GIoULoss<double>(Reduction.Sum);
        LossChecks.ThrowsNaming("predicted", () => giou.Forward(T(8), T(8)), "predicted must have rank 2 ([N, 4]), got shape [8].");
        LossChecks.ThrowsNaming("predicted", () => giou.Forward(T(2, 5), T(2, 5)), "predicted must have shape [N, 4], got [2, 5].");
        LossChecks.ThrowsNaming("target", () => giou.Forward(T(2, 4), T(3, 4)), "target must have shape [2, 4], got [3, 4].");
        LossChecks.ThrowsNaming("weight", () => giou.Forward(T(2, 4), T(2, 4), default, T(2, 4)), "weight must have shape [2], got [2, 4].");
        LossChecks.ThrowsNaming("weight", () => giou.Forward(T(2, 4), T(2, 4), default, T(3)), "weight must have shape [2], got [3].");

        // Spans: whole boxes, one target box and one weight per predicted box.
        LossChecks.ThrowsNaming("predicted", () => giou.Forward(new double[7], new double[7]));
        LossChecks.ThrowsNaming("target", () => giou.Forward(new double[8], new double[4]), "one target box per predicted box");
        LossChecks.ThrowsNaming("weight", () => giou.Forward(new double[8], new double[8], default, new double[3]), "one weight per box");
    }

    [Fact]
    public void Bins_InputIsBatchByBins_TargetAndWeightPerRow()
    {
        var dfl = new DistributionFocalLoss<double>();
        LossChecks.ThrowsNaming("input", () => dfl.Forward(T(6), T(6)), "input must have rank 2 ([batch, bins]), got shape [6].");
        LossChecks.ThrowsNaming("target", () => dfl.Forward(T(3, 4), T(3, 1)), "target must have rank 1 ([batch]), got shape [3, 1].");
        LossChecks.ThrowsNaming("target", () => dfl.Forward(T(3, 4), T(2)), "target must have shape [3] to match input [3, 4], got [2].");
        LossChecks.ThrowsNaming("weight", () => dfl.Forward(T(3, 4), T(3), default, T(4)), "weight must have shape [3] to match input [3, 4], got [4].");
        LossChecks.ThrowsNaming("bins", () => dfl.Forward(T(3, 1), T(3)), "bins must be >= 2");

        LossChecks.ThrowsNaming("target", () => dfl.Forward(new double[12], new double[2], 3, 4), "one target per row");
        LossChecks.ThrowsNaming("weight", () => dfl.Forward(new double[12], new double[3], 3, 4, default, new double[2]), "one weight per row");
        LossChecks.ThrowsNaming("input", () => dfl.Forward(new double[11], new double[3], 3, 4));
    }

    [Fact]
    public void ClassIndices_InputIsBatchByClasses_TargetPerRow_ProbabilitiesOfTheInputShape()
    {
        var ce = new CrossEntropyLoss<double>();
        LossChecks.ThrowsNaming("input", () => ce.Forward(T(5), I(5)), "input must have rank");
        LossChecks.ThrowsNaming("target", () => ce.Forward(T(3, 4), I(2)), "got [2]");
        LossChecks.ThrowsNaming("target", () => ce.Forward(T(3, 4), T(4, 3)), "target must have shape [3, 4], got [4, 3].");
        LossChecks.ThrowsNaming("input", () => ce.Forward(T(6), T(6)), "input must have rank 2 ([batch, classes]), got shape [6].");

        // Spans: the matrix must hold batch × classes; probability targets have the input's length.
        LossChecks.ThrowsNaming("classes", () => ce.Forward(new double[6], new int[3], 3, 0), "classes must be >= 1, got 0.");
        LossChecks.ThrowsNaming("target", () => ce.Forward(new double[6], new double[5], 3, 2), "probability targets have the input's shape");
        LossChecks.ThrowsNaming("classes", () => ce.Forward(new double[6], new double[6], 3, 0), "classes must be >= 1, got 0.");
        LossChecks.ThrowsNaming("input", () => ce.Forward(new double[7], new double[7], 3, 2));
    }

    [Fact]
    public void Pairs_BothInputsBatchByDim_TargetPerPair()
    {
        var loss = new CosineEmbeddingLoss<double>();
        LossChecks.ThrowsNaming("input1", () => loss.Forward(T(6), T(6), T(6)), "input1 must have rank 2 ([batch, dim]), got shape [6].");
        LossChecks.ThrowsNaming("input2", () => loss.Forward(T(3, 2), T(2, 3), T(3)), "input2 must have shape [3, 2], got [2, 3].");
        LossChecks.ThrowsNaming("target", () => loss.Forward(T(3, 2), T(3, 2), T(2)), "target must have shape [3] to match input [3, 2], got [2].");
        // The tensor form's gradients: the same element count in another shape is refused too.
        LossChecks.ThrowsNaming("gradient1", () => loss.ForwardBackward(T(3, 2), T(3, 2), T(3), G(2, 3), G(3, 2)), "gradient1 must have shape [3, 2], got [2, 3].");
        LossChecks.ThrowsNaming("gradient1", () => loss.Backward(T(3, 2), T(3, 2), T(3), 1.0, G(2, 3), G(3, 2)), "gradient1 must have shape [3, 2], got [2, 3].");
        LossChecks.ThrowsNaming("gradient2", () => loss.Backward(T(3, 2), T(3, 2), T(3), 1.0, G(3, 2), G(6)), "gradient2 must have shape [3, 2], got [6].");
        LossChecks.ThrowsNaming("gradient2", () => loss.ForwardBackward(T(3, 2), T(3, 2), T(3), G(3, 2), G(2, 3)), "gradient2 must have shape [3, 2], got [2, 3].");

        double[] a = new double[6], b = new double[6], t = [1, 1, 1];
        LossChecks.ThrowsNaming("batch", () => loss.Forward(a, b, t, -1, 2));
        LossChecks.ThrowsNaming("dim", () => loss.Forward(a, b, t, 3, -2));
        LossChecks.ThrowsNaming("input1", () => loss.Forward(a[..5], b, t, 3, 2), "input1");
        LossChecks.ThrowsNaming("input2", () => loss.Forward(a, b[..4], t, 3, 2), "input2");
        LossChecks.ThrowsNaming("target", () => loss.Forward(a, b, t[..2], 3, 2), "one per pair");
        LossChecks.ThrowsNaming("gradient1", () => loss.ForwardBackward(a, b, t, 3, 2, new double[5], new double[6]));
        LossChecks.ThrowsNaming("gradient2", () => loss.ForwardBackward(a, b, t, 3, 2, new double[6], new double[5]));
        LossChecks.ThrowsNaming("destination", () => new CosineEmbeddingLoss<double>(Reduction.None).ForwardBackward(a, b, t, 3, 2, new double[6], new double[6], new double[2]));
    }

    [Fact]
    public void ScoredRows_InputIsBatchByClasses_LabelsScoresAndWeightPerRow()
    {
        var qfl = new QualityFocalLoss<double>();
        LossChecks.ThrowsNaming("input", () => qfl.Forward(T(6), I(6), T(6)), "input must have rank 2 ([batch, classes]), got shape [6].");
        LossChecks.ThrowsNaming("labels", () => qfl.Forward(T(3, 2), I(2), T(3)), "labels must have shape [3] to match input [3, 2], got [2].");
        LossChecks.ThrowsNaming("scores", () => qfl.Forward(T(3, 2), I(3), T(3, 1)), "scores must have rank 1 ([batch]), got shape [3, 1].");
        LossChecks.ThrowsNaming("weight", () => qfl.Forward(T(3, 2), I(3), T(3), default, T(2)), "weight must have shape [3] to match input [3, 2], got [2].");

        LossChecks.ThrowsNaming("labels", () => qfl.Forward(new double[6], new int[2], new double[3], 3, 2), "one label per anchor");
        LossChecks.ThrowsNaming("scores", () => qfl.Forward(new double[6], new int[3], new double[2], 3, 2), "one quality score per anchor");
        LossChecks.ThrowsNaming("weight", () => qfl.Forward(new double[6], new int[3], new double[3], 3, 2, default, new double[4]), "one weight per anchor");
        LossChecks.ThrowsNaming("classes", () => qfl.Forward(new double[6], new int[3], new double[3], 3, 0), "classes must be >= 1, got 0.");
    }

    [Fact]
    public void FeaturesAndCenters_ShareTheEmbeddingSize()
    {
        var center = new CenterLoss<double>();
        LossChecks.ThrowsNaming("input", () => center.Forward(T(6), I(6), T(2, 3)), "input must have rank 2 ([batch, dim]), got shape [6].");
        LossChecks.ThrowsNaming("target", () => center.Forward(T(2, 3), I(3), T(4, 3)), "target must have shape [2] to match input [2, 3], got [3].");
        LossChecks.ThrowsNaming("centers", () => center.Forward(T(2, 3), I(2), T(12)), "centers must have rank 2 ([classes, dim]), got shape [12].");
        LossChecks.ThrowsNaming("centers", () => center.Forward(T(2, 3), I(2), T(4, 2)), "centers must have shape [classes, 3] to match input [2, 3], got [4, 2].");
        Assert.Equal(0.0, center.Forward(T(2, 3), I(2), T(4, 3)));

        double[] x = new double[6], c = new double[12];
        int[] y = [0, 1];
        LossChecks.ThrowsNaming("batch", () => center.Forward(x, y, c, -1, 4, 3));
        LossChecks.ThrowsNaming("classes", () => center.Forward(x, y, c, 2, 0, 3), "classes must be >= 1, got 0.");
        LossChecks.ThrowsNaming("dim", () => center.Forward(x, y, c, 2, 4, -3));
        LossChecks.ThrowsNaming("target", () => center.Forward(x, [0], c, 2, 4, 3), "one class index per row");
        LossChecks.ThrowsNaming("centers", () => center.Forward(x, y, c[..11], 2, 4, 3));
    }
}
