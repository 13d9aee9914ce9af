using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.Detection;

/// <summary>
/// Quality focal loss (GFL, Li et al. 2020), as mmdetection's <c>QualityFocalLoss(use_sigmoid=True, beta=2.0)</c>
/// (<c>mmdet/models/losses/gfocal_loss.py</c>, <c>quality_focal_loss</c>), on logits <c>input [batch × classes]</c>
/// (batch = anchors) with a label and an IoU quality score per anchor. With s = σ(x) (not detached):
/// every entry <c>BCE-with-logits(x, 0)·s^β</c>, except the positive entry (n, labelₙ) when 0 ≤ labelₙ &lt; classes:
/// <c>BCE-with-logits(x, qₙ)·|qₙ − s|^β</c>; the anchor's loss is the sum over its classes, times the optional
/// per-anchor weight.
/// </summary>
/// <remarks>
/// <para>Gradient per entry (autograd of mmdetection's graph): negatives
/// <c>s·s^β + ce·β·s^(β−1)·s·(1 − s)</c>, the positive entry
/// <c>(s − q)·|q − s|^β − ce·β·|q − s|^(β−1)·sign(q − s)·s·(1 − s)</c> (sign(0) = 0), where ce is that entry's
/// BCE-with-logits; β = 0 has no second term (PyTorch's pow backward gives 0 for exponent 0).</para>
/// <para>Labels: a value in [0, classes) marks the positive class; <c>classes</c> (mmdetection's background index) or
/// any negative value marks a background anchor (all entries negative). Labels above <c>classes</c> throw
/// (ArgumentOutOfRangeException naming <c>labels</c>). Scores are only read for positive anchors and are not
/// range-checked (IoU targets lie in [0, 1]).</para>
/// <para>Reduction (mmdetection's weight_reduce_loss over the per-anchor losses): default Mean = Σ / batch, or
/// Σ / (avgFactor + float32 eps) with avg_factor (GFL passes the number of positives); Sum; None writes the per-anchor
/// losses. mmdetection's loss_weight is not applied (scale the result).</para>
/// <para>Special values: NaN in a logit or a positive anchor's score gives NaN for that anchor. Finite logits of any
/// size (up to ±Max in float and double) give finite values and gradients for β ≥ 1 (or β = 0): ce is capped in the
/// β term (see <c>CeLimit</c>), so no ∞·0 where mmdetection's autograd gives NaN (x = ±Max with a saturated sigmoid); for 0 &lt; β &lt; 1 the
/// gradient is NaN where s or |q − s| is exactly 0 (an infinite power derivative times 0), as with autograd. ±∞
/// logits give NaN where BCE-with-logits does (0·∞, ∞ − ∞). Empty batch: Sum 0, Mean NaN.</para>
/// </remarks>
public sealed class QualityFocalLoss<T> : ILayoutKernel<T, ScoredRowsCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private QualityFocalLoss<float>? _float32;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="beta">Exponent β ≥ 0 of the quality-distance modulation (default 2), finite.</param>
    public QualityFocalLoss(Reduction reduction = Reduction.Mean, double beta = 2.0)
    {
        Reduction = Reductions.Validate(reduction);
        Beta = ThrowHelper.CheckAtLeast(beta, 0.0, nameof(beta));
    }

    /// <summary>How per-anchor losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>β, the modulation exponent.</summary>
    public double Beta { get; }

    /// <summary>Computes the loss value.</summary>
    /// <param name="input">Logits, batch × classes, row-major.</param>
    /// <param name="labels">Per anchor: the positive class in [0, classes), or background (classes, or any negative value).</param>
    /// <param name="scores">Per anchor: the IoU quality target of its positive class (read for positive anchors only).</param>
    /// <param name="batch">Anchors (rows).</param>
    /// <param name="classes">Classes (columns, ≥ 1).</param>
    /// <param name="destination">With <see cref="Reduction.None"/>: receives the per-anchor losses (required, length batch).</param>
    /// <param name="weight">Optional per-anchor weight (length batch).</param>
    /// <param name="avgFactor">mmdetection's avg_factor: Mean divides by avgFactor + float32 eps instead of batch (not with Sum).</param>
    /// <returns>The reduced loss (with None: the sum of the per-anchor losses).</returns>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, ReadOnlySpan<T> scores, int batch, int classes,
        Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, new ScoredRowsCall<T>(input, labels, scores, batch, classes, weight), destination, avgFactor);

    /// <summary>Writes d loss / d input (batch × classes) for a scalar upstream gradient (Mean or Sum).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, ReadOnlySpan<T> scores, int batch, int classes,
        T upstream, Span<T> gradient, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, new ScoredRowsCall<T>(input, labels, scores, batch, classes, weight), upstream, gradient, avgFactor);

    /// <summary>Writes d loss / d input (batch × classes) for a per-anchor upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, ReadOnlySpan<T> scores, int batch, int classes,
        ReadOnlySpan<T> upstream, Span<T> gradient, ReadOnlySpan<T> weight = default) =>
        EntryPoints.Backward(this, new ScoredRowsCall<T>(input, labels, scores, batch, classes, weight), upstream, gradient);

    /// <summary>Computes the loss and d loss / d input (upstream 1) in one pass.</summary>
    /// <returns>The reduced loss (with None: the sum of the per-anchor losses, whose gradient is written).</returns>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, ReadOnlySpan<T> scores, int batch, int classes,
        Span<T> gradient, Span<T> destination = default, ReadOnlySpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, new ScoredRowsCall<T>(input, labels, scores, batch, classes, weight), gradient, destination, avgFactor);

    /// <summary>Tensor form: <paramref name="input"/> [batch, classes], <paramref name="labels"/>, <paramref name="scores"/>,
    /// <paramref name="weight"/> and <paramref name="destination"/> [batch].</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> labels, ReadOnlyTensorSpan<T> scores,
        TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Forward(this, ScoredRowsCall<T>.From(input, labels, scores, weight), EntryPoints.Destination(destination, labels.Lengths, Reduction), avgFactor);

    /// <summary>Tensor form of the scalar-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> labels, ReadOnlyTensorSpan<T> scores,
        T upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.Backward(this, ScoredRowsCall<T>.From(input, labels, scores, weight), upstream, EntryPoints.Gradient(gradient, input.Lengths), avgFactor);

    /// <summary>Tensor form of the per-anchor-upstream backward.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> labels, ReadOnlyTensorSpan<T> scores,
        ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient, ReadOnlyTensorSpan<T> weight = default) =>
        EntryPoints.Backward(this, ScoredRowsCall<T>.From(input, labels, scores, weight), EntryPoints.Upstream(upstream, labels.Lengths),
            EntryPoints.Gradient(gradient, input.Lengths));

    /// <summary>Tensor form of the fused pass.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<int> labels, ReadOnlyTensorSpan<T> scores,
        TensorSpan<T> gradient, TensorSpan<T> destination = default, ReadOnlyTensorSpan<T> weight = default, double? avgFactor = null) =>
        EntryPoints.ForwardBackward(this, ScoredRowsCall<T>.From(input, labels, scores, weight), EntryPoints.Gradient(gradient, input.Lengths),
            EntryPoints.Destination(destination, labels.Lengths, Reduction), avgFactor);

    /// <summary>Labels above <c>classes</c> throw (classes itself and negative values are background); returns the Mean denominator.</summary>
    double ILayoutKernel<T, ScoredRowsCall<T>>.Prepare(scoped in ScoredRowsCall<T> call, double? avgFactor)
    {
        ReadOnlySpan<int> labels = call.Labels;
        int classes = call.Classes;
        if (!labels.IsEmpty && TensorPrimitives.Max(labels) > classes)
        {
            for (int i = 0; i < labels.Length; i++)
            {
                if (labels[i] > classes)
                {
                    ThrowHelper.OutOfRange(nameof(labels), labels[i],
                        $"labels[{i}] = {labels[i]} is neither a class in [0, {classes}) nor background ({classes} or negative).");
                }
            }
        }

        return Reductions.MeanDenominator(Reduction, call.Batch, avgFactor);
    }

    double ILayoutKernel<T, ScoredRowsCall<T>>.RunWidened(scoped in ScoredRowsCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run(_float32 ??= new QualityFocalLoss<float>(Reduction, Beta), call, values, gradient, scale, upstream);

    unsafe double ILayoutKernel<T, ScoredRowsCall<T>>.Run(scoped in ScoredRowsCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        ReadOnlySpan<T> weight = call.Weight;
        int batch = call.Batch, classes = call.Classes;
        fixed (T* x = call.Input, q = call.Scores, w = weight, v = values, g = gradient, u = upstream)
        fixed (int* y = call.Labels)
        {
            // β = 2 (the default) gets power structs without a switch: s·s and s.
            if (Beta == 2.0)
            {
                var square = new Kernel<SquarePower<T>, IdentityPower<T>>
                {
                    X = x, Labels = y, Scores = q, W = weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v,
                    G = gradient.IsEmpty ? null : g, Up = upstream.IsEmpty ? null : u, Scale = scale, C = classes,
                    Element = new ElementMath<SquarePower<T>, IdentityPower<T>>(Beta, default, default),
                };
                return RowDriver.Run(ref square, batch, classes);
            }

            var kernel = new Kernel<FocalPower<T>, FocalPower<T>>
            {
                X = x, Labels = y, Scores = q, W = weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v,
                G = gradient.IsEmpty ? null : g, Up = upstream.IsEmpty ? null : u, Scale = scale, C = classes,
                Element = new ElementMath<FocalPower<T>, FocalPower<T>>(Beta, new(Beta), new(Beta - 1.0)),
            };
            return RowDriver.Run(ref kernel, batch, classes);
        }
    }

    /// <summary>
    /// The per-entry math. Negative entries: BCE-with-logits(x, 0)·s^β; the positive entry: BCE-with-logits(x, q)·|q − s|^β.
    /// BCE-with-logits is evaluated as ((1 − t)·x + max(−x, 0)) + log1p(e^(−|x|)) (PyTorch 1.13's grouping: the first sum
    /// is exact for t ∈ {0, 1}, so the result keeps its digits where e^(−|x|) is tiny).
    /// </summary>
    private readonly struct ElementMath<TPower, TDerivative>
        where TPower : unmanaged, IFocalPower<T>
        where TDerivative : unmanaged, IFocalPower<T>
    {
        private readonly TPower _power;
        private readonly TDerivative _derivativePower;
        private readonly T _beta, _ceLimit;
        private readonly bool _hasDerivative;

        public ElementMath(double beta, TPower power, TDerivative derivativePower)
        {
            _power = power;
            _derivativePower = derivativePower;
            _beta = T.CreateTruncating(beta);
            _hasDerivative = beta != 0.0;
            _ceLimit = CeLimit<T>.For(beta);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Negative(T x, out T gradient)
        {
            T s = VMath.SigmoidAndLog1pExpNegAbs(x, out T log1p);
            T ce = T.Max(x, T.Zero) + log1p; // (x + max(−x, 0)) + log1p, the first sum exact
            T modulation = _power.Of(s);
            T g = modulation * s;
            if (_hasDerivative)
            {
                // ce capped (CeLimit): no ∞ from ce·β at x near Max to meet σ'(x) = 0 as ∞·0; results elsewhere keep their bits.
                g += T.Min(ce, _ceLimit) * (_beta * _derivativePower.Of(s)) * (T.One - s) * s;
            }

            gradient = g;
            return ce * modulation;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Negative(Vector<T> x, out Vector<T> gradient)
        {
            Vector<T> s = VMath.SigmoidAndLog1pExpNegAbs(x, out Vector<T> log1p);
            Vector<T> ce = VMath.PositivePart(x) + log1p;
            Vector<T> modulation = _power.Of(s);
            Vector<T> g = modulation * s;
            if (_hasDerivative)
            {
                g += Vector.Min(ce, new Vector<T>(_ceLimit)) * (new Vector<T>(_beta) * _derivativePower.Of(s)) * (Vector<T>.One - s) * s;
            }

            gradient = g;
            return ce * modulation;
        }

        /// <summary>True when the negative entries also run 512-bit blocks: float at the default β = 2.</summary>
        public static bool HasWideNegative => typeof(T) == typeof(float) && typeof(TPower) == typeof(SquarePower<T>);

        /// <summary>The Vector&lt;T&gt; <see cref="Negative(Vector{T}, out Vector{T})"/> at 512 bits, s^β = s·s and s^(β−1) = s written out.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Negative(Vector512<float> x, out Vector512<float> gradient)
        {
            Vector512<float> s = VMath.SigmoidAndLog1pExpNegAbs(x, out Vector512<float> log1p);
            Vector512<float> ce = VMath.PositivePart(x) + log1p;
            Vector512<float> modulation = s * s;
            Vector512<float> g = modulation * s;
            if (_hasDerivative)
            {
                g += Vector512.Min(ce, Vector512.Create(float.CreateTruncating(_ceLimit))) * (Vector512.Create(float.CreateTruncating(_beta)) * s) * (Vector512<float>.One - s) * s;
            }

            gradient = g;
            return ce * modulation;
        }

        public T Positive(T x, T q, out T gradient)
        {
            T s = VMath.SigmoidAndLog1pExpNegAbs(x, out T log1p);
            T ce = ((T.One - q) * x + T.Max(-x, T.Zero)) + log1p;
            T d = q - s;
            T distance = T.Abs(d);
            T modulation = _power.Of(distance);
            T g = modulation * (s - q);
            if (_hasDerivative)
            {
                // d|q − s|/ds = −sign(q − s), then σ' = (1 − s)·s.
                T gS = -(T.Min(ce, _ceLimit) * (_beta * _derivativePower.Of(distance)) * VMath.Sign(d)); // ce capped, as in Negative
                g += gS * (T.One - s) * s;
            }

            gradient = g;
            return ce * modulation;
        }
    }

    /// <summary>
    /// Rows of anchors; lanes run along the classes. A vector block holding the positive class runs scalar. Without
    /// per-anchor values, weights or upstream (the reduced calls), a run of consecutive background anchors is one
    /// stretch of negative entries that only adds to the total, so it runs as one flat vector loop with a single
    /// scalar tail instead of row by row (GFL batches are ~99 % background).
    /// </summary>
    private unsafe struct Kernel<TPower, TDerivative> : IRowKernel
        where TPower : unmanaged, IFocalPower<T>
        where TDerivative : unmanaged, IFocalPower<T>
    {
        public T* X, Scores, W, Values, G, Up;
        public int* Labels;
        public T Scale;
        public int C;
        public ElementMath<TPower, TDerivative> Element;

        // Compiled on its own (not inlined into the row driver's job) so the element math gets the whole inlining budget.
        [MethodImpl(MethodImplOptions.NoInlining)]
        public readonly double Run(int start, int end)
        {
            double total = 0;
            if (Values != null || W != null || Up != null)
            {
                for (int r = start; r < end; r++)
                {
                    total += double.CreateTruncating(Row(r));
                }

                return total;
            }

            int row = start;
            while (row < end)
            {
                if ((uint)Labels[row] < (uint)C)
                {
                    total += double.CreateTruncating(Row(row));
                    row++;
                    continue;
                }

                int runEnd = row + 1;
                while (runEnd < end && (uint)Labels[runEnd] >= (uint)C)
                {
                    runEnd++;
                }

                long offset = (long)row * C;
                total += double.CreateTruncating(Negatives(X + offset, G == null ? null : G + offset, (runEnd - row) * C));
                row = runEnd;
            }

            return total;
        }

        /// <summary>Σ of n negative entries (background anchors, upstream Scale, no weight); writes their gradients when wanted.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)] // its own inlining budget, as Run's
        private readonly T Negatives(T* x, T* g, int n)
        {
            int i = 0;
            T sum = T.Zero;
            if (ElementMath<TPower, TDerivative>.HasWideNegative && VMath.IsWide<T>())
            {
                // 512-bit blocks first where they run at full width (as BCE-with-logits); Vector<T> blocks take the rest.
                float* xf = (float*)x, gf = (float*)g;
                Vector512<float> acc = Vector512<float>.Zero;
                int last = n - Vector512<float>.Count;
                if (g == null)
                {
                    for (; i <= last; i += Vector512<float>.Count)
                    {
                        acc += Element.Negative(Vector512.Load(xf + i), out _);
                    }
                }
                else
                {
                    Vector512<float> k = Vector512.Create(float.CreateTruncating(Scale));
                    for (; i <= last; i += Vector512<float>.Count)
                    {
                        Vector512<float> gv;
                        acc += Element.Negative(Vector512.Load(xf + i), out gv);
                        (gv * k).Store(gf + i);
                    }
                }

                sum = T.CreateTruncating(Vector512.Sum(acc));
            }

            if (VMath.IsVectorized<T>())
            {
                // Lanes: full Vector<T> blocks; the scalar loop below takes the last n mod Count entries.
                Vector<T> acc = Vector<T>.Zero;
                int last = n - Vector<T>.Count;
                if (g == null)
                {
                    for (; i <= last; i += Vector<T>.Count)
                    {
                        acc += Element.Negative(Vector.Load(x + i), out _);
                    }
                }
                else
                {
                    Vector<T> k = new(Scale);
                    for (; i <= last; i += Vector<T>.Count)
                    {
                        Vector<T> gv;
                        acc += Element.Negative(Vector.Load(x + i), out gv);
                        (gv * k).Store(g + i);
                    }
                }

                sum += Vector.Sum(acc);
            }

            for (; i < n; i++)
            {
                T gi;
                sum += Element.Negative(x[i], out gi);
                if (g != null)
                {
                    g[i] = gi * Scale;
                }
            }

            return sum;
        }

        /// <summary>One anchor's loss (times its weight), its value stored and its gradient written when wanted.</summary>
        private readonly T Row(int r)
        {
            T* x = X + (long)r * C;
            T* g = G == null ? null : G + (long)r * C;
            int label = Labels[r];
            int positive = (uint)label < (uint)C ? label : -1;
            T score = positive >= 0 ? Scores[r] : T.Zero;
            T wr = W == null ? T.One : W[r];
            T k = g == null ? T.Zero : (Up == null ? Scale : Up[r]) * wr;
            T rowSum = T.Zero;
            int i = 0;
            if (VMath.IsVectorized<T>() && C >= Vector<T>.Count)
            {
                Vector<T> acc = Vector<T>.Zero, vk = new(k);
                for (; i <= C - Vector<T>.Count; i += Vector<T>.Count)
                {
                    if ((uint)(positive - i) < (uint)Vector<T>.Count)
                    {
                        // The block with the positive class: one lane differs, run the block scalar.
                        rowSum += ScalarBlock(x, g, i, i + Vector<T>.Count, positive, score, k);
                        continue;
                    }

                    Vector<T> l = Element.Negative(Vector.Load(x + i), out Vector<T> gv);
                    acc += l;
                    if (g != null)
                    {
                        (gv * vk).Store(g + i);
                    }
                }

                rowSum += Vector.Sum(acc);
            }

            // Scalar tail (the whole row where vectors are not used).
            rowSum += ScalarBlock(x, g, i, C, positive, score, k);
            T loss = rowSum * wr;
            if (Values != null)
            {
                Values[r] = loss;
            }

            return loss;
        }

        private readonly T ScalarBlock(T* x, T* g, int from, int to, int positive, T score, T k)
        {
            T sum = T.Zero;
            for (int c = from; c < to; c++)
            {
                T gc;
                sum += c == positive ? Element.Positive(x[c], score, out gc) : Element.Negative(x[c], out gc);
                if (g != null)
                {
                    g[c] = gc * k;
                }
            }

            return sum;
        }
    }
}
