using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LossKit.Cli.Lab;
using Spectre.Console;

namespace LossKit.Cli.Commands;

/// <summary><c>losskit lab</c>: runs the experiments and writes a self-contained HTML report.</summary>
internal static class LabCommand
{
    /// <summary>The experiments in report order.</summary>
    internal static IExperiment[] Experiments() =>
    [
        new ImbalanceExperiment(),
        new OutlierExperiment(),
        new SaturationExperiment(),
        new BoxRegressionExperiment(),
        new EmbeddingExperiment(),
    ];

    public static Command Create(CommandIO io)
    {
        var output = new Option<string>("--out", "-o") { Description = "Report folder (index.html, results.json).", DefaultValueFactory = _ => "lab-report" };
        var full = new Option<bool>("--full") { Description = "Paper scale: more seeds and data (about 10 minutes on 2 cores)." };
        var tiny = new Option<bool>("--tiny") { Description = "Smallest sizes (seconds; for tests)." };
        var scale = new Option<double?>("--scale") { Description = "Multiply the default sizes (e.g. 0.25 or 4)." };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1 };
        var only = new Option<string?>("--only") { Description = "Comma-separated experiments to run: numbers (1-5) or ids (imbalance, outliers, saturation, boxes, embeddings)." };
        var threads = new Option<int?>("--threads") { Description = "Most threads per loss call (default: all cores)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress lines." };
        var compare = new Option<string?>("--compare") { Description = "Another run's report folder (or its results.json): verdicts that differ are flagged in both reports." };
        var command = new Command("lab",
            "Run the loss lab — imbalance (focal vs CE), outliers (L1/L2/Smooth L1/Huber), saturation (MSE vs BCE on sigmoids), " +
            "box regression (the DIoU simulation) and embeddings (softmax, center loss, ArcFace, CosFace) — and write lab-report/index.html.")
        {
            output, full, tiny, scale, seed, only, threads, quiet, compare,
        };
        command.SetAction(parse => io.Guard(() =>
        {
            bool isFull = parse.GetValue(full), isTiny = parse.GetValue(tiny);
            double? factor = parse.GetValue(scale);
            if ((isFull ? 1 : 0) + (isTiny ? 1 : 0) + (factor.HasValue ? 1 : 0) > 1)
            {
                throw new CliException("use only one of --full, --tiny and --scale");
            }

            if (factor is double f && !(f > 0 && double.IsFinite(f)))
            {
                throw new CliException($"--scale must be a positive number, got {f}");
            }

            if (parse.GetValue(threads) is int t)
            {
                LossKitSettings.MaxDegreeOfParallelism = SimulateCommand.Positive(t, "--threads");
            }

            IExperiment[] selected = Select(Experiments(), parse.GetValue(only));

            // Everything that can fail on the outputs fails here, before minutes of work.
            string outDir = parse.GetValue(output)!;
            PrepareOutput(outDir);
            PreviousRun? previous = parse.GetValue(compare) is string comparePath ? PreviousRun.Load(comparePath) : null;

            var reports = new List<ExperimentReport>();
            var total = Stopwatch.StartNew();
            bool isQuiet = parse.GetValue(quiet);
            var context = new LabContext(isTiny ? 0.02 : factor ?? 1.0, isTiny, isFull, parse.GetValue(seed), new ProgressReporter(null));
            double estimatedTotal = selected.Sum(e => e.EstimateSeconds(context)), estimatedDone = 0;
            for (int i = 0; i < selected.Length; i++)
            {
                IExperiment e = selected[i];
                if (!isQuiet)
                {
                    io.Error.WriteLine($"lab [{i + 1}/{selected.Length}] {e.Id} ({context.SizeName}): running; about {Duration(Remaining(estimatedTotal - estimatedDone, estimatedDone, total.Elapsed.TotalSeconds))} left");
                }

                var watch = Stopwatch.StartNew();
                ExperimentReport report = e.Run(context);
                report.Seconds = watch.Elapsed.TotalSeconds;
                reports.Add(report);
                estimatedDone += e.EstimateSeconds(context);
                TestHook?.Invoke("after:" + e.Id);
                if (!isQuiet)
                {
                    io.Error.WriteLine($"lab [{i + 1}/{selected.Length}] {e.Id}: {HtmlReport.VerdictWord(report.Verdict)} in {report.Seconds:F1} s; about {Duration(Remaining(estimatedTotal - estimatedDone, estimatedDone, total.Elapsed.TotalSeconds))} left");
                }
            }

            double seconds = total.Elapsed.TotalSeconds;
            string? flipNotice = previous?.MarkFlips(reports, context.SizeName);
            string index = Path.Combine(outDir, "index.html");
            string results = Path.Combine(outDir, "results.json");

            // Write both files under temporary names, then rename: an interrupted run leaves the previous report (or none),
            // never a partial one.
            string html = HtmlReport.Write(reports, context, seconds, previous?.Description);
            string json = ResultsJson(reports, context, seconds, previous);
            string tmpHtml = index + ".tmp", tmpJson = results + ".tmp";
            try
            {
                File.WriteAllText(tmpJson, json);
                File.WriteAllText(tmpHtml, html);
                TestHook?.Invoke("write");
                File.Move(tmpJson, results, overwrite: true);
                File.Move(tmpHtml, index, overwrite: true);
            }
            finally
            {
                File.Delete(tmpJson);
                File.Delete(tmpHtml);
            }

            // The other run's report gets the notice too, unless it was just overwritten by this one (same folder).
            if (flipNotice is not null && !string.Equals(Path.GetFullPath(Path.GetDirectoryName(Path.GetFullPath(previous!.ResultsPath))!), Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            {
                previous.FlagOtherReport(flipNotice);
            }

            PrintSummary(io.Out, reports, seconds, context);
            io.Out.WriteLine($"wrote {index}");
            return 0;
        }, "lab"));
        return command;
    }

    /// <summary>Test hook: called with "after:&lt;id&gt;" after each experiment and "write" between writing and renaming.</summary>
    internal static Action<string>? TestHook { get; set; }

    /// <summary>Fails early when the report folder cannot be a folder (an existing file) or cannot be created.</summary>
    private static void PrepareOutput(string outDir)
    {
        if (File.Exists(outDir))
        {
            throw new CliException($"--out: '{outDir}' is an existing file; expected a folder for index.html and results.json");
        }

        foreach (string name in new[] { "index.html", "results.json" })
        {
            if (Directory.Exists(Path.Combine(outDir, name)))
            {
                throw new CliException($"--out: '{Path.Combine(outDir, name)}' is a folder; cannot write the report there");
            }
        }

        Directory.CreateDirectory(outDir);
    }

    /// <summary>Seconds left: the estimate for what remains, rescaled by how the estimates compared with the clock so far.</summary>
    internal static double Remaining(double estimatedLeft, double estimatedDone, double elapsed) =>
        estimatedDone > 0 && elapsed > 0 ? estimatedLeft * elapsed / estimatedDone : estimatedLeft;

    internal static string Duration(double seconds) =>
        seconds < 1 ? "0 s" : seconds < 90 ? $"{seconds:F0} s" : $"{Math.Floor(seconds / 60):F0} min {seconds % 60:00} s";

    private static IExperiment[] Select(IExperiment[] all, string? only)
    {
        if (only is null)
        {
            return all;
        }

        var chosen = new List<IExperiment>();
        foreach (string part in SimulateCommand.ParseList(only, "--only"))
        {
            IExperiment? e = int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 1 && k <= all.Length
                ? all[k - 1]
                : all.FirstOrDefault(x => x.Id == part);
            if (e is null)
            {
                throw new CliException($"--only: unknown experiment '{part}' (known: 1-{all.Length} or {string.Join(", ", all.Select(x => x.Id))})");
            }

            if (!chosen.Contains(e))
            {
                chosen.Add(e);
            }
        }

        return [.. chosen.OrderBy(e => Array.IndexOf(all, e))];
    }

    private static void PrintSummary(TextWriter writer, List<ExperimentReport> reports, double seconds, LabContext context)
    {
        IAnsiConsole console = CommandIO.Console(writer);
        var table = new Table().Border(TableBorder.Rounded).Title($"Loss lab, size {context.SizeName} ({seconds:F1} s)");
        table.AddColumns("Experiment", "Verdict", "Claims", "Measured", "Time");
        foreach (ExperimentReport r in reports)
        {
            string color = r.Verdict switch { Verdict.Confirmed => "green", Verdict.Inconclusive => "yellow", _ => "red" };
            string claims = string.Join("\n", r.Comparisons.Select(c => $"{HtmlReport.VerdictWord(c.Verdict)}{(c.Flip is null ? "" : " (flipped)")}: {c.Claim}"));
            table.AddRow(Markup.Escape(r.Title), $"[{color}]{Markup.Escape(HtmlReport.VerdictWord(r.Verdict))}[/]", Markup.Escape(claims), Markup.Escape(r.VerdictText),
                r.Seconds.ToString("F1", CultureInfo.InvariantCulture) + " s");
        }

        console.Write(table);
    }

    private static string ResultsJson(List<ExperimentReport> reports, LabContext context, double seconds, PreviousRun? previous)
    {
        var options = new JsonWriterOptions { Indented = true };
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, options))
        {
            w.WriteStartObject();
            w.WriteString("size", context.SizeName);
            w.WriteString("size_description", context.Describe());
            w.WriteBoolean("complete", true);
            w.WriteNumber("seed", context.Seed);
            w.WriteNumber("seconds", Math.Round(seconds, 2));
            if (previous is not null)
            {
                w.WriteString("compared_with", previous.Description);
            }

            w.WriteStartObject("rule");
            w.WriteString("text", PairedStats.RuleText);
            w.WriteNumber("level", PairedStats.Level);
            w.WriteNumber("bootstrap_resamples", PairedStats.BootstrapResamples);
            w.WriteNumber("bootstrap_seed", PairedStats.BootstrapSeed);
            w.WriteString("bootstrap_quantiles", "linear interpolation between order statistics (numpy default)");
            w.WriteEndObject();
            w.WriteStartArray("experiments");
            foreach (ExperimentReport r in reports)
            {
                w.WriteStartObject();
                w.WriteString("id", r.Id);
                w.WriteString("verdict", r.Verdict.ToString());
                w.WriteString("text", r.VerdictText);
                w.WriteNumber("seconds", Math.Round(r.Seconds, 2));
                w.WriteStartArray("comparisons");
                foreach (Comparison c in r.Comparisons)
                {
                    w.WriteStartObject();
                    w.WriteString("claim", c.Claim);
                    w.WriteString("metric", c.Metric);
                    w.WriteString("unit", c.Unit);
                    w.WriteString("claimed", c.Claimed);
                    w.WriteString("other", c.Other);
                    w.WriteBoolean("higher_is_better", c.HigherIsBetter);
                    w.WriteNumber("n", c.Differences.Length);
                    Number(w, "mean_difference", c.Mean);
                    Number(w, "sd_difference", c.Sd);
                    Pair(w, "t_interval", c.T);
                    Pair(w, "bootstrap_interval", c.Bootstrap);
                    w.WriteString("verdict", c.Verdict.ToString());
                    if (c.Flip is not null)
                    {
                        w.WriteString("flipped", c.Flip);
                    }

                    NumberArray(w, "claimed_values", c.ClaimedValues);
                    NumberArray(w, "other_values", c.OtherValues);
                    NumberArray(w, "differences", c.Differences);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteStartObject("metrics");
                foreach ((string name, double value) in r.Metrics)
                {
                    Number(w, name, value);
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void Pair(Utf8JsonWriter w, string name, (double Low, double High) v)
    {
        w.WriteStartArray(name);
        foreach (double x in new[] { v.Low, v.High })
        {
            if (double.IsFinite(x))
            {
                w.WriteNumberValue(x);
            }
            else
            {
                w.WriteNullValue();
            }
        }

        w.WriteEndArray();
    }

    private static void NumberArray(Utf8JsonWriter w, string name, double[] values)
    {
        w.WriteStartArray(name);
        foreach (double x in values)
        {
            if (double.IsFinite(x))
            {
                w.WriteNumberValue(x);
            }
            else
            {
                w.WriteNullValue();
            }
        }

        w.WriteEndArray();
    }
}
