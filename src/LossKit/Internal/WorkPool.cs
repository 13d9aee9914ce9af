using System.Diagnostics;

namespace LossKit.Internal;

/// <summary>A unit of parallel work: chunk <c>i</c> of a job whose chunking was fixed before the call.</summary>
internal interface IChunkJob
{
    void Run(int chunk);
}

/// <summary>
/// A tiny fork-join pool that runs the chunks of one job at a time on dedicated threads without allocating per call
/// (Parallel.For allocates, and BenchmarkDotNet counts every thread's allocations). The job is an unmanaged struct on
/// the caller's stack; the caller takes part in the work and returns only when every chunk has run, so the struct
/// outlives its use. Chunking is decided by the kernels from the input size alone, so results do not depend on how
/// many threads ran them. Concurrent callers do not queue: whoever finds the pool busy runs its chunks inline.
/// </summary>
internal static unsafe class WorkPool
{
    private static readonly object Gate = new();
    private static readonly SemaphoreSlim Start = new(0);
    private static readonly ManualResetEventSlim Done = new(false);
    private static int s_threadsStarted;
    private static delegate*<void*, int, void> s_run;
    private static void* s_job;
    private static int s_chunks;
    private static int s_next;
    private static int s_active;

    /// <summary>Jobs the current thread asked to run on several threads (tests check that small inputs never do).</summary>
    [ThreadStatic]
    private static int t_dispatches;

    /// <summary>How many jobs the calling thread has asked to spread over threads so far.</summary>
    public static int DispatchesFromThisThread => t_dispatches;

    /// <summary>Runs <paramref name="chunks"/> chunks of <paramref name="job"/>, in parallel when it pays.</summary>
    public static void Run<TJob>(ref TJob job, int chunks)
        where TJob : unmanaged, IChunkJob
    {
        // A bad LOSSKIT_SIMD_TIER makes the kernels throw; checked here, before any chunk runs, so the exception
        // reaches the caller instead of ending a worker thread (and the process).
        SimdTier.ThrowIfInvalid();
        int threads = Math.Min(LossKitSettings.MaxDegreeOfParallelism, chunks);
        if (threads > 1)
        {
            t_dispatches++; // counted when the job asks for threads, whether or not the pool is free
        }

        if (threads <= 1 || !Monitor.TryEnter(Gate))
        {
            for (int i = 0; i < chunks; i++)
            {
                job.Run(i);
            }

            return;
        }

        try
        {
            EnsureThreads(threads - 1);
            fixed (TJob* p = &job)
            {
                s_run = &Invoke<TJob>;
                s_job = p;
                s_chunks = chunks;
                s_next = -1;
                s_active = threads;
                Done.Reset();
                Start.Release(threads - 1);
                Work();
                if (Interlocked.Decrement(ref s_active) != 0)
                {
                    Done.Wait();
                }

                s_job = null;
            }
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void Invoke<TJob>(void* job, int chunk)
        where TJob : unmanaged, IChunkJob => ((TJob*)job)->Run(chunk);

    private static void Work()
    {
        int i;
        while ((i = Interlocked.Increment(ref s_next)) < s_chunks)
        {
            s_run(s_job, i);
        }
    }

    private static void WorkerLoop()
    {
        while (true)
        {
            Start.Wait();
            Work();
            if (Interlocked.Decrement(ref s_active) == 0)
            {
                Done.Set();
            }
        }
    }

    private static void EnsureThreads(int count)
    {
        Debug.Assert(Monitor.IsEntered(Gate));
        while (s_threadsStarted < count)
        {
            var t = new Thread(WorkerLoop) { IsBackground = true, Name = $"LossKit worker {s_threadsStarted + 1}" };
            t.Start();
            s_threadsStarted++;
        }
    }
}
