using System.Numerics;
using LossKit.Internal;

namespace LossKit.Classification;

/// <summary>
/// Binary hinge loss for labels y ∈ {−1, +1}: <c>l = max(0, 1 − y·f)</c>, gradient <c>−y</c> where 1 − y·f ≥ 0, else 0.
/// No PyTorch module; matches <c>torch.clamp(1 - y*f, min=0)</c> with autograd, whose clamp passes the gradient at the
/// kink (1 − y·f = 0); a relu-style formulation would give 0 there.
/// </summary>
/// <remarks>Reduction default Mean. Labels other than ±1 throw (ArgumentOutOfRangeException naming <c>target</c>).
/// NaN propagates; f = ±∞ gives ∞ or 0; empty Mean is NaN.</remarks>
public sealed class HingeLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public HingeLoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target) => DataChecks.PlusMinusOne(target, nameof(target));

    private protected override ElementwiseLoss<float> CreateFloat32() => new HingeLoss<float>(Reduction);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(new HingeOp<T>(squared: false), input, target, weight, values, gradient, scale, upstream);
}

/// <summary>
/// Squared hinge loss for labels y ∈ {−1, +1}: <c>l = max(0, 1 − y·f)²</c>, gradient <c>−2y·max(0, 1 − y·f)</c>.
/// No PyTorch module; matches <c>torch.clamp(1 - y*f, min=0)**2</c> with autograd.
/// </summary>
/// <remarks>Reduction default Mean. Labels other than ±1 throw. NaN propagates; empty Mean is NaN.</remarks>
public sealed class SquaredHingeLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    public SquaredHingeLoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target) => DataChecks.PlusMinusOne(target, nameof(target));

    private protected override ElementwiseLoss<float> CreateFloat32() => new SquaredHingeLoss<float>(Reduction);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(new HingeOp<T>(squared: true), input, target, weight, values, gradient, scale, upstream);
}

/// <summary>
/// PyTorch's <c>torch.nn.HingeEmbeddingLoss(margin=1.0, reduction='mean')</c>: <c>l = x</c> for y = 1,
/// <c>max(0, margin − x)</c> for y = −1; gradient 1, or −1 where margin − x ≥ 0 (clamp-style, as ATen's clamp_min).
/// </summary>
/// <remarks>Labels other than ±1 throw (PyTorch silently mixes both terms for other values). Negative or NaN margin
/// throws. NaN propagates; empty Mean is NaN.</remarks>
public sealed class HingeEmbeddingLoss<T> : ElementwiseLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="margin">Margin for the y = −1 term (≥ 0, default 1).</param>
    public HingeEmbeddingLoss(Reduction reduction = Reduction.Mean, double margin = 1.0) : base(reduction) =>
        Margin = ThrowHelper.CheckAtLeast(margin, 0.0, nameof(margin));

    /// <summary>The margin of the y = −1 term.</summary>
    public double Margin { get; }

    private protected override void ValidateData(ReadOnlySpan<T> input, ReadOnlySpan<T> target) => DataChecks.PlusMinusOne(target, nameof(target));

    private protected override ElementwiseLoss<float> CreateFloat32() => new HingeEmbeddingLoss<float>(Reduction, Margin);

    private protected override double Run(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<T> weight, Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream) =>
        Pointwise.Run(new Op(T.CreateTruncating(Margin)), input, target, weight, values, gradient, scale, upstream);

    private readonly struct Op(T margin) : IPointwiseOp<T>
    {
        private readonly T _margin = margin;

        public T Value(T x, T y) => Value(x, y, out _);

        public T Value(T x, T y, out T gradient)
        {
            if (y == T.One)
            {
                gradient = T.One;
                return x;
            }

            T z = _margin - x;
            gradient = z >= T.Zero ? -T.One : T.Zero;
            return T.Max(z, T.Zero);
        }

        public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

        public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
        {
            Vector<T> positive = Vector.Equals(y, Vector<T>.One);
            Vector<T> z = new Vector<T>(_margin) - x;
            Vector<T> active = Vector.GreaterThanOrEqual(z, Vector<T>.Zero);
            gradient = Vector.ConditionalSelect(positive, Vector<T>.One, Vector.ConditionalSelect(active, -Vector<T>.One, Vector<T>.Zero));
            return Vector.ConditionalSelect(positive, x, Vector.Max(z, Vector<T>.Zero));
        }
    }
}

/// <summary>max(0, 1 − y·f) (optionally squared) and its clamp-style gradient.</summary>
internal readonly struct HingeOp<T>(bool squared) : IPointwiseOp<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _squared = squared;

    public T Value(T x, T y) => Value(x, y, out _);

    public T Value(T x, T y, out T gradient)
    {
        T z = T.One - y * x;
        T h = T.Max(z, T.Zero);
        if (_squared)
        {
            gradient = -(y + y) * h;
            return h * h;
        }

        gradient = z >= T.Zero ? -y : T.Zero;
        return h;
    }

    public Vector<T> Value(Vector<T> x, Vector<T> y) => Value(x, y, out _);

    public Vector<T> Value(Vector<T> x, Vector<T> y, out Vector<T> gradient)
    {
        Vector<T> z = Vector<T>.One - y * x;
        Vector<T> h = Vector.Max(z, Vector<T>.Zero);
        if (_squared)
        {
            gradient = -(y + y) * h;
            return h * h;
        }

        gradient = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(z, Vector<T>.Zero), -y, Vector<T>.Zero);
        return h;
    }
}

/// <summary>
/// PyTorch's <c>torch.nn.MultiMarginLoss(p=1, margin=1.0, weight=None, reduction='mean')</c>:
/// <c>lₙ = Σ_{i≠y} w_y·max(0, margin − x_y + x_i)^p / C</c>; gradient for i ≠ y with z = margin − x_y + x_i &gt; 0:
/// <c>w_y·p·z^(p−1)/C</c>, and minus their sum at the target column. Mean divides by the batch size.
/// </summary>
/// <remarks>p must be 1 or 2; margin ≥ 0. The hinge is strict (z &gt; 0) as in ATen. Empty batch: Sum 0, Mean NaN
/// (PyTorch returns uninitialised memory there). NaN propagates.</remarks>
public sealed class MultiMarginLoss<T> : ClassIndexLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">None, Mean (default) or Sum.</param>
    /// <param name="p">Exponent, 1 (default) or 2.</param>
    /// <param name="margin">Margin (≥ 0, default 1).</param>
    /// <param name="weight">Optional per-class weights (length = classes), applied by the target class.</param>
    public MultiMarginLoss(Reduction reduction = Reduction.Mean, int p = 1, double margin = 1.0, ReadOnlyMemory<T> weight = default)
        : base(reduction, weight, null)
    {
        if (p is not (1 or 2))
        {
            ThrowHelper.OutOfRange(nameof(p), p, $"p must be 1 or 2, got {p}.");
        }

        P = p;
        Margin = ThrowHelper.CheckAtLeast(margin, 0.0, nameof(margin));
    }

    /// <summary>The exponent p (1 or 2).</summary>
    public int P { get; }

    /// <summary>The margin.</summary>
    public double Margin { get; }

    private protected override ClassIndexLoss<float> CreateFloat32() => new MultiMarginLoss<float>(Reduction, P, Margin, Float32Path.WidenToArray(Weight.Span));

    private protected override unsafe double Run(ReadOnlySpan<T> input, ReadOnlySpan<int> target, int batch, int classes,
        Span<T> values, Span<T> gradient, T scale, ReadOnlySpan<T> upstream)
    {
        fixed (T* x = input, v = values, g = gradient, u = upstream, w = Weight.Span)
        fixed (int* y = target)
        {
            var kernel = new Kernel
            {
                X = x, Y = y, W = Weight.IsEmpty ? null : w, Values = values.IsEmpty ? null : v, G = gradient.IsEmpty ? null : g,
                Up = upstream.IsEmpty ? null : u, Scale = scale, C = classes, Squared = P == 2, Margin = T.CreateTruncating(Margin),
            };
            return RowDriver.Run(ref kernel, batch, classes);
        }
    }

    private unsafe struct Kernel : IRowKernel
    {
        public T* X, W, Values, G, Up;
        public int* Y;
        public T Scale, Margin;
        public int C;
        public bool Squared;

        public readonly double Run(int start, int end)
        {
            double total = 0;
            T invC = T.One / T.CreateTruncating(C);
            for (int r = start; r < end; r++)
            {
                T* x = X + (long)r * C;
                T* g = G == null ? null : G + (long)r * C;
                int y = Y[r];
                T wy = W == null ? T.One : W[y];
                T shift = Margin - x[y];
                T k = g == null ? T.Zero : (Up == null ? Scale : Up[r]) * wy * invC;
                T sum = T.Zero, gradientSum = T.Zero;
                int i = 0;
                if (VMath.IsVectorized<T>() && C >= Vector<T>.Count)
                {
                    Vector<T> vShift = new(shift), vk = new(k), acc = Vector<T>.Zero, gacc = Vector<T>.Zero;
                    for (; i <= C - Vector<T>.Count; i += Vector<T>.Count)
                    {
                        Vector<T> z = vShift + Vector.Load(x + i);
                        Vector<T> active = Vector.GreaterThan(z, Vector<T>.Zero);
                        Vector<T> h = Vector.ConditionalSelect(active, Squared ? z * z : z, Vector<T>.Zero);
                        acc += h;
                        if (g != null)
                        {
                            Vector<T> gi = Vector.ConditionalSelect(active, Squared ? vk * (z + z) : vk, Vector<T>.Zero);
                            gacc += gi;
                            gi.Store(g + i);
                        }
                    }

                    sum = Vector.Sum(acc);
                    gradientSum = Vector.Sum(gacc);
                }

                for (; i < C; i++)
                {
                    T z = shift + x[i];
                    if (z > T.Zero)
                    {
                        sum += Squared ? z * z : z;
                    }

                    if (g != null)
                    {
                        T gi = z > T.Zero ? (Squared ? k * (z + z) : k) : T.Zero;
                        gradientSum += gi;
                        g[i] = gi;
                    }
                }

                // The loops above also visited i = y (z = margin); take that term back out.
                T zy = shift + x[y];
                if (zy > T.Zero)
                {
                    sum -= Squared ? zy * zy : zy;
                }

                T loss = sum * wy * invC;
                if (Values != null)
                {
                    Values[r] = loss;
                }

                total += double.CreateTruncating(loss);
                if (g != null)
                {
                    g[y] = -(gradientSum - g[y]);
                }
            }

            return total;
        }
    }
}
