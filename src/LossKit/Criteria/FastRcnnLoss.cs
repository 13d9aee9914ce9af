using System.Numerics;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Internal;
using LossKit.Regression;

namespace LossKit.Criteria;

/// <summary>The two terms of the Faster R-CNN RoI-head loss and their sum.</summary>
/// <param name="Classifier">torchvision's <c>loss_classifier</c>: cross-entropy, mean over the sampled RoIs.</param>
/// <param name="BoxRegression">torchvision's <c>loss_box_reg</c>: Smooth L1 on the positives' class-specific deltas, summed, divided by the number of sampled RoIs.</param>
public readonly record struct FastRcnnLossTerms<T>(T Classifier, T BoxRegression)
    where T : IFloatingPointIeee754<T>
{
    /// <summary>Classifier + BoxRegression.</summary>
    public T Total => Classifier + BoxRegression;
}

/// <summary>
/// The Faster R-CNN RoI-head (box predictor) loss, as torchvision 0.14's <c>roi_heads.fastrcnn_loss</c>, and the
/// training-sample selection that precedes it (<c>RoIHeads.select_training_samples</c>).
/// </summary>
/// <remarks>
/// <para><see cref="SelectTrainingSamples"/>: per image the ground-truth boxes are appended to the proposals, matched
/// with <see cref="FasterRcnnCriterion{T}.Matcher"/> (default <see cref="Matcher.RoiHeads"/>: 0.5 / 0.5, no
/// low-quality matches), labelled with the matched ground truth's class (0 background below low, −1 between the
/// thresholds), sampled with <see cref="FasterRcnnCriterion{T}.Sampler"/> (default 512 per image, 25 % positive) and
/// encoded with <see cref="FasterRcnnCriterion{T}.BoxCoder"/> (default weights (10, 10, 5, 5)). The sampled RoIs keep their order (ascending candidate index, proposals then ground
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
public sealed class FastRcnnLoss<T> : FasterRcnnCriterion<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CrossEntropyLoss<T> _classifier = new(Reduction.Mean);
    private FastRcnnLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="matcher">Proposal matcher (default <see cref="Matcher.RoiHeads"/>: 0.5, 0.5).</param>
    /// <param name="sampler">RoI sampler (default <see cref="BalancedPositiveNegativeSampler.RoiHeads"/>: 512, 0.25).</param>
    /// <param name="boxCoder">Box coder (default <see cref="BoxCoder.RoiHeads"/>: weights (10, 10, 5, 5)).</param>
    /// <param name="beta">Smooth L1 β of the box term (≥ 0, default 1/9).</param>
    public FastRcnnLoss(Matcher? matcher = null, BalancedPositiveNegativeSampler? sampler = null, BoxCoder? boxCoder = null, double beta = 1.0 / 9)
        : base(matcher ?? Matcher.RoiHeads, sampler ?? BalancedPositiveNegativeSampler.RoiHeads, boxCoder ?? BoxCoder.RoiHeads, beta)
    {
    }

    /// <summary>The same criterion in float32, which computes for narrow element types.</summary>
    private FastRcnnLoss<float> Float32 => _float32 ??= new FastRcnnLoss<float>(Matcher, Sampler, BoxCoder, Beta);

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

        return ThrowHelper.Product(nameof(proposalCounts), "sampled proposals over the images", total);
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
        CriteriaChecks.QualityMatrix(groundTruthCounts, 0, nameof(groundTruthCounts), "candidates (proposals + ground truths)", proposalCounts);
        int capacity = SampledCapacity(proposalCounts, groundTruthCounts);
        ThrowHelper.CheckDestination(sampledProposals.Length, capacity * 4, nameof(sampledProposals));
        ThrowHelper.CheckDestination(sampledLabels.Length, capacity, nameof(sampledLabels));
        ThrowHelper.CheckDestination(regressionTargets.Length, capacity * 4, nameof(regressionTargets));
        ThrowHelper.CheckDestination(sampledCounts.Length, images, nameof(sampledCounts));

        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> sampled = wide.Output(capacity * 4), targets = wide.Output(capacity * 4);
            int count = Float32.SelectTrainingSamples(wide.Read(proposals), proposalCounts, wide.Read(groundTruthBoxes), groundTruthLabels, groundTruthCounts,
                classes, sampled, sampledLabels, targets, sampledCounts, seed, workspace?.Float32);
            WideScope<T>.Narrow(sampled[..(count * 4)], sampledProposals);
            WideScope<T>.Narrow(targets[..(count * 4)], regressionTargets);
            return count;
        }

        Scratch ws = (workspace ?? new()).Scratch<Scratch>();
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
            Span<T> candidates = ws.Candidates.Get(4L * n);
            proposals.Slice(proposalOffset * 4, pCount * 4).CopyTo(candidates);
            gt.CopyTo(candidates[(pCount * 4)..]);
            Span<int> matches = ws.Matches.Get(n);
            Span<int> labels = ws.Labels.Get(n);
            if (g == 0)
            {
                matches.Clear();
                labels.Clear();
            }
            else
            {
                Span<T> quality = ws.Quality.Get((long)g * n);
                BoxOps.Iou(gt, candidates, quality);
                Matcher.MatchUnchecked<T>(quality, g, n, matches);
                for (int k = 0; k < n; k++)
                {
                    int m = matches[k];
                    labels[k] = m == Matcher.BelowLowThreshold ? 0 : m == Matcher.BetweenThresholds ? -1 : gtLabels[m];
                    matches[k] = Math.Max(m, 0);
                }
            }

            Span<SampleKind> selection = ws.Selection.Get(n);
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

        if (Float32Path.Applies<T>())
        {
            using var wide = WideScope<T>.Start();
            Span<float> gc = wantGradient ? wide.Output(classLogits.Length) : default, gb = wantGradient ? wide.Output(boxRegression.Length) : default;
            FastRcnnLossTerms<float> terms = Float32.Run(wide.Read(classLogits), wide.Read(boxRegression), labels, wide.Read(regressionTargets), classes,
                gc, gb, wantGradient, workspace?.Float32);
            WideScope<T>.Narrow(gc, classLogitsGradient);
            WideScope<T>.Narrow(gb, boxRegressionGradient);
            return new FastRcnnLossTerms<T>(T.CreateTruncating(terms.Classifier), T.CreateTruncating(terms.BoxRegression));
        }

        int p = 0;
        foreach (int label in labels)
        {
            p += label > 0 ? 1 : 0;
        }

        Scratch ws = (workspace ?? new()).Scratch<Scratch>();
        Span<T> deltas = ws.Deltas.Get(4L * p), targets = ws.DeltaTargets.Get(4L * p);
        Span<int> positives = ws.Positives.Get(p);
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
        T box = BoxLoss.Forward(deltas, targets) / sampled;
        if (!wantGradient)
        {
            return new FastRcnnLossTerms<T>(_classifier.Forward(classLogits, labels, s, classes), box);
        }

        T classifier = _classifier.ForwardBackward(classLogits, labels, s, classes, classLogitsGradient);
        boxRegressionGradient[..boxRegression.Length].Clear();
        if (p > 0)
        {
            Span<T> deltaGradient = ws.DeltaGradient.Get(4L * p);
            BoxLoss.Backward(deltas, targets, T.One / sampled, deltaGradient);
            for (int j = 0; j < p; j++)
            {
                deltaGradient.Slice(j * 4, 4).CopyTo(boxRegressionGradient.Slice(positives[j], 4));
            }
        }

        return new FastRcnnLossTerms<T>(classifier, box);
    }

    /// <summary>The RoI head's buffers in a <see cref="CriterionWorkspace{T}"/>.</summary>
    internal sealed class Scratch : CriterionScratch
    {
        public ScratchBuffer<T> Quality, Candidates, Deltas, DeltaTargets, DeltaGradient;
        public ScratchBuffer<int> Matches, Labels, Positives;
        public ScratchBuffer<SampleKind> Selection;

        public override long AllocatedBytes => Quality.Bytes + Candidates.Bytes + Deltas.Bytes + DeltaTargets.Bytes + DeltaGradient.Bytes
            + Matches.Bytes + Labels.Bytes + Positives.Bytes + Selection.Bytes;
    }
}
