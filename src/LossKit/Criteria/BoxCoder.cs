using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using LossKit.Detection;
using LossKit.Internal;

namespace LossKit.Criteria;

/// <summary>
/// The R-CNN box parameterisation, as torchvision's <c>torchvision.models.detection._utils.BoxCoder(weights,
/// bbox_xform_clip=math.log(1000.0 / 16))</c>: a box (xyxy) is encoded relative to an anchor or proposal (xyxy) as
/// deltas (dx, dy, dw, dh), and deltas are decoded back into boxes.
/// </summary>
/// <remarks>
/// <para>With anchor width p_w = x2 − x1, height p_h, centre p_x = x1 + 0.5·p_w, p_y = y1 + 0.5·p_h (no +1), and the
/// same for the box g: <c>dx = w_x·(g_x − p_x)/p_w</c>, <c>dy = w_y·(g_y − p_y)/p_h</c>, <c>dw = w_w·ln(g_w/p_w)</c>,
/// <c>dh = w_h·ln(g_h/p_h)</c>.</para>
/// <para>Decoding divides by the weights and clamps the size deltas from above at <see cref="BoxTransformClip"/>
/// (ln(1000/16) = 4.135166556742356, so a box grows at most 62.5-fold): c_x = (dx/w_x)·p_w + p_x,
/// w = e^min(dw/w_w, clip)·p_w, and the corners c_x ∓ 0.5·w, c_y ∓ 0.5·h.</para>
/// <para><see cref="DecodeGradient{T}"/> is the chain rule through <see cref="Decode{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/> (what an IoU-type loss on
/// decoded boxes needs): ∂x1/∂dx = ∂x2/∂dx = p_w/w_x, ∂x2/∂dw = −∂x1/∂dw = 0.5·e^(dw/w_w)·p_w/w_w, and 0 through the
/// clamp where dw/w_w exceeds the clip (at the clip itself the gradient passes, as torch.clamp).</para>
/// <para>Weights: (1, 1, 1, 1) for the RPN and RetinaNet (<see cref="Unit"/>), (10, 10, 5, 5) for the Faster R-CNN RoI
/// heads (<see cref="RoiHeads"/>). Every operation is in the element type, in torchvision's order, so float and double
/// results match torchvision's float32 and float64 results.</para>
/// <para>Special values are not checked: an anchor with zero width gives ±∞ or NaN deltas (division by zero), a box
/// with zero width gives dw = −∞, NaN propagates — as in torchvision. Zero boxes encode to nothing.</para>
/// </remarks>
public sealed class BoxCoder
{
    /// <summary>torchvision's default clamp of the decoded size deltas: ln(1000/16) = 4.135166556742356.</summary>
    public static readonly double DefaultBoxTransformClip = Math.Log(1000.0 / 16);

    /// <summary>Creates a coder.</summary>
    /// <param name="weightX">w_x (finite, &gt; 0; default 1).</param>
    /// <param name="weightY">w_y (finite, &gt; 0; default 1).</param>
    /// <param name="weightWidth">w_w (finite, &gt; 0; default 1).</param>
    /// <param name="weightHeight">w_h (finite, &gt; 0; default 1).</param>
    /// <param name="boxTransformClip">Upper clamp of dw/w_w and dh/w_h when decoding (default ln(1000/16); +∞ disables it; not NaN).</param>
    public BoxCoder(double weightX = 1.0, double weightY = 1.0, double weightWidth = 1.0, double weightHeight = 1.0, double? boxTransformClip = null)
    {
        WeightX = ThrowHelper.CheckAbove(weightX, 0.0, nameof(weightX));
        WeightY = ThrowHelper.CheckAbove(weightY, 0.0, nameof(weightY));
        WeightWidth = ThrowHelper.CheckAbove(weightWidth, 0.0, nameof(weightWidth));
        WeightHeight = ThrowHelper.CheckAbove(weightHeight, 0.0, nameof(weightHeight));
        double clip = boxTransformClip ?? DefaultBoxTransformClip;
        if (double.IsNaN(clip))
        {
            ThrowHelper.OutOfRange(nameof(boxTransformClip), clip, "boxTransformClip must not be NaN.");
        }

        BoxTransformClip = clip;
    }

    /// <summary>Weights (1, 1, 1, 1): torchvision's RPN and RetinaNet coder.</summary>
    public static BoxCoder Unit { get; } = new();

    /// <summary>Weights (10, 10, 5, 5): torchvision's Faster R-CNN RoI-heads coder (<c>bbox_reg_weights</c> default).</summary>
    public static BoxCoder RoiHeads { get; } = new(10.0, 10.0, 5.0, 5.0);

    /// <summary>w_x.</summary>
    public double WeightX { get; }

    /// <summary>w_y.</summary>
    public double WeightY { get; }

    /// <summary>w_w.</summary>
    public double WeightWidth { get; }

    /// <summary>w_h.</summary>
    public double WeightHeight { get; }

    /// <summary>The upper clamp of the size deltas (after division by the weights) when decoding.</summary>
    public double BoxTransformClip { get; }

    /// <summary>Encodes <paramref name="boxes"/> relative to <paramref name="anchors"/> (torchvision <c>encode_single(boxes, anchors)</c>).</summary>
    /// <param name="boxes">Boxes to encode (the ground truths), N × 4, xyxy.</param>
    /// <param name="anchors">The reference boxes (anchors or proposals), N × 4, xyxy.</param>
    /// <param name="deltas">Receives N × 4 deltas (dx, dy, dw, dh).</param>
    public void Encode<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> anchors, Span<T> deltas)
        where T : IFloatingPointIeee754<T>
    {
        BoxConvert.CheckBoxes(boxes.Length, nameof(boxes));
        ThrowHelper.CheckLength(anchors.Length, boxes.Length, nameof(anchors), "one anchor per box");
        ThrowHelper.CheckDestination(deltas.Length, boxes.Length, nameof(deltas));
        if (Float32Path.Applies<T>())
        {
            // Narrow types: each box widened to float32, encoded with float32 weights, the deltas rounded once.
            var wf = new Weights<float>(this);
            Span<float> b = stackalloc float[4], a = stackalloc float[4], d = stackalloc float[4];
            for (int i = 0; i < boxes.Length; i += 4)
            {
                Float32Path.WidenEach(boxes.Slice(i, 4), b);
                Float32Path.WidenEach(anchors.Slice(i, 4), a);
                EncodeOne(wf, b, a, d);
                Float32Path.NarrowEach(d, deltas.Slice(i, 4));
            }

            return;
        }

        var w = new Weights<T>(this);
        for (int i = 0; i < boxes.Length; i += 4)
        {
            EncodeOne(w, boxes.Slice(i, 4), anchors.Slice(i, 4), deltas.Slice(i, 4));
        }
    }

    /// <summary>
    /// Decodes deltas relative to <paramref name="anchors"/> (torchvision <c>decode_single(deltas, anchors)</c>). Each
    /// anchor may carry K sets of deltas (class-specific regression, N × 4K), decoded to N × 4K boxes.
    /// </summary>
    /// <param name="deltas">N × 4K deltas (dx, dy, dw, dh per set), K ≥ 1.</param>
    /// <param name="anchors">N × 4 reference boxes, xyxy.</param>
    /// <param name="boxes">Receives N × 4K boxes, xyxy.</param>
    public void Decode<T>(ReadOnlySpan<T> deltas, ReadOnlySpan<T> anchors, Span<T> boxes)
        where T : IFloatingPointIeee754<T>
    {
        int sets = CheckDecode(deltas.Length, anchors.Length);
        ThrowHelper.CheckDestination(boxes.Length, deltas.Length, nameof(boxes));
        if (Float32Path.Applies<T>())
        {
            var wf = new Weights<float>(this);
            Span<float> d = stackalloc float[4], a = stackalloc float[4], b = stackalloc float[4];
            for (int i = 0, j = 0; j < anchors.Length; j += 4)
            {
                Float32Path.WidenEach(anchors.Slice(j, 4), a);
                for (int k = 0; k < sets; k++, i += 4)
                {
                    Float32Path.WidenEach(deltas.Slice(i, 4), d);
                    DecodeOne(wf, d, a, b);
                    Float32Path.NarrowEach(b, boxes.Slice(i, 4));
                }
            }

            return;
        }

        var w = new Weights<T>(this);
        for (int i = 0, a = 0; a < anchors.Length; a += 4)
        {
            for (int k = 0; k < sets; k++, i += 4)
            {
                DecodeOne(w, deltas.Slice(i, 4), anchors.Slice(a, 4), boxes.Slice(i, 4));
            }
        }
    }

    /// <summary>
    /// The chain rule through <see cref="Decode{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>: given d L / d(decoded boxes), writes d L / d(deltas).
    /// </summary>
    /// <param name="deltas">The N × 4K deltas that were decoded.</param>
    /// <param name="anchors">The N × 4 reference boxes.</param>
    /// <param name="boxGradient">d L / d(decoded boxes), N × 4K (xyxy).</param>
    /// <param name="deltaGradient">Receives d L / d(deltas), N × 4K (may be the same memory as <paramref name="boxGradient"/>).</param>
    public void DecodeGradient<T>(ReadOnlySpan<T> deltas, ReadOnlySpan<T> anchors, ReadOnlySpan<T> boxGradient, Span<T> deltaGradient)
        where T : IFloatingPointIeee754<T>
    {
        int sets = CheckDecode(deltas.Length, anchors.Length);
        ThrowHelper.CheckLength(boxGradient.Length, deltas.Length, nameof(boxGradient), "one gradient per delta");
        ThrowHelper.CheckDestination(deltaGradient.Length, deltas.Length, nameof(deltaGradient));
        if (Float32Path.Applies<T>())
        {
            var wf = new Weights<float>(this);
            Span<float> d = stackalloc float[4], a = stackalloc float[4], g = stackalloc float[4];
            for (int i = 0, j = 0; j < anchors.Length; j += 4)
            {
                Float32Path.WidenEach(anchors.Slice(j, 4), a);
                for (int k = 0; k < sets; k++, i += 4)
                {
                    Float32Path.WidenEach(deltas.Slice(i, 4), d);
                    Float32Path.WidenEach(boxGradient.Slice(i, 4), g);
                    DecodeGradientOne(wf, d, a, g, g);
                    Float32Path.NarrowEach(g, deltaGradient.Slice(i, 4));
                }
            }

            return;
        }

        var w = new Weights<T>(this);
        for (int i = 0, a = 0; a < anchors.Length; a += 4)
        {
            for (int k = 0; k < sets; k++, i += 4)
            {
                DecodeGradientOne(w, deltas.Slice(i, 4), anchors.Slice(a, 4), boxGradient.Slice(i, 4), deltaGradient.Slice(i, 4));
            }
        }
    }

    /// <summary>Tensor form of <see cref="Encode{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>: [N, 4] each.</summary>
    public void Encode<T>(ReadOnlyTensorSpan<T> boxes, ReadOnlyTensorSpan<T> anchors, TensorSpan<T> deltas)
        where T : IFloatingPointIeee754<T>
    {
        CheckRows(boxes.Lengths, nameof(boxes), 4);
        TensorArgs.SameShape(anchors.Lengths, boxes.Lengths, nameof(anchors));
        TensorArgs.SameShape(deltas.Lengths, boxes.Lengths, nameof(deltas));
        Encode(TensorArgs.Flat(boxes, nameof(boxes)), TensorArgs.Flat(anchors, nameof(anchors)), TensorArgs.Flat(deltas, nameof(deltas)));
    }

    /// <summary>Tensor form of <see cref="Decode{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>: deltas [N, 4K], anchors [N, 4], boxes [N, 4K].</summary>
    public void Decode<T>(ReadOnlyTensorSpan<T> deltas, ReadOnlyTensorSpan<T> anchors, TensorSpan<T> boxes)
        where T : IFloatingPointIeee754<T>
    {
        CheckRows(anchors.Lengths, nameof(anchors), 4);
        TensorArgs.Rank(deltas.Lengths, 2, nameof(deltas), "[N, 4K]");
        if (deltas.Lengths[0] != anchors.Lengths[0] || deltas.Lengths[1] % 4 != 0 || deltas.Lengths[1] == 0)
        {
            ThrowHelper.Argument(nameof(deltas), $"deltas must have shape [{anchors.Lengths[0]}, 4K] to match anchors {TensorArgs.Shape(anchors.Lengths)}, got {TensorArgs.Shape(deltas.Lengths)}.");
        }

        TensorArgs.SameShape(boxes.Lengths, deltas.Lengths, nameof(boxes));
        Decode(TensorArgs.Flat(deltas, nameof(deltas)), TensorArgs.Flat(anchors, nameof(anchors)), TensorArgs.Flat(boxes, nameof(boxes)));
    }

    private static void CheckRows(ReadOnlySpan<nint> lengths, string paramName, int columns)
    {
        TensorArgs.Rank(lengths, 2, paramName, "[N, 4]");
        if (lengths[1] != columns)
        {
            ThrowHelper.Argument(paramName, $"{paramName} must have shape [N, 4], got {TensorArgs.Shape(lengths)}.");
        }
    }

    private static int CheckDecode(int deltas, int anchors)
    {
        BoxConvert.CheckBoxes(anchors, nameof(anchors));
        BoxConvert.CheckBoxes(deltas, nameof(deltas));
        if (anchors == 0)
        {
            if (deltas != 0)
            {
                ThrowHelper.Argument(nameof(deltas), $"deltas has {deltas} elements but there are no anchors.");
            }

            return 1;
        }

        if (deltas % anchors != 0 || deltas == 0)
        {
            ThrowHelper.Argument(nameof(deltas), $"deltas must hold 4K values per anchor (K ≥ 1): {deltas} elements for {anchors / 4} anchors.");
        }

        return deltas / anchors;
    }

    /// <summary>The weights and clip in the element type (torchvision converts them to the tensor's dtype).</summary>
    internal readonly struct Weights<T>
        where T : IFloatingPointIeee754<T>
    {
        public readonly T X, Y, W, H, Clip;

        public Weights(BoxCoder coder)
        {
            X = T.CreateTruncating(coder.WeightX);
            Y = T.CreateTruncating(coder.WeightY);
            W = T.CreateTruncating(coder.WeightWidth);
            H = T.CreateTruncating(coder.WeightHeight);
            Clip = T.CreateTruncating(coder.BoxTransformClip);
        }
    }

    /// <summary>One box against one anchor, torchvision's <c>encode_boxes</c> order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void EncodeOne<T>(in Weights<T> w, ReadOnlySpan<T> box, ReadOnlySpan<T> anchor, Span<T> delta)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5);
        T pw = anchor[2] - anchor[0], ph = anchor[3] - anchor[1];
        T px = anchor[0] + half * pw, py = anchor[1] + half * ph;
        T gw = box[2] - box[0], gh = box[3] - box[1];
        T gx = box[0] + half * gw, gy = box[1] + half * gh;
        delta[0] = w.X * (gx - px) / pw;
        delta[1] = w.Y * (gy - py) / ph;
        delta[2] = w.W * T.Log(gw / pw);
        delta[3] = w.H * T.Log(gh / ph);
    }

    /// <summary>One set of deltas against one anchor, torchvision's <c>decode_single</c> order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void DecodeOne<T>(in Weights<T> w, ReadOnlySpan<T> delta, ReadOnlySpan<T> anchor, Span<T> box)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5);
        T pw = anchor[2] - anchor[0], ph = anchor[3] - anchor[1];
        T px = anchor[0] + half * pw, py = anchor[1] + half * ph;
        T dx = delta[0] / w.X, dy = delta[1] / w.Y;
        T dw = ClampMax(delta[2] / w.W, w.Clip), dh = ClampMax(delta[3] / w.H, w.Clip);
        T cx = dx * pw + px, cy = dy * ph + py;
        T halfW = half * (T.Exp(dw) * pw), halfH = half * (T.Exp(dh) * ph);
        T x1 = cx - halfW, y1 = cy - halfH, x2 = cx + halfW, y2 = cy + halfH;
        box[0] = x1;
        box[1] = y1;
        box[2] = x2;
        box[3] = y2;
    }

    /// <summary>The backward of <see cref="DecodeOne{T}"/> (autograd's order); <paramref name="g"/> and <paramref name="dDelta"/> may alias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void DecodeGradientOne<T>(in Weights<T> w, ReadOnlySpan<T> delta, ReadOnlySpan<T> anchor, ReadOnlySpan<T> g, Span<T> dDelta)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5);
        T pw = anchor[2] - anchor[0], ph = anchor[3] - anchor[1];
        T rw = delta[2] / w.W, rh = delta[3] / w.H;
        T g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];

        // x1 = cx − 0.5·e^dw·p_w, x2 = cx + 0.5·e^dw·p_w; cx = (r_x/w_x)·p_w + p_x.
        T gx = (g0 + g2) * pw / w.X;
        T gy = (g1 + g3) * ph / w.Y;

        // clamp(max = clip) passes the gradient where dw ≤ clip (NaN fails the test: no gradient, as torch).
        T gw = rw <= w.Clip ? half * (g2 - g0) * pw * T.Exp(rw) / w.W : T.Zero;
        T gh = rh <= w.Clip ? half * (g3 - g1) * ph * T.Exp(rh) / w.H : T.Zero;
        dDelta[0] = gx;
        dDelta[1] = gy;
        dDelta[2] = gw;
        dDelta[3] = gh;
    }

    /// <summary>torch.clamp(x, max=hi): NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ClampMax<T>(T x, T hi)
        where T : IFloatingPointIeee754<T> => x > hi ? hi : x;
}
