using System.Numerics;
using BenchmarkDotNet.Attributes;
using LossKit.Regression;

namespace LossKit.Benchmarks;

// Regression losses through their span entry points, Reduction.Mean, 4,194,304 elements with inputs and targets
// uniform in [−2, 2) (differences cover both sides of the Smooth L1 / Huber / Balanced L1 break points). Every
// benchmark returns the loss value; data and the gradient buffer are created once in [GlobalSetup].

/// <summary>L1 (mean absolute error), 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class L1<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new L1Loss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) => RegressionData.Create<T>(random, BenchData.FourM);
}

/// <summary>
/// Small L1 calls, 1,024 and 6·512 + 7 = 3,079 elements (the latter leaves a scalar tail for every vector width):
/// per-call overhead.
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class L1Small<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Params(1024, 6 * 512 + 7)]
    public int N { get; set; }

    private protected override ElementwiseLoss<T> CreateLoss() => new L1Loss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) => RegressionData.Create<T>(random, N);
}

/// <summary>
/// MSE, 4,194,304 elements, with a naive scalar loop over the same data as the baseline (Ratio column): what the
/// library's vectorised, chunked and parallel kernel buys over the obvious code.
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class Mse<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>mean((x − y)²) as a plain for-loop accumulating in T, forward only.</summary>
    [Benchmark(Baseline = true)]
    public T NaiveLoopForward()
    {
        T[] x = Input, y = Target;
        T sum = T.Zero;
        for (int i = 0; i < x.Length; i++)
        {
            T d = x[i] - y[i];
            sum += d * d;
        }

        return sum / T.CreateTruncating(x.Length);
    }

    private protected override ElementwiseLoss<T> CreateLoss() => new MseLoss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) => RegressionData.Create<T>(random, BenchData.FourM);
}

/// <summary>Smooth L1 with beta 1/9 (the Faster R-CNN box-regression setting), 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class SmoothL1<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new SmoothL1Loss<T>(Reduction.Mean, beta: 1.0 / 9.0);

    private protected override (T[] Input, T[] Target) CreateData(Random random) => RegressionData.Create<T>(random, BenchData.FourM);
}

/// <summary>Huber with delta 1, 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class Huber<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new HuberLoss<T>(Reduction.Mean, delta: 1.0);

    private protected override (T[] Input, T[] Target) CreateData(Random random) => RegressionData.Create<T>(random, BenchData.FourM);
}

/// <summary>Balanced L1 (alpha 0.5, gamma 1.5, beta 1), 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class BalancedL1<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new BalancedL1Loss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) => RegressionData.Create<T>(random, BenchData.FourM);
}

internal static class RegressionData
{
    /// <summary>Inputs and targets uniform in [−2, 2).</summary>
    public static (T[] Input, T[] Target) Create<T>(Random random, int n)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        (BenchData.Uniform<T>(random, n, -2, 2), BenchData.Uniform<T>(random, n, -2, 2));
}
