using LossKit.Regression;

namespace LossKit.Tests.Regression;

/// <summary>
/// Balanced L1 exactly on |x − y| = β with β ≠ 1, where the value is continuous but the gradient is not: the inner
/// gradient there is γ + α·((bβ + 1)/(β(b + 1)) − 1), which equals γ only for β = 1. mmdetection's
/// <c>torch.where(diff &lt; beta, inner, outer)</c> takes the outer branch at diff = β, so the gradient is ±γ.
/// Expected values: PyTorch autograd through the transcription in tests/reference/boundary_cases.py (float64); the
/// points at |d| = β are exact in float too.
/// </summary>
public class BalancedL1BoundaryTests
{
    public static TheoryData<double, double, double, double, double, double, double> Cases => new()
    {
        // alpha, gamma, beta, x, y, value, gradient (boundary_cases.py)
        { 0.5, 1.5, 0.5, 1.5, 1.0, 0.57859354473688396, 1.5 },
        { 0.5, 1.5, 0.5, -3.5, -3.0, 0.57859354473688396, -1.5 },
        { 0.5, 1.5, 0.5, 1.375, 1.0, 0.39563386158751357, 1.3970382440357394 },
        { 0.5, 1.5, 2.0, 3.0, 1.0, 2.0785935447368837, 1.5 },
        { 0.5, 1.5, 2.0, -5.0, -3.0, 2.0785935447368837, -1.5 },
        { 0.5, 1.5, 2.0, 2.5, 1.0, 1.3680711566320238, 1.3480639380414772 },
        { 0.3, 1.2, 0.5, 1.5, 1.0, 0.47238883243652885, 1.2 },
        { 0.3, 1.2, 0.5, -3.5, -3.0, 0.47238883243652885, -1.2 },
        { 0.3, 1.2, 0.5, 1.375, 1.0, 0.32663319942459468, 1.1228031723863301 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Double(double alpha, double gamma, double beta, double x, double y, double value, double gradient) =>
        Check<double>(alpha, gamma, beta, x, y, value, gradient, 1e-14);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float(double alpha, double gamma, double beta, double x, double y, double value, double gradient) =>
        Check<float>(alpha, gamma, beta, x, y, value, gradient, 2e-6);

    /// <summary>The same element at n = 1 (scalar path) and n = 37 (vector blocks and a tail), per element.</summary>
    private static void Check<T>(double alpha, double gamma, double beta, double x, double y, double value, double gradient, double rel)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var loss = new BalancedL1Loss<T>(Reduction.None, alpha, gamma, beta);
        foreach (int n in new[] { 1, 37 })
        {
            var xs = new T[n];
            var ys = new T[n];
            Array.Fill(xs, T.CreateTruncating(x));
            Array.Fill(ys, T.CreateTruncating(y));
            var values = new T[n];
            var grads = new T[n];
            loss.ForwardBackward(xs, ys, grads, values);
            for (int i = 0; i < n; i++)
            {
                double v = double.CreateTruncating(values[i]), g = double.CreateTruncating(grads[i]);
                Assert.True(Math.Abs(v - value) <= rel * Math.Abs(value), $"value[{i}] of {n}: expected {value:R}, got {v:R}");
                Assert.True(Math.Abs(g - gradient) <= rel * Math.Abs(gradient), $"gradient[{i}] of {n}: expected {gradient:R}, got {g:R}");
            }
        }
    }
}
