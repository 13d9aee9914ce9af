using System.Runtime.CompilerServices;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Reports;

namespace LossKit.Benchmarks;

/// <summary>
/// The configuration every run uses: BenchmarkDotNet's defaults plus the memory diagnoser (the span entry points are
/// expected to allocate nothing: the Allocated column must read '-' or 0 B), benchmarks listed in declaration order,
/// and artifacts written next to this project (bench/LossKit.Benchmarks/BenchmarkDotNet.Artifacts) rather than in
/// whatever directory the command was started from.
/// </summary>
/// <remarks>
/// No job is fixed here, so the job comes from the command line:
/// <list type="bullet">
/// <item><c>--job dry</c>: one invocation per benchmark, only checks that everything builds and runs;</item>
/// <item><c>--job short</c>: the quick preset (1 launch, 3 warm-up, 3 measured iterations), for a first look;</item>
/// <item>no <c>--job</c>: the default job (as many iterations as needed for stable numbers), for numbers to publish.</item>
/// </list>
/// <c>--artifacts DIR</c> still overrides the artifacts directory.
/// </remarks>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        Add(DefaultConfig.Instance);
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Median);
        WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared, MethodOrderPolicy.Declared));
        WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(40));
        ArtifactsPath = Path.Combine(ProjectDirectory(), "BenchmarkDotNet.Artifacts");
    }

    /// <summary>The directory of this source file, i.e. the benchmark project's directory at build time.</summary>
    private static string ProjectDirectory([CallerFilePath] string path = "") =>
        Path.GetDirectoryName(path) is { Length: > 0 } dir && Directory.Exists(dir) ? dir : Directory.GetCurrentDirectory();
}
