using System.CommandLine;
using System.Text.Json;
using LossKit.Cli.Bench;
using Spectre.Console;

namespace LossKit.Cli.Commands;

/// <summary>
/// <c>losskit bench</c>: times each case with float32 data — the median over K repetitions after warm-up of a
/// forward-only call and of the fused forward + backward call — and optionally the machine's triad bandwidth.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CommandIO io)
    {
        var cases = new Option<string[]>("--case") { Description = "A case to run (repeatable; default: all).", AllowMultipleArgumentsPerToken = false };
        var threads = new Option<int>("--threads") { Description = "Threads the library may use (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions per measurement (median reported).", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed calls before timing.", DefaultValueFactory = _ => 3 };
        var json = new Option<string?>("--json") { Description = "Write {case: {forward_ms, fwd_bwd_ms}} to this file." };
        var triad = new Option<bool>("--triad") { Description = "Also measure memory bandwidth (triad) and report the fraction memory-bound cases reach." };
        var list = new Option<bool>("--list") { Description = "List the case names and exit." };
        var scaling = new Option<bool>("--scaling") { Description = "Instead of the cases: fused forward + backward per family at 1K, 16K, 256K and 4M elements (µs per call, ns per element)." };
        var command = new Command("bench", "Time the loss kernels (float32, median of K runs): forward, and fused forward + backward.")
        {
            cases, threads, reps, warmup, json, triad, list, scaling,
        };
        command.SetAction(parse => io.Guard(() =>
        {
            if (parse.GetValue(list))
            {
                foreach (string name in BenchCases.Names)
                {
                    io.Out.WriteLine(name);
                }

                return 0;
            }

            int t = parse.GetValue(threads), k = parse.GetValue(reps), w = parse.GetValue(warmup);
            if (t < 1 || k < 1 || w < 0)
            {
                throw new CliException($"--threads and --reps must be >= 1 and --warmup >= 0 (got {t}, {k}, {w})");
            }

            string[] selected = parse.GetValue(cases) is { Length: > 0 } c ? c : [.. BenchCases.Names];
            int previous = LossKitSettings.MaxDegreeOfParallelism;
            LossKitSettings.MaxDegreeOfParallelism = t;
            try
            {
                return parse.GetValue(scaling)
                    ? RunScaling(io, k, w, parse.GetValue(json), t)
                    : Run(io, selected, k, w, parse.GetValue(json), parse.GetValue(triad), t);
            }
            finally
            {
                LossKitSettings.MaxDegreeOfParallelism = previous;
            }
        }, "bench"));
        return command;
    }

    private static int Run(CommandIO io, string[] selected, int reps, int warmup, string? jsonPath, bool triad, int threads)
    {
        var results = new Dictionary<string, Dictionary<string, double>>();
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"losskit bench — float32, median of {reps}, {threads} thread(s), {LossKitSettings.SimdDescription}");
        table.AddColumns("case", "forward ms", "fwd+bwd ms", "fwd+bwd GB/s");
        double? bandwidth = triad ? BenchCases.TriadGBps() : null;
        foreach (string name in selected)
        {
            BenchCase c = BenchCases.Create(name);

            // The triad's arrays and the previous case's data are garbage now: collect them before timing, so no
            // collection of them lands inside this case's timed calls.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            double f = BenchCases.MedianMs(c.Forward, reps, warmup);
            double fb = BenchCases.MedianMs(c.ForwardBackward, reps, warmup);
            results[name] = new() { ["forward_ms"] = f, ["fwd_bwd_ms"] = fb };
            string gbps = c.BytesFwdBwd > 0 ? $"{c.BytesFwdBwd / (fb * 1e6):F1}" + (bandwidth is double b ? $" ({100 * c.BytesFwdBwd / (fb * 1e6) / b:F0} % of triad)" : "") : "";
            if (c.BytesFwdBwd > 0)
            {
                results[name]["bytes_fwd_bwd"] = c.BytesFwdBwd;
            }

            table.AddRow(Markup.Escape(name), $"{f:F3}", $"{fb:F3}", gbps);
        }

        IAnsiConsole console = CommandIO.Console(io.Out);
        console.Profile.Width = Math.Max(console.Profile.Width, 140);
        console.Write(table);
        if (bandwidth is double bw)
        {
            io.Out.WriteLine($"triad bandwidth: {bw:F1} GB/s");
            results["_triad"] = new() { ["gb_per_s"] = bw };
        }

        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        }

        return 0;
    }

    private static int RunScaling(CommandIO io, int reps, int warmup, string? jsonPath, int threads)
    {
        var results = new Dictionary<string, Dictionary<string, double>>();
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"losskit bench --scaling — float32 fused forward + backward, median of {reps}, {threads} thread(s): µs per call (ns per element)");
        table.AddColumn("family");
        table.AddColumn("loss");
        foreach (int n in ScalingCases.Sizes)
        {
            table.AddColumn(new TableColumn(SizeName(n)).RightAligned());
        }

        for (int i = 0; i < ScalingCases.Losses.Count; i++)
        {
            (string family, string loss) = ScalingCases.Losses[i];
            var cells = new List<string> { family, Markup.Escape(loss) };
            var row = new Dictionary<string, double>();
            foreach (int n in ScalingCases.Sizes)
            {
                double ms = BenchCases.MedianMs(ScalingCases.Create(i, n), reps, warmup);
                row[SizeName(n) + "_us"] = ms * 1e3;
                cells.Add($"{ms * 1e3:F1} ({ms * 1e6 / n:F2})");
            }

            results[loss] = row;
            table.AddRow([.. cells]);
        }

        IAnsiConsole console = CommandIO.Console(io.Out);
        console.Profile.Width = Math.Max(console.Profile.Width, 140);
        console.Write(table);
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        }

        return 0;
    }

    private static string SizeName(int n) => n >= 1 << 20 ? $"{n >> 20}M" : $"{n >> 10}K";
}
