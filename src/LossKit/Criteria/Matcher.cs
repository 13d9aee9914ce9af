using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Detection;
using LossKit.Internal;

namespace LossKit.Criteria;

/// <summary>
/// Assigns each prediction (anchor, proposal) at most one ground truth from a quality matrix, as torchvision's
/// <c>torchvision.models.detection._utils.Matcher(high_threshold, low_threshold, allow_low_quality_matches)</c>.
/// </summary>
/// <remarks>
/// <para>The quality matrix is G × N, ground truths × predictions, row-major (torchvision's M × N layout; box IoU from
/// <see cref="BoxOps.Iou{T}"/> in <see cref="MatchBoxes{T}"/>). For each prediction j the best ground truth is the
/// maximum of column j (the first row wins a tie, NaN beats any number, as torch.max(dim=0)). The match is then
/// <see cref="BelowLowThreshold"/> (−1) if that maximum is &lt; low, <see cref="BetweenThresholds"/> (−2) if it is in
/// [low, high), else the ground truth's index. Thresholds are compared in the element type (float compares with
/// (float)0.7, as a float32 tensor does).</para>
/// <para>Low-quality matches: for every ground truth i, the predictions whose quality equals the highest quality in row
/// i (all ties, however low, but not NaN) get their best match back (the column's argmax, which need not be i), even
/// if they fell below a threshold.</para>
/// <para>Presets: <see cref="Rpn"/> (0.7, 0.3, low-quality matches), <see cref="RoiHeads"/> (0.5, 0.5, none),
/// <see cref="RetinaNet"/> (0.5, 0.4, low-quality matches).</para>
/// <para>No ground truths (G = 0): every prediction is −1. torchvision's Matcher raises on an empty matrix; its detectors
/// treat such images as all background, which is what this gives. The matcher allocates nothing (its per-ground-truth
/// maxima live on the stack up to 1024 ground truths, in a pooled array beyond), and splits large matrices across
/// cores by blocks of columns (the result does not depend on the split).</para>
/// </remarks>
public sealed class Matcher
{
    /// <summary>The match of a prediction whose best quality is below the low threshold (torchvision's BELOW_LOW_THRESHOLD).</summary>
    public const int BelowLowThreshold = -1;

    /// <summary>The match of a prediction whose best quality is in [low, high) (torchvision's BETWEEN_THRESHOLDS).</summary>
    public const int BetweenThresholds = -2;

    private const int Block = 512;

    /// <summary>Creates a matcher.</summary>
    /// <param name="highThreshold">Qualities ≥ this are matches (not NaN).</param>
    /// <param name="lowThreshold">Qualities below this are background; [low, high) is the ignore band (not NaN, ≤ high).</param>
    /// <param name="allowLowQualityMatches">Give each ground truth's best predictions (ties included) their match back.</param>
    public Matcher(double highThreshold, double lowThreshold, bool allowLowQualityMatches = false)
    {
        if (double.IsNaN(highThreshold))
        {
            ThrowHelper.OutOfRange(nameof(highThreshold), highThreshold, "highThreshold must not be NaN.");
        }

        if (double.IsNaN(lowThreshold) || lowThreshold > highThreshold)
        {
            ThrowHelper.OutOfRange(nameof(lowThreshold), lowThreshold, $"lowThreshold must be <= highThreshold ({highThreshold}), got {lowThreshold}.");
        }

        HighThreshold = highThreshold;
        LowThreshold = lowThreshold;
        AllowLowQualityMatches = allowLowQualityMatches;
    }

    /// <summary>torchvision's RPN matcher: (0.7, 0.3, allow_low_quality_matches=True).</summary>
    public static Matcher Rpn { get; } = new(0.7, 0.3, true);

    /// <summary>torchvision's RoI-heads matcher: (0.5, 0.5, allow_low_quality_matches=False).</summary>
    public static Matcher RoiHeads { get; } = new(0.5, 0.5, false);

    /// <summary>torchvision's RetinaNet matcher: (0.5, 0.4, allow_low_quality_matches=True).</summary>
    public static Matcher RetinaNet { get; } = new(0.5, 0.4, true);

    /// <summary>Qualities ≥ this are matches.</summary>
    public double HighThreshold { get; }

    /// <summary>Qualities below this are background.</summary>
    public double LowThreshold { get; }

    /// <summary>Whether each ground truth's best predictions keep their match.</summary>
    public bool AllowLowQualityMatches { get; }

    /// <summary>Matches predictions to ground truths from a quality matrix.</summary>
    /// <param name="quality">G × N qualities (ground truths × predictions), row-major.</param>
    /// <param name="groundTruths">G (≥ 0).</param>
    /// <param name="predictions">N (≥ 0).</param>
    /// <param name="matches">Receives N matches: a ground-truth index, −1 or −2.</param>
    public void Match<T>(ReadOnlySpan<T> quality, int groundTruths, int predictions, Span<int> matches)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ThrowHelper.CheckDimension(groundTruths, nameof(groundTruths));
        ThrowHelper.CheckDimension(predictions, nameof(predictions));
        ThrowHelper.CheckMatrix(quality.Length, groundTruths, predictions, nameof(quality), nameof(groundTruths), nameof(predictions));
        ThrowHelper.CheckDestination(matches.Length, predictions, nameof(matches));
        if (Float32Path.Applies<T>())
        {
            // Narrow types: compared in float32 against the float32 thresholds, as every narrow-type path computes.
            using var wide = WideScope<T>.Start();
            MatchUnchecked(wide.Read(quality), groundTruths, predictions, matches[..predictions]);

            return;
        }

        MatchUnchecked(quality, groundTruths, predictions, matches[..predictions]);
    }

    /// <summary>
    /// Matches predicted boxes to ground-truth boxes by IoU (torchvision's <c>box_iou(gt, predicted)</c> then the
    /// matcher). <paramref name="quality"/> is caller-provided scratch memory that receives the G × N IoU matrix.
    /// </summary>
    /// <param name="groundTruthBoxes">G × 4 xyxy boxes.</param>
    /// <param name="predictedBoxes">N × 4 xyxy boxes.</param>
    /// <param name="matches">Receives N matches.</param>
    /// <param name="quality">Scratch of at least G × N elements; holds the IoU matrix afterwards.</param>
    public void MatchBoxes<T>(ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<T> predictedBoxes, Span<int> matches, Span<T> quality)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BoxConvert.CheckBoxes(groundTruthBoxes.Length, nameof(groundTruthBoxes));
        BoxConvert.CheckBoxes(predictedBoxes.Length, nameof(predictedBoxes));
        int g = groundTruthBoxes.Length / 4, n = predictedBoxes.Length / 4;
        ThrowHelper.CheckDestination(matches.Length, n, nameof(matches));
        ThrowHelper.CheckDestination(quality.Length, ThrowHelper.Product(nameof(quality), "ground truths × predictions (the IoU matrix)", g, n), nameof(quality));
        if (Float32Path.Applies<T>())
        {
            // Narrow types: the IoU matrix in float32 (torchvision's box_iou upcasts half too), matched on those values,
            // then rounded into quality.
            using var wide = WideScope<T>.Start();
            Span<float> iou = wide.Output(g * n);
            BoxOps.Iou(wide.Read(groundTruthBoxes), wide.Read(predictedBoxes), iou);
            MatchUnchecked<float>(iou, g, n, matches[..n]);
            WideScope<T>.Narrow(iou, quality);

            return;
        }

        BoxOps.Iou(groundTruthBoxes, predictedBoxes, quality);
        MatchUnchecked<T>(quality[..(g * n)], g, n, matches[..n]);
    }

    /// <summary>The matcher on checked arguments (the criteria call this directly).</summary>
    internal unsafe void MatchUnchecked<T>(ReadOnlySpan<T> quality, int g, int n, Span<int> matches)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0)
        {
            return;
        }

        if (g == 0)
        {
            matches.Fill(BelowLowThreshold);
            return;
        }

        T[]? rented = null;
        scoped Span<T> highest = default;
        if (AllowLowQualityMatches)
        {
            highest = g <= 1024 ? stackalloc T[g] : (rented = ArrayPool<T>.Shared.Rent(g)).AsSpan(0, g);
            for (int i = 0; i < g; i++)
            {
                // Row maximum, NaN if the row has a NaN (torch.max over dim 1); a NaN maximum then matches nothing.
                highest[i] = TensorPrimitives.Max(quality.Slice(i * n, n));
            }
        }

        try
        {
            fixed (T* q = quality, h = highest)
            fixed (int* m = matches)
            {
                var job = new Job<T>
                {
                    Q = q, Highest = AllowLowQualityMatches ? h : null, Matches = m, G = g, N = n,
                    Low = T.CreateTruncating(LowThreshold), High = T.CreateTruncating(HighThreshold),
                };
                int blocks = (n + Block - 1) / Block;
                if ((long)g * n < Pointwise.ParallelThreshold)
                {
                    for (int b = 0; b < blocks; b++)
                    {
                        job.Run(b);
                    }
                }
                else
                {
                    WorkPool.Run(ref job, blocks);
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<T>.Shared.Return(rented);
            }
        }
    }

    /// <summary>One block of columns: argmax down the rows, thresholds, then the low-quality restore.</summary>
    private unsafe struct Job<T> : IChunkJob
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* Q, Highest;
        public int* Matches;
        public int G, N;
        public T Low, High;

        public readonly void Run(int block)
        {
            int j0 = block * Block;
            int count = Math.Min(Block, N - j0);
            T* best = stackalloc T[Block];
            int* arg = stackalloc int[Block];
            T* row = Q + j0;
            for (int j = 0; j < count; j++)
            {
                best[j] = row[j];
                arg[j] = 0;
            }

            for (int i = 1; i < G; i++)
            {
                row = Q + (long)i * N + j0;
                for (int j = 0; j < count; j++)
                {
                    T v = row[j];

                    // torch.max(dim): strictly greater replaces (the first maximum wins), and the first NaN wins over numbers.
                    if (v > best[j] || (T.IsNaN(v) && !T.IsNaN(best[j])))
                    {
                        best[j] = v;
                        arg[j] = i;
                    }
                }
            }

            int* m = Matches + j0;
            for (int j = 0; j < count; j++)
            {
                T v = best[j];
                m[j] = v < Low ? BelowLowThreshold : v < High ? BetweenThresholds : arg[j];
            }

            if (Highest != null)
            {
                for (int i = 0; i < G; i++)
                {
                    row = Q + (long)i * N + j0;
                    T h = Highest[i];
                    for (int j = 0; j < count; j++)
                    {
                        if (row[j] == h)
                        {
                            m[j] = arg[j];
                        }
                    }
                }
            }
        }
    }
}
