using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>
/// Sigmoid focal and varifocal at logits of ±Max/2 and beyond, in every kernel tier: 67 copies of the input run the
/// reduced call (512-bit staged blocks where available, Vector&lt;T&gt; blocks, scalar tail) and the unreduced call.
/// </summary>
public class FocalExtremeLogitTests
{
    private const int Copies = 67;

    // torchvision.ops.sigmoid_focal_loss(x, t, alpha=0.25, gamma=2, reduction='sum') on a one-element tensor, then
    // .backward(); Debian python3-torch 1.13 / torchvision 0.14:
    //   float32 x = -3.4028234663852886e38, t = 1: loss 8.5070586659632215e+37, grad -0.25
    //   float32 x = -2e38,                  t = 1: loss 4.999999840142846e+37,  grad -0.25
    //   float32 x = -1.7e38,                t = 1: loss 4.2499999401804553e+37, grad -0.25
    //   float64 x = -1.7976931348623157e308, t = 1: loss 4.4942328371557893e+307, grad -0.25
    //   float64 x = -1e308,                  t = 1: loss 2.5e+307, grad -0.25
    [Theory]
    [InlineData(-3.4028234663852886e38, 8.5070586659632215e+37)]
    [InlineData(-2e38, 4.999999840142846e+37)]
    [InlineData(-1.7e38, 4.2499999401804553e+37)]
    public void SigmoidFocal_Float_HugeNegativeLogit_PositiveTarget_MatchesTorchvision(double x, double value) =>
        Check(new SigmoidFocalLoss<float>(Reduction.Sum), new SigmoidFocalLoss<float>(Reduction.None), (float)x, 1f, value, -0.25, 1e-6);

    [Theory]
    [InlineData(-1.7976931348623157e308, 4.4942328371557893e+307)]
    [InlineData(-1e308, 2.5e+307)]
    public void SigmoidFocal_Double_HugeNegativeLogit_PositiveTarget_MatchesTorchvision(double x, double value) =>
        Check(new SigmoidFocalLoss<double>(Reduction.Sum), new SigmoidFocalLoss<double>(Reduction.None), x, 1.0, value, -0.25, 1e-12);

    // x = +Max, t = 0 (hand derivation): p = σ(x) = 1 exactly, ce = x, p_t = 0, q = 1, α_t = 1 − α = 0.75, so
    // l = 0.75·x and ∂l/∂x = α_t·[(p − t)·q² + ce·2q·(2t − 1)·p·(1 − p)] = 0.75·[1 + x·2·(−1)·0] = 0.75.
    // torchvision gives the same value but a NaN gradient here (0.75·x·2 overflows before p·(1 − p) = 0 multiplies it);
    // the limit 0.75 is what it gives up to x = 2e38 (float) and 1e308 (double).
    [Fact]
    public void SigmoidFocal_MaxLogit_NegativeTarget_GradientIsOneMinusAlpha()
    {
        Check(new SigmoidFocalLoss<float>(Reduction.Sum), new SigmoidFocalLoss<float>(Reduction.None), float.MaxValue, 0f, 0.75 * float.MaxValue, 0.75, 1e-6);
        Check(new SigmoidFocalLoss<double>(Reduction.Sum), new SigmoidFocalLoss<double>(Reduction.None), double.MaxValue, 0.0, 0.75 * double.MaxValue, 0.75, 1e-12);
    }

    // Varifocal (α = 0.75, γ = 2) at x = +Max, t = 0 (hand derivation): p = 1, ce = x, focal weight α·|p − t|² = 0.75,
    // l = 0.75·x; ∂l/∂x = w·(p − t) + ce·α·γ·|p − t|·sign(p − t)·p·(1 − p) = 0.75 + x·1.5·0 = 0.75.
    [Fact]
    public void Varifocal_MaxLogit_NegativeTarget_GradientIsFinite()
    {
        Check(new VarifocalLoss<float>(Reduction.Sum), new VarifocalLoss<float>(Reduction.None), float.MaxValue, 0f, 0.75 * float.MaxValue, 0.75, 1e-6);
        Check(new VarifocalLoss<double>(Reduction.Sum), new VarifocalLoss<double>(Reduction.None), double.MaxValue, 0.0, 0.75 * double.MaxValue, 0.75, 1e-12);
    }

    private static void Check<T>(ElementwiseLoss<T> sum, ElementwiseLoss<T> none, T x, T t, double value, double gradient, double tolerance)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        T[] input = Enumerable.Repeat(x, Copies).ToArray(), target = Enumerable.Repeat(t, Copies).ToArray();
        var g = new T[Copies];
        var gNone = new T[Copies];
        var values = new T[Copies];
        sum.ForwardBackward(input, target, g);
        none.ForwardBackward(input, target, gNone, values);
        for (int i = 0; i < Copies; i++)
        {
            Close(gradient, double.CreateTruncating(g[i]), tolerance, $"reduced gradient[{i}]");
            Close(gradient, double.CreateTruncating(gNone[i]), tolerance, $"unreduced gradient[{i}]");
            Close(value, double.CreateTruncating(values[i]), tolerance, $"value[{i}]");
        }
    }

    private static void Close(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");
}
