using System.Numerics;

namespace LossKit.Tests.Infrastructure;

/// <summary>Central finite differences of a scalar function of a vector, and the objective they are taken of.</summary>
public static class FiniteDifference
{
    /// <summary>∂f/∂xᵢ ≈ (f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ with hᵢ = <paramref name="step"/>·max(1, |xᵢ|).</summary>
    public static double[] Gradient(Func<double[], double> f, double[] x, double step = 1e-6)
    {
        var g = new double[x.Length];
        var probe = (double[])x.Clone();
        for (int i = 0; i < x.Length; i++)
        {
            double h = step * Math.Max(1.0, Math.Abs(x[i]));
            double xi = x[i];
            probe[i] = xi + h;
            double up = f(probe);
            probe[i] = xi - h;
            double down = f(probe);
            probe[i] = xi;
            g[i] = (up - down) / ((xi + h) - (xi - h));
        }

        return g;
    }

    /// <summary>
    /// The scalar whose gradient Backward computes: upstream × the reduced loss (Mean, Sum, BatchMean), or
    /// Σᵢ upstreamᵢ × valueᵢ (None, from Forward's destination).
    /// </summary>
    public static double Objective<T>(LossRunner<T> runner, T[] input, Scenario s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (runner.Reduction != Reduction.None)
        {
            return s.ScalarUpstream * double.CreateTruncating(runner.Forward(input, default));
        }

        var values = new T[runner.ValueLength];
        runner.Forward(input, values);
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += s.Upstream[i] * double.CreateTruncating(values[i]);
        }

        return sum;
    }

    /// <summary>Backward with the scenario's upstream (scalar, or per value for None).</summary>
    public static T[] AnalyticGradient<T>(LossRunner<T> runner, T[] input, Scenario s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new T[input.Length];
        if (runner.Reduction == Reduction.None)
        {
            runner.Backward(input, LossRunner<T>.Convert(s.Upstream), g);
        }
        else
        {
            runner.Backward(input, T.CreateTruncating(s.ScalarUpstream), g);
        }

        return g;
    }
}
