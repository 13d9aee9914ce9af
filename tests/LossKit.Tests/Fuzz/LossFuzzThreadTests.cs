using FsCheck;
using FsCheck.Fluent;
using LossKit.Registry;
using LossKit.Tests.Internal;

namespace LossKit.Tests.Fuzz;

/// <summary>
/// (e): one thread and two threads give bit-identical values and gradients, on generated inputs large enough to be
/// chunked (65,536+ elements: Pointwise.ParallelThreshold, the row driver's threshold; 2^21 multiply-adds for the cosine
/// head's GEMM; more than 64 classes for the center loss; the criteria's dense focal and cross-entropy terms). One
/// case per entry and element type keeps the run short; the seed decides whether it holds the finite mix. Changes LossKitSettings, so it runs in the global-settings
/// collection.
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public sealed class LossFuzzThreadTests
{
    private const int Cases = 1;

    public static TheoryData<string> Ids => new(LossRegistry.Entries.Select(e => e.Id));

    [Theory]
    [MemberData(nameof(Ids))]
    public void OneAndTwoThreads_BitIdentical(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        Gen<FuzzCase> cases = Gen.Frequency((1, FuzzCases.Valid(entry, ValueMix.Normal, FuzzSize.Large)), (1, FuzzCases.Valid(entry, ValueMix.Finite, FuzzSize.Large)));
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            FuzzConfig.Check($"threads/{id}", cases, Cases, c =>
            {
                Compare<double>(c);
                Compare<float>(c.RoundedToFloat());
            });
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    private static void Compare<T>(FuzzCase c)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        LossKitSettings.MaxDegreeOfParallelism = 1;
        FuzzOutcome<T> one = FuzzChecks.RunValid<T>(c);
        LossKitSettings.MaxDegreeOfParallelism = 2;
        FuzzOutcome<T> two = FuzzChecks.RunValid<T>(c);
        FuzzChecks.Identical(c, one, two, "1 thread vs 2 threads");
    }
}
