// The in-process peer: TorchSharp's own losses (libtorch autograd) vs LossKit direct (spans over the same torch memory)
// vs LossKit through the bridge, fwd+bwd, float32, same data, 2 threads (--threads N). Run with the timing hygiene of docs/TORCHSHARP.md:
//   MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=1073741824 OMP_WAIT_POLICY=PASSIVE \
//   dotnet run -c Release --project bench/LossKit.TorchSharp.Bench [-- --quick] [--only NAME] [--threads N] [--nt-bytes B]
// --nt-bytes sets LossKitSettings.NonTemporalStoreBytes (default 8 MiB; 9223372036854775807 turns streaming off).
using System.Diagnostics;
using System.Runtime.InteropServices;
using LossKit;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.MetricLearning;
using LossKit.Regression;
using LossKit.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using R = TorchSharp.torch.nn.Reduction;

bool quick = args.Contains("--quick");
string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
int threads = int.Parse(args.SkipWhile(a => a != "--threads").Skip(1).FirstOrDefault() ?? "2");
torch.set_num_threads(threads);
LossKitSettings.MaxDegreeOfParallelism = threads;
if (args.SkipWhile(a => a != "--nt-bytes").Skip(1).FirstOrDefault() is { } ntBytes)
{
    LossKitSettings.NonTemporalStoreBytes = long.Parse(ntBytes, System.Globalization.CultureInfo.InvariantCulture);
}

double budget = quick ? 0.3 : 1.5;
int rounds = quick ? 3 : 5;

Console.WriteLine($"torch {torch.__version__}, .NET {Environment.Version}, {Environment.ProcessorCount} CPUs, torch threads {torch.get_num_threads()}, LossKit threads {LossKitSettings.MaxDegreeOfParallelism}, non-temporal gradient stores from {LossKitSettings.NonTemporalStoreBytes} bytes");
Console.WriteLine($"MALLOC_MMAP_THRESHOLD_={Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") ?? "(unset)"} OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)"}");

// Triad a = b + s·c on 16M floats (3 × 64 MB), STREAM's byte count (3 arrays per pass).
{
    int n = 16 << 20;
    Tensor a = empty(n), b = rand(n), c = rand(n);
    Span<float> sa = Bytes(a), sb = Bytes(b), sc = Bytes(c);
    double t = Median(() =>
    {
        Parallel.For(0, 2, k =>
        {
            int lo = k * n / 2, hi = (k + 1) * n / 2;
            Span<float> pa = Bytes(a)[lo..hi];
            ReadOnlySpan<float> pb = Bytes(b)[lo..hi], pc = Bytes(c)[lo..hi];
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(pc, 3f, pb, pa);
        });
    }, budget);
    Console.WriteLine($"triad (TensorPrimitives.MultiplyAdd, 2 threads): {t:F2} ms, {3.0 * n * 4 / (t / 1000) / 1e9:F1} GB/s");
    _ = sa.Length + sb.Length + sc.Length;
}

Console.WriteLine();
Console.WriteLine("| case | TorchSharp | LossKit direct | direct, new gradient | bridge (autograd.grad) | bridge (backward → leaf .grad = none) | TorchSharp / LossKit | bridge / direct | bridge / direct with a new gradient | bytes/s direct | direct + engine floor | bridge / floor | bridge, non-leaf input (autograd.grad) | non-leaf bridge / direct | non-leaf bridge / floor |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

manual_seed(1);
Elementwise("cross_entropy[32768×80]", randn(32768, 80), randint(0, 80, [32768]), (x, t) => F.cross_entropy(x, t), new CrossEntropyLoss<float>(), losskit.nn.CrossEntropyLoss(), classIndex: true);
Elementwise("bce_with_logits[1M]", randn(1 << 20), rand(1 << 20), (x, t) => F.binary_cross_entropy_with_logits(x, t), new BinaryCrossEntropyWithLogitsLoss<float>(), losskit.nn.BCEWithLogitsLoss());
Elementwise("l1[4M]", randn(4 << 20), randn(4 << 20), (x, t) => F.l1_loss(x, t), new L1Loss<float>(), losskit.nn.L1Loss());
Elementwise("mse[4M]", randn(4 << 20), randn(4 << 20), (x, t) => F.mse_loss(x, t), new MseLoss<float>(), losskit.nn.MSELoss());
Elementwise("smooth_l1 β=1/9 [4M]", randn(4 << 20), randn(4 << 20), (x, t) => F.smooth_l1_loss(x, t, R.Mean, 1.0 / 9), new SmoothL1Loss<float>(Reduction.Mean, 1.0 / 9), losskit.nn.SmoothL1Loss(beta: 1.0 / 9));
Elementwise("huber[4M]", randn(4 << 20), randn(4 << 20), (x, t) => F.huber_loss(x, t), new HuberLoss<float>(), losskit.nn.HuberLoss());
Elementwise("soft_margin[4M]", randn(4 << 20), randn(4 << 20).sign(), (x, t) => F.soft_margin_loss(x, t), new SoftMarginLoss<float>(), losskit.nn.SoftMarginLoss());
Elementwise("hinge_embedding[4M]", randn(4 << 20), randn(4 << 20).sign(), (x, t) => F.hinge_embedding_loss(x, t, 1.0), new HingeEmbeddingLoss<float>(), losskit.nn.HingeEmbeddingLoss());
Elementwise("kl_div batchmean [4096×1024]", randn(4096, 1024).log_softmax(1), randn(4096, 1024).softmax(1), (x, t) => F.kl_div(x, t, false, R.Sum) / 4096,
    new KLDivergenceLoss<float>(Reduction.BatchMean), losskit.nn.KLDivLoss(batchmean: true), kl: true);
Elementwise("multi_margin[32768×80]", randn(32768, 80), randint(0, 80, [32768]), (x, t) => F.multi_margin_loss(x, t), new MultiMarginLoss<float>(), losskit.nn.MultiMarginLoss(), classIndex: true);
Elementwise("sigmoid_focal[131072×80]", randn(131072, 80), (rand(131072, 80) > 0.99).to_type(ScalarType.Float32),
    (x, t) => torchvision.ops.sigmoid_focal_loss(x, t, 0.25d, 2.0d, R.Sum), new SigmoidFocalLoss<float>(Reduction.Sum), losskit.nn.SigmoidFocalLoss(reduction: R.Sum));
Tensor b1 = Boxes(1 << 20), b2 = Boxes(1 << 20);
Elementwise("giou[1M]", b1, b2, (x, t) => torchvision.ops.generalized_box_iou_loss(x, t, R.Mean), new GIoULoss<float>(Reduction.Mean), losskit.nn.GIoULoss(R.Mean), boxes: true);
Elementwise("diou[1M]", b1, b2, (x, t) => torchvision.ops.distance_box_iou_loss(x, t, R.Mean), new DIoULoss<float>(Reduction.Mean), losskit.nn.DIoULoss(R.Mean), boxes: true);
Elementwise("ciou[1M]", b1, b2, (x, t) => torchvision.ops.complete_box_iou_loss(x, t, R.Mean), new CIoULoss<float>(Reduction.Mean), losskit.nn.CIoULoss(R.Mean), boxes: true);
{
    // ArcFace (s = 64, m = 0.5, threshold fallback) vs insightface's classic formulation as a TorchSharp composition.
    double s = 64, m = 0.5, cm = Math.Cos(m), sm = Math.Sin(m), th = Math.Cos(Math.PI - m), mm = Math.Sin(Math.PI - m) * m;
    Tensor cos = rand(8192, 1000) * 1.8 - 0.9;
    Tensor y = randint(0, 1000, [8192]);
    Elementwise("arcface[8192×1000]", cos, y, (x, t) =>
    {
        Tensor sine = (1 - x * x).clamp_min(0).sqrt();
        Tensor phi = x * cm - sine * sm;
        phi = where(x > th, phi, x - mm);
        Tensor onehot = F.one_hot(t, 1000).to_type(ScalarType.Bool);
        return F.cross_entropy(where(onehot, phi, x) * s, t);
    }, AngularMarginLoss<float>.ArcFace(s, m), losskit.nn.ArcFaceLoss(s, m), classIndex: true);
}

void Elementwise(string name, Tensor x0, Tensor t, Func<Tensor, Tensor, Tensor> torchLoss, object direct, Loss bridge, bool classIndex = false, bool kl = false, bool boxes = false)
{
    if (only is not null && !name.StartsWith(only, StringComparison.Ordinal))
    {
        return;
    }

    Tensor x = x0.detach().clone().requires_grad_();
    // A non-leaf over the same memory, made once: a model's output. The engine stops at it (autograd.grad's input), so
    // no node below it runs, and the bridge takes it as it is (a leaf enters through a view of itself).
    Tensor nonLeaf = x.view(x.shape);
    Tensor sum = x.sum();
    Tensor grad = empty_like(x0);
    int[] labels = classIndex ? t.data<long>().Select(v => (int)v).ToArray() : [];
    // The direct call reads the same memory as the bridge (x's storage): interleaved with the bridge in the ratio
    // cycles below, it then finds the input where the bridge left it, and the footprint is the bridge's plus one buffer.
    Action<Tensor> fused = direct switch
    {
        KLDivergenceLoss<float> k => g => k.ForwardBackward(Bytes(x), Bytes(t), (int)x0.shape[0], Bytes(g)),
        ClassIndexLoss<float> c => g => c.ForwardBackward(Bytes(x), labels, (int)x0.shape[0], (int)x0.shape[1], Bytes(g)),
        BoxRegressionLoss<float> b => g => b.ForwardBackward(Bytes(x), Bytes(t), Bytes(g)),
        ElementwiseLoss<float> e => g => e.ForwardBackward(Bytes(x), Bytes(t), Bytes(g)),
        _ => throw new InvalidOperationException(direct.GetType().Name),
    };
    var columns = new (string Name, Action Run)[]
    {
        // TorchSharp: autograd of its own loss, gradient captured with autograd.grad (no accumulation into .grad).
        ("torch", () =>
        {
            using var scope = NewDisposeScope();
            torch.autograd.grad([torchLoss(x, t)], [x]);
        }),
        // LossKit direct on spans over the same torch memory (the fused call), into one gradient buffer kept for every call.
        ("direct", () => fused(grad)),
        // The same into a new torch tensor per call: what any autograd node must return (autograd keeps it).
        ("direct, new gradient", () =>
        {
            using Tensor g = empty_like(x0);
            fused(g);
        }),
        ("bridge", () =>
        {
            using var scope = NewDisposeScope();
            torch.autograd.grad([bridge.forward(x, t)], [x]);
        }),
        // A training step's backward into a leaf whose .grad was set to none (Module.zero_grad's default): autograd
        // moves the gradient into .grad without a copy.
        ("leaf", () =>
        {
            using var scope = NewDisposeScope();
            x.grad = null;
            bridge.forward(x, t).backward();
        }),
        // The floor any autograd-based loss stands on: the direct call, then one pass of libtorch's engine over a graph
        // of one built-in node whose backward moves no data (sum: an expanded view), so the engine's own per-step cost
        // is measured right after the kernel has streamed its data, as the bridge's backward runs.
        ("floor", () =>
        {
            fused(grad);
            using var scope = NewDisposeScope();
            torch.autograd.grad([sum], [x], retain_graph: true);
        }),
        ("non-leaf", () =>
        {
            using var scope = NewDisposeScope();
            torch.autograd.grad([bridge.forward(nonLeaf, t)], [nonLeaf]);
        }),
    };

    // Time columns: rounds that alternate the columns, each column timed in a row; the fastest median over the rounds.
    var best = new double[columns.Length];
    Array.Fill(best, double.MaxValue);
    for (int round = 0; round < rounds; round++)
    {
        // TorchSharp's own loss is 3–100× slower and far from any threshold: timed once.
        for (int c = round == 0 ? 0 : 1; c < columns.Length; c++)
        {
            best[c] = Math.Min(best[c], Median(columns[c].Run, c == 0 ? budget : budget / rounds));
        }
    }

    // Ratio columns: cycles that run every LossKit column once, in an order that rotates from cycle to cycle, and time
    // each call; a ratio is the median over the cycles of that cycle's own ratio. The calls of a ratio run milliseconds
    // apart, so a slow spell of the shared machine moves both sides, and each column runs after each other one as often.
    double[][] cycles = Cycles(columns[1..].Select(c => c.Run).ToArray(), budget);
    double Ratio(int numerator, int denominator) =>
        MedianOf(cycles.Select(r => r[numerator - 1] / r[denominator - 1]));

    var (tTorch, tDirect, tFresh, tBridge, tLeaf, tFloor, tNonLeaf) = (best[0], best[1], best[2], best[3], best[4], best[5], best[6]);
    // Bytes moved by the fused call: read the input, write the gradient, read a float target of the same size.
    double bytes = (x0.numel() * 2.0 + (classIndex ? 0 : t.numel())) * 4;
    Console.WriteLine($"| {name} | {tTorch:F2} | {tDirect:F2} | {tFresh:F2} | {tBridge:F2} | {tLeaf:F2} | {tTorch / tDirect:F1}× | {Ratio(3, 1):F2} / {Ratio(4, 1):F2} | {Ratio(3, 2):F2} / {Ratio(4, 2):F2} | {bytes / (tDirect / 1000) / 1e9:F1} GB/s | {tFloor:F2} | {Ratio(3, 5):F2} / {Ratio(4, 5):F2} | {tNonLeaf:F2} | {Ratio(6, 1):F2} | {Ratio(6, 5):F2} |");
    _ = kl || boxes;
}

static Span<float> Bytes(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

static Tensor Boxes(long n)
{
    Tensor xy = rand(n, 2) * 100, wh = rand(n, 2) * 50 + 1;
    return cat([xy, xy + wh], 1);
}

static double MedianOf(IEnumerable<double> values)
{
    double[] v = values.Order().ToArray();
    return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

static double[][] Cycles(Action[] runs, double seconds)
{
    for (int i = 0; i < 3; i++)
    {
        foreach (Action a in runs)
        {
            a();
        }
    }

    var cycles = new List<double[]>();
    var total = Stopwatch.StartNew();
    while ((total.Elapsed.TotalSeconds < seconds || cycles.Count < 3 * runs.Length) && cycles.Count < 1000)
    {
        var t = new double[runs.Length];
        for (int k = 0; k < runs.Length; k++)
        {
            int c = (k + cycles.Count) % runs.Length;
            long start = Stopwatch.GetTimestamp();
            runs[c]();
            t[c] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        cycles.Add(t);
    }

    return [.. cycles];
}

static double Median(Action a, double seconds)
{
    // Warm up for a while, not a fixed count: the first cases of a process otherwise time tier-0 / instrumented code.
    var warm = Stopwatch.StartNew();
    for (int i = 0; i < 3 || (warm.Elapsed.TotalSeconds < Math.Min(0.5, seconds / 2) && i < 500); i++)
    {
        a();
    }

    var times = new List<double>();
    var total = Stopwatch.StartNew();
    while ((total.Elapsed.TotalSeconds < seconds || times.Count < 5) && times.Count < 200)
    {
        long start = Stopwatch.GetTimestamp();
        a();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    times.Sort();
    return times[times.Count / 2];
}
