using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
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
        var full = new Option<bool>("--full") { Description = "Paper scale (e.g. the 1,715,000-case box simulation); takes long." };
        var tiny = new Option<bool>("--tiny") { Description = "Smallest sizes (seconds; for tests)." };
        var scale = new Option<double?>("--scale") { Description = "Multiply the default sizes (e.g. 0.25 or 4)." };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1 };
        var only = new Option<string?>("--only") { Description = "Comma-separated experiments to run: numbers (1-5) or ids (imbalance, outliers, saturation, boxes, embeddings)." };
        var threads = new Option<int?>("--threads") { Description = "Most threads per loss call (default: all cores)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bars." };
        var command = new Command("lab",
            "Run the loss lab — imbalance (focal vs CE), outliers (L1/L2/Smooth L1/Huber), saturation (MSE vs BCE on sigmoids), " +
            "box regression (the DIoU simulation) and embeddings (softmax, center loss, ArcFace, CosFace) — and write lab-report/index.html.")
        {
            output, full, tiny, scale, seed, only, threads, quiet,
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
            string outDir = parse.GetValue(output)!;
            var reports = new List<ExperimentReport>();
            var total = Stopwatch.StartNew();
            LabContext context = null!;
            io.WithProgress(parse.GetValue(quiet), progress =>
            {
                context = new LabContext(isTiny ? 0.02 : factor ?? 1.0, isTiny, isFull, parse.GetValue(seed), progress);
                foreach (IExperiment e in selected)
                {
                    var watch = Stopwatch.StartNew();
                    ExperimentReport report = e.Run(context);
                    report.Seconds = watch.Elapsed.TotalSeconds;
                    reports.Add(report);
                }
            });

            double seconds = total.Elapsed.TotalSeconds;
            Directory.CreateDirectory(outDir);
            string index = Path.Combine(outDir, "index.html");
            File.WriteAllText(index, HtmlReport.Write(reports, context, seconds));
            File.WriteAllText(Path.Combine(outDir, "results.json"), ResultsJson(reports, context, seconds));
            PrintSummary(io.Out, reports, seconds);
            io.Out.WriteLine($"wrote {index}");
            return 0;
        }, "lab"));
        return command;
    }

    private static IExperiment[] Select(IExperiment[] all, string? only)
    {
        if (only is null)
        {
            return all;
        }

        var chosen = new List<IExperiment>();
        foreach (string part in SimulateCommand.ParseList(only))
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

    private static void PrintSummary(TextWriter writer, List<ExperimentReport> reports, double seconds)
    {
        IAnsiConsole console = CommandIO.Console(writer);
        var table = new Table().Border(TableBorder.Rounded).Title($"Loss lab ({seconds:F1} s)");
        table.AddColumns("Experiment", "Verdict", "Measured", "Time");
        foreach (ExperimentReport r in reports)
        {
            string color = r.Verdict switch { Verdict.Confirmed => "green", Verdict.Partly => "yellow", _ => "red" };
            table.AddRow(Markup.Escape(r.Title), $"[{color}]{Markup.Escape(HtmlReport.VerdictWord(r.Verdict))}[/]", Markup.Escape(r.VerdictText),
                r.Seconds.ToString("F1", CultureInfo.InvariantCulture) + " s");
        }

        console.Write(table);
    }

    private static string ResultsJson(List<ExperimentReport> reports, LabContext context, double seconds)
    {
        var sb = new StringBuilder();
        sb.Append("{\n  \"size\": ").Append(System.Text.Json.JsonSerializer.Serialize(context.Describe()))
          .Append(",\n  \"seed\": ").Append(context.Seed.ToString(CultureInfo.InvariantCulture))
          .Append(",\n  \"seconds\": ").Append(seconds.ToString("F2", CultureInfo.InvariantCulture))
          .Append(",\n  \"experiments\": [");
        for (int i = 0; i < reports.Count; i++)
        {
            ExperimentReport r = reports[i];
            sb.Append(i == 0 ? "\n" : ",\n").Append("    {\"id\": ").Append(System.Text.Json.JsonSerializer.Serialize(r.Id))
              .Append(", \"verdict\": ").Append(System.Text.Json.JsonSerializer.Serialize(r.Verdict.ToString()))
              .Append(", \"text\": ").Append(System.Text.Json.JsonSerializer.Serialize(r.VerdictText))
              .Append(", \"seconds\": ").Append(r.Seconds.ToString("F2", CultureInfo.InvariantCulture))
              .Append(", \"metrics\": {");
            int k = 0;
            foreach ((string name, double value) in r.Metrics)
            {
                sb.Append(k++ == 0 ? "" : ", ").Append(System.Text.Json.JsonSerializer.Serialize(name)).Append(": ")
                  .Append(double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : "null");
            }

            sb.Append("}}");
        }

        sb.Append("\n  ]\n}\n");
        return sb.ToString();
    }
}
