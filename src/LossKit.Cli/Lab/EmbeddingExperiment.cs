using LossKit.Classification;
using LossKit.Cli.Lab.Models;
using LossKit.Cli.Svg;
using LossKit.MetricLearning;

namespace LossKit.Cli.Lab;

/// <summary>
/// Experiment 5: embeddings of synthetic identities learned by a small MLP with softmax cross-entropy, softmax + center
/// loss, ArcFace and CosFace — a 2-D embedding to look at, and a 16-D one measured on identities never seen in training:
/// intra-class angular spread, angle to the nearest other class, verification accuracy on held-out pairs.
/// </summary>
internal sealed class EmbeddingExperiment : IExperiment
{
    private const int InputDim = 32;
    private const int HiddenDim = 128;
    private const int LatentDim = 8;
    private const double NuisanceSigma = 1.5;
    private const double NoiseSigma = 0.3;
    private const double CenterLambda = 0.1, CenterAlpha = 0.5;
    private const double Scale = 16;

    public string Id => "embeddings";

    public string Title => "5. Embeddings: softmax vs softmax + center loss vs ArcFace vs CosFace";

    private enum Method
    {
        Softmax,
        Center,
        ArcFace,
        CosFace,
    }

    private static readonly (Method Method, string Name)[] Methods =
    [
        (Method.Softmax, "Softmax"),
        (Method.Center, $"Softmax + center (λ = {CenterLambda})"),
        (Method.ArcFace, $"ArcFace (s = {Scale}, m = 0.5)"),
        (Method.CosFace, $"CosFace (s = {Scale}, m = 0.35)"),
    ];

    public double EstimateSeconds(LabContext ctx) => ctx.Tiny ? 0.5 : ctx.Full ? 75 : 9;

    public ExperimentReport Run(LabContext ctx)
    {
        var report = new ExperimentReport
        {
            Id = Id,
            Title = Title,
            Claim = "Softmax features are separable but not discriminative (large intra-class spread); center loss pulls each class to its center, and additive angular (ArcFace) or cosine (CosFace) margins enlarge the angles between classes and shrink them within — so verification on unseen identities improves.",
            Source = "Wen et al., A Discriminative Feature Learning Approach (center loss), ECCV 2016, Fig. 1–3; Deng et al., ArcFace, CVPR 2019; Wang et al., CosFace, CVPR 2018",
        };

        int classes2d = 10;
        int perClass2d = ctx.Size(200, 20, 500);
        int trainIdentities = ctx.Size(100, 8, 200);
        int testIdentities = ctx.Size(50, 6, 100);
        int perIdentity = ctx.Size(30, 6, 40);
        int testPerIdentity = ctx.Tiny ? 6 : 10;
        int epochs = ctx.Tiny ? 2 : ctx.Full ? 20 : 15;
        const int embedding = 16;
        report.Setup.Add($"Identities: a code z_k ~ N(0, I_{LatentDim}) each; a sample is x = tanh(A·z_k + {NuisanceSigma}·B·u + {NoiseSigma}·ε) in {InputDim}-D, with fixed random A, B ({InputDim}×{LatentDim}), a per-sample nuisance u ~ N(0, I_{LatentDim}) (pose, lighting: larger than the identity signal) and noise ε.");
        report.Setup.Add($"Model: MLP {InputDim} → {HiddenDim} (ReLU) → embedding (2-D or {embedding}-D), then the head: a linear layer + CrossEntropyLoss (softmax, softmax + center), or CosineHead + AngularMarginLoss.ArcFace / .CosFace. The same initialisation and batch order for every method.");
        report.Setup.Add($"Center loss: CenterLoss (paper form, ½‖x − c_y‖², Mean) with λ = {CenterLambda} added to the softmax gradient; centers moved by CenterLoss.UpdateCenters with α = {CenterAlpha} (the paper's separate update).");
        report.Setup.Add($"Training: SGD, momentum 0.9, learning rate 0.05, weight decay 5e-4, batch 128, {epochs} epochs.");
        report.Setup.Add($"2-D run: {classes2d} identities × {perClass2d} training samples; metrics on {testPerIdentity * 5} fresh samples per identity (closed set).");
        report.Setup.Add($"{embedding}-D run: {trainIdentities} training identities × {perIdentity} samples; metrics on {testIdentities} unseen identities × {testPerIdentity} samples. Verification: all same-identity pairs and as many random different-identity pairs; cosine-similarity threshold chosen on one half of the pairs, accuracy measured on the other half (and vice versa).");
        report.Setup.Add("Angles on L2-normalised embeddings: intra-class spread = mean angle between a sample and its class's mean direction; inter-class = mean over classes of the angle to the nearest other class's mean direction.");

        int seeds = ctx.Seeds(4, 10);
        var bar = ctx.Progress.Add("5 embeddings: 4 methods × (seeds + 2-D run)", Methods.Length * (seeds + 1) * epochs);

        // 2-D: the same identities for training and evaluation (fresh samples); seed 1 only, for the pictures.
        var rng = new Random(ctx.Seed * 104729 + 5);
        var world = new World(rng);
        double[][] protos2d = Prototypes(rng, classes2d);
        (double[] x2, int[] y2) = Samples(rng, world, protos2d, perClass2d);
        (double[] x2Test, int[] y2Test) = Samples(rng, world, protos2d, testPerIdentity * 5);

        // High-D, per seed: a new world, new identities (unseen ones for evaluation) and a new initialisation, shared by
        // the four methods.
        var data = new (double[] XTrain, int[] YTrain, double[] XTest, int[] YTest)[seeds];
        for (int k = 0; k < seeds; k++)
        {
            var r = new Random(ctx.Seed * 104729 + 5 + 7919 * (k + 1));
            var w = new World(r);
            double[][] protosTrain = Prototypes(r, trainIdentities);
            double[][] protosTest = Prototypes(r, testIdentities);
            (double[] xTrain, int[] yTrain) = Samples(r, w, protosTrain, perIdentity);
            (double[] xTest, int[] yTest) = Samples(r, w, protosTest, testPerIdentity);
            data[k] = (xTrain, yTrain, xTest, yTest);
        }

        var results2d = new Metrics[Methods.Length];
        var perSeed = new Metrics[seeds, Methods.Length];
        var embeddings2d = new double[Methods.Length][];
        Parallel.For(0, Methods.Length * (seeds + 1), new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, item =>
        {
            int m = item % Methods.Length, k = item / Methods.Length - 1;
            if (k < 0)
            {
                Mlp model = Train(Methods[m].Method, x2, y2, classes2d, 2, epochs, ctx.Seed, bar);
                embeddings2d[m] = model.Predict(x2Test, y2Test.Length);
                results2d[m] = Measure(embeddings2d[m], y2Test, classes2d, 2, new Random(ctx.Seed + 11));
            }
            else
            {
                Mlp model = Train(Methods[m].Method, data[k].XTrain, data[k].YTrain, trainIdentities, embedding, epochs, ctx.Seed + 1000 * (k + 1), bar);
                perSeed[k, m] = Measure(model.Predict(data[k].XTest, data[k].YTest.Length), data[k].YTest, testIdentities, embedding, new Random(ctx.Seed + 12 + k));
            }
        });
        bar.Complete();
        var resultsHd = new Metrics[Methods.Length];
        for (int m = 0; m < Methods.Length; m++)
        {
            double Mean(Func<Metrics, double> f) => Enumerable.Range(0, seeds).Average(k => f(perSeed[k, m]));
            resultsHd[m] = new Metrics(Mean(x => x.Intra), Mean(x => x.Inter), Mean(x => x.Verification), Mean(x => x.Compactness));
        }

        var table = new ResultTable($"{embedding}-D embedding, {testIdentities} unseen identities (mean over {seeds} seeds)",
            "Method", "intra-class spread", "nearest other class", "angle ratio", "Euclidean spread / separation", "verification accuracy");
        var table2 = new ResultTable("2-D embedding, 10 identities (fresh samples)", "Method", "intra-class spread", "nearest other class", "angle ratio",
            "Euclidean spread / separation", "verification accuracy");
        for (int m = 0; m < Methods.Length; m++)
        {
            Row(table, Methods[m].Name, resultsHd[m]);
            Row(table2, Methods[m].Name, results2d[m]);
            string key = Methods[m].Method.ToString().ToLowerInvariant();
            report.Metrics[$"hd_intra_deg_{key}"] = resultsHd[m].Intra;
            report.Metrics[$"hd_inter_deg_{key}"] = resultsHd[m].Inter;
            report.Metrics[$"hd_verification_{key}"] = resultsHd[m].Verification;
            report.Metrics[$"2d_intra_deg_{key}"] = results2d[m].Intra;
            report.Metrics[$"2d_verification_{key}"] = results2d[m].Verification;
        }

        report.Tables.Add(table);
        report.Tables.Add(table2);
        for (int m = 0; m < Methods.Length; m++)
        {
            report.Charts.Add((Scatter(Methods[m].Name, embeddings2d[m], y2Test).ToSvg(), ""));
        }

        report.Notes.Add("The four scatter plots show the 2-D embeddings of fresh samples of the 10 training identities (one colour per identity), raw (not normalised), like the center-loss paper's Fig. 3.");

        Metrics soft = resultsHd[0], center = resultsHd[1], arc = resultsHd[2], cos = resultsHd[3];
        double[] PerSeed(int m, Func<Metrics, double> f) => [.. Enumerable.Range(0, seeds).Select(k => f(perSeed[k, m]))];
        const string unit = "seed";
        report.Comparisons.Add(new Comparison("center loss lowers spread / separation", "Euclidean spread / separation", unit, "+center", "softmax", higherIsBetter: false,
            PerSeed(1, x => x.Compactness), PerSeed(0, x => x.Compactness)));
        report.Comparisons.Add(new Comparison("ArcFace raises the angle ratio", "angle ratio (nearest other / intra)", unit, "ArcFace", "softmax", higherIsBetter: true,
            PerSeed(2, x => x.Inter / x.Intra), PerSeed(0, x => x.Inter / x.Intra)));
        report.Comparisons.Add(new Comparison("CosFace raises the angle ratio", "angle ratio (nearest other / intra)", unit, "CosFace", "softmax", higherIsBetter: true,
            PerSeed(3, x => x.Inter / x.Intra), PerSeed(0, x => x.Inter / x.Intra)));
        report.Comparisons.Add(new Comparison("ArcFace verifies better than softmax", "verification accuracy", unit, "ArcFace", "softmax", higherIsBetter: true,
            PerSeed(2, x => x.Verification), PerSeed(0, x => x.Verification)));
        report.Comparisons.Add(new Comparison("CosFace verifies better than softmax", "verification accuracy", unit, "CosFace", "softmax", higherIsBetter: true,
            PerSeed(3, x => x.Verification), PerSeed(0, x => x.Verification)));
        report.Format = v => Fmt.N(v, 3);
        report.VerdictText = $"unseen-identity verification: softmax {Fmt.Pct(soft.Verification)}, +center {Fmt.Pct(center.Verification)}, ArcFace {Fmt.Pct(arc.Verification)}, CosFace {Fmt.Pct(cos.Verification)}; "
            + $"intra-class spread {Fmt.N(soft.Intra, 1)}° (softmax) vs {Fmt.N(center.Intra, 1)}° / {Fmt.N(arc.Intra, 1)}° / {Fmt.N(cos.Intra, 1)}°; "
            + $"Euclidean spread/separation {Fmt.N(soft.Compactness, 2)} (softmax) vs {Fmt.N(center.Compactness, 2)} (+center); means over {seeds} seeds";
        report.Metrics["hd_compactness_softmax"] = soft.Compactness;
        report.Metrics["hd_compactness_center"] = center.Compactness;
        report.Setup.Add($"Claims tested over {seeds} seeds (each: a new generative world, new identities and a new initialisation, shared by the four methods).");
        report.Notes.Add("The margins are tuned for face data sets with thousands of identities and millions of images; on this small synthetic problem their effect on unseen identities is measured, not assumed.");
        return report;
    }

    private static void Row(ResultTable table, string name, Metrics m) =>
        table.Row(name, Fmt.N(m.Intra, 1) + "°", Fmt.N(m.Inter, 1) + "°", Fmt.N(m.Inter / m.Intra, 2), Fmt.N(m.Compactness, 2), Fmt.Pct(m.Verification));

    private sealed record Metrics(double Intra, double Inter, double Verification, double Compactness);

    /// <summary>The generative model of the features: identity directions A, nuisance directions B (fixed per run).</summary>
    private sealed class World
    {
        public World(Random rng)
        {
            A = Matrix(rng);
            B = Matrix(rng);
        }

        public double[] A { get; }

        public double[] B { get; }

        private static double[] Matrix(Random rng) => [.. Enumerable.Range(0, InputDim * LatentDim).Select(_ => Rng.Gaussian(rng) / Math.Sqrt(LatentDim))];
    }

    private static double[][] Prototypes(Random rng, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, LatentDim).Select(_ => Rng.Gaussian(rng)).ToArray())];

    /// <summary>x = tanh(A·z_k + σ_n·B·u + σ·ε): identity code z_k, per-sample nuisance u (pose, lighting), noise ε.</summary>
    private static (double[] X, int[] Y) Samples(Random rng, World world, double[][] identities, int perClass)
    {
        int n = identities.Length * perClass;
        var x = new double[n * InputDim];
        var y = new int[n];
        var u = new double[LatentDim];
        for (int i = 0; i < n; i++)
        {
            int k = i % identities.Length;
            y[i] = k;
            for (int j = 0; j < LatentDim; j++)
            {
                u[j] = Rng.Gaussian(rng);
            }

            for (int d = 0; d < InputDim; d++)
            {
                double v = NoiseSigma * Rng.Gaussian(rng);
                for (int j = 0; j < LatentDim; j++)
                {
                    v += world.A[d * LatentDim + j] * identities[k][j] + NuisanceSigma * world.B[d * LatentDim + j] * u[j];
                }

                x[i * InputDim + d] = Math.Tanh(v);
            }
        }

        return (x, y);
    }

    /// <summary>Trains the MLP (and its head) with one method; every gradient comes from the library's losses.</summary>
    private static Mlp Train(Method method, double[] x, int[] y, int classes, int dim, int epochs, int seed, Commands.ProgressTaskHandle bar)
    {
        int n = y.Length;
        const int batch = 128;
        var init = new Random(seed + 21);
        var model = new Mlp([InputDim, HiddenDim, dim], Activation.Relu, init);
        var linearHead = new Dense(dim, classes, init, initScale: 0.5);
        var cosineWeights = new Parameter(classes * dim, decay: false);
        for (int i = 0; i < cosineWeights.Value.Length; i++)
        {
            cosineWeights.Value[i] = Rng.Gaussian(init);
        }

        Parameter[] headParameters = method is Method.ArcFace or Method.CosFace ? [cosineWeights] : [linearHead.W, linearHead.B];
        var centers = new double[classes * dim];
        var counts = new int[classes];
        var crossEntropy = new CrossEntropyLoss<double>();
        var centerLoss = new CenterLoss<double>();
        AngularMarginLoss<double>? margin = method switch
        {
            Method.ArcFace => AngularMarginLoss<double>.ArcFace(Scale, 0.5),
            Method.CosFace => AngularMarginLoss<double>.CosFace(Scale, 0.35),
            _ => null,
        };
        var head = new CosineHead<double>();
        var workspace = new double[CosineHead<double>.WorkspaceSize(batch, classes, dim)];
        var sgd = new Sgd(0.05, 0.9, 5e-4);
        var order = Enumerable.Range(0, n).ToArray();
        var shuffle = new Random(seed + 22);
        var xb = new double[batch * InputDim];
        var yb = new int[batch];
        var logits = new double[batch * classes];
        var logitGrad = new double[batch * classes];
        var embGrad = new double[batch * dim];
        var centerGrad = new double[batch * dim];
        var cosine = new double[batch * classes];
        var cosineGrad = new double[batch * classes];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            Rng.Shuffle(shuffle, order);
            for (int start = 0; start + batch <= n || (start < n && start == 0); start += batch)
            {
                int count = Math.Min(batch, n - start);
                for (int k = 0; k < count; k++)
                {
                    Array.Copy(x, order[start + k] * InputDim, xb, k * InputDim, InputDim);
                    yb[k] = y[order[start + k]];
                }

                ReadOnlySpan<int> target = yb.AsSpan(0, count);
                double[] emb = model.Forward(xb, count);
                model.ZeroGrad();
                foreach (Parameter p in headParameters)
                {
                    Array.Clear(p.Grad);
                }

                Span<double> dEmb = embGrad.AsSpan(0, count * dim);
                if (margin is not null)
                {
                    // Cosine head + margin loss: the library's fused head forward/backward.
                    head.ForwardBackward(margin, emb, cosineWeights.Value, target, count, classes, dim, dEmb, cosineWeights.Grad,
                        cosine.AsSpan(0, count * classes), cosineGrad.AsSpan(0, count * classes), workspace);
                }
                else
                {
                    linearHead.Forward(emb, count, logits);
                    crossEntropy.ForwardBackward(logits.AsSpan(0, count * classes), target, count, classes, logitGrad.AsSpan(0, count * classes));
                    linearHead.Backward(emb, logitGrad, count, dEmb);
                    if (method == Method.Center)
                    {
                        centerLoss.ForwardBackward(emb.AsSpan(0, count * dim), target, centers, count, classes, dim, centerGrad.AsSpan(0, count * dim), default);
                        for (int i = 0; i < count * dim; i++)
                        {
                            dEmb[i] += CenterLambda * centerGrad[i];
                        }

                        CenterLoss<double>.UpdateCenters(emb.AsSpan(0, count * dim), target, count, classes, dim, centers, CenterAlpha, counts);
                    }
                }

                model.Backward(dEmb);
                sgd.Step(model.Parameters.Concat(headParameters));
            }

            bar.Increment();
        }

        return model;
    }

    /// <summary>Angular spread, nearest-class angle and verification accuracy (2-fold threshold) of embeddings.</summary>
    private static Metrics Measure(double[] embeddings, int[] labels, int classes, int dim, Random rng)
    {
        int n = labels.Length;
        var unit = new double[n * dim];
        for (int i = 0; i < n; i++)
        {
            double norm = Math.Sqrt(Enumerable.Range(0, dim).Sum(d => embeddings[i * dim + d] * embeddings[i * dim + d]));
            for (int d = 0; d < dim; d++)
            {
                unit[i * dim + d] = embeddings[i * dim + d] / Math.Max(norm, 1e-12);
            }
        }

        var means = new double[classes * dim];
        for (int i = 0; i < n; i++)
        {
            for (int d = 0; d < dim; d++)
            {
                means[labels[i] * dim + d] += unit[i * dim + d];
            }
        }

        for (int k = 0; k < classes; k++)
        {
            double norm = Math.Sqrt(Enumerable.Range(0, dim).Sum(d => means[k * dim + d] * means[k * dim + d]));
            for (int d = 0; d < dim; d++)
            {
                means[k * dim + d] /= Math.Max(norm, 1e-12);
            }
        }

        double Angle(double[] a, int i, double[] b, int j) =>
            Math.Acos(Math.Clamp(Enumerable.Range(0, dim).Sum(d => a[i * dim + d] * b[j * dim + d]), -1, 1)) * 180 / Math.PI;

        double intra = Enumerable.Range(0, n).Average(i => Angle(unit, i, means, labels[i]));

        // Euclidean compactness on the raw embeddings (what center loss optimises): mean distance to the class centre
        // over the mean distance between a centre and its nearest other centre.
        var centres = new double[classes * dim];
        var sizes = new int[classes];
        for (int i = 0; i < n; i++)
        {
            sizes[labels[i]]++;
            for (int d = 0; d < dim; d++)
            {
                centres[labels[i] * dim + d] += embeddings[i * dim + d];
            }
        }

        for (int k = 0; k < classes; k++)
        {
            for (int d = 0; d < dim; d++)
            {
                centres[k * dim + d] /= Math.Max(1, sizes[k]);
            }
        }

        double Distance(double[] a, int i, double[] b, int j) => Math.Sqrt(Enumerable.Range(0, dim).Sum(d => (a[i * dim + d] - b[j * dim + d]) * (a[i * dim + d] - b[j * dim + d])));
        double spread = Enumerable.Range(0, n).Average(i => Distance(embeddings, i, centres, labels[i]));
        double separation = Enumerable.Range(0, classes).Average(k => Enumerable.Range(0, classes).Where(j => j != k).Min(j => Distance(centres, k, centres, j)));
        double inter = Enumerable.Range(0, classes).Average(k => Enumerable.Range(0, classes).Where(j => j != k).Min(j => Angle(means, k, means, j)));

        // Pairs: all same-identity pairs, the same number of random different-identity pairs.
        var pairs = new List<(double Similarity, bool Same)>();
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                if (labels[i] == labels[j])
                {
                    pairs.Add((Cosine(unit, i, j, dim), true));
                }
            }
        }

        int positives = pairs.Count;
        while (pairs.Count < 2 * positives)
        {
            int i = rng.Next(n), j = rng.Next(n);
            if (labels[i] != labels[j])
            {
                pairs.Add((Cosine(unit, i, j, dim), false));
            }
        }

        var shuffled = pairs.OrderBy(_ => rng.Next()).ToList();
        var a = shuffled.Take(shuffled.Count / 2).ToList();
        var b = shuffled.Skip(shuffled.Count / 2).ToList();
        double verification = (Accuracy(b, BestThreshold(a)) + Accuracy(a, BestThreshold(b))) / 2;
        return new Metrics(intra, inter, verification, spread / separation);
    }

    private static double Cosine(double[] unit, int i, int j, int dim)
    {
        double s = 0;
        for (int d = 0; d < dim; d++)
        {
            s += unit[i * dim + d] * unit[j * dim + d];
        }

        return s;
    }

    private static double BestThreshold(List<(double Similarity, bool Same)> pairs)
    {
        var sorted = pairs.OrderBy(p => p.Similarity).ToList();
        int same = sorted.Count(p => p.Same);

        // Threshold between sorted[k - 1] and sorted[k]: pairs below are "different".
        int correct = same, best = same, bestK = 0;
        for (int k = 1; k <= sorted.Count; k++)
        {
            correct += sorted[k - 1].Same ? -1 : 1;
            if (correct > best)
            {
                (best, bestK) = (correct, k);
            }
        }

        return bestK == 0 ? sorted[0].Similarity - 1e-9 : bestK == sorted.Count ? sorted[^1].Similarity + 1e-9 : (sorted[bestK - 1].Similarity + sorted[bestK].Similarity) / 2;
    }

    private static double Accuracy(List<(double Similarity, bool Same)> pairs, double threshold) =>
        pairs.Count(p => (p.Similarity > threshold) == p.Same) / (double)pairs.Count;

    private static Chart Scatter(string title, double[] embeddings, int[] labels)
    {
        var chart = new Chart { Title = title, Width = 290, Height = 290, Legend = LegendPlacement.None };
        chart.X.Label = "e₁";
        chart.Y.Label = "e₂";
        int classes = labels.Max() + 1;
        for (int k = 0; k < classes; k++)
        {
            int[] idx = [.. Enumerable.Range(0, labels.Length).Where(i => labels[i] == k)];
            chart.Series.Add(new Series($"id {k}", [.. idx.Select(i => embeddings[2 * i])], [.. idx.Select(i => embeddings[2 * i + 1])])
            {
                Kind = SeriesKind.Scatter,
                MarkerRadius = 1.8,
                Opacity = 0.75,
                Color = Chart.Palette[k % Chart.Palette.Length],
            });
        }

        return chart;
    }
}
