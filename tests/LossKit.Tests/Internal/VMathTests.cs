using System.Numerics;
using System.Runtime.Intrinsics;
using LossKit.Internal;
using Xunit.Abstractions;

namespace LossKit.Tests.Internal;

/// <summary>
/// The float polynomial exp / log1p / sigmoid of <see cref="VMath"/> against double-precision libm, in ulps of the
/// float result, over a dense sweep of the ranges the kernels feed them, plus the special values.
/// </summary>
public class VMathTests(ITestOutputHelper output)
{
    /// <summary>|a − b| in units of the float spacing at b (subnormal spacing below 2⁻¹²⁶).</summary>
    private static double Ulps(float a, double b)
    {
        double spacing = Math.Max(Math.Abs(b), Math.Pow(2, -126)) * Math.Pow(2, -23);
        spacing = Math.Pow(2, Math.Floor(Math.Log2(spacing)));
        return Math.Abs(a - b) / Math.Max(spacing, float.Epsilon);
    }

    /// <summary>Runs <paramref name="f"/> on vectors of consecutive samples from <paramref name="sample"/>.</summary>
    private static float[] Map(int count, Func<int, float> sample, Func<Vector<float>, Vector<float>> f)
    {
        int w = Vector<float>.Count;
        var x = new float[(count + w - 1) / w * w];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = sample(Math.Min(i, count - 1));
        }

        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += w)
        {
            f(new Vector<float>(x, i)).CopyTo(y, i);
        }

        return y;
    }

    /// <summary><see cref="Map"/> 16 lanes at a time through the 512-bit forms (emulated where Vector512 is not accelerated).</summary>
    private static float[] Map512(int count, Func<int, float> sample, Func<Vector512<float>, Vector512<float>> f)
    {
        var x = new float[(count + 15) / 16 * 16];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = sample(Math.Min(i, count - 1));
        }

        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += 16)
        {
            f(Vector512.Create(x.AsSpan(i, 16))).CopyTo(y, i);
        }

        return y;
    }

    [Fact]
    public void Vector512Forms_MeetTheSameBounds_AgainstDoubleLibm()
    {
        const int n = 400_000;
        float ExpSample(int i) => -110f * i / (n - 1);
        float[] e = Map512(n, ExpSample, VMath.ExpNonPositive);
        float LogSample(int i) => i < n / 2 ? (float)Math.Pow(10, -40.0 * i / (n / 2)) : (float)(1.0 - (i - n / 2) / (double)n);
        float[] l = Map512(n, LogSample, VMath.Log1pUnit);
        float Sample(int i) => -120f + 240f * i / (n - 1);
        float[] sigmoid = Map512(n, Sample, v => VMath.SigmoidAndLog1pExpNegAbs(v, out _));
        float[] softplus = Map512(n, Sample, v => { VMath.SigmoidAndLog1pExpNegAbs(v, out Vector512<float> sp); return sp; });
        double worstExp = 0, worstLog = 0, worstSigmoid = 0, worstSoftplus = 0;
        static double Err(float got, double reference) =>
            reference < float.Epsilon / 2 ? (got == 0 ? 0 : double.PositiveInfinity) : Ulps(got, reference);
        for (int i = 0; i < n; i++)
        {
            worstExp = Math.Max(worstExp, Err(e[i], Math.Exp(ExpSample(i))));
            double u = LogSample(i);
            worstLog = Math.Max(worstLog, Err(l[i], u < 1e-8 ? u - u * u / 2 : Math.Log(1.0 + u)));
            double x = Sample(i), ex = Math.Exp(-Math.Abs(x));
            worstSigmoid = Math.Max(worstSigmoid, Err(sigmoid[i], x >= 0 ? 1 / (1 + ex) : ex / (1 + ex)));
            worstSoftplus = Math.Max(worstSoftplus, Err(softplus[i], ex < 1e-8 ? ex - ex * ex / 2 : Math.Log(1 + ex)));
        }

        output.WriteLine($"512-bit: exp {worstExp:F3}, log1p {worstLog:F3}, sigmoid {worstSigmoid:F3}, softplus {worstSoftplus:F3} ulp (Vector512 accelerated: {Vector512.IsHardwareAccelerated})");
        Assert.True(worstExp <= 1.0, $"exp worst {worstExp} ulp");
        Assert.True(worstLog <= 2.0, $"log1p worst {worstLog} ulp");
        Assert.True(worstSigmoid <= 3.0, $"sigmoid worst {worstSigmoid} ulp");
        Assert.True(worstSoftplus <= 3.0, $"softplus worst {worstSoftplus} ulp");

        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e4f, -1e4f, 0f, -0f, float.MaxValue];
        float[] expected = [float.NaN, 1f, 0f, 1f, 0f, 0.5f, 0.5f, 1f];
        float[] sg = Map512(special.Length, i => special[i], v => VMath.SigmoidAndLog1pExpNegAbs(v, out _));
        float[] sp2 = Map512(special.Length, i => special[i], v => { VMath.SigmoidAndLog1pExpNegAbs(v, out Vector512<float> sp); return sp; });
        for (int i = 0; i < special.Length; i++)
        {
            Assert.Equal(expected[i], sg[i]);
            Assert.True(float.IsNaN(special[i]) ? float.IsNaN(sp2[i]) : Math.Abs(sp2[i] - (Math.Abs(special[i]) == 0 ? MathF.Log(2f) : 0f)) <= 1e-7f, $"softplus({special[i]}) = {sp2[i]}");
        }
    }

    [Fact]
    public void ExpNonPositive_IsWithinOneUlp()
    {
        const int n = 400_000;
        float Sample(int i) => -110f * i / (n - 1);
        float[] y = Map(n, Sample, VMath.ExpNonPositive);
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            double reference = Math.Exp(Sample(i));
            worst = Math.Max(worst, reference < float.Epsilon / 2 ? (y[i] == 0 ? 0 : double.PositiveInfinity) : Ulps(y[i], reference));
        }

        output.WriteLine($"exp(x), x in [-110, 0]: worst {worst:F3} ulp");
        Assert.True(worst <= 1.0, $"worst {worst} ulp");
    }

    [Fact]
    public void Log1pUnit_IsWithinTwoUlp()
    {
        const int n = 400_000;
        // u from 1 down to 1e-40 (subnormal), log-spaced, plus the linear range near 1.
        float Sample(int i) => i < n / 2 ? (float)Math.Pow(10, -40.0 * i / (n / 2)) : (float)(1.0 - (i - n / 2) / (double)n);
        float[] y = Map(n, Sample, VMath.Log1pUnit);
        double worst = 0;
        int at = 0;
        for (int i = 0; i < n; i++)
        {
            double u = Sample(i);
            double e = Ulps(y[i], u < 1e-8 ? u - u * u / 2 : Math.Log(1.0 + u)); // double's 1 + u drops u below 1e-16
            if (e > worst)
            {
                (worst, at) = (e, i);
            }
        }

        output.WriteLine($"log1p(u), u in [1e-40, 1]: worst {worst:F3} ulp at u = {Sample(at):R} (got {y[at]:R})");
        Assert.True(worst <= 2.0, $"worst {worst} ulp");
    }

    [Fact]
    public void SigmoidAndSoftplus_AreWithinFewUlp_AndHandleSpecialValues()
    {
        const int n = 400_000;
        float Sample(int i) => -120f + 240f * i / (n - 1);
        float[] softplus = Map(n, Sample, v => { VMath.SigmoidAndLog1pExpNegAbs(v, out Vector<float> l); return l; });
        float[] sigmoid = Map(n, Sample, v => VMath.SigmoidAndLog1pExpNegAbs(v, out _));
        double worstSigmoid = 0, worstSoftplus = 0;
        for (int i = 0; i < n; i++)
        {
            double x = Sample(i), e = Math.Exp(-Math.Abs(x));
            double s = x >= 0 ? 1 / (1 + e) : e / (1 + e);
            worstSigmoid = Math.Max(worstSigmoid, s < float.Epsilon / 2 ? (sigmoid[i] == 0 ? 0 : double.PositiveInfinity) : Ulps(sigmoid[i], s));
            double l = e < 1e-8 ? e - e * e / 2 : Math.Log(1 + e); // log(1 + e) in double loses e's digits below 1e-16
            worstSoftplus = Math.Max(worstSoftplus, l < float.Epsilon / 2 ? (softplus[i] == 0 ? 0 : double.PositiveInfinity) : Ulps(softplus[i], l));
        }

        output.WriteLine($"sigmoid: worst {worstSigmoid:F3} ulp; softplus(-|x|): worst {worstSoftplus:F3} ulp");
        Assert.True(worstSigmoid <= 3.0, $"sigmoid worst {worstSigmoid} ulp");
        Assert.True(worstSoftplus <= 3.0, $"softplus worst {worstSoftplus} ulp");

        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e4f, -1e4f, 0f, -0f, float.MaxValue];
        float[] expected = [float.NaN, 1f, 0f, 1f, 0f, 0.5f, 0.5f, 1f];
        float[] expectedSoftplus = [float.NaN, 0f, 0f, 0f, 0f, MathF.Log(2f), MathF.Log(2f), 0f];
        float[] sp = Map(special.Length, i => special[i], v => { VMath.SigmoidAndLog1pExpNegAbs(v, out Vector<float> l); return l; });
        float[] sg = Map(special.Length, i => special[i], v => VMath.SigmoidAndLog1pExpNegAbs(v, out _));
        for (int i = 0; i < special.Length; i++)
        {
            Assert.Equal(expected[i], sg[i]); // float.Equals: NaN equals NaN
            Assert.True(float.IsNaN(expectedSoftplus[i]) ? float.IsNaN(sp[i]) : Math.Abs(sp[i] - expectedSoftplus[i]) <= 1e-7f, $"softplus({special[i]}) = {sp[i]}");
        }
    }

    [Fact]
    public void PositivePart_AtEveryWidth_IsXAboveZero_ZeroForNaNAndNegativeZero()
    {
        float[] special = [float.NaN, -0f, 0f, float.Epsilon, -float.Epsilon, 1e-40f, -1e-40f, 1f, -1f, float.MaxValue,
            float.MinValue, float.PositiveInfinity, float.NegativeInfinity, 3.5f, -2.25f, 1e30f];
        static float Expected(float v) => v > 0 ? v : 0f;
        var at512 = new float[16];
        VMath.PositivePart(Vector512.Create(special)).CopyTo(at512);
        for (int i = 0; i < special.Length; i++)
        {
            // Bit patterns: −0 must come out +0, as T.Max(−0, 0) gives.
            Assert.Equal(BitConverter.SingleToInt32Bits(Expected(special[i])), BitConverter.SingleToInt32Bits(at512[i]));
            Vector<float> v = VMath.PositivePart(new Vector<float>(special[i]));
            Assert.Equal(BitConverter.SingleToInt32Bits(Expected(special[i])), BitConverter.SingleToInt32Bits(v[0]));
        }
    }

    /// <summary>
    /// NaNs with payload bits (not only float.NaN, whose low bits are 0) stay NaN through exp, sigmoid and softplus
    /// at 512 bits and at Vector&lt;T&gt; width: the exponent-field add of 2ⁿ must not see a NaN's payload.
    /// </summary>
    [Fact]
    public void NaNPayloads_StayNaN_AtEveryWidth()
    {
        int[] payloads = [0x7FC00001, 0x7FC000FF, 0x7FC12345, unchecked((int)0xFFC00001), unchecked((int)0xFFFFFFFF), 0x7FFFFFFF];
        foreach (int bits in payloads)
        {
            float nan = BitConverter.Int32BitsToSingle(bits);
            Assert.True(float.IsNaN(nan));
            var v512 = Vector512.Create(nan);
            Assert.True(float.IsNaN(VMath.ExpNonPositive(v512)[0]), $"exp512 of NaN 0x{bits:X8}");
            Assert.True(float.IsNaN(VMath.SigmoidAndLog1pExpNegAbs(v512, out Vector512<float> sp512)[0]), $"sigmoid512 of NaN 0x{bits:X8}");
            Assert.True(float.IsNaN(sp512[0]), $"softplus512 of NaN 0x{bits:X8}");
            var v = new Vector<float>(nan);
            Assert.True(float.IsNaN(VMath.ExpNonPositive(v)[0]), $"exp of NaN 0x{bits:X8}");
            Assert.True(float.IsNaN(VMath.SigmoidAndLog1pExpNegAbs(v, out Vector<float> sp)[0]), $"sigmoid of NaN 0x{bits:X8}");
            Assert.True(float.IsNaN(sp[0]), $"softplus of NaN 0x{bits:X8}");
        }
    }
}
