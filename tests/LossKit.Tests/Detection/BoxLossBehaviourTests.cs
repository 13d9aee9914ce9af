using System.Numerics.Tensors;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Detection;

/// <summary>
/// Box losses beyond the golden values: degenerate boxes, validation and bad input (with parameter names),
/// reductions (empty Mean per convention, avgFactor, weights), tensor overloads, and the known deviations from
/// autograd found by the golden tests.
/// </summary>
public class BoxLossBehaviourTests
{
    private static TException Throws<TException>(string paramName, Action action)
        where TException : ArgumentException
    {
        TException e = Assert.ThrowsAny<TException>(action);
        Assert.True(e.ParamName == paramName, $"{e.GetType().Name} names '{e.ParamName}', expected '{paramName}': {e.Message}");
        return e;
    }

    public static TheoryData<string, BoxLossConvention> AllLosses()
    {
        var data = new TheoryData<string, BoxLossConvention>();
        foreach ((string kind, BoxLossConvention convention) in BoxLossGradientTests.Configurations)
        {
            data.Add(kind, convention);
        }

        return data;
    }

    private static BoxRegressionLoss<T> Make<T>(string kind, BoxLossConvention convention, BoxFormat format = BoxFormat.Xyxy, Reduction reduction = Reduction.None, bool validate = false)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        BoxLossGradientTests.Make<T>(kind, convention, format, reduction, validate);

    // ---- degenerate boxes ------------------------------------------------------------------------------------------

    /// <summary>
    /// The single-pair degenerate golden cases (zero width/height/area, inverted, disjoint, touching, nested, coincident
    /// centres, tiny and huge boxes) of every box loss: wherever the reference value or gradient is finite, ours is
    /// finite too (in double; in float except the documented mmdetection-CIoU float32 NaN rows). The values
    /// themselves are held to the golden tolerance by <see cref="DetectionReferenceTests"/>.
    /// </summary>
    [Fact]
    public void DegenerateBoxes_FiniteWhereTheReferenceIsFinite()
    {
        var failures = new List<string>();
        int checkedCases = 0;
        foreach (GoldenCase c in Golden.Detection)
        {
            if (!DetectionIds.IsBox(c.Loss) || !c.Name.Contains("/degenerate_", StringComparison.Ordinal) || c.Input.Shape[0] != 1)
            {
                continue;
            }

            checkedCases++;
            Check<double>(c, failures);
            if (!DetectionReference.ToleranceFor<float>(c).AllowsNaN)
            {
                Check<float>(c, failures);
            }
        }

        Assert.True(checkedCases > 500, $"only {checkedCases} degenerate cases");
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        static void Check<T>(GoldenCase c, List<string> failures)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            BoxRegressionLoss<T> loss = DetectionRunner<T>.MakeBoxLoss(c);
            T[] p = Array.ConvertAll(c.Input.Data, T.CreateTruncating), t = Array.ConvertAll(c.Target.Data, T.CreateTruncating);
            var v = new T[1];
            var g = new T[4];
            loss.ForwardBackward(p, t, g, v);
            if (double.IsFinite(c.Value.Data[0]) && !T.IsFinite(v[0]))
            {
                failures.Add($"{typeof(T).Name} {c.Name}: value {v[0]} where the reference is {c.Value.Data[0]:R}");
            }

            for (int i = 0; i < 4; i++)
            {
                if (double.IsFinite(c.GradInput.Data[i]) && !T.IsFinite(g[i]))
                {
                    failures.Add($"{typeof(T).Name} {c.Name}: gradient [{i}] {g[i]} where the reference is finite");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void ZeroSizeInvertedDisjointAndCoincidentCentres_FiniteUnderEveryLoss(string kind, BoxLossConvention convention)
    {
        // Pairs whose reference formulas stay finite under every convention (no zero height for CIoU's w/h, no
        // zero-area pair for SIoU's |w1 − w2|/max(w1, w2), no identical pair for mmdetection CIoU's α).
        double[] p =
        [
            0, 0, 0, 3,   // zero width
            5, 5, 2, 3,   // inverted
            0, 0, 1, 2,   // disjoint
            0, 2, 4, 4,   // coincident centres
            1, 1, 3, 3,   // nested, coincident centres
        ];
        double[] t =
        [
            -1, -1, 2, 2,
            1, 1, 4, 4,
            5, 6, 8, 9,
            1, 0, 3, 6,
            0, 0, 4, 4,
        ];
        BoxRegressionLoss<double> loss = Make<double>(kind, convention);
        var v = new double[5];
        var g = new double[20];
        loss.ForwardBackward(p, t, g, v);
        Assert.All(v, x => Assert.True(double.IsFinite(x), $"value {x}"));
        Assert.All(g, x => Assert.True(double.IsFinite(x), $"gradient {x}"));
    }

    // ---- validation ------------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void Validate_RejectsNaNAndInvertedBoxes_WithParameterAndIndex(string kind, BoxLossConvention convention)
    {
        BoxRegressionLoss<double> loss = Make<double>(kind, convention, validate: true);
        Assert.True(loss.Validates);
        double[] good = [0, 0, 2, 2, 1, 1, 3, 4, 0, 0, 0, 0];
        double[] nanAt2 = [0, 0, 2, 2, 1, 1, 3, 4, 0, double.NaN, 1, 1];
        double[] invertedAt1 = [0, 0, 2, 2, 3, 1, 1, 4, 0, 0, 1, 1];
        double[] infAt0 = [double.PositiveInfinity, 0, 2, 2, 1, 1, 3, 4, 0, 0, 1, 1];
        var v = new double[3];
        var g = new double[12];
        loss.Forward(good, good, v); // zero-size boxes (x2 == x1) are not inverted

        Assert.Contains("predicted[2]", Throws<ArgumentException>("predicted", () => loss.Forward(nanAt2, good, v)).Message);
        Assert.Contains("predicted[1]", Throws<ArgumentException>("predicted", () => loss.ForwardBackward(invertedAt1, good, g, v)).Message);
        Assert.Contains("predicted[0]", Throws<ArgumentException>("predicted", () => loss.Backward(infAt0, good, [1.0, 1, 1], g)).Message);
        Assert.Contains("target[2]", Throws<ArgumentException>("target", () => loss.Forward(good, nanAt2, v)).Message);
        Assert.Contains("target[1]", Throws<ArgumentException>("target", () => loss.Backward(good, invertedAt1, [1.0, 1, 1], g)).Message);

        // Without validate the same inputs are computed (NaN in, NaN out), as in the references.
        BoxRegressionLoss<double> lenient = Make<double>(kind, convention);
        Assert.False(lenient.Validates);
        lenient.Forward(nanAt2, good, v);
        Assert.True(double.IsNaN(v[2]));
    }

    [Fact]
    public void ValidateBoxes_NamesTheParameterAndTheBox_InEveryFormat()
    {
        double[] ok = [0, 0, 2, 2, 5, 5, 5, 5];
        BoxRegressionLoss<double>.ValidateBoxes(ok, BoxFormat.Xyxy);
        BoxRegressionLoss<float>.ValidateBoxes([0f, 0, 2, 2], BoxFormat.Cxcywh);

        ArgumentException e = Throws<ArgumentException>("boxes", () => BoxRegressionLoss<double>.ValidateBoxes([0, 0, 2, 2, 0, 0, 1, double.NaN], BoxFormat.Xyxy));
        Assert.Contains("boxes[1]", e.Message);
        Assert.Contains("boxes[0]", Throws<ArgumentException>("boxes", () => BoxRegressionLoss<double>.ValidateBoxes([2, 0, 1, 2], BoxFormat.Xyxy)).Message);

        // xywh / cxcywh: a negative width or height is an inverted box.
        Assert.Contains("boxes[1]", Throws<ArgumentException>("boxes", () => BoxRegressionLoss<double>.ValidateBoxes([0, 0, 2, 2, 0, 0, -1, 2], BoxFormat.Xywh)).Message);
        Assert.Contains("boxes[0]", Throws<ArgumentException>("boxes", () => BoxRegressionLoss<double>.ValidateBoxes([5, 5, 2, -0.5], BoxFormat.Cxcywh)).Message);
        Assert.Contains("anchors[0]", Throws<ArgumentException>("anchors", () => BoxRegressionLoss<double>.ValidateBoxes([double.NegativeInfinity, 0, 1, 1], BoxFormat.Xyxy, "anchors")).Message);
        Throws<ArgumentException>("boxes", () => BoxRegressionLoss<double>.ValidateBoxes([0, 0, 1], BoxFormat.Xyxy));
    }

    // ---- bad input -------------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void BadInput_ThrowsNamingTheParameter(string kind, BoxLossConvention convention)
    {
        BoxRegressionLoss<double> none = Make<double>(kind, convention);
        BoxRegressionLoss<double> mean = Make<double>(kind, convention, reduction: Reduction.Mean);
        BoxRegressionLoss<double> sum = Make<double>(kind, convention, reduction: Reduction.Sum);
        double[] p = [0, 0, 2, 2, 1, 1, 3, 4], t = [0, 1, 2, 3, 1, 0, 3, 3];
        var g = new double[8];

        Throws<ArgumentException>("predicted", () => mean.Forward(p[..7], t[..7]));
        Throws<ArgumentException>("predicted", () => mean.ForwardBackward(p[..6], t[..6], g));
        Throws<ArgumentException>("target", () => mean.Forward(p, t[..4]));
        Throws<ArgumentException>("target", () => mean.Backward(p, [.. t, 0, 0, 1, 1], 1.0, g));
        Throws<ArgumentException>("weight", () => mean.Forward(p, t, default, [1.0]));
        Throws<ArgumentException>("weight", () => none.Backward(p, t, [1.0, 1.0], g, [1.0, 2, 3]));
        Throws<ArgumentException>("destination", () => none.Forward(p, t, new double[1]));
        Throws<ArgumentException>("destination", () => none.ForwardBackward(p, t, g, default));
        Throws<ArgumentException>("gradient", () => mean.Backward(p, t, 1.0, new double[7]));
        Throws<ArgumentException>("gradient", () => none.Backward(p, t, [1.0, 1.0], new double[4]));
        Throws<ArgumentException>("gradient", () => mean.ForwardBackward(p, t, new double[5]));
        Throws<ArgumentException>("avgFactor", () => sum.Forward(p, t, default, default, 2.0));
        Throws<ArgumentException>("avgFactor", () => sum.Backward(p, t, 1.0, g, default, 2.0));
        Throws<ArgumentOutOfRangeException>("avgFactor", () => mean.Forward(p, t, default, default, -1.0));
        Throws<ArgumentOutOfRangeException>("avgFactor", () => mean.Forward(p, t, default, default, double.NaN));
        Throws<ArgumentException>("upstream", () => none.Backward(p, t, 1.0, g));
        Throws<ArgumentException>("upstream", () => mean.Backward(p, t, [1.0, 1.0], g));
        Throws<ArgumentException>("upstream", () => none.Backward(p, t, [1.0], g));

        // A valid call still works.
        Assert.True(double.IsFinite(mean.ForwardBackward(p, t, g)));
    }

    [Fact]
    public void BadConstructorArguments_ThrowNamingTheParameter()
    {
        Throws<ArgumentOutOfRangeException>("eps", () => new GIoULoss<double>(eps: -1e-7));
        Throws<ArgumentOutOfRangeException>("eps", () => new CIoULoss<double>(eps: double.NaN));
        Throws<ArgumentOutOfRangeException>("eps", () => new SIoULoss<float>(eps: double.PositiveInfinity));
        Throws<ArgumentOutOfRangeException>("eps", () => new IoULoss<double>(eps: -1));
        Throws<ArgumentOutOfRangeException>("eps", () => new EfficientIoULoss<double>(eps: -1));
        Throws<ArgumentOutOfRangeException>("eps", () => new ExtendedIoULoss<double>(eps: -1));
        Throws<ArgumentOutOfRangeException>("format", () => new DIoULoss<double>(format: (BoxFormat)3));
        Throws<ArgumentOutOfRangeException>("format", () => new ExtendedIoULoss<double>(format: (BoxFormat)(-1)));
        Throws<ArgumentOutOfRangeException>("convention", () => new GIoULoss<double>(convention: (BoxLossConvention)3));
        Throws<ArgumentOutOfRangeException>("convention", () => new CIoULoss<float>(convention: (BoxLossConvention)(-1)));
        Throws<ArgumentOutOfRangeException>("mode", () => new IoULoss<double>(mode: (IoULossMode)3));
        Throws<ArgumentOutOfRangeException>("reduction", () => new GIoULoss<double>((Reduction)7));
        Throws<ArgumentOutOfRangeException>("reduction", () => new CIoULoss<double>(Reduction.BatchMean));
        Throws<ArgumentOutOfRangeException>("smoothPoint", () => new ExtendedIoULoss<double>(smoothPoint: 0));

        // eps = 0 is allowed (the references accept it).
        Assert.Equal(0.0, new GIoULoss<double>(eps: 0).Eps);
    }

    [Fact]
    public void BoxConvertAndBoxOps_BadInput_ThrowNamingTheParameter()
    {
        double[] b = [0, 0, 2, 2, 1, 1, 3, 3];
        var d = new double[8];
        Throws<ArgumentException>("boxes", () => BoxConvert.Convert<double>(b[..5], BoxFormat.Xyxy, BoxFormat.Xywh, d));
        Throws<ArgumentOutOfRangeException>("from", () => BoxConvert.Convert<double>(b, (BoxFormat)5, BoxFormat.Xywh, d));
        Throws<ArgumentOutOfRangeException>("to", () => BoxConvert.Convert<double>(b, BoxFormat.Xyxy, (BoxFormat)5, d));
        Throws<ArgumentException>("destination", () => BoxConvert.Convert<double>(b, BoxFormat.Xyxy, BoxFormat.Xywh, new double[7]));
        Throws<ArgumentException>("gradient", () => BoxConvert.ConvertGradient<double>(b[..3], BoxFormat.Xyxy, BoxFormat.Xywh, d));
        Throws<ArgumentException>("destination", () => BoxConvert.ConvertGradient<double>(b, BoxFormat.Xyxy, BoxFormat.Xywh, new double[4]));

        Throws<ArgumentException>("boxes", () => BoxOps.Area<double>(b[..7], d));
        Throws<ArgumentException>("destination", () => BoxOps.Area<double>(b, new double[1]));
        Throws<ArgumentException>("boxes1", () => BoxOps.Iou<double>(b[..6], b, d));
        Throws<ArgumentException>("boxes2", () => BoxOps.GeneralizedIou<double>(b, b[..6], d));
        Throws<ArgumentException>("destination", () => BoxOps.DistanceIou<double>(b, b, new double[3]));
        Throws<ArgumentOutOfRangeException>("eps", () => BoxOps.CompleteIou<double>(b, b, d, -1));
        Throws<ArgumentException>("boxes2", () => BoxOps.ElementwiseIou<double>(b, b[..4], d));
        Throws<ArgumentException>("destination", () => BoxOps.ElementwiseCompleteIou<double>(b, b, new double[1]));
    }

    /// <summary>Focal-family bad input the smoke tests do not cover: negative γ for each class, the DFL target at
    /// exactly bins − 1 and the QFL label C + 1 (with their index in the message).</summary>
    [Fact]
    public void FocalFamily_BadInput_ThrowNamingTheParameter()
    {
        Throws<ArgumentOutOfRangeException>("gamma", () => new SigmoidFocalLoss<float>(gamma: -1));
        Throws<ArgumentOutOfRangeException>("gamma", () => new SoftmaxFocalLoss<double>(gamma: -1));
        Throws<ArgumentOutOfRangeException>("gamma", () => new VarifocalLoss<float>(gamma: -0.5));
        Throws<ArgumentOutOfRangeException>("beta", () => new QualityFocalLoss<float>(beta: -0.5));

        var dfl = new DistributionFocalLoss<double>();
        double[] x = new double[3 * 17];
        Assert.Contains("target[2]", Throws<ArgumentOutOfRangeException>("target", () => dfl.Forward(x, [0.0, 15.99, 16.0], 3, 17)).Message);
        Assert.True(double.IsFinite(dfl.Forward(x, [0.0, 15.99, 15.999], 3, 17)));
        Throws<ArgumentOutOfRangeException>("target", () => dfl.ForwardBackward(x, [0.0, 16.5, 1.0], 3, 17, new double[x.Length]));

        var qfl = new QualityFocalLoss<double>();
        double[] xq = new double[3 * 4];
        Assert.Contains("labels[1]", Throws<ArgumentOutOfRangeException>("labels", () => qfl.Forward(xq, [0, 5, 4], [0.5, 0.5, 0.5], 3, 4)).Message);
        Assert.True(double.IsFinite(qfl.Forward(xq, [-1, 4, 3], [0.5, 0.5, 0.5], 3, 4))); // background: C or negative
        Throws<ArgumentOutOfRangeException>("labels", () => qfl.Backward(xq, [0, 1, 9], [0.5, 0.5, 0.5], 3, 4, 1.0, new double[12]));
    }

    // ---- reductions ------------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void EmptyInput_MeanIsZeroUnderTorchvision_NaNOtherwise_SumIsZero(string kind, BoxLossConvention convention)
    {
        foreach (BoxFormat f in new[] { BoxFormat.Xyxy, BoxFormat.Cxcywh })
        {
            BoxRegressionLoss<double> mean = Make<double>(kind, convention, f, Reduction.Mean);
            BoxRegressionLoss<float> meanF = Make<float>(kind, convention, f, Reduction.Mean);
            double m = mean.Forward([], []);
            float mf = meanF.Forward([], []);
            double fb = mean.ForwardBackward([], [], []);
            mean.Backward([], [], 1.0, []);
            if (mean.Convention == BoxLossConvention.Torchvision)
            {
                // torchvision: loss.mean() if numel > 0 else 0.0 * loss.sum()
                Assert.Equal(0.0, m);
                Assert.Equal(0f, mf);
                Assert.Equal(0.0, fb);
            }
            else
            {
                // mmdetection and ultralytics take a plain mean: 0/0.
                Assert.True(double.IsNaN(m), $"{kind}/{convention}: {m}");
                Assert.True(float.IsNaN(mf));
                Assert.True(double.IsNaN(fb));
            }

            Assert.Equal(0.0, Make<double>(kind, convention, f, Reduction.Sum).Forward([], []));
            Assert.Equal(0.0, Make<double>(kind, convention, f).Forward([], [], []));

            // With avgFactor the mean is Σ/(avgFactor + ε) = 0 under every convention.
            Assert.Equal(0.0, mean.Forward([], [], default, default, 4.0));
            Assert.Equal(0.0, mean.Forward([], [], default, default, 0.0));
        }
    }

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void AvgFactorAndWeight(string kind, BoxLossConvention convention)
    {
        (double[] p, double[] t) = BoxLossGradientTests.RandomPairs(9, 3);
        double[] w = [0.5, 2, 1, 0, 3, 1.5, 0.25, 1, 2];
        BoxRegressionLoss<double> none = Make<double>(kind, convention);
        BoxRegressionLoss<double> mean = Make<double>(kind, convention, reduction: Reduction.Mean);
        BoxRegressionLoss<double> sum = Make<double>(kind, convention, reduction: Reduction.Sum);
        var plain = new double[9];
        var weighted = new double[9];
        var g = new double[36];
        var gw = new double[36];
        none.Backward(p, t, [1.0, 1, 1, 1, 1, 1, 1, 1, 1], g);
        none.Forward(p, t, plain);
        double returned = none.ForwardBackward(p, t, gw, weighted, w);

        // The weight multiplies each box's value and gradient.
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(plain[i] * w[i], weighted[i]);
            for (int k = 0; k < 4; k++)
            {
                Assert.Equal(g[4 * i + k] * w[i], gw[4 * i + k], 1e-15);
            }
        }

        double weightedSum = weighted.Sum();
        Assert.Equal(weightedSum, returned, 1e-14);
        Assert.Equal(weightedSum, sum.Forward(p, t, default, w), 1e-14);
        Assert.Equal(weightedSum / 9, mean.Forward(p, t, default, w), 1e-14);

        // mmdetection's avg_factor: Mean = Σ / (avgFactor + float32 eps), gradient scaled by the same.
        const double eps = 1.1920928955078125e-07;
        foreach (double avg in new[] { 3.0, 7.5, 0.0 })
        {
            double expected = weightedSum / (avg + eps);
            double value = mean.Forward(p, t, default, w, avg);
            Assert.True(Math.Abs(value - expected) <= 1e-12 * Math.Abs(expected), $"avgFactor {avg}: {value:R} vs {expected:R}");
            var ga = new double[36];
            mean.Backward(p, t, 2.0, ga, w, avg);
            for (int j = 0; j < 36; j++)
            {
                double e = gw[j] * 2.0 / (avg + eps);
                Assert.True(Math.Abs(ga[j] - e) <= 1e-12 * (1 + Math.Abs(e)), $"avgFactor {avg} gradient [{j}]: {ga[j]:R} vs {e:R}");
            }
        }
    }

    // ---- tensor overloads ------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void TensorOverloads_AgreeWithSpans(string kind, BoxLossConvention convention)
    {
        (double[] p, double[] t) = BoxLossGradientTests.RandomPairs(5, 11);
        BoxRegressionLoss<double> none = Make<double>(kind, convention);
        BoxRegressionLoss<double> mean = Make<double>(kind, convention, reduction: Reduction.Mean);
        Tensor<double> tp = Tensor.Create(p, [5, 4]), tt = Tensor.Create(t, [5, 4]);

        var values = new double[5];
        double s = none.Forward(p, t, values);
        var tv = new double[5];
        Assert.Equal(s, none.Forward(tp, tt, Tensor.Create(tv, [5])));
        Tolerance.AssertIdentical<double>(tv, values, "None destination");

        Assert.Equal(mean.Forward(p, t), mean.Forward(tp, tt));

        var g = new double[20];
        var tg = new double[20];
        Assert.Equal(mean.ForwardBackward(p, t, g), mean.ForwardBackward(tp, tt, Tensor.Create(tg, [5, 4])));
        Tolerance.AssertIdentical<double>(tg, g, "ForwardBackward gradient");

        var gn = new double[20];
        var tgn = new double[20];
        var tvn = new double[5];
        none.ForwardBackward(p, t, gn, values);
        none.ForwardBackward(tp, tt, Tensor.Create(tgn, [5, 4]), Tensor.Create(tvn, [5]));
        Tolerance.AssertIdentical<double>(tgn, gn, "None ForwardBackward gradient");
        Tolerance.AssertIdentical<double>(tvn, values, "None ForwardBackward destination");

        var gb = new double[20];
        var tgb = new double[20];
        mean.Backward(p, t, 0.5, gb);
        mean.Backward(tp, tt, 0.5, Tensor.Create(tgb, [5, 4]));
        Tolerance.AssertIdentical<double>(tgb, gb, "Backward gradient");

        // Per-box weight [N] and avgFactor, and the per-box upstream [N] with None.
        double[] w = [1, 0.5, 2, 0, 0.25], up = [1, -2, 0.5, 3, 0];
        Tensor<double> tw = Tensor.Create(w, [5]);
        Assert.Equal(mean.Forward(p, t, default, w, 3.0), mean.Forward(tp, tt, default, tw, 3.0));
        mean.Backward(p, t, 0.5, gb, w, 3.0);
        mean.Backward(tp, tt, 0.5, Tensor.Create(tgb, [5, 4]), tw, 3.0);
        Tolerance.AssertIdentical<double>(tgb, gb, "weighted Backward gradient");
        Assert.Equal(mean.ForwardBackward(p, t, g, default, w, 3.0), mean.ForwardBackward(tp, tt, Tensor.Create(tg, [5, 4]), default, tw, 3.0));
        Tolerance.AssertIdentical<double>(tg, g, "weighted ForwardBackward gradient");
        none.Backward(p, t, up, gn, w);
        none.Backward(tp, tt, Tensor.Create(up, [5]), Tensor.Create(tgn, [5, 4]), tw);
        Tolerance.AssertIdentical<double>(tgn, gn, "per-box upstream Backward gradient");
    }

    [Fact]
    public void TensorOverloads_WrongShapes_ThrowNamingTheParameter()
    {
        var loss = new GIoULoss<float>(Reduction.Mean);
        var none = new GIoULoss<float>();
        float[] data = [0, 0, 2, 2, 1, 1, 3, 4, 0, 0, 1, 1];
        Tensor<float> p = Tensor.Create(data, [3, 4]);
        Tensor<float> t = Tensor.Create((float[])data.Clone(), [3, 4]);
        Tensor<float> g = Tensor.Create(new float[12], [3, 4]);

        Throws<ArgumentException>("predicted", () => loss.Forward(Tensor.Create(data, [12]), t));
        Throws<ArgumentException>("predicted", () => loss.Forward(Tensor.Create(data, [4, 3]), Tensor.Create(data, [4, 3])));
        Throws<ArgumentException>("predicted", () => loss.Forward(Tensor.Create(data, [1, 3, 4]), t));
        Throws<ArgumentException>("predicted", () => loss.Forward(Tensor.Create(data, [2, 6]), Tensor.Create(data, [2, 6])));
        Throws<ArgumentException>("target", () => loss.Forward(p, Tensor.Create(data[..8], [2, 4])));
        Throws<ArgumentException>("target", () => loss.ForwardBackward(p, Tensor.Create(data, [12]), g));
        Throws<ArgumentException>("gradient", () => loss.ForwardBackward(p, t, Tensor.Create(new float[12], [12])));
        Throws<ArgumentException>("gradient", () => loss.Backward(p, t, 1f, Tensor.Create(new float[8], [2, 4])));
        Throws<ArgumentException>("destination", () => none.Forward(p, t, Tensor.Create(new float[2], [2])));
        Throws<ArgumentException>("weight", () => loss.Forward(p, t, default, Tensor.Create(new float[12], [3, 4])));
        Throws<ArgumentException>("upstream", () => none.Backward(p, t, Tensor.Create(new float[4], [4]), g));
        Throws<ArgumentException>("upstream", () => loss.Backward(p, t, Tensor.Create(new float[3], [3]), g));

        // Non-dense views are rejected with the parameter's name.
        Tensor<float> strided = Tensor.Create(new float[24], [3, 4], [8, 1]);
        Throws<ArgumentException>("predicted", () => loss.Forward(strided, t));
        Throws<ArgumentException>("target", () => loss.Forward(p, strided));

        // Empty [0, 4] tensors are fine.
        Assert.Equal(0f, loss.Forward(Tensor.Create(Array.Empty<float>(), [0, 4]), Tensor.Create(Array.Empty<float>(), [0, 4])));
    }

    // ---- deviations from autograd found by the golden tests (library bugs: these fail until fixed) ---------------

    /// <summary>
    /// Library bug. SIoU of a zero-size box against itself (golden siou_mmdet/degenerate_zero_area_identical): the value
    /// is NaN (ω_w = |w1 − w2|/max(w1, w2) = 0/0) in both. Autograd's clamp backward masks a NaN input
    /// ((x ≥ min) &amp; (x ≤ max) is false), so torch's gradient is [NaN, 0, NaN, 0]: the y coordinates get exactly 0.
    /// LossKit's Dual.Clamp passes the derivatives of a NaN input through, giving y gradients of ≈ 1.4e6 (a finite,
    /// large gradient on a NaN loss). Same for zero_width_identical ([2, 1, 2, 4]: ≈ 5.5e-8 instead of 0).
    /// </summary>
    [Theory]
    [InlineData(1.0, 1.0, 1.0, 1.0, false)]
    [InlineData(2.0, 1.0, 2.0, 4.0, false)]
    [InlineData(1.0, 1.0, 1.0, 1.0, true)]
    public void SIoU_NaNValue_GradientThroughClampIsZeroAsAutograd(double x1, double y1, double x2, double y2, bool negGamma)
    {
        double[] box = [x1, y1, x2, y2];
        var v = new double[1];
        var g = new double[4];
        new SIoULoss<double>(Reduction.None, 1e-6, negGamma).ForwardBackward(box, box, g, v);
        Assert.True(double.IsNaN(v[0]));
        Assert.True(g[1] == 0 && g[3] == 0, $"torch: [NaN, 0, NaN, 0]; LossKit: [{string.Join(", ", g)}]");
    }

    /// <summary>
    /// Library bug. Ultralytics CIoU in centre format with a zero-size box against itself (golden
    /// ciou_ultra/degenerate_zero_area_identical/none/eps=1e-07,xywh=true): v = (4/π²)(atan(0/0) − atan(0/0))² is NaN
    /// and only depends on w and h, so autograd gives the centre coordinates exactly 0: [0, 0, NaN, NaN]. LossKit
    /// gives NaN for all four: Dual's product a·b = (a.D·b.V + a.V·b.D) has no structural-zero guard, so
    /// Square(atan(w/h) − …) turns the centre's zero derivative into 0·NaN = NaN (the division and the unary functions
    /// do guard, see Dual.Z), and so does v·α with the NaN α.
    /// </summary>
    [Fact]
    public void UltralyticsCIoU_CentreFormat_ZeroSizeIdentical_CentreGradientIsZero()
    {
        double[] box = [1, 1, 0, 0];
        var v = new double[1];
        var g = new double[4];
        new CIoULoss<double>(Reduction.None, 1e-7, BoxFormat.Cxcywh, BoxLossConvention.Ultralytics).ForwardBackward(box, box, g, v);
        Assert.True(double.IsNaN(v[0]));
        Assert.True(g[0] == 0 && g[1] == 0, $"torch: [0, 0, NaN, NaN]; LossKit: [{string.Join(", ", g)}]");
    }

    /// <summary>
    /// Library bug. IoULoss with the Ultralytics convention silently ignores <c>mode</c>: Square and Log return the
    /// Linear value 1 − IoU (e.g. pred [1, 1, 3, 4], target [0, 0, 3, 3]: 0.63636… in all three modes, where Square
    /// should be 1 − IoU² ≈ 0.868 and Log −ln IoU ≈ 1.012): the mode is applied to ultralytics' IoU.
    /// </summary>
    [Theory]
    [InlineData(IoULossMode.Square)]
    [InlineData(IoULossMode.Log)]
    public void IoULoss_Ultralytics_AppliesMode(IoULossMode mode)
    {
        double[] p = [1, 1, 3, 4], t = [0, 0, 3, 3];
        var loss = new IoULoss<double>(Reduction.None, mode, 1e-7, BoxFormat.Xyxy, BoxLossConvention.Ultralytics);

        var linear = new double[1];
        var value = new double[1];
        new IoULoss<double>(Reduction.None, IoULossMode.Linear, 1e-7, BoxFormat.Xyxy, BoxLossConvention.Ultralytics).Forward(p, t, linear);
        loss.Forward(p, t, value);
        double iou = 1 - linear[0];
        double expected = mode == IoULossMode.Square ? 1 - iou * iou : -Math.Log(Math.Max(iou, 1e-7));
        Assert.True(Math.Abs(value[0] - expected) <= 1e-12, $"{mode} with Ultralytics: expected {expected:R}, got {value[0]:R} (= Linear {linear[0]:R})");
    }
}
