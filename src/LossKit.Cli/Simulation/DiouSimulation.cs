using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using LossKit.Cli.Svg;
using LossKit.Detection;

using LossKit.Registry;

namespace LossKit.Cli.Simulation;

/// <summary>Settings of one simulation run.</summary>
internal sealed record SimulationConfig
{
    /// <summary>Anchor centres (the paper: 5000); each gives 7 areas × 7 ratios × 7 targets = 343 cases.</summary>
    public int Points { get; init; } = 20;

    public int Seed { get; init; } = 1;

    public int Iterations { get; init; } = 200;

    public IReadOnlyList<string> Losses { get; init; } = DiouSimulation.AllLosses;

    public bool Float32 { get; init; }
}

/// <summary>Error curves and final error maps of a run.</summary>
internal sealed class SimulationResult
{
    public required SimulationConfig Config { get; init; }

    public required string[] Losses { get; init; }

    /// <summary>E(t) per loss for t = 0 … iterations (E(0) is the anchors' error).</summary>
    public required double[][] Error { get; init; }

    /// <summary>Final error summed over the 343 cases of each anchor centre, per loss.</summary>
    public required double[][] FinalErrorPerPoint { get; init; }

    /// <summary>Cases whose box became NaN or infinite, per loss (excluded from the error sums).</summary>
    public required int[] NonFinite { get; init; }

    /// <summary>Seconds per loss (losses run side by side, so these overlap).</summary>
    public required double[] Seconds { get; init; }

    /// <summary>Wall-clock seconds of the whole run, all losses (building the cases excluded).</summary>
    public required double WallSeconds { get; init; }

    public required double[] PointX { get; init; }

    public required double[] PointY { get; init; }

    public int Cases => Config.Points * DiouSimulation.CasesPerPoint;

    public double[] Final => [.. Error.Select(e => e[^1])];
}

/// <summary>
/// The DIoU paper's box-regression simulation (Zheng et al. 2020, §3.1; REFERENCES.md §6) with LossKit's exact gradients:
/// 7 targets of area 1 at (10, 10) with aspect ratios 1:4 … 4:1; anchors centred uniformly in the disc of radius 3, of 7
/// areas × the same 7 ratios; every (anchor, target) pair regressed on (x, y, w, h) by B ← B − η·(2 − IoU)·∇_B L for 200
/// iterations (η = 0.1 to t = 160, 0.01 to 180, 0.001 to 200). Each iteration is one batched <c>ForwardBackward</c> per loss
/// over a block of cases (Reduction.Sum, so each box gets its own loss's gradient; BoxFormat.Cxcywh, so the gradient comes
/// back in (x, y, w, h)), then one fused pass for the update (<see cref="RegressionStep"/>).
/// </summary>
internal static class DiouSimulation
{
    public const int CasesPerPoint = 343;

    /// <summary>
    /// Most anchor centres: the cases' coordinates (4 per case) sit in one array, whose length is an <c>int</c>.
    /// </summary>
    public const int MaxPoints = int.MaxValue / (4 * CasesPerPoint);

    public static readonly string[] AllLosses = ["iou", "giou", "diou", "ciou", "eiou", "siou"];

    /// <summary>Losses <c>--losses</c> accepts: the defaults and SIoU with mmdetection's default sign of γ.</summary>
    public static readonly string[] KnownLosses = [.. AllLosses, "siou_mmdet"];

    /// <summary>Display names.</summary>
    public static readonly Dictionary<string, string> Names = new()
    {
        ["iou"] = "IoU", ["giou"] = "GIoU", ["diou"] = "DIoU", ["ciou"] = "CIoU", ["eiou"] = "EIoU", ["siou"] = "SIoU", ["siou_mmdet"] = "SIoU (mmdet γ)",
    };

    /// <summary>Final error per case read off the paper's Fig. 3(b) (5000 × 343 cases; hand-derived gradients).</summary>
    public static readonly Dictionary<string, double> PaperFinalPerCase = new()
    {
        ["iou"] = 5.9e6 / 1_715_000, ["giou"] = 1.5e6 / 1_715_000, ["diou"] = 0.0, ["ciou"] = 0.0,
    };

    public static readonly double PaperInitialPerCase = 6.5e6 / 1_715_000;

    /// <summary>Target (w, h) pairs, area 1, ratios 1:4 … 4:1; anchors use the same ratios.</summary>
    public static readonly double[] Ratios = [1.0 / 4, 1.0 / 3, 1.0 / 2, 1, 2, 3, 4];

    public static readonly double[] Areas = [0.5, 0.67, 0.75, 1, 1.33, 1.5, 2];

    public static double LearningRate(int t) => t <= 160 ? 0.1 : t <= 180 ? 0.01 : 0.001;

    public static void CheckLosses(IEnumerable<string> losses)
    {
        foreach (string l in losses)
        {
            if (!KnownLosses.Contains(l))
            {
                throw new Commands.CliException($"unknown simulation loss '{l}' (known: {string.Join(", ", KnownLosses)})");
            }
        }
    }

    /// <summary>Throws the "--points" error unless 1 ≤ <paramref name="points"/> ≤ <see cref="MaxPoints"/>.</summary>
    public static void CheckPoints(int points)
    {
        string got = points.ToString(CultureInfo.InvariantCulture);
        if (points < 1)
        {
            throw new Commands.CliException($"--points must be a positive integer, got {got}");
        }

        if (points > MaxPoints)
        {
            throw new Commands.CliException(
                $"--points must be at most {MaxPoints.ToString("N0", CultureInfo.InvariantCulture)} ({CasesPerPoint} cases each, " +
                $"4 coordinates per case in one array), got {got}");
        }
    }

    /// <summary>Builds the cases (anchors and targets in cxcywh) and the anchor centres.</summary>
    public static (double[] Anchors, double[] Targets, double[] PointX, double[] PointY) BuildCases(int points, int seed)
    {
        CheckPoints(points);
        var rng = new Random(seed);
        int n = points * CasesPerPoint;
        var anchors = new double[4 * n];
        var targets = new double[4 * n];
        var px = new double[points];
        var py = new double[points];
        int c = 0;
        for (int p = 0; p < points; p++)
        {
            // Uniform in the disc: r = 3·√u, θ = 2π·v.
            double r = 3 * Math.Sqrt(rng.NextDouble()), theta = 2 * Math.PI * rng.NextDouble();
            px[p] = 10 + r * Math.Cos(theta);
            py[p] = 10 + r * Math.Sin(theta);
            foreach (double area in Areas)
            {
                foreach (double ratio in Ratios)
                {
                    double aw = Math.Sqrt(area * ratio), ah = Math.Sqrt(area / ratio);
                    foreach (double tr in Ratios)
                    {
                        double tw = Math.Sqrt(tr), th = Math.Sqrt(1 / tr);
                        anchors[4 * c] = px[p];
                        anchors[4 * c + 1] = py[p];
                        anchors[4 * c + 2] = aw;
                        anchors[4 * c + 3] = ah;
                        targets[4 * c] = 10;
                        targets[4 * c + 1] = 10;
                        targets[4 * c + 2] = tw;
                        targets[4 * c + 3] = th;
                        c++;
                    }
                }
            }
        }

        return (anchors, targets, px, py);
    }

    public static BoxRegressionLoss<T> CreateLoss<T>(string name, Reduction reduction = Reduction.None)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Variants.TryGetValue(name, out (string Entry, bool NegGamma) v))
        {
            throw new Commands.CliException($"unknown simulation loss '{name}'");
        }

        LossEntry entry = LossRegistry.Get(v.Entry);
        LossArguments args = entry.Arguments().Set("reduction", reduction).Set("format", BoxFormat.Cxcywh);
        if (v.NegGamma)
        {
            args.Set("neg_gamma", true);
        }

        return (BoxRegressionLoss<T>)entry.Create<T>(args);
    }

    /// <summary>
    /// The simulation's losses: registry entries in cxcywh. SIoU runs with the paper's distance cost, γ = Λ − 2
    /// (mmdetection's neg_gamma=True); mmdetection's default γ = 2 − Λ makes the distance cost negative (farther is
    /// cheaper), kept as "siou_mmdet" for comparison.
    /// </summary>
    private static readonly Dictionary<string, (string Entry, bool NegGamma)> Variants = new()
    {
        ["iou"] = ("iou", false), ["giou"] = ("giou", false), ["diou"] = ("diou", false), ["ciou"] = ("ciou", false),
        ["eiou"] = ("eiou", false), ["siou"] = ("siou", true), ["siou_mmdet"] = ("siou", false),
    };

    /// <summary>
    /// Runs every configured loss. The cases are independent, so each loss regresses them in blocks of
    /// <see cref="BlockCases"/> (all iterations on one block while it sits in cache), blocks and losses spread over the
    /// cores; E(t) adds the blocks' sums in block order, so the result does not depend on the thread count.
    /// <paramref name="onProgress"/> gets (loss, iterations' worth of progress) as blocks finish.
    /// </summary>
    public static SimulationResult Run(SimulationConfig config, Action<string, double>? onProgress = null)
    {
        CheckLosses(config.Losses);
        (double[] anchors, double[] targets, double[] px, double[] py) = BuildCases(config.Points, config.Seed);
        string[] losses = [.. config.Losses];
        int n = anchors.Length / 4, blocks = (n + BlockCases - 1) / BlockCases;
        var curves = new double[losses.Length * blocks][];
        var finalError = new double[losses.Length][];
        var nonFinite = new int[losses.Length];
        var ticks = new long[losses.Length];
        for (int i = 0; i < losses.Length; i++)
        {
            finalError[i] = new double[n];
        }

        var wall = Stopwatch.StartNew();
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Math.Min(LossKitSettings.MaxDegreeOfParallelism, Environment.ProcessorCount)) };
        Parallel.For(0, losses.Length * blocks, options, item =>
        {
            int li = item / blocks, first = item % blocks * BlockCases, count = Math.Min(BlockCases, n - first);
            long start = Stopwatch.GetTimestamp();
            int bad;
            (curves[item], bad) = config.Float32
                ? RegressBlock<float>(losses[li], anchors, targets, first, count, config.Iterations, finalError[li])
                : RegressBlock<double>(losses[li], anchors, targets, first, count, config.Iterations, finalError[li]);
            Interlocked.Add(ref nonFinite[li], bad);
            Interlocked.Add(ref ticks[li], Stopwatch.GetTimestamp() - start);
            onProgress?.Invoke(losses[li], (double)config.Iterations * count / n);
        });
        double wallSeconds = wall.Elapsed.TotalSeconds;

        var error = new double[losses.Length][];
        var perPoint = new double[losses.Length][];
        for (int li = 0; li < losses.Length; li++)
        {
            error[li] = new double[config.Iterations + 1];
            for (int b = 0; b < blocks; b++)
            {
                double[] curve = curves[li * blocks + b];
                for (int t = 0; t <= config.Iterations; t++)
                {
                    error[li][t] += curve[t];
                }
            }

            perPoint[li] = new double[config.Points];
            for (int i = 0; i < n; i++)
            {
                if (double.IsFinite(finalError[li][i]))
                {
                    perPoint[li][i / CasesPerPoint] += finalError[li][i];
                }
            }
        }

        return new SimulationResult
        {
            Config = config, Losses = losses, Error = error, FinalErrorPerPoint = perPoint, NonFinite = nonFinite,
            Seconds = [.. ticks.Select(t => (double)t / Stopwatch.Frequency)], WallSeconds = wallSeconds, PointX = px, PointY = py,
        };
    }

    /// <summary>Cases per block: boxes, targets and gradient of a block (3 × 64 KiB in float64) stay in L2.</summary>
    public const int BlockCases = 2048;

    /// <summary>
    /// Regresses cases [first, first + count) for all iterations: E(t) of the block for t = 0 … iterations, the number of
    /// cases that end non-finite, and each case's final error written to <paramref name="finalError"/> (NaN if non-finite).
    /// </summary>
    private static (double[] Error, int NonFinite) RegressBlock<T>(string name, double[] anchors, double[] targets, int first, int count,
        int iterations, double[] finalError)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BoxRegressionLoss<T> loss = CreateLoss<T>(name, Reduction.Sum);
        T[] boxes = [.. anchors.AsSpan(4 * first, 4 * count).ToArray().Select(T.CreateTruncating)];
        T[] target = [.. targets.AsSpan(4 * first, 4 * count).ToArray().Select(T.CreateTruncating)];
        var gradient = new T[boxes.Length];
        var error = new double[iterations + 1];
        int bad = 0;
        for (int i = 0; i < count; i++)
        {
            double e = CaseError(boxes, target, i);
            error[0] += double.IsFinite(e) ? e : 0;
        }

        for (int t = 1; t <= iterations; t++)
        {
            // Summed loss: its gradient is each case's own d loss / d (x, y, w, h); then one pass takes the step and sums
            // the new error.
            loss.ForwardBackward(boxes, target, gradient);
            error[t] = RegressionStep.Apply<T>(boxes, target, gradient, LearningRate(t));
        }

        for (int i = 0; i < count; i++)
        {
            double e = CaseError(boxes, target, i);
            finalError[first + i] = double.IsFinite(e) ? e : double.NaN;
            bad += double.IsFinite(e) ? 0 : 1;
        }

        return (error, bad);
    }

    private static double CaseError<T>(T[] boxes, T[] target, int i)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double e = 0;
        for (int k = 4 * i; k < 4 * i + 4; k++)
        {
            e += Math.Abs(double.CreateTruncating(boxes[k]) - double.CreateTruncating(target[k]));
        }

        return e;
    }

    public static string ToCsv(SimulationResult r)
    {
        var sb = new StringBuilder();
        sb.Append("iteration,learning_rate");
        foreach (string l in r.Losses)
        {
            sb.Append(',').Append(l);
        }

        sb.Append('\n');
        for (int t = 0; t <= r.Config.Iterations; t++)
        {
            sb.Append(t.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(t == 0 ? "0" : LearningRate(t).ToString("R", CultureInfo.InvariantCulture));
            foreach (double[] e in r.Error)
            {
                sb.Append(',').Append(e[t].ToString("R", CultureInfo.InvariantCulture));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Error-vs-iteration curves (linear or log y).</summary>
    public static Chart Curves(SimulationResult r, bool logY, double width = 640, double height = 420)
    {
        var chart = new Chart
        {
            Title = $"DIoU simulation: {r.Cases:N0} cases, total error vs iteration{(logY ? " (log)" : "")}",
            Width = width,
            Height = height,
        };
        chart.X.Label = "iteration";
        chart.Y.Label = "Σ |Δx| + |Δy| + |Δw| + |Δh|";
        chart.Y.Scale = logY ? AxisScale.Log : AxisScale.Linear;
        if (!logY)
        {
            chart.Y.Min = 0;
        }

        double[] iterations = [.. Enumerable.Range(0, r.Config.Iterations + 1).Select(i => (double)i)];
        for (int i = 0; i < r.Losses.Length; i++)
        {
            chart.Series.Add(new Series(Names[r.Losses[i]], iterations, r.Error[i]) { Color = LossColor(r.Losses[i]) });
        }

        if (r.Config.Iterations >= 160)
        {
            chart.ReferenceLines.Add(new ReferenceLine(false, 160, "η 0.1 → 0.01"));
        }

        return chart;
    }

    /// <summary>Final error per anchor centre (summed over its 343 cases), coloured on a shared scale.</summary>
    public static Chart ErrorMap(SimulationResult r, string loss, double scaleMax, double size = 330)
    {
        int i = Array.IndexOf(r.Losses, loss);
        double[] e = r.FinalErrorPerPoint[i];
        var chart = new Chart { Title = size < 400 ? $"{Names[loss]}: final error map" : $"{Names[loss]}: final error per anchor centre", Width = size, Height = size, Legend = LegendPlacement.None };
        chart.X.Label = "x";
        chart.Y.Label = "y";
        chart.X.Min = 6.8;
        chart.X.Max = 13.2;
        chart.Y.Min = 6.8;
        chart.Y.Max = 13.2;
        chart.Series.Add(new Series("", r.PointX, r.PointY)
        {
            Kind = SeriesKind.Scatter,
            MarkerRadius = r.Config.Points > 2000 ? 1.2 : r.Config.Points > 300 ? 2 : 3,
            PointColors = [.. e.Select(v => ColorScale.Color(scaleMax > 0 ? v / scaleMax : 0))],
            InLegend = false,
        });
        return chart;
    }

    public static string LossColor(string loss) => loss switch
    {
        "iou" => "#e15759",
        "giou" => "#f28e2b",
        "diou" => "#4e79a7",
        "ciou" => "#59a14f",
        "eiou" => "#b07aa1",
        "siou" => "#9c755f",
        _ => "#76b7b2",
    };
}
