using LossKit.Cli.Lab.Models;
using LossKit.Cli.Plots;
using LossKit.Cli.Svg;
using LossKit.Regression;

namespace LossKit.Cli.Lab;

/// <summary>
/// Experiment 2: fit a line to data with gross outliers using L1, L2, Smooth L1 and Huber (gradient descent with the
/// library's gradients) and compare the error of the fitted parameters as the outlier fraction grows.
/// </summary>
internal sealed class OutlierExperiment : IExperiment
{
    private const double TrueSlope = 2.0, TrueIntercept = 0.5, Noise = 0.2;
    private const double SmoothBeta = 1.0 / 9, HuberDelta = 1.0;

    private static readonly (string Name, string Short, Func<ElementwiseLoss<double>> Create)[] Losses =
    [
        ("L2 (MSE)", "L2", () => new MseLoss<double>()),
        ("L1", "L1", () => new L1Loss<double>()),
        ($"Smooth L1 (β = 1/9)", "Smooth L1", () => new SmoothL1Loss<double>(Reduction.Mean, SmoothBeta)),
        ($"Huber (δ = {HuberDelta:0.#})", "Huber", () => new HuberLoss<double>(Reduction.Mean, HuberDelta)),
    ];

    public string Id => "outliers";

    public string Title => "2. Outliers: L1 vs L2 vs Smooth L1 vs Huber";

    private static int Trials(LabContext ctx) => ctx.Tiny ? 3 : ctx.Full ? 100 : 40;

    public double EstimateSeconds(LabContext ctx) => 1.5 * ctx.Size(200, 40, 1000) / 200.0 * Trials(ctx) / 40;

    public ExperimentReport Run(LabContext ctx)
    {
        var report = new ExperimentReport
        {
            Id = Id,
            Title = Title,
            Claim = "L2's gradient grows with the residual, so a few gross outliers drag the fit; L1, Smooth L1 and Huber bound the gradient (|∂l/∂x| ≤ 1, resp. ≤ δ) and stay close to the true parameters.",
            Source = "Huber, Robust Estimation of a Location Parameter (1964); Girshick, Fast R-CNN (ICCV 2015) §2.3: smooth L1 \"is less sensitive to outliers than the L2 loss\"",
        };

        int n = ctx.Size(200, 40, 1000);
        int trials = Trials(ctx);
        int iterations = ctx.Tiny ? 300 : 1500;
        double[] fractions = [0, 0.05, 0.1, 0.15, 0.2, 0.3];
        report.Setup.Add($"Data: y = {TrueSlope}·x + {TrueIntercept} + N(0, {Noise}²), x ~ U(−1, 1), {n} points; a fraction f of them get a gross error y += U(4, 12) (one-sided, like a systematic mislabel).");
        report.Setup.Add($"Fit: (a, b) from (0, 0) by full-batch gradient descent with momentum 0.9, {iterations} steps, learning rate 0.1 on a cosine schedule; the library gives ∂loss/∂prediction (Reduction.Mean), chained to (a, b) by the CLI.");
        report.Setup.Add($"Losses: MseLoss, L1Loss, SmoothL1Loss(β = 1/9, Detectron's box-regression setting), HuberLoss(δ = {HuberDelta}, PyTorch's default). {trials} random datasets per outlier fraction; parameter error = ‖(â, b̂) − (a, b)‖₂.");

        var errors = new double[Losses.Length, fractions.Length];
        var errorSd = new double[Losses.Length, fractions.Length];
        var bar = ctx.Progress.Add("2 outliers: L2, L1, Smooth L1, Huber", fractions.Length * trials);
        var perTrialAt20 = new double[Losses.Length][];
        (double[] X, double[] Y, bool[] Outlier) example = ([], [], []);
        var exampleFits = new (double A, double B)[Losses.Length];
        int exampleFraction = Array.IndexOf(fractions, 0.2);
        for (int fi = 0; fi < fractions.Length; fi++)
        {
            var perLoss = Enumerable.Range(0, Losses.Length).Select(_ => new List<double>()).ToArray();
            for (int trial = 0; trial < trials; trial++)
            {
                var rng = new Random(ctx.Seed * 7919 + fi * 1000 + trial);
                (double[] x, double[] y, bool[] outlier) = Generate(rng, n, fractions[fi]);
                for (int li = 0; li < Losses.Length; li++)
                {
                    (double a, double b) = Fit(Losses[li].Create(), x, y, iterations);
                    perLoss[li].Add(Math.Sqrt((a - TrueSlope) * (a - TrueSlope) + (b - TrueIntercept) * (b - TrueIntercept)));
                    if (fi == exampleFraction && trial == 0)
                    {
                        exampleFits[li] = (a, b);
                        example = (x, y, outlier);
                    }
                }

                bar.Increment();
            }

            for (int li = 0; li < Losses.Length; li++)
            {
                (errors[li, fi], errorSd[li, fi]) = PairedStats.MeanSd([.. perLoss[li]]);
                if (fi == exampleFraction)
                {
                    perTrialAt20[li] = [.. perLoss[li]];
                }
            }
        }

        bar.Complete();

        var table = new ResultTable($"Parameter error ‖(â, b̂) − (a, b)‖ (mean ± sd over {trials} datasets)",
            ["Loss", .. fractions.Select(f => $"f = {f * 100:0} %"), "max |∂l/∂x|"]);
        for (int li = 0; li < Losses.Length; li++)
        {
            string bound = Losses[li].Short switch { "L2" => "unbounded (2|d|)", "Huber" => $"{HuberDelta:0.#}", _ => "1" };
            table.Row([Losses[li].Name, .. Enumerable.Range(0, fractions.Length).Select(fi => $"{Fmt.N(errors[li, fi])} ± {Fmt.N(errorSd[li, fi], 2)}"), bound]);
            for (int fi = 0; fi < fractions.Length; fi++)
            {
                report.Metrics[$"error_{Losses[li].Short.Replace(' ', '_')}_f{fractions[fi] * 100:0}"] = errors[li, fi];
            }
        }

        report.Tables.Add(table);

        // Charts: the example fit, error vs outlier fraction, loss and gradient curves.
        var scatter = new Chart { Title = "One dataset with 20 % outliers and the four fits", Width = 560, Height = 400 };
        scatter.X.Label = "x";
        scatter.Y.Label = "y";
        double[] inX = [.. example.X.Where((_, i) => !example.Outlier[i])], inY = [.. example.Y.Where((_, i) => !example.Outlier[i])];
        double[] outX = [.. example.X.Where((_, i) => example.Outlier[i])], outY = [.. example.Y.Where((_, i) => example.Outlier[i])];
        scatter.Series.Add(new Series("inliers", inX, inY) { Kind = SeriesKind.Scatter, Color = "#9aa5b1", MarkerRadius = 2.2 });
        scatter.Series.Add(new Series("outliers", outX, outY) { Kind = SeriesKind.Scatter, Color = "#c9a227", MarkerRadius = 2.6 });
        double[] ends = [-1, 1];
        scatter.Series.Add(new Series("true line", ends, [.. ends.Select(x => TrueSlope * x + TrueIntercept)]) { Color = "#222222", Dashed = true, StrokeWidth = 1.5 });
        for (int li = 0; li < Losses.Length; li++)
        {
            (double a, double b) = exampleFits[li];
            scatter.Series.Add(new Series(Losses[li].Short, ends, [.. ends.Select(x => a * x + b)]) { Color = Chart.Palette[li] });
        }

        var sweep = new Chart { Title = "Parameter error vs outlier fraction", Width = 560, Height = 400 };
        sweep.X.Label = "outlier fraction f";
        sweep.Y.Label = "‖(â, b̂) − (a, b)‖ (log)";
        sweep.Y.Scale = AxisScale.Log;
        double[] fx = [.. fractions];
        for (int li = 0; li < Losses.Length; li++)
        {
            sweep.Series.Add(new Series(Losses[li].Short, fx, [.. Enumerable.Range(0, fractions.Length).Select(fi => errors[li, fi])]) { Color = Chart.Palette[li] });
        }

        report.Charts.Add((scatter.ToSvg(), "Gold points carry the gross errors; L2's line is pulled up towards them."));
        report.Charts.Add((sweep.ToSvg(), "Mean parameter error per loss as the outlier fraction grows."));
        report.Charts.Add((LossCurves.Regression(SmoothBeta, HuberDelta).ToSvg(), "The losses and their gradients against the residual, from the library (Smooth L1 with β = 1/9, Huber with δ = 1): only L2's gradient grows without bound."));

        // Verdict at the 20 % column (the top of the 10–20 % range the claim is usually made for).
        int at = exampleFraction;
        double l2 = errors[0, at];
        double worstRobust = Enumerable.Range(1, Losses.Length - 1).Max(li => errors[li, at]);
        double clean = errors[0, 0];
        string robust = string.Join(", ", Enumerable.Range(1, Losses.Length - 1).Select(li => $"{Losses[li].Short} {Fmt.N(errors[li, at])}"));
        for (int li = 1; li < Losses.Length; li++)
        {
            report.Comparisons.Add(new Comparison($"{Losses[li].Short} error < L2 error at 20 % outliers", "parameter error at 20 % outliers", "dataset",
                Losses[li].Short, "L2", higherIsBetter: false, perTrialAt20[li], perTrialAt20[0]));
        }

        report.Format = v => Fmt.N(v, 3);
        report.VerdictText = $"at 20 % outliers L2's parameter error is {Fmt.N(l2)} vs {robust} ({Fmt.N(l2 / worstRobust, 1)}× the worst robust loss; {trials} datasets, paired); without outliers L2 is {Fmt.N(clean)}";
        report.Notes.Add("Huber(δ) and Smooth L1(β) are the same function up to scale when δ = β (Huber = β·SmoothL1), so they would give the same fit; the usual defaults (β = 1/9 in Detectron, δ = 1 in PyTorch) differ, and the smaller β behaves like L1.");
        report.Notes.Add("L1 and Smooth L1 estimate a conditional median: with one-sided outliers they still shift slightly as f grows; Huber with δ = 1 (large relative to the noise σ = 0.2) lets moderate residuals act quadratically and shifts more.");
        return report;
    }

    private static (double[] X, double[] Y, bool[] Outlier) Generate(Random rng, int n, double fraction)
    {
        var x = new double[n];
        var y = new double[n];
        var outlier = new bool[n];
        int outliers = (int)Math.Round(fraction * n);
        for (int i = 0; i < n; i++)
        {
            x[i] = 2 * rng.NextDouble() - 1;
            y[i] = TrueSlope * x[i] + TrueIntercept + Noise * Rng.Gaussian(rng);
            if (i < outliers)
            {
                outlier[i] = true;
                y[i] += 4 + 8 * rng.NextDouble();
            }
        }

        return (x, y, outlier);
    }

    /// <summary>Gradient descent with momentum on (a, b); the loss supplies ∂loss/∂prediction.</summary>
    private static (double A, double B) Fit(ElementwiseLoss<double> loss, double[] x, double[] y, int iterations)
    {
        double a = 0, b = 0, va = 0, vb = 0;
        var prediction = new double[x.Length];
        var gradient = new double[x.Length];
        for (int t = 0; t < iterations; t++)
        {
            for (int i = 0; i < x.Length; i++)
            {
                prediction[i] = a * x[i] + b;
            }

            loss.ForwardBackward(prediction, y, gradient);
            double ga = 0, gb = 0;
            for (int i = 0; i < x.Length; i++)
            {
                ga += gradient[i] * x[i];
                gb += gradient[i];
            }

            double lr = 0.1 * 0.5 * (1 + Math.Cos(Math.PI * t / iterations));
            va = 0.9 * va + ga;
            vb = 0.9 * vb + gb;
            a -= lr * va;
            b -= lr * vb;
        }

        return (a, b);
    }
}
