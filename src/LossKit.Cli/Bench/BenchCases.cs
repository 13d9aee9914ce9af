using System.Diagnostics;
using LossKit.Layouts;
using LossKit.Registry;

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
    public static IReadOnlyList<string> Names { get; } = [.. Specs().Select(c => c.Name)];

    /// <summary>
    /// Builds the named case (data allocation and binding happen here, outside any timing): the registry entry's loss,
    /// bound by its layout to the case's arrays, so the timed calls are the layout's entry points.
    /// </summary>
    public static BenchCase Create(string name, int seed = 1234)
    {
        Spec spec = Specs().FirstOrDefault(c => c.Name == name)
            ?? throw new Commands.CliException($"unknown bench case '{name}' (known: {string.Join(", ", Names)})");
        LossEntry entry = LossRegistry.Get(spec.Loss);
        LossArguments args = entry.Arguments();
        foreach ((string parameter, object value) in spec.Parameters)
        {
            args.Set(parameter, value);
        }

        Dictionary<string, LayoutTensor<float>> inputs = spec.Inputs(new Random(seed));
        BoundLoss<float> bound = entry.Layout.Bind(entry.Create<float>(args), args, inputs);
        long bytes = spec.MemoryBound ? 12L * inputs["input"].Data.Length : 0;
        return new BenchCase(name, bound.Forward, bound.ForwardBackward, bytes);
    }

    /// <summary>A case: its name (as bench/compare/torch_bench.py), registry entry, parameters and seeded inputs.</summary>
    private sealed record Spec(string Name, string Loss, (string Name, object Value)[] Parameters,
        Func<Random, Dictionary<string, LayoutTensor<float>>> Inputs, bool MemoryBound = false);

    private static Spec[] Specs() =>
    [
        new("cross_entropy[32768x80]", "cross_entropy", [], r => ClassRows(r, 32768, 80, Normal)),
        new("cross_entropy_ls0.1[32768x80]", "cross_entropy", [("label_smoothing", 0.1)], r => ClassRows(r, 32768, 80, Normal)),
        new("bce_with_logits[1M]", "bce_with_logits", [], r => Pair(Normal(r, M1), Bernoulli(r, M1, 0.5f)), MemoryBound: true),
        new("kl_div_batchmean[32768x80]", "kl_div", [("reduction", Reduction.BatchMean)], r =>
            Pair(LogSoftmaxRows(Normal(r, 32768 * 80), 80), SoftmaxRows(Normal(r, 32768 * 80), 80), 32768, 80)),
        new("hinge_embedding[1M]", "hinge_embedding", [], r => Pair(Normal(r, M1), Signs(r, M1))),
        new("multi_margin[32768x80]", "multi_margin", [], r => ClassRows(r, 32768, 80, Normal)),
        new("l1[4M]", "l1", [], r => Pair(Normal(r, M4), Normal(r, M4)), MemoryBound: true),
        new("mse[4M]", "mse", [], r => Pair(Normal(r, M4), Normal(r, M4)), MemoryBound: true),
        new("smooth_l1_beta1/9[4M]", "smooth_l1", [("beta", 1.0 / 9)], r => Pair(Normal(r, M4), Normal(r, M4)), MemoryBound: true),
        new("huber_delta1[4M]", "huber", [("delta", 1.0)], r => Pair(Normal(r, M4), Normal(r, M4)), MemoryBound: true),
        new("sigmoid_focal[131072x80]", "sigmoid_focal", [("reduction", Reduction.Sum)], r => Pair(Normal(r, 131072 * 80), Bernoulli(r, 131072 * 80, 0.01f))),
        new("giou[1M boxes]", "giou", [("reduction", Reduction.Mean)], r => Pair(RandomBoxes(r, M1), RandomBoxes(r, M1), M1, 4)),
        new("diou[1M boxes]", "diou", [("reduction", Reduction.Mean)], r => Pair(RandomBoxes(r, M1), RandomBoxes(r, M1), M1, 4)),
        new("ciou[1M boxes]", "ciou", [("reduction", Reduction.Mean)], r => Pair(RandomBoxes(r, M1), RandomBoxes(r, M1), M1, 4)),
        new("quality_focal[131072x80]", "quality_focal", [], r => QualityFocalInputs(r, 131072, 80)),
        new("distribution_focal[262144x17]", "distribution_focal", [], r => Pair(Normal(r, 262144 * 17), Uniform(r, 262144, 0, 15.9f), 262144, 17, vectorTarget: true)),
        new("arcface_on_cosines[4096x10000]", "arcface", [("scale", 64.0), ("margin", 0.5)], r => ClassRows(r, 4096, 10000, (g, n) => Uniform(g, n, -1, 1))),
        new("center[4096x512,1000]", "center", [], r => CenterInputs(r, 4096, 512, 1000)),
    ];

    private static LayoutTensor<float> Tensor(string name, float[] data, params int[] shape) => new(name, shape, data);

    /// <summary>input and target of one shape ([n], or [rows, columns] when given; a [rows] target with vectorTarget).</summary>
    private static Dictionary<string, LayoutTensor<float>> Pair(float[] x, float[] y, int rows = -1, int columns = -1, bool vectorTarget = false) => new()
    {
        ["input"] = rows < 0 ? Tensor("input", x, x.Length) : Tensor("input", x, rows, columns),
        ["target"] = rows < 0 ? Tensor("target", y, y.Length) : vectorTarget ? Tensor("target", y, rows) : Tensor("target", y, rows, columns),
    };

    /// <summary>[rows, columns] scores from <paramref name="values"/> and a uniform class index per row.</summary>
    private static Dictionary<string, LayoutTensor<float>> ClassRows(Random rng, int rows, int columns, Func<Random, int, float[]> values)
    {
        float[] x = values(rng, rows * columns);
        return new() { ["input"] = Tensor("input", x, rows, columns), ["target"] = Indices("target", Labels(rng, rows, columns)) };
    }

    private static Dictionary<string, LayoutTensor<float>> QualityFocalInputs(Random rng, int n, int c)
    {
        float[] x = Normal(rng, n * c), scores = Uniform(rng, n, 0, 1);
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = rng.NextDouble() < 0.01 ? rng.Next(c) : c;
        }

        return new() { ["input"] = Tensor("input", x, n, c), ["labels"] = Indices("labels", labels), ["scores"] = Tensor("scores", scores, n) };
    }

    private static Dictionary<string, LayoutTensor<float>> CenterInputs(Random rng, int n, int d, int k)
    {
        float[] x = Normal(rng, n * d), centers = Normal(rng, k * d);
        return new() { ["input"] = Tensor("input", x, n, d), ["target"] = Indices("target", Labels(rng, n, k)), ["centers"] = Tensor("centers", centers, k, d) };
    }

    private static LayoutTensor<float> Indices(string name, int[] indices) =>
        new(name, [indices.Length], Array.ConvertAll(indices, i => (float)i)) { IndexData = indices };

    private static int[] Labels(Random rng, int n, int classes)
    {
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = rng.Next(classes);
        }

        return y;
    }

    /// <summary>
    /// Median milliseconds of <paramref name="reps"/> timed calls after at least <paramref name="warmup"/> untimed ones
    /// and untimed rounds of at least 0.25 s each until a round's fastest call no longer beats the best of the rounds
    /// before by more than 3 % (at least two rounds, at most 5 s): tiered JIT with dynamic PGO first runs instrumented
    /// code, for longer than a fixed warm-up can be sure to cover (docs/PERFORMANCE.md, harness fixes).
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

    internal static float[] Normal(Random rng, int n)
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
