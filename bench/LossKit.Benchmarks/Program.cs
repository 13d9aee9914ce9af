using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace LossKit.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project bench/LossKit.Benchmarks -- --filter '*CrossEntropy*' --job short</c>.
/// Every BenchmarkDotNet command-line option works (<c>--list flat</c>, <c>--filter</c>, <c>--job dry|short|medium|long</c>,
/// <c>--artifacts DIR</c>, ...); see <see cref="BenchConfig"/> for what is always on.
/// <c>-- --alloc-check [--filter SUBSTRING] [--calls N]</c> instead runs the exact in-process allocation check of
/// <see cref="AllocationCheck"/> (exit code 1 when a benchmark allocates).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--alloc-check"))
        {
            return AllocationCheck.Run(args);
        }

        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new BenchConfig());

        // Non-zero exit code when a benchmark failed to build or run, so scripts and CI notice.
        bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        return failed ? 1 : 0;
    }
}
