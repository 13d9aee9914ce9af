using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Classification;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Classification;

/// <summary>CrossEntropyLoss (class-index and probability targets) and NllLoss.</summary>
public class CrossEntropyTests
{
    // ---- PyTorch golden cases -------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Golden.Names), "cross_entropy", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "cross_entropy", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "cross_entropy_prob", MemberType = typeof(Golden))]
    public void ProbabilityReference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "cross_entropy_prob", MemberType = typeof(Golden))]
    public void ProbabilityReference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "nll", MemberType = typeof(Golden))]
    public void NllReference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "nll", MemberType = typeof(Golden))]
    public void NllReference_Float(string name) => ReferenceCheck.Assert<float>(name);

    // ---- finite differences and entry points ----------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Variants.Names), "cross_entropy", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "cross_entropy_prob", MemberType = typeof(Variants))]
    public void ProbabilityGradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "nll", MemberType = typeof(Variants))]
    public void NllGradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "cross_entropy", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "cross_entropy_prob", MemberType = typeof(Variants))]
    public void ProbabilityEntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "nll", MemberType = typeof(Variants))]
    public void NllEntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    // ---- published numbers ----------------------------------------------------------------------------------------

    /// <summary>
    /// Cross-entropy of the true class's probability p is −ln p: 0.0512933 at p = 0.95 and 2.9957323 at p = 0.05 (the
    /// focal-loss paper's (Lin et al. 2017) motivating numbers). Two classes with logit difference ln(p / (1 − p)).
    /// </summary>
    [Theory]
    [InlineData(0.95, 0.0512933)]
    [InlineData(0.05, 2.9957323)]
    public void TrueClassProbability_GivesPublishedLoss(double p, double expected)
    {
        double logit = Math.Log(p / (1 - p));
        Assert.Equal(expected, new CrossEntropyLoss<double>().Forward([logit, 0.0], new[] { 0 }, 1, 2), 1e-7);
        Assert.Equal(expected, new CrossEntropyLoss<float>().Forward([(float)logit, 0f], new[] { 0 }, 1, 2), 1e-6);

        // The same with a one-hot probability target.
        Assert.Equal(expected, new CrossEntropyLoss<double>().Forward([logit, 0.0], [1.0, 0.0], 1, 2), 1e-7);
    }

    /// <summary>CE on logits equals NLL on log_softmax of the logits (weights and ignored rows included).</summary>
    [Theory]
    [InlineData(Reduction.None)]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void CrossEntropy_EqualsNllOfLogSoftmax(Reduction reduction)
    {
        Scenario s = Scenarios.Random(new Variant("cross_entropy", reduction) { Weight = true, IgnoreIndex = -100 }, 6, 11, 7);
        double[] logProbabilities = Scenarios.LogSoftmaxRows(s.Input, 11);
        var ce = new CrossEntropyLoss<double>(reduction, s.Setup.Weight, -100);
        var nll = new NllLoss<double>(reduction, s.Setup.Weight, -100);
        var ceValues = new double[6];
        var nllValues = new double[6];
        double a = ce.Forward(s.Input, s.Setup.IndexTarget, 6, 11, ceValues);
        double b = nll.Forward(logProbabilities, s.Setup.IndexTarget, 6, 11, nllValues);

        // log_softmax was rounded to float by the scenario helper: compare at float precision.
        Assert.Equal(b, a, 1e-5);
        Tolerance.AssertClose(ceValues, nllValues, 1e-5, 1e-5, "per-row CE vs NLL");
    }

    // ---- extreme logits -------------------------------------------------------------------------------------------

    public static TheoryData<double, double> ExtremeMagnitudes => new()
    {
        { 1e4, 0.0 }, { 1e4, 0.1 }, { 1e30, 0.0 }, { 1e30, 0.1 },
    };

    [Theory]
    [MemberData(nameof(ExtremeMagnitudes))]
    public void ExtremeLogits_IndexTargets_FiniteValueAndGradient(double big, double labelSmoothing)
    {
        ExtremeIndex<double>(big, labelSmoothing);
        ExtremeIndex<float>(big, labelSmoothing);
    }

    [Theory]
    [MemberData(nameof(ExtremeMagnitudes))]
    public void ExtremeLogits_ProbabilityTargets_FiniteValueAndGradient(double big, double labelSmoothing)
    {
        ExtremeProbability<double>(big, labelSmoothing);
        ExtremeProbability<float>(big, labelSmoothing);
    }

    private static double[] ExtremeRows(double big, int rows, int cols)
    {
        double[] pattern = [big, -big, 0.0, 3.0];
        var x = new double[rows * cols];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = pattern[(i + i / cols) % 4];
        }

        return x;
    }

    private static void ExtremeIndex<T>(double big, double labelSmoothing)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 5, cols = 9;
        double[] x = ExtremeRows(big, rows, cols);
        foreach (bool weighted in new[] { false, true })
        {
            // Each row's target sits on a different pattern entry (big, −big, 0, 3).
            int[] target = [0, 0, 2, 3, 1];
            var setup = new LossSetup
            {
                Loss = "cross_entropy", Shape = [rows, cols], IndexTarget = target, LabelSmoothing = labelSmoothing,
                Weight = weighted ? Scenarios.Uniform(new Random(3), cols, 0.1, 2.0) : null,
            };
            double[] values = LossChecks.AssertFinite<T>(setup, x);
            if (!weighted && labelSmoothing == 0)
            {
                // Rows whose target is −big lose ≈ 2·big: check those relative to their size. (Rows whose target is
                // the maximum are covered by LargeLogits_TargetAtRowMaximum_LossIsAccurate.)
                for (int r = 0; r < rows; r++)
                {
                    double expected = ExactIndexLoss(x.AsSpan(r * cols, cols), target[r]);
                    if (expected > big)
                    {
                        Assert.True(Math.Abs(values[r] - expected) <= 1e-6 * expected, $"{typeof(T).Name} big={big} row {r}: {values[r]} vs {expected}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// A row whose target logit is the (tied) maximum: −log softmax = ln(number of maxima) + tiny, whatever the logits'
    /// size. PyTorch's log_softmax computes (x_y − m) − ln Σ e^(x − m) and gets ln 2 exactly (PyTorch 1.13:
    /// 0.6931471805599453 in double, 0.6931471824645996 in float, for 1e4, 1e8 and 1e30 alike); computing
    /// (m + ln Σ) − x_y instead loses ln 2 into the rounding of m + ln Σ once ulp(m) is comparable to it.
    /// </summary>
    [Theory]
    [InlineData(1e4)]
    [InlineData(1e8)]
    [InlineData(1e30)]
    public void LargeLogits_TargetAtRowMaximum_LossIsAccurate(double big)
    {
        double ln2 = Math.Log(2.0);
        var failures = new List<string>();
        Check<double>();
        Check<float>();
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T b = T.CreateTruncating(big);
            T[] x = [b, b, -b];
            double tol = Tolerance.For<T>();
            double index = double.CreateTruncating(new CrossEntropyLoss<T>().Forward(x, new[] { 0 }, 1, 3));
            double probability = double.CreateTruncating(new CrossEntropyLoss<T>().Forward(x, [T.One, T.Zero, T.Zero], 1, 3));
            double smoothed = double.CreateTruncating(new CrossEntropyLoss<T>(labelSmoothing: 0.1).Forward(x, new[] { 0 }, 1, 3));
            // With ε = 0.1: 0.9·ln2 + (0.1/3)·(ln2 + ln2 + (2·big + ln2)).
            double smoothedExpected = 0.9 * ln2 + (0.1 / 3) * (3 * ln2 + 2 * double.CreateTruncating(b));
            if (!(Math.Abs(index - ln2) <= tol * ln2))
            {
                failures.Add($"{typeof(T).Name} logits [{big:G3}, {big:G3}, {-big:G3}], target 0: loss {index:R}, expected ln 2 = {ln2:R}");
            }

            if (!(Math.Abs(probability - ln2) <= tol * ln2))
            {
                failures.Add($"{typeof(T).Name} same row, one-hot probability target: loss {probability:R}, expected {ln2:R}");
            }

            if (!(Math.Abs(smoothed - smoothedExpected) <= tol * smoothedExpected))
            {
                failures.Add($"{typeof(T).Name} same row, label smoothing 0.1: loss {smoothed:R}, expected {smoothedExpected:R}");
            }
        }
    }

    /// <summary>−log softmax(x)[y] for rows whose entries are ±big, 0 and 3: lse = big + ln(count of +big), exactly.</summary>
    private static double ExactIndexLoss(ReadOnlySpan<double> row, int y)
    {
        double m = double.NegativeInfinity;
        foreach (double v in row)
        {
            m = Math.Max(m, v);
        }

        double s = 0;
        foreach (double v in row)
        {
            s += Math.Exp(v - m);
        }

        // (m − x_y) is exact for these magnitudes; add ln s separately.
        return (m - row[y]) + Math.Log(s);
    }

    private static void ExtremeProbability<T>(double big, double labelSmoothing)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 4, cols = 9;
        double[] x = ExtremeRows(big, rows, cols);
        var setup = new LossSetup
        {
            Loss = "cross_entropy_prob", Shape = [rows, cols], Target = Scenarios.ProbabilityRows(new Random(5), rows, cols),
            LabelSmoothing = labelSmoothing, Weight = Scenarios.Uniform(new Random(6), cols, 0.1, 2.0),
        };
        LossChecks.AssertFinite<T>(setup, x);
    }

    // ---- all targets ignored --------------------------------------------------------------------------------------

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(true, 0.0)]
    [InlineData(false, 0.1)]
    [InlineData(true, 0.1)]
    public void AllTargetsIgnored_MeanIsNaN_SumIsZero_GradientIsZero(bool weighted, double labelSmoothing)
    {
        AllIgnored<double>(weighted, labelSmoothing);
        AllIgnored<float>(weighted, labelSmoothing);
    }

    private static void AllIgnored<T>(bool weighted, double labelSmoothing)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 4, cols = 6;
        T[] x = LossRunner<T>.Convert(Scenarios.Normal(new Random(1), rows * cols, 2.0));
        int[] target = [-100, -100, -100, -100];
        ReadOnlyMemory<T> w = weighted ? LossRunner<T>.Convert(Scenarios.Uniform(new Random(2), cols, 0.1, 2)) : default;
        foreach (ClassIndexLoss<T> make in new ClassIndexLoss<T>[]
        {
            new CrossEntropyLoss<T>(Reduction.Mean, w, -100, labelSmoothing), new NllLoss<T>(Reduction.Mean, w),
        })
        {
            string what = $"{typeof(T).Name} {make.GetType().Name} weighted={weighted} ls={labelSmoothing}";
            Assert.True(T.IsNaN(make.Forward(x, target, rows, cols)), $"{what}: mean of nothing must be NaN");
            var g = Enumerable.Repeat(T.CreateTruncating(7), x.Length).ToArray();
            Assert.True(T.IsNaN(make.ForwardBackward(x, target, rows, cols, g)), what);
            Assert.All(g, v => Assert.Equal(T.Zero, v));
            g.AsSpan().Fill(T.CreateTruncating(7));
            make.Backward(x, target, rows, cols, T.CreateTruncating(1.5), g);
            Assert.All(g, v => Assert.Equal(T.Zero, v));
        }

        foreach (ClassIndexLoss<T> make in new ClassIndexLoss<T>[]
        {
            new CrossEntropyLoss<T>(Reduction.Sum, w, -100, labelSmoothing), new NllLoss<T>(Reduction.Sum, w),
        })
        {
            var g = Enumerable.Repeat(T.CreateTruncating(7), x.Length).ToArray();
            Assert.Equal(T.Zero, make.ForwardBackward(x, target, rows, cols, g));
            Assert.All(g, v => Assert.Equal(T.Zero, v));
        }

        var none = new CrossEntropyLoss<T>(Reduction.None, w, -100, labelSmoothing);
        var values = Enumerable.Repeat(T.CreateTruncating(7), rows).ToArray();
        Assert.Equal(T.Zero, none.Forward(x, target, rows, cols, values));
        Assert.All(values, v => Assert.Equal(T.Zero, v));
    }

    // ---- bad input specific to cross-entropy -----------------------------------------------------------------------

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0000001)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void LabelSmoothing_OutsideUnitInterval_Throws(double labelSmoothing) =>
        LossChecks.Throws<ArgumentOutOfRangeException>("labelSmoothing", () => _ = new CrossEntropyLoss<double>(labelSmoothing: labelSmoothing));

    [Fact]
    public void LabelSmoothing_Bounds_AreAllowed()
    {
        Assert.Equal(0.0, new CrossEntropyLoss<float>(labelSmoothing: 0.0).LabelSmoothing);
        Assert.Equal(1.0, new CrossEntropyLoss<float>(labelSmoothing: 1.0).LabelSmoothing);
    }

    [Fact]
    public void ProbabilityTargets_BadShapes_Throw()
    {
        var ce = new CrossEntropyLoss<double>();
        double[] x = new double[6];
        LossChecks.Throws<ArgumentException>("target", () => ce.Forward(x, new double[5], 2, 3));
        LossChecks.Throws<ArgumentException>("input", () => ce.Forward(new double[5], new double[6], 2, 3));
        LossChecks.Throws<ArgumentException>("gradient", () => ce.Backward(x, new double[6], 2, 3, 1.0, new double[5]));
        LossChecks.Throws<ArgumentException>("gradient", () => ce.ForwardBackward(x, new double[6], 2, 3, new double[5]));
        LossChecks.Throws<ArgumentException>("weight", () => new CrossEntropyLoss<double>(weight: new double[4]).Forward(x, new double[6], 2, 3));
        LossChecks.Throws<ArgumentOutOfRangeException>("classes", () => ce.Forward([], [], 0, 0));
        LossChecks.Throws<ArgumentOutOfRangeException>("batch", () => ce.Forward(x, new double[6], -2, 3));
        LossChecks.Throws<ArgumentException>("upstream", () => ce.Backward(x, new double[6], 2, 3, new double[2], new double[6]));

        var none = new CrossEntropyLoss<double>(Reduction.None);
        LossChecks.Throws<ArgumentException>("destination", () => none.Forward(x, new double[6], 2, 3, new double[1]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(x, new double[6], 2, 3, 1.0, new double[6]));
        LossChecks.Throws<ArgumentException>("upstream", () => none.Backward(x, new double[6], 2, 3, new double[1], new double[6]));
    }

    [Fact]
    public void ProbabilityTargets_TensorShapeMismatch_Throws()
    {
        var ce = new CrossEntropyLoss<double>();
        Tensor<double> x = Tensor.Create(new double[6], [2, 3]);
        LossChecks.Throws<ArgumentException>("target", () => ce.Forward(x, Tensor.Create(new double[6], [3, 2])));
        LossChecks.Throws<ArgumentException>("input", () => ce.Forward(Tensor.Create(new double[6], [6]), Tensor.Create(new double[6], [6])));
        LossChecks.Throws<ArgumentException>("gradient", () => ce.ForwardBackward(x, Tensor.Create(new double[6], [2, 3]), Tensor.Create(new double[6], [3, 2])));
        LossChecks.Throws<ArgumentException>("gradient", () => ce.Backward(x, Tensor.Create(new double[6], [2, 3]), 1.0, Tensor.Create(new double[6], [6])));
    }

    /// <summary>
    /// A batch (kept rows run in blocks of up to 16 where the row kernels are 512-bit) equals its rows computed one
    /// call each: per-row losses and gradients bit for bit, with ignored rows first, inside and last (so full 16-row
    /// blocks, a 17th row starting a new block and short blocks all occur), a kept row holding a NaN with payload bits
    /// (its loss and whole gradient row NaN, its neighbours untouched), class counts below, at and above a 512-bit
    /// block, class weights and label smoothing.
    /// </summary>
    [Theory]
    [InlineData(15, 0.0, false)]
    [InlineData(16, 0.0, false)]
    [InlineData(37, 0.0, true)]
    [InlineData(80, 0.1, false)]
    [InlineData(80, 0.1, true)]
    public void Batch_EqualsRowByRow(int classes, double smoothing, bool weighted)
    {
        Check<float>();
        Check<double>();

        void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int rows = 45, nanRow = 30;
            var rng = new Random(classes);
            T[] x = Enumerable.Range(0, rows * classes).Select(_ => T.CreateTruncating(rng.NextDouble() * 16 - 8)).ToArray();
            x[nanRow * classes + classes / 2] = T.CreateTruncating(BitConverter.Int32BitsToSingle(0x7FC00001));
            int[] y = Enumerable.Range(0, rows).Select(r => r is 0 or 23 or 40 or 44 ? -100 : rng.Next(classes)).ToArray();
            T[] w = weighted ? Enumerable.Range(0, classes).Select(_ => T.CreateTruncating(0.5 + rng.NextDouble())).ToArray() : [];
            var ce = new CrossEntropyLoss<T>(Reduction.None, w, labelSmoothing: smoothing);
            var values = new T[rows];
            var g = new T[rows * classes];
            ce.ForwardBackward(x, y, rows, classes, g, values);
            for (int r = 0; r < rows; r++)
            {
                var v1 = new T[1];
                var g1 = new T[classes];
                ce.ForwardBackward(x.AsSpan(r * classes, classes), y.AsSpan(r, 1), 1, classes, g1, v1);
                Assert.Equal(v1[0], values[r]);
                Assert.Equal(g1, g.AsSpan(r * classes, classes).ToArray());
                Assert.Equal(r == nanRow, T.IsNaN(values[r]));
                Assert.Equal(r == nanRow ? classes : 0, g1.Count(T.IsNaN));
            }
        }
    }
}
