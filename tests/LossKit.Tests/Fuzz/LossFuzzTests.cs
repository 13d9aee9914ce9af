using FsCheck;
using FsCheck.Fluent;
using LossKit.Registry;
using Xunit.Sdk;

namespace LossKit.Tests.Fuzz;

/// <summary>
/// Property-based fuzzing (FsCheck, fixed seed: <see cref="FuzzConfig"/>) of every registry entry, criteria included,
/// through its layout: random shapes (0 and 1 among them), values from normal, tiny, subnormal and huge magnitudes,
/// hyper-parameters inside their documented ranges (<see cref="FuzzCases"/>). Properties: (a) only ArgumentException
/// (or a subclass) ever escapes, and only for invalid arguments; (b) finite inputs give a finite value and gradient, or
/// the loss's documented NaN/∞ case; (c) Forward, Backward and ForwardBackward agree bit for bit; (d) float is within
/// tolerance of double where the double result is finite; (f) Half is the float result rounded to Half. (e),
/// thread-count independence, is <see cref="LossFuzzThreadTests"/>.
/// </summary>
public sealed class LossFuzzTests
{
    /// <summary>Valid cases per entry and property run (with the hostile run, about a second per entry on 2 cores).</summary>
    private const int ValidCases = 60;

    private const int HostileCases = 40;

    private const int HalfCases = 20;

    public static TheoryData<string> Ids => new(LossRegistry.Entries.Select(e => e.Id));

    /// <summary>(a) with no exception at all, (b), (c) in double and float, and (d) on the float-rounded inputs.</summary>
    [Theory]
    [MemberData(nameof(Ids))]
    public void ValidCases_EvaluateFiniteAgreeingAndFloatNearDouble(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        Gen<FuzzCase> cases = Gen.Frequency((6, FuzzCases.Valid(entry, ValueMix.Normal)), (4, FuzzCases.Valid(entry, ValueMix.Finite)));
        FuzzConfig.Check($"valid/{id}", cases, ValidCases, c =>
        {
            FuzzOutcome<double> d = FuzzChecks.RunValid<double>(c);
            FuzzChecks.Finite(c, d);
            FuzzChecks.Agree(c, d);

            FuzzCase rounded = c.RoundedToFloat();
            FuzzOutcome<float> f = FuzzChecks.RunValid<float>(rounded);
            FuzzChecks.Finite(rounded, f);
            FuzzChecks.Agree(rounded, f);
            FuzzOutcome<double> dr = FuzzChecks.RunValid<double>(rounded);
            FuzzChecks.FloatNearDouble(rounded, f, dr);
        });
    }

    /// <summary>(a) and (c) in Half, and (f): Half is the float32 result on the same inputs, rounded to Half.</summary>
    [Theory]
    [MemberData(nameof(Ids))]
    public void HalfCases_AreFloat32RoundedToHalf(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        FuzzConfig.Check($"half/{id}", FuzzCases.Valid(entry, ValueMix.Normal), HalfCases, c =>
        {
            FuzzCase half = c.RoundedToHalf();
            FuzzOutcome<Half> h = FuzzChecks.RunValid<Half>(half);
            FuzzChecks.Agree(half, h);
            FuzzChecks.HalfIsFloatRounded(half, h, FuzzChecks.RunValid<float>(half));
        });
    }

    /// <summary>
    /// (a) on hostile cases: NaN, ±∞ and ±double.MaxValue among the values, or one deliberate defect (index out of range,
    /// target outside its domain, inverted box, wrong dimension, short array). Only ArgumentException (and subclasses)
    /// may escape; a deliberate defect must be reported as one; an element-wise loss that reduces propagates a NaN input.
    /// </summary>
    [Theory]
    [MemberData(nameof(Ids))]
    public void HostileCases_ThrowOnlyArgumentExceptions(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        FuzzConfig.Check($"hostile/{id}", FuzzCases.Hostile(entry), HostileCases, c =>
        {
            Hostile<double>(c);
            Hostile<float>(c);
        });
    }

    private static void Hostile<T>(FuzzCase c)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        FuzzOutcome<T> o;
        try
        {
            o = FuzzRunner.Run<T>(c);
        }
        catch (ArgumentException)
        {
            return;
        }
        catch (Exception e)
        {
            throw new XunitException($"{typeof(T).Name}: {e.GetType().Name} escaped (only ArgumentException may): {e.Message}\n{c}\n{e.StackTrace}");
        }

        if (!c.Valid)
        {
            throw new XunitException($"{typeof(T).Name}: the invalid case evaluated (value {o.Fused}) instead of throwing ArgumentException\n{c}");
        }

        FuzzChecks.Agree(c, o);
        bool reduces = c.Parameters.Where(p => p.Name == "reduction").Select(p => (Reduction)p.Value)
            .DefaultIfEmpty(c.Entry.Parameter("reduction") is { Default: Reduction r } ? r : Reduction.None).First() != Reduction.None;
        if (c.Entry.Layout.Name == "elementwise" && reduces && c["input"].Data.Any(double.IsNaN) && !T.IsNaN(o.Fused))
        {
            throw new XunitException($"{typeof(T).Name}: a NaN input did not propagate to the reduced value ({o.Fused})\n{c}");
        }
    }
}
