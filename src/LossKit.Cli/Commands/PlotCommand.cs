using System.CommandLine;
using System.Globalization;
using LossKit.Cli.Plots;
using LossKit.Cli.Svg;

namespace LossKit.Cli.Commands;

/// <summary><c>losskit plot KIND</c>: SVG charts of loss and gradient against the input.</summary>
internal static class PlotCommand
{
    private static readonly string[] Kinds = ["focal", "regression", "classification", "iou"];

    public static Command Create(CommandIO io)
    {
        var kind = new Argument<string>("kind") { Description = "focal | regression | classification | iou" };
        var output = new Option<string?>("--out", "-o") { Description = "SVG file to write (default: KIND.svg)." };
        var gammas = new Option<string>("--gamma") { Description = "focal: comma-separated γ values.", DefaultValueFactory = _ => "0,0.5,1,2,5" };
        var alpha = new Option<double>("--alpha") { Description = "focal: α weighting (negative: none, as the paper's Figure 1).", DefaultValueFactory = _ => -1 };
        var beta = new Option<double>("--beta") { Description = "regression: Smooth L1's β.", DefaultValueFactory = _ => 1 };
        var delta = new Option<double>("--delta") { Description = "regression: Huber's δ.", DefaultValueFactory = _ => 1 };
        var losses = new Option<string?>("--losses") { Description = "regression: subset of l1,mse,smooth_l1,huber,balanced_l1; iou: subset of iou,giou,diou,ciou,eiou,siou." };
        var logY = new Option<bool>("--log-y") { Description = "focal: log-scale y axes." };
        var command = new Command("plot",
            "Write SVG charts of loss and gradient against the input: focal (focal loss vs p_t for several γ, the paper's Figure 1), " +
            "regression (L1/L2/Smooth L1/Huber vs the error), classification (margin losses), iou (IoU family vs centre offset and aspect ratio).")
        {
            kind, output, gammas, alpha, beta, delta, losses, logY,
        };
        command.SetAction(parse => io.Guard(() =>
        {
            string which = parse.GetValue(kind)!.ToLowerInvariant();
            string[]? subset = parse.GetValue(losses) is { } s ? SimulateCommand.ParseList(s, "--losses") : null;
            Figure figure = which switch
            {
                "focal" => LossCurves.Focal(ParseNumbers(parse.GetValue(gammas)!, "--gamma"), parse.GetValue(alpha), parse.GetValue(logY)),
                "regression" => LossCurves.Regression(parse.GetValue(beta), parse.GetValue(delta), subset),
                "classification" => LossCurves.Classification(),
                "iou" => LossCurves.Iou(CheckIou(subset)),
                _ => throw new CliException($"unknown plot '{which}' (known: {string.Join(", ", Kinds)})"),
            };
            string path = parse.GetValue(output) ?? which + ".svg";
            SimulateCommand.WriteFile(path, figure.ToSvg());
            io.Out.WriteLine($"wrote {path}");
            return 0;
        }, "plot"));
        return command;
    }

    private static string[]? CheckIou(string[]? subset)
    {
        if (subset is not null)
        {
            Simulation.DiouSimulation.CheckLosses(subset);
        }

        return subset;
    }

    internal static double[] ParseNumbers(string s, string option)
    {
        var list = new List<double>();
        foreach (string part in s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            list.Add(double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                ? v
                : throw new CliException($"{option}: '{part}' is not a number"));
        }

        return list.Count > 0 ? [.. list] : throw new CliException($"{option} needs at least one number");
    }
}
