using System.Runtime.CompilerServices;

namespace LossKit.Internal;

/// <summary>A kernel over rows [start, end) of a batch; returns the sum of its rows' (weighted) losses.</summary>
internal interface IRowKernel
{
    double Run(int start, int end);
}

/// <summary>
/// Drives row kernels (cross-entropy, NLL, margins, BCE with a per-class pos_weight): rows are grouped into chunks of
/// about <see cref="Pointwise.MinChunk"/> elements, a size that depends only on the shape, and the chunk sums are
/// added in order, so the value does not depend on the thread count. Small inputs stay on the calling thread.
/// </summary>
internal static unsafe class RowDriver
{
    [SkipLocalsInit]
    public static double Run<TKernel>(ref TKernel kernel, int rows, int columns)
        where TKernel : unmanaged, IRowKernel
    {
        if (rows == 0)
        {
            return 0.0;
        }

        long total = (long)rows * Math.Max(columns, 1);
        int rowsPerChunk = (int)Math.Max(1, Pointwise.ChunkSize((int)Math.Min(total, int.MaxValue), Pointwise.MinChunk) / Math.Max(columns, 1));
        int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        double* partials = stackalloc double[chunks];
        var job = new Job<TKernel> { Kernel = kernel, Rows = rows, RowsPerChunk = rowsPerChunk, Partials = partials };
        if (total < Pointwise.ParallelThreshold)
        {
            for (int c = 0; c < chunks; c++)
            {
                job.Run(c);
            }
        }
        else
        {
            WorkPool.Run(ref job, chunks);
        }

        double sum = 0;
        for (int c = 0; c < chunks; c++)
        {
            sum += partials[c];
        }

        return sum;
    }

    private struct Job<TKernel> : IChunkJob
        where TKernel : unmanaged, IRowKernel
    {
        public TKernel Kernel;
        public int Rows, RowsPerChunk;
        public double* Partials;

        public void Run(int chunk)
        {
            int start = chunk * RowsPerChunk;
            Partials[chunk] = Kernel.Run(start, Math.Min(start + RowsPerChunk, Rows));
        }
    }
}
