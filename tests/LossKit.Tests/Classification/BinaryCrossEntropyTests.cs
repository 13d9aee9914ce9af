using System.Numerics;
using LossKit.Classification;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Classification;

/// <summary>BinaryCrossEntropyLoss (probabilities) and BinaryCrossEntropyWithLogitsLoss.</summary>
public class BinaryCrossEntropyTests
{
    // ---- PyTorch golden cases -------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Golden.Names), "bce", MemberType = typeof(Golden))]
    public void Reference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "bce", MemberType = typeof(Golden))]
    public void Reference_Float(string name) => ReferenceCheck.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "bce_with_logits", MemberType = typeof(Golden))]
    public void WithLogitsReference_Double(string name) => ReferenceCheck.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.Names), "bce_with_logits", MemberType = typeof(Golden))]
    public void WithLogitsReference_Float(string name) => ReferenceCheck.Assert<float>(name);

    // ---- finite differences and entry points ----------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Variants.Names), "bce", MemberType = typeof(Variants))]
    public void Gradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "bce_with_logits", MemberType = typeof(Variants))]
    public void WithLogitsGradient_MatchesFiniteDifferences(string variant) => LossChecks.GradientMatchesFiniteDifferences(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "bce", MemberType = typeof(Variants))]
    public void EntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    [Theory]
    [MemberData(nameof(Variants.Names), "bce_with_logits", MemberType = typeof(Variants))]
    public void WithLogitsEntryPoints_Agree(string variant) => LossChecks.EntryPointsAgree(variant);

    // ---- published numbers ----------------------------------------------------------------------------------------

    /// <summary>
    /// α-balanced cross-entropy (Lin et al. 2017, α = 0.25): a foreground example (y = 1) at p = 0.95 costs
    /// 0.25·(−ln 0.95) = 0.0128233; a background example (y = 0) at p(fg) = 0.05 costs 0.75·(−ln 0.95) = 0.0384700.
    /// Computed with BCE-with-logits on logit(p) with weight α for y = 1 and 1 − α for y = 0.
    /// </summary>
    [Theory]
    [InlineData(1.0, 0.95, 0.0128233)]
    [InlineData(0.0, 0.05, 0.0384700)]
    public void AlphaBalancedCrossEntropy_GivesPublishedLoss(double y, double p, double expected)
    {
        const double alpha = 0.25;
        double logit = Math.Log(p / (1 - p));
        double w = y == 1 ? alpha : 1 - alpha;
        Assert.Equal(expected, new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.Sum).Forward([logit], [y], weight: [w]), 1e-7);
        Assert.Equal(expected, new BinaryCrossEntropyWithLogitsLoss<float>(Reduction.Sum).Forward([(float)logit], [(float)y], weight: [(float)w]), 1e-6);

        // The probability form gives the same.
        Assert.Equal(expected, new BinaryCrossEntropyLoss<double>(Reduction.Sum).Forward([p], [y], weight: [w]), 1e-7);
    }

    /// <summary>pos_weight p multiplies the positive term: BCE-with-logits(x, 1) with pos_weight p is p·softplus(−x).</summary>
    [Fact]
    public void PosWeight_ScalesThePositiveTerm()
    {
        var loss = new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.None, new double[] { 3.0, 0.5 });
        var values = new double[4];
        loss.Forward([0.7, -1.2, 0.7, -1.2], [1.0, 1.0, 0.0, 0.0], values);
        Assert.Equal(3.0 * Math.Log(1 + Math.Exp(-0.7)), values[0], 1e-14);
        Assert.Equal(0.5 * Math.Log(1 + Math.Exp(1.2)), values[1], 1e-14);
        Assert.Equal(Math.Log(1 + Math.Exp(0.7)), values[2], 1e-14);
        Assert.Equal(Math.Log(1 + Math.Exp(-1.2)), values[3], 1e-14);
    }

    /// <summary>
    /// ATen's BCE backward divides by max(x(1 − x), EPSILON) with <c>constexpr float EPSILON = 1e-12</c>, i.e.
    /// 9.999999960041972e-13 even for double tensors: at x = 0, y = 1 PyTorch 1.13 gives the gradient
    /// −1/9.999999960041972e-13 = −1.000000003995803e12 (the golden saturated cases show the same).
    /// </summary>
    [Fact]
    public void Gradient_AtSaturation_ClampsLikeAten()
    {
        double atenEpsilon = (float)1e-12;
        var g = new double[3];
        new BinaryCrossEntropyLoss<double>(Reduction.Sum).ForwardBackward([0.0, 1.0, 0.0], [1.0, 0.0, 0.25], g);
        Assert.Equal(-1 / atenEpsilon, g[0], 1e-15 * 1e12);
        Assert.Equal(1 / atenEpsilon, g[1], 1e-15 * 1e12);
        Assert.Equal(-0.25 / atenEpsilon, g[2], 1e-15 * 1e12);

        var gf = new float[1];
        new BinaryCrossEntropyLoss<float>(Reduction.Sum).ForwardBackward([0f], [1f], gf);
        Assert.Equal(-1 / (float)1e-12, gf[0]);
    }

    // ---- extreme logits -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1e4)]
    [InlineData(1e30)]
    public void ExtremeLogits_WithLogits_FiniteValueAndGradient(double big)
    {
        Extreme<double>(big);
        Extreme<float>(big);
    }

    private static void Extreme<T>(double big)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 4, cols = 9;
        double[] pattern = [big, -big, 0.0, 3.0, -big, big];
        double[] x = Enumerable.Range(0, rows * cols).Select(i => pattern[i % pattern.Length]).ToArray();
        double[] y = Enumerable.Range(0, rows * cols).Select(i => (i / 6 % 3) switch { 0 => 1.0, 1 => 0.0, _ => 0.25 }).ToArray();
        foreach (bool weighted in new[] { false, true })
        {
            foreach (bool posWeighted in new[] { false, true })
            {
                var setup = new LossSetup
                {
                    Loss = "bce_with_logits", Shape = [rows, cols], Target = y,
                    Weight = weighted ? Scenarios.Uniform(new Random(1), rows * cols, 0.1, 2.0) : null,
                    PosWeight = posWeighted ? Scenarios.Uniform(new Random(2), cols, 0.1, 4.0) : null,
                };
                double[] values = LossChecks.AssertFinite<T>(setup, x);
                if (!weighted && !posWeighted)
                {
                    for (int i = 0; i < x.Length; i++)
                    {
                        // Exact: y=1: softplus(−x); y=0: softplus(x); soft y: (1 − y)x + softplus(−x).
                        double xi = double.CreateTruncating(T.CreateTruncating(x[i]));
                        double expected = (1 - y[i]) * xi + Math.Max(-xi, 0) + Math.Log(1 + Math.Exp(-Math.Abs(xi)));
                        Assert.True(Math.Abs(values[i] - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)),
                            $"{typeof(T).Name} x={xi} y={y[i]}: {values[i]} vs {expected}");
                    }
                }
            }
        }
    }

    // ---- bad input ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1.5, 0.5, "input")]
    [InlineData(-0.01, 0.5, "input")]
    [InlineData(0.5, 1.2, "target")]
    [InlineData(0.5, -1e-7, "target")]
    [InlineData(double.PositiveInfinity, 0.5, "input")]
    public void Probabilities_OutsideUnitInterval_Throw(double badInput, double badTarget, string paramName)
    {
        // The bad element sits in the vector part (index 3) and in the scalar tail (last index).
        foreach (int at in new[] { 3, 36 })
        {
            double[] x = Enumerable.Repeat(0.5, 37).ToArray();
            double[] y = Enumerable.Repeat(0.5, 37).ToArray();
            x[at] = badInput;
            y[at] = badTarget;
            LossChecks.Throws<ArgumentOutOfRangeException>(paramName, () => new BinaryCrossEntropyLoss<double>().Forward(x, y));
            LossChecks.Throws<ArgumentOutOfRangeException>(paramName, () => new BinaryCrossEntropyLoss<double>().Backward(x, y, 1.0, new double[37]));
            LossChecks.Throws<ArgumentOutOfRangeException>(paramName, () => new BinaryCrossEntropyLoss<double>().ForwardBackward(x, y, new double[37]));
            float[] xf = Array.ConvertAll(x, v => (float)v), yf = Array.ConvertAll(y, v => (float)v);
            LossChecks.Throws<ArgumentOutOfRangeException>(paramName, () => new BinaryCrossEntropyLoss<float>().Forward(xf, yf));
        }
    }

    [Fact]
    public void Probabilities_ZeroAndOne_AreAllowed_AndNaNPropagates()
    {
        var loss = new BinaryCrossEntropyLoss<double>(Reduction.None);
        var values = new double[3];
        loss.Forward([0.0, 1.0, double.NaN], [1.0, 0.0, 0.5], values);
        Assert.Equal(100.0, values[0]); // log clamped at −100, as PyTorch
        Assert.Equal(100.0, values[1]);
        Assert.True(double.IsNaN(values[2]));
    }

    [Fact]
    public void PosWeight_NotDividingTheLength_Throws()
    {
        var loss = new BinaryCrossEntropyWithLogitsLoss<double>(posWeight: new double[] { 1, 2, 3 });
        LossChecks.Throws<ArgumentException>("input", () => loss.Forward(new double[7], new double[7]));
        LossChecks.Throws<ArgumentException>("input", () => loss.ForwardBackward(new double[8], new double[8], new double[8]));
        LossChecks.Throws<ArgumentException>("input", () => loss.Backward(new double[4], new double[4], 1.0, new double[4]));
        Assert.Equal(0.0, new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.Sum, new double[] { 1, 2, 3 }).Forward(new double[6], new double[6]) - 6 * Math.Log(2), 12);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void PosWeight_NotFinite_Throws(double bad) =>
        LossChecks.Throws<ArgumentOutOfRangeException>("posWeight", () => _ = new BinaryCrossEntropyWithLogitsLoss<double>(posWeight: new[] { 1.0, bad }));

    /// <summary>
    /// Infinite logits, against PyTorch 1.13 (F.binary_cross_entropy_with_logits, reduction='none', and its autograd
    /// gradient): loss [∞, NaN, NaN, NaN] and gradient [1, 0, 0, −1] for (x, y) = (+∞, 0), (+∞, 1), (−∞, 0), (−∞, 1).
    /// Long enough (40) that the 512-bit and Vector&lt;T&gt; paths see them too, float and double, every reduction's kernel.
    /// </summary>
    [Fact]
    public void WithLogits_InfiniteLogits_MatchPyTorch()
    {
        Check<float>();
        Check<double>();

        static void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] x = Enumerable.Range(0, 40).Select(i => i % 4 < 2 ? T.PositiveInfinity : T.NegativeInfinity).ToArray();
            T[] y = Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? T.Zero : T.One).ToArray();
            var values = new T[40];
            var g = new T[40];
            new BinaryCrossEntropyWithLogitsLoss<T>(Reduction.None).ForwardBackward(x, y, g, values);
            var reducedGradient = new T[40];
            T sum = new BinaryCrossEntropyWithLogitsLoss<T>(Reduction.Sum).ForwardBackward(x, y, reducedGradient);
            for (int i = 0; i < 40; i++)
            {
                double expectedGradient = (i % 4) switch { 0 => 1, 3 => -1, _ => 0 };
                Assert.True(i % 4 == 0 ? T.IsPositiveInfinity(values[i]) : T.IsNaN(values[i]), $"{typeof(T).Name} loss[{i}] = {values[i]}");
                Assert.Equal(expectedGradient, double.CreateTruncating(g[i]));
                Assert.Equal(expectedGradient, double.CreateTruncating(reducedGradient[i]));
            }

            Assert.True(T.IsNaN(sum));
        }
    }
}
