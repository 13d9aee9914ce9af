namespace LossKit.Tests.Infrastructure;

/// <summary>What a call allocates once warm, counted on the calling thread with the kernels kept on it.</summary>
/// <remarks>Callers change <see cref="LossKitSettings.MaxDegreeOfParallelism"/>: their classes belong in the
/// global-settings collection.</remarks>
internal static class SteadyStateAllocation
{
    /// <summary>
    /// Asserts that no step allocates once warm: after two warm-up calls, the fewest bytes over up to three windows of 5
    /// calls must be 0 (a step that allocates per call does so in every window; a one-off allocation by the runtime on
    /// this thread does not). MaxDegreeOfParallelism = 1 keeps WorkPool's chunks on this thread.
    /// </summary>
    public static void AssertNone(params (string Name, Action Call)[] steps)
    {
        var report = new List<string>();
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            LossKitSettings.MaxDegreeOfParallelism = 1;
            foreach ((string name, Action call) in steps)
            {
                call();
                call();
                long fewest = long.MaxValue;
                for (int window = 0; window < 3 && fewest != 0; window++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    for (int i = 0; i < 5; i++)
                    {
                        call();
                    }

                    fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
                }

                if (fewest != 0)
                {
                    report.Add($"{name}: {fewest / 5.0} B per call");
                }
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }

        Assert.True(report.Count == 0, string.Join("; ", report));
    }
}
