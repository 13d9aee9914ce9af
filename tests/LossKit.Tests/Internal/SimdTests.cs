using System.Numerics;
using System.Runtime.Intrinsics;
using LossKit.Classification;
using LossKit.Internal;
using LossKit.Regression;
using LossKit.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LossKit.Tests.Internal;

/// <summary>
/// Which SIMD tier the kernels run, and that the vector kernels agree with the scalar path. .ci/run repeats the suite
/// once per tier: LOSSKIT_SIMD_TIER=512 with DOTNET_EnableAVX512=0 (the 512-bit blocks in software, on any CPU),
/// DOTNET_EnableAVX512=0, DOTNET_EnableAVX=0 and DOTNET_EnableHWIntrinsic=0, each with LOSSKIT_EXPECT_SIMD naming the
/// tier it must have run (512-software, 256, 128, scalar), so every tier meets the same references on every machine.
/// </summary>
public class SimdTests(ITestOutputHelper output, DiagnosticOutput diagnostics) : IClassFixture<DiagnosticOutput>
{
    public const string ExpectVariable = "LOSSKIT_EXPECT_SIMD";

    /// <summary>
    /// Reports the tier and, under LOSSKIT_EXPECT_SIMD, asserts it through the predicates the kernels branch on
    /// (<see cref="VMath.IsWide{T}"/>, <see cref="VMath.IsVectorized{T}"/>): "512" = the 512-bit blocks run (hardware
    /// or software), "512-software" = they run without Vector512 acceleration, "256"/"128" = hardware Vector&lt;T&gt;
    /// kernels of that width and no 512-bit blocks, "scalar" = no vector kernels.
    /// </summary>
    [Fact]
    public void ReportsActiveTier_AndMatchesExpectation()
    {
        int bits = Vector<byte>.Count * 8;
        bool wide = VMath.IsWide<float>() && VMath.IsWide<double>();
        bool vectorized = VMath.IsVectorized<float>() && VMath.IsVectorized<double>();
        // The widest blocks the kernels run, and whether those are not hardware-accelerated (a forced tier).
        string width = wide ? "512" : vectorized ? $"{bits}" : "scalar";
        bool inSoftware = wide ? !Vector512.IsHardwareAccelerated : vectorized && !Vector.IsHardwareAccelerated;
        string text = $"LossKit SIMD: {LossKitSettings.SimdDescription} | tier {width}{(inSoftware ? " (software)" : "")}, "
            + $"Vector<T> {bits}-bit, Vector.IsHardwareAccelerated={Vector.IsHardwareAccelerated}, Vector128={Vector128.IsHardwareAccelerated}, "
            + $"Vector256={Vector256.IsHardwareAccelerated}, Vector512={Vector512.IsHardwareAccelerated}, "
            + $"{SimdTier.Variable}={SimdTier.Value ?? "(unset)"}, {ExpectVariable}={Environment.GetEnvironmentVariable(ExpectVariable) ?? "(unset)"}";
        output.WriteLine(text);
        Console.WriteLine(text);
        diagnostics.Write(text);

        // The description names the widest blocks the kernels run; Half never takes the vector paths.
        Assert.Contains(wide ? "512-bit" : vectorized ? $"Vector<T> {bits}-bit" : "scalar", LossKitSettings.SimdDescription, StringComparison.Ordinal);
        Assert.False(VMath.IsVectorized<Half>() || VMath.IsWide<Half>());
        if (SimdTier.Requested == SimdTier.Kind.Auto)
        {
            Assert.Equal((Vector.IsHardwareAccelerated, Vector512.IsHardwareAccelerated), (vectorized, wide));
        }

        string? expect = Environment.GetEnvironmentVariable(ExpectVariable);
        if (string.IsNullOrWhiteSpace(expect))
        {
            return;
        }

        switch (expect.Trim().ToLowerInvariant())
        {
            case "512":
                Assert.True(wide && vectorized, $"expected the 512-bit blocks: {text}");
                break;
            case "512-software":
                Assert.True(wide && vectorized && !Vector512.IsHardwareAccelerated && inSoftware, $"expected the 512-bit blocks in software: {text}");
                break;
            case "256":
                Assert.True(vectorized && !wide && Vector.IsHardwareAccelerated && bits == 256, $"expected 256-bit Vector<T> kernels without 512-bit blocks: {text}");
                break;
            case "128":
                Assert.True(vectorized && !wide && Vector.IsHardwareAccelerated && bits == 128, $"expected 128-bit Vector<T> kernels without 512-bit blocks: {text}");
                break;
            case "scalar":
                Assert.True(!vectorized && !wide, $"expected the scalar kernels: {text}");
                break;
            default:
                Assert.Fail($"{ExpectVariable}={expect} is not one of 512, 512-software, 256, 128, scalar");
                break;
        }
    }

    /// <summary>
    /// The description the test logs, <c>losskit bench</c> and the lab report print, written out for the x64 machines this
    /// project runs on (AVX-512 and AVX2) under each leg of .ci/run and each forced tier: what the kernels run, the tier
    /// forced, then the hardware. Other machines (e.g. Arm64, whose Vector&lt;T&gt; is 128-bit with Vector256 off) get only
    /// the checks of <see cref="ReportsActiveTier_AndMatchesExpectation"/>.
    /// </summary>
    [Fact]
    public void Description_IsTheDocumentedTextOnKnownMachines()
    {
        const string Avx512 = "hardware: Vector128 True, Vector256 True, Vector512 True";
        const string Avx2 = "hardware: Vector128 True, Vector256 True, Vector512 False";
        const string Sse = "hardware: Vector128 True, Vector256 False, Vector512 False";
        const string None = "hardware: Vector128 False, Vector256 False, Vector512 False";
        string? tier = string.IsNullOrWhiteSpace(SimdTier.Value) ? null : SimdTier.Value.Trim();
        string machine = (Vector128.IsHardwareAccelerated, Vector256.IsHardwareAccelerated, Vector512.IsHardwareAccelerated, Vector<byte>.Count) switch
        {
            (true, true, true, 32) => "avx512",
            (true, true, false, 32) => "avx2",
            (true, false, false, 16) => "sse",
            (false, false, false, _) => "none",
            _ => "other",
        };
        string? expected = (tier, machine) switch
        {
            (null, "avx512") => "512-bit (hardware) + Vector<T> 256-bit (8 x float); " + Avx512,
            (null, "avx2") => "Vector<T> 256-bit (8 x float); " + Avx2,
            (null, "sse") => "Vector<T> 128-bit (4 x float); " + Sse,
            (null, "none") => "scalar (no hardware SIMD); " + None,
            ("512", "avx512") => "512-bit (hardware) + Vector<T> 256-bit (8 x float); LOSSKIT_SIMD_TIER=512; " + Avx512,
            ("512", "avx2") => "512-bit (software) + Vector<T> 256-bit (8 x float); LOSSKIT_SIMD_TIER=512; " + Avx2,
            ("vector", "avx512") => "Vector<T> 256-bit (8 x float); LOSSKIT_SIMD_TIER=vector; " + Avx512,
            ("vector", "avx2") => "Vector<T> 256-bit (8 x float); LOSSKIT_SIMD_TIER=vector; " + Avx2,
            ("vector", "none") => "Vector<T> 128-bit (4 x float, software); LOSSKIT_SIMD_TIER=vector; " + None,
            ("scalar", "avx512") => "scalar; LOSSKIT_SIMD_TIER=scalar; " + Avx512,
            ("scalar", "avx2") => "scalar; LOSSKIT_SIMD_TIER=scalar; " + Avx2,
            ("scalar", "none") => "scalar (no hardware SIMD); LOSSKIT_SIMD_TIER=scalar; " + None,
            _ => null,
        };
        output.WriteLine($"tier {tier ?? "(auto)"}, machine {machine}: {LossKitSettings.SimdDescription}");
        if (expected is not null)
        {
            Assert.Equal(expected, LossKitSettings.SimdDescription);
            Assert.Equal(expected, SimdTier.Description);
        }
    }

    /// <summary>LOSSKIT_SIMD_TIER's values: auto (also unset or blank), 512, vector, scalar; anything else is invalid.</summary>
    [Theory]
    [InlineData(null, "Auto", true)]
    [InlineData("", "Auto", true)]
    [InlineData("  ", "Auto", true)]
    [InlineData("auto", "Auto", true)]
    [InlineData("AUTO", "Auto", true)]
    [InlineData("512", "Wide", true)]
    [InlineData(" 512 ", "Wide", true)]
    [InlineData("vector", "Vector", true)]
    [InlineData("Scalar", "Scalar", true)]
    [InlineData("256", "Auto", false)]
    [InlineData("avx512", "Auto", false)]
    [InlineData("wide", "Auto", false)]
    public void TierVariable_Parses(string? value, string kind, bool valid)
    {
        Assert.Equal(valid, SimdTier.TryParse(value, out SimdTier.Kind parsed));
        Assert.Equal(kind, parsed.ToString());
    }

    /// <summary>An invalid LOSSKIT_SIMD_TIER is an error naming the variable, its value and the values allowed.</summary>
    [Fact]
    public void TierVariable_InvalidValue_Message()
    {
        string message = SimdTier.InvalidMessage("avx2");
        Assert.Equal("LOSSKIT_SIMD_TIER='avx2' is not a SIMD tier: use auto (the default), 512, vector or scalar.", message);
        Assert.Equal(SimdTier.Invalid, SimdTier.Error is not null);
    }

    /// <summary>
    /// Each element computed alone (a length-1 call runs the scalar code) equals the same element computed inside a
    /// long array (vector blocks plus a scalar tail): values and gradients, every element-wise loss, float and double.
    /// </summary>
    [Theory]
    [MemberData(nameof(LossSetup.ElementwiseIds), MemberType = typeof(LossSetup))]
    public void VectorKernels_AgreeWithScalarPath(string loss)
    {
        Scenario s = Scenarios.Random(new Variant(loss, Reduction.None) { Weight = true }, 1, 67, 31);
        Compare<double>(s, 4e-15);
        Compare<float>(s, 1e-6);
    }

    private static void Compare<T>(Scenario s, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = s.Input.Length;
        LossRunner<T> all = LossRunner<T>.Create(s.Setup);
        T[] x = LossRunner<T>.Convert(s.Input);
        var values = new T[n];
        var g = new T[n];
        all.ForwardBackward(x, g, values);
        var single = new double[n];
        var singleGradient = new double[n];
        for (int i = 0; i < n; i++)
        {
            var one = new LossSetup
            {
                Loss = s.Setup.Loss, Reduction = Reduction.None, Shape = [1], Target = [s.Setup.Target[i]], Weight = [s.Setup.Weight![i]],
                Margin = s.Setup.Margin, Beta = s.Setup.Beta, Delta = s.Setup.Delta, Alpha = s.Setup.Alpha, Gamma = s.Setup.Gamma,
            };
            var v = new T[1];
            var gi = new T[1];
            LossRunner<T>.Create(one).ForwardBackward([x[i]], gi, v);
            single[i] = double.CreateTruncating(v[0]);
            singleGradient[i] = double.CreateTruncating(gi[0]);
        }

        Tolerance.AssertClose(Tolerance.Widen<T>(values), single, Tolerance.For<T>(), tolerance, $"{typeof(T).Name} {s.Setup.Loss}: vector vs scalar values");
        Tolerance.AssertClose(Tolerance.Widen<T>(g), singleGradient, Tolerance.For<T>(), tolerance, $"{typeof(T).Name} {s.Setup.Loss}: vector vs scalar gradients");
    }

    /// <summary>
    /// The reduced, unweighted call (the training step, which runs 512-bit blocks for the ops that have them) against
    /// the unreduced call over the same elements (Vector&lt;T&gt; blocks): the sum equals Σ of the per-element values
    /// and the gradients are the same, over lengths with full blocks of every width and a ragged tail: 1031 (four whole
    /// 256-element blocks of the staged 512-bit loop, then 7) and 1000 (three whole blocks, a short one of 224, then 8).
    /// </summary>
    [Theory]
    [MemberData(nameof(LossSetup.ElementwiseIds), MemberType = typeof(LossSetup))]
    public void ReducedKernels_AgreeWithUnreducedPath(string loss)
    {
        foreach (int length in new[] { 1031, 1000 })
        {
            Scenario s = Scenarios.Random(new Variant(loss, Reduction.Sum), 1, length, 17);
            CompareReduced<double>(s, 1e-13);
            CompareReduced<float>(s, 1e-5);
        }
    }

    /// <summary>The same for the sigmoid focal loss (512-bit at γ = 2): hard and soft targets, with and without α.</summary>
    [Theory]
    [InlineData(0.25, 2.0, false)]
    [InlineData(-1.0, 2.0, true)]
    [InlineData(0.25, 1.5, true)]
    public void ReducedSigmoidFocal_AgreesWithUnreducedPath(double alpha, double gamma, bool softTargets)
    {
        const int n = 1031;
        var rng = new Random(3);
        double[] x = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 24 - 12).ToArray();
        double[] t = Enumerable.Range(0, n).Select(_ => softTargets ? rng.NextDouble() : rng.Next(2)).ToArray();
        Check<float>(1e-5);
        Check<double>(1e-13);

        void Check<T>(double tolerance)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] xt = LossRunner<T>.Convert(x), tt = LossRunner<T>.Convert(t);
            var g = new T[n];
            T sum = new LossKit.Detection.SigmoidFocalLoss<T>(Reduction.Sum, alpha, gamma).ForwardBackward(xt, tt, g);
            var values = new T[n];
            var unreducedGradient = new T[n];
            new LossKit.Detection.SigmoidFocalLoss<T>(Reduction.None, alpha, gamma).ForwardBackward(xt, tt, unreducedGradient, values);
            AssertReducedAgrees(sum, values, g, unreducedGradient, tolerance, "focal");
        }
    }

    /// <summary>
    /// Quality focal loss: the reduced call (runs of background anchors as one flat loop, 512-bit at β = 2) against
    /// the unreduced call (anchor by anchor), with background runs of many lengths between the positive anchors.
    /// </summary>
    [Theory]
    [InlineData(2.0, 7)]
    [InlineData(2.0, 80)]
    [InlineData(1.5, 80)]
    public void ReducedQualityFocal_AgreesWithUnreducedPath(double beta, int classes)
    {
        const int batch = 97;
        var rng = new Random(classes);
        double[] x = Enumerable.Range(0, batch * classes).Select(_ => rng.NextDouble() * 24 - 12).ToArray();
        int[] labels = Enumerable.Range(0, batch).Select(_ => rng.Next(8) == 0 ? rng.Next(classes) : classes).ToArray();
        double[] scores = Enumerable.Range(0, batch).Select(_ => rng.NextDouble()).ToArray();
        Check<float>(1e-5);
        Check<double>(1e-13);

        void Check<T>(double tolerance)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] xt = LossRunner<T>.Convert(x), st = LossRunner<T>.Convert(scores);
            var g = new T[x.Length];
            T sum = new LossKit.Detection.QualityFocalLoss<T>(Reduction.Sum, beta).ForwardBackward(xt, labels, st, batch, classes, g);
            var values = new T[batch];
            var unreducedGradient = new T[x.Length];
            new LossKit.Detection.QualityFocalLoss<T>(Reduction.None, beta).ForwardBackward(xt, labels, st, batch, classes, unreducedGradient, values);
            AssertReducedAgrees(sum, values, g, unreducedGradient, tolerance, "QFL");
        }
    }

    private static void CompareReduced<T>(Scenario s, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = s.Input.Length;
        T[] x = LossRunner<T>.Convert(s.Input);
        var g = new T[n];
        T sum = LossRunner<T>.Create(s.Setup).ForwardBackward(x, g, default);
        var values = new T[n];
        var unreducedGradient = new T[n];
        LossRunner<T>.Create(s.Setup.With(Reduction.None)).ForwardBackward(x, unreducedGradient, values);
        AssertReducedAgrees(sum, values, g, unreducedGradient, tolerance, s.Setup.Loss);
    }

    /// <summary>The reduced call's sum equals Σ of the unreduced per-element values, and its gradient the unreduced one.</summary>
    private static void AssertReducedAgrees<T>(T sum, T[] values, T[] gradient, T[] unreducedGradient, double tolerance, string loss)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tolerance.AssertClose([double.CreateTruncating(sum)], [Tolerance.Widen<T>(values).Sum()], Tolerance.For<T>(), tolerance, $"{typeof(T).Name} {loss}: reduced sum vs Σ values");
        Tolerance.AssertClose(Tolerance.Widen<T>(gradient), Tolerance.Widen<T>(unreducedGradient), Tolerance.For<T>(), tolerance, $"{typeof(T).Name} {loss}: reduced vs unreduced gradients");
    }

    /// <summary>Half runs the scalar path; it agrees with double on Half-representable data within Half precision.</summary>
    [Theory]
    [InlineData("l1")]
    [InlineData("mse")]
    [InlineData("bce_with_logits")]
    [InlineData("bce_with_logits+pos_weight")]
    public void Half_AgreesWithDouble(string which)
    {
        string loss = which.Split('+')[0];
        var variant = new Variant(loss, Reduction.Sum) { Weight = true, PosWeight = which.EndsWith("pos_weight", StringComparison.Ordinal) };
        Scenario raw = Scenarios.Random(variant, 4, 6, 12);
        static double[] H(double[] a) => Array.ConvertAll(a, v => (double)(Half)v);
        var setup = new LossSetup
        {
            Loss = loss, Shape = raw.Setup.Shape, Target = H(raw.Setup.Target), Weight = H(raw.Setup.Weight!),
            PosWeight = raw.Setup.PosWeight is null ? null : H(raw.Setup.PosWeight),
        };
        double[] x = H(raw.Input);
        foreach (Reduction r in new[] { Reduction.None, Reduction.Mean, Reduction.Sum })
        {
            LossRunner<Half> h = LossRunner<Half>.Create(setup.With(r));
            LossRunner<double> d = LossRunner<double>.Create(setup.With(r));
            int values = r == Reduction.None ? x.Length : 0;
            var hv = new Half[values];
            var hg = new Half[x.Length];
            var dv = new double[values];
            var dg = new double[x.Length];
            Half hValue = h.ForwardBackward(LossRunner<Half>.Convert(x), hg, hv);
            double dValue = d.ForwardBackward(x, dg, dv);

            // Sums of 24 terms accumulate in Half (11-bit significand): allow 1%; single elements ~4 ulp (4e-3).
            Tolerance.AssertClose([(double)hValue], [dValue], Tolerance.Half, 1e-2, $"Half {which} {r}: value");
            Tolerance.AssertClose(Tolerance.Widen<Half>(hv), dv, Tolerance.Half, 4e-3, $"Half {which} {r}: per-element values");
            Tolerance.AssertClose(Tolerance.Widen<Half>(hg), dg, Tolerance.Half, 4e-3, $"Half {which} {r}: gradient");
        }

        Assert.True(Half.IsFinite(new L1Loss<Half>().Forward([(Half)1, (Half)2], [(Half)0, (Half)0])));
        Assert.True(Half.IsFinite(new MseLoss<Half>().Forward([(Half)1], [(Half)0])));
        Assert.True(Half.IsFinite(new BinaryCrossEntropyWithLogitsLoss<Half>().Forward([(Half)(-60000)], [(Half)1])));
    }
}
