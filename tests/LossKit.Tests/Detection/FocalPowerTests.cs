using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>
/// The focal exponent outside the common γ ∈ {0, 1, 2}: integer γ &gt; 3 (repeated multiplication, so that a negative
/// base works as torch.pow with an integer-valued exponent does, which happens for soft targets outside [0, 1], not
/// range-checked, as torchvision), the largest such γ (64), a non-integer γ = 3.5, and α = 1 (the top of the α range:
/// α_t = t). Expected values: torchvision 0.14 <c>sigmoid_focal_loss</c> in float64 with autograd
/// (tests/reference/boundary_cases.py). Scalar (n = 1) and vector (n = 37) kernels.
/// </summary>
public class FocalPowerTests
{
    public static TheoryData<double, double, double, double, double, double> Cases => new()
    {
        // gamma, alpha, x, t, value, d value / dx
        { 4.0, 0.25, 6.0, 2.0, 1.4553848015065871, 0.28666284409757137 },   // q = 1 − p_t ≈ −0.99 < 0
        { 4.0, 0.25, -3.0, -1.0, -1.9967648182119082, 1.970678239023214 },
        { 5.0, 0.25, 6.0, 2.0, -1.4445889470205293, -0.29530557694444426 }, // odd power of a negative q
        { 5.0, 0.25, -3.0, -1.0, 1.7126698731100731, -1.960916324575146 },
        { 64.0, -1.0, 6.0, 2.0, -3.7241311426451142, -2.3992962677312177 },
        { 64.0, -1.0, -6.0, -1.0, -3.7241311426450077, 2.3992962677312342 },
        { 3.5, 0.25, 0.5, 1.0, 0.0039188800703307018, -0.011658580500511202 },
        { 3.5, 0.25, -1.5, 0.0, 0.00039169584778464382, 0.0014756115068045076 },
        { 3.5, 0.25, 2.0, 0.3, 0.20539010568982657, 0.12440598068462824 },
        { 2.0, 1.0, 0.5, 1.0, 0.067573490517503623, -0.13793699735091439 },
        { 2.0, 1.0, -1.5, 0.0, 0, 0 },                                      // α = 1: a negative costs nothing
        { 2.0, 1.0, 2.0, 0.3, 0.19492145691371041, 0.099240979715189734 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Double_MatchesTorchvision(double gamma, double alpha, double x, double t, double value, double gradient)
    {
        var loss = new SigmoidFocalLoss<double>(Reduction.None, alpha, gamma);
        Assert.Equal(alpha, loss.Alpha);
        foreach (int n in new[] { 1, 37 })
        {
            var xs = new double[n];
            var ts = new double[n];
            Array.Fill(xs, x);
            Array.Fill(ts, t);
            var values = new double[n];
            var grads = new double[n];
            loss.ForwardBackward(xs, ts, grads, values);
            for (int i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(values[i] - value) <= 1e-12 * Math.Abs(value), $"value[{i}] of {n}: expected {value:R}, got {values[i]:R}");
                Assert.True(Math.Abs(grads[i] - gradient) <= 1e-12 * Math.Abs(gradient), $"gradient[{i}] of {n}: expected {gradient:R}, got {grads[i]:R}");
            }
        }
    }
}
