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
/// finite with w, h &gt; 0 and 0 ≤ cx, cy &lt; 1, and for the darknet variant w, h ≤ 1 (ArgumentException with the index). Anchors are in input pixels
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
public sealed partial class YoloV3Loss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Detection layers.</summary>
    public const int Layers = 3;

    /// <summary>Anchors per layer.</summary>
    public const int AnchorsPerLayer = 3;

    private readonly double[] _anchors;
    private readonly BinaryCrossEntropyWithLogitsLoss<T> _bce = new(Reduction.Sum);
    private readonly MseLoss<T> _mse = new(Reduction.Sum);
    private readonly BoxRegressionLoss<T>? _iou;
    private YoloV3Loss<float>? _float32;

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
            _iou = o.BoxLossKind switch
            {
                BoxLossKind.GIoU => new GIoULoss<T>(Reduction.None, 1e-16, BoxFormat.Cxcywh, BoxLossConvention.Ultralytics),
                BoxLossKind.CIoU => new CIoULoss<T>(Reduction.None, 1e-16, BoxFormat.Cxcywh, BoxLossConvention.Ultralytics),
                _ => throw new ArgumentOutOfRangeException(nameof(ultralytics), o.BoxLossKind, "ultralytics.BoxLossKind must be GIoU or CIoU."),
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
        ThrowHelper.CheckDimension(batch, nameof(batch));
        return ThrowHelper.Product(nameof(batch), "batch × 3·(5 + classes) × H × W", batch, AnchorsPerLayer * (5L + Classes), h, w);
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
        CheckTruths(groundTruthBoxes, Variant == YoloV3Variant.Darknet);
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

        if (Float32Path.Applies<T>())
        {
            return RunWidened(output0, output1, output2, groundTruthBoxes, groundTruthLabels, groundTruthCounts, gradient0, gradient1, gradient2, wantGradient, workspace);
        }

        Scratch ws = (workspace ?? new()).Scratch<Scratch>();
        Span<int> imageOffsets = ws.ImageOffsets.Get(batch + 1);
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

    /// <summary>The same criterion in float32, which computes for narrow element types.</summary>
    private YoloV3Loss<float> Float32 =>
        _float32 ??= new YoloV3Loss<float>(Classes, InputWidth, InputHeight, _anchors, IgnoreThreshold, Variant, UltralyticsOptions);

    /// <summary>A narrow element type's call: the float32 criterion on widened copies, gradients and terms rounded once.</summary>
    private YoloV3LossTerms<T> RunWidened(ReadOnlySpan<T> output0, ReadOnlySpan<T> output1, ReadOnlySpan<T> output2,
        ReadOnlySpan<T> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<int> groundTruthCounts,
        Span<T> gradient0, Span<T> gradient1, Span<T> gradient2, bool wantGradient, CriterionWorkspace<T>? workspace)
    {
        using var wide = WideScope<T>.Start();
        Span<float> g0 = wantGradient ? wide.Output(output0.Length) : default, g1 = wantGradient ? wide.Output(output1.Length) : default;
        Span<float> g2 = wantGradient ? wide.Output(output2.Length) : default;
        YoloV3LossTerms<float> terms = Float32.Run(wide.Read(output0), wide.Read(output1), wide.Read(output2), wide.Read(groundTruthBoxes),
            groundTruthLabels, groundTruthCounts, g0, g1, g2, wantGradient, workspace?.Float32);
        WideScope<T>.Narrow(g0, gradient0);
        WideScope<T>.Narrow(g1, gradient1);
        WideScope<T>.Narrow(g2, gradient2);
        return new YoloV3LossTerms<T>(T.CreateTruncating(terms.Box), T.CreateTruncating(terms.Objectness), T.CreateTruncating(terms.Classification));
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

    /// <param name="boxes">The ground truths, (cx, cy, w, h) per box.</param>
    /// <param name="normalisedSizes">Darknet: w, h must also be at most 1, as its box scale 2 − w·h assumes (a larger
    /// box makes the scale negative, and the squared-error term a negative or −∞ loss).</param>
    private static void CheckTruths(ReadOnlySpan<T> boxes, bool normalisedSizes)
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

            if (normalisedSizes && !(w <= T.One && h <= T.One))
            {
                ThrowHelper.Argument("groundTruthBoxes", $"groundTruthBoxes[{i / 4}] = ({cx}, {cy}, {w}, {h}): the darknet variant needs normalised sizes w, h in (0, 1] (its box scale is 2 − w·h).");
            }
        }
    }

    /// <summary>The per-call inputs shared by the layers (a ref struct over the caller's spans).</summary>
    private readonly ref struct Context(ReadOnlySpan<T> boxes, ReadOnlySpan<int> labels, ReadOnlySpan<int> imageOffsets, int batch, int total,
        bool wantGradient, Scratch ws)
    {
        public readonly ReadOnlySpan<T> Boxes = boxes;
        public readonly ReadOnlySpan<int> Labels = labels, ImageOffsets = imageOffsets;
        public readonly int Batch = batch, Total = total;
        public readonly bool WantGradient = wantGradient;
        public readonly Scratch Workspace = ws;
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

    /// <summary>
    /// The objectness term of one layer, shared by both variants: BCE-with-logits of each anchor plane's objectness
    /// entries against <paramref name="objTarget"/> with per-slot <paramref name="objWeight"/>, summed plane by plane
    /// (the gradient written into the objectness entries).
    /// </summary>
    private double ObjectnessTerm(ReadOnlySpan<T> output, Span<T> gradient, ReadOnlySpan<T> objTarget, ReadOnlySpan<T> objWeight, int planes, int hw,
        bool wantGradient)
    {
        int entries = 5 + Classes;
        double objectness = 0;
        for (int plane = 0; plane < planes; plane++)
        {
            int offset = (plane * entries + 4) * hw;
            ReadOnlySpan<T> o = output.Slice(offset, hw);
            ReadOnlySpan<T> t = objTarget.Slice(plane * hw, hw), w = objWeight.Slice(plane * hw, hw);
            objectness += double.CreateTruncating(wantGradient
                ? _bce.ForwardBackward(o, t, gradient.Slice(offset, hw), default, w)
                : _bce.Forward(o, t, default, w));
        }

        return objectness;
    }

    /// <summary>Class BCE over gathered slots (uniform weight <paramref name="weight"/>); scatters (or adds) the gradient back.</summary>
    private double ClassTerm(ReadOnlySpan<T> output, Span<T> gradient, ReadOnlySpan<int> offsets, ReadOnlySpan<T> classTargets, int hw, T weight,
        in Context c, Scratch ws, bool accumulate)
    {
        int p = offsets.Length, classes = Classes;
        Span<T> logits = ws.ClassLogits.Get((long)p * classes), weights = ws.ClassWeights.Get((long)p * classes);
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

        Span<T> grad = ws.ClassGradient.Get((long)p * classes);
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

    /// <summary>YOLOv3's buffers in a <see cref="CriterionWorkspace{T}"/>.</summary>
    internal sealed class Scratch : CriterionScratch
    {
        public ScratchBuffer<T> ObjTarget, ObjWeight, PosTargets, ClassTargets, GatherInput, GatherTarget, GatherWeight, GatherGradient,
            ClassLogits, ClassWeights, ClassGradient, BoxValues;
        public ScratchBuffer<int> PosOffsets, ImageOffsets, PosImage;

        public override long AllocatedBytes => ObjTarget.Bytes + ObjWeight.Bytes + PosTargets.Bytes + ClassTargets.Bytes + GatherInput.Bytes
            + GatherTarget.Bytes + GatherWeight.Bytes + GatherGradient.Bytes + ClassLogits.Bytes + ClassWeights.Bytes + ClassGradient.Bytes
            + BoxValues.Bytes + PosOffsets.Bytes + ImageOffsets.Bytes + PosImage.Bytes;
    }
}
