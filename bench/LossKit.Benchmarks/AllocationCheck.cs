using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace LossKit.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/LossKit.Benchmarks -- --alloc-check [--filter SUBSTRING] [--calls N]</c>:
/// runs every benchmark method in this process (each generic instantiation and [Params] value), warms it up, then
/// counts the bytes allocated by all threads over N calls (default 20; smallest of three rounds) with
/// <see cref="GC.GetTotalAllocatedBytes(bool)"/> (precise).
/// Prints bytes per call and exits with 1 if any benchmark allocates.
/// </summary>
/// <remarks>
/// Why this exists next to the MemoryDiagnoser: BenchmarkDotNet 0.14 does not recognise .NET 10 (its runtime moniker is
/// NotRecognized), so it applies the pre-.NET Core 2.0 "allocation quantum" rule and reports 0 ('-') whenever the
/// total allocated during the memory-diagnoser run is at most GcStats.AllocationQuantum (about 8 KB). For benchmarks
/// that take milliseconds there are only a few dozen operations in that run, so tens of bytes per call can be hidden.
/// This check has no such threshold.
/// </remarks>
internal static class AllocationCheck
{
    public static int Run(string[] args)
    {
        string? filter = OptionValue(args, "--filter");
        int calls = int.TryParse(OptionValue(args, "--calls"), out int c) && c > 0 ? c : 20;
        int allocating = 0, checkedCount = 0;
        MethodInfo measure = typeof(AllocationCheck).GetMethod(nameof(Measure), BindingFlags.NonPublic | BindingFlags.Static)!;

        foreach (Type definition in typeof(AllocationCheck).Assembly.GetTypes()
                     .Where(t => t.IsPublic && !t.IsAbstract && t.GetCustomAttributes<GenericTypeArgumentsAttribute>().Any())
                     .OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            foreach (GenericTypeArgumentsAttribute arguments in definition.GetCustomAttributes<GenericTypeArgumentsAttribute>())
            {
                Type type = definition.MakeGenericType(arguments.GenericTypeArguments);
                PropertyInfo? parameter = type.GetProperties().FirstOrDefault(p => p.GetCustomAttribute<ParamsAttribute>() is not null);
                object?[] values = parameter?.GetCustomAttribute<ParamsAttribute>()!.Values ?? [null];
                foreach (object? value in values)
                {
                    string name = $"{definition.Name[..definition.Name.IndexOf('`')]}<{arguments.GenericTypeArguments[0].Name}>"
                        + (parameter is null ? "" : $"({parameter.Name}={value})");
                    MethodInfo[] benchmarks = type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null).ToArray();
                    if (filter is not null && !benchmarks.Any(m => $"{name}.{m.Name}".Contains(filter, StringComparison.OrdinalIgnoreCase)))
                    {
                        continue;
                    }

                    object instance = Activator.CreateInstance(type)!;
                    parameter?.SetValue(instance, value);
                    foreach (MethodInfo setup in type.GetMethods().Where(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null))
                    {
                        setup.Invoke(instance, null);
                    }

                    foreach (MethodInfo method in benchmarks)
                    {
                        string full = $"{name}.{method.Name}";
                        if (filter is not null && !full.Contains(filter, StringComparison.OrdinalIgnoreCase))
                        {
                            continue;
                        }

                        Delegate call = method.CreateDelegate(typeof(Func<>).MakeGenericType(method.ReturnType), instance);
                        long bytes = (long)measure.MakeGenericMethod(method.ReturnType).Invoke(null, [call, calls])!;
                        checkedCount++;
                        if (bytes != 0)
                        {
                            allocating++;
                        }

                        Console.WriteLine($"{full,-62} {(double)bytes / calls,10:0.##} B/call  ({bytes} B over {calls} calls)");
                    }
                }
            }
        }

        Console.WriteLine(allocating == 0
            ? $"OK: none of the {checkedCount} benchmarks allocates."
            : $"FAIL: {allocating} of {checkedCount} benchmarks allocate.");
        return allocating == 0 ? 0 : 1;
    }

    /// <summary>
    /// Steady-state bytes per <paramref name="calls"/> calls: after a warm-up long enough for tiered compilation to
    /// finish, the smallest of three measured rounds (one-off runtime allocations on other threads, e.g. by the
    /// tiering machinery, then do not count; an allocation made by every call shows in every round).
    /// </summary>
    private static long Measure<TResult>(Func<TResult> call, int calls)
    {
        TResult result = default!;
        for (int i = 0; i < 50; i++)
        {
            result = call();
        }

        Thread.Sleep(250); // let the tier-1 recompilation of the hot methods finish in the background
        for (int i = 0; i < 50; i++)
        {
            result = call();
        }

        long best = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < calls; i++)
            {
                result = call();
            }

            best = Math.Min(best, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        Sink<TResult>.Value = result;
        return best;
    }

    private static string? OptionValue(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static class Sink<TResult>
    {
        public static TResult? Value;
    }
}
