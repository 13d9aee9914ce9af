using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;
using Xunit;

namespace LossKit.Tests.Detection;

/// <summary>
/// Quick checks of the focal family: literature numbers, high-precision values of the formulas (mpmath, 40 digits),
/// finite-difference gradients in double, the three entry points agreeing, vector and scalar paths agreeing,
/// stability at ±1e4 and argument validation. The PyTorch golden-file tests live elsewhere.
/// </summary>
public class FocalSmokeTests
{
    // ---- helpers ------------------------------------------------------------------------------------------------

    private static double[] Random(int n, int seed, double lo, double hi)
    {
        var rng = new Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = lo + (hi - lo) * rng.NextDouble();
        }

        return a;
    }

    private static void Close(double expected, double actual, double rel, string what = "")
    {
        double tol = rel * Math.Max(Math.Abs(expected), 1e-300);
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R} (rel tol {rel})");
    }

    private static void CloseAbs(double expected, double actual, double rel, double abs, string what = "")
    {
        double tol = rel * Math.Abs(expected) + abs;
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R}");
    }

    /// <summary>Central differences of <paramref name="f"/> at <paramref name="x"/> against <paramref name="analytic"/>.</summary>
    private static void CheckGradient(Func<double[], double> f, double[] x, ReadOnlySpan<double> analytic, string what)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double h = 1e-6 * Math.Max(1.0, Math.Abs(x[i]));
            double keep = x[i];
            x[i] = keep + h;
            double up = f(x);
            x[i] = keep - h;
            double down = f(x);
            x[i] = keep;
            double numeric = (up - down) / (2 * h);
            CloseAbs(numeric, analytic[i], 1e-6, 1e-8, $"{what} d/dx[{i}]");
        }
    }

    private static double Logit(double p) => Math.Log(p / (1 - p));

    // ---- sigmoid focal ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1.0, 0.95, 3.20583e-5)]
    [InlineData(0.0, 0.05, 9.61749e-5)]
    [InlineData(1.0, 0.05, 0.675912)]
    [InlineData(0.0, 0.95, 2.027736)]
    [InlineData(1.0, 0.99, 2.51258e-7)]
    [InlineData(0.0, 0.01, 7.53775e-7)]
    public void SigmoidFocal_LiteratureNumbers(double target, double p, double expected)
    {
        var loss = new SigmoidFocalLoss<double>();
        var value = new double[1];
        loss.Forward([Logit(p)], [target], value);
        Close(expected, value[0], 5e-6, "double");

        var lossF = new SigmoidFocalLoss<float>();
        var valueF = new float[1];
        lossF.Forward([(float)Logit(p)], [(float)target], valueF);
        Close(expected, valueF[0], 1e-4, "float");
    }

    [Theory]
    [InlineData(0.25, 2.0)]
    [InlineData(-1.0, 2.0)]
    [InlineData(0.5, 0.0)]
    [InlineData(0.25, 1.0)]
    [InlineData(0.25, 1.5)]
    [InlineData(0.25, 0.5)]
    [InlineData(0.25, 3.0)]
    [InlineData(0.25, 4.0)]
    [InlineData(0.25, 2.7)]
    public void SigmoidFocal_GradientMatchesFiniteDifferences(double alpha, double gamma)
    {
        const int n = 37;
        double[] x = Random(n, 1, -4, 4);
        double[] t = Random(n, 2, 0, 1);
        for (int i = 0; i < n; i += 3)
        {
            t[i] = i % 2; // hard targets too
        }

        var loss = new SigmoidFocalLoss<double>(Reduction.Sum, alpha, gamma);
        var g = new double[n];
        loss.ForwardBackward(x, t, g);
        CheckGradient(v => loss.Forward(v, t), x, g, $"sigmoid focal α={alpha} γ={gamma}");
    }

    [Fact]
    public void SigmoidFocal_AlphaMinusOneGammaZero_IsBceWithLogits()
    {
        // Moderate logits: BinaryCrossEntropyWithLogitsLoss groups softplus as (1 − t)·x + (max(−x, 0) + log1p), which
        // cancels for t = 0, x ≪ 0; the focal losses add (1 − t)·x + max(−x, 0) first (see the next test).
        const int n = 41;
        double[] x = Random(n, 3, -6, 6);
        double[] t = Random(n, 4, 0, 1);
        var focal = new SigmoidFocalLoss<double>(Reduction.None, alpha: -1, gamma: 0);
        var bce = new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.None);
        double[] fv = new double[n], fg = new double[n], bv = new double[n], bg = new double[n];
        focal.ForwardBackward(x, t, fg, fv);
        bce.ForwardBackward(x, t, bg, bv);
        for (int i = 0; i < n; i++)
        {
            Close(bv[i], fv[i], 1e-12, "value");
            Assert.Equal(bg[i], fg[i]);
        }
    }

    [Fact]
    public void SigmoidFocal_CrossEntropyKeepsItsDigitsInTheTail()
    {
        // t = 0, x = −30: ce = log1p(e^−30) = 9.3576229688397368e-14 (mpmath); no cancellation against x.
        var loss = new SigmoidFocalLoss<double>(Reduction.None, alpha: -1, gamma: 0);
        var v = new double[2];
        loss.Forward([-30.0, 30.0], [0.0, 1.0], v);
        Close(9.3576229688397368e-14, v[0], 1e-14);
        Close(9.3576229688397368e-14, v[1], 1e-14);

        var lossF = new SigmoidFocalLoss<float>(Reduction.None, alpha: -1, gamma: 0);
        var vf = new float[1];
        lossF.Forward([-12f], [0f], vf);
        Close(6.1441934777328e-06, vf[0], 1e-6, "float");
    }

    [Fact]
    public void SigmoidFocal_GammaBelowOne_SaturatedForeground_GivesDocumentedNaNGradient()
    {
        var loss = new SigmoidFocalLoss<double>(Reduction.None, gamma: 0.5);
        var v = new double[1];
        var g = new double[1];
        loss.ForwardBackward([1e4], [1.0], g, v);
        Assert.Equal(0.0, v[0]);
        Assert.True(double.IsNaN(g[0]));
    }

    // ---- softmax focal ------------------------------------------------------------------------------------------

    private static readonly double[] SoftmaxInput = [1.0, -0.5, 2.0, 0.3, 0.2, 0.1, -1.0, 3.0, -2.0, 0.5, 0.5, 1.5];

    [Fact]
    public void SoftmaxFocal_MatchesFormula()
    {
        var loss = new SoftmaxFocalLoss<double>(Reduction.None);
        var v = new double[3];
        var g = new double[12];
        loss.ForwardBackward(SoftmaxInput, [2, 0, -100], 3, 4, g, v);
        Close(0.018401587478046500411, v[0], 1e-13);
        Close(0.65513443957942658067, v[1], 1e-13);
        Assert.Equal(0.0, v[2]);
        double[] expectedRow0 = [0.021566466765906562536, 0.0048121291833125208165, -0.037088186399874130658, 0.010709590450655047305];
        for (int j = 0; j < 4; j++)
        {
            Close(expectedRow0[j], g[j], 1e-12, $"grad[{j}]");
            Assert.Equal(0.0, g[8 + j]);
        }

        var perClass = new SoftmaxFocalLoss<double>(Reduction.None, classAlpha: new double[] { 0.1, 0.2, 0.3, 0.4 }, weight: new double[] { 1, 2, 0.5, 1 });
        perClass.Forward(SoftmaxInput, [2, 0, -100], 3, 4, v);
        Close(0.011040952486827900247, v[0], 1e-13);
        Close(0.26205377583177063227, v[1], 1e-13);

        var gamma15 = new SoftmaxFocalLoss<double>(Reduction.None, gamma: 1.5);
        gamma15.Forward(SoftmaxInput, [2, 3, 1], 3, 4, v);
        Close(0.0012802096371344113522, v[1], 1e-13);

        // Mean divides by the batch (ignored rows included), as mmcv.
        var mean = new SoftmaxFocalLoss<double>();
        Close((0.018401587478046500411 + 0.65513443957942658067) / 3, mean.Forward(SoftmaxInput, [2, 0, -100], 3, 4), 1e-13);
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(0.7)]
    public void SoftmaxFocal_GradientMatchesFiniteDifferences(double gamma)
    {
        const int batch = 6, classes = 19;
        double[] x = Random(batch * classes, 5, -3, 3);
        int[] y = [0, 18, 7, -100, 9, 3];
        var loss = new SoftmaxFocalLoss<double>(Reduction.Mean, gamma, 0.4, weight: Random(classes, 6, 0.5, 2));
        var g = new double[x.Length];
        loss.ForwardBackward(x, y, batch, classes, g);
        CheckGradient(v => loss.Forward(v, y, batch, classes), x, g, $"softmax focal γ={gamma}");
    }

    // ---- quality focal ------------------------------------------------------------------------------------------

    private static readonly double[] QflInput = [0.3, -1.0, 2.5, -0.2, 0.0, 1.0, -3.0, 0.4, -0.7, 2.0];

    [Fact]
    public void QualityFocal_MatchesFormula()
    {
        var loss = new QualityFocalLoss<double>(Reduction.None);
        var v = new double[2];
        var g = new double[10];
        loss.ForwardBackward(QflInput, [1, 5], [0.7, 0.0], 2, 5, g, v);
        Close(2.9671688021800783619, v[0], 1e-13);
        Close(2.7236955295899028673, v[1], 1e-13);
        double[] expectedRow0 = [0.42950646858575047066, -0.2518460507479287076, 1.1234030735546957904, 0.22451939165633189234, 0.29828679513998632735];
        for (int j = 0; j < 5; j++)
        {
            Close(expectedRow0[j], g[j], 1e-12, $"grad[{j}]");
        }

        // Background as a negative label equals background as `classes`.
        var v2 = new double[2];
        loss.Forward(QflInput, [1, -1], [0.7, 0.3], 2, 5, v2);
        Assert.Equal(v[1], v2[1]);

        // Mean = Σ / N; avgFactor = Σ / (avgFactor + eps).
        var mean = new QualityFocalLoss<double>();
        Close((v[0] + v[1]) / 2, mean.Forward(QflInput, [1, 5], [0.7, 0.0], 2, 5), 1e-15);
        Close((v[0] + v[1]) / (1 + 1.1920928955078125e-07), mean.Forward(QflInput, [1, 5], [0.7, 0.0], 2, 5, avgFactor: 1), 1e-15);
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(1.5)]
    [InlineData(0.0)]
    public void QualityFocal_GradientMatchesFiniteDifferences(double beta)
    {
        const int batch = 7, classes = 21;
        double[] x = Random(batch * classes, 7, -4, 4);
        int[] labels = [0, 21, 20, -1, 8, 9, 13];
        double[] scores = Random(batch, 8, 0.05, 0.95);
        double[] w = Random(batch, 9, 0.2, 2);
        var loss = new QualityFocalLoss<double>(Reduction.Mean, beta);
        var g = new double[x.Length];
        loss.ForwardBackward(x, labels, scores, batch, classes, g, weight: w, avgFactor: 3.5);
        CheckGradient(v => loss.Forward(v, labels, scores, batch, classes, weight: w, avgFactor: 3.5), x, g, $"QFL β={beta}");
    }

    // ---- distribution focal -------------------------------------------------------------------------------------

    [Fact]
    public void DistributionFocal_MatchesFormula()
    {
        var loss = new DistributionFocalLoss<double>(Reduction.None);
        var v = new double[2];
        loss.Forward([0.1, 1.2, -0.3, 0.5, 0.0, 2.0, -1.0, 0.3, 1.1, -0.4], [1.3, 3.0], 2, 5, v);
        Close(1.3060228692204030229, v[0], 1e-13);
        Close(1.4479816331060754724, v[1], 1e-13);
    }

    [Fact]
    public void DistributionFocal_GradientMatchesFiniteDifferences()
    {
        const int batch = 9, bins = 17;
        double[] x = Random(batch * bins, 10, -3, 3);
        double[] y = Random(batch, 11, 0, 15.9);
        y[0] = 0;
        y[1] = 15.9;
        y[2] = 7;
        double[] w = Random(batch, 12, 0.2, 2);
        var loss = new DistributionFocalLoss<double>(Reduction.Sum);
        var g = new double[x.Length];
        loss.ForwardBackward(x, y, batch, bins, g, weight: w);
        CheckGradient(v => loss.Forward(v, y, batch, bins, weight: w), x, g, "DFL");
    }

    // ---- varifocal ----------------------------------------------------------------------------------------------

    [Fact]
    public void Varifocal_MatchesFormula()
    {
        double[] x = [0.5, -1.2, 2.0, -3.0];
        double[] t = [0.8, 0, 0.3, 0];
        var v = new double[4];
        var g = new double[4];
        new VarifocalLoss<double>(Reduction.None).ForwardBackward(x, t, g, v);
        double[] expected = [0.4592615873440853447, 0.010580159151580226498, 0.45807840331289174893, 0.000081962493372748142085];
        double[] expectedGrad = [-0.14203253503851634829, 0.02556419531105879932, 0.17423912339336473322, 0.00023615388486621097164];
        for (int i = 0; i < 4; i++)
        {
            Close(expected[i], v[i], 1e-13, $"value[{i}]");
            Close(expectedGrad[i], g[i], 1e-12, $"grad[{i}]");
        }

        new VarifocalLoss<double>(Reduction.None, iouWeighted: false).Forward(x, t, v);
        Close(0.57407698418010668087, v[0], 1e-13);
        Close(1.5269280110429724964, v[2], 1e-13);
    }

    [Theory]
    [InlineData(0.75, 2.0, true)]
    [InlineData(0.75, 2.0, false)]
    [InlineData(0.5, 1.5, true)]
    [InlineData(0.5, 0.0, true)]
    public void Varifocal_GradientMatchesFiniteDifferences(double alpha, double gamma, bool iouWeighted)
    {
        const int n = 35;
        double[] x = Random(n, 13, -4, 4);
        double[] t = Random(n, 14, 0.05, 1);
        for (int i = 0; i < n; i += 2)
        {
            t[i] = 0;
        }

        var loss = new VarifocalLoss<double>(Reduction.Mean, alpha, gamma, iouWeighted);
        var g = new double[n];
        loss.ForwardBackward(x, t, g);
        CheckGradient(v => loss.Forward(v, t), x, g, $"VFL α={alpha} γ={gamma} iou={iouWeighted}");
    }

    // ---- the three entry points agree; vector and scalar paths agree ---------------------------------------------

    [Theory]
    [InlineData(Reduction.None)]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void EntryPointsAgree(Reduction reduction)
    {
        const int batch = 5, classes = 17, n = batch * classes;
        double[] x = Random(n, 20, -5, 5);
        double[] t = Random(n, 21, 0, 1);
        double[] up = Random(Math.Max(n, batch), 22, -1, 1);

        void Elementwise(ElementwiseLoss<double> loss)
        {
            double[] v1 = new double[n], v2 = new double[n], g1 = new double[n], g2 = new double[n];
            double f = loss.Forward(x, t, v1);
            double fb = loss.ForwardBackward(x, t, g1, v2);
            Assert.Equal(f, fb);
            Assert.Equal(v1, v2);
            if (reduction == Reduction.None)
            {
                loss.Backward(x, t, up.AsSpan(0, n), g2);
                for (int i = 0; i < n; i++)
                {
                    Close(g1[i] * up[i], g2[i], 1e-15);
                }
            }
            else
            {
                loss.Backward(x, t, 0.5, g2);
                for (int i = 0; i < n; i++)
                {
                    Close(g1[i] * 0.5, g2[i], 1e-15);
                }
            }
        }

        Elementwise(new SigmoidFocalLoss<double>(reduction));
        Elementwise(new VarifocalLoss<double>(reduction));

        int[] labels = [3, 17, 0, -100, 16];
        double[] scores = Random(batch, 23, 0, 1);
        double[] dflTarget = Random(batch, 24, 0, classes - 1.01);
        double[] rv1 = new double[batch], rv2 = new double[batch], rg1 = new double[n], rg2 = new double[n];

        var softmax = new SoftmaxFocalLoss<double>(reduction);
        int[] softLabels = [3, 16, 0, -100, 9];
        double sf = softmax.Forward(x, softLabels, batch, classes, rv1);
        Assert.Equal(sf, softmax.ForwardBackward(x, softLabels, batch, classes, rg1, rv2));
        Assert.Equal(rv1, rv2);
        if (reduction == Reduction.None)
        {
            softmax.Backward(x, softLabels, batch, classes, up.AsSpan(0, batch), rg2);
            for (int i = 0; i < n; i++)
            {
                Close(rg1[i] * up[i / classes], rg2[i], 1e-15);
            }
        }
        else
        {
            softmax.Backward(x, softLabels, batch, classes, 1.0, rg2);
            Assert.Equal(rg1, rg2);
        }

        var qfl = new QualityFocalLoss<double>(reduction);
        double qf = qfl.Forward(x, labels, scores, batch, classes, rv1);
        Assert.Equal(qf, qfl.ForwardBackward(x, labels, scores, batch, classes, rg1, rv2));
        Assert.Equal(rv1, rv2);
        if (reduction == Reduction.None)
        {
            qfl.Backward(x, labels, scores, batch, classes, up.AsSpan(0, batch), rg2);
            for (int i = 0; i < n; i++)
            {
                Close(rg1[i] * up[i / classes], rg2[i], 1e-15);
            }
        }
        else
        {
            qfl.Backward(x, labels, scores, batch, classes, 1.0, rg2);
            Assert.Equal(rg1, rg2);
        }

        var dfl = new DistributionFocalLoss<double>(reduction);
        double df = dfl.Forward(x, dflTarget, batch, classes, rv1);
        Assert.Equal(df, dfl.ForwardBackward(x, dflTarget, batch, classes, rg1, rv2));
        Assert.Equal(rv1, rv2);
        if (reduction == Reduction.None)
        {
            dfl.Backward(x, dflTarget, batch, classes, up.AsSpan(0, batch), rg2);
            for (int i = 0; i < n; i++)
            {
                Close(rg1[i] * up[i / classes], rg2[i], 1e-15);
            }
        }
        else
        {
            dfl.Backward(x, dflTarget, batch, classes, 1.0, rg2);
            Assert.Equal(rg1, rg2);
        }
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(2.5)]
    [InlineData(0.5)]
    public void VectorAndScalarPathsAgree(double gamma)
    {
        const int n = 67;
        double[] x = Random(n, 30, -8, 8);
        double[] t = Random(n, 31, 0, 1);
        for (int i = 0; i < n; i += 4)
        {
            t[i] = 0;
        }

        foreach (ElementwiseLoss<double> loss in new ElementwiseLoss<double>[] { new SigmoidFocalLoss<double>(Reduction.None, 0.25, gamma), new VarifocalLoss<double>(Reduction.None, 0.75, gamma) })
        {
            double[] v = new double[n], g = new double[n], v1 = new double[1], g1 = new double[1];
            loss.ForwardBackward(x, t, g, v);
            for (int i = 0; i < n; i++)
            {
                loss.ForwardBackward(x.AsSpan(i, 1), t.AsSpan(i, 1), g1, v1);
                Close(v1[0], v[i], 1e-13, $"{loss.GetType().Name} value[{i}]");
                Close(g1[0], g[i], 1e-13, $"{loss.GetType().Name} grad[{i}]");
            }
        }

        // QFL: lanes along the classes; a row of many classes against the same anchor split into single-class rows is not
        // the same loss, so compare float against double instead (different vector widths, same math).
        const int batch = 3, classes = 33;
        double[] qx = Random(batch * classes, 32, -6, 6);
        int[] labels = [5, 33, 32];
        double[] scores = [0.6, 0, 0.9];
        var qd = new QualityFocalLoss<double>(Reduction.None, gamma);
        var qf = new QualityFocalLoss<float>(Reduction.None, gamma);
        double[] vd = new double[batch];
        float[] vf = new float[batch];
        qd.Forward(qx, labels, scores, batch, classes, vd);
        qf.Forward(Array.ConvertAll(qx, v => (float)v), labels, Array.ConvertAll(scores, v => (float)v), batch, classes, vf);
        for (int r = 0; r < batch; r++)
        {
            Close(vd[r], vf[r], 1e-5, $"QFL row {r}");
        }
    }

    // ---- stability at ±1e4 --------------------------------------------------------------------------------------

    [Fact]
    public void HugeLogits_GiveFiniteValuesAndGradients()
    {
        double[] x = [1e4, -1e4, 1e4, -1e4, 0.5, 1e4, -1e4, 3];
        double[] t = [1, 0, 0, 1, 0, 0.5, 0.5, 1];
        AssertFinite<double>(x, t);
        AssertFinite<float>(Array.ConvertAll(x, v => (float)v), Array.ConvertAll(t, v => (float)v));
    }

    private static void AssertFinite<T>(T[] x, T[] t)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = x.Length;
        var g = new T[n];
        var v = new T[n];
        void Check(string what)
        {
            foreach (T e in v)
            {
                Assert.True(T.IsFinite(e), $"{what} value {e}");
            }

            foreach (T e in g)
            {
                Assert.True(T.IsFinite(e), $"{what} gradient {e}");
            }
        }

        new SigmoidFocalLoss<T>(Reduction.None).ForwardBackward(x, t, g, v);
        Check("sigmoid focal");
        new VarifocalLoss<T>(Reduction.None).ForwardBackward(x, t, g, v);
        Check("varifocal");

        // Rows of 4 classes / bins.
        const int batch = 2, classes = 4;
        v = new T[batch];
        new SoftmaxFocalLoss<T>(Reduction.None).ForwardBackward(x, [0, 1], batch, classes, g, v);
        Check("softmax focal");
        new QualityFocalLoss<T>(Reduction.None).ForwardBackward(x, [0, 1], [T.CreateTruncating(0.8), T.CreateTruncating(0.3)], batch, classes, g, v);
        Check("QFL");
        new DistributionFocalLoss<T>(Reduction.None).ForwardBackward(x, [T.CreateTruncating(0.5), T.CreateTruncating(2.25)], batch, classes, g, v);
        Check("DFL");
    }

    // ---- validation ---------------------------------------------------------------------------------------------

    [Fact]
    public void BadHyperParameters_ThrowNamingTheParameter()
    {
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new SigmoidFocalLoss<double>(gamma: -0.1)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new SigmoidFocalLoss<double>(gamma: double.NaN)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new SigmoidFocalLoss<double>(alpha: double.NaN)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new SigmoidFocalLoss<double>(alpha: 1.5)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxFocalLoss<double>(gamma: double.NaN)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxFocalLoss<double>(alpha: -1)).ParamName);
        Assert.Equal("classAlpha", Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxFocalLoss<double>(classAlpha: new[] { double.NaN })).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentOutOfRangeException>(() => new QualityFocalLoss<double>(beta: -1)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new VarifocalLoss<double>(alpha: double.NaN)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new VarifocalLoss<double>(gamma: -2)).ParamName);
        Assert.Equal("reduction", Assert.Throws<ArgumentOutOfRangeException>(() => new DistributionFocalLoss<double>(Reduction.BatchMean)).ParamName);

        // Negative α (any) disables the factor: allowed.
        _ = new SigmoidFocalLoss<double>(alpha: -1);
    }

    [Fact]
    public void BadData_ThrowsNamingTheParameter()
    {
        double[] x = new double[10];
        var dfl = new DistributionFocalLoss<double>();
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => dfl.Forward(x, [0.5, 4.0], 2, 5)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => dfl.Forward(x, [-0.5, 1.0], 2, 5)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => dfl.Forward(x, [double.NaN, 1.0], 2, 5)).ParamName);
        Assert.Equal("bins", Assert.Throws<ArgumentOutOfRangeException>(() => dfl.Forward(x, new double[10], 10, 1)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => dfl.Forward(x, [0.5, 1.0, 2.0], 3, 5)).ParamName);

        var qfl = new QualityFocalLoss<double>();
        Assert.Equal("labels", Assert.Throws<ArgumentOutOfRangeException>(() => qfl.Forward(x, [0, 6], [0.5, 0.5], 2, 5)).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentException>(() => qfl.Forward(x, [0, 5], [0.5], 2, 5)).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => qfl.Forward(x, [0, 5], [0.5, 0.5], 2, 5, weight: new double[3])).ParamName);
        Assert.Equal("avgFactor", Assert.Throws<ArgumentException>(() => new QualityFocalLoss<double>(Reduction.Sum).Forward(x, [0, 5], [0.5, 0.5], 2, 5, avgFactor: 2)).ParamName);

        var softmax = new SoftmaxFocalLoss<double>(classAlpha: new double[] { 0.1, 0.2 });
        Assert.Equal("classAlpha", Assert.Throws<ArgumentException>(() => softmax.Forward(x, [0, 1], 2, 5)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxFocalLoss<double>().Forward(x, [0, 5], 2, 5)).ParamName);
    }

    [Fact]
    public void EmptyInput_SumIsZero_MeanIsNaN()
    {
        Assert.Equal(0.0, new SigmoidFocalLoss<double>(Reduction.Sum).Forward([], []));
        Assert.True(double.IsNaN(new VarifocalLoss<double>().Forward([], [])));
        Assert.True(double.IsNaN(new QualityFocalLoss<double>().Forward([], [], [], 0, 3)));
        Assert.Equal(0.0, new DistributionFocalLoss<double>(Reduction.Sum).Forward([], [], 0, 17));
        Assert.True(double.IsNaN(new SoftmaxFocalLoss<double>().Forward([], [], 0, 3)));
    }

    /// <summary>
    /// The tensor forms of QFL and DFL (per-row weight, avgFactor, the None destination [batch], per-row upstream
    /// [batch]) give the span forms' values and gradients bit for bit; their shape errors name the parameter.
    /// </summary>
    [Theory]
    [InlineData(Reduction.None)]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void QualityAndDistributionFocal_TensorFormsEqualSpanForms(Reduction reduction)
    {
        const int batch = 7, classes = 19;
        double[] x = Random(batch * classes, 21, -4, 4), scores = Random(batch, 22, 0, 1), weight = Random(batch, 23, 0.5, 2);
        double[] bins = Random(batch, 24, 0, classes - 1.5), up = Random(batch, 25, -1, 1);
        int[] labels = [0, classes, -1, classes - 1, 3, classes, 7];
        double? avg = reduction == Reduction.Mean ? 3.5 : null;
        var tx = new ReadOnlyTensorSpan<double>(x, [batch, classes], []);
        var tLabels = new ReadOnlyTensorSpan<int>(labels, [batch], []);
        var tScores = new ReadOnlyTensorSpan<double>(scores, [batch], []);
        var tBins = new ReadOnlyTensorSpan<double>(bins, [batch], []);
        var tw = new ReadOnlyTensorSpan<double>(weight, [batch], []);
        double[] v = new double[batch], tv = new double[batch], g = new double[x.Length], tg = new double[x.Length];

        var qfl = new QualityFocalLoss<double>(reduction, beta: 1.5);
        Assert.Equal(qfl.ForwardBackward(x, labels, scores, batch, classes, g, v, weight, avg),
            qfl.ForwardBackward(tx, tLabels, tScores, new TensorSpan<double>(tg, [batch, classes], []), new TensorSpan<double>(tv, [batch], []), tw, avg));
        Assert.Equal(v, tv);
        Assert.Equal(g, tg);
        Assert.Equal(qfl.Forward(x, labels, scores, batch, classes, v, weight, avg), qfl.Forward(tx, tLabels, tScores, new TensorSpan<double>(tv, [batch], []), tw, avg));
        if (reduction == Reduction.None)
        {
            qfl.Backward(x, labels, scores, batch, classes, up, g, weight);
            qfl.Backward(tx, tLabels, tScores, new ReadOnlyTensorSpan<double>(up, [batch], []), new TensorSpan<double>(tg, [batch, classes], []), tw);
        }
        else
        {
            qfl.Backward(x, labels, scores, batch, classes, 2.0, g, weight, avg);
            qfl.Backward(tx, tLabels, tScores, 2.0, new TensorSpan<double>(tg, [batch, classes], []), tw, avg);
        }

        Assert.Equal(g, tg);

        var dfl = new DistributionFocalLoss<double>(reduction);
        Assert.Equal(dfl.ForwardBackward(x, bins, batch, classes, g, v, weight, avg),
            dfl.ForwardBackward(tx, tBins, new TensorSpan<double>(tg, [batch, classes], []), new TensorSpan<double>(tv, [batch], []), tw, avg));
        Assert.Equal(v, tv);
        Assert.Equal(g, tg);
        Assert.Equal(dfl.Forward(x, bins, batch, classes, v, weight, avg), dfl.Forward(tx, tBins, new TensorSpan<double>(tv, [batch], []), tw, avg));
        if (reduction == Reduction.None)
        {
            dfl.Backward(x, bins, batch, classes, up, g, weight);
            dfl.Backward(tx, tBins, new ReadOnlyTensorSpan<double>(up, [batch], []), new TensorSpan<double>(tg, [batch, classes], []), tw);
        }
        else
        {
            dfl.Backward(x, bins, batch, classes, 2.0, g, weight, avg);
            dfl.Backward(tx, tBins, 2.0, new TensorSpan<double>(tg, [batch, classes], []), tw, avg);
        }

        Assert.Equal(g, tg);

        // Shape errors (the lambdas rebuild the tensor spans: ref structs are not captured).
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => qfl.Forward(new ReadOnlyTensorSpan<double>(x, [batch, classes], []),
            new ReadOnlyTensorSpan<int>(labels, [batch - 1], []), new ReadOnlyTensorSpan<double>(scores, [batch], []))).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentException>(() => qfl.Forward(new ReadOnlyTensorSpan<double>(x, [batch, classes], []),
            new ReadOnlyTensorSpan<int>(labels, [batch], []), new ReadOnlyTensorSpan<double>(scores, [1, batch], []))).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => dfl.Forward(new ReadOnlyTensorSpan<double>(x, [batch, classes], []),
            new ReadOnlyTensorSpan<double>(bins, [batch], []), default, new ReadOnlyTensorSpan<double>(weight, [batch - 2], []))).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => dfl.Forward(new ReadOnlyTensorSpan<double>(x, [x.Length], []),
            new ReadOnlyTensorSpan<double>(bins, [batch], []))).ParamName);
        Assert.Equal("gradient", Assert.Throws<ArgumentException>(() => dfl.ForwardBackward(new ReadOnlyTensorSpan<double>(x, [batch, classes], []),
            new ReadOnlyTensorSpan<double>(bins, [batch], []), new TensorSpan<double>(tg, [classes, batch], []), new TensorSpan<double>(tv, [batch], [])))
            .ParamName);
    }
}

/// <summary>QFL and DFL entry points, span and tensor, allocate nothing once warm (changes a global setting).</summary>
[Collection(LossKit.Tests.Internal.GlobalSettingsCollection.Name)]
public class FocalAllocationTests
{
    [Fact]
    public void QualityAndDistributionFocal_SteadyStateAllocateNothing()
    {
        const int batch = 50, classes = 17;
        var rng = new Random(6);
        float[] x = Enumerable.Range(0, batch * classes).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
        float[] scores = Enumerable.Range(0, batch).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] bins = Enumerable.Range(0, batch).Select(_ => (float)(rng.NextDouble() * (classes - 1.5))).ToArray();
        int[] labels = Enumerable.Range(0, batch).Select(_ => rng.Next(-1, classes + 1)).ToArray();
        float[] weight = new float[batch], up = new float[batch], values = new float[batch], g = new float[x.Length];
        Array.Fill(weight, 0.5f);
        var qfl = new QualityFocalLoss<float>(beta: 1.5);
        var qflNone = new QualityFocalLoss<float>(Reduction.None);
        var dfl = new DistributionFocalLoss<float>();
        var dflNone = new DistributionFocalLoss<float>(Reduction.None);
        SteadyStateAllocation.AssertNone(
            ("QFL Forward", () => qfl.Forward(x, labels, scores, batch, classes, default, weight, 10.0)),
            ("QFL ForwardBackward", () => qfl.ForwardBackward(x, labels, scores, batch, classes, g)),
            ("QFL Backward", () => qfl.Backward(x, labels, scores, batch, classes, 2f, g, weight)),
            ("QFL Backward per row", () => qflNone.Backward(x, labels, scores, batch, classes, up, g)),
            ("QFL tensor ForwardBackward", () => qflNone.ForwardBackward(new ReadOnlyTensorSpan<float>(x, [batch, classes], []),
                new ReadOnlyTensorSpan<int>(labels, [batch], []), new ReadOnlyTensorSpan<float>(scores, [batch], []),
                new TensorSpan<float>(g, [batch, classes], []), new TensorSpan<float>(values, [batch], []))),
            ("DFL Forward", () => dfl.Forward(x, bins, batch, classes, default, weight, 10.0)),
            ("DFL ForwardBackward", () => dfl.ForwardBackward(x, bins, batch, classes, g)),
            ("DFL Backward per row", () => dflNone.Backward(x, bins, batch, classes, up, g, weight)),
            ("DFL tensor Backward per row", () => dflNone.Backward(new ReadOnlyTensorSpan<float>(x, [batch, classes], []),
                new ReadOnlyTensorSpan<float>(bins, [batch], []), new ReadOnlyTensorSpan<float>(up, [batch], []),
                new TensorSpan<float>(g, [batch, classes], []))));
    }
}
