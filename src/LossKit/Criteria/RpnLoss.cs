using System.Numerics;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Internal;
using LossKit.Regression;

namespace LossKit.Criteria;

/// <summary>The two terms of the Faster R-CNN region-proposal-network loss and their sum.</summary>
/// <param name="Objectness">torchvision's <c>loss_objectness</c>: BCE-with-logits, mean over the sampled anchors.</param>
/// <param name="BoxRegression">torchvision's <c>loss_rpn_box_reg</c>: Smooth L1 summed over sampled positives, divided by the number sampled.</param>
public readonly record struct RpnLossTerms<T>(T Objectness, T BoxRegression)
    where T : IFloatingPointIeee754<T>
{
    /// <summary>Objectness + BoxRegression (torchvision's detection engine weights every term by 1).</summary>
    public T Total => Objectness + BoxRegression;
}

/// <summary>
/// The Faster R-CNN region-proposal-network loss, as torchvision 0.14's <c>RegionProposalNetwork</c> computes it in
/// training (<c>assign_targets_to_anchors</c>, <c>box_coder.encode</c>, <c>fg_bg_sampler</c>, <c>compute_loss</c>).
/// </summary>
/// <remarks>
/// <para>Per image: the IoU matrix between the image's ground truths and the anchors goes through the
/// <see cref="FasterRcnnCriterion{T}.Matcher"/> (default <see cref="Matcher.Rpn"/>: 0.7 / 0.3 with low-quality
/// matches); matched anchors get label 1, below-low anchors 0, the ignore band −1 (an image without ground truths:
/// every anchor 0). The <see cref="FasterRcnnCriterion{T}.Sampler"/> (default 256 per image, 50 % positive) picks the
/// training anchors; the regression targets are the matched ground truths encoded against the anchors with
/// <see cref="FasterRcnnCriterion{T}.BoxCoder"/> (default weights (1, 1, 1, 1)).</para>
/// <para>Loss over the S sampled anchors of the whole batch (P positives):
/// <c>Objectness = (1/S)·Σ_sampled BCE-with-logits(o, label)</c>, <c>BoxRegression = (1/S)·Σ_positives Σ_4 SmoothL1_β(δ − t)</c>
/// with β = 1/9 (the box term is divided by all sampled anchors, positives and negatives).
/// Gradients: <c>∂/∂o = (σ(o) − label)/S</c> on sampled anchors, <c>∂/∂δ = SmoothL1_β'(δ − t)/S</c> on sampled
/// positives, 0 elsewhere. Computed by composing <see cref="BinaryCrossEntropyWithLogitsLoss{T}"/> (Mean) and
/// <see cref="SmoothL1Loss{T}"/> (Sum) on the gathered sampled entries.</para>
/// <para>Layout: <c>objectness [images × A]</c>, <c>boxDeltas [images × A × 4]</c> (image-major, as torchvision's
/// <c>concat_box_prediction_layers</c> flattens them), <c>anchors [A × 4]</c> xyxy shared by all images (torchvision's
/// anchor generator gives every image of a batch the same anchors), ground truths concatenated over images
/// (<c>groundTruthBoxes [Σ Gᵢ × 4]</c> xyxy) with <c>groundTruthCounts [images]</c>.</para>
/// <para>Sampling is random (see <see cref="BalancedPositiveNegativeSampler"/>: deterministic given the seed, not torch's
/// generator). S = 0 (nothing sampled) gives NaN for both terms (0/0, as torchvision) and zero gradients.
/// Ground-truth boxes must be finite with x2 &gt; x1 and y2 &gt; y1 (ArgumentException with the index); anchors are not
/// checked. Allocations: none with a reused <see cref="CriterionWorkspace{T}"/> (it holds the G × A IoU matrix of the
/// largest image); with <c>null</c> a temporary workspace per call.</para>
/// </remarks>
public sealed class RpnLoss<T> : FasterRcnnCriterion<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly BinaryCrossEntropyWithLogitsLoss<T> _objectness = new(Reduction.Mean);

    private RpnLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="matcher">Anchor matcher (default <see cref="Matcher.Rpn"/>: 0.7, 0.3, low-quality matches).</param>
    /// <param name="sampler">Anchor sampler (default <see cref="BalancedPositiveNegativeSampler.Rpn"/>: 256, 0.5).</param>
    /// <param name="boxCoder">Box coder (default <see cref="BoxCoder.Unit"/>: weights (1, 1, 1, 1)).</param>
    /// <param name="beta">Smooth L1 β of the box term (≥ 0, default 1/9).</param>
    public RpnLoss(Matcher? matcher = null, BalancedPositiveNegativeSampler? sampler = null, BoxCoder? boxCoder = null, double beta = 1.0 / 9)
        : base(matcher ?? Matcher.Rpn, sampler ?? BalancedPositiveNegativeSampler.Rpn, boxCoder ?? BoxCoder.Unit, beta)
    {
    }

    /// <summary>The loss terms (match, sample, loss).</summary>
    /// <param name="objectness">Objectness logits, images × A.</param>
    /// <param name="boxDeltas">Predicted deltas, images × A × 4.</param>
    /// <param name="anchors">Anchors, A × 4 xyxy, shared by the images.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes of all images, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthCounts">Gᵢ per image (the number of images is its length).</param>
    /// <param name="seed">Seed of the anchor sampling.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RpnLossTerms<T> Forward(ReadOnlySpan<T> objectness, ReadOnlySpan<T> boxDeltas, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts, ulong seed = 0, CriterionWorkspace<T>? workspace = null) =>
        Run(objectness, boxDeltas, anchors, groundTruthBoxes, groundTruthCounts, default, default, false, seed, workspace);

    /// <summary>The loss terms and d Total / d objectness, d Total / d boxDeltas.</summary>
    /// <param name="objectness">Objectness logits, images × A.</param>
    /// <param name="boxDeltas">Predicted deltas, images × A × 4.</param>
    /// <param name="anchors">Anchors, A × 4 xyxy, shared by the images.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes of all images, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="objectnessGradient">Receives d Total / d objectness (images × A; 0 for anchors not sampled).</param>
    /// <param name="boxDeltasGradient">Receives d Total / d boxDeltas (images × A × 4; 0 except sampled positives).</param>
    /// <param name="seed">Seed of the anchor sampling.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RpnLossTerms<T> ForwardBackward(ReadOnlySpan<T> objectness, ReadOnlySpan<T> boxDeltas, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts, Span<T> objectnessGradient, Span<T> boxDeltasGradient,
        ulong seed = 0, CriterionWorkspace<T>? workspace = null) =>
        Run(objectness, boxDeltas, anchors, groundTruthBoxes, groundTruthCounts, objectnessGradient, boxDeltasGradient, true, seed, workspace);

    /// <summary>
    /// The target assignment alone (torchvision's <c>assign_targets_to_anchors</c> + <c>box_coder.encode</c>): per image
    /// and anchor the label (1 matched, 0 background, −1 ignored) and the regression target (the matched ground truth
    /// encoded against the anchor; for below-threshold anchors the match is clamped to ground truth 0, and an image
    /// without ground truths encodes a zero box, which gives −∞ size deltas — unused, as in torchvision).
    /// </summary>
    /// <param name="anchors">Anchors, A × 4 xyxy.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="labels">Receives images × A labels.</param>
    /// <param name="regressionTargets">Receives images × A × 4 targets.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public void AssignTargets(ReadOnlySpan<T> anchors, ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts,
        Span<int> labels, Span<T> regressionTargets, CriterionWorkspace<T>? workspace = null)
    {
        BoxConvert.CheckBoxes(anchors.Length, nameof(anchors));
        int a = anchors.Length / 4, images = groundTruthCounts.Length;
        CheckGroundTruths(groundTruthBoxes, groundTruthCounts);
        CriteriaChecks.QualityMatrix(groundTruthCounts, a, nameof(groundTruthCounts), "anchors");
        ThrowHelper.CheckDestination(labels.Length, ThrowHelper.Product(nameof(labels), "images × anchors", images, a), nameof(labels));
        ThrowHelper.CheckDestination(regressionTargets.Length, ThrowHelper.Product(nameof(regressionTargets), "images × anchors × 4", images, a, 4), nameof(regressionTargets));
        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> targets = wide.Output(images * a * 4);
            Float32.AssignTargets(wide.Read(anchors), wide.Read(groundTruthBoxes), groundTruthCounts, labels, targets, workspace?.Float32);
            WideScope<T>.Narrow(targets, regressionTargets);

            return;
        }

        Scratch ws = (workspace ?? new()).Scratch<Scratch>();
        var weights = new BoxCoder.Weights<T>(BoxCoder);
        Span<int> matches = ws.Matches.Get(a);
        Span<T> zero = stackalloc T[4];
        zero.Clear();
        int offset = 0;
        for (int i = 0; i < images; i++)
        {
            int g = groundTruthCounts[i];
            ReadOnlySpan<T> gt = groundTruthBoxes.Slice(offset * 4, g * 4);
            Span<int> imageLabels = labels.Slice(i * a, a);
            Assign(anchors, gt, matches, imageLabels, ws);
            for (int k = 0; k < a; k++)
            {
                ReadOnlySpan<T> box = g == 0 ? zero : gt.Slice(Math.Max(matches[k], 0) * 4, 4);
                BoxCoder.EncodeOne(weights, box, anchors.Slice(k * 4, 4), regressionTargets.Slice((i * a + k) * 4, 4));
            }

            offset += g;
        }
    }

    /// <summary>
    /// The loss stage alone (torchvision's <c>compute_loss</c>), on given labels, regression targets and sample.
    /// </summary>
    /// <param name="objectness">Objectness logits, N (all images' anchors).</param>
    /// <param name="boxDeltas">Predicted deltas, N × 4.</param>
    /// <param name="labels">N labels (1, 0, −1; see <see cref="AssignTargets"/>).</param>
    /// <param name="regressionTargets">N × 4 regression targets.</param>
    /// <param name="selection">N sample marks: a <see cref="SampleKind.Positive"/> needs label ≥ 1, a <see cref="SampleKind.Negative"/> label 0.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RpnLossTerms<T> ForwardFromTargets(ReadOnlySpan<T> objectness, ReadOnlySpan<T> boxDeltas, ReadOnlySpan<int> labels,
        ReadOnlySpan<T> regressionTargets, ReadOnlySpan<SampleKind> selection, CriterionWorkspace<T>? workspace = null) =>
        RunFromTargets(objectness, boxDeltas, labels, regressionTargets, selection, default, default, false, workspace);

    /// <summary>The loss stage alone with gradients (see <see cref="ForwardFromTargets"/>).</summary>
    /// <param name="objectness">Objectness logits, N.</param>
    /// <param name="boxDeltas">Predicted deltas, N × 4.</param>
    /// <param name="labels">N labels.</param>
    /// <param name="regressionTargets">N × 4 regression targets.</param>
    /// <param name="selection">N sample marks.</param>
    /// <param name="objectnessGradient">Receives d Total / d objectness (N).</param>
    /// <param name="boxDeltasGradient">Receives d Total / d boxDeltas (N × 4).</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RpnLossTerms<T> ForwardBackwardFromTargets(ReadOnlySpan<T> objectness, ReadOnlySpan<T> boxDeltas, ReadOnlySpan<int> labels,
        ReadOnlySpan<T> regressionTargets, ReadOnlySpan<SampleKind> selection, Span<T> objectnessGradient, Span<T> boxDeltasGradient,
        CriterionWorkspace<T>? workspace = null) =>
        RunFromTargets(objectness, boxDeltas, labels, regressionTargets, selection, objectnessGradient, boxDeltasGradient, true, workspace);

    /// <summary>The same criterion in float32, which computes for narrow element types.</summary>
    private RpnLoss<float> Float32 => _float32 ??= new RpnLoss<float>(Matcher, Sampler, BoxCoder, Beta);

    /// <summary>A narrow type's results: the float32 gradients and terms rounded once.</summary>
    private static RpnLossTerms<T> Narrow(RpnLossTerms<float> terms, ReadOnlySpan<float> objectness, ReadOnlySpan<float> boxDeltas,
        Span<T> objectnessGradient, Span<T> boxDeltasGradient)
    {
        WideScope<T>.Narrow(objectness, objectnessGradient);
        WideScope<T>.Narrow(boxDeltas, boxDeltasGradient);
        return new RpnLossTerms<T>(T.CreateTruncating(terms.Objectness), T.CreateTruncating(terms.BoxRegression));
    }

    private static void CheckGroundTruths(ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts)
    {
        int total = CriteriaChecks.GroundTruthTotal(groundTruthCounts);
        ThrowHelper.CheckLength(groundTruthBoxes.Length, total * 4, nameof(groundTruthBoxes), "4 per ground truth, Σ groundTruthCounts × 4");
        CriteriaChecks.PositiveXyxy(groundTruthBoxes, nameof(groundTruthBoxes));
    }

    /// <summary>One image's labels: 1 matched, 0 below low, −1 between thresholds; all 0 without ground truths.</summary>
    private void Assign(ReadOnlySpan<T> anchors, ReadOnlySpan<T> gt, Span<int> matches, Span<int> labels, Scratch ws)
    {
        int g = gt.Length / 4, a = anchors.Length / 4;
        if (g == 0)
        {
            labels.Clear();
            return;
        }

        Span<T> quality = ws.Quality.Get((long)g * a);
        BoxOps.Iou(gt, anchors, quality);
        Matcher.MatchUnchecked<T>(quality, g, a, matches);
        for (int k = 0; k < a; k++)
        {
            int m = matches[k];
            labels[k] = m >= 0 ? 1 : m == Matcher.BelowLowThreshold ? 0 : -1;
        }
    }

    private RpnLossTerms<T> Run(ReadOnlySpan<T> objectness, ReadOnlySpan<T> boxDeltas, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts, Span<T> objectnessGradient, Span<T> boxDeltasGradient,
        bool wantGradient, ulong seed, CriterionWorkspace<T>? workspace)
    {
        BoxConvert.CheckBoxes(anchors.Length, nameof(anchors));
        int a = anchors.Length / 4, images = groundTruthCounts.Length;
        CriteriaChecks.Shape(objectness.Length, images, a, nameof(objectness), "images × anchors");
        CriteriaChecks.Shape(boxDeltas.Length, images, 4L * a, nameof(boxDeltas), "images × anchors·4");
        CheckGroundTruths(groundTruthBoxes, groundTruthCounts);
        CriteriaChecks.QualityMatrix(groundTruthCounts, a, nameof(groundTruthCounts), "anchors");
        if (wantGradient)
        {
            ThrowHelper.CheckDestination(objectnessGradient.Length, objectness.Length, nameof(objectnessGradient));
            ThrowHelper.CheckDestination(boxDeltasGradient.Length, boxDeltas.Length, nameof(boxDeltasGradient));
        }

        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> go = wantGradient ? wide.Output(objectness.Length) : default, gb = wantGradient ? wide.Output(boxDeltas.Length) : default;
            RpnLossTerms<float> terms = Float32.Run(wide.Read(objectness), wide.Read(boxDeltas), wide.Read(anchors), wide.Read(groundTruthBoxes),
                groundTruthCounts, go, gb, wantGradient, seed, workspace?.Float32);
            return Narrow(terms, go, gb, objectnessGradient, boxDeltasGradient);
        }

        Scratch ws = (workspace ?? new()).Scratch<Scratch>();
        int maxPositives = Math.Min(a, Sampler.MaxPositives) * images;
        int maxSampled = Math.Min(a, Sampler.BatchSizePerImage) * images;
        Span<int> positives = ws.Positives.Get(maxPositives);
        Span<int> negatives = ws.Negatives.Get(maxSampled);
        Span<T> targets = ws.DeltaTargets.Get(4L * maxPositives);
        Span<int> matches = ws.Matches.Get(a);
        Span<int> labels = ws.Labels.Get(a);
        Span<SampleKind> selection = ws.Selection.Get(a);
        var weights = new BoxCoder.Weights<T>(BoxCoder);
        int p = 0, q = 0, offset = 0;
        for (int i = 0; i < images; i++)
        {
            int g = groundTruthCounts[i];
            ReadOnlySpan<T> gt = groundTruthBoxes.Slice(offset * 4, g * 4);
            Assign(anchors, gt, matches, labels, ws);
            Sampler.SampleUnchecked(labels, selection, SplitMix64.ForImage(seed, i));
            for (int k = 0; k < a; k++)
            {
                if (selection[k] == SampleKind.Positive)
                {
                    positives[p] = i * a + k;
                    BoxCoder.EncodeOne(weights, gt.Slice(matches[k] * 4, 4), anchors.Slice(k * 4, 4), targets.Slice(p * 4, 4));
                    p++;
                }
                else if (selection[k] == SampleKind.Negative)
                {
                    negatives[q++] = i * a + k;
                }
            }

            offset += g;
        }

        return Loss(objectness, boxDeltas, positives[..p], negatives[..q], targets[..(4 * p)], objectnessGradient, boxDeltasGradient, wantGradient, ws);
    }

    private RpnLossTerms<T> RunFromTargets(ReadOnlySpan<T> objectness, ReadOnlySpan<T> boxDeltas, ReadOnlySpan<int> labels,
        ReadOnlySpan<T> regressionTargets, ReadOnlySpan<SampleKind> selection, Span<T> objectnessGradient, Span<T> boxDeltasGradient,
        bool wantGradient, CriterionWorkspace<T>? workspace)
    {
        int n = objectness.Length;
        ThrowHelper.CheckLength(boxDeltas.Length, ThrowHelper.Product(nameof(objectness), "objectness logits × 4 (the box deltas)", n, 4), nameof(boxDeltas), "4 per objectness logit");
        ThrowHelper.CheckLength(labels.Length, n, nameof(labels), "one per objectness logit");
        ThrowHelper.CheckLength(regressionTargets.Length, 4 * n, nameof(regressionTargets), "4 per objectness logit");
        ThrowHelper.CheckLength(selection.Length, n, nameof(selection), "one per objectness logit");
        if (wantGradient)
        {
            ThrowHelper.CheckDestination(objectnessGradient.Length, n, nameof(objectnessGradient));
            ThrowHelper.CheckDestination(boxDeltasGradient.Length, 4 * n, nameof(boxDeltasGradient));
        }

        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> go = wantGradient ? wide.Output(n) : default, gb = wantGradient ? wide.Output(4 * n) : default;
            RpnLossTerms<float> terms = Float32.RunFromTargets(wide.Read(objectness), wide.Read(boxDeltas), labels, wide.Read(regressionTargets), selection,
                go, gb, wantGradient, workspace?.Float32);
            return Narrow(terms, go, gb, objectnessGradient, boxDeltasGradient);
        }

        int p = 0, q = 0;
        for (int k = 0; k < n; k++)
        {
            SampleKind kind = selection[k];
            if (kind == SampleKind.Positive)
            {
                if (labels[k] < 1)
                {
                    ThrowHelper.Argument(nameof(selection), $"selection[{k}] is Positive but labels[{k}] = {labels[k]} is not a positive label (>= 1).");
                }

                p++;
            }
            else if (kind == SampleKind.Negative)
            {
                if (labels[k] != 0)
                {
                    ThrowHelper.Argument(nameof(selection), $"selection[{k}] is Negative but labels[{k}] = {labels[k]} is not 0.");
                }

                q++;
            }
            else if (kind != SampleKind.None)
            {
                ThrowHelper.OutOfRange(nameof(selection), kind, $"selection[{k}] = {kind} is not a SampleKind.");
            }
        }

        Scratch ws = (workspace ?? new()).Scratch<Scratch>();
        Span<int> positives = ws.Positives.Get(p);
        Span<int> negatives = ws.Negatives.Get(q);
        Span<T> targets = ws.DeltaTargets.Get(4L * p);
        p = q = 0;
        for (int k = 0; k < n; k++)
        {
            if (selection[k] == SampleKind.Positive)
            {
                regressionTargets.Slice(k * 4, 4).CopyTo(targets.Slice(p * 4, 4));
                positives[p++] = k;
            }
            else if (selection[k] == SampleKind.Negative)
            {
                negatives[q++] = k;
            }
        }

        return Loss(objectness, boxDeltas, positives, negatives, targets, objectnessGradient, boxDeltasGradient, wantGradient, ws);
    }

    /// <summary>compute_loss on gathered indices: BCE mean over positives then negatives, Smooth L1 sum over positives / S.</summary>
    private RpnLossTerms<T> Loss(ReadOnlySpan<T> objectness, ReadOnlySpan<T> boxDeltas, ReadOnlySpan<int> positives, ReadOnlySpan<int> negatives,
        ReadOnlySpan<T> targets, Span<T> objectnessGradient, Span<T> boxDeltasGradient, bool wantGradient, Scratch ws)
    {
        int p = positives.Length, s = p + negatives.Length;
        Span<T> logits = ws.Logits.Get(s), labels = ws.Targets.Get(s);
        for (int k = 0; k < p; k++)
        {
            logits[k] = objectness[positives[k]];
            labels[k] = T.One;
        }

        for (int k = 0; k < negatives.Length; k++)
        {
            logits[p + k] = objectness[negatives[k]];
            labels[p + k] = T.Zero;
        }

        Span<T> deltas = ws.Deltas.Get(4L * p);
        for (int k = 0; k < p; k++)
        {
            boxDeltas.Slice(positives[k] * 4, 4).CopyTo(deltas.Slice(k * 4, 4));
        }

        T sampled = T.CreateTruncating(s);
        T box = BoxLoss.Forward(deltas, targets) / sampled;
        T objectnessValue;
        if (!wantGradient)
        {
            objectnessValue = _objectness.Forward(logits, labels);
            return new RpnLossTerms<T>(objectnessValue, box);
        }

        Span<T> gradient = ws.Gradient.Get(s);
        objectnessValue = _objectness.ForwardBackward(logits, labels, gradient);
        objectnessGradient[..objectness.Length].Clear();
        for (int k = 0; k < p; k++)
        {
            objectnessGradient[positives[k]] = gradient[k];
        }

        for (int k = 0; k < negatives.Length; k++)
        {
            objectnessGradient[negatives[k]] = gradient[p + k];
        }

        boxDeltasGradient[..boxDeltas.Length].Clear();
        if (p > 0)
        {
            // d(sum / S) = (1/S)·d sum: the Smooth L1 backward with upstream 1/S, as autograd chains the division.
            Span<T> deltaGradient = ws.DeltaGradient.Get(4L * p);
            BoxLoss.Backward(deltas, targets, T.One / sampled, deltaGradient);
            for (int k = 0; k < p; k++)
            {
                deltaGradient.Slice(k * 4, 4).CopyTo(boxDeltasGradient.Slice(positives[k] * 4, 4));
            }
        }

        return new RpnLossTerms<T>(objectnessValue, box);
    }

    /// <summary>The RPN's buffers in a <see cref="CriterionWorkspace{T}"/>.</summary>
    internal sealed class Scratch : CriterionScratch
    {
        public ScratchBuffer<T> Quality, Logits, Targets, Gradient, Deltas, DeltaTargets, DeltaGradient;
        public ScratchBuffer<int> Matches, Labels, Positives, Negatives;
        public ScratchBuffer<SampleKind> Selection;

        public override long AllocatedBytes => Quality.Bytes + Logits.Bytes + Targets.Bytes + Gradient.Bytes + Deltas.Bytes + DeltaTargets.Bytes
            + DeltaGradient.Bytes + Matches.Bytes + Labels.Bytes + Positives.Bytes + Negatives.Bytes + Selection.Bytes;
    }
}
