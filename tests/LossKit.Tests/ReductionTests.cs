using System.Numerics;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests;

/// <summary>Reductions: empty input (PyTorch semantics), BatchMean only for KL, invalid values.</summary>
public class ReductionTests
{
    /// <summary>Empty input: Sum 0, Mean NaN (0/0, as PyTorch), None 0 — for every loss, in float and double.</summary>
    [Theory]
    [MemberData(nameof(LossSetup.AllIds), MemberType = typeof(LossSetup))]
    public void EmptyInput_SumIsZero_MeanIsNaN(string loss)
    {
        Reduction[] reductions = loss == "kl_div"
            ? [Reduction.None, Reduction.Mean, Reduction.Sum, Reduction.BatchMean]
            : [Reduction.None, Reduction.Mean, Reduction.Sum];
        foreach (Reduction r in reductions)
        {
            foreach (int cols in new[] { 1, 5 })
            {
                LossChecks.EmptyInput<double>(loss, r, cols);
                LossChecks.EmptyInput<float>(loss, r, cols);
            }
        }
    }

    [Theory]
    [MemberData(nameof(LossSetup.AllIds), MemberType = typeof(LossSetup))]
    public void BatchMean_OnlyForKLDivergence(string loss)
    {
        var setup = new LossSetup { Loss = loss, Reduction = Reduction.BatchMean, Shape = [0, 1], IndexTarget = [] };
        if (loss == "kl_div")
        {
            Assert.Equal(Reduction.BatchMean, LossRunner<double>.Create(setup).Reduction);
        }
        else
        {
            LossChecks.Throws<ArgumentOutOfRangeException>("reduction", () => LossRunner<double>.Create(setup));
        }
    }

    [Theory]
    [MemberData(nameof(LossSetup.AllIds), MemberType = typeof(LossSetup))]
    public void UndefinedReduction_Throws(string loss)
    {
        foreach (int bad in new[] { -1, 4, 42 })
        {
            var setup = new LossSetup { Loss = loss, Reduction = (Reduction)bad, Shape = [0, 1], IndexTarget = [] };
            LossChecks.Throws<ArgumentOutOfRangeException>("reduction", () => LossRunner<float>.Create(setup));
        }
    }

    /// <summary>Mean divides by the element count (row count for the row losses), scaling the gradient alike.</summary>
    [Theory]
    [MemberData(nameof(LossSetup.AllIds), MemberType = typeof(LossSetup))]
    public void Mean_IsSumOverCount(string loss)
    {
        Scenario s = Scenarios.Random(new Variant(loss, Reduction.Sum), 3, 4, 21);
        Check<double>(s, 1e-14);
        Check<float>(s, 1e-6);

        static void Check<T>(Scenario s, double tol)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] x = LossRunner<T>.Convert(s.Input);
            LossRunner<T> sum = LossRunner<T>.Create(s.Setup);
            LossRunner<T> mean = LossRunner<T>.Create(s.Setup.With(Reduction.Mean));
            double count = s.Setup.ValueLength; // unweighted: rows for the row losses, elements otherwise
            var gs = new T[x.Length];
            var gm = new T[x.Length];
            double vs = double.CreateTruncating(sum.ForwardBackward(x, gs, default));
            double vm = double.CreateTruncating(mean.ForwardBackward(x, gm, default));
            Assert.Equal(vs / count, vm, tol * Math.Max(1, Math.Abs(vm)));
            for (int i = 0; i < x.Length; i++)
            {
                Assert.Equal(double.CreateTruncating(gs[i]) / count, double.CreateTruncating(gm[i]), tol);
            }
        }
    }

    /// <summary>
    /// Float accumulates in float within chunks of ≥ 16384 elements and in double across chunks: a large float mean
    /// still agrees with the double computation on the same (float-representable) data to the float tolerance.
    /// </summary>
    [Theory]
    [InlineData("mse", 1, 300_000)]
    [InlineData("bce_with_logits", 1, 300_000)]
    [InlineData("l1", 1, 300_001)]
    [InlineData("cross_entropy", 3000, 100)]
    [InlineData("kl_div", 300, 1000)]
    public void LargeFloatMean_MatchesDouble(string loss, int rows, int cols)
    {
        Scenario s = Scenarios.Random(new Variant(loss, Reduction.Mean), rows, cols, 3);
        double d = LossRunner<double>.Create(s.Setup).Forward(s.Input, default);
        float f = LossRunner<float>.Create(s.Setup).Forward(LossRunner<float>.Convert(s.Input), default);
        Assert.True(Math.Abs(f - d) <= Tolerance.Float * Math.Abs(d), $"{loss} [{rows}x{cols}]: float {f:R} vs double {d:R}");
    }
}
