using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LossKit.Cli.Simulation;
using Spectre.Console;

namespace LossKit.Cli.Commands;

/// <summary><c>losskit simulate</c>: the DIoU paper's box-regression simulation with LossKit's exact gradients.</summary>
internal static class SimulateCommand
{
    public static Command Create(CommandIO io)
    {
        var points = new Option<int>("--points") { Description = "Anchor centres (each: 343 cases); the paper uses 5000 (1,715,000 cases).", DefaultValueFactory = _ => 20 };
        var seed = new Option<int>("--seed") { Description = "Random seed for the anchor centres.", DefaultValueFactory = _ => 1 };
        var iterations = new Option<int>("--iterations") { Description = "Iterations (η = 0.1 to 160, 0.01 to 180, 0.001 after).", DefaultValueFactory = _ => 200 };
        var losses = new Option<string>("--losses") { Description = "Comma-separated subset of iou,giou,diou,ciou,eiou,siou (SIoU with the paper's γ = Λ − 2); siou_mmdet adds mmdetection's default γ.", DefaultValueFactory = _ => string.Join(",", DiouSimulation.AllLosses) };
        var dtype = new Option<string>("--dtype") { Description = "float64 (default) or float32.", DefaultValueFactory = _ => "float64" };
        var csv = new Option<string>("--csv") { Description = "CSV of the error per iteration per loss.", DefaultValueFactory = _ => "simulation.csv" };
        var svg = new Option<string>("--svg") { Description = "SVG of the error curves.", DefaultValueFactory = _ => "simulation.svg" };
        var logY = new Option<bool>("--log-y") { Description = "Log-scale error axis in the SVG." };
        var threads = new Option<int?>("--threads") { Description = "Most threads per loss call (default: all cores)." };
        var centers = new Option<string?>("--centers") { Description = "Also write the anchor centres as CSV (x,y per line), e.g. for bench/compare's PyTorch simulation." };
        var json = new Option<string?>("--json") { Description = "Also write {seconds, cases, losses: {name: {seconds, error: [E(0) … E(T)]}}} as JSON." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar." };
        var command = new Command("simulate",
            "The DIoU paper's simulation: 7 targets × anchors of 7 areas × 7 ratios around (10, 10), regressed for 200 iterations with " +
            "IoU, GIoU, DIoU, CIoU, EIoU and SIoU (exact gradients); writes a CSV and an SVG and prints the final errors.")
        {
            points, seed, iterations, losses, dtype, csv, svg, logY, threads, centers, json, quiet,
        };
        command.SetAction(parse => io.Guard(() =>
        {
            DiouSimulation.CheckPoints(parse.GetValue(points));
            var config = new SimulationConfig
            {
                Points = parse.GetValue(points),
                Seed = parse.GetValue(seed),
                Iterations = Iterations(parse.GetValue(iterations)),
                Losses = ParseList(parse.GetValue(losses)!, "--losses"),
                Float32 = ParseDtype(parse.GetValue(dtype)!) == "float32",
            };
            DiouSimulation.CheckLosses(config.Losses);
            if (parse.GetValue(threads) is int t)
            {
                LossKitSettings.MaxDegreeOfParallelism = Positive(t, "--threads");
            }

            SimulationResult result = null!;
            io.WithProgress(parse.GetValue(quiet), progress =>
            {
                var bars = config.Losses.ToDictionary(l => l, l => progress.Add($"{DiouSimulation.Names[l]} ({config.Points * DiouSimulation.CasesPerPoint:N0} cases)", config.Iterations));
                result = DiouSimulation.Run(config, (l, amount) => bars[l].Increment(amount));
                foreach (ProgressTaskHandle bar in bars.Values)
                {
                    bar.Complete();
                }
            });

            string csvPath = parse.GetValue(csv)!, svgPath = parse.GetValue(svg)!;
            WriteFile(csvPath, DiouSimulation.ToCsv(result));
            WriteFile(svgPath, DiouSimulation.Curves(result, parse.GetValue(logY)).ToSvg());
            var written = new List<string> { csvPath, svgPath };
            if (parse.GetValue(centers) is string centersPath)
            {
                WriteFile(centersPath, CentersCsv(result));
                written.Add(centersPath);
            }

            if (parse.GetValue(json) is string jsonPath)
            {
                WriteFile(jsonPath, Json(result));
                written.Add(jsonPath);
            }

            PrintTable(io.Out, result);
            io.Out.WriteLine($"wall time {result.WallSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s; wrote {string.Join(", ", written)}");
            return 0;
        }));
        return command;
    }

    public static void PrintTable(TextWriter writer, SimulationResult r)
    {
        IAnsiConsole console = CommandIO.Console(writer);
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"Final error after {r.Config.Iterations} iterations ({r.Cases:N0} cases, {(r.Config.Float32 ? "float32" : "float64")})");
        table.AddColumns("Loss", "E(0)", $"E({r.Config.Iterations})", "per case", "E(T)/E(0)", "paper per case*", "non-finite", "compute†");
        for (int i = 0; i < r.Losses.Length; i++)
        {
            double e0 = r.Error[i][0], e = r.Error[i][^1];
            string paper = DiouSimulation.PaperFinalPerCase.TryGetValue(r.Losses[i], out double pc) ? pc.ToString("0.00", CultureInfo.InvariantCulture) : "—";
            table.AddRow(DiouSimulation.Names[r.Losses[i]], e0.ToString("N1", CultureInfo.InvariantCulture), e.ToString("N1", CultureInfo.InvariantCulture),
                (e / r.Cases).ToString("0.0000", CultureInfo.InvariantCulture), (e / e0).ToString("0.0000", CultureInfo.InvariantCulture), paper,
                r.NonFinite[i].ToString(CultureInfo.InvariantCulture), r.Seconds[i].ToString("0.0", CultureInfo.InvariantCulture) + " s");
        }

        table.Caption("* read off the paper's Fig. 3(b) (hand-derived gradients; initial ≈ 3.79 per case)\n" +
            "† thread time spent on the loss (losses and blocks of cases share the cores; the wall time is below)");
        console.Write(table);
    }

    internal static string CentersCsv(SimulationResult r)
    {
        var sb = new StringBuilder("x,y\n");
        for (int p = 0; p < r.PointX.Length; p++)
        {
            sb.Append(r.PointX[p].ToString("R", CultureInfo.InvariantCulture)).Append(',')
              .Append(r.PointY[p].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        return sb.ToString();
    }

    internal static string Json(SimulationResult r)
    {
        var losses = new Dictionary<string, object>();
        for (int i = 0; i < r.Losses.Length; i++)
        {
            losses[r.Losses[i]] = new { seconds = r.Seconds[i], error = r.Error[i], non_finite = r.NonFinite[i] };
        }

        var doc = new
        {
            seconds = r.WallSeconds, cases = r.Cases, iterations = r.Config.Iterations, dtype = r.Config.Float32 ? "float32" : "float64",
            threads = LossKitSettings.MaxDegreeOfParallelism, losses,
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The error curves hold E(0) … E(T) in one array each, so T + 1 must be an array length.</summary>
    internal static int Iterations(int value) =>
        Positive(value, "--iterations") < Array.MaxLength
            ? value
            : throw new CliException($"--iterations must be less than {Array.MaxLength.ToString("N0", CultureInfo.InvariantCulture)} (one error value per iteration in one array), got {value}");

    internal static int Positive(int value, string name) =>
        value > 0 ? value : throw new CliException($"{name} must be a positive integer, got {value}");

    /// <summary>A comma-separated list of names, lower-cased; an empty list is an error naming <paramref name="option"/>.</summary>
    internal static string[] ParseList(string s, string option)
    {
        string[] names = ParseList(s);
        return names.Length > 0 ? names : throw new CliException($"{option} needs at least one loss name, got '{s}'");
    }

    /// <summary>A comma-separated list of names, lower-cased; may be empty.</summary>
    internal static string[] ParseList(string s) =>
        [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant())];

    internal static string ParseDtype(string s) => s switch
    {
        "float64" or "double" => "float64",
        "float32" or "float" => "float32",
        _ => throw new CliException($"unknown dtype '{s}' (known: float64, float32)"),
    };

    internal static void WriteFile(string path, string content)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        File.WriteAllText(path, content);
    }
}
