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
/// the caller's stack; the caller takes part in the work and returns only when every worker that joined has left, so
/// the struct outlives its use. Chunking is decided by the kernels from the input size alone, so results do not depend
/// on how many threads ran them. Concurrent callers do not queue: whoever finds the pool busy runs its chunks inline.
/// <para>
/// Each job gets a new generation number; a worker joins every generation it has not seen, while the job has free
/// slots (a job asks for MaxDegreeOfParallelism − 1 workers, and more may exist from an earlier setting). Between jobs
/// a worker spins briefly, then sleeps on <see cref="Sleep"/>. <see cref="Prime"/> wakes the sleepers to spin for a
/// short while: a caller that knows a kernel is about to run (the TorchSharp bridge, before its own set-up) saves the
/// kernel the workers' wake-up.
/// </para>
/// </summary>
internal static unsafe class WorkPool
{
    /// <summary>How long primed workers spin waiting for a job before they sleep again.</summary>
    private static readonly long PrimeTicks = Stopwatch.Frequency / 5000; // 200 µs

    private static readonly object Gate = new();
    private static readonly object Sleep = new();
    private static readonly ManualResetEventSlim Done = new(false);
    private static int s_threadsStarted;
    private static int s_sleeping;
    private static delegate*<void*, int, void> s_run;
    private static void* s_job;
    private static int s_chunks;
    private static int s_next;
    private static int s_slots;
    private static int s_active;
    private static int s_generation;
    private static long s_spinUntil;

    /// <summary>Jobs the current thread asked to run on several threads (tests check that small inputs never do).</summary>
    [ThreadStatic]
    private static int t_dispatches;

    /// <summary>How many jobs the calling thread has asked to spread over threads so far.</summary>
    public static int DispatchesFromThisThread => t_dispatches;

    /// <summary>
    /// Says a job is coming: sleeping workers wake and spin for up to 200 µs waiting for it. Costs nothing when
    /// the calls run on one thread or no worker sleeps; a worker that gets no job goes back to sleep.
    /// </summary>
    public static void Prime()
    {
        if (LossKitSettings.MaxDegreeOfParallelism <= 1 || s_threadsStarted == 0)
        {
            return;
        }

        Interlocked.Exchange(ref s_spinUntil, Stopwatch.GetTimestamp() + PrimeTicks); // a full fence before s_sleeping is read
        if (Volatile.Read(ref s_sleeping) != 0)
        {
            lock (Sleep)
            {
                Monitor.PulseAll(Sleep);
            }
        }
    }

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
                Volatile.Write(ref s_slots, threads - 1); // a worker that takes a slot sees the fields above
                Done.Reset();
                Interlocked.Increment(ref s_generation); // publishes the fields above
                if (Volatile.Read(ref s_sleeping) != 0)
                {
                    lock (Sleep)
                    {
                        Monitor.PulseAll(Sleep);
                    }
                }

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

    private static void WorkerLoop(int seen)
    {
        while (true)
        {
            int generation = WaitForJob(seen);
            seen = generation;

            // Join if the job still has a slot: the job cannot finish, nor a newer one start, before every slot is
            // taken and left, so the fields read in Work belong to this generation.
            if (Interlocked.Decrement(ref s_slots) >= 0)
            {
                Work();
                if (Interlocked.Decrement(ref s_active) == 0)
                {
                    Done.Set();
                }
            }
        }
    }

    /// <summary>Spins a little (longer when primed), then sleeps, until a generation other than <paramref name="seen"/> is posted.</summary>
    private static int WaitForJob(int seen)
    {
        var spinner = new SpinWait();
        while (true)
        {
            int generation = Volatile.Read(ref s_generation);
            if (generation != seen)
            {
                return generation;
            }

            if (!spinner.NextSpinWillYield || Stopwatch.GetTimestamp() < Volatile.Read(ref s_spinUntil))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            lock (Sleep)
            {
                Interlocked.Increment(ref s_sleeping);
                // Rechecked under the lock: Run and Prime pulse under it after their writes, so no wake-up is lost.
                if (Volatile.Read(ref s_generation) == seen && Stopwatch.GetTimestamp() >= Volatile.Read(ref s_spinUntil))
                {
                    Monitor.Wait(Sleep);
                }

                Interlocked.Decrement(ref s_sleeping);
            }

            spinner.Reset();
        }
    }

    private static void EnsureThreads(int count)
    {
        Debug.Assert(Monitor.IsEntered(Gate));
        while (s_threadsStarted < count)
        {
            // Started before the job's generation is posted, and told the generation before it, so it joins that job.
            int seen = s_generation;
            var t = new Thread(() => WorkerLoop(seen)) { IsBackground = true, Name = $"LossKit worker {s_threadsStarted + 1}" };
            t.Start();
            s_threadsStarted++;
        }
    }
}
