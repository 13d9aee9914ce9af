using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.MetricLearning;

/// <summary>The angular-margin constructor's messages name the parameter and the value (run K: emptied messages survived).</summary>
public class AngularMarginContractTests
{
    [Fact]
    public void ConstructorMessages_NameTheValue()
    {
        LossChecks.ThrowsNaming("m2", () => new AngularMarginLoss<float>(m2: Math.PI), $"m2 must be in [0, π), got {Math.PI}.");
        LossChecks.ThrowsNaming("m2", () => new AngularMarginLoss<float>(m2: -0.1), "m2 must be in [0, π), got -0.1.");
        LossChecks.ThrowsNaming("m2", () => new AngularMarginLoss<float>(m2: double.NaN), "m2 must be in [0, π), got NaN.");
        LossChecks.ThrowsNaming("fallback", () => new AngularMarginLoss<float>(fallback: (MarginFallback)9), "Unknown fallback 9.");
        LossChecks.ThrowsNaming("fallback", () => new AngularMarginLoss<float>(m1: 2, fallback: MarginFallback.Threshold),
            "The Threshold fallback is defined for m1 = 1 only (got m1 = 2); use Monotonic or None.");
        LossChecks.ThrowsNaming("fallback", () => new AngularMarginLoss<float>(m1: 1.5, fallback: MarginFallback.ThresholdInclusive),
            "The ThresholdInclusive fallback is defined for m1 = 1 only (got m1 = 1.5); use Monotonic or None.");
        LossChecks.ThrowsNaming("gradient", () => new AngularMarginLoss<float>(gradient: (MarginGradient)7), "Unknown gradient mode 7.");
        LossChecks.ThrowsNaming("m3", () => new AngularMarginLoss<float>(m3: double.PositiveInfinity), $"m3 must be finite, got {double.PositiveInfinity}.");

        // The ends that are allowed.
        Assert.Equal(0.0, new AngularMarginLoss<double>(m2: 0.0).M2);
        Assert.Equal(Math.BitDecrement(Math.PI), new AngularMarginLoss<double>(m2: Math.BitDecrement(Math.PI), fallback: MarginFallback.None).M2);
    }
}
