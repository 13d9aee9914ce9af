using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.Classification;

/// <summary>
/// Cross-entropy on logits, as <c>torch.nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean',
/// label_smoothing=0.0)</c>, for class-index targets and for probability targets.
/// </summary>
/// <remarks>
/// <para>−log pₙ,c = (m − xₙ,c) + ln Σ e^(x − m), m the row maximum (never the log of a softmax; grouped as PyTorch does, so the
/// loss stays exact when the target logit is the maximum, however large).</para>
/// <para>Class indices, smoothing ε: <c>lₙ = (1 − ε)·w_y·(lse − x_y) + (ε/C)·Σ_c w_c·(lse − x_c)</c>, 0 for ignored rows;
/// gradient <c>∂lₙ/∂x_j = (1 − ε)·w_y·(p_j − [j = y]) + (ε/C)·(p_j·Σ_c w_c − w_j)</c>. Mean divides by
/// Σ_{non-ignored} w_{yₙ} (the row count without weights); all rows ignored gives 0/0 = NaN, as PyTorch.</para>
/// <para>Probability targets t (rows of the same shape as the input): t' = (1 − ε)t + ε/C,
/// <c>lₙ = Σ_c w_c t'_c (lse − x_c)</c>, gradient <c>p_j Σ_c w_c t'_c − w_j t'_j</c>; Mean divides by the row count; the
/// ignore index does not apply.</para>
/// <para>Special values: NaN in a row makes that row's loss and gradient NaN; a +∞ logit gives NaN (∞ − ∞, as
/// PyTorch's log_softmax); finite logits of any size (±1e4 and beyond) give finite results. Empty batch: Sum 0,
/// Mean NaN.</para>
/// </remarks>
public sealed class CrossEntropyLoss<T> : ClassIndexLoss<T>, ILayoutKernel<T, ProbabilityRowsCall<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="weight">Optional per-class weights (length = classes).</param>
    /// <param name="ignoreIndex">Class-index target to skip (default −100).</param>
    /// <param name="labelSmoothing">ε in [0, 1] (default 0).</param>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean, ReadOnlyMemory<T> weight = default, int ignoreIndex = -100, double labelSmoothing = 0.0)
        : base(reduction, weight, ignoreIndex) =>
        LabelSmoothing = ThrowHelper.CheckInRange(labelSmoothing, 0.0, 1.0, nameof(labelSmoothing));

    /// <summary>Label smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <summary>Loss value for probability targets (<paramref name="target"/> batch × classes).</summary>
    public T Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int classes, Span<T> destination = default) =>
        EntryPoints.Forward(this, new ProbabilityRowsCall<T>(input, target, batch, classes), destination, null);

    /// <summary>d loss / d input for probability targets and a scalar upstream gradient.</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int classes, T upstream, Span<T> gradient) =>
        EntryPoints.Backward(this, new ProbabilityRowsCall<T>(input, target, batch, classes), upstream, gradient, null);

    /// <summary>d loss / d input for probability targets and a per-row upstream gradient (Reduction.None).</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int classes, ReadOnlySpan<T> upstream, Span<T> gradient) =>
        EntryPoints.Backward(this, new ProbabilityRowsCall<T>(input, target, batch, classes), upstream, gradient);

    /// <summary>Loss and gradient for probability targets in one pass.</summary>
    public T ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int classes, Span<T> gradient, Span<T> destination = default) =>
        EntryPoints.ForwardBackward(this, new ProbabilityRowsCall<T>(input, target, batch, classes), gradient, destination, null);

    /// <summary>Tensor form, probability targets [batch, classes].</summary>
    public T Forward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> destination = default) =>
        EntryPoints.Forward(this, ProbabilityRowsCall<T>.From(input, target), EntryPoints.Destination(destination, input.Lengths[..1], Reduction), null);

    /// <summary>Tensor form, probability targets, fused.</summary>
    public T ForwardBackward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, TensorSpan<T> gradient, TensorSpan<T> destination = default) =>
        EntryPoints.ForwardBackward(this, ProbabilityRowsCall<T>.From(input, target), EntryPoints.Gradient(gradient, input.Lengths),
            EntryPoints.Destination(destination, input.Lengths[..1], Reduction), null);

    /// <summary>Tensor form, probability targets, scalar upstream.</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, T upstream, TensorSpan<T> gradient) =>
        EntryPoints.Backward(this, ProbabilityRowsCall<T>.From(input, target), upstream, EntryPoints.Gradient(gradient, input.Lengths), null);

    /// <summary>Tensor form, probability targets, per-row upstream [batch] (Reduction.None).</summary>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> target, ReadOnlyTensorSpan<T> upstream, TensorSpan<T> gradient) =>
        EntryPoints.Backward(this, ProbabilityRowsCall<T>.From(input, target), EntryPoints.Upstream(upstream, input.Lengths[..1]), EntryPoints.Gradient(gradient, input.Lengths));

    double ILayoutKernel<T, ProbabilityRowsCall<T>>.Prepare(scoped in ProbabilityRowsCall<T> call, double? avgFactor)
    {
        CheckClassWeights(call.Classes);
        return call.Batch;
    }

    double ILayoutKernel<T, ProbabilityRowsCall<T>>.Run(scoped in ProbabilityRowsCall<T> call, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        RunProbabilities(call.Input, call.Target, call.Batch, call.Classes, values, gradient, scale, upstream);

    double ILayoutKernel<T, ProbabilityRowsCall<T>>.RunWidened(scoped in ProbabilityRowsCall<T> call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream) =>
        Widened.Run((CrossEntropyLoss<float>)Float32, call, values, gradient, scale, upstream);

    private protected override ClassIndexLoss<float> CreateFloat32() => new CrossEntropyLoss<float>(Reduction, Float32Path.WidenToArray(Weight.Span), IgnoreIndex, LabelSmoothing);

    private protected override double MeanDenominator(ReadOnlySpan<int> target, int keptRows) => SumOfTargetWeights(target, keptRows);

    private protected override unsafe double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        fixed (T* x = input, v = values, g = gradient, u = upstream, w = Weight.Span)
        fixed (int* y = target)
        {
            var kernel = new IndexKernel
            {
                X = x, Y = y, W = Weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v, G = gradient.IsEmpty ? null : g,
                Up = upstream.IsEmpty ? null : u, Scale = scale, C = classes, Ignore = IgnoreIndex,
                Epsilon = T.CreateTruncating(LabelSmoothing), WeightSum = WeightSum(classes), InvC = T.One / T.CreateTruncating(classes),
            };
            return RowDriver.Run(ref kernel, batch, classes);
        }
    }

    private unsafe double RunProbabilities(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        fixed (T* x = input, t = target, v = values, g = gradient, u = upstream, w = Weight.Span)
        {
            var kernel = new ProbabilityKernel
            {
                X = x, Target = t, W = Weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v, G = gradient.IsEmpty ? null : g,
                Up = upstream.IsEmpty ? null : u, Scale = scale, C = classes, Epsilon = T.CreateTruncating(LabelSmoothing),
            };
            return RowDriver.Run(ref kernel, batch, classes);
        }
    }

    private T WeightSum(int classes) => Weight.IsEmpty ? T.CreateTruncating(classes) : TensorPrimitives.Sum(Weight.Span);

    /// <summary>Class-index rows: max, Σ e^(x − m) stored into the gradient row, then g = e·A − B·w and the target fix-up.</summary>
    private unsafe struct IndexKernel : IRowKernel
    {
        public T* X, W, Values, G, Up;
        public int* Y;
        public T Scale, Epsilon, WeightSum, InvC;
        public int C, Ignore;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * C;
                T* g = G == null ? null : G + (long)r * C;
                if (Y[r] == Ignore)
                {
                    if (Values != null)
                    {
                        Values[r] = T.Zero;
                    }

                    if (g != null)
                    {
                        new Span<T>(g, C).Clear();
                    }

                    continue;
                }

                // Where rows run vector kernels: a block of consecutive kept rows, each step done for all of them.
                if (VMath.IsVectorized<T>() && C >= Vector<T>.Count)
                {
                    total += RunBlock(ref r, end);
                    continue;
                }

                T m = RowMath.Max(x, C);
                T s = RowMath.SumExpShifted(x, g, C, m);
                T a, b, fix;
                total += Finish(r, x, m, s, T.Log(s), g != null, out a, out b, out fix);
                if (g != null)
                {
                    RowMath.ScaleSubtract(g, W, C, a, b);
                    g[Y[r]] -= fix;
                }
            }

            return total;
        }

        /// <summary>
        /// Up to <see cref="RowMath.BlockRows"/> consecutive kept rows from <paramref name="r"/> on (stopping before an
        /// ignored row or <paramref name="end"/>), leaving <paramref name="r"/> on the last one done: each row's max
        /// and exponential sum (<see cref="RowMath.MaxAndSumExp{T}"/>), then the block's logs in one vector
        /// (<see cref="RowMath.LogBlock{T}"/>), then each row's loss and gradient. Fewer instructions per row than one
        /// row at a time (no NaN lanes tracked, no scalar log calls), and a row's result does not depend on its
        /// neighbours (a batch equals its rows computed one at a time, bit for bit). The block's ln s comes from the
        /// runtime's vector Log and the one-row path's (scalar kernels, rows shorter than a vector) from T.Log, so
        /// results can differ in the last bit between SIMD widths.
        /// </summary>
        [System.Runtime.CompilerServices.SkipLocalsInit]
        private readonly double RunBlock(ref int r, int end)
        {
            T* m = stackalloc T[RowMath.BlockRows], s = stackalloc T[RowMath.BlockRows], logS = stackalloc T[RowMath.BlockRows];
            int n = 1;
            while (n < RowMath.BlockRows && r + n < end && Y[r + n] != Ignore)
            {
                n++;
            }

            RowMath.MaxAndSumExp(X + (long)r * C, G == null ? null : G + (long)r * C, C, n, m, s);
            RowMath.LogBlock(s, logS, n);
            T* a = stackalloc T[RowMath.BlockRows], b = stackalloc T[RowMath.BlockRows], fix = stackalloc T[RowMath.BlockRows];
            double total = 0;
            for (int k = 0; k < n; k++)
            {
                total += Finish(r + k, X + (long)(r + k) * C, m[k], s[k], logS[k], G != null, out a[k], out b[k], out fix[k]);
            }

            if (G != null)
            {
                T* g = G + (long)r * C;
                RowMath.ScaleSubtractRows(g, W, C, n, a, b);
                for (int k = 0; k < n; k++)
                {
                    g[(long)k * C + Y[r + k]] -= fix[k];
                }
            }

            r += n - 1;
            return total;
        }

        /// <summary>
        /// Row r's loss from its max m, s = Σ e^(x − m) and logS = ln s, and (when <paramref name="gradient"/>) the coefficients of its
        /// gradient from the exponentials e stored in the gradient row: g = e·a − b·w, then g[y] −= fix.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private readonly double Finish(int r, T* x, T m, T s, T logS, bool gradient, out T a, out T b, out T fix)
        {
            int y = Y[r];
            T invC = InvC;

            // −log p_y = (m − x_y) + ln s, PyTorch's grouping: exact when x_y is the row maximum, whatever |m|.
            T wy = W == null ? T.One : W[y];
            T loss = wy * ((m - x[y]) + logS);
            if (Epsilon != T.Zero)
            {
                loss = (T.One - Epsilon) * loss + Epsilon * invC * RowMath.WeightedNegativeLogSoftmaxSum(x, W, C, m, logS);
            }

            if (Values != null)
            {
                Values[r] = loss;
            }

            (a, b, fix) = (T.Zero, T.Zero, T.Zero);
            if (gradient)
            {
                T k = Up == null ? Scale : Up[r];
                a = k * ((T.One - Epsilon) * wy + Epsilon * invC * WeightSum) / s;
                b = k * Epsilon * invC;
                fix = k * (T.One - Epsilon) * wy;
            }

            return double.CreateTruncating(loss);
        }
    }

    /// <summary>Probability-target rows.</summary>
    private unsafe struct ProbabilityKernel : IRowKernel
    {
        public T* X, Target, W, Values, G, Up;
        public T Scale, Epsilon;
        public int C;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            T smooth = Epsilon / T.CreateTruncating(C);
            T keep = T.One - Epsilon;
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * C;
                T* t = Target + (long)r * C;
                T* g = G == null ? null : G + (long)r * C;
                T m = RowMath.Max(x, C);
                T s = RowMath.SumExpShifted(x, g, C, m);
                T logS = T.Log(s);
                T loss = T.Zero, weightedTargets = T.Zero;
                for (int c = 0; c < C; c++)
                {
                    T wt = (W == null ? T.One : W[c]) * (keep * t[c] + smooth);
                    weightedTargets += wt;
                    loss += wt * ((m - x[c]) + logS);
                }

                if (Values != null)
                {
                    Values[r] = loss;
                }

                total += double.CreateTruncating(loss);
                if (g != null)
                {
                    T k = Up == null ? Scale : Up[r];
                    T a = k * weightedTargets / s;
                    for (int c = 0; c < C; c++)
                    {
                        T wt = (W == null ? T.One : W[c]) * (keep * t[c] + smooth);
                        g[c] = g[c] * a - k * wt;
                    }
                }
            }

            return total;
        }
    }
}

/// <summary>
/// Negative log-likelihood on log-probabilities, as <c>torch.nn.NLLLoss(weight=None, ignore_index=-100, reduction='mean')</c>:
/// <c>lₙ = −w_y·xₙ,y</c> (0 for ignored rows), gradient <c>−w_y</c> at the target column and 0 elsewhere.
/// </summary>
/// <remarks>Mean divides by Σ_{non-ignored} w_{yₙ} (NaN when every row is ignored or the batch is empty). NaN and ±∞
/// pass through from the selected log-probability; the input is not checked to be a log-probability.</remarks>
public sealed class NllLoss<T> : ClassIndexLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="weight">Optional per-class weights (length = classes).</param>
    /// <param name="ignoreIndex">Class-index target to skip (default −100).</param>
    public NllLoss(Reduction reduction = Reduction.Mean, ReadOnlyMemory<T> weight = default, int ignoreIndex = -100)
        : base(reduction, weight, ignoreIndex)
    {
    }

    private protected override ClassIndexLoss<float> CreateFloat32() => new NllLoss<float>(Reduction, Float32Path.WidenToArray(Weight.Span), IgnoreIndex);

    private protected override double MeanDenominator(ReadOnlySpan<int> target, int keptRows) => SumOfTargetWeights(target, keptRows);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        ReadOnlySpan<T> w = Weight.Span;
        double total = 0;
        if (!gradient.IsEmpty)
        {
            gradient[..input.Length].Clear();
        }

        for (int r = 0; r < batch; r++)
        {
            int y = target[r];
            T loss = T.Zero;
            if (y != IgnoreIndex)
            {
                T wy = w.IsEmpty ? T.One : w[y];
                loss = -wy * input[r * classes + y];
                if (!gradient.IsEmpty)
                {
                    gradient[r * classes + y] = -wy * (upstream.IsEmpty ? scale : upstream[r]);
                }
            }

            if (!values.IsEmpty)
            {
                values[r] = loss;
            }

            total += double.CreateTruncating(loss);
        }

        return total;
    }
}
