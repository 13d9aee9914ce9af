using System.Numerics.Tensors;
using LossKit.Classification;

namespace LossKit.Tests.Classification;

/// <summary>
/// Gaps that mutation testing (docs/TESTING.md, area <c>classification</c>) found in the classification suite: the
/// strict multi-margin hinge in the scalar tail, the probability-target gradient written past its rows, a tensor entry
/// point no test called, and messages. Expected values are PyTorch 1.13's (the script lines are in each comment).
/// </summary>
public class ClassificationContractTests
{
    private static void Names<TException>(Action call, string paramName, params string[] parts)
        where TException : ArgumentException
    {
        var e = Assert.Throws<TException>(call);
        Assert.Equal(paramName, e.ParamName);
        foreach (string part in parts)
        {
            Assert.Contains(part, e.Message);
        }
    }

    /// <summary>
    /// ATen's multi_margin_loss counts a class only where z = margin − x_y + x_i &gt; 0 (strict), so at z = 0 exactly the
    /// gradient is 0. Three classes keep the kink (class 2 of row 0: 1 − 2 + 1 = 0) in the scalar tail at every vector
    /// width. A ≥ there would give the row a gradient of ±1/3.
    /// <code>
    /// x = torch.tensor([[2.0, 0.5, 1.0], [0.25, 1.25, 0.75]], requires_grad=True); y = torch.tensor([0, 2])
    /// torch.nn.MultiMarginLoss(p=1, margin=1.0, reduction='sum')(x, y).backward()
    /// # loss 0.6666666666666666, grad [[0, 0, 0], [1/3, 1/3, -2/3]]
    /// </code>
    /// </summary>
    [Fact]
    public void MultiMargin_ZeroHingeInTheScalarTail_HasNoGradient()
    {
        double[] x = [2.0, 0.5, 1.0, 0.25, 1.25, 0.75];
        int[] y = [0, 2];
        double[] expected = [0, 0, 0, 1.0 / 3, 1.0 / 3, -2.0 / 3];

        var g = new double[6];
        double value = new MultiMarginLoss<double>(Reduction.Sum).ForwardBackward(x, y, 2, 3, g);
        Assert.Equal(2.0 / 3, value, 1e-15);
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(expected[i], g[i], 1e-15);
        }

        var gf = new float[6];
        float valuef = new MultiMarginLoss<float>(Reduction.Sum).ForwardBackward(x.Select(v => (float)v).ToArray(), y, 2, 3, gf);
        Assert.Equal(2.0 / 3, valuef, 1e-6);
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(expected[i], gf[i], 1e-6);
        }

        // The squared hinge (p = 2) has gradient 2z = 0 at the kink anyway: same expected first row.
        new MultiMarginLoss<double>(Reduction.Sum, p: 2).ForwardBackward(x, y, 2, 3, g);
        Assert.Equal([0.0, 0.0, 0.0], g[..3]);
    }

    /// <summary>
    /// Probability targets: each row's gradient is written in place over its C entries and nothing beyond, so a
    /// gradient buffer longer than batch × classes keeps its tail. Values from PyTorch:
    /// <code>
    /// x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64, requires_grad=True)
    /// t = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], dtype=torch.float64)
    /// torch.nn.CrossEntropyLoss(reduction='sum', label_smoothing=ls)(x, t).backward()
    /// </code>
    /// </summary>
    [Theory]
    [InlineData(0.0, 2.571983906064381, new[] { -0.024709607859963317, -0.26088742672931253, 0.2855970345892759, 0.11844034115106494, 0.10583660399765155, -0.2242769451487165 })]
    [InlineData(0.2, 2.705317239397714, new[] { -0.05137627452662999, -0.2675540933959792, 0.3189303679226092, 0.1717736744843983, 0.059169937330984884, -0.23094361181538314 })]
    public void ProbabilityTargets_GradientStaysInsideItsRows(double smoothing, double expectedValue, double[] expectedGradient)
    {
        double[] x = [0.5, -1.0, 2.0, 1.5, 0.25, -0.75];
        double[] t = [0.2, 0.3, 0.5, 0.6, 0.1, 0.3];
        var loss = new CrossEntropyLoss<double>(Reduction.Sum, labelSmoothing: smoothing);

        double[] g = Enumerable.Repeat(7.0, 9).ToArray();
        Assert.Equal(expectedValue, loss.ForwardBackward(x, t, 2, 3, g), 1e-14);
        AssertRowsThenSentinel(expectedGradient, g, 1e-15);

        g = Enumerable.Repeat(7.0, 9).ToArray();
        loss.Backward(x, t, 2, 3, 1.0, g);
        AssertRowsThenSentinel(expectedGradient, g, 1e-15);

        float[] gf = Enumerable.Repeat(7f, 9).ToArray();
        new CrossEntropyLoss<float>(Reduction.Sum, labelSmoothing: smoothing)
            .ForwardBackward(x.Select(v => (float)v).ToArray(), t.Select(v => (float)v).ToArray(), 2, 3, gf);
        AssertRowsThenSentinel(expectedGradient, gf.Select(v => (double)v).ToArray(), 1e-6);
    }

    private static void AssertRowsThenSentinel(double[] expected, double[] actual, double tolerance)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], tolerance);
        }

        for (int i = expected.Length; i < actual.Length; i++)
        {
            Assert.Equal(7.0, actual[i]);
        }
    }

    /// <summary>
    /// The tensor overload of KLDivergenceLoss.Backward with a per-element upstream [2, 3] (Reduction.None), for
    /// probability and log targets. Gradient −t·u and −e^t·u; from PyTorch:
    /// <code>
    /// x = torch.tensor([[-1.2, -0.4, -2.0], [-0.1, -3.0, -0.7]], dtype=torch.float64, requires_grad=True)
    /// t = torch.tensor([[0.3, 0.5, 0.2], [0.6, 0.0, 0.4]], dtype=torch.float64)   # log_target: t.clamp_min(1e-3).log()
    /// u = torch.tensor([[1.0, -2.0, 0.5], [0.25, 3.0, -1.5]], dtype=torch.float64)
    /// torch.nn.KLDivLoss(reduction='none', log_target=lt)(x, t).backward(u)
    /// </code>
    /// </summary>
    [Theory]
    [InlineData(false, new[] { 0.3, 0.5, 0.2, 0.6, 0.0, 0.4 }, new[] { -0.3, 1.0, -0.1, -0.15, -0.0, 0.6000000000000001 })]
    [InlineData(true, new[] { -1.2039728043259361, -0.6931471805599453, -1.6094379124341003, -0.5108256237659907, -6.907755278982137, -0.916290731874155 },
        new[] { -0.3, 1.0, -0.1, -0.15, -0.003000000000000001, 0.6000000000000001 })]
    public void KLDivergence_TensorBackward_PerElementUpstream(bool logTarget, double[] target, double[] expected)
    {
        double[] x = [-1.2, -0.4, -2.0, -0.1, -3.0, -0.7];
        double[] u = [1.0, -2.0, 0.5, 0.25, 3.0, -1.5];
        var g = new double[6];
        new KLDivergenceLoss<double>(Reduction.None, logTarget).Backward(
            Tensor.Create(x, [2, 3]), Tensor.Create(target, [2, 3]), Tensor.Create(u, [2, 3]), Tensor.Create(g, [2, 3]));
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(expected[i], g[i], 1e-15);
        }
    }

    [Fact]
    public void Messages_NameTheParameterAndTheCondition()
    {
        Names<ArgumentOutOfRangeException>(() => new BinaryCrossEntropyWithLogitsLoss<double>(posWeight: new[] { 1.0, double.NaN }),
            "posWeight", "posWeight entries must be finite", "got NaN");
        Names<ArgumentException>(() => new BinaryCrossEntropyWithLogitsLoss<double>(posWeight: new[] { 1.0, 2.0 }).Forward(new double[5], new double[5]),
            "input", "input length 5", "not a multiple of posWeight's length 2");
        Names<ArgumentOutOfRangeException>(() => new MultiMarginLoss<double>(p: 3), "p", "p must be 1 or 2", "got 3");
    }
}
