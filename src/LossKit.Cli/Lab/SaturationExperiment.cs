using LossKit.Classification;
using LossKit.Cli.Lab.Models;
using LossKit.Cli.Plots;
using LossKit.Cli.Svg;
using LossKit.Regression;

namespace LossKit.Cli.Lab;

/// <summary>
/// Experiment 3: a logistic-regression classifier (sigmoid output) starts saturated on the wrong side; squared error on
/// the sigmoid output vs binary cross-entropy — steps to reach a target accuracy, and the gradient w.r.t. the logit.
/// </summary>
internal sealed class SaturationExperiment : IExperiment
{
    private const double TargetAccuracy = 0.95;
    private const double MeanDistance = 2.0;
    private const double LearningRate = 0.5;

    private static readonly double[] PairedScales = [4, 8];

    public string Id => "saturation";

    public double EstimateSeconds(LabContext ctx) => ctx.Tiny ? 0.3 : ctx.Full ? 20 : 1;

    public string Title => "3. Saturation: MSE vs BCE on sigmoid outputs";

    public ExperimentReport Run(LabContext ctx)
    {
        var report = new ExperimentReport
        {
            Id = Id,
            Title = Title,
            Claim = "Squared error on a sigmoid output has the gradient 2(σ − y)·σ′(z), which vanishes when the sigmoid saturates — a confidently wrong unit learns slowly; binary cross-entropy cancels σ′ (gradient σ − y), so training recovers from a saturated start in far fewer steps.",
            Source = "YOLOv3 (Redmon & Farhadi 2018) predicts objectness and classes with sigmoids trained by binary cross-entropy instead of YOLOv1/v2's squared error; the argument as in Nielsen, Neural Networks and Deep Learning (2015), ch. 3",
        };

        int n = ctx.Size(1000, 200, 10_000);
        int maxSteps = ctx.Tiny ? 2_000 : ctx.Full ? 200_000 : 20_000;
        double[] scales = [0, 1, 2, 4, 8, 12];
        var rng = new Random(ctx.Seed * 31 + 3);
        (double[] x, double[] y) = Generate(rng, n);
        report.Setup.Add($"Data: two Gaussian classes in 2-D, N(±μ, I) with ‖2μ‖ = {2 * MeanDistance} ({n} points, balanced; the Bayes accuracy is about 97.7 %).");
        report.Setup.Add($"Model: logistic regression p = σ(w·x + b). Start: w = −s·μ/‖μ‖, b = 0 — pointing the wrong way, so a typical point has |z| ≈ {MeanDistance}·s and σ saturated on the wrong side.");
        report.Setup.Add($"Training: full-batch gradient descent, learning rate {LearningRate}, until the training accuracy reaches {TargetAccuracy * 100:0} % (at most {Fmt.I(maxSteps)} steps).");
        report.Setup.Add("Losses on the sigmoid output p: MseLoss(p, y) and BinaryCrossEntropyLoss(p, y), both Mean; the library gives ∂loss/∂p, the CLI multiplies by σ′(z) = p(1 − p).");

        var table = new ResultTable($"Steps to {TargetAccuracy * 100:0} % training accuracy", "start scale s", "mean |z| at start", "accuracy at start",
            "steps, MSE", "steps, BCE", "MSE / BCE");
        var curves = new Dictionary<string, (double[] Step, double[] Accuracy)>();
        double shownScale = 8;
        var bar = ctx.Progress.Add("3 saturation: MSE, BCE", scales.Length * 2);
        var results = new List<(double Scale, int Mse, int Bce)>();
        foreach (double s in scales)
        {
            (int mseSteps, double[] mseAcc, double meanAbsZ, double acc0) = Train(new MseLoss<double>(), x, y, s, maxSteps);
            bar.Increment();
            (int bceSteps, double[] bceAcc, _, _) = Train(new BinaryCrossEntropyLoss<double>(), x, y, s, maxSteps);
            bar.Increment();
            results.Add((s, mseSteps, bceSteps));
            table.Row(Fmt.N(s, 0), Fmt.N(meanAbsZ, 1), Fmt.Pct(acc0), Steps(mseSteps, maxSteps), Steps(bceSteps, maxSteps),
                mseSteps < 0 ? $"> {Fmt.G((double)maxSteps / Math.Max(1, bceSteps))}×" : Fmt.G((double)mseSteps / Math.Max(1, bceSteps)) + "×");
            report.Metrics[$"steps_mse_s{s}"] = mseSteps < 0 ? double.PositiveInfinity : mseSteps;
            report.Metrics[$"steps_bce_s{s}"] = bceSteps < 0 ? double.PositiveInfinity : bceSteps;
            if (s == shownScale)
            {
                curves["MSE on σ"] = Curve(mseAcc);
                curves["BCE on σ"] = Curve(bceAcc);
            }
        }

        // Paired datasets for the claims: steps at the saturated starts, a run that never gets there counted at the cap
        // (which can only understate the difference).
        int seeds = ctx.Seeds(8, 20);
        var pairedSteps = new (int[] Mse, int[] Bce)[seeds];
        Parallel.For(0, seeds, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, k =>
        {
            (double[] xk, double[] yk) = k == 0 ? (x, y) : Generate(new Random(ctx.Seed * 31 + 3 + 1000 * k), n);
            var mse = new int[PairedScales.Length];
            var bce = new int[PairedScales.Length];
            for (int j = 0; j < PairedScales.Length; j++)
            {
                int m = Train(new MseLoss<double>(), xk, yk, PairedScales[j], maxSteps).Steps;
                int b = Train(new BinaryCrossEntropyLoss<double>(), xk, yk, PairedScales[j], maxSteps).Steps;
                mse[j] = m < 0 ? maxSteps : m;
                bce[j] = b < 0 ? maxSteps : b;
            }

            pairedSteps[k] = (mse, bce);
        });
        report.Setup.Add($"Claims tested on {seeds} datasets (fresh draws of the same distribution; MSE and BCE share data and start): steps to {TargetAccuracy * 100:0} % from s = {string.Join(" and ", PairedScales.Select(v => v.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}, compared as log10(1 + steps); a run that never gets there counts as the cap, which can only shrink the difference.");

        bar.Complete();
        report.Tables.Add(table);

        var accuracy = new Chart { Title = $"Training accuracy from the s = {shownScale:0} start", Width = 560, Height = 400 };
        accuracy.X.Label = "gradient-descent step (log)";
        accuracy.X.Scale = AxisScale.Log;
        accuracy.Y.Label = "training accuracy";
        accuracy.Y.Min = 0;
        accuracy.Y.Max = 1;
        foreach ((string name, (double[] step, double[] acc)) in curves)
        {
            accuracy.Series.Add(new Series(name, step, acc));
        }

        accuracy.ReferenceLines.Add(new ReferenceLine(true, TargetAccuracy, $"target {TargetAccuracy * 100:0} %"));
        report.Charts.Add((accuracy.ToSvg(), "Accuracy per step (x on a log scale); MSE sits on a plateau while the sigmoid stays saturated."));
        report.Charts.Add((GradientChart().ToSvg(), "|∂loss/∂z| for one positive example (y = 1) against its logit z, from the library's ∂loss/∂p times σ′(z): BCE's gradient tends to 1 on the wrong side, MSE's to 0."));

        var shown = results.First(r => r.Scale == shownScale);
        var clean = results.First(r => r.Scale == 0);
        string mse = shown.Mse < 0 ? $"did not get there in {Fmt.I(maxSteps)}" : $"needs {Fmt.I(shown.Mse)}";
        report.VerdictText = $"from a saturated start (s = {shownScale:0}, |z| ≈ {MeanDistance * shownScale:0}) BCE reaches {TargetAccuracy * 100:0} % in {Fmt.I(shown.Bce)} steps, MSE {mse}; from a neutral start (s = 0) {Fmt.I(clean.Bce)} vs {Fmt.I(clean.Mse)} (seed 1; the claims are tested over {seeds} datasets)";

        // The claims, over fresh datasets (one per seed; MSE and BCE start from the same weights on the same data).
        foreach (double s in PairedScales)
        {
            double[] mseLog = new double[seeds], bceLog = new double[seeds];
            for (int k = 0; k < seeds; k++)
            {
                mseLog[k] = Math.Log10(1 + pairedSteps[k].Mse[Array.IndexOf(PairedScales, s)]);
                bceLog[k] = Math.Log10(1 + pairedSteps[k].Bce[Array.IndexOf(PairedScales, s)]);
            }

            report.Comparisons.Add(new Comparison($"BCE needs fewer steps than MSE from s = {s:0}", "log10(1 + steps to 95 %)", "dataset", "BCE", "MSE",
                higherIsBetter: false, bceLog, mseLog));
        }

        report.Format = v => Fmt.N(v, 2);
        report.Notes.Add("At s = 0 both losses start from p = 0.5 where σ′ is largest, and need a similar number of steps: the difference is entirely the saturation.");
        report.Notes.Add("BinaryCrossEntropyLoss's backward divides by max(p(1 − p), 1e-12) as ATen does, so far beyond |z| ≈ 27 even BCE on a probability saturates; BCE on logits (BinaryCrossEntropyWithLogitsLoss) does not.");
        return report;
    }

    private static string Steps(int steps, int max) => steps < 0 ? $"> {Fmt.I(max)}" : Fmt.I(steps);

    private static (double[] Step, double[] Accuracy) Curve(double[] accuracy)
    {
        // Thin to ~300 log-spaced points for the chart.
        var steps = new List<double>();
        var values = new List<double>();
        double next = 1;
        for (int t = 1; t < accuracy.Length; t++)
        {
            if (t >= next || t == accuracy.Length - 1)
            {
                steps.Add(t);
                values.Add(accuracy[t]);
                next = Math.Max(next + 1, next * 1.03);
            }
        }

        return ([.. steps], [.. values]);
    }

    private static Chart GradientChart()
    {
        double[] z = LossCurves.Grid(-12, 12, 481);
        double[] p = [.. z.Select(Sigmoid)];
        double[] ones = [.. z.Select(_ => 1.0)];
        var mse = new MseLoss<double>(Reduction.None);
        var bce = new BinaryCrossEntropyLoss<double>(Reduction.None);
        (_, double[] gm) = LossCurves.Evaluate(mse, p, ones);
        (_, double[] gb) = LossCurves.Evaluate(bce, p, ones);
        var chart = new Chart { Title = "Gradient w.r.t. the logit, y = 1", Width = 560, Height = 400 };
        chart.X.Label = "logit z (wrong side: z < 0)";
        chart.Y.Label = "|∂loss/∂z| (log)";
        chart.Y.Scale = AxisScale.Log;
        chart.Y.Min = 1e-6;
        chart.Y.Max = 2;
        chart.Series.Add(new Series("MSE on σ(z): 2|σ − 1|·σ′(z)", z, [.. z.Select((_, i) => Math.Abs(gm[i] * p[i] * (1 - p[i])))]));
        chart.Series.Add(new Series("BCE on σ(z): |σ − 1|", z, [.. z.Select((_, i) => Math.Abs(gb[i] * p[i] * (1 - p[i])))]));
        return chart;
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    private static (double[] X, double[] Y) Generate(Random rng, int n)
    {
        var x = new double[2 * n];
        var y = new double[n];
        double m = MeanDistance / Math.Sqrt(2);
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 2;
            double sign = y[i] > 0.5 ? 1 : -1;
            x[2 * i] = sign * m + Rng.Gaussian(rng);
            x[2 * i + 1] = sign * m + Rng.Gaussian(rng);
        }

        return (x, y);
    }

    /// <summary>Gradient descent from the saturated start; returns the step reaching the target (−1 if none) and the accuracy curve.</summary>
    private static (int Steps, double[] Accuracy, double MeanAbsZ, double Accuracy0) Train(ElementwiseLoss<double> loss, double[] x, double[] y, double scale, int maxSteps)
    {
        int n = y.Length;
        double u = 1 / Math.Sqrt(2);
        double w0 = -scale * u, w1 = -scale * u, b = 0;
        var z = new double[n];
        var p = new double[n];
        var gradient = new double[n];
        var accuracy = new List<double>();
        double meanAbsZ = 0;
        int reached = -1;
        for (int t = 0; t <= maxSteps; t++)
        {
            int correct = 0;
            for (int i = 0; i < n; i++)
            {
                z[i] = w0 * x[2 * i] + w1 * x[2 * i + 1] + b;
                p[i] = Sigmoid(z[i]);
                correct += (z[i] > 0) == (y[i] > 0.5) ? 1 : 0;
            }

            if (t == 0)
            {
                meanAbsZ = z.Average(Math.Abs);
            }

            double acc = (double)correct / n;
            accuracy.Add(acc);
            if (acc >= TargetAccuracy)
            {
                reached = t;
                break;
            }

            if (t == maxSteps)
            {
                break;
            }

            // ∂loss/∂p from the library, through the sigmoid by the chain rule.
            loss.ForwardBackward(p, y, gradient);
            double g0 = 0, g1 = 0, gb = 0;
            for (int i = 0; i < n; i++)
            {
                double dz = gradient[i] * p[i] * (1 - p[i]);
                g0 += dz * x[2 * i];
                g1 += dz * x[2 * i + 1];
                gb += dz;
            }

            w0 -= LearningRate * g0;
            w1 -= LearningRate * g1;
            b -= LearningRate * gb;
        }

        return (reached, [.. accuracy], meanAbsZ, accuracy[0]);
    }
}
