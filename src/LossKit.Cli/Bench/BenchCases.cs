using System.Diagnostics;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.MetricLearning;
using LossKit.Regression;

namespace LossKit.Cli.Bench;

/// <summary>One timed case: float32 data made once, a forward-only call and a fused forward + backward call.</summary>
/// <param name="Name">The case name (as in the performance issue and bench/compare/torch_bench.py).</param>
/// <param name="Forward">Computes the loss value only.</param>
/// <param name="ForwardBackward">Computes the loss and writes the gradient into a buffer allocated once.</param>
/// <param name="BytesFwdBwd">Bytes a memory-bound fused call must read and write (0 when the case is not memory-bound).</param>
internal sealed record BenchCase(string Name, Func<float> Forward, Func<float> ForwardBackward, long BytesFwdBwd);

/// <summary>The cases of <c>losskit bench</c>, with seeded inputs of the stated shapes.</summary>
internal static class BenchCases
{
    public const int M1 = 1_048_576, M4 = 4_194_304;

    /// <summary>All case names, in the order they run.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "cross_entropy[32768x80]", "cross_entropy_ls0.1[32768x80]", "bce_with_logits[1M]", "kl_div_batchmean[32768x80]",
        "hinge_embedding[1M]", "multi_margin[32768x80]", "l1[4M]", "mse[4M]", "smooth_l1_beta1/9[4M]", "huber_delta1[4M]",
        "sigmoid_focal[131072x80]", "giou[1M boxes]", "diou[1M boxes]", "ciou[1M boxes]", "quality_focal[131072x80]",
        "distribution_focal[262144x17]", "arcface_on_cosines[4096x10000]", "center[4096x512,1000]",
    ];

    /// <summary>Builds the named case (data allocation happens here, outside any timing).</summary>
    public static BenchCase Create(string name, int seed = 1234)
    {
        var rng = new Random(seed);
        switch (name)
        {
            case "cross_entropy[32768x80]":
                return ClassIndex(name, new CrossEntropyLoss<float>(), 32768, 80, rng);
            case "cross_entropy_ls0.1[32768x80]":
                return ClassIndex(name, new CrossEntropyLoss<float>(labelSmoothing: 0.1), 32768, 80, rng);
            case "multi_margin[32768x80]":
                return ClassIndex(name, new MultiMarginLoss<float>(), 32768, 80, rng);
            case "bce_with_logits[1M]":
                return Elementwise(name, new BinaryCrossEntropyWithLogitsLoss<float>(), Normal(rng, M1), Bernoulli(rng, M1, 0.5f), memoryBound: true);
            case "hinge_embedding[1M]":
                return Elementwise(name, new HingeEmbeddingLoss<float>(), Normal(rng, M1), Signs(rng, M1), memoryBound: false);
            case "l1[4M]":
                return Elementwise(name, new L1Loss<float>(), Normal(rng, M4), Normal(rng, M4), memoryBound: true);
            case "mse[4M]":
                return Elementwise(name, new MseLoss<float>(), Normal(rng, M4), Normal(rng, M4), memoryBound: true);
            case "smooth_l1_beta1/9[4M]":
                return Elementwise(name, new SmoothL1Loss<float>(beta: 1.0 / 9), Normal(rng, M4), Normal(rng, M4), memoryBound: true);
            case "huber_delta1[4M]":
                return Elementwise(name, new HuberLoss<float>(delta: 1.0), Normal(rng, M4), Normal(rng, M4), memoryBound: true);
            case "sigmoid_focal[131072x80]":
                return Elementwise(name, new SigmoidFocalLoss<float>(Reduction.Sum), Normal(rng, 131072 * 80), Bernoulli(rng, 131072 * 80, 0.01f), memoryBound: false);
            case "kl_div_batchmean[32768x80]":
            {
                var loss = new KLDivergenceLoss<float>(Reduction.BatchMean);
                float[] x = LogSoftmaxRows(Normal(rng, 32768 * 80), 80), t = SoftmaxRows(Normal(rng, 32768 * 80), 80);
                var g = new float[x.Length];
                return new BenchCase(name, () => loss.Forward(x, t, 32768), () => loss.ForwardBackward(x, t, 32768, g), 0);
            }

            case "giou[1M boxes]":
                return Boxes(name, new GIoULoss<float>(Reduction.Mean), rng);
            case "diou[1M boxes]":
                return Boxes(name, new DIoULoss<float>(Reduction.Mean), rng);
            case "ciou[1M boxes]":
                return Boxes(name, new CIoULoss<float>(Reduction.Mean), rng);
            case "quality_focal[131072x80]":
            {
                const int n = 131072, c = 80;
                var loss = new QualityFocalLoss<float>();
                float[] x = Normal(rng, n * c), scores = Uniform(rng, n, 0, 1), g = new float[n * c];
                int[] labels = new int[n];
                for (int i = 0; i < n; i++)
                {
                    labels[i] = rng.NextDouble() < 0.01 ? rng.Next(c) : c;
                }

                return new BenchCase(name, () => loss.Forward(x, labels, scores, n, c), () => loss.ForwardBackward(x, labels, scores, n, c, g), 0);
            }

            case "distribution_focal[262144x17]":
            {
                const int n = 262144, bins = 17;
                var loss = new DistributionFocalLoss<float>();
                float[] x = Normal(rng, n * bins), t = Uniform(rng, n, 0, 15.9f), g = new float[n * bins];
                return new BenchCase(name, () => loss.Forward(x, t, n, bins), () => loss.ForwardBackward(x, t, n, bins, g), 0);
            }

            case "arcface_on_cosines[4096x10000]":
            {
                const int n = 4096, c = 10000;
                var loss = AngularMarginLoss<float>.ArcFace(scale: 64, margin: 0.5);
                float[] cos = Uniform(rng, n * c, -1, 1), g = new float[n * c];
                int[] y = new int[n];
                for (int i = 0; i < n; i++)
                {
                    y[i] = rng.Next(c);
                }

                return new BenchCase(name, () => loss.Forward(cos, y, n, c), () => loss.ForwardBackward(cos, y, n, c, g), 0);
            }

            case "center[4096x512,1000]":
            {
                const int n = 4096, d = 512, k = 1000;
                var loss = new CenterLoss<float>();
                float[] x = Normal(rng, n * d), centers = Normal(rng, k * d), gx = new float[n * d], gc = new float[k * d];
                int[] y = new int[n];
                for (int i = 0; i < n; i++)
                {
                    y[i] = rng.Next(k);
                }

                return new BenchCase(name, () => loss.Forward(x, y, centers, n, k, d), () => loss.ForwardBackward(x, y, centers, n, k, d, gx, gc), 0);
            }

            default:
                throw new Commands.CliException($"unknown bench case '{name}' (known: {string.Join(", ", Names)})");
        }
    }

    /// <summary>
    /// Median milliseconds of <paramref name="reps"/> timed calls after at least <paramref name="warmup"/> untimed ones
    /// and untimed rounds of at least 0.25 s each until a round's fastest call no longer beats the best of the rounds
    /// before by more than 3 % (at least two rounds, at most 5 s): tiered JIT with dynamic PGO first runs instrumented code, which in
    /// the first case of a process was seen to take 2-6 times as long for more than 0.5 s.
    /// </summary>
    public static double MedianMs(Func<float> call, int reps, int warmup)
    {
        float sink = 0;
        for (int i = 0; i < warmup; i++)
        {
            sink += call();
        }

        long warmStart = Stopwatch.GetTimestamp();
        double previous = double.MaxValue;
        for (int round = 0; warmup > 0 && Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 5; round++)
        {
            double fastest = double.MaxValue;
            long roundStart = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(roundStart).TotalSeconds < 0.25)
            {
                long t0 = Stopwatch.GetTimestamp();
                sink += call();
                fastest = Math.Min(fastest, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }

            if (round >= 1 && fastest >= 0.97 * previous)
            {
                break;
            }

            previous = Math.Min(previous, fastest);
        }

        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            sink += call();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        GC.KeepAlive(sink);
        Array.Sort(times);
        return reps % 2 == 1 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    }

    /// <summary>
    /// STREAM-style triad a = b + s·c over three float arrays of <paramref name="elements"/> (far larger than cache), on
    /// all threads the library may use; returns the best bandwidth in GB/s (3 arrays × 4 bytes per element).
    /// </summary>
    public static double TriadGBps(int elements = 32 * 1024 * 1024, int reps = 5)
    {
        var a = new float[elements];
        var b = new float[elements];
        var c = new float[elements];
        Array.Fill(b, 1f);
        Array.Fill(c, 2f);
        int threads = LossKitSettings.MaxDegreeOfParallelism;
        void Triad() => Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, k =>
        {
            int chunk = (elements + threads - 1) / threads;
            int start = k * chunk, end = Math.Min(elements, start + chunk);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(c.AsSpan(start, end - start), 3f, b.AsSpan(start, end - start), a.AsSpan(start, end - start));
        });

        // Untimed passes for at least 0.5 s first, as for the cases: timed too early, the loop still runs the JIT's
        // first-tier code and the bandwidth comes out 10-30 % low.
        long warmStart = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 0.5)
        {
            Triad();
        }

        double best = 0;
        for (int r = 0; r < reps; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Triad();
            best = Math.Max(best, 3.0 * 4 * elements / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9);
        }

        GC.KeepAlive(a);
        return best;
    }

    private static BenchCase ClassIndex(string name, ClassIndexLoss<float> loss, int n, int c, Random rng)
    {
        float[] x = Normal(rng, n * c), g = new float[n * c];
        int[] y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = rng.Next(c);
        }

        return new BenchCase(name, () => loss.Forward(x, y, n, c), () => loss.ForwardBackward(x, y, n, c, g), 0);
    }

    private static BenchCase Elementwise(string name, ElementwiseLoss<float> loss, float[] x, float[] y, bool memoryBound)
    {
        var g = new float[x.Length];
        return new BenchCase(name, () => loss.Forward(x, y), () => loss.ForwardBackward(x, y, g), memoryBound ? 12L * x.Length : 0);
    }

    private static BenchCase Boxes(string name, BoxRegressionLoss<float> loss, Random rng)
    {
        float[] p = RandomBoxes(rng, M1), t = RandomBoxes(rng, M1), g = new float[4 * M1];
        return new BenchCase(name, () => loss.Forward(p, t), () => loss.ForwardBackward(p, t, g), 0);
    }

    /// <summary><paramref name="n"/> random xyxy boxes with corners in [0, 100) and sides in [1, 51).</summary>
    internal static float[] RandomBoxes(Random rng, int n)
    {
        var b = new float[4 * n];
        for (int i = 0; i < n; i++)
        {
            float x = (float)(rng.NextDouble() * 100), y = (float)(rng.NextDouble() * 100);
            b[4 * i] = x;
            b[4 * i + 1] = y;
            b[4 * i + 2] = x + 1 + (float)(rng.NextDouble() * 50);
            b[4 * i + 3] = y + 1 + (float)(rng.NextDouble() * 50);
        }

        return b;
    }

    private static float[] Normal(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        }

        return a;
    }

    /// <summary><paramref name="n"/> values uniform in [lo, hi).</summary>
    internal static float[] Uniform(Random rng, int n, float lo, float hi)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = lo + (hi - lo) * (float)rng.NextDouble();
        }

        return a;
    }

    /// <summary><paramref name="n"/> 0/1 values, 1 with probability <paramref name="p"/>.</summary>
    internal static float[] Bernoulli(Random rng, int n, float p)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = rng.NextDouble() < p ? 1f : 0f;
        }

        return a;
    }

    private static float[] Signs(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = rng.Next(2) == 0 ? -1f : 1f;
        }

        return a;
    }

    private static float[] SoftmaxRows(float[] x, int c)
    {
        float[] l = LogSoftmaxRows(x, c);
        for (int i = 0; i < l.Length; i++)
        {
            l[i] = MathF.Exp(l[i]);
        }

        return l;
    }

    private static float[] LogSoftmaxRows(float[] x, int c)
    {
        var r = new float[x.Length];
        for (int row = 0; row < x.Length / c; row++)
        {
            ReadOnlySpan<float> s = x.AsSpan(row * c, c);
            float m = System.Numerics.Tensors.TensorPrimitives.Max(s);
            double sum = 0;
            foreach (float v in s)
            {
                sum += Math.Exp(v - m);
            }

            float lse = m + (float)Math.Log(sum);
            for (int j = 0; j < c; j++)
            {
                r[row * c + j] = s[j] - lse;
            }
        }

        return r;
    }
}
