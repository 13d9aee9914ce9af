using System.Numerics;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Internal;
using LossKit.Regression;

namespace LossKit.Criteria;

/// <summary>Which YOLOv3 training loss <see cref="YoloV3Loss{T}"/> computes.</summary>
public enum YoloV3Variant
{
    /// <summary>pjreddie/darknet's <c>yolo_layer.c</c> (the default): best-of-nine anchor assignment, logistic + BCE on
    /// x, y, objectness and classes, squared error on log-space w, h, box scale 2 − w·h, ignore threshold, sum / batch.</summary>
    Darknet = 0,

    /// <summary>The ultralytics/yolov3 <c>archive</c>-branch loss (2020): every anchor with wh-IoU &gt; 0.2 trains, GIoU
    /// (or CIoU) box loss, objectness target = detached IoU, per-layer means and gains (see <see cref="YoloV3UltralyticsOptions"/>).</summary>
    Ultralytics = 1,
}

/// <summary>The box loss of the ultralytics variant.</summary>
public enum YoloV3BoxLoss
{
    /// <summary>1 − GIoU (the archive branch).</summary>
    GIoU = 0,

    /// <summary>1 − CIoU (α detached).</summary>
    CIoU = 1,
}

/// <summary>
/// Hyper-parameters of <see cref="YoloV3Variant.Ultralytics"/>, with the ultralytics/yolov3 archive branch's defaults
/// (<c>hyp</c> in train.py: giou 3.54, obj 64.3, cls 37.4, iou_t 0.20; <c>model.gr</c> = 1 after burn-in).
/// </summary>
public sealed class YoloV3UltralyticsOptions
{
    /// <summary>The default options.</summary>
    public static YoloV3UltralyticsOptions Default { get; } = new();

    /// <summary>GIoU (default) or CIoU.</summary>
    public YoloV3BoxLoss BoxLoss { get; init; } = YoloV3BoxLoss.GIoU;

    /// <summary>Gain of the box term (hyp['giou'], default 3.54).</summary>
    public double BoxGain { get; init; } = 3.54;

    /// <summary>Gain of the objectness term (hyp['obj'], default 64.3).</summary>
    public double ObjectnessGain { get; init; } = 64.3;

    /// <summary>Gain of the class term (hyp['cls'], default 37.4).</summary>
    public double ClassGain { get; init; } = 37.4;

    /// <summary>Multiply <see cref="ClassGain"/> by classes/80, as train.py does (default true).</summary>
    public bool ScaleClassGainByClasses { get; init; } = true;

    /// <summary>A target trains every anchor whose wh-IoU with it exceeds this (hyp['iou_t'], default 0.20).</summary>
    public double AnchorThreshold { get; init; } = 0.20;

    /// <summary>gr: objectness target (1 − gr) + gr·max(IoU, 0) (default 1: the detached IoU itself).</summary>
    public double IoURatio { get; init; } = 1.0;

    /// <summary>Multiply the loss by batch/64, as train.py does for its 64-image accumulation (default true).</summary>
    public bool ScaleByBatch { get; init; } = true;
}

/// <summary>The three terms of the YOLOv3 loss and their sum.</summary>
/// <param name="Box">Box term (darknet: x, y BCE + w, h squared error, scaled; ultralytics: gained mean 1 − GIoU/CIoU).</param>
/// <param name="Objectness">Objectness term.</param>
/// <param name="Classification">Class term.</param>
public readonly record struct YoloV3LossTerms<T>(T Box, T Objectness, T Classification)
    where T : IFloatingPointIeee754<T>
{
    /// <summary>Box + Objectness + Classification.</summary>
    public T Total => Box + Objectness + Classification;
}

/// <summary>
/// The YOLOv3 loss over its three detection layers, with darknet's semantics by default
/// (<see cref="YoloV3Variant.Darknet"/>, pjreddie/darknet <c>src/yolo_layer.c</c> with <c>cfg/yolov3.cfg</c>) or the
/// ultralytics/yolov3 archive-branch loss (<see cref="YoloV3Variant.Ultralytics"/>).
/// </summary>
/// <remarks>
/// <para>Layers and layout. Layer 0 has stride 32 (13 × 13 at 416 × 416) and anchors 6, 7, 8 of the nine; layer 1
/// stride 16 (26 × 26), anchors 3, 4, 5; layer 2 stride 8 (52 × 52), anchors 0, 1, 2 (darknet's masks). Each layer's
/// raw output is the convolution output <c>[batch × 3·(5 + C) × H × W]</c> (darknet's layout: per anchor slot the
/// entries tx, ty, tw, th, objectness, C class logits, each an H × W plane). Ground truths are darknet labels:
/// normalised (cx, cy, w, h) in image units, concatenated over images with counts and classes in [0, C); they must be
/// finite with w, h &gt; 0 and 0 ≤ cx, cy &lt; 1 (ArgumentException with the index). Anchors are in input pixels
/// (default darknet's 10,13, 16,30, 33,23, 30,61, 62,45, 59,119, 116,90, 156,198, 373,326).</para>
/// <para>Darknet (what users get by default). Decoded box of slot (n, j, i): b = ((i + σ(tx))/W, (j + σ(ty))/H,
/// e^tw·a_w/netW, e^th·a_h/netH). Negatives: every slot's objectness has target 0, except that a slot whose decoded box
/// has IoU &gt; ignore threshold (0.7) with any ground truth of its image is ignored (the decision is not differentiated).
/// Positives: each ground truth picks the best of all nine anchors by the IoU of centred boxes (anchor size vs box
/// size; strict &gt;, the first wins); if that anchor belongs to the layer, the slot at cell (⌊cx·W⌋, ⌊cy·H⌋) trains with
/// targets tx = cx·W − i, ty = cy·H − j, tw = ln(w·netW/a_w), th = ln(h·netH/a_h), scale = 2 − w·h, objectness 1 and
/// class targets one-hot; a later ground truth in the same slot overwrites the box targets and adds its class (darknet
/// keeps the earlier class deltas). Loss, summed over all layers and divided by the batch size:
/// <c>Σ_{neg, not ignored} BCE(o, 0) + Σ_pos [BCE(o, 1) + Σ_c BCE(c_c, t_c) + scale·(BCE(tx', tx) + BCE(ty', ty)) + ½·scale·((tw' − tw)² + (th' − th)²)]</c>
/// (primes: raw outputs; BCE on logits). The gradient is darknet's delta negated: σ(z) − target for the logistic units,
/// scale·(z − t) for w, h (÷ batch). darknet's <c>truth_thresh</c> (1, never fires) and its stop at a ground truth with
/// x = 0 are not reproduced.</para>
/// <para>Ultralytics (archive branch). In grid units: every (anchor, ground truth) pair of the layer with wh-IoU &gt;
/// <see cref="YoloV3UltralyticsOptions.AnchorThreshold"/> is a match at the ground truth's own cell (no ignore).
/// Predicted box (σ(tx), σ(ty), min(e^tw, 1000)·a_w, min(e^th, 1000)·a_h); per layer box = mean(1 − GIoU) (or CIoU,
/// ultralytics' bbox_iou with 1e-16), objectness = BCE mean over all slots with target (1 − gr) + gr·max(sg(GIoU), 0)
/// at matched slots (the last match wins a slot), class = BCE mean over matches × classes (only when C &gt; 1). Sum over
/// layers, times the gains (3.54, 64.3, 37.4·C/80), times batch/64. Duplicated matches each count (their gradients add).</para>
/// <para>Composes <see cref="BinaryCrossEntropyWithLogitsLoss{T}"/>, <see cref="MseLoss{T}"/>, <see cref="GIoULoss{T}"/>
/// and <see cref="CIoULoss{T}"/> (per-element weights carry the normalisers). Images without ground truths are valid
/// (only negatives). Allocations: none with a reused <see cref="CriterionWorkspace{T}"/>.</para>
/// </remarks>
public sealed class YoloV3Loss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Detection layers.</summary>
    public const int Layers = 3;

    /// <summary>Anchors per layer.</summary>
    public const int AnchorsPerLayer = 3;

    // Workspace buffers.
    private const int ObjTarget = 0, ObjWeight = 1, PosTargets = 2, ClassTargets = 3, GatherInput = 4, GatherTarget = 5,
        GatherWeight = 6, GatherGradient = 7, ClassLogits = 8, ClassWeights = 9, ClassGradient = 10, BoxValues = 11;
    private const int PosOffsets = 0, ImageOffsets = 1, PosImage = 2;

    private readonly double[] _anchors;
    private readonly BinaryCrossEntropyWithLogitsLoss<T> _bce = new(Reduction.Sum);
    private readonly MseLoss<T> _mse = new(Reduction.Sum);
    private readonly BoxRegressionLoss<T>? _iou;

    /// <summary>Creates the loss.</summary>
    /// <param name="classes">C (≥ 1).</param>
    /// <param name="inputWidth">Network input width in pixels (a positive multiple of 32; default 416).</param>
    /// <param name="inputHeight">Network input height (a positive multiple of 32; default 416).</param>
    /// <param name="anchors">Nine (w, h) anchor pairs in input pixels, 18 finite positive values (empty: darknet's yolov3.cfg anchors).</param>
    /// <param name="ignoreThreshold">Darknet's ignore_thresh in [0, 1] (default 0.7, yolov3.cfg).</param>
    /// <param name="variant">Darknet (default) or Ultralytics.</param>
    /// <param name="ultralytics">Options of the ultralytics variant (default <see cref="YoloV3UltralyticsOptions.Default"/>).</param>
    public YoloV3Loss(int classes, int inputWidth = 416, int inputHeight = 416, ReadOnlySpan<double> anchors = default,
        double ignoreThreshold = 0.7, YoloV3Variant variant = YoloV3Variant.Darknet, YoloV3UltralyticsOptions? ultralytics = null)
    {
        CriteriaChecks.Classes(classes, 1);
        if (inputWidth <= 0 || inputWidth % 32 != 0)
        {
            ThrowHelper.OutOfRange(nameof(inputWidth), inputWidth, $"inputWidth must be a positive multiple of 32, got {inputWidth}.");
        }

        if (inputHeight <= 0 || inputHeight % 32 != 0)
        {
            ThrowHelper.OutOfRange(nameof(inputHeight), inputHeight, $"inputHeight must be a positive multiple of 32, got {inputHeight}.");
        }

        if (anchors.IsEmpty)
        {
            anchors = DarknetAnchors;
        }

        ThrowHelper.CheckLength(anchors.Length, 18, nameof(anchors), "nine (w, h) pairs");
        foreach (double v in anchors)
        {
            ThrowHelper.CheckAbove(v, 0.0, nameof(anchors));
        }

        if (variant is not (YoloV3Variant.Darknet or YoloV3Variant.Ultralytics))
        {
            ThrowHelper.OutOfRange(nameof(variant), variant, "variant must be Darknet or Ultralytics.");
        }

        Classes = classes;
        InputWidth = inputWidth;
        InputHeight = inputHeight;
        _anchors = anchors.ToArray();
        IgnoreThreshold = ThrowHelper.CheckInRange(ignoreThreshold, 0.0, 1.0, nameof(ignoreThreshold));
        Variant = variant;
        UltralyticsOptions = ultralytics ?? YoloV3UltralyticsOptions.Default;
        YoloV3UltralyticsOptions o = UltralyticsOptions;
        ThrowHelper.CheckAtLeast(o.BoxGain, 0.0, "ultralytics.BoxGain");
        ThrowHelper.CheckAtLeast(o.ObjectnessGain, 0.0, "ultralytics.ObjectnessGain");
        ThrowHelper.CheckAtLeast(o.ClassGain, 0.0, "ultralytics.ClassGain");
        ThrowHelper.CheckInRange(o.AnchorThreshold, 0.0, 1.0, "ultralytics.AnchorThreshold");
        ThrowHelper.CheckInRange(o.IoURatio, 0.0, 1.0, "ultralytics.IoURatio");
        if (variant == YoloV3Variant.Ultralytics)
        {
            _iou = o.BoxLoss switch
            {
                YoloV3BoxLoss.GIoU => new GIoULoss<T>(Reduction.None, 1e-16, BoxFormat.Cxcywh, BoxLossConvention.Ultralytics),
                YoloV3BoxLoss.CIoU => new CIoULoss<T>(Reduction.None, 1e-16, BoxFormat.Cxcywh, BoxLossConvention.Ultralytics),
                _ => throw new ArgumentOutOfRangeException(nameof(ultralytics), o.BoxLoss, "ultralytics.BoxLoss must be GIoU or CIoU."),
            };
        }
    }

    /// <summary>darknet's yolov3.cfg anchors: nine (w, h) pairs in pixels of a 416 × 416 input.</summary>
    public static ReadOnlySpan<double> DarknetAnchors => [10, 13, 16, 30, 33, 23, 30, 61, 62, 45, 59, 119, 116, 90, 156, 198, 373, 326];

    /// <summary>C.</summary>
    public int Classes { get; }

    /// <summary>Network input width (pixels).</summary>
    public int InputWidth { get; }

    /// <summary>Network input height (pixels).</summary>
    public int InputHeight { get; }

    /// <summary>The nine (w, h) anchors in pixels.</summary>
    public ReadOnlySpan<double> Anchors => _anchors;

    /// <summary>darknet's ignore_thresh.</summary>
    public double IgnoreThreshold { get; }

    /// <summary>Darknet or Ultralytics.</summary>
    public YoloV3Variant Variant { get; }

    /// <summary>Options of the ultralytics variant (unused by darknet).</summary>
    public YoloV3UltralyticsOptions UltralyticsOptions { get; }

    /// <summary>The stride of layer <paramref name="layer"/>: 32, 16, 8.</summary>
    public static int Stride(int layer) => 32 >> CheckLayer(layer);

    /// <summary>The grid (W, H) of layer <paramref name="layer"/>: the input size divided by the stride.</summary>
    public (int Width, int Height) GridSize(int layer) => (InputWidth / Stride(layer), InputHeight / Stride(layer));

    /// <summary>Which of the nine anchors slot <paramref name="slot"/> of layer <paramref name="layer"/> uses (darknet's masks 6,7,8 / 3,4,5 / 0,1,2).</summary>
    public static int AnchorIndex(int layer, int slot) => 3 * (2 - CheckLayer(layer)) + slot;

    /// <summary>The number of elements of layer <paramref name="layer"/>'s output for <paramref name="batch"/> images.</summary>
    public int OutputLength(int layer, int batch)
    {
        (int w, int h) = GridSize(layer);
        return checked(batch * AnchorsPerLayer * (5 + Classes) * w * h);
    }

    /// <summary>The loss terms.</summary>
    /// <param name="output0">Layer 0 (stride 32) raw output, batch × 3(5 + C) × H₀ × W₀.</param>
    /// <param name="output1">Layer 1 (stride 16) raw output.</param>
    /// <param name="output2">Layer 2 (stride 8) raw output.</param>
    /// <param name="groundTruthBoxes">Normalised (cx, cy, w, h) of all images, Σ Gᵢ × 4.</param>
    /// <param name="groundTruthLabels">Classes, Σ Gᵢ, in [0, C).</param>
    /// <param name="groundTruthCounts">Gᵢ per image (the batch size is its length).</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public YoloV3LossTerms<T> Forward(ReadOnlySpan<T> output0, ReadOnlySpan<T> output1, ReadOnlySpan<T> output2,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts,
        CriterionWorkspace<T>? workspace = null) =>
        Run(output0, output1, output2, groundTruthBoxes, groundTruthLabels, groundTruthCounts, default, default, default, false, workspace);

    /// <summary>The loss terms and d Total / d(each raw output).</summary>
    /// <param name="output0">Layer 0 raw output.</param>
    /// <param name="output1">Layer 1 raw output.</param>
    /// <param name="output2">Layer 2 raw output.</param>
    /// <param name="groundTruthBoxes">Normalised (cx, cy, w, h), Σ Gᵢ × 4.</param>
    /// <param name="groundTruthLabels">Classes, Σ Gᵢ.</param>
    /// <param name="groundTruthCounts">Gᵢ per image.</param>
    /// <param name="gradient0">Receives d Total / d output0.</param>
    /// <param name="gradient1">Receives d Total / d output1.</param>
    /// <param name="gradient2">Receives d Total / d output2.</param>
    /// <param name="workspace">Reusable scratch memory (null: allocated for this call).</param>
    public YoloV3LossTerms<T> ForwardBackward(ReadOnlySpan<T> output0, ReadOnlySpan<T> output1, ReadOnlySpan<T> output2,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts,
        Span<T> gradient0, Span<T> gradient1, Span<T> gradient2, CriterionWorkspace<T>? workspace = null) =>
        Run(output0, output1, output2, groundTruthBoxes, groundTruthLabels, groundTruthCounts, gradient0, gradient1, gradient2, true, workspace);

    private static int CheckLayer(int layer)
    {
        if ((uint)layer >= Layers)
        {
            ThrowHelper.OutOfRange(nameof(layer), layer, $"layer must be 0, 1 or 2, got {layer}.");
        }

        return layer;
    }

    private YoloV3LossTerms<T> Run(ReadOnlySpan<T> output0, ReadOnlySpan<T> output1, ReadOnlySpan<T> output2,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts,
        Span<T> gradient0, Span<T> gradient1, Span<T> gradient2, bool wantGradient, CriterionWorkspace<T>? workspace)
    {
        int batch = groundTruthCounts.Length;
        int total = CriteriaChecks.GroundTruthTotal(groundTruthCounts);
        ThrowHelper.CheckLength(groundTruthBoxes.Length, total * 4, nameof(groundTruthBoxes), "4 per ground truth, Σ groundTruthCounts × 4");
        ThrowHelper.CheckLength(groundTruthLabels.Length, total, nameof(groundTruthLabels), "one per ground truth");
        CheckTruths(groundTruthBoxes);
        CriteriaChecks.Labels(groundTruthLabels, Classes, nameof(groundTruthLabels));
        CheckOutput(output0.Length, 0, batch, nameof(output0));
        CheckOutput(output1.Length, 1, batch, nameof(output1));
        CheckOutput(output2.Length, 2, batch, nameof(output2));
        if (wantGradient)
        {
            ThrowHelper.CheckDestination(gradient0.Length, output0.Length, nameof(gradient0));
            ThrowHelper.CheckDestination(gradient1.Length, output1.Length, nameof(gradient1));
            ThrowHelper.CheckDestination(gradient2.Length, output2.Length, nameof(gradient2));
        }

        CriterionWorkspace<T> ws = workspace ?? new();
        Span<int> imageOffsets = ws.Ints(ImageOffsets, batch + 1);
        imageOffsets[0] = 0;
        for (int b = 0; b < batch; b++)
        {
            imageOffsets[b + 1] = imageOffsets[b] + groundTruthCounts[b];
        }

        var sums = new Sums();
        var context = new Context(groundTruthBoxes, groundTruthLabels, imageOffsets, batch, total, wantGradient, ws);
        for (int layer = 0; layer < Layers; layer++)
        {
            ReadOnlySpan<T> output = layer == 0 ? output0 : layer == 1 ? output1 : output2;
            Span<T> gradient = !wantGradient ? default : layer == 0 ? gradient0 : layer == 1 ? gradient1 : gradient2;
            if (wantGradient)
            {
                CriteriaParallel.Fill(gradient[..output.Length], T.Zero);
            }

            if (Variant == YoloV3Variant.Darknet)
            {
                DarknetLayer(layer, output, gradient, context, ref sums);
            }
            else
            {
                UltralyticsLayer(layer, output, gradient, context, ref sums);
            }
        }

        return new YoloV3LossTerms<T>(T.CreateTruncating(sums.Box), T.CreateTruncating(sums.Objectness), T.CreateTruncating(sums.Classification));
    }

    private void CheckOutput(int length, int layer, int batch, string paramName)
    {
        (int w, int h) = GridSize(layer);
        long expected = (long)batch * AnchorsPerLayer * (5 + Classes) * w * h;
        if (length != expected)
        {
            ThrowHelper.Argument(paramName, $"{paramName} must have {expected} elements (batch × 3·(5 + classes) × {h} × {w} = {batch} × {AnchorsPerLayer * (5 + Classes)} × {h} × {w}) but it has {length}.");
        }
    }

    private static void CheckTruths(ReadOnlySpan<T> boxes)
    {
        for (int i = 0; i < boxes.Length; i += 4)
        {
            T cx = boxes[i], cy = boxes[i + 1], w = boxes[i + 2], h = boxes[i + 3];
            if (!(T.IsFinite(cx) && T.IsFinite(cy) && T.IsFinite(w) && T.IsFinite(h)))
            {
                ThrowHelper.Argument("groundTruthBoxes", $"groundTruthBoxes[{i / 4}] = ({cx}, {cy}, {w}, {h}) has a NaN or infinite value.");
            }

            if (!(w > T.Zero && h > T.Zero))
            {
                ThrowHelper.Argument("groundTruthBoxes", $"groundTruthBoxes[{i / 4}] = ({cx}, {cy}, {w}, {h}) is empty: w and h must be > 0 (x2 > x1, y2 > y1).");
            }

            if (!(cx >= T.Zero && cx < T.One && cy >= T.Zero && cy < T.One))
            {
                ThrowHelper.Argument("groundTruthBoxes", $"groundTruthBoxes[{i / 4}] = ({cx}, {cy}, {w}, {h}): the normalised centre must be in [0, 1).");
            }
        }
    }

    /// <summary>The per-call inputs shared by the layers (a ref struct over the caller's spans).</summary>
    private readonly ref struct Context(ReadOnlySpan<T> boxes, ReadOnlySpan<int> labels, ReadOnlySpan<int> imageOffsets, int batch, int total,
        bool wantGradient, CriterionWorkspace<T> ws)
    {
        public readonly ReadOnlySpan<T> Boxes = boxes;
        public readonly ReadOnlySpan<int> Labels = labels, ImageOffsets = imageOffsets;
        public readonly int Batch = batch, Total = total;
        public readonly bool WantGradient = wantGradient;
        public readonly CriterionWorkspace<T> Workspace = ws;
    }

    /// <summary>The three terms, accumulated in double over layers and calls.</summary>
    private struct Sums
    {
        public double Box, Objectness, Classification;
    }

    private static T Sigmoid(T z) => T.One / (T.One + T.Exp(-z));

    /// <summary>darknet's box_iou on centre-form boxes (overlap = min right − max left; no overlap if either side is negative).</summary>
    internal static T DarknetIoU(T ax, T ay, T aw, T ah, T bx, T by, T bw, T bh)
    {
        T two = T.CreateTruncating(2);
        T ow = T.Min(ax + aw / two, bx + bw / two) - T.Max(ax - aw / two, bx - bw / two);
        T oh = T.Min(ay + ah / two, by + bh / two) - T.Max(ay - ah / two, by - bh / two);
        T inter = ow < T.Zero || oh < T.Zero ? T.Zero : ow * oh;
        T union = aw * ah + bw * bh - inter;
        return inter / union;
    }

    // ---------------------------------------------------------------- darknet

    private void DarknetLayer(int layer, ReadOnlySpan<T> output, Span<T> gradient, in Context c, ref Sums sums)
    {
        (int gw, int gh) = GridSize(layer);
        int hw = gw * gh, entries = 5 + Classes, planes = c.Batch * AnchorsPerLayer;
        CriterionWorkspace<T> ws = c.Workspace;
        Span<T> objTarget = ws.Values(ObjTarget, (long)planes * hw), objWeight = ws.Values(ObjWeight, (long)planes * hw);
        T invBatch = T.One / T.CreateTruncating(c.Batch);
        T netW = T.CreateTruncating(InputWidth), netH = T.CreateTruncating(InputHeight);

        // 1. Negatives and the ignore band, from the decoded predictions (parallel over the anchor planes).
        IgnorePass(layer, output, c, objTarget, objWeight, invBatch);

        // 2. Positives: best of the nine anchors per ground truth; only this layer's anchors train here.
        Span<int> offsets = ws.Ints(PosOffsets, c.Total);
        Span<int> images = ws.Ints(PosImage, c.Total);
        Span<T> targets = ws.Values(PosTargets, 5L * c.Total);
        Span<T> classTargets = ws.Values(ClassTargets, (long)c.Total * Classes);
        int p = 0;
        for (int b = 0; b < c.Batch; b++)
        {
            int first = p;
            for (int t = c.ImageOffsets[b]; t < c.ImageOffsets[b + 1]; t++)
            {
                T cx = c.Boxes[4 * t], cy = c.Boxes[4 * t + 1], w = c.Boxes[4 * t + 2], h = c.Boxes[4 * t + 3];
                int best = BestAnchor(w, h, netW, netH);
                int n = best - AnchorIndex(layer, 0);
                if ((uint)n >= AnchorsPerLayer)
                {
                    continue;
                }

                int i = int.CreateTruncating(cx * T.CreateTruncating(gw)), j = int.CreateTruncating(cy * T.CreateTruncating(gh));
                int plane = b * AnchorsPerLayer + n;
                int slot = plane * hw + j * gw + i;
                int offset = plane * entries * hw + j * gw + i;
                int q = first;
                while (q < p && offsets[q] != offset)
                {
                    q++;
                }

                if (q == p)
                {
                    offsets[p] = offset;
                    images[p] = b;
                    classTargets.Slice(p * Classes, Classes).Clear();
                    p++;
                }

                // Box targets: the last ground truth in a slot wins; classes accumulate (darknet's delta_yolo_class).
                T aw = T.CreateTruncating(_anchors[2 * best]), ah = T.CreateTruncating(_anchors[2 * best + 1]);
                Span<T> target = targets.Slice(q * 5, 5);
                target[0] = cx * T.CreateTruncating(gw) - T.CreateTruncating(i);
                target[1] = cy * T.CreateTruncating(gh) - T.CreateTruncating(j);
                target[2] = T.Log(w * netW / aw);
                target[3] = T.Log(h * netH / ah);
                target[4] = T.CreateTruncating(2) - w * h;
                classTargets[q * Classes + c.Labels[t]] = T.One;
                objTarget[slot] = T.One;
                objWeight[slot] = invBatch;
            }
        }

        // 3. Objectness: BCE-with-logits over each anchor plane (target 1 / 0, weight 1/batch or 0 where ignored).
        double objectness = 0;
        for (int plane = 0; plane < planes; plane++)
        {
            int offset = (plane * entries + 4) * hw;
            ReadOnlySpan<T> o = output.Slice(offset, hw);
            ReadOnlySpan<T> t = objTarget.Slice(plane * hw, hw), w = objWeight.Slice(plane * hw, hw);
            objectness += double.CreateTruncating(c.WantGradient
                ? _bce.ForwardBackward(o, t, gradient.Slice(offset, hw), default, w)
                : _bce.Forward(o, t, default, w));
        }

        sums.Objectness += objectness;
        if (p == 0)
        {
            return;
        }

        // 4. Positives' x, y (BCE on logits against the cell offsets, weight scale/batch), w, h (½·scale·(z − t)²/batch
        //    as a weighted squared error) and classes (BCE, weight 1/batch), gathered from the strided entries.
        Span<T> input = ws.Values(GatherInput, 2L * p), target2 = ws.Values(GatherTarget, 2L * p), weight = ws.Values(GatherWeight, 2L * p);
        Span<T> grad = c.WantGradient ? ws.Values(GatherGradient, 2L * p) : default;
        T half = T.CreateTruncating(0.5);
        for (int pass = 0; pass < 2; pass++)
        {
            for (int q = 0; q < p; q++)
            {
                ReadOnlySpan<T> target = targets.Slice(q * 5, 5);
                T scaled = target[4] * invBatch;
                for (int e = 0; e < 2; e++)
                {
                    input[2 * q + e] = output[offsets[q] + (2 * pass + e) * hw];
                    target2[2 * q + e] = target[2 * pass + e];
                    weight[2 * q + e] = pass == 0 ? scaled : half * scaled;
                }
            }

            ElementwiseLoss<T> loss = pass == 0 ? _bce : _mse;
            sums.Box += double.CreateTruncating(c.WantGradient
                ? loss.ForwardBackward(input, target2, grad, default, weight)
                : loss.Forward(input, target2, default, weight));
            if (c.WantGradient)
            {
                for (int q = 0; q < p; q++)
                {
                    gradient[offsets[q] + 2 * pass * hw] = grad[2 * q];
                    gradient[offsets[q] + (2 * pass + 1) * hw] = grad[2 * q + 1];
                }
            }
        }

        sums.Classification += ClassTerm(output, gradient, offsets[..p], classTargets[..(p * Classes)], hw, invBatch, c, ws, accumulate: false);
    }

    /// <summary>Class BCE over gathered slots (uniform weight <paramref name="weight"/>); scatters (or adds) the gradient back.</summary>
    private double ClassTerm(ReadOnlySpan<T> output, Span<T> gradient, ReadOnlySpan<int> offsets, ReadOnlySpan<T> classTargets, int hw, T weight,
        in Context c, CriterionWorkspace<T> ws, bool accumulate)
    {
        int p = offsets.Length, classes = Classes;
        Span<T> logits = ws.Values(ClassLogits, (long)p * classes), weights = ws.Values(ClassWeights, (long)p * classes);
        for (int q = 0; q < p; q++)
        {
            for (int k = 0; k < classes; k++)
            {
                logits[q * classes + k] = output[offsets[q] + (5 + k) * hw];
            }
        }

        weights.Fill(weight);
        if (!c.WantGradient)
        {
            return double.CreateTruncating(_bce.Forward(logits, classTargets, default, weights));
        }

        Span<T> grad = ws.Values(ClassGradient, (long)p * classes);
        double value = double.CreateTruncating(_bce.ForwardBackward(logits, classTargets, grad, default, weights));
        for (int q = 0; q < p; q++)
        {
            for (int k = 0; k < classes; k++)
            {
                ref T g = ref gradient[offsets[q] + (5 + k) * hw];
                g = accumulate ? g + grad[q * classes + k] : grad[q * classes + k];
            }
        }

        return value;
    }

    /// <summary>The best of the nine anchors for a (w, h) ground truth: IoU of centred boxes, strict &gt;, the first wins (0 if none overlaps).</summary>
    private int BestAnchor(T w, T h, T netW, T netH)
    {
        T best = T.Zero;
        int bestN = 0;
        for (int n = 0; n < 9; n++)
        {
            T iou = DarknetIoU(T.Zero, T.Zero, T.CreateTruncating(_anchors[2 * n]) / netW, T.CreateTruncating(_anchors[2 * n + 1]) / netH, T.Zero, T.Zero, w, h);
            if (iou > best)
            {
                best = iou;
                bestN = n;
            }
        }

        return bestN;
    }

    private unsafe void IgnorePass(int layer, ReadOnlySpan<T> output, in Context c, Span<T> objTarget, Span<T> objWeight, T invBatch)
    {
        (int gw, int gh) = GridSize(layer);
        int planes = c.Batch * AnchorsPerLayer;
        fixed (T* o = output, boxes = c.Boxes, target = objTarget, weight = objWeight)
        fixed (int* imageOffsets = c.ImageOffsets)
        {
            var job = new IgnoreJob
            {
                Output = o, Boxes = boxes, Target = target, Weight = weight, ImageOffsets = imageOffsets, W = gw, H = gh, Entries = 5 + Classes,
                NetW = T.CreateTruncating(InputWidth), NetH = T.CreateTruncating(InputHeight), Threshold = T.CreateTruncating(IgnoreThreshold),
                InvBatch = invBatch,
            };
            for (int n = 0; n < AnchorsPerLayer; n++)
            {
                int a = AnchorIndex(layer, n);
                job.SetAnchor(n, T.CreateTruncating(_anchors[2 * a]), T.CreateTruncating(_anchors[2 * a + 1]));
            }

            long work = (long)planes * gw * gh * Math.Max(1, c.Total / Math.Max(1, c.Batch));
            if (work < Pointwise.ParallelThreshold)
            {
                for (int plane = 0; plane < planes; plane++)
                {
                    job.Run(plane);
                }
            }
            else
            {
                WorkPool.Run(ref job, planes);
            }
        }
    }

    /// <summary>One anchor plane: decode every slot, its best IoU with the image's ground truths, the objectness weight.</summary>
    private unsafe struct IgnoreJob : IChunkJob
    {
        public T* Output, Boxes, Target, Weight;
        public int* ImageOffsets;
        public int W, H, Entries;
        public T NetW, NetH, Threshold, InvBatch;
        public T Aw0, Ah0, Aw1, Ah1, Aw2, Ah2;

        public void SetAnchor(int n, T aw, T ah)
        {
            switch (n)
            {
                case 0:
                    (Aw0, Ah0) = (aw, ah);
                    break;
                case 1:
                    (Aw1, Ah1) = (aw, ah);
                    break;
                default:
                    (Aw2, Ah2) = (aw, ah);
                    break;
            }
        }

        public readonly void Run(int plane)
        {
            int b = plane / AnchorsPerLayer, n = plane % AnchorsPerLayer, hw = W * H;
            T aw = n == 0 ? Aw0 : n == 1 ? Aw1 : Aw2, ah = n == 0 ? Ah0 : n == 1 ? Ah1 : Ah2;
            T* x = Output + (long)plane * Entries * hw;
            T* target = Target + (long)plane * hw, weight = Weight + (long)plane * hw;
            int t0 = ImageOffsets[b], t1 = ImageOffsets[b + 1];
            T w = T.CreateTruncating(W), h = T.CreateTruncating(H);
            for (int j = 0; j < H; j++)
            {
                for (int i = 0; i < W; i++)
                {
                    int k = j * W + i;
                    T best = T.Zero;
                    if (t1 > t0)
                    {
                        T bx = (T.CreateTruncating(i) + Sigmoid(x[k])) / w;
                        T by = (T.CreateTruncating(j) + Sigmoid(x[hw + k])) / h;
                        T bw = T.Exp(x[2 * hw + k]) * aw / NetW;
                        T bh = T.Exp(x[3 * hw + k]) * ah / NetH;
                        for (int t = t0; t < t1; t++)
                        {
                            T* g = Boxes + 4 * t;
                            T iou = DarknetIoU(bx, by, bw, bh, g[0], g[1], g[2], g[3]);
                            if (iou > best)
                            {
                                best = iou;
                            }
                        }
                    }

                    target[k] = T.Zero;
                    weight[k] = best > Threshold ? T.Zero : InvBatch;
                }
            }
        }
    }

    // ---------------------------------------------------------------- ultralytics

    private void UltralyticsLayer(int layer, ReadOnlySpan<T> output, Span<T> gradient, in Context c, ref Sums sums)
    {
        YoloV3UltralyticsOptions o = UltralyticsOptions;
        (int gw, int gh) = GridSize(layer);
        int hw = gw * gh, entries = 5 + Classes, planes = c.Batch * AnchorsPerLayer;
        int stride = Stride(layer);
        CriterionWorkspace<T> ws = c.Workspace;
        double batchScale = o.ScaleByBatch ? c.Batch / 64.0 : 1.0;
        double boxGain = o.BoxGain * batchScale, objGain = o.ObjectnessGain * batchScale;
        double classGain = o.ClassGain * (o.ScaleClassGainByClasses ? Classes / 80.0 : 1.0) * batchScale;
        T gridW = T.CreateTruncating(gw), gridH = T.CreateTruncating(gh);
        T threshold = T.CreateTruncating(o.AnchorThreshold), tiny = T.CreateTruncating(1e-16), clamp = T.CreateTruncating(1000.0);

        // Matches in ultralytics' order: anchor-major, then the ground truths of all images in order.
        int capacity = AnchorsPerLayer * c.Total;
        Span<int> offsets = ws.Ints(PosOffsets, capacity);
        Span<T> predicted = ws.Values(GatherInput, 4L * capacity), truth = ws.Values(GatherTarget, 4L * capacity);
        Span<T> anchorsOf = ws.Values(PosTargets, 2L * capacity);
        Span<T> classTargets = ws.Values(ClassTargets, (long)capacity * Classes);
        Span<int> matchImage = ws.Ints(PosImage, capacity);
        int nb = 0;
        for (int n = 0; n < AnchorsPerLayer; n++)
        {
            int a = AnchorIndex(layer, n);
            T aw = T.CreateTruncating(_anchors[2 * a]) / T.CreateTruncating(stride), ah = T.CreateTruncating(_anchors[2 * a + 1]) / T.CreateTruncating(stride);
            for (int b = 0; b < c.Batch; b++)
            {
                for (int t = c.ImageOffsets[b]; t < c.ImageOffsets[b + 1]; t++)
                {
                    T gwh0 = c.Boxes[4 * t + 2] * gridW, gwh1 = c.Boxes[4 * t + 3] * gridH;
                    T inter = T.Min(aw, gwh0) * T.Min(ah, gwh1);
                    T iou = inter / ((aw * ah + tiny) + gwh0 * gwh1 - inter);
                    if (!(iou > threshold))
                    {
                        continue;
                    }

                    T gx = c.Boxes[4 * t] * gridW, gy = c.Boxes[4 * t + 1] * gridH;
                    int gi = int.CreateTruncating(gx), gj = int.CreateTruncating(gy);
                    int offset = (b * AnchorsPerLayer + n) * entries * hw + gj * gw + gi;
                    offsets[nb] = offset;
                    matchImage[nb] = (b * AnchorsPerLayer + n) * hw + gj * gw + gi;
                    T zw = output[offset + 2 * hw], zh = output[offset + 3 * hw];
                    predicted[4 * nb] = Sigmoid(output[offset]);
                    predicted[4 * nb + 1] = Sigmoid(output[offset + hw]);
                    predicted[4 * nb + 2] = T.Min(T.Exp(zw), clamp) * aw;
                    predicted[4 * nb + 3] = T.Min(T.Exp(zh), clamp) * ah;
                    truth[4 * nb] = gx - T.Floor(gx);
                    truth[4 * nb + 1] = gy - T.Floor(gy);
                    truth[4 * nb + 2] = gwh0;
                    truth[4 * nb + 3] = gwh1;
                    anchorsOf[2 * nb] = aw;
                    anchorsOf[2 * nb + 1] = ah;
                    Span<T> cls = classTargets.Slice(nb * Classes, Classes);
                    cls.Clear();
                    cls[c.Labels[t]] = T.One;
                    nb++;
                }
            }
        }

        // Box: per-box 1 − IoU (GIoU/CIoU, ultralytics' bbox_iou on centre boxes), mean over the matches, gained.
        Span<T> objTarget = ws.Values(ObjTarget, (long)planes * hw), objWeight = ws.Values(ObjWeight, (long)planes * hw);
        objTarget.Clear();
        if (nb > 0)
        {
            Span<T> values = ws.Values(BoxValues, nb);
            Span<T> grad = c.WantGradient ? ws.Values(GatherGradient, 4L * nb) : default;
            if (c.WantGradient)
            {
                _iou!.ForwardBackward(predicted[..(4 * nb)], truth[..(4 * nb)], grad, values);
            }
            else
            {
                _iou!.Forward(predicted[..(4 * nb)], truth[..(4 * nb)], values);
            }

            double boxSum = 0;
            T gr = T.CreateTruncating(o.IoURatio);
            for (int q = 0; q < nb; q++)
            {
                boxSum += double.CreateTruncating(values[q]);
                T iou = T.One - values[q];
                objTarget[matchImage[q]] = (T.One - gr) + gr * T.Max(iou, T.Zero);
            }

            sums.Box += boxGain * boxSum / nb;
            if (c.WantGradient)
            {
                // Chain rule: cx = σ(z), w = min(e^z, 1000)·a (the clamp passes at 1000, as torch.clamp).
                T k = T.CreateTruncating(boxGain / nb);
                for (int q = 0; q < nb; q++)
                {
                    int offset = offsets[q];
                    T sx = predicted[4 * q], sy = predicted[4 * q + 1];
                    T ew = T.Exp(output[offset + 2 * hw]), eh = T.Exp(output[offset + 3 * hw]);
                    gradient[offset] += k * grad[4 * q] * (T.One - sx) * sx;
                    gradient[offset + hw] += k * grad[4 * q + 1] * (T.One - sy) * sy;
                    gradient[offset + 2 * hw] += ew <= clamp ? k * grad[4 * q + 2] * anchorsOf[2 * q] * ew : T.Zero;
                    gradient[offset + 3 * hw] += eh <= clamp ? k * grad[4 * q + 3] * anchorsOf[2 * q + 1] * eh : T.Zero;
                }
            }

            if (Classes > 1)
            {
                sums.Classification += ClassTerm(output, gradient, offsets[..nb], classTargets[..(nb * Classes)], hw,
                    T.CreateTruncating(classGain / ((double)nb * Classes)), c, ws, accumulate: true);
            }
        }

        // Objectness: BCE mean over every slot of the layer, gained.
        objWeight.Fill(T.CreateTruncating(objGain / ((double)planes * hw)));
        double objectness = 0;
        for (int plane = 0; plane < planes; plane++)
        {
            int offset = (plane * entries + 4) * hw;
            ReadOnlySpan<T> x = output.Slice(offset, hw);
            ReadOnlySpan<T> t = objTarget.Slice(plane * hw, hw), w = objWeight.Slice(plane * hw, hw);
            objectness += double.CreateTruncating(c.WantGradient
                ? _bce.ForwardBackward(x, t, gradient.Slice(offset, hw), default, w)
                : _bce.Forward(x, t, default, w));
        }

        sums.Objectness += objectness;
    }
}
