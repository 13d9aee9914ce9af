using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>
/// Sigmoid focal with γ = 0 (and α = −1, so it is BCE-with-logits) where σ(x) saturates to exactly t, i.e. q = 1 − p_t
/// = 0: PyTorch's pow backward for exponent 0 is 0, so the gradient is σ(x) − t and finite. A kernel that kept the
/// γ·q^(γ−1) term would compute 0·∞ = NaN there. Expected values: torchvision 0.14 <c>sigmoid_focal_loss(x, t,
/// alpha=-1, gamma=0)</c> with autograd (tests/reference/boundary_cases.py). PyTorch's value at x = ±40 is exactly 0
/// where ours is log1p(e^−40) = 4.2e-18 (the documented log1p grouping), hence the absolute floor.
/// </summary>
public class FocalGammaZeroTests
{
    public static TheoryData<int> Lengths => new() { 1, 6, 37 };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Double_SaturatedLogits_GradientIsSigmoidMinusTarget(int n) => Check<double>(n,
        [
            (40.0, 1.0, 0, 0),
            (40.0, 0.0, 40, 1),
            (-40.0, 1.0, 40, -1),
            (-40.0, 0.0, 0, 4.2483542552915889e-18),
            (0.5, 1.0, 0.47407698418010669, -0.37754066879814541),
            (0.5, 0.0, 0.97407698418010669, 0.62245933120185459),
        ], 1e-14, 1e-16);

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Float_SaturatedLogits_GradientIsSigmoidMinusTarget(int n) => Check<float>(n,
        [
            (20.0, 1.0, 0, 0),
            (20.0, 0.0, 20, 1),
            (-20.0, 1.0, 20, -1),
            (-20.0, 0.0, 0, 2.0611536921677498e-09),
            (0.5, 1.0, 0.47407698631286621, -0.37754064798355103),
            (0.5, 0.0, 0.97407698631286621, 0.62245935201644897),
        ], 1e-6, 1e-8);

    private static void Check<T>(int n, (double X, double T, double Value, double Grad)[] cases, double rel, double abs)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var x = new T[n];
        var t = new T[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = T.CreateTruncating(cases[i % cases.Length].X);
            t[i] = T.CreateTruncating(cases[i % cases.Length].T);
        }

        var loss = new SigmoidFocalLoss<T>(Reduction.None, alpha: -1.0, gamma: 0.0);
        var values = new T[n];
        var gradient = new T[n];
        loss.ForwardBackward(x, t, gradient, values);
        for (int i = 0; i < n; i++)
        {
            var c = cases[i % cases.Length];
            double v = double.CreateTruncating(values[i]), g = double.CreateTruncating(gradient[i]);
            Assert.True(Math.Abs(v - c.Value) <= rel * Math.Abs(c.Value) + abs, $"value[{i}] (x={c.X}, t={c.T}): expected {c.Value:R}, got {v:R}");
            Assert.True(Math.Abs(g - c.Grad) <= rel * Math.Abs(c.Grad) + abs, $"gradient[{i}] (x={c.X}, t={c.T}): expected {c.Grad:R}, got {g:R}");
        }
    }
}
