using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Layouts;
using LossKit.MetricLearning;
using LossKit.Regression;
using LossKit.Registry;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Layouts;

/// <summary>
/// The whole text of the layouts' shape messages: what a length must match and why, the names of a product's factors,
/// the layout a rank check expects, and on the <c>losskit eval</c> path (<see cref="LossLayout.Evaluate{T}"/>) the
/// "shape mismatch" naming the loss, the array and the shape that fixes it. Mutation run U found each of these parts
/// removable with every test passing (the tests checked the exception type and parameter, not the text); a weight
/// tensor of shape [0] (not the same as no weight) reached no test either.
/// </summary>
public class LayoutMessageTests
{
    private static ReadOnlyTensorSpan<double> T(params nint[] shape) => ShapedSpans.Zeros<double>(shape);

    private static ReadOnlyTensorSpan<int> I(params nint[] shape) => ShapedSpans.Zeros<int>(shape);

    private static ReadOnlyTensorSpan<double> Huge(nint rows, nint columns) => ShapedSpans.NoElements<double>(rows, columns);

    private static readonly long TooBig = ShapedSpans.PastInt;

    private static readonly nint Big = ShapedSpans.PastIntDimension;

    [Fact]
    public void ClassIndexRows_MessagesSayWhatEachLengthMustBe()
    {
        var ce = new CrossEntropyLoss<double>();
        LossChecks.ThrowsNaming("target", () => ce.Forward(new double[6], new int[2], 3, 2),
            "Expected target to have 3 elements (one class index per row) but it has 2.");
        LossChecks.ThrowsNaming("input", () => ce.Forward(new double[7], new int[3], 3, 2),
            "Expected input to have 6 elements (batch × classes = 3 × 2) but it has 7.");
        LossChecks.ThrowsNaming("target", () => ce.Forward(T(3, 2), I(3, 1)), "target must have rank 1 ([batch]), got shape [3, 1].");
        LossChecks.ThrowsNaming("input", () => ce.Forward(Huge(Big, 0), I(0)),
            $"rows = {TooBig} overflows int (at most {int.MaxValue} elements).");
        LossChecks.ThrowsNaming("input", () => ce.Forward(Huge(0, Big), I(0)),
            $"columns = {TooBig} overflows int (at most {int.MaxValue} elements).");
    }

    [Fact]
    public void Elementwise_MessagesSayOnePerInputElement()
    {
        LossChecks.ThrowsNaming("input", () => new KLDivergenceLoss<double>(Reduction.BatchMean).Forward(Huge(Big, 0), Huge(Big, 0)),
            $"batch = {TooBig} overflows int (at most {int.MaxValue} elements).");
        var mse = new MseLoss<double>();
        LossChecks.ThrowsNaming("target", () => mse.Forward(new double[4], new double[3]), "Expected target to have 4 elements (one per input element) but it has 3.");
        LossChecks.ThrowsNaming("weight", () => mse.Forward(new double[4], new double[4], default, new double[5]),
            "Expected weight to have 4 elements (one per input element) but it has 5.");
    }

    [Fact]
    public void Bins_InputMessageNamesBatchAndBins()
    {
        var dfl = new DistributionFocalLoss<double>();
        LossChecks.ThrowsNaming("input", () => dfl.Forward(new double[11], new double[3], 3, 4),
            "Expected input to have 12 elements (batch × bins = 3 × 4) but it has 11.");
    }

    [Fact]
    public void ScoredRows_LabelsAndWeightAreRankOne_NoEmptyWeight()
    {
        var qfl = new QualityFocalLoss<double>();
        LossChecks.ThrowsNaming("labels", () => qfl.Forward(T(3, 2), I(3, 1), T(3)), "labels must have rank 1 ([batch]), got shape [3, 1].");
        LossChecks.ThrowsNaming("weight", () => qfl.Forward(T(3, 2), I(3), T(3), default, T(3, 1)), "weight must have rank 1 ([batch]), got shape [3, 1].");

        // A weight of shape [0] is not "no weight" (that is the default tensor span). System.Numerics.Tensors has no
        // 0-d tensor span: lengths [] give shape [0].
        LossChecks.ThrowsNaming("weight", () => qfl.Forward(T(3, 2), I(3), T(3), default, T(0)), "weight must have shape [3] to match input [3, 2], got [0].");
        Assert.Equal(qfl.Forward(T(3, 2), I(3), T(3)), qfl.Forward(T(3, 2), I(3), T(3), default, default));
    }

    [Fact]
    public void Boxes_AnEmptyWeightIsNotNoWeight()
    {
        var giou = new GIoULoss<double>(Reduction.Sum);
        LossChecks.ThrowsNaming("weight", () => giou.Forward(T(2, 4), T(2, 4), default, T(0)), "weight must have shape [2], got [0].");
    }

    [Fact]
    public void FeaturesCenters_MessagesNameEveryFactor()
    {
        var center = new CenterLoss<double>();
        double[] x = new double[6], c = new double[12];
        int[] y = [0, 1];
        LossChecks.ThrowsNaming("input", () => center.Forward(x[..5], y, c, 2, 4, 3), "Expected input to have 6 elements (batch × dim = 2 × 3) but it has 5.");
        LossChecks.ThrowsNaming("centers", () => center.Forward(x, y, c[..11], 2, 4, 3), "Expected centers to have 12 elements (classes × dim = 4 × 3) but it has 11.");
        LossChecks.ThrowsNaming("target", () => center.Forward(T(2, 3), I(2, 1), T(4, 3)), "target must have rank 1 ([batch]), got shape [2, 1].");
        LossChecks.ThrowsNaming("centers", () => center.Forward(Huge(2, 0), I(2), Huge(Big, 0)),
            $"classes = {TooBig} overflows int (at most {int.MaxValue} elements).");
        LossChecks.ThrowsNaming("centersGradient", () => center.ForwardBackward(x, y, c, 2, 4, 3, new double[6], c),
            "centersGradient must not overlap input, centers or inputGradient.");
    }

    [Fact]
    public void Pairs_MessagesNameBatchAndDim()
    {
        var loss = new CosineEmbeddingLoss<double>();
        double[] a = new double[6], b = new double[6], t = [1, 1, 1];
        LossChecks.ThrowsNaming("input1", () => loss.Forward(a[..5], b, t, 3, 2), "Expected input1 to have 6 elements (batch × dim = 3 × 2) but it has 5.");
        LossChecks.ThrowsNaming("input2", () => loss.Forward(a, b[..4], t, 3, 2), "Expected input2 to have 6 elements (batch × dim = 3 × 2) but it has 4.");
        LossChecks.ThrowsNaming("target", () => loss.Forward(T(3, 2), T(3, 2), T(3, 1)), "target must have rank 1 ([batch]), got shape [3, 1].");
        // A dimension past int's range is an ArgumentException naming input1 (it was an OverflowException). The batch
        // cannot get there: a target of 2³¹ elements would need the memory.
        LossChecks.ThrowsNaming("input1", () => loss.Forward(Huge(0, Big), Huge(0, Big), T(0)), $"dim = {TooBig} overflows int (at most {int.MaxValue} elements).");
    }

    /// <summary>A "shape mismatch" from <see cref="LossLayout.Evaluate{T}"/>: the whole message, and the input at fault (named first) as the parameter.</summary>
    private static void Mismatch(string id, Dictionary<string, LayoutTensor<double>> inputs, string message)
    {
        LossEntry entry = LossRegistry.Get(id);
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => entry.Evaluate(entry.Arguments(), inputs));
        string name = message.Split(' ')[0];
        Assert.Equal(name, e.ParamName);
        Assert.Equal("shape mismatch: " + message + $" (Parameter '{name}')", e.Message);
    }

    private static LayoutTensor<double> L(string name, params int[] shape) =>
        new(name, shape, [.. Enumerable.Range(0, shape.Aggregate(1, (p, d) => p * d)).Select(i => (double)(i % 3))]);

    [Fact]
    public void Eval_DenseClassIndices_TargetIsTheInputWithoutItsClassDimension()
    {
        LayoutTensor<double> x = L("input", 2, 3, 4, 5);
        const string Needs = "but loss 'cross_entropy' needs [2, 4, 5] for input [2, 3, 4, 5] ([N, C, d1, …, dk])";
        Mismatch("cross_entropy", new() { ["input"] = x, ["target"] = L("target", 2, 4, 6) }, "target has shape [2, 4, 6] " + Needs);
        Mismatch("cross_entropy", new() { ["input"] = x, ["target"] = L("target", 3, 4, 5) }, "target has shape [3, 4, 5] " + Needs);
        Mismatch("cross_entropy", new() { ["input"] = x, ["target"] = L("target", 2, 20) }, "target has shape [2, 20] " + Needs);

        LossEntry ce = LossRegistry.Get("cross_entropy");
        var inputs = new Dictionary<string, LayoutTensor<double>> { ["input"] = x, ["target"] = L("target", 2, 4, 5) };
        LossEvaluation<double> ok = ce.Evaluate(ce.Arguments(), inputs);
        Assert.Equal("input", Assert.Single(ok.Gradients).Name);
        Assert.Equal([2, 3, 4, 5], ok.Gradients[0].Shape);

        // The bound Forward with Reduction.None writes each position's loss (PyTorch's values of the target's shape).
        BoundLoss<double> none = ce.Layout.Bind(ce.Create<double>(ce.Arguments().Set("reduction", Reduction.None)), ce.Arguments().Set("reduction", Reduction.None), inputs);
        Array.Fill(none.Values!.Data, double.NaN);
        none.Forward();
        Assert.Equal([2, 4, 5], none.Values.Shape);
        double[] expected = new double[40];
        new CrossEntropyLoss<double>(Reduction.None).Forward(
            new ReadOnlyTensorSpan<double>(x.Data, [2, 3, 4, 5], []), new ReadOnlyTensorSpan<int>([.. inputs["target"].Data.Select(v => (int)v)], [2, 4, 5], []),
            new TensorSpan<double>(expected, [2, 4, 5], []));
        Assert.Equal(expected, none.Values.Data);
    }

    [Fact]
    public void Eval_CosineHead_WeightSharesTheEmbeddingSize_ValuesAreNamed()
    {
        Mismatch("cosine_head", new() { ["input"] = L("input", 2, 3), ["weight"] = L("weight", 4, 2) },
            "weight has shape [4, 2] but loss 'cosine_head' needs [classes, 3] (the embedding size of input [2, 3])");
        Mismatch("cosine_head", new() { ["input"] = L("input", 6), ["weight"] = L("weight", 4, 6) },
            "input has shape [6] but loss 'cosine_head' needs [batch, dim] embeddings");
        Mismatch("cosine_head", new() { ["input"] = L("input", 2, 3), ["weight"] = L("weight", 1, 4, 3) },
            "weight has shape [1, 4, 3] but loss 'cosine_head' needs [classes, dim] class weights");

        LossEntry entry = LossRegistry.Get("cosine_head");
        LossEvaluation<double> ok = entry.Evaluate(entry.Arguments(), new Dictionary<string, LayoutTensor<double>> { ["input"] = L("input", 2, 3), ["weight"] = L("weight", 4, 3) });
        Assert.Equal("values", ok.Values!.Name);
        Assert.Equal([2, 4], ok.Values.Shape);
        Assert.Equal(["input", "weight"], ok.Gradients.Select(g => g.Name));
    }

    /// <summary>
    /// The cosine head's value through the layout is the sum of its cosines taken once in a wide type: in Half, the
    /// float32 head's cosines summed in double and rounded, not a running sum in Half (4,096 cosines here, where Half's
    /// 11-bit sum drifts by far more than one rounding).
    /// </summary>
    [Fact]
    public void Eval_CosineHead_HalfValueIsTheWideSumRounded()
    {
        var rng = new Random(5);
        Half[] x = [.. Enumerable.Range(0, 64 * 8).Select(_ => (Half)(rng.NextDouble() * 2 - 0.5))];
        Half[] w = [.. Enumerable.Range(0, 64 * 8).Select(_ => (Half)(rng.NextDouble() * 2 - 0.5))];
        LossEntry entry = LossRegistry.Get("cosine_head");
        LossEvaluation<Half> result = entry.Evaluate(entry.Arguments(),
            new Dictionary<string, LayoutTensor<Half>> { ["input"] = new("input", [64, 8], x), ["weight"] = new("weight", [64, 8], w) });
        float[] cosines = new float[64 * 64];
        new CosineHead<float>().Forward([.. x.Select(v => (float)v)], [.. w.Select(v => (float)v)], 64, 64, 8, cosines,
            new float[CosineHead<float>.WorkspaceSize(64, 64, 8)]);
        double sum = cosines.Sum(c => (double)c);
        Assert.True(sum > 1000, $"the case should sum to far past Half's exact integers: {sum}");
        Assert.Equal((Half)sum, result.Value);
    }

    [Fact]
    public void Eval_Center_CentersShareTheFeatureSize()
    {
        Mismatch("center", new() { ["input"] = L("input", 2, 3), ["target"] = L("target", 2), ["centers"] = L("centers", 4, 2) },
            "centers has shape [4, 2] but loss 'center' needs [classes, 3] (the feature size of input [2, 3])");
    }
}
