using System.Numerics;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.MetricLearning;

/// <summary>
/// The paper's center update behind <see cref="CenterLoss{T}.UpdateCenters"/> (Wen et al. eq. 4): not a gradient step,
/// a per-class move of each center toward the mean of its samples in the batch.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal static unsafe class CenterUpdate<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Checks the arguments (names as in <see cref="CenterLoss{T}.UpdateCenters"/>), counts n_j and moves the centers.</summary>
    public static void Apply(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes, int dim, Span<T> centers, double alpha, Span<int> counts)
    {
        ThrowHelper.CheckAtLeast(alpha, 0.0, nameof(alpha));
        new FeaturesCentersCall<T>(input, target, centers, batch, classes, dim).CheckShapes();
        ThrowHelper.CheckDestination(counts.Length, classes, nameof(counts));
        if (centers.Overlaps(input))
        {
            ThrowHelper.Argument(nameof(centers), "centers must not overlap input.");
        }

        DataChecks.ClassIndices(target, classes, 0, false);
        if (Float32Path.Applies<T>())
        {
            // Narrow types: the centres updated in float32 and rounded once.
            using var wide = WideScope<T>.Start();
            Span<float> wideCenters = wide.Copy(centers[..(classes * dim)]);
            CenterUpdate<float>.Apply(wide.Read(input), target, batch, classes, dim, wideCenters, alpha, counts);
            WideScope<T>.Narrow(wideCenters, centers);

            return;
        }

        counts[..classes].Clear();
        foreach (int y in target)
        {
            counts[y]++;
        }

        fixed (T* x = input, c = centers)
        fixed (int* y = target, n = counts)
        {
            var job = new UpdateJob
            {
                X = x, Centers = c, Y = y, Counts = n, Batch = batch, Dim = dim, Classes = classes, Alpha = T.CreateTruncating(alpha),
                ClassesPerChunk = CenterLossKernels<T>.ClassesPerChunk(classes),
            };
            CenterLossKernels<T>.RunChunks(ref job, classes, batch, dim);
        }
    }

    /// <summary>
    /// The update, chunked by class ranges so that every center row is written by one chunk, each class's samples
    /// added in batch order (a scan of the batch per chunk; deterministic whatever the thread count).
    /// </summary>
    private struct UpdateJob : IChunkJob
    {
        public T* X, Centers;
        public int* Y, Counts;
        public T Alpha;
        public int Batch, Dim, Classes, ClassesPerChunk;

        public readonly void Run(int chunk)
        {
            int first = chunk * ClassesPerChunk, last = Math.Min(first + ClassesPerChunk, Classes);

            // c_j ← c_j·(1 − α·n_j/(1 + n_j)), then + α/(1 + n_j)·xᵢ for each sample of class j, in batch order.
            for (int j = first; j < last; j++)
            {
                int n = Counts[j];
                if (n == 0)
                {
                    continue;
                }

                T nj = T.CreateTruncating(n);
                T keep = T.One - Alpha * nj / (T.One + nj);
                T* c = Centers + (long)j * Dim;
                for (int q = 0; q < Dim; q++)
                {
                    c[q] *= keep;
                }
            }

            for (int i = 0; i < Batch; i++)
            {
                int j = Y[i];
                if (j < first || j >= last)
                {
                    continue;
                }

                T f = Alpha / (T.One + T.CreateTruncating(Counts[j]));
                T* c = Centers + (long)j * Dim;
                T* x = X + (long)i * Dim;
                int q = 0;
                if (VMath.IsVectorized<T>())
                {
                    Vector<T> vf = new(f);
                    for (; q <= Dim - Vector<T>.Count; q += Vector<T>.Count)
                    {
                        (Vector.Load(c + q) + Vector.Load(x + q) * vf).Store(c + q);
                    }
                }

                for (; q < Dim; q++)
                {
                    c[q] += x[q] * f;
                }
            }
        }
    }
}
