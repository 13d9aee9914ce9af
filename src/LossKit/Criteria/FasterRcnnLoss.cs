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

/// <summary>The two terms of the Faster R-CNN RoI-head loss and their sum.</summary>
/// <param name="Classifier">torchvision's <c>loss_classifier</c>: cross-entropy, mean over the sampled RoIs.</param>
/// <param name="BoxRegression">torchvision's <c>loss_box_reg</c>: Smooth L1 on the positives' class-specific deltas, summed, divided by the number of sampled RoIs.</param>
public readonly record struct FastRcnnLossTerms<T>(T Classifier, T BoxRegression)
    where T : IFloatingPointIeee754<T>
{
    /// <summary>Classifier + BoxRegression.</summary>
    public T Total => Classifier + BoxRegression;
}

/// <summary>Workspace buffer numbers used by the Faster R-CNN criteria.</summary>
internal static class RcnnSlots
{
    public const int Quality = 0, Logits = 1, Targets = 2, Gradient = 3, Deltas = 4, DeltaTargets = 5, DeltaGradient = 6, Candidates = 7;
    public const int Matches = 0, Labels = 1, Positives = 2, Negatives = 3;
    public const int Selection = 0;
}

/// <summary>
/// The Faster R-CNN region-proposal-network loss, as torchvision 0.14's <c>RegionProposalNetwork</c> computes it in
/// training (<c>assign_targets_to_anchors</c>, <c>box_coder.encode</c>, <c>fg_bg_sampler</c>, <c>compute_loss</c>).
/// </summary>
/// <remarks>
/// <para>Per image: the IoU matrix between the image's ground truths and the anchors goes through the
/// <see cref="Matcher"/> (default <see cref="Matcher.Rpn"/>: 0.7 / 0.3 with low-quality matches); matched anchors get
/// label 1, below-low anchors 0, the ignore band −1 (an image without ground truths: every anchor 0). The
/// <see cref="Sampler"/> (default 256 per image, 50 % positive) picks the training anchors; the regression targets are
/// the matched ground truths encoded against the anchors with <see cref="BoxCoder"/> (default weights (1, 1, 1, 1)).</para>
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
public sealed class RpnLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly BinaryCrossEntropyWithLogitsLoss<T> _objectness = new(Reduction.Mean);
    private readonly SmoothL1Loss<T> _box;

    /// <summary>Creates the loss.</summary>
    /// <param name="matcher">Anchor matcher (default <see cref="Matcher.Rpn"/>: 0.7, 0.3, low-quality matches).</param>
    /// <param name="sampler">Anchor sampler (default <see cref="BalancedPositiveNegativeSampler.Rpn"/>: 256, 0.5).</param>
    /// <param name="boxCoder">Box coder (default <see cref="BoxCoder.Unit"/>: weights (1, 1, 1, 1)).</param>
    /// <param name="beta">Smooth L1 β of the box term (≥ 0, default 1/9).</param>
    public RpnLoss(Matcher? matcher = null, BalancedPositiveNegativeSampler? sampler = null, BoxCoder? boxCoder = null, double beta = 1.0 / 9)
    {
        Matcher = matcher ?? Matcher.Rpn;
        Sampler = sampler ?? BalancedPositiveNegativeSampler.Rpn;
        BoxCoder = boxCoder ?? BoxCoder.Unit;
        _box = new SmoothL1Loss<T>(Reduction.Sum, beta);
        Beta = beta;
    }

    /// <summary>The anchor matcher.</summary>
    public Matcher Matcher { get; }

    /// <summary>The anchor sampler.</summary>
    public BalancedPositiveNegativeSampler Sampler { get; }

    /// <summary>The box coder of the regression targets.</summary>
    public BoxCoder BoxCoder { get; }

    /// <summary>Smooth L1 β of the box term.</summary>
    public double Beta { get; }

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
        ThrowHelper.CheckDestination(labels.Length, checked(images * a), nameof(labels));
        ThrowHelper.CheckDestination(regressionTargets.Length, checked(images * a * 4), nameof(regressionTargets));
        CriterionWorkspace<T> ws = workspace ?? new();
        var weights = new BoxCoder.Weights<T>(BoxCoder);
        Span<int> matches = ws.Ints(RcnnSlots.Matches, a);
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

    private static void CheckGroundTruths(ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts)
    {
        int total = CriteriaChecks.GroundTruthTotal(groundTruthCounts);
        ThrowHelper.CheckLength(groundTruthBoxes.Length, total * 4, nameof(groundTruthBoxes), "4 per ground truth, Σ groundTruthCounts × 4");
        CriteriaChecks.PositiveXyxy(groundTruthBoxes, nameof(groundTruthBoxes));
    }

    /// <summary>One image's labels: 1 matched, 0 below low, −1 between thresholds; all 0 without ground truths.</summary>
    private void Assign(ReadOnlySpan<T> anchors, ReadOnlySpan<T> gt, Span<int> matches, Span<int> labels, CriterionWorkspace<T> ws)
    {
        int g = gt.Length / 4, a = anchors.Length / 4;
        if (g == 0)
        {
            labels.Clear();
            return;
        }

        Span<T> quality = ws.Values(RcnnSlots.Quality, (long)g * a);
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
        if (wantGradient)
        {
            ThrowHelper.CheckDestination(objectnessGradient.Length, objectness.Length, nameof(objectnessGradient));
            ThrowHelper.CheckDestination(boxDeltasGradient.Length, boxDeltas.Length, nameof(boxDeltasGradient));
        }

        CriterionWorkspace<T> ws = workspace ?? new();
        int maxPositives = Math.Min(a, Sampler.MaxPositives) * images;
        int maxSampled = Math.Min(a, Sampler.BatchSizePerImage) * images;
        Span<int> positives = ws.Ints(RcnnSlots.Positives, maxPositives);
        Span<int> negatives = ws.Ints(RcnnSlots.Negatives, maxSampled);
        Span<T> targets = ws.Values(RcnnSlots.DeltaTargets, 4L * maxPositives);
        Span<int> matches = ws.Ints(RcnnSlots.Matches, a);
        Span<int> labels = ws.Ints(RcnnSlots.Labels, a);
        Span<SampleKind> selection = ws.Kinds(RcnnSlots.Selection, a);
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
        ThrowHelper.CheckLength(boxDeltas.Length, checked(4 * n), nameof(boxDeltas), "4 per objectness logit");
        ThrowHelper.CheckLength(labels.Length, n, nameof(labels), "one per objectness logit");
        ThrowHelper.CheckLength(regressionTargets.Length, 4 * n, nameof(regressionTargets), "4 per objectness logit");
        ThrowHelper.CheckLength(selection.Length, n, nameof(selection), "one per objectness logit");
        if (wantGradient)
        {
            ThrowHelper.CheckDestination(objectnessGradient.Length, n, nameof(objectnessGradient));
            ThrowHelper.CheckDestination(boxDeltasGradient.Length, 4 * n, nameof(boxDeltasGradient));
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

        CriterionWorkspace<T> ws = workspace ?? new();
        Span<int> positives = ws.Ints(RcnnSlots.Positives, p);
        Span<int> negatives = ws.Ints(RcnnSlots.Negatives, q);
        Span<T> targets = ws.Values(RcnnSlots.DeltaTargets, 4L * p);
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
        ReadOnlySpan<T> targets, Span<T> objectnessGradient, Span<T> boxDeltasGradient, bool wantGradient, CriterionWorkspace<T> ws)
    {
        int p = positives.Length, s = p + negatives.Length;
        Span<T> logits = ws.Values(RcnnSlots.Logits, s), labels = ws.Values(RcnnSlots.Targets, s);
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

        Span<T> deltas = ws.Values(RcnnSlots.Deltas, 4L * p);
        for (int k = 0; k < p; k++)
        {
            boxDeltas.Slice(positives[k] * 4, 4).CopyTo(deltas.Slice(k * 4, 4));
        }

        T sampled = T.CreateTruncating(s);
        T box = _box.Forward(deltas, targets) / sampled;
        T objectnessValue;
        if (!wantGradient)
        {
            objectnessValue = _objectness.Forward(logits, labels);
            return new RpnLossTerms<T>(objectnessValue, box);
        }

        Span<T> gradient = ws.Values(RcnnSlots.Gradient, s);
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
            Span<T> deltaGradient = ws.Values(RcnnSlots.DeltaGradient, 4L * p);
            _box.Backward(deltas, targets, T.One / sampled, deltaGradient);
            for (int k = 0; k < p; k++)
            {
                deltaGradient.Slice(k * 4, 4).CopyTo(boxDeltasGradient.Slice(positives[k] * 4, 4));
            }
        }

        return new RpnLossTerms<T>(objectnessValue, box);
    }
}

/// <summary>
/// The Faster R-CNN RoI-head (box predictor) loss, as torchvision 0.14's <c>roi_heads.fastrcnn_loss</c>, and the
/// training-sample selection that precedes it (<c>RoIHeads.select_training_samples</c>).
/// </summary>
/// <remarks>
/// <para><see cref="SelectTrainingSamples"/>: per image the ground-truth boxes are appended to the proposals, matched
/// with <see cref="Matcher"/> (default <see cref="Matcher.RoiHeads"/>: 0.5 / 0.5, no low-quality matches), labelled
/// with the matched ground truth's class (0 background below low, −1 between the thresholds), sampled with
/// <see cref="Sampler"/> (default 512 per image, 25 % positive) and encoded with <see cref="BoxCoder"/> (default
/// weights (10, 10, 5, 5)). The sampled RoIs keep their order (ascending candidate index, proposals then ground
/// truths), as torchvision's <c>torch.where(pos | neg)</c>. The box head then runs on the sampled RoIs.</para>
/// <para><see cref="ForwardBackward"/> (fastrcnn_loss) on S sampled RoIs of C classes (class 0 = background):
/// <c>Classifier = (1/S)·Σ CE(logits, label)</c>, <c>BoxRegression = (1/S)·Σ_{label &gt; 0} Σ_4 SmoothL1_β(δ[label] − t)</c>
/// with β = 1/9 and δ[label] the 4 deltas of the RoI's own class (box regression is class-specific, S × 4C). The box
/// term is divided by all S RoIs, not the positives (Detectron parity). Gradients: CE's (softmax − onehot)/S on the
/// logits; SmoothL1'/S on the positives' own-class deltas, 0 elsewhere. Composes <see cref="CrossEntropyLoss{T}"/>
/// (Mean) and <see cref="SmoothL1Loss{T}"/> (Sum). S = 0 gives NaN for both terms (as torchvision).</para>
/// <para>Ground-truth labels must be in [0, classes) (0 is background: a ground truth labelled 0 makes its matches
/// negatives, as in torchvision); loss labels in [0, classes). Allocations: none with a reused workspace.</para>
/// </remarks>
public sealed class FastRcnnLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CrossEntropyLoss<T> _classifier = new(Reduction.Mean);
    private readonly SmoothL1Loss<T> _box;

    /// <summary>Creates the loss.</summary>
    /// <param name="matcher">Proposal matcher (default <see cref="Matcher.RoiHeads"/>: 0.5, 0.5).</param>
    /// <param name="sampler">RoI sampler (default <see cref="BalancedPositiveNegativeSampler.RoiHeads"/>: 512, 0.25).</param>
    /// <param name="boxCoder">Box coder (default <see cref="BoxCoder.RoiHeads"/>: weights (10, 10, 5, 5)).</param>
    /// <param name="beta">Smooth L1 β of the box term (≥ 0, default 1/9).</param>
    public FastRcnnLoss(Matcher? matcher = null, BalancedPositiveNegativeSampler? sampler = null, BoxCoder? boxCoder = null, double beta = 1.0 / 9)
    {
        Matcher = matcher ?? Matcher.RoiHeads;
        Sampler = sampler ?? BalancedPositiveNegativeSampler.RoiHeads;
        BoxCoder = boxCoder ?? BoxCoder.RoiHeads;
        _box = new SmoothL1Loss<T>(Reduction.Sum, beta);
        Beta = beta;
    }

    /// <summary>The proposal matcher.</summary>
    public Matcher Matcher { get; }

    /// <summary>The RoI sampler.</summary>
    public BalancedPositiveNegativeSampler Sampler { get; }

    /// <summary>The box coder of the regression targets.</summary>
    public BoxCoder BoxCoder { get; }

    /// <summary>Smooth L1 β of the box term.</summary>
    public double Beta { get; }

    /// <summary>The most RoIs <see cref="SelectTrainingSamples"/> can return: Σᵢ min(Pᵢ + Gᵢ, batch size per image).</summary>
    /// <param name="proposalCounts">Proposals per image.</param>
    /// <param name="groundTruthCounts">Ground truths per image (same length).</param>
    public int SampledCapacity(ReadOnlySpan<int> proposalCounts, ReadOnlySpan<int> groundTruthCounts)
    {
        ThrowHelper.CheckLength(groundTruthCounts.Length, proposalCounts.Length, nameof(groundTruthCounts), "one count per image");
        CriteriaChecks.GroundTruthTotal(proposalCounts, nameof(proposalCounts));
        CriteriaChecks.GroundTruthTotal(groundTruthCounts, nameof(groundTruthCounts));
        long total = 0;
        for (int i = 0; i < proposalCounts.Length; i++)
        {
            total += Math.Min((long)proposalCounts[i] + groundTruthCounts[i], Sampler.BatchSizePerImage);
        }

        return checked((int)total);
    }

    /// <summary>
    /// Selects the training RoIs (torchvision's <c>select_training_samples</c>): appends the ground truths to the
    /// proposals, matches, labels, samples and encodes. Writes the sampled RoIs in order, image after image.
    /// </summary>
    /// <param name="proposals">Proposals of all images, Σ Pᵢ × 4 xyxy.</param>
    /// <param name="proposalCounts">Pᵢ per image (the number of images is its length).</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthLabels">Ground-truth classes, Σ Gᵢ, in [0, classes).</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="classes">C, including background class 0 (≥ 1).</param>
    /// <param name="sampledProposals">Receives the sampled RoIs (S × 4; capacity <see cref="SampledCapacity"/> × 4).</param>
    /// <param name="sampledLabels">Receives their labels (S).</param>
    /// <param name="regressionTargets">Receives their regression targets (S × 4; background RoIs are encoded against
    /// ground truth 0, or a zero box in an image without ground truths, giving −∞ size deltas — unused, as torchvision).</param>
    /// <param name="sampledCounts">Receives the number of sampled RoIs per image.</param>
    /// <param name="seed">Seed of the sampling.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    /// <returns>S, the number of sampled RoIs.</returns>
    public int SelectTrainingSamples(ReadOnlySpan<T> proposals, ReadOnlySpan<int> proposalCounts, ReadOnlySpan<T> groundTruthBoxes,
        ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts, int classes, Span<T> sampledProposals,
        Span<int> sampledLabels, Span<T> regressionTargets, Span<int> sampledCounts, ulong seed = 0, CriterionWorkspace<T>? workspace = null)
    {
        CriteriaChecks.Classes(classes, 1);
        int images = proposalCounts.Length;
        ThrowHelper.CheckLength(groundTruthCounts.Length, images, nameof(groundTruthCounts), "one count per image, like proposalCounts");
        int totalProposals = CriteriaChecks.GroundTruthTotal(proposalCounts, nameof(proposalCounts));
        ThrowHelper.CheckLength(proposals.Length, totalProposals * 4, nameof(proposals), "4 per proposal, Σ proposalCounts × 4");
        int totalGt = CriteriaChecks.GroundTruthTotal(groundTruthCounts);
        ThrowHelper.CheckLength(groundTruthBoxes.Length, totalGt * 4, nameof(groundTruthBoxes), "4 per ground truth, Σ groundTruthCounts × 4");
        ThrowHelper.CheckLength(groundTruthLabels.Length, totalGt, nameof(groundTruthLabels), "one per ground truth");
        CriteriaChecks.PositiveXyxy(groundTruthBoxes, nameof(groundTruthBoxes));
        CriteriaChecks.Labels(groundTruthLabels, classes, nameof(groundTruthLabels));
        int capacity = SampledCapacity(proposalCounts, groundTruthCounts);
        ThrowHelper.CheckDestination(sampledProposals.Length, capacity * 4, nameof(sampledProposals));
        ThrowHelper.CheckDestination(sampledLabels.Length, capacity, nameof(sampledLabels));
        ThrowHelper.CheckDestination(regressionTargets.Length, capacity * 4, nameof(regressionTargets));
        ThrowHelper.CheckDestination(sampledCounts.Length, images, nameof(sampledCounts));

        CriterionWorkspace<T> ws = workspace ?? new();
        var weights = new BoxCoder.Weights<T>(BoxCoder);
        Span<T> zero = stackalloc T[4];
        zero.Clear();
        int proposalOffset = 0, gtOffset = 0, s = 0;
        for (int i = 0; i < images; i++)
        {
            int pCount = proposalCounts[i], g = groundTruthCounts[i], n = pCount + g;
            ReadOnlySpan<T> gt = groundTruthBoxes.Slice(gtOffset * 4, g * 4);
            ReadOnlySpan<int> gtLabels = groundTruthLabels.Slice(gtOffset, g);

            // Candidates: the image's proposals followed by its ground truths (add_gt_proposals).
            Span<T> candidates = ws.Values(RcnnSlots.Candidates, 4L * n);
            proposals.Slice(proposalOffset * 4, pCount * 4).CopyTo(candidates);
            gt.CopyTo(candidates[(pCount * 4)..]);
            Span<int> matches = ws.Ints(RcnnSlots.Matches, n);
            Span<int> labels = ws.Ints(RcnnSlots.Labels, n);
            if (g == 0)
            {
                matches.Clear();
                labels.Clear();
            }
            else
            {
                Span<T> quality = ws.Values(RcnnSlots.Quality, (long)g * n);
                BoxOps.Iou(gt, candidates, quality);
                Matcher.MatchUnchecked<T>(quality, g, n, matches);
                for (int k = 0; k < n; k++)
                {
                    int m = matches[k];
                    labels[k] = m == Matcher.BelowLowThreshold ? 0 : m == Matcher.BetweenThresholds ? -1 : gtLabels[m];
                    matches[k] = Math.Max(m, 0);
                }
            }

            Span<SampleKind> selection = ws.Kinds(RcnnSlots.Selection, n);
            SampleCounts counts = Sampler.SampleUnchecked(labels, selection, SplitMix64.ForImage(seed, i));
            for (int k = 0; k < n; k++)
            {
                if (selection[k] == SampleKind.None)
                {
                    continue;
                }

                ReadOnlySpan<T> candidate = candidates.Slice(k * 4, 4);
                candidate.CopyTo(sampledProposals.Slice(s * 4, 4));
                sampledLabels[s] = labels[k];
                BoxCoder.EncodeOne(weights, g == 0 ? zero : gt.Slice(matches[k] * 4, 4), candidate, regressionTargets.Slice(s * 4, 4));
                s++;
            }

            sampledCounts[i] = counts.Total;
            proposalOffset += pCount;
            gtOffset += g;
        }

        return s;
    }

    /// <summary>The loss terms (torchvision's <c>fastrcnn_loss</c>).</summary>
    /// <param name="classLogits">Class logits of the S sampled RoIs, S × C.</param>
    /// <param name="boxRegression">Class-specific deltas, S × 4C.</param>
    /// <param name="labels">S labels in [0, C) (0 background).</param>
    /// <param name="regressionTargets">S × 4 regression targets.</param>
    /// <param name="classes">C (≥ 1).</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public FastRcnnLossTerms<T> Forward(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<int> labels,
        ReadOnlySpan<T> regressionTargets, int classes, CriterionWorkspace<T>? workspace = null) =>
        Run(classLogits, boxRegression, labels, regressionTargets, classes, default, default, false, workspace);

    /// <summary>The loss terms and d Total / d classLogits, d Total / d boxRegression.</summary>
    /// <param name="classLogits">Class logits, S × C.</param>
    /// <param name="boxRegression">Class-specific deltas, S × 4C.</param>
    /// <param name="labels">S labels in [0, C).</param>
    /// <param name="regressionTargets">S × 4 regression targets.</param>
    /// <param name="classes">C.</param>
    /// <param name="classLogitsGradient">Receives d Total / d classLogits (S × C).</param>
    /// <param name="boxRegressionGradient">Receives d Total / d boxRegression (S × 4C; 0 except the positives' own class).</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public FastRcnnLossTerms<T> ForwardBackward(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<int> labels,
        ReadOnlySpan<T> regressionTargets, int classes, Span<T> classLogitsGradient, Span<T> boxRegressionGradient, CriterionWorkspace<T>? workspace = null) =>
        Run(classLogits, boxRegression, labels, regressionTargets, classes, classLogitsGradient, boxRegressionGradient, true, workspace);

    private FastRcnnLossTerms<T> Run(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<int> labels,
        ReadOnlySpan<T> regressionTargets, int classes, Span<T> classLogitsGradient, Span<T> boxRegressionGradient, bool wantGradient,
        CriterionWorkspace<T>? workspace)
    {
        CriteriaChecks.Classes(classes, 1);
        int s = labels.Length;
        CriteriaChecks.Shape(classLogits.Length, s, classes, nameof(classLogits), "RoIs × classes");
        CriteriaChecks.Shape(boxRegression.Length, s, 4L * classes, nameof(boxRegression), "RoIs × classes·4");
        ThrowHelper.CheckLength(regressionTargets.Length, 4 * s, nameof(regressionTargets), "4 per RoI");
        CriteriaChecks.Labels(labels, classes, nameof(labels));
        if (wantGradient)
        {
            ThrowHelper.CheckDestination(classLogitsGradient.Length, classLogits.Length, nameof(classLogitsGradient));
            ThrowHelper.CheckDestination(boxRegressionGradient.Length, boxRegression.Length, nameof(boxRegressionGradient));
        }

        int p = 0;
        foreach (int label in labels)
        {
            p += label > 0 ? 1 : 0;
        }

        CriterionWorkspace<T> ws = workspace ?? new();
        Span<T> deltas = ws.Values(RcnnSlots.Deltas, 4L * p), targets = ws.Values(RcnnSlots.DeltaTargets, 4L * p);
        Span<int> positives = ws.Ints(RcnnSlots.Positives, p);
        for (int k = 0, j = 0; k < s; k++)
        {
            if (labels[k] > 0)
            {
                boxRegression.Slice((k * classes + labels[k]) * 4, 4).CopyTo(deltas.Slice(j * 4, 4));
                regressionTargets.Slice(k * 4, 4).CopyTo(targets.Slice(j * 4, 4));
                positives[j++] = (k * classes + labels[k]) * 4;
            }
        }

        T sampled = T.CreateTruncating(s);
        T box = _box.Forward(deltas, targets) / sampled;
        if (!wantGradient)
        {
            return new FastRcnnLossTerms<T>(_classifier.Forward(classLogits, labels, s, classes), box);
        }

        T classifier = _classifier.ForwardBackward(classLogits, labels, s, classes, classLogitsGradient);
        boxRegressionGradient[..boxRegression.Length].Clear();
        if (p > 0)
        {
            Span<T> deltaGradient = ws.Values(RcnnSlots.DeltaGradient, 4L * p);
            _box.Backward(deltas, targets, T.One / sampled, deltaGradient);
            for (int j = 0; j < p; j++)
            {
                deltaGradient.Slice(j * 4, 4).CopyTo(boxRegressionGradient.Slice(positives[j], 4));
            }
        }

        return new FastRcnnLossTerms<T>(classifier, box);
    }
}
