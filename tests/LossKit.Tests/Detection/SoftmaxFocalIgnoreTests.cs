using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>
/// Softmax focal rows whose target is the ignore index contribute exactly 0 to the per-row values and 0 to every
/// gradient entry of the row (mmcv: label &lt; 0 rows are zero), whatever the output buffers held before; and the
/// per-class α length is checked with its own parameter name.
/// </summary>
public class SoftmaxFocalIgnoreTests
{
    [Fact]
    public void IgnoredRows_AreZeroInValuesAndGradient_OverStaleBuffers()
    {
        const int batch = 3, classes = 4;
        double[] x = [0.5, -1.0, 2.0, 0.25, 1.5, 0.0, -0.5, 3.0, -2.0, 1.0, 0.5, 0.75];
        int[] target = [2, -100, 1];
        var loss = new SoftmaxFocalLoss<double>(Reduction.None);
        var values = new double[batch];
        var gradient = new double[batch * classes];
        Array.Fill(values, 7.0);
        Array.Fill(gradient, 7.0);
        loss.ForwardBackward(x, target, batch, classes, gradient, values);
        Assert.Equal(0.0, values[1]);
        Assert.All(gradient[4..8], g => Assert.Equal(0.0, g));

        // The other rows are the same as computed alone (one row each), so the ignored row changed nothing else.
        foreach (int r in new[] { 0, 2 })
        {
            var v = new double[1];
            var g = new double[classes];
            loss.ForwardBackward(x.AsSpan(r * classes, classes), target.AsSpan(r, 1), 1, classes, g, v);
            Assert.Equal(v[0], values[r]);
            Assert.Equal(g, gradient[(r * classes)..((r + 1) * classes)]);
        }

        // Forward alone writes the zero too.
        Array.Fill(values, 7.0);
        loss.Forward(x, target, batch, classes, values);
        Assert.Equal(0.0, values[1]);
    }

    [Fact]
    public void ClassAlpha_WrongLength_NamesClassAlpha()
    {
        var loss = new SoftmaxFocalLoss<double>(classAlpha: new double[] { 0.25, 0.75 });
        var e = Assert.Throws<ArgumentException>(() => loss.Forward(new double[6], [0, 1], 2, 3));
        Assert.Equal("classAlpha", e.ParamName);
        Assert.Contains("one α per class", e.Message);
        Assert.Contains("3", e.Message);
    }
}
