using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using System.Text;
using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LossKit.Tests.MetricLearning;

/// <summary>AngularMarginLoss: presets, branches, insightface's detached gradient, finite differences, entry points, bad input.</summary>
// In the global-settings collection: a test here sets LossKitSettings.MaxDegreeOfParallelism.
[Collection(LossKit.Tests.Internal.GlobalSettingsCollection.Name)]
public sealed class AngularMarginTests(ITestOutputHelper output, DiagnosticOutput diagnostics) : IClassFixture<DiagnosticOutput>
{
    private const double M = 0.5;
    private static readonly double Th = Math.Cos(Math.PI - M), Mm = Math.Sin(Math.PI - M) * M;

    // ---- presets --------------------------------------------------------------------------------------------------

    [Fact]
    public void Presets_HaveTheReferenceParameters()
    {
        var arc = AngularMarginLoss<float>.ArcFace();
        Assert.Equal((64.0, 1.0, 0.5, 0.0, MarginFallback.Threshold, MarginGradient.Exact, Reduction.Mean),
            (arc.Scale, arc.M1, arc.M2, arc.M3, arc.Fallback, arc.Gradient, arc.Reduction));
        Assert.Equal(MarginFallback.EasyMargin, AngularMarginLoss<float>.ArcFace(easyMargin: true).Fallback);

        var cos = AngularMarginLoss<double>.CosFace();
        Assert.Equal((64.0, 1.0, 0.0, 0.35), (cos.Scale, cos.M1, cos.M2, cos.M3));

        var sphere = AngularMarginLoss<double>.SphereFace();
        Assert.Equal((4.0, 0.0, 0.0, MarginFallback.Monotonic), (sphere.M1, sphere.M2, sphere.M3, sphere.Fallback));

        var insight = AngularMarginLoss<double>.InsightFace();
        Assert.Equal((0.5, MarginFallback.None, MarginGradient.InsightFace), (insight.M2, insight.Fallback, insight.Gradient));

        // pytorch-metric-learning: ArcFaceLoss(margin=28.6) means m = radians(28.6), not 0.5.
        var pml = AngularMarginLoss<double>.MetricLearningArcFace();
        Assert.Equal(0.4991641660703783, pml.M2, 15);
        Assert.Equal(MarginFallback.ThresholdInclusive, pml.Fallback);
        Assert.Equal(0.4991641660703783, AngularMarginLoss<double>.DegreesToRadians(28.6), 15);
    }

    // ---- the target function and its branches --------------------------------------------------------------------

    [Theory]
    [InlineData(0.9)]
    [InlineData(0.3)]
    [InlineData(-0.5)]
    [InlineData(-0.87)]
    public void ArcFace_InsideRange_IsCosOfThetaPlusM(double c)
    {
        var loss = AngularMarginLoss<double>.ArcFace();
        double t = loss.TargetCosine(c, out double d);
        double theta = Math.Acos(c);
        Assert.Equal(Math.Cos(theta + M), t, 14);

        // d cos(θ + m)/d cos θ = sin(θ + m)/sin θ = cos m + sin m·cos θ/sin θ
        Assert.Equal(Math.Sin(theta + M) / Math.Sin(theta), d, 12);
    }

    [Theory]
    [InlineData(-0.9)]
    [InlineData(-0.99)]
    [InlineData(-1.0)]
    public void ArcFace_ThetaPlusMPastPi_UsesTheMonotonicFallback(double c)
    {
        Assert.True(c <= Th);
        var classic = AngularMarginLoss<double>.ArcFace();
        Assert.Equal(c - Mm, classic.TargetCosine(c, out double d), 15);
        Assert.Equal(1.0, d);

        // Without fallback (insightface today / MXNet) the target logit rises again past π, so its slope turns negative.
        var none = new AngularMarginLoss<double>(m2: M, fallback: MarginFallback.None);
        double tn = none.TargetCosine(c, out double dn);
        Assert.True(tn > Math.Cos(Math.PI) - 1e-12, $"T = {tn}");
        Assert.True(c == -1.0 ? dn == Math.Cos(M) : dn < 0, $"T' = {dn}"); // at exactly −1 the clamp leaves cos m

        // SphereFace's ψ: −cos(θ + m) − 2, continuous at θ + m = π and decreasing.
        var mono = new AngularMarginLoss<double>(m2: M, fallback: MarginFallback.Monotonic);
        if (c > -1.0)
        {
            Assert.Equal(-Math.Cos(Math.Acos(c) + M) - 2, mono.TargetCosine(c, out double dm), 12);
            Assert.True(dm > 0);
        }
    }

    [Fact]
    public void Threshold_IsStrict_AndInclusiveVariantIsNot()
    {
        // th is not a float32 value; in double, c = th exactly is representable: classic falls back, pml keeps the margin.
        var classic = new AngularMarginLoss<double>(m2: M, fallback: MarginFallback.Threshold);
        var pml = new AngularMarginLoss<double>(m2: M, fallback: MarginFallback.ThresholdInclusive);
        Assert.Equal(Th - Mm, classic.TargetCosine(Th, out _));
        Assert.Equal(Th * Math.Cos(M) - Math.Sqrt(1 - Th * Th) * Math.Sin(M), pml.TargetCosine(Th, out _), 15);
        Assert.Equal(Th - M * Math.Sin(M), pml.TargetCosine(Math.BitDecrement(Th), out _), 12);
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(0.0)]
    [InlineData(0.25)]
    public void EasyMargin_AppliesTheMarginOnlyForPositiveCosines(double c)
    {
        var easy = AngularMarginLoss<double>.ArcFace(easyMargin: true);
        double t = easy.TargetCosine(c, out double d);
        if (c > 0)
        {
            Assert.Equal(Math.Cos(Math.Acos(c) + M), t, 14);
        }
        else
        {
            Assert.Equal(c, t); // strict: cos θ = 0 takes plain cos θ
            Assert.Equal(1.0, d);
        }
    }

    [Fact]
    public void UnitCosines_GiveFiniteValuesAndGradients_WithTheDocumentedClamp()
    {
        // |cos| = 1: S = √max(1 − c², 1e-12) = 1e-6; the clamp passes no gradient to S, so T'(±1) = cos m.
        var arc = new AngularMarginLoss<double>(m2: M, fallback: MarginFallback.None);
        Assert.Equal(Math.Cos(M) - 1e-6 * Math.Sin(M), arc.TargetCosine(1.0, out double d1), 15);
        Assert.Equal(Math.Cos(M), d1, 15);
        Assert.Equal(-Math.Cos(M) - 1e-6 * Math.Sin(M), arc.TargetCosine(-1.0, out double d2), 15);
        Assert.Equal(Math.Cos(M), d2, 15);

        // SphereFace m = 4 (Chebyshev): exact T_4(1) = 1 and T_4'(1) = 16, T_4'(−1) = −16 → ψ'(−1) = (−1)^4·(−16).
        var sphere = AngularMarginLoss<double>.SphereFace();
        Assert.Equal(1.0, sphere.TargetCosine(1.0, out double s1), 15);
        Assert.Equal(16.0, s1, 12);
        Assert.Equal(1.0 - 8.0, sphere.TargetCosine(-1.0, out double s2), 12); // k = 4: cos(4π) − 8
        Assert.Equal(-16.0, s2, 12);

        // Every preset, float and double, with ±1 in target and non-target columns.
        foreach (Func<AngularMarginLoss<float>> make in PresetsFloat())
        {
            AssertFinite(make(), [1f, -1f, 0.5f, -1f, 1f, 0.25f], [0, 1]);
        }

        foreach (Func<AngularMarginLoss<double>> make in PresetsDouble())
        {
            AssertFinite(make(), [1.0, -1.0, 0.5, -1.0, 1.0, 0.25], [0, 1]);
        }
    }

    [Fact]
    public void Scale64_WithManyClasses_DoesNotOverflow()
    {
        const int classes = 100_000;
        var x = new float[2 * classes];
        Array.Fill(x, 1f);
        x[0] = -1f;          // target far below every competitor: p_y ≈ e^(−64·2.1)
        x[classes + 5] = 1f; // target at the maximum
        var g = new float[x.Length];
        foreach (var loss in new[] { AngularMarginLoss<float>.ArcFace(), AngularMarginLoss<float>.CosFace(), AngularMarginLoss<float>.SphereFace() })
        {
            float v = loss.ForwardBackward(x, [0, 5], 2, classes, g);
            Assert.True(float.IsFinite(v) && v > 50, $"{v}");
            Assert.All(g, e => Assert.True(float.IsFinite(e)));
        }
    }

    // ---- insightface's detached gradient -------------------------------------------------------------------------

    [Fact]
    public void InsightFaceGradient_IsScaleTimesSoftmaxMinusOneHotOverN_ForEveryColumn()
    {
        const int n = 5, c = 7;
        const double s = 64;
        var rng = new Random(7);
        var x = new double[n * c];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = 2 * rng.NextDouble() - 1;
        }

        int[] y = [0, 3, 6, 2, 2];
        x[0] = -0.99; // θ + m > π: no fallback, the margin's own slope would be negative
        x[c + 3] = 0.999;
        foreach ((double m2, double m3) in new[] { (0.5, 0.0), (0.0, 0.4) })
        {
            var loss = AngularMarginLoss<double>.InsightFace(s, m2, m3);
            var g = new double[x.Length];
            loss.ForwardBackward(x, y, n, c, g);
            for (int r = 0; r < n; r++)
            {
                // logits as insightface builds them: s·cos(acos(c) + m2) − s·m3 for the target, s·c elsewhere.
                var z = new double[c];
                for (int j = 0; j < c; j++)
                {
                    z[j] = s * x[r * c + j];
                }

                z[y[r]] = s * (Math.Cos(Math.Acos(x[r * c + y[r]]) + m2) - m3);
                double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
                for (int j = 0; j < c; j++)
                {
                    double expected = s * (Math.Exp(z[j] - max) / sum - (j == y[r] ? 1 : 0)) / n;
                    Assert.True(Math.Abs(g[r * c + j] - expected) <= 1e-12 * s, $"m2={m2} m3={m3} row {r} col {j}: {g[r * c + j]} vs {expected}");
                }
            }
        }
    }

    [Fact]
    public void ExactVersusInsightFaceGradient_Table()
    {
        // One row, target cos θ, one competitor at cos = 1 so p_y ≈ 0; batch 1, s = 64, m = 0.5: the target column's
        // d loss/d cos is −64·T'(cos θ) exactly, −64 with insightface's detached margin. Numbers in the XML doc.
        (double Degrees, double None, double Threshold)[] expected =
        [(30, -109.3102, -109.3102), (90, -56.1653, -56.1653), (150, -3.0204, -3.0204), (160, 28.1362, -64.0), (170, 117.848, -64.0)];
        var none = new AngularMarginLoss<double>(m2: M, fallback: MarginFallback.None);
        var classic = AngularMarginLoss<double>.ArcFace();
        var insight = AngularMarginLoss<double>.InsightFace();
        var sb = new StringBuilder("  θ      cos θ      Exact, None   Exact, Threshold   InsightFace\n");
        foreach ((double deg, double eNone, double eThreshold) in expected)
        {
            double c = Math.Cos(deg * Math.PI / 180);
            double[] x = [c, 1.0];
            double gNone = TargetGradient(none, x), gClassic = TargetGradient(classic, x), gInsight = TargetGradient(insight, x);
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {deg,3}°  {c,9:F6}   {gNone,11:F2}   {gClassic,14:F2}   {gInsight,11:F2}"));
            Assert.Equal(eNone, gNone, 3);
            Assert.Equal(eThreshold, gClassic, 3);
            Assert.Equal(-64.0, gInsight, 6);
        }

        output.WriteLine(sb.ToString());
        diagnostics.Write("AngularMarginLoss target-column gradient, p_y ≈ 0, s = 64, m = 0.5, N = 1:\n" + sb);
    }

    private static double TargetGradient(AngularMarginLoss<double> loss, double[] x)
    {
        var g = new double[2];
        loss.ForwardBackward(x, [0], 1, 2, g);
        return g[0];
    }

    // ---- finite differences (double, away from kinks) ------------------------------------------------------------

    public static TheoryData<string> Configurations() => new(ConfigurationsByName.Keys);

    private static readonly Dictionary<string, Func<Reduction, AngularMarginLoss<double>>> ConfigurationsByName = new()
    {
        ["arcface"] = r => AngularMarginLoss<double>.ArcFace(reduction: r),
        ["arcface_easy"] = r => AngularMarginLoss<double>.ArcFace(easyMargin: true, reduction: r),
        ["cosface"] = r => AngularMarginLoss<double>.CosFace(reduction: r),
        ["combined"] = r => new AngularMarginLoss<double>(r, 64, 1, 0.3, 0.2, MarginFallback.None),
        ["monotonic_m2"] = r => new AngularMarginLoss<double>(r, 30, 1, 0.5, 0, MarginFallback.Monotonic),
        ["sphereface4"] = r => AngularMarginLoss<double>.SphereFace(reduction: r),
        ["sphere_1.5"] = r => new AngularMarginLoss<double>(r, 30, 1.5, 0, 0, MarginFallback.Monotonic),
        ["m1_1.35_m2_0.25"] = r => new AngularMarginLoss<double>(r, 32, 1.35, 0.25, 0.1, MarginFallback.None),
        ["pml"] = r => AngularMarginLoss<double>.MetricLearningArcFace(reduction: r),
        // s = 16 keeps p_y above insightface's 1e-30 floor (where the value is flat and the gradient is not).
        ["insightface_value"] = r => AngularMarginLoss<double>.InsightFace(16, reduction: r),
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Gradient_MatchesFiniteDifferences(string configuration)
    {
        bool detached = configuration == "insightface_value";
        foreach (Reduction reduction in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            AngularMarginLoss<double> loss = ConfigurationsByName[configuration](reduction);
            foreach ((int n, int c, int seed) in new[] { (3, 5, 1), (2, 9, 2), (1, 17, 3) })
            {
                (double[] x, int[] y) = AwayFromKinks(n, c, seed, loss);
                var rng = new Random(seed + 100);
                double[] up = Enumerable.Range(0, n).Select(_ => rng.NextDouble() + 0.5).ToArray();
                double scalarUp = 0.75;
                var analytic = new double[x.Length];
                if (reduction == Reduction.None)
                {
                    loss.Backward(x, y, n, c, up, analytic);
                }
                else
                {
                    loss.Backward(x, y, n, c, scalarUp, analytic);
                }

                if (detached)
                {
                    // insightface's value is the margin loss, its gradient that of plain scaled softmax CE on the
                    // margin logits: only the non-target columns can match finite differences.
                    for (int r = 0; r < n; r++)
                    {
                        analytic[r * c + y[r]] = 0;
                    }
                }

                double[] numeric = FiniteDifference.Gradient(v => Objective(loss, v, y, n, c, up, scalarUp), x, 1e-7);
                if (detached)
                {
                    for (int r = 0; r < n; r++)
                    {
                        numeric[r * c + y[r]] = 0;
                    }
                }

                Tolerance.AssertClose(analytic, numeric, 1e-6, 1e-6, $"{configuration} {reduction} n={n} c={c}");
            }
        }
    }

    private static double Objective(AngularMarginLoss<double> loss, double[] x, int[] y, int n, int c, double[] up, double scalarUp)
    {
        if (loss.Reduction != Reduction.None)
        {
            return scalarUp * loss.Forward(x, y, n, c);
        }

        var values = new double[n];
        loss.Forward(x, y, n, c, values);
        return values.Select((v, i) => v * up[i]).Sum();
    }

    /// <summary>Cosines in (−0.95, 0.95), the targets kept 0.02 away from every branch point of the loss.</summary>
    private static (double[] X, int[] Y) AwayFromKinks(int n, int c, int seed, AngularMarginLoss<double> loss)
    {
        var rng = new Random(seed);
        var x = new double[n * c];
        var y = new int[n];
        for (int r = 0; r < n; r++)
        {
            y[r] = rng.Next(c);
            for (int j = 0; j < c; j++)
            {
                double v;
                do
                {
                    v = 1.9 * rng.NextDouble() - 0.95;
                }
                while (j == y[r] && NearKink(v, loss));
                x[r * c + j] = v;
            }
        }

        return (x, y);
    }

    private static bool NearKink(double c, AngularMarginLoss<double> loss)
    {
        double th = Math.Cos(Math.PI - loss.M2);
        if (Math.Abs(c - th) < 0.02 || Math.Abs(c) < 0.02)
        {
            return true;
        }

        // k = ⌊(m1·θ + m2)/π⌋ changes where m1·θ + m2 = kπ
        double u = loss.M1 * Math.Acos(c) + loss.M2;
        double frac = u / Math.PI - Math.Round(u / Math.PI);
        return Math.Abs(frac) < 0.01;
    }

    // ---- entry points, in-place, tensor overloads -----------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(65)]
    [InlineData(257)]
    public void EntryPoints_Agree(int classes)
    {
        EntryPointsAgree<float>(classes);
        EntryPointsAgree<double>(classes);
    }

    private static void EntryPointsAgree<T>(int classes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int n = 4;
        var rng = new Random(classes);
        T[] x = Enumerable.Range(0, n * classes).Select(_ => T.CreateTruncating(2 * rng.NextDouble() - 1)).ToArray();
        int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        foreach (var loss in new[] { AngularMarginLoss<T>.ArcFace(), AngularMarginLoss<T>.SphereFace(), AngularMarginLoss<T>.InsightFace(),
                     new AngularMarginLoss<T>(Reduction.Sum, 16, 1.35, 0.2, 0.1, MarginFallback.Monotonic) })
        {
            string what = $"{typeof(T).Name} C={classes} {loss.M1}/{loss.M2}/{loss.M3}";
            T f = loss.Forward(x, y, n, classes);
            var g = new T[x.Length];
            T fb = loss.ForwardBackward(x, y, n, classes, g);
            Tolerance.AssertIdentical<T>([f], [fb], what + " Forward vs ForwardBackward");
            var b = new T[x.Length];
            loss.Backward(x, y, n, classes, T.One, b);
            Tolerance.AssertIdentical<T>(b, g, what + " Backward(1) vs ForwardBackward");

            // exact in-place: the gradient written over the input
            T[] inPlace = (T[])x.Clone();
            T fi = loss.ForwardBackward(inPlace, y, n, classes, inPlace);
            Tolerance.AssertIdentical<T>([fi], [f], what + " in-place value");
            Tolerance.AssertIdentical<T>(inPlace, g, what + " in-place gradient");

            // tensor overloads
            var tx = new ReadOnlyTensorSpan<T>(x, [n, classes], []);
            var ty = new ReadOnlyTensorSpan<int>(y, [n], []);
            var tg = new T[x.Length];
            T ft = loss.ForwardBackward(tx, ty, new TensorSpan<T>(tg, [n, classes], []));
            Tolerance.AssertIdentical<T>([ft], [f], what + " tensor value");
            Tolerance.AssertIdentical<T>(tg, g, what + " tensor gradient");
            Tolerance.AssertIdentical<T>([loss.Forward(tx, ty)], [f], what + " tensor Forward");
        }

        // Reduction.None: per-row values sum to the returned value; Backward with a per-row upstream.
        var none = AngularMarginLoss<T>.ArcFace(reduction: Reduction.None);
        var values = new T[n];
        T total = none.Forward(x, y, n, classes, values);
        Tolerance.AssertIdentical<T>([total], [T.CreateTruncating(values.Sum(v => double.CreateTruncating(v)))], "None sum");
        var unit = new T[x.Length];
        none.Backward(x, y, n, classes, Enumerable.Repeat(T.One, n).ToArray(), unit);
        var fbNone = new T[x.Length];
        none.ForwardBackward(x, y, n, classes, fbNone, new T[n]);
        Tolerance.AssertIdentical<T>(unit, fbNone, "None Backward(ones) vs ForwardBackward");
    }

    [Fact]
    public void Result_DoesNotDependOnThreadCount()
    {
        const int n = 64, c = 3000; // 192,000 cosines: above the parallel threshold
        var rng = new Random(3);
        float[] x = Enumerable.Range(0, n * c).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
        int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(c)).ToArray();
        var loss = AngularMarginLoss<float>.ArcFace();
        int saved = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            LossKitSettings.MaxDegreeOfParallelism = 1;
            var g1 = new float[x.Length];
            float v1 = loss.ForwardBackward(x, y, n, c, g1);
            LossKitSettings.MaxDegreeOfParallelism = 4;
            var g4 = new float[x.Length];
            float v4 = loss.ForwardBackward(x, y, n, c, g4);
            Assert.Equal(v1, v4);
            Tolerance.AssertIdentical<float>(g1, g4, "gradient, 1 vs 4 threads");
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = saved;
        }
    }

    [Fact]
    public void SpecialValues_NaNRowStaysInItsRow_EmptyBatch()
    {
        var loss = AngularMarginLoss<double>.ArcFace(reduction: Reduction.None);
        double[] x = [0.5, double.NaN, 0.1, 0.2, 0.3, 0.4];
        var v = new double[2];
        var g = new double[6];
        loss.ForwardBackward(x, [0, 1], 2, 3, g, v);
        Assert.True(double.IsNaN(v[0]));
        Assert.True(double.IsFinite(v[1]));
        Assert.All(g[3..], e => Assert.True(double.IsFinite(e)));

        var mean = AngularMarginLoss<double>.ArcFace();
        Assert.True(double.IsNaN(mean.Forward([], [], 0, 3)));
        Assert.Equal(0.0, AngularMarginLoss<double>.ArcFace(reduction: Reduction.Sum).Forward([], [], 0, 3));
    }

    // ---- bad input ------------------------------------------------------------------------------------------------

    [Fact]
    public void BadInput_ThrowsNamedExceptions()
    {
        var loss = AngularMarginLoss<float>.ArcFace();
        float[] x = new float[6];
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward(x, [0, 3], 2, 3)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward(x, [-1, 0], 2, 3)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => loss.Forward(x, [0], 2, 3)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => loss.Forward(x, [0, 0], 2, 4)).ParamName);
        Assert.Equal("gradient", Assert.Throws<ArgumentException>(() => loss.ForwardBackward(x, [0, 0], 2, 3, new float[5])).ParamName);
        Assert.Equal("upstream", Assert.Throws<ArgumentException>(() => loss.Backward(x, [0, 0], 2, 3, new float[2], new float[6])).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward([], [], 0, 0)).ParamName);

        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(scale: 0)).ParamName);
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(scale: double.NaN)).ParamName);
        Assert.Equal("m1", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(m1: -1)).ParamName);
        Assert.Equal("m2", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(m2: Math.PI)).ParamName);
        Assert.Equal("m2", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(m2: -0.1)).ParamName);
        Assert.Equal("m3", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(m3: double.PositiveInfinity)).ParamName);
        Assert.Equal("fallback", Assert.Throws<ArgumentException>(() => new AngularMarginLoss<float>(m1: 4)).ParamName);
        Assert.Equal("fallback", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(fallback: (MarginFallback)42)).ParamName);
        Assert.Equal("gradient", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>(gradient: (MarginGradient)9)).ParamName);
        Assert.Equal("reduction", Assert.Throws<ArgumentOutOfRangeException>(() => new AngularMarginLoss<float>((Reduction)7)).ParamName);
    }

    private static IEnumerable<Func<AngularMarginLoss<float>>> PresetsFloat() =>
    [
        () => AngularMarginLoss<float>.ArcFace(), () => AngularMarginLoss<float>.ArcFace(easyMargin: true), () => AngularMarginLoss<float>.CosFace(),
        () => AngularMarginLoss<float>.SphereFace(), () => AngularMarginLoss<float>.SphereFace(1.5), () => AngularMarginLoss<float>.InsightFace(),
        () => AngularMarginLoss<float>.MetricLearningArcFace(), () => new AngularMarginLoss<float>(Reduction.Mean, 64, 1.35, 0.25, 0.1, MarginFallback.None),
    ];

    private static IEnumerable<Func<AngularMarginLoss<double>>> PresetsDouble() =>
    [
        () => AngularMarginLoss<double>.ArcFace(), () => AngularMarginLoss<double>.ArcFace(easyMargin: true), () => AngularMarginLoss<double>.CosFace(),
        () => AngularMarginLoss<double>.SphereFace(), () => AngularMarginLoss<double>.SphereFace(1.5), () => AngularMarginLoss<double>.InsightFace(),
        () => AngularMarginLoss<double>.MetricLearningArcFace(), () => new AngularMarginLoss<double>(Reduction.Mean, 64, 1.35, 0.25, 0.1, MarginFallback.None),
    ];

    private static void AssertFinite<T>(AngularMarginLoss<T> loss, T[] x, int[] y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new T[x.Length];
        T v = loss.ForwardBackward(x, y, y.Length, x.Length / y.Length, g);
        Assert.True(T.IsFinite(v), $"{loss.M1}/{loss.M2}/{loss.M3}: value {v}");
        Assert.All(g, e => Assert.True(T.IsFinite(e), $"{loss.M1}/{loss.M2}/{loss.M3}: gradient {e}"));
    }
}
