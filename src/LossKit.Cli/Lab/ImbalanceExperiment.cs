using System.Diagnostics;
using System.Globalization;
using LossKit.Classification;
using LossKit.Cli.Lab.Models;
using LossKit.Cli.Plots;
using LossKit.Cli.Svg;
using LossKit.Detection;

namespace LossKit.Cli.Lab;

/// <summary>
/// Experiment 1, as RetinaNet's Table 1 ran it: dense prediction (images of many anchors, a few positives, most negatives
/// easy, a few hard), the prior-probability bias init for every loss, α-balanced CE over a grid of α against the focal
/// loss over γ ∈ {0, 0.5, 1, 2, 5} with its best α (chosen on a validation split), paired across seeds; plain CE is
/// reported with the fraction of seeds that collapse; the easy negatives' share of the loss is the mechanism.
/// </summary>
internal sealed class ImbalanceExperiment : IExperiment
{
    private const int Dim = 8;
    private const int Features = 48;
    private const int AnchorsPerImage = 2000;
    private const int ImagesPerBatch = 4;
    private const double Prior = 0.01;
    private const double LearningRate = 0.01;

    /// <summary>Backbone weight scales: the two geometric features drive it, the noise features leak in weakly.</summary>
    private const double SignalWeight = 1.5, NoiseWeight = 0.15, BiasScale = 1.0;
    private const double HardFraction = 0.03;

    /// <summary>α grid of α-balanced CE (the paper's Table 1a spans 0.10 … 0.999).</summary>
    internal static readonly double[] CeAlphas = [0.25, 0.5, 0.75, 0.9, 0.99];

    /// <summary>γ and α grid of the focal loss (Table 1b); γ = 0 is α-balanced CE, so those cells reuse the α-CE runs.</summary>
    internal static readonly double[] Gammas = [0, 0.5, 1, 2, 5];

    internal static readonly double[] FocalAlphas = [0.25, 0.5, 0.75];

    public string Id => "imbalance";

    public string Title => "1. Class imbalance: focal loss vs α-balanced CE (RetinaNet Table 1)";

    /// <summary>One trained configuration: plain CE (Alpha = NaN), α-CE (Gamma = 0) or focal.</summary>
    private sealed record Config(string Name, double Alpha, double Gamma, bool Focal);

    private sealed record TrainRun(double TestAp, double ValAp, double EasyShareStart, double EasyShareEnd, double PosShareEnd, double[] Recall, double[] Precision, long NonFiniteGradients);

    private sealed record Split(double[] H, double[] Y, int Images);

    private static int TrainImages(LabContext ctx) => ctx.Size(48, 6, 120);

    private static int SeedCount(LabContext ctx) => ctx.Seeds(6, 20);

    private static int Epochs(LabContext ctx) => ctx.Tiny ? 2 : 14;

    public double EstimateSeconds(LabContext ctx) => 0.0035 * TrainImages(ctx) * SeedCount(ctx) * Epochs(ctx) + 0.5;

    private static Config[] Configs()
    {
        var configs = new List<Config> { new("CE", double.NaN, 0, false) };
        configs.AddRange(CeAlphas.Select(a => new Config($"α-CE α={A(a)}", a, 0, false)));
        foreach (double g in Gammas.Where(g => g > 0))
        {
            configs.AddRange(FocalAlphas.Select(a => new Config($"FL γ={A(g)} α={A(a)}", a, g, true)));
        }

        return [.. configs];
    }

    private static string A(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    public ExperimentReport Run(LabContext ctx)
    {
        var report = new ExperimentReport
        {
            Id = Id,
            Title = Title,
            Claim = "In dense detection the many easy negatives dominate the cross-entropy loss; the focal loss (1 − p_t)^γ·CE down-weights them, and at γ = 2 (with its best α) it gives higher AP than α-balanced CE at its best α, both with the prior initialisation π = 0.01.",
            Source = "Lin et al., Focal Loss for Dense Object Detection (RetinaNet), ICCV 2017, §3, §4.1 and Table 1a/1b (α-CE best at α = 0.75: 31.1 AP; FL γ = 2, α = 0.25: 34.0 AP)",
        };

        int trainImages = TrainImages(ctx), valImages = Math.Max(2, trainImages / 3), testImages = Math.Max(3, 2 * trainImages / 3);
        int seeds = SeedCount(ctx), epochs = Epochs(ctx);
        Config[] configs = Configs();
        report.Setup.Add($"Images of {Fmt.I(AnchorsPerImage)} anchors, {Dim} features each. An image holds 1–2 objects, each matched by 1–2 positive anchors (a tight blob in the first two features, σ = 0.35); {HardFraction * 100:0} % of the negatives are hard (a ring of radius 0.6–1.5 around the blob), the rest easy (radius ≥ 1.5); the other {Dim - 2} features are noise with a per-image offset. About 1 positive per 900 anchors.");
        report.Setup.Add($"Per seed: {trainImages} training, {valImages} validation and {testImages} test images ({Fmt.I(trainImages * AnchorsPerImage)} / {Fmt.I(valImages * AnchorsPerImage)} / {Fmt.I(testImages * AnchorsPerImage)} anchors); {seeds} seeds, each with new data, a new backbone and its own batch order, shared by every loss (the pairing).");
        report.Setup.Add($"Model: a frozen random backbone (one ReLU layer {Dim} → {Features}, per seed; weights N(0, {SignalWeight}²) from the two geometric inputs, N(0, {NoiseWeight}²) from the noise inputs, bias N(0, 1)) and a trained linear classification head with RetinaNet's prior init for every loss: w = 0, b = −ln((1 − π)/π), π = {Prior}. RetinaNet trains the whole network; training only the head is what lets the lab afford the full grid.");
        report.Setup.Add($"Training: SGD, momentum 0.9, learning rate {LearningRate}, {ImagesPerBatch} images ({Fmt.I(ImagesPerBatch * AnchorsPerImage)} anchors) per batch, {epochs} epochs; every loss is Mean with avgFactor = positive anchors in the batch (RetinaNet's normaliser).");
        report.Setup.Add($"Losses: CE = BinaryCrossEntropyWithLogitsLoss; α-CE = the same with weight α on positives, 1 − α on negatives, α ∈ {{{string.Join(", ", CeAlphas.Select(A))}}}; focal = SigmoidFocalLoss(α, γ), γ ∈ {{{string.Join(", ", Gammas.Select(A))}}}, α ∈ {{{string.Join(", ", FocalAlphas.Select(A))}}} (γ = 0 is α-CE: those cells are the α-CE runs).");
        report.Setup.Add("Best α: for α-CE, and for the focal loss at each γ, the α with the highest mean AP on the validation images; the claims use AP on the test images (AP: mean precision at the rank of each positive anchor, all test anchors pooled).");
        report.Setup.Add("Easy negative: a negative with p_t = 1 − σ(x) > 0.9. Loss share = Σ of those anchors' losses / Σ of all, on the training images, under each run's own loss.");

        var runs = new TrainRun[seeds, configs.Length];
        var bar = ctx.Progress.Add("1 imbalance: CE, α-CE grid, focal γ × α grid", seeds * configs.Length);
        // One seed's data at a time, in buffers reused across seeds: memory stays at one seed's features.
        Split train = Allocate(trainImages), val = Allocate(valImages), test = Allocate(testImages);
        for (int s = 0; s < seeds; s++)
        {
            int seed = ctx.Seed * 1000 + s;
            var rng = new Random(seed);
            double[] backbone = Backbone(rng);
            Generate(rng, train, backbone);
            Generate(rng, val, backbone);
            Generate(rng, test, backbone);
            int[] order = [.. Enumerable.Range(0, trainImages)];
            int[][] epochOrders = new int[epochs][];
            var shuffle = new Random(seed + 2);
            for (int e = 0; e < epochs; e++)
            {
                Rng.Shuffle(shuffle, order);
                epochOrders[e] = [.. order];
            }

            int sIndex = s;
            Parallel.For(0, configs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c =>
            {
                runs[sIndex, c] = Train(configs[c], train, val, test, epochOrders);
                bar.Increment();
            });
        }

        bar.Complete();
        Analyse(report, configs, runs, seeds);
        return report;
    }

    private static int Cell(double gamma, double alpha) => gamma == 0
        ? 1 + Array.IndexOf(CeAlphas, alpha)
        : 1 + CeAlphas.Length + (Array.IndexOf(Gammas, gamma) - 1) * FocalAlphas.Length + Array.IndexOf(FocalAlphas, alpha);

    private static void Analyse(ExperimentReport report, Config[] configs, TrainRun[,] runs, int seeds)
    {
        double[] Values(int c, Func<TrainRun, double> f) => [.. Enumerable.Range(0, seeds).Select(s => f(runs[s, c]))];
        double MeanVal(int c) => Values(c, r => r.ValAp).Average();
        double bestCeAlpha = CeAlphas.MaxBy(a => MeanVal(Cell(0, a)));
        var bestFocalAlpha = Gammas.ToDictionary(g => g, g => FocalAlphas.MaxBy(a => MeanVal(Cell(g, a))));
        int ceBest = Cell(0, bestCeAlpha), focal2 = Cell(2, bestFocalAlpha[2]);

        // Table 1b's shape: AP by γ (rows) and α (columns); * marks the α chosen on validation.
        var grid = new ResultTable($"Test AP by γ and α (mean ± sd over {seeds} seeds; * = best α on validation; γ = 0 is α-CE)",
            ["γ", .. FocalAlphas.Select(a => $"α = {A(a)}")]);
        foreach (double g in Gammas)
        {
            grid.Row([A(g), .. FocalAlphas.Select(a =>
            {
                (double m, double sd) = PairedStats.MeanSd(Values(Cell(g, a), r => r.TestAp));
                return $"{Fmt.N(m)} ± {Fmt.N(sd)}{(bestFocalAlpha[g] == a ? " *" : "")}";
            })]);
        }

        // Table 1a's shape: the α-CE line.
        var line = new ResultTable("α-balanced CE over α (the α-CE line; * = best on validation)", "α", "validation AP", "test AP", "per-seed test AP");
        foreach (double a in CeAlphas)
        {
            int c = Cell(0, a);
            (double m, double sd) = PairedStats.MeanSd(Values(c, r => r.TestAp));
            line.Row(A(a) + (a == bestCeAlpha ? " *" : ""), Fmt.N(MeanVal(c)), $"{Fmt.N(m)} ± {Fmt.N(sd)}", string.Join(" ", Values(c, r => r.TestAp).Select(v => Fmt.N(v, 2))));
        }

        // Plain CE: how many seeds collapse, not a mean.
        double[] ceAp = Values(0, r => r.TestAp);
        double[] bestPerSeed = [.. Enumerable.Range(0, seeds).Select(s => Enumerable.Range(0, configs.Length).Max(c => runs[s, c].TestAp))];
        int collapsed = Enumerable.Range(0, seeds).Count(s => !(ceAp[s] >= 0.5 * bestPerSeed[s]));
        double[] sortedCe = [.. ceAp.Order()];
        var plain = new ResultTable("Plain cross-entropy (prior init), seed by seed", "seeds", "collapsed", "median test AP", "range", "per-seed test AP");
        plain.Row(seeds.ToString(CultureInfo.InvariantCulture), $"{collapsed} of {seeds} ({Fmt.Pct((double)collapsed / seeds, 0)})", Fmt.N(PairedStats.Quantile(sortedCe, 0.5)),
            $"{Fmt.N(sortedCe[0])} – {Fmt.N(sortedCe[^1])}", string.Join(" ", ceAp.Select(v => Fmt.N(v, 2))));

        // The mechanism: who carries the loss.
        var shares = new ResultTable("Who carries the training loss (mean over seeds)", "Loss", "easy-negative share at start", "easy-negative share at end", "positives' share at end");
        foreach (int c in new[] { 0, ceBest, focal2 })
        {
            shares.Row(configs[c].Name, Fmt.Pct(Values(c, r => r.EasyShareStart).Average(), 2), Fmt.Pct(Values(c, r => r.EasyShareEnd).Average(), 2), Fmt.Pct(Values(c, r => r.PosShareEnd).Average(), 1));
        }

        report.Tables.Add(grid);
        report.Tables.Add(line);
        report.Tables.Add(plain);
        report.Tables.Add(shares);
        report.Tables.Add(WorkedNumbers());

        report.Comparisons.Add(new Comparison("focal γ = 2 (best α) AP > α-CE (best α) AP", "test AP", "seed", configs[focal2].Name, configs[ceBest].Name, higherIsBetter: true,
            Values(focal2, r => r.TestAp), Values(ceBest, r => r.TestAp)));
        report.Comparisons.Add(new Comparison("easy negatives carry most of CE's loss at the start", "easy-negative loss share at start", "seed", "CE", "one half", higherIsBetter: true,
            Values(0, r => r.EasyShareStart), [.. Enumerable.Repeat(0.5, seeds)]));
        report.Comparisons.Add(new Comparison("focal γ = 2 cuts the easy negatives' share below CE's", "easy-negative loss share at start", "seed", configs[focal2].Name, "CE", higherIsBetter: false,
            Values(focal2, r => r.EasyShareStart), Values(0, r => r.EasyShareStart)));
        report.Format = v => Fmt.N(v, 3);

        // Charts: AP against γ per α with the α-CE line; precision–recall of the first seed; the paper's Figure 1.
        var byGamma = new Chart { Title = "Test AP vs γ (mean over seeds)", Width = 560, Height = 400 };
        byGamma.X.Label = "γ";
        byGamma.Y.Label = "test AP";
        for (int k = 0; k < FocalAlphas.Length; k++)
        {
            double a = FocalAlphas[k];
            byGamma.Series.Add(new Series($"focal, α = {A(a)}", Gammas, [.. Gammas.Select(g => Values(Cell(g, a), r => r.TestAp).Average())]) { Color = Chart.Palette[k] });
        }

        byGamma.ReferenceLines.Add(new ReferenceLine(true, Values(ceBest, r => r.TestAp).Average(), $"α-CE, best α = {A(bestCeAlpha)}"));
        byGamma.ReferenceLines.Add(new ReferenceLine(true, ceAp.Average(), "plain CE (mean)", "#bbbbbb"));
        report.Charts.Add((byGamma.ToSvg(), "Table 1b as a chart: AP on the test images against γ for each α; the horizontal lines are α-CE at its best α and plain CE."));

        var pr = new Chart { Title = "Precision–recall on the test images (first seed)", Width = 560, Height = 400 };
        pr.X.Label = "recall";
        pr.Y.Label = "precision";
        pr.X.Min = 0;
        pr.X.Max = 1;
        pr.Y.Min = 0;
        pr.Y.Max = 1;
        foreach (int c in new[] { 0, ceBest, focal2 })
        {
            pr.Series.Add(new Series($"{configs[c].Name} (AP {Fmt.N(runs[0, c].TestAp)})", runs[0, c].Recall, runs[0, c].Precision));
        }

        report.Charts.Add((pr.ToSvg(), "Precision vs recall, ranking all test anchors by each model's score."));
        report.Charts.Add((LossCurves.Focal([0, 0.5, 1, 2, 5]).ToSvg(), "The paper's Figure 1, computed with SigmoidFocalLoss (no α): the loss of well-classified examples (p_t > 0.6) shrinks fast as γ grows; right, the gradient w.r.t. the logit."));

        double apFocal = Values(focal2, r => r.TestAp).Average(), apCe = Values(ceBest, r => r.TestAp).Average();
        report.VerdictText = $"test AP: focal γ = 2, α = {A(bestFocalAlpha[2])} {Fmt.N(apFocal)} vs α-CE α = {A(bestCeAlpha)} {Fmt.N(apCe)} ({seeds} seeds, paired); plain CE collapses on {collapsed} of {seeds} seeds; "
            + $"easy negatives carry {Fmt.Pct(Values(0, r => r.EasyShareStart).Average(), 0)} of CE's loss at the start, {Fmt.Pct(Values(focal2, r => r.EasyShareStart).Average(), 2)} of focal's";
        report.Metrics["ap_ce"] = ceAp.Average();
        report.Metrics["ce_collapsed_fraction"] = (double)collapsed / seeds;
        report.Metrics["best_alpha_ce"] = bestCeAlpha;
        report.Metrics["ap_alpha_ce_best"] = apCe;
        report.Metrics["best_alpha_focal_gamma2"] = bestFocalAlpha[2];
        report.Metrics["ap_focal_gamma2"] = apFocal;
        foreach (double g in Gammas)
        {
            report.Metrics[$"ap_focal_gamma{A(g)}_best_alpha"] = Values(Cell(g, bestFocalAlpha[g]), r => r.TestAp).Average();
        }

        long zeroed = Enumerable.Range(0, seeds).Sum(s => Enumerable.Range(0, configs.Length).Sum(c => runs[s, c].NonFiniteGradients));
        string zeroedBy = string.Join(", ", Enumerable.Range(0, configs.Length).Where(c => Enumerable.Range(0, seeds).Any(s => runs[s, c].NonFiniteGradients > 0)).Select(c => configs[c].Name));
        report.Notes.Add(zeroed == 0
            ? "No anchor's gradient was non-finite."
            : $"SigmoidFocalLoss with γ < 1 returns NaN gradients for saturated anchors (p_t = 1 in double: (1 − p_t)^(γ − 1) = ∞ times σ′ = 0, autograd's order of operations); the limit is 0, so the lab zeroes them: {Fmt.I(zeroed)} anchor gradients over all runs ({zeroedBy}). Without this, those runs end with NaN weights.");
        report.Notes.Add("Collapsed: a seed on which plain CE's test AP is below half of the best test AP any configuration reached on the same seed (same data and backbone).");
        report.Notes.Add("The best α is chosen on validation images and the claims are tested on separate test images, so the selection does not inflate either side.");
        report.Notes.Add("The worked-numbers table shows the mechanism: with γ = 2 an example at p_t = 0.9 gets 100× less loss than under CE, at p_t ≈ 0.968 about 1000× less, while misclassified examples (p_t small) keep most of their loss.");
    }

    /// <summary>Trains the head with one configuration on the training images; AP on validation and test, loss shares.</summary>
    private static TrainRun Train(Config config, Split train, Split val, Split test, int[][] epochOrders)
    {
        var w = new double[Features];
        double b = -Math.Log((1 - Prior) / Prior);
        var vw = new double[Features];
        double vb = 0;
        ElementwiseLoss<double> loss = Create(config, Reduction.Mean), perElement = Create(config, Reduction.None);
        (double shareStart, _) = EasyNegativeShare(w, b, perElement, config, train);
        int batchAnchors = ImagesPerBatch * AnchorsPerImage;
        var logits = new double[batchAnchors];
        var grad = new double[batchAnchors];
        var yb = new double[batchAnchors];
        var wb = new double[batchAnchors];
        var gw = new double[Features];
        bool weighted = !config.Focal && !double.IsNaN(config.Alpha);
        long nonFinite = 0;
        foreach (int[] order in epochOrders)
        {
            for (int start = 0; start < order.Length; start += ImagesPerBatch)
            {
                int images = Math.Min(ImagesPerBatch, order.Length - start), count = images * AnchorsPerImage, positives = 0;
                for (int k = 0; k < count; k++)
                {
                    int i = order[start + k / AnchorsPerImage] * AnchorsPerImage + k % AnchorsPerImage;
                    logits[k] = b + Kernels.Dot(w, train.H.AsSpan(i * Features, Features));
                    yb[k] = train.Y[i];
                    positives += train.Y[i] > 0.5 ? 1 : 0;
                    wb[k] = yb[k] > 0.5 ? config.Alpha : 1 - config.Alpha;
                }

                // The library gives d loss / d logit for the batch; the head's gradient is Σ dz·h and Σ dz.
                loss.ForwardBackward(logits.AsSpan(0, count), yb.AsSpan(0, count), grad.AsSpan(0, count), default,
                    weighted ? wb.AsSpan(0, count) : default, avgFactor: Math.Max(1, positives));

                // For γ < 1 the focal gradient of a saturated anchor (p_t = 1 in floating point) is ∞·0 = NaN, as in
                // autograd; its mathematical limit is 0, which is what the head gets (counted and reported).
                for (int k = 0; k < count; k++)
                {
                    if (!double.IsFinite(grad[k]))
                    {
                        grad[k] = 0;
                        nonFinite++;
                    }
                }
                Array.Clear(gw);
                double gb = 0;
                for (int k = 0; k < count; k++)
                {
                    if (grad[k] != 0)
                    {
                        int i = order[start + k / AnchorsPerImage] * AnchorsPerImage + k % AnchorsPerImage;
                        Kernels.Axpy(grad[k], train.H.AsSpan(i * Features, Features), gw);
                        gb += grad[k];
                    }
                }

                for (int j = 0; j < Features; j++)
                {
                    vw[j] = 0.9 * vw[j] + gw[j];
                    w[j] -= LearningRate * vw[j];
                }

                vb = 0.9 * vb + gb;
                b -= LearningRate * vb;
            }
        }

        (double shareEnd, double posShareEnd) = EasyNegativeShare(w, b, perElement, config, train);
        (double testAp, double[] recall, double[] precision) = AveragePrecision(Scores(w, b, test), test.Y);
        (double valAp, _, _) = AveragePrecision(Scores(w, b, val), val.Y);
        return new TrainRun(testAp, valAp, shareStart, shareEnd, posShareEnd, recall, precision, nonFinite);
    }

    private static ElementwiseLoss<double> Create(Config config, Reduction reduction) => config.Focal
        ? new SigmoidFocalLoss<double>(reduction, config.Alpha, config.Gamma)
        : new BinaryCrossEntropyWithLogitsLoss<double>(reduction);

    private static double[] Scores(double[] w, double b, Split split)
    {
        var z = new double[split.Y.Length];
        for (int i = 0; i < z.Length; i++)
        {
            z[i] = b + Kernels.Dot(w, split.H.AsSpan(i * Features, Features));
        }

        return z;
    }

    /// <summary>The frozen backbone: W (Dim × Features; N(0, 1.5²) from the two geometric inputs, N(0, 0.15²) from the noise ones) and a bias ~ N(0, 1).</summary>
    private static double[] Backbone(Random rng)
    {
        var p = new double[(Dim + 1) * Features];
        for (int i = 0; i < Dim * Features; i++)
        {
            p[i] = Rng.Gaussian(rng) * (i < 2 * Features ? SignalWeight : NoiseWeight);
        }

        for (int j = 0; j < Features; j++)
        {
            p[Dim * Features + j] = BiasScale * Rng.Gaussian(rng);
        }

        return p;
    }

    private static Split Allocate(int images) => new(new double[images * AnchorsPerImage * Features], new double[images * AnchorsPerImage], images);

    /// <summary>Fills a split with images of anchors through the backbone: features h (anchors × Features) and 0/1 labels.</summary>
    private static void Generate(Random rng, Split split, double[] backbone)
    {
        (double[] h, double[] y, int images) = (split.H, split.Y, split.Images);
        Array.Clear(y);
        Span<double> x = stackalloc double[Dim];
        Span<double> offset = stackalloc double[Dim];
        for (int img = 0; img < images; img++)
        {
            int positives = 0;
            for (int objects = 1 + rng.Next(2), o = 0; o < objects; o++)
            {
                positives += 1 + rng.Next(2);
            }

            for (int k = 2; k < Dim; k++)
            {
                offset[k] = 0.5 * Rng.Gaussian(rng);
            }

            for (int a = 0; a < AnchorsPerImage; a++)
            {
                int i = img * AnchorsPerImage + a;
                for (int k = 2; k < Dim; k++)
                {
                    x[k] = offset[k] + Rng.Gaussian(rng);
                }

                if (a < positives)
                {
                    y[i] = 1;
                    x[0] = 0.35 * Rng.Gaussian(rng);
                    x[1] = 0.35 * Rng.Gaussian(rng);
                }
                else
                {
                    double theta = 2 * Math.PI * rng.NextDouble();
                    double radius = rng.NextDouble() < HardFraction
                        ? 0.6 + 0.9 * rng.NextDouble()                         // hard: a ring around the positives
                        : 1.5 + Math.Abs(2.5 * Rng.Gaussian(rng));             // easy: far out
                    x[0] = radius * Math.Cos(theta);
                    x[1] = radius * Math.Sin(theta);
                }

                Span<double> hi = h.AsSpan(i * Features, Features);
                backbone.AsSpan(Dim * Features, Features).CopyTo(hi);
                for (int k = 0; k < Dim; k++)
                {
                    Kernels.Axpy(x[k], backbone.AsSpan(k * Features, Features), hi);
                }

                for (int j = 0; j < Features; j++)
                {
                    hi[j] = Math.Max(0, hi[j]);
                }
            }
        }

    }

    /// <summary>Share of the total per-anchor loss on easy negatives (p_t &gt; 0.9), and the positives' share.</summary>
    private static (double Easy, double Positive) EasyNegativeShare(double[] w, double b, ElementwiseLoss<double> perElement, Config config, Split split)
    {
        double[] logits = Scores(w, b, split);
        var values = new double[logits.Length];
        double[]? weights = !config.Focal && !double.IsNaN(config.Alpha) ? [.. split.Y.Select(y => y > 0.5 ? config.Alpha : 1 - config.Alpha)] : null;
        perElement.Forward(logits, split.Y, values, weights ?? default);
        double total = 0, easy = 0, positive = 0;
        for (int i = 0; i < values.Length; i++)
        {
            total += values[i];
            if (split.Y[i] > 0.5)
            {
                positive += values[i];
            }
            else if (1 - 1 / (1 + Math.Exp(-logits[i])) > 0.9)
            {
                easy += values[i];
            }
        }

        return (easy / total, positive / total);
    }

    /// <summary>Average precision (mean precision at the rank of each positive) and the PR curve at the positives.</summary>
    internal static (double Ap, double[] Recall, double[] Precision) AveragePrecision(double[] scores, double[] labels)
    {
        double[] keys = [.. scores.Select(v => double.IsNaN(v) ? double.PositiveInfinity : -v)];
        int[] order = [.. Enumerable.Range(0, scores.Length)];
        Array.Sort(keys, order);
        int totalPositives = labels.Count(l => l > 0.5);
        Debug.Assert(totalPositives > 0);
        double sum = 0;
        int tp = 0;
        var recall = new List<double> { 0 };
        var precision = new List<double> { 1 };
        for (int rank = 0; rank < order.Length && tp < totalPositives; rank++)
        {
            if (labels[order[rank]] > 0.5)
            {
                tp++;
                double p = (double)tp / (rank + 1);
                sum += p;
                recall.Add((double)tp / totalPositives);
                precision.Add(p);
            }
        }

        return (sum / totalPositives, [.. recall], [.. precision]);
    }

    /// <summary>Loss values for a positive example at several p_t, by CE, α-balanced CE and the focal loss (library calls).</summary>
    private static ResultTable WorkedNumbers()
    {
        double[] pts = [0.999, 0.99, 0.968, 0.95, 0.9, 0.5, 0.1, 0.05, 0.01];
        double[] logits = [.. pts.Select(p => Math.Log(p / (1 - p)))];
        double[] ones = [.. pts.Select(_ => 1.0)];
        (double[] ce, _) = LossCurves.Evaluate(new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.None), logits, ones);
        var alphaCe = new double[pts.Length];
        new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.None).Forward(logits, ones, alphaCe, [.. pts.Select(_ => 0.25)]);
        (double[] fl, _) = LossCurves.Evaluate(new SigmoidFocalLoss<double>(Reduction.None, -1, 2), logits, ones);
        (double[] alphaFl, _) = LossCurves.Evaluate(new SigmoidFocalLoss<double>(Reduction.None, 0.25, 2), logits, ones);
        var table = new ResultTable("Worked numbers: loss of one positive example (t = 1), computed by the library",
            "p_t", "CE", "α-CE (α = 0.25)", "FL (γ = 2)", "α-FL (α = 0.25, γ = 2)", "CE / FL");
        for (int i = 0; i < pts.Length; i++)
        {
            table.Row(pts[i].ToString("0.###", System.Globalization.CultureInfo.InvariantCulture), Fmt.G(ce[i]), Fmt.G(alphaCe[i]), Fmt.G(fl[i]), Fmt.G(alphaFl[i]), Fmt.G(ce[i] / fl[i]) + "×");
        }

        return table;
    }

}
