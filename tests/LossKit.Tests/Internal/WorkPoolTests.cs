using System.Numerics;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Internal;

/// <summary>Tests that change the process-wide LossKitSettings run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalSettingsCollection
{
    public const string Name = "Global LossKitSettings";
}

/// <summary>
/// Results do not depend on the thread count: kernels chunk by input size only and add chunk sums in order, so one
/// thread and all threads give bit-identical values and gradients on inputs large enough to go parallel.
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public class WorkPoolTests
{
    public static TheoryData<string, int, int> LargeCases() => new()
    {
        // element-wise losses: 1,000,000 elements (the pos_weight form runs rows of 1000 through the row driver)
        { "bce_with_logits", 1000, 1000 },
        { "smooth_l1", 1, 1_000_003 },
        { "kl_div", 1000, 1000 },
        // row losses: 20000 × 80
        { "cross_entropy", 20000, 80 },
        { "cross_entropy_prob", 20000, 80 },
        { "multi_margin", 20000, 80 },
    };

    /// <summary>The thread counts compared with 1: the processor count, and 3 (an odd split) when that differs.</summary>
    private static int[] ThreadCounts => new[] { Environment.ProcessorCount, 3 }.Where(t => t > 1).Distinct().ToArray();

    [Theory]
    [MemberData(nameof(LargeCases))]
    public void ThreadCount_DoesNotChangeResults(string loss, int rows, int cols)
    {
        var variant = new Variant(loss, Reduction.Mean)
        {
            Weight = loss is not ("kl_div" or "cross_entropy_prob"), PosWeight = loss == "bce_with_logits",
            LabelSmoothing = loss.StartsWith("cross_entropy", StringComparison.Ordinal) ? 0.1 : 0,
            IgnoreIndex = loss is "cross_entropy" or "nll" ? -100 : null,
        };
        Scenario s = Scenarios.Random(variant, rows, cols, 99);
        Compare<double>(s.Setup, s.Input);
        Compare<float>(s.Setup, s.Input);
        Compare<double>(s.Setup.With(Reduction.None), s.Input);
    }

    private static void Compare<T>(LossSetup setup, double[] input)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossRunner<T> r = LossRunner<T>.Create(setup);
        T[] x = LossRunner<T>.Convert(input);
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            (T v1, T[] g1, T[] d1) = Run(r, x, 1);
            foreach (int threads in ThreadCounts)
            {
                (T vn, T[] gn, T[] dn) = Run(r, x, threads);
                string what = $"{typeof(T).Name} {setup.Loss} {setup.Reduction} [{string.Join("x", setup.Shape)}] with {threads} threads vs 1";
                Tolerance.AssertIdentical<T>([vn], [v1], what + ": value");
                Tolerance.AssertIdentical<T>(gn, g1, what + ": gradient");
                Tolerance.AssertIdentical<T>(dn, d1, what + ": per-element values");
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    private static (T Value, T[] Gradient, T[] Values) Run<T>(LossRunner<T> r, T[] x, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossKitSettings.MaxDegreeOfParallelism = threads;
        var g = new T[x.Length];
        var d = new T[r.Reduction == Reduction.None ? r.ValueLength : 0];
        T v = r.ForwardBackward(x, g, d);
        if (r.Reduction == Reduction.None)
        {
            // Forward (no gradient) takes its own path through the kernels: same values.
            var forward = new T[d.Length];
            Assert.True(v.Equals(r.Forward(x, forward)), $"Forward vs ForwardBackward value with {threads} threads");
            Tolerance.AssertIdentical<T>(forward, d, $"Forward vs ForwardBackward values with {threads} threads");
        }

        return (v, g, d);
    }

    [Fact]
    public void MaxDegreeOfParallelism_BelowOne_Throws()
    {
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            LossChecks.Throws<ArgumentOutOfRangeException>("value", () => LossKitSettings.MaxDegreeOfParallelism = 0, "MaxDegreeOfParallelism must be >= 1.");
            LossChecks.Throws<ArgumentOutOfRangeException>("value", () => LossKitSettings.MaxDegreeOfParallelism = -4);
            Assert.Equal(original, LossKitSettings.MaxDegreeOfParallelism);
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    /// <summary>Concurrent callers (the pool runs one job at a time, the others inline) still get identical results.</summary>
    [Fact]
    public void ConcurrentCallers_GetTheSameResults()
    {
        Scenario s = Scenarios.Random(new Variant("bce_with_logits", Reduction.Mean) { Weight = true }, 1, 300_000, 5);
        LossRunner<double> r = LossRunner<double>.Create(s.Setup);
        var expectedGradient = new double[s.Input.Length];
        double expected = r.ForwardBackward(s.Input, expectedGradient, default);
        Parallel.For(0, 8, _ =>
        {
            var g = new double[s.Input.Length];
            double v = r.ForwardBackward(s.Input, g, default);
            Assert.Equal(expected, v);
            Assert.True(g.AsSpan().SequenceEqual(expectedGradient));
        });
    }
}

/// <summary>
/// The pool's hand-off: every chunk of every job runs exactly once, whether the workers were spinning or asleep, and
/// when more workers exist than a job asks for (after a larger MaxDegreeOfParallelism).
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public unsafe class WorkPoolHandOffTests
{
    private readonly struct CountJob(int* counts, int* threadIds) : LossKit.Internal.IChunkJob
    {
        public void Run(int chunk)
        {
            Interlocked.Increment(ref counts[chunk]);
            threadIds[chunk] = Environment.CurrentManagedThreadId;
            // A few microseconds of work per chunk, so that a worker woken by the job has chunks left to take even when
            // the machine is busy and the caller alone would otherwise finish first.
            Thread.SpinWait(500);
        }
    }

    [Fact]
    public void EveryChunkRunsOnce_AcrossSleepAndThreadCountChanges()
    {
        int original = LossKitSettings.MaxDegreeOfParallelism;
        var rng = new Random(11);
        int[] counts = new int[40], ids = new int[40];
        var workerThreads = new HashSet<int>();
        try
        {
            int job = 0;
            foreach (int threads in new[] { 4, 2, 3, 1, 2, 5, 2 })
            {
                LossKitSettings.MaxDegreeOfParallelism = threads;
                for (int k = 0; k < 60; k++, job++)
                {
                    // Every third job comes after the workers have gone to sleep.
                    if (k % 3 == 0)
                    {
                        Thread.Sleep(2);
                    }

                    int chunks = rng.Next(1, counts.Length + 1);
                    Array.Clear(counts);
                    fixed (int* c = counts, i = ids)
                    {
                        var j = new CountJob(c, i);
                        LossKit.Internal.WorkPool.Run(ref j, chunks);
                    }

                    for (int chunk = 0; chunk < counts.Length; chunk++)
                    {
                        Assert.True(counts[chunk] == (chunk < chunks ? 1 : 0), $"job {job} ({threads} threads, {chunks} chunks): chunk {chunk} ran {counts[chunk]} times");
                    }

                    workerThreads.UnionWith(ids.Take(chunks).Where(id => id != Environment.CurrentManagedThreadId));
                }
            }

            // The control: the workers did take part (a pool that ran everything inline would pass the counts).
            Assert.NotEmpty(workerThreads);
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    /// <summary>
    /// MaxDegreeOfParallelism = 1 keeps every chunk on the calling thread, and such a job does not count as asking for
    /// threads; with 2, at most one worker joins the caller.
    /// </summary>
    [Fact]
    public void MaxDegreeOfParallelism_BoundsTheThreadsAJobUses()
    {
        int original = LossKitSettings.MaxDegreeOfParallelism;
        int[] counts = new int[64], ids = new int[64];
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                LossKitSettings.MaxDegreeOfParallelism = threads;
                var used = new HashSet<int>();
                for (int k = 0; k < 40; k++)
                {
                    int before = LossKit.Internal.WorkPool.DispatchesFromThisThread;
                    fixed (int* c = counts, i = ids)
                    {
                        var j = new CountJob(c, i);
                        LossKit.Internal.WorkPool.Run(ref j, counts.Length);
                    }

                    Assert.Equal(threads > 1 ? before + 1 : before, LossKit.Internal.WorkPool.DispatchesFromThisThread);
                    int distinct = ids.Distinct().Count();
                    Assert.True(distinct <= threads, $"MaxDegreeOfParallelism {threads}: one job's chunks ran on {distinct} threads");
                    used.UnionWith(ids);
                }

                if (threads == 1)
                {
                    Assert.Equal([Environment.CurrentManagedThreadId], used);
                }
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    /// <summary>
    /// The pool is free again after a job: jobs from another calling thread reach the workers too (a pool whose gate
    /// stayed taken would run every later job from other threads inline).
    /// </summary>
    [Fact]
    public void AnotherCallingThread_AlsoReachesTheWorkers()
    {
        int original = LossKitSettings.MaxDegreeOfParallelism;
        int[] counts = new int[64], ids = new int[64];
        try
        {
            LossKitSettings.MaxDegreeOfParallelism = 2;
            fixed (int* c = counts, i = ids)
            {
                var first = new CountJob(c, i);
                LossKit.Internal.WorkPool.Run(ref first, counts.Length);
            }

            bool reached = false;
            var other = new Thread(() =>
            {
                // Other test classes may hold the pool for a moment: one job of many reaching a worker is enough.
                for (int k = 0; k < 200 && !reached; k++)
                {
                    fixed (int* c = counts, i = ids)
                    {
                        var j = new CountJob(c, i);
                        LossKit.Internal.WorkPool.Run(ref j, counts.Length);
                    }

                    reached = ids.Any(id => id != Environment.CurrentManagedThreadId);
                    if (!reached)
                    {
                        Thread.Sleep(1);
                    }
                }
            });
            other.Start();
            other.Join();
            Assert.True(reached, "no job from a second thread ran a chunk on a worker");
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }
}

/// <summary>
/// Small calls stay on the calling thread (no hand-off cost): 1,024-element inputs of one loss per family never ask the
/// pool for threads, while a large input does (the control that shows the counter works).
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public class SmallInputsStayOnCallingThreadTests
{
    public static TheoryData<string> Losses() => ["cross_entropy", "bce_with_logits", "l1", "smooth_l1", "sigmoid_focal", "giou", "arcface", "center"];

    [Theory]
    [MemberData(nameof(Losses))]
    public void SmallInput_NeverDispatches_LargeInputDoes(string loss)
    {
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            LossKitSettings.MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount);
            int before = LossKit.Internal.WorkPool.DispatchesFromThisThread;
            Call(loss, 1024);
            Assert.Equal(before, LossKit.Internal.WorkPool.DispatchesFromThisThread);
            Call(loss, 1 << 20);
            Assert.True(LossKit.Internal.WorkPool.DispatchesFromThisThread > before, $"{loss} on 1M elements did not ask for threads");
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    private static void Call(string loss, int n)
    {
        var rng = new Random(3);
        float[] x = new float[n], y = new float[n], g = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)rng.NextDouble();
            y[i] = rng.NextDouble() < 0.5 ? 1f : 0f;
        }

        switch (loss)
        {
            case "cross_entropy":
                new LossKit.Classification.CrossEntropyLoss<float>().ForwardBackward(x, new int[n / 64], n / 64, 64, g);
                break;
            case "bce_with_logits":
                new LossKit.Classification.BinaryCrossEntropyWithLogitsLoss<float>().ForwardBackward(x, y, g);
                break;
            case "l1":
                new LossKit.Regression.L1Loss<float>().ForwardBackward(x, y, g);
                break;
            case "smooth_l1":
                new LossKit.Regression.SmoothL1Loss<float>().ForwardBackward(x, y, g);
                break;
            case "sigmoid_focal":
                new LossKit.Detection.SigmoidFocalLoss<float>(Reduction.Sum).ForwardBackward(x, y, g);
                break;
            case "giou":
                for (int i = 0; i < n; i += 4)
                {
                    (x[i + 2], x[i + 3], y[i + 2], y[i + 3]) = (x[i] + 1, x[i + 1] + 1, y[i] + 2, y[i + 1] + 2);
                }

                new LossKit.Detection.GIoULoss<float>(Reduction.Mean).ForwardBackward(x, y, g);
                break;
            case "arcface":
                LossKit.MetricLearning.AngularMarginLoss<float>.ArcFace().ForwardBackward(x, new int[n / 1024], n / 1024, 1024, g);
                break;
            case "center":
                new LossKit.MetricLearning.CenterLoss<float>().ForwardBackward(x, new int[n / 64], new float[10 * 64], n / 64, 10, 64, g, new float[10 * 64]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(loss), loss, null);
        }
    }
}
