using System.Numerics;
using LossKit.Detection;
using LossKit.Internal;
using LossKit.Regression;

namespace LossKit.Criteria;

/// <summary>The former box-loss enum of <see cref="RetinaNetLoss{T}"/>; its values are the same-named
/// <see cref="BoxLossKind"/> values.</summary>
[Obsolete("Use BoxLossKind")]
public enum RetinaNetBoxLoss
{
    /// <summary>L1 between the predicted and the encoded target deltas (torchvision's default, <c>"l1"</c>).</summary>
    L1 = 0,

    /// <summary>Smooth L1 (β, default 1) between the deltas (<c>"smooth_l1"</c>).</summary>
    SmoothL1 = 1,

    /// <summary>GIoU loss between the decoded boxes and the ground truths (<c>"giou"</c>; retinanet_resnet50_fpn_v2).</summary>
    GIoU = 2,

    /// <summary>DIoU loss on decoded boxes (<c>"diou"</c>).</summary>
    DIoU = 3,

    /// <summary>CIoU loss on decoded boxes (<c>"ciou"</c>).</summary>
    CIoU = 4,
}

/// <summary>The two terms of the RetinaNet loss and their sum.</summary>
/// <param name="Classification">torchvision's <c>classification</c> term: sigmoid focal loss, per image summed over non-ignored anchors / max(1, foreground), mean over images.</param>
/// <param name="BoxRegression">torchvision's <c>bbox_regression</c> term: box loss summed over foreground anchors / max(1, foreground), mean over images.</param>
public readonly record struct RetinaNetLossTerms<T>(T Classification, T BoxRegression)
    where T : IFloatingPointIeee754<T>
{
    /// <summary>Classification + BoxRegression.</summary>
    public T Total => Classification + BoxRegression;
}

/// <summary>
/// The RetinaNet loss, as torchvision 0.14's <c>RetinaNet.compute_loss</c> with <c>RetinaNetClassificationHead.compute_loss</c>
/// and <c>RetinaNetRegressionHead.compute_loss</c>.
/// </summary>
/// <remarks>
/// <para>Matching per image: the ground truths × anchors IoU matrix through <see cref="Matcher"/> (default
/// <see cref="Matcher.RetinaNet"/>: 0.5 / 0.4 with low-quality matches); an image without ground truths has every
/// anchor background (−1).</para>
/// <para>Classification: a one-hot target per foreground anchor (its ground truth's class), zeros for background (−1)
/// anchors; anchors in the ignore band (−2) are dropped. With nfᵢ foreground anchors in image i and n images,
/// <c>Classification = (1/n)·Σᵢ (1/max(1, nfᵢ))·Σ_{anchors not −2} Σ_c FL(x, t)</c>, FL the sigmoid focal loss
/// (α = 0.25, γ = 2, <see cref="SigmoidFocalLoss{T}"/>). Gradient: FL'/(max(1, nfᵢ)·n) on non-ignored anchors, 0 on
/// ignored ones.</para>
/// <para>Box regression on foreground anchors: <see cref="BoxLossKind.L1"/> (default) or
/// <see cref="BoxLossKind.SmoothL1"/> (β = 1) between the predicted deltas and the ground truths encoded against
/// the anchors with <see cref="BoxCoder"/> (weights (1, 1, 1, 1)); <see cref="BoxLossKind.GIoU"/>,
/// <see cref="BoxLossKind.DIoU"/>, <see cref="BoxLossKind.CIoU"/> between the decoded boxes (size deltas clamped
/// at ln(1000/16)) and the ground truths (torchvision conventions, eps 1e-7; gradient chained through
/// <see cref="BoxCoder.DecodeGradient{T}"/>). <c>BoxRegression = (1/max(1, n))·Σᵢ (1/max(1, nfᵢ))·Σ_fg loss</c>.</para>
/// <para>Composes <see cref="SigmoidFocalLoss{T}"/>, <see cref="L1Loss{T}"/>, <see cref="SmoothL1Loss{T}"/>,
/// <see cref="GIoULoss{T}"/>, <see cref="DIoULoss{T}"/>, <see cref="CIoULoss{T}"/> (Sum, with the per-image normalisers
/// as weights). The focal loss runs once over all images × anchors × classes with a dense target and weight buffer (the
/// workspace holds 2 × images × A × C elements).</para>
/// <para>Layout: <c>classLogits [images × A × C]</c>, <c>boxRegression [images × A × 4]</c> (torchvision's head outputs
/// after permuting and concatenating the levels), <c>anchors [A × 4]</c> xyxy shared by the images, ground truths
/// concatenated over images with counts and labels in [0, C). Initialise the classification bias with
/// <see cref="PriorBias"/> (−ln((1 − 0.01)/0.01) = −4.59511985013459).</para>
/// <para>Special values: NaN logits give NaN; a NaN logit of an ignored anchor still makes the classification term
/// NaN here (0·NaN in the weighted sum), where torchvision drops those rows. No images: both terms 0.</para>
/// </remarks>
public sealed class RetinaNetLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SigmoidFocalLoss<T> _focal;
    private readonly ElementwiseLoss<T>? _deltaLoss;
    private readonly BoxRegressionLoss<T>? _iouLoss;
    private RetinaNetLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="boxLoss">Box loss: L1 (default), SmoothL1, GIoU, DIoU or CIoU.</param>
    /// <param name="alpha">Focal α (default 0.25; negative disables it).</param>
    /// <param name="gamma">Focal γ (default 2).</param>
    /// <param name="beta">Smooth L1 β when <paramref name="boxLoss"/> is SmoothL1 (default 1).</param>
    /// <param name="eps">Eps of the IoU-type box losses (default 1e-7).</param>
    /// <param name="matcher">Anchor matcher (default <see cref="Matcher.RetinaNet"/>).</param>
    /// <param name="boxCoder">Box coder (default <see cref="BoxCoder.Unit"/>).</param>
    public RetinaNetLoss(BoxLossKind boxLoss = BoxLossKind.L1, double alpha = 0.25, double gamma = 2.0, double beta = 1.0,
        double eps = 1e-7, Matcher? matcher = null, BoxCoder? boxCoder = null)
    {
        _focal = new SigmoidFocalLoss<T>(Reduction.Sum, alpha, gamma);
        switch (boxLoss)
        {
            case BoxLossKind.L1:
                _deltaLoss = new L1Loss<T>(Reduction.Sum);
                break;
            case BoxLossKind.SmoothL1:
                _deltaLoss = new SmoothL1Loss<T>(Reduction.Sum, beta);
                break;
            case BoxLossKind.GIoU:
                _iouLoss = new GIoULoss<T>(Reduction.Sum, eps);
                break;
            case BoxLossKind.DIoU:
                _iouLoss = new DIoULoss<T>(Reduction.Sum, eps);
                break;
            case BoxLossKind.CIoU:
                _iouLoss = new CIoULoss<T>(Reduction.Sum, eps);
                break;
            default:
                ThrowHelper.OutOfRange(nameof(boxLoss), boxLoss, "boxLoss must be L1, SmoothL1, GIoU, DIoU or CIoU.");
                break;
        }

        BoxLossKind = boxLoss;
        Alpha = alpha;
        Gamma = gamma;
        Beta = ThrowHelper.CheckAtLeast(beta, 0.0, nameof(beta));
        Eps = ThrowHelper.CheckAtLeast(eps, 0.0, nameof(eps));
        Matcher = matcher ?? Matcher.RetinaNet;
        BoxCoder = boxCoder ?? BoxCoder.Unit;
    }

    /// <summary>Creates the loss with the former box-loss enum (same values as <see cref="BoxLossKind"/>).</summary>
    /// <param name="boxLoss">Box loss.</param>
    /// <param name="alpha">Focal α (default 0.25; negative disables it).</param>
    /// <param name="gamma">Focal γ (default 2).</param>
    /// <param name="beta">Smooth L1 β when <paramref name="boxLoss"/> is SmoothL1 (default 1).</param>
    /// <param name="eps">Eps of the IoU-type box losses (default 1e-7).</param>
    /// <param name="matcher">Anchor matcher (default <see cref="Matcher.RetinaNet"/>).</param>
    /// <param name="boxCoder">Box coder (default <see cref="BoxCoder.Unit"/>).</param>
    [Obsolete("Use BoxLossKind")]
    public RetinaNetLoss(RetinaNetBoxLoss boxLoss, double alpha = 0.25, double gamma = 2.0, double beta = 1.0,
        double eps = 1e-7, Matcher? matcher = null, BoxCoder? boxCoder = null)
        : this((BoxLossKind)boxLoss, alpha, gamma, beta, eps, matcher, boxCoder)
    {
    }

    /// <summary>The box loss (L1, SmoothL1, GIoU, DIoU or CIoU).</summary>
    public BoxLossKind BoxLossKind { get; }

    /// <summary>The box loss as the former enum.</summary>
    [Obsolete("Use BoxLossKind")]
    public RetinaNetBoxLoss BoxLoss => (RetinaNetBoxLoss)BoxLossKind;

    /// <summary>Focal α.</summary>
    public double Alpha { get; }

    /// <summary>Focal γ.</summary>
    public double Gamma { get; }

    /// <summary>Smooth L1 β (used with <see cref="BoxLossKind.SmoothL1"/>).</summary>
    public double Beta { get; }

    /// <summary>Eps of the IoU-type box losses.</summary>
    public double Eps { get; }

    /// <summary>The anchor matcher.</summary>
    public Matcher Matcher { get; }

    /// <summary>The box coder.</summary>
    public BoxCoder BoxCoder { get; }

    /// <summary>The classification-bias initialisation −ln((1 − π)/π) of the RetinaNet paper (π = 0.01 gives −4.59511985013459).</summary>
    /// <param name="priorProbability">π in (0, 1).</param>
    public static double PriorBias(double priorProbability = 0.01)
    {
        if (!(priorProbability > 0.0 && priorProbability < 1.0))
        {
            ThrowHelper.OutOfRange(nameof(priorProbability), priorProbability, $"priorProbability must be in (0, 1), got {priorProbability}.");
        }

        return -Math.Log((1.0 - priorProbability) / priorProbability);
    }

    /// <summary>The loss terms (match, then loss).</summary>
    /// <param name="classLogits">Class logits, images × A × C.</param>
    /// <param name="boxRegression">Predicted deltas, images × A × 4.</param>
    /// <param name="anchors">Anchors, A × 4 xyxy, shared by the images.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthLabels">Ground-truth classes, Σ Gᵢ, in [0, C).</param>
    /// <param name="groundTruthCounts">Gᵢ per image (the number of images is its length).</param>
    /// <param name="classes">C (≥ 1).</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RetinaNetLossTerms<T> Forward(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts, int classes,
        CriterionWorkspace<T>? workspace = null) =>
        Run(classLogits, boxRegression, anchors, groundTruthBoxes, groundTruthLabels, groundTruthCounts, classes, default, false, default, default, false, workspace);

    /// <summary>The loss terms and d Total / d classLogits, d Total / d boxRegression.</summary>
    /// <param name="classLogits">Class logits, images × A × C.</param>
    /// <param name="boxRegression">Predicted deltas, images × A × 4.</param>
    /// <param name="anchors">Anchors, A × 4 xyxy.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthLabels">Ground-truth classes, Σ Gᵢ.</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="classes">C.</param>
    /// <param name="classLogitsGradient">Receives d Total / d classLogits (images × A × C).</param>
    /// <param name="boxRegressionGradient">Receives d Total / d boxRegression (images × A × 4; 0 off the foreground).</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RetinaNetLossTerms<T> ForwardBackward(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts, int classes,
        Span<T> classLogitsGradient, Span<T> boxRegressionGradient, CriterionWorkspace<T>? workspace = null) =>
        Run(classLogits, boxRegression, anchors, groundTruthBoxes, groundTruthLabels, groundTruthCounts, classes, default, false,
            classLogitsGradient, boxRegressionGradient, true, workspace);

    /// <summary>The matching alone (the first half of torchvision's <c>RetinaNet.compute_loss</c>): per image and anchor the
    /// matched ground truth (index within the image), −1 (background) or −2 (ignored).</summary>
    /// <param name="anchors">Anchors, A × 4 xyxy.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="matchedIndices">Receives images × A matches.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public void MatchAnchors(ReadOnlySpan<T> anchors, ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts,
        Span<int> matchedIndices, CriterionWorkspace<T>? workspace = null)
    {
        BoxConvert.CheckBoxes(anchors.Length, nameof(anchors));
        int a = anchors.Length / 4;
        int total = CriteriaChecks.GroundTruthTotal(groundTruthCounts);
        ThrowHelper.CheckLength(groundTruthBoxes.Length, total * 4, nameof(groundTruthBoxes), "4 per ground truth, Σ groundTruthCounts × 4");
        CriteriaChecks.PositiveXyxy(groundTruthBoxes, nameof(groundTruthBoxes));
        CriteriaChecks.QualityMatrix(groundTruthCounts, a, nameof(groundTruthCounts), "anchors");
        ThrowHelper.CheckDestination(matchedIndices.Length, ThrowHelper.Product(nameof(matchedIndices), "images × anchors", groundTruthCounts.Length, a), nameof(matchedIndices));
        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Float32.MatchAnchors(wide.Read(anchors), wide.Read(groundTruthBoxes), groundTruthCounts, matchedIndices, workspace?.Float32);

            return;
        }

        Match(anchors, groundTruthBoxes, groundTruthCounts, matchedIndices, (workspace ?? new()).Scratch<Scratch>());
    }

    /// <summary>The same criterion in float32, which computes for narrow element types.</summary>
    private RetinaNetLoss<float> Float32 => _float32 ??= new RetinaNetLoss<float>(BoxLossKind, Alpha, Gamma, Beta, Eps, Matcher, BoxCoder);

    /// <summary>A narrow element type's call: the float32 criterion on widened copies, gradients and terms rounded once.</summary>
    private RetinaNetLossTerms<T> RunWidened(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts, int classes,
        ReadOnlySpan<int> givenMatches, bool matchesGiven, Span<T> classLogitsGradient, Span<T> boxRegressionGradient, bool wantGradient,
        CriterionWorkspace<T>? workspace)
    {
        using var wide = WideScope<T>.Start();
        Span<float> gc = wantGradient ? wide.Output(classLogits.Length) : default, gb = wantGradient ? wide.Output(boxRegression.Length) : default;
        RetinaNetLossTerms<float> terms = Float32.Run(wide.Read(classLogits), wide.Read(boxRegression), wide.Read(anchors), wide.Read(groundTruthBoxes),
            groundTruthLabels, groundTruthCounts, classes, givenMatches, matchesGiven, gc, gb, wantGradient, workspace?.Float32);
        WideScope<T>.Narrow(gc, classLogitsGradient);
        WideScope<T>.Narrow(gb, boxRegressionGradient);
        return new RetinaNetLossTerms<T>(T.CreateTruncating(terms.Classification), T.CreateTruncating(terms.BoxRegression));
    }

    /// <summary>The loss stage alone (torchvision's <c>RetinaNetHead.compute_loss(targets, head_outputs, anchors, matched_idxs)</c>).</summary>
    /// <param name="classLogits">Class logits, images × A × C.</param>
    /// <param name="boxRegression">Predicted deltas, images × A × 4.</param>
    /// <param name="anchors">Anchors, A × 4 xyxy.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthLabels">Ground-truth classes, Σ Gᵢ.</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="matchedIndices">images × A matches: an index in [0, Gᵢ), −1 or −2.</param>
    /// <param name="classes">C.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RetinaNetLossTerms<T> ForwardFromMatches(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts, ReadOnlySpan<int> matchedIndices,
        int classes, CriterionWorkspace<T>? workspace = null) =>
        Run(classLogits, boxRegression, anchors, groundTruthBoxes, groundTruthLabels, groundTruthCounts, classes, matchedIndices, true,
            default, default, false, workspace);

    /// <summary>The loss stage alone with gradients (see <see cref="ForwardFromMatches"/>).</summary>
    /// <param name="classLogits">Class logits, images × A × C.</param>
    /// <param name="boxRegression">Predicted deltas, images × A × 4.</param>
    /// <param name="anchors">Anchors, A × 4 xyxy.</param>
    /// <param name="groundTruthBoxes">Ground-truth boxes, Σ Gᵢ × 4 xyxy.</param>
    /// <param name="groundTruthLabels">Ground-truth classes, Σ Gᵢ.</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="matchedIndices">images × A matches.</param>
    /// <param name="classes">C.</param>
    /// <param name="classLogitsGradient">Receives d Total / d classLogits.</param>
    /// <param name="boxRegressionGradient">Receives d Total / d boxRegression.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public RetinaNetLossTerms<T> ForwardBackwardFromMatches(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts, ReadOnlySpan<int> matchedIndices,
        int classes, Span<T> classLogitsGradient, Span<T> boxRegressionGradient, CriterionWorkspace<T>? workspace = null) =>
        Run(classLogits, boxRegression, anchors, groundTruthBoxes, groundTruthLabels, groundTruthCounts, classes, matchedIndices, true,
            classLogitsGradient, boxRegressionGradient, true, workspace);

    private void Match(ReadOnlySpan<T> anchors, ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthCounts, Span<int> matches, Scratch ws)
    {
        int a = anchors.Length / 4, offset = 0;
        for (int i = 0; i < groundTruthCounts.Length; i++)
        {
            int g = groundTruthCounts[i];
            Span<int> imageMatches = matches.Slice(i * a, a);
            if (g == 0)
            {
                imageMatches.Fill(Matcher.BelowLowThreshold);
            }
            else
            {
                Span<T> quality = ws.Quality.Get((long)g * a);
                BoxOps.Iou(groundTruthBoxes.Slice(offset * 4, g * 4), anchors, quality);
                Matcher.MatchUnchecked<T>(quality, g, a, imageMatches);
            }

            offset += g;
        }
    }

    private RetinaNetLossTerms<T> Run(ReadOnlySpan<T> classLogits, ReadOnlySpan<T> boxRegression, ReadOnlySpan<T> anchors,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts, int classes,
        ReadOnlySpan<int> givenMatches, bool matchesGiven, Span<T> classLogitsGradient, Span<T> boxRegressionGradient, bool wantGradient,
        CriterionWorkspace<T>? workspace)
    {
        CriteriaChecks.Classes(classes, 1);
        BoxConvert.CheckBoxes(anchors.Length, nameof(anchors));
        int a = anchors.Length / 4, images = groundTruthCounts.Length;
        int total = CriteriaChecks.GroundTruthTotal(groundTruthCounts);
        ThrowHelper.CheckLength(groundTruthBoxes.Length, total * 4, nameof(groundTruthBoxes), "4 per ground truth, Σ groundTruthCounts × 4");
        ThrowHelper.CheckLength(groundTruthLabels.Length, total, nameof(groundTruthLabels), "one per ground truth");
        CriteriaChecks.Shape(classLogits.Length, (long)images * a, classes, nameof(classLogits), "images·anchors × classes");
        CriteriaChecks.Shape(boxRegression.Length, (long)images * a, 4, nameof(boxRegression), "images·anchors × 4");
        CriteriaChecks.PositiveXyxy(groundTruthBoxes, nameof(groundTruthBoxes));
        CriteriaChecks.Labels(groundTruthLabels, classes, nameof(groundTruthLabels));
        if (!matchesGiven)
        {
            CriteriaChecks.QualityMatrix(groundTruthCounts, a, nameof(groundTruthCounts), "anchors");
        }

        if (wantGradient)
        {
            ThrowHelper.CheckDestination(classLogitsGradient.Length, classLogits.Length, nameof(classLogitsGradient));
            ThrowHelper.CheckDestination(boxRegressionGradient.Length, boxRegression.Length, nameof(boxRegressionGradient));
        }

        if (Float32Path.Applies<T>())
        {
            return RunWidened(classLogits, boxRegression, anchors, groundTruthBoxes, groundTruthLabels, groundTruthCounts, classes, givenMatches, matchesGiven,
                classLogitsGradient, boxRegressionGradient, wantGradient, workspace);
        }

        Scratch ws = (workspace ?? new()).Scratch<Scratch>();
        ReadOnlySpan<int> matches;
        if (matchesGiven)
        {
            ThrowHelper.CheckLength(givenMatches.Length, images * a, "matchedIndices", "images × anchors");
            CheckMatches(givenMatches, groundTruthCounts, a);
            matches = givenMatches;
        }
        else
        {
            Span<int> computed = ws.Matches.Get((long)images * a);
            Match(anchors, groundTruthBoxes, groundTruthCounts, computed, ws);
            matches = computed;
        }

        if (images == 0)
        {
            return new RetinaNetLossTerms<T>(T.Zero, T.Zero);
        }

        // Classification: dense one-hot targets, weights 1/(max(1, nfᵢ)·n) on kept anchors and 0 on ignored ones.
        long dense = (long)images * a * classes;
        Span<T> targets = ws.DenseTargets.Get(dense), weights = ws.DenseWeights.Get(dense);
        CriteriaParallel.Fill(targets, T.Zero);
        int foreground = 0, offset = 0;
        for (int i = 0; i < images; i++)
        {
            ReadOnlySpan<int> m = matches.Slice(i * a, a);
            int nf = 0;
            foreach (int v in m)
            {
                nf += v >= 0 ? 1 : 0;
            }

            foreground += nf;
            T w = T.CreateTruncating(1.0 / ((double)Math.Max(1, nf) * images));
            Span<T> imageWeights = weights.Slice((int)((long)i * a * classes), a * classes);
            CriteriaParallel.Fill(imageWeights, w);
            Span<T> imageTargets = targets.Slice((int)((long)i * a * classes), a * classes);
            for (int k = 0; k < a; k++)
            {
                if (m[k] >= 0)
                {
                    imageTargets[k * classes + groundTruthLabels[offset + m[k]]] = T.One;
                }
                else if (m[k] == Matcher.BetweenThresholds)
                {
                    imageWeights.Slice(k * classes, classes).Clear();
                }
            }

            offset += groundTruthCounts[i];
        }

        T classification = wantGradient
            ? _focal.ForwardBackward(classLogits, targets, classLogitsGradient, default, weights)
            : _focal.Forward(classLogits, targets, default, weights);

        // Box regression over the foreground anchors, gathered.
        Span<int> positives = ws.Positives.Get(foreground);
        Span<T> deltas = ws.Deltas.Get(4L * foreground);
        Span<T> boxTargets = ws.DeltaTargets.Get(4L * foreground);
        Span<T> boxAnchors = ws.BoxAnchors.Get(4L * foreground);
        Span<T> boxWeights = ws.BoxWeights.Get((_iouLoss is null ? 4L : 1L) * foreground);
        var coder = new BoxCoder.Weights<T>(BoxCoder);
        int f = 0;
        offset = 0;
        for (int i = 0; i < images; i++)
        {
            ReadOnlySpan<int> m = matches.Slice(i * a, a);
            int nf = 0;
            foreach (int v in m)
            {
                nf += v >= 0 ? 1 : 0;
            }

            T w = T.CreateTruncating(1.0 / ((double)Math.Max(1, nf) * Math.Max(1, images)));
            for (int k = 0; k < a; k++)
            {
                if (m[k] < 0)
                {
                    continue;
                }

                int index = i * a + k;
                positives[f] = index;
                boxRegression.Slice(index * 4, 4).CopyTo(deltas.Slice(f * 4, 4));
                anchors.Slice(k * 4, 4).CopyTo(boxAnchors.Slice(f * 4, 4));
                ReadOnlySpan<T> gt = groundTruthBoxes.Slice((offset + m[k]) * 4, 4);
                if (_iouLoss is null)
                {
                    BoxCoder.EncodeOne(coder, gt, anchors.Slice(k * 4, 4), boxTargets.Slice(f * 4, 4));
                    boxWeights.Slice(f * 4, 4).Fill(w);
                }
                else
                {
                    gt.CopyTo(boxTargets.Slice(f * 4, 4));
                    boxWeights[f] = w;
                }

                f++;
            }

            offset += groundTruthCounts[i];
        }

        T box;
        Span<T> gradient = wantGradient ? ws.DeltaGradient.Get(4L * foreground) : default;
        if (_deltaLoss is not null)
        {
            box = wantGradient
                ? _deltaLoss.ForwardBackward(deltas, boxTargets, gradient, default, boxWeights)
                : _deltaLoss.Forward(deltas, boxTargets, default, boxWeights);
        }
        else
        {
            Span<T> decoded = ws.Decoded.Get(4L * foreground);
            for (int j = 0; j < foreground; j++)
            {
                BoxCoder.DecodeOne(coder, deltas.Slice(j * 4, 4), boxAnchors.Slice(j * 4, 4), decoded.Slice(j * 4, 4));
            }

            if (wantGradient)
            {
                box = _iouLoss!.ForwardBackward(decoded, boxTargets, gradient, default, boxWeights);
                for (int j = 0; j < foreground; j++)
                {
                    Span<T> g = gradient.Slice(j * 4, 4);
                    BoxCoder.DecodeGradientOne(coder, deltas.Slice(j * 4, 4), boxAnchors.Slice(j * 4, 4), g, g);
                }
            }
            else
            {
                box = _iouLoss!.Forward(decoded, boxTargets, default, boxWeights);
            }
        }

        if (wantGradient)
        {
            boxRegressionGradient[..boxRegression.Length].Clear();
            for (int j = 0; j < foreground; j++)
            {
                gradient.Slice(j * 4, 4).CopyTo(boxRegressionGradient.Slice(positives[j] * 4, 4));
            }
        }

        return new RetinaNetLossTerms<T>(classification, box);
    }

    private static void CheckMatches(ReadOnlySpan<int> matches, ReadOnlySpan<int> groundTruthCounts, int anchors)
    {
        for (int i = 0; i < groundTruthCounts.Length; i++)
        {
            int g = groundTruthCounts[i];
            for (int k = 0; k < anchors; k++)
            {
                int m = matches[i * anchors + k];
                if (m < Matcher.BetweenThresholds || m >= g)
                {
                    ThrowHelper.OutOfRange("matchedIndices", m,
                        $"matchedIndices[{i * anchors + k}] = {m}: image {i} has {g} ground truths; a match is in [0, {g}), -1 or -2.");
                }
            }
        }
    }

    /// <summary>RetinaNet's buffers in a <see cref="CriterionWorkspace{T}"/>.</summary>
    internal sealed class Scratch : CriterionScratch
    {
        public ScratchBuffer<T> Quality, DenseTargets, DenseWeights, Deltas, DeltaTargets, DeltaGradient, BoxAnchors, BoxWeights, Decoded;
        public ScratchBuffer<int> Matches, Positives;

        public override long AllocatedBytes => Quality.Bytes + DenseTargets.Bytes + DenseWeights.Bytes + Deltas.Bytes + DeltaTargets.Bytes
            + DeltaGradient.Bytes + BoxAnchors.Bytes + BoxWeights.Bytes + Decoded.Bytes + Matches.Bytes + Positives.Bytes;
    }
}
