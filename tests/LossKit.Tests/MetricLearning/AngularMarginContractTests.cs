using LossKit.MetricLearning;

namespace LossKit.Tests.MetricLearning;

/// <summary>The angular-margin constructor's messages name the parameter and the value (run K: emptied messages survived).</summary>
public class AngularMarginContractTests
{
    [Fact]
    public void ConstructorMessages_NameTheValue()
    {
        static void Throws(string param, string message, Action call)
        {
            var e = Assert.ThrowsAny<ArgumentException>(call);
            Assert.Equal(param, e.ParamName);
            Assert.Contains(message, e.Message);
        }

        Throws("m2", $"m2 must be in [0, π), got {Math.PI}.", () => new AngularMarginLoss<float>(m2: Math.PI));
        Throws("m2", "m2 must be in [0, π), got -0.1.", () => new AngularMarginLoss<float>(m2: -0.1));
        Throws("m2", "m2 must be in [0, π), got NaN.", () => new AngularMarginLoss<float>(m2: double.NaN));
        Throws("fallback", "Unknown fallback 9.", () => new AngularMarginLoss<float>(fallback: (MarginFallback)9));
        Throws("fallback", "The Threshold fallback is defined for m1 = 1 only (got m1 = 2); use Monotonic or None.",
            () => new AngularMarginLoss<float>(m1: 2, fallback: MarginFallback.Threshold));
        Throws("fallback", "The ThresholdInclusive fallback is defined for m1 = 1 only (got m1 = 1.5); use Monotonic or None.",
            () => new AngularMarginLoss<float>(m1: 1.5, fallback: MarginFallback.ThresholdInclusive));
        Throws("gradient", "Unknown gradient mode 7.", () => new AngularMarginLoss<float>(gradient: (MarginGradient)7));
        Throws("m3", $"m3 must be finite, got {double.PositiveInfinity}.", () => new AngularMarginLoss<float>(m3: double.PositiveInfinity));

        // The ends that are allowed.
        Assert.Equal(0.0, new AngularMarginLoss<double>(m2: 0.0).M2);
        Assert.Equal(Math.BitDecrement(Math.PI), new AngularMarginLoss<double>(m2: Math.BitDecrement(Math.PI), fallback: MarginFallback.None).M2);
    }
}
