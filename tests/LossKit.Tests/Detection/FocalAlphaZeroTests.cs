using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>
/// Sigmoid focal loss with α = 0, the edge of the α range: α_t = 1 − t, so hard positives cost nothing and negatives
/// keep their full weight (α ≥ 0 applies α_t; only α &lt; 0 turns it off). Scalar, Vector&lt;T&gt; and (float, γ = 2)
/// Vector512 kernels, through ForwardBackward and Forward/Backward. Expected values: torchvision 0.14
/// <c>sigmoid_focal_loss(x, t, alpha=0.0, gamma)</c> in float64 with autograd gradients
/// (tests/reference/boundary_cases.py).
/// </summary>
public class FocalAlphaZeroTests
{
    /// <summary>(x, t, value, d value / dx) per γ, from tests/reference/boundary_cases.py.</summary>
    private static readonly (double X, double T, double Value, double Grad)[] Gamma2 =
    [
        (0.5, 1.0, 0, 0),
        (-1.25, 0.0, 0.012494511426240839, 0.030468855732382425),
        (2.0, 0.25, 0.58160660139412157, 0.31395099594791831),
        (-0.75, 1.0, 0, 0),
        (3.5, 0.0, 3.3258534865768992, 1.1095921127781994),
    ];

    private static readonly (double X, double T, double Value, double Grad)[] Gamma15 =
    [
        (0.5, 1.0, 0, 0),
        (-1.25, 0.0, 0.026476406155468674, 0.054274760041781805),
        (2.0, 0.25, 0.6999699490933865, 0.35123118701665607),
        (-0.75, 1.0, 0, 0),
        (3.5, 0.0, 3.3756960429116565, 1.0767463085493065),
    ];

    public static TheoryData<double, int> Cases()
    {
        var data = new TheoryData<double, int>();
        foreach (double gamma in new[] { 2.0, 1.5 })
        {
            // 1: scalar path only; 5: one of each; 37 and 70: vector blocks at every width plus a tail.
            foreach (int n in new[] { 1, 5, 37, 70 })
            {
                data.Add(gamma, n);
            }
        }

        return data;
    }

    private static (double X, double T, double Value, double Grad)[] Table(double gamma) => gamma == 2.0 ? Gamma2 : Gamma15;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Double_MatchesTorchvision(double gamma, int n) => Check<double>(gamma, n, 1e-13);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float_MatchesTorchvision(double gamma, int n) => Check<float>(gamma, n, 2e-6);

    private static void Check<T>(double gamma, int n, double rel)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var table = Table(gamma);
        var x = new T[n];
        var t = new T[n];
        for (int i = 0; i < n; i++)
        {
            // Element i takes case (i·3) mod 5, so every case lands on vector lanes and on the tail.
            var c = table[i * 3 % table.Length];
            x[i] = T.CreateTruncating(c.X);
            t[i] = T.CreateTruncating(c.T);
        }

        var loss = new SigmoidFocalLoss<T>(Reduction.None, alpha: 0.0, gamma: gamma);
        Assert.Equal(0.0, loss.Alpha);
        var values = new T[n];
        var gradient = new T[n];
        loss.ForwardBackward(x, t, gradient, values);
        var valuesF = new T[n];
        var gradientB = new T[n];
        loss.Forward(x, t, valuesF);
        var ones = new T[n];
        Array.Fill(ones, T.One);
        loss.Backward(x, t, ones, gradientB);

        for (int i = 0; i < n; i++)
        {
            var c = table[i * 3 % table.Length];
            foreach (var (actual, expected, what) in new[]
                     {
                         (values[i], c.Value, "value"), (valuesF[i], c.Value, "Forward value"),
                         (gradient[i], c.Grad, "gradient"), (gradientB[i], c.Grad, "Backward gradient"),
                     })
            {
                double a = double.CreateTruncating(actual);
                Assert.True(Math.Abs(a - expected) <= rel * Math.Abs(expected),
                    $"{what}[{i}] (x={c.X}, t={c.T}, γ={gamma}): expected {expected:R}, got {a:R}");
            }
        }
    }

    /// <summary>α = 0 is allowed (the α range is [0, 1]); just below it is the "no α_t" convention, not an error.</summary>
    [Fact]
    public void AlphaZero_IsKept_AndNegativeAlphaTurnsWeightingOff()
    {
        Assert.Equal(0.0, new SigmoidFocalLoss<double>(alpha: 0.0).Alpha);

        // α = −1: α_t = 1, so a hard positive costs ce·(1 − p)^2 (torchvision: alpha < 0 skips the weighting).
        // x = 0, t = 1: p = 1/2, ce = ln 2, value = ln 2 / 4 (hand computation).
        var loss = new SigmoidFocalLoss<double>(Reduction.Sum, alpha: -1.0);
        Assert.Equal(Math.Log(2) / 4, loss.Forward([0.0], [1.0]), 15);
        Assert.Equal(0.0, new SigmoidFocalLoss<double>(Reduction.Sum, alpha: 0.0).Forward([0.0], [1.0]));
    }
}
