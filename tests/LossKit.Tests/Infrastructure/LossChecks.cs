using System.Numerics;
using Xunit.Sdk;

namespace LossKit.Tests.Infrastructure;

/// <summary>Checks shared by the per-loss test classes, parameterised by a <see cref="Variant"/> name.</summary>
public static class LossChecks
{
    /// <summary>Shapes (rows × cols) for the finite-difference checks: they cross the double vector widths (4, 8).</summary>
    public static readonly (int Rows, int Cols)[] GradientShapes = [(3, 5), (2, 9), (1, 17)];

    /// <summary>Relative tolerance of the finite-difference comparison (on the scheme of <see cref="Tolerance"/>).</summary>
    public const double FiniteDifferenceTolerance = 1e-6;

    /// <summary>Column counts around the vector widths (Vector&lt;double&gt; 2/4/8, Vector&lt;float&gt; 4/8/16).</summary>
    public static readonly int[] EntryPointColumns = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 65];

    /// <summary>Backward (double) against central differences of the objective at random points away from kinks.</summary>
    public static void GradientMatchesFiniteDifferences(string variantName)
    {
        Variant v = Variants.Get(variantName);
        int seed = 1000;
        foreach ((int rows, int cols) in GradientShapes)
        {
            Scenario s = Scenarios.Random(v, rows, cols, seed++);
            LossRunner<double> runner = LossRunner<double>.Create(s.Setup);
            double[] analytic = FiniteDifference.AnalyticGradient(runner, s.Input, s);
            double[] numeric = FiniteDifference.Gradient(x => FiniteDifference.Objective(runner, x, s), s.Input);
            Tolerance.AssertClose(analytic, numeric, FiniteDifferenceTolerance, FiniteDifferenceTolerance, $"{s}: Backward vs finite differences");
        }
    }

    /// <summary>
    /// Forward, Backward and ForwardBackward agree with each other, and the tensor overloads agree bit for bit with the
    /// span overloads, at sizes around the vector widths, in float and double.
    /// </summary>
    public static void EntryPointsAgree(string variantName)
    {
        Variant v = Variants.Get(variantName);
        int seed = 5000;
        foreach (int rows in new[] { 1, 3 })
        {
            foreach (int cols in EntryPointColumns)
            {
                Scenario s = Scenarios.Random(v, rows, cols, seed++);
                EntryPointsAgree<double>(s);
                EntryPointsAgree<float>(s);
            }
        }
    }

    public static void EntryPointsAgree<T>(Scenario s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossRunner<T> r = LossRunner<T>.Create(s.Setup);
        string what = $"{typeof(T).Name} {s}";
        T[] x = LossRunner<T>.Convert(s.Input);
        bool none = r.Reduction == Reduction.None;
        int values = none ? r.ValueLength : 0;
        T[] upstream = LossRunner<T>.Convert(s.Upstream);
        T scalarUpstream = T.CreateTruncating(s.ScalarUpstream);

        var dest = new T[values];
        T forward = r.Forward(x, dest);
        var fbGradient = new T[x.Length];
        var fbDest = new T[values];
        T fb = r.ForwardBackward(x, fbGradient, fbDest);

        // Forward and ForwardBackward compute the same values.
        Tolerance.AssertIdentical<T>([forward], [fb], $"{what}: Forward vs ForwardBackward value");
        Tolerance.AssertIdentical<T>(dest, fbDest, $"{what}: Forward vs ForwardBackward destination");

        // Backward with upstream 1 is ForwardBackward's gradient.
        var unit = new T[x.Length];
        if (none)
        {
            r.Backward(x, Enumerable.Repeat(T.One, values).ToArray(), unit);
        }
        else
        {
            r.Backward(x, T.One, unit);
        }

        Tolerance.AssertIdentical<T>(unit, fbGradient, $"{what}: Backward(upstream 1) vs ForwardBackward gradient");

        // Backward with an upstream u is u × ForwardBackward's gradient (up to a couple of roundings).
        var g = new T[x.Length];
        var scaled = new double[x.Length];
        if (none)
        {
            r.Backward(x, upstream, g);
        }
        else
        {
            r.Backward(x, scalarUpstream, g);
        }

        for (int i = 0; i < x.Length; i++)
        {
            scaled[i] = double.CreateTruncating(fbGradient[i]) * double.CreateTruncating(none ? upstream[s.Setup.UpstreamIndex(i)] : scalarUpstream);
        }

        // The two differ by where u enters the arithmetic: a few roundings of the terms, whose size is about
        // |u|·max(1, w) (the row losses' gradients are differences of such terms, e.g. p − 1): 64 ulp of that.
        double tight = 64 * double.CreateTruncating(MachineEpsilon<T>());
        double termScale = (none ? s.Upstream.Select(Math.Abs).DefaultIfEmpty(0).Max() : Math.Abs(s.ScalarUpstream))
            * Math.Max(1.0, s.Setup.Weight?.Max() ?? 1.0) * s.Setup.Reduction switch
            {
                Reduction.Mean => 1.0 / Math.Max(1, s.Setup.ValueLength),
                Reduction.BatchMean => 1.0 / Math.Max(1, s.Setup.Batch),
                _ => 1.0,
            };
        Tolerance.AssertClose(Tolerance.Widen<T>(g), scaled, Tolerance.For<T>(), tight, $"{what}: Backward(u) vs u × ForwardBackward gradient", termScale);

        // Tensor overloads: identical to the span overloads.
        var tDest = new T[values];
        T tForward = r.ForwardTensor(x, tDest);
        Tolerance.AssertIdentical<T>([tForward], [forward], $"{what}: tensor Forward value");
        Tolerance.AssertIdentical<T>(tDest, dest, $"{what}: tensor Forward destination");

        var tGradient = new T[x.Length];
        var tFbDest = new T[values];
        T tFb = r.ForwardBackwardTensor(x, tGradient, tFbDest);
        Tolerance.AssertIdentical<T>([tFb], [fb], $"{what}: tensor ForwardBackward value");
        Tolerance.AssertIdentical<T>(tGradient, fbGradient, $"{what}: tensor ForwardBackward gradient");
        Tolerance.AssertIdentical<T>(tFbDest, fbDest, $"{what}: tensor ForwardBackward destination");

        var tBackward = new T[x.Length];
        if (none)
        {
            if (r.HasTensorUpstreamBackward)
            {
                r.BackwardTensor(x, upstream, tBackward);
                Tolerance.AssertIdentical<T>(tBackward, g, $"{what}: tensor Backward(upstream tensor)");
            }
        }
        else
        {
            r.BackwardTensor(x, scalarUpstream, tBackward);
            Tolerance.AssertIdentical<T>(tBackward, g, $"{what}: tensor Backward(scalar upstream)");
        }
    }

    /// <summary>2⁻⁵² for double, 2⁻²³ for float, 2⁻¹⁰ for Half.</summary>
    public static T MachineEpsilon<T>()
        where T : IFloatingPointIeee754<T> => T.BitIncrement(T.One) - T.One;

    /// <summary>Empty input: Sum is 0 and Mean (and BatchMean) NaN, None returns 0; Backward writes nothing and does not throw.</summary>
    public static void EmptyInput<T>(string loss, Reduction reduction, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var v = new Variant(loss, reduction) { PosWeight = loss == "bce_with_logits" };
        Scenario s = Scenarios.Random(v, 0, cols, 1);
        LossRunner<T> r = LossRunner<T>.Create(s.Setup);
        T[] x = [];
        T value = r.Forward(x, []);
        T fbValue = r.ForwardBackward(x, [], []);
        string what = $"{typeof(T).Name} {loss} {reduction} on empty input";
        if (reduction is Reduction.Mean or Reduction.BatchMean)
        {
            Assert.True(T.IsNaN(value), $"{what}: Forward gave {value}, expected NaN (0/0, as PyTorch)");
            Assert.True(T.IsNaN(fbValue), $"{what}: ForwardBackward gave {fbValue}, expected NaN");
        }
        else
        {
            Assert.True(value == T.Zero, $"{what}: Forward gave {value}, expected 0");
            Assert.True(fbValue == T.Zero, $"{what}: ForwardBackward gave {fbValue}, expected 0");
        }

        if (reduction == Reduction.None)
        {
            r.Backward(x, ReadOnlySpan<T>.Empty, []);
        }
        else
        {
            r.Backward(x, T.One, []);
        }
    }

    /// <summary>
    /// Extreme inputs: Forward, ForwardBackward and Backward give finite values and gradients for every reduction.
    /// Returns the Reduction.None per-value losses (double) for value checks by the caller.
    /// </summary>
    public static double[] AssertFinite<T>(LossSetup setup, double[] input)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] perValue = [];
        foreach (Reduction reduction in new[] { Reduction.None, Reduction.Mean, Reduction.Sum })
        {
            LossRunner<T> r = LossRunner<T>.Create(setup.With(reduction));
            string what = $"{typeof(T).Name} {setup.Loss} {reduction}";
            T[] x = LossRunner<T>.Convert(input);
            bool none = reduction == Reduction.None;
            var dest = new T[none ? r.ValueLength : 0];
            T value = r.Forward(x, dest);
            var g = new T[x.Length];
            var fbDest = new T[dest.Length];
            T fb = r.ForwardBackward(x, g, fbDest);
            var b = new T[x.Length];
            if (none)
            {
                r.Backward(x, Enumerable.Repeat(T.CreateTruncating(0.5), dest.Length).ToArray(), b);
            }
            else
            {
                r.Backward(x, T.CreateTruncating(0.5), b);
            }

            Assert.True(T.IsFinite(value) && T.IsFinite(fb), $"{what}: value {value} / {fb} not finite");
            AssertAllFinite(dest, what + " Forward destination");
            AssertAllFinite(fbDest, what + " ForwardBackward destination");
            AssertAllFinite(g, what + " ForwardBackward gradient");
            AssertAllFinite(b, what + " Backward gradient");
            if (none)
            {
                perValue = Tolerance.Widen<T>(dest);
            }
        }

        return perValue;
    }

    public static void AssertAllFinite<T>(ReadOnlySpan<T> values, string what)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                throw new XunitException($"{what}: element {i} is {values[i]}");
            }
        }
    }

    /// <summary>
    /// Asserts an exception of exactly <typeparamref name="TException"/> naming <paramref name="paramName"/>, whose message
    /// contains each of <paramref name="messageParts"/> (the README: bad input names the parameter and the value).
    /// </summary>
    public static void Throws<TException>(string paramName, Action action, params string[] messageParts)
        where TException : ArgumentException => CheckNaming(Assert.Throws<TException>(action), paramName, messageParts);

    /// <summary>As <see cref="Throws{TException}"/>, for any <see cref="ArgumentException"/> (subclasses included).</summary>
    public static void ThrowsNaming(string paramName, Action action, params string[] messageParts) =>
        CheckNaming(Assert.ThrowsAny<ArgumentException>(action), paramName, messageParts);

    private static void CheckNaming(ArgumentException e, string paramName, string[] messageParts)
    {
        if (e.ParamName != paramName)
        {
            throw new XunitException($"{e.GetType().Name} names '{e.ParamName}', expected '{paramName}': {e.Message}");
        }

        foreach (string part in messageParts)
        {
            Assert.Contains(part, e.Message);
        }
    }
}
