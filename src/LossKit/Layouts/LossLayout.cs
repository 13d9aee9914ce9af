using System.Numerics;
using LossKit.Registry;

namespace LossKit.Layouts;

/// <summary>One array a layout takes: its name, expected shape (in words), whether it holds indices and gets a gradient.</summary>
/// <param name="Name">The array's name (as in <c>losskit eval</c> documents).</param>
/// <param name="Shape">The expected shape in words, e.g. <c>[batch, classes]</c>.</param>
/// <param name="Indices">Whether it holds whole numbers (class indices, labels).</param>
/// <param name="Differentiable">Whether the loss writes a gradient for it.</param>
public sealed record LayoutInput(string Name, string Shape, bool Indices = false, bool Differentiable = false);

/// <summary>A named array with its shape: an input of a layout, or a result (values, gradients).</summary>
/// <param name="Name">The array's name.</param>
/// <param name="Shape">Its shape (row-major).</param>
/// <param name="Data">Its elements (for index arrays, the indices as numbers).</param>
public sealed record LayoutTensor<T>(string Name, int[] Shape, T[] Data)
{
    /// <summary>The elements of an index input as read by the caller (exact beyond the element type's integers), or null.</summary>
    public int[]? IndexData { get; init; }

    /// <summary>The elements as whole numbers (an index input): <see cref="IndexData"/> when given, else converted.</summary>
    /// <exception cref="ArgumentException">An element is not a whole number in the int range.</exception>
    public int[] Indices()
    {
        if (IndexData is { } given)
        {
            return given;
        }

        var result = new int[Data.Length];
        for (int i = 0; i < result.Length; i++)
        {
            double v = Data[i] is Half half ? (double)half : Convert.ToDouble(Data[i], System.Globalization.CultureInfo.InvariantCulture);
            if (!(v == Math.Floor(v)) || Math.Abs(v) > int.MaxValue)
            {
                throw new ArgumentException($"inputs.{Name} must hold integers (class indices), got {v} at index {i}", Name);
            }

            result[i] = (int)v;
        }

        return result;
    }

    /// <summary>The shape as text: <c>[2, 3]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>What one fused evaluation gave: the reduced value (or the per-value losses) and a gradient per differentiable input.</summary>
public sealed class LossEvaluation<T>
{
    /// <summary>The value returned by the fused call (with Reduction.None: the sum of the per-value losses).</summary>
    public required T Value { get; init; }

    /// <summary>With Reduction.None (and for heads): the per-value results; else null.</summary>
    public LayoutTensor<T>? Values { get; init; }

    /// <summary>d value / d input for each differentiable input, in the layout's order.</summary>
    public required IReadOnlyList<LayoutTensor<T>> Gradients { get; init; }
}

/// <summary>
/// An input layout: the arrays a family of losses takes and how their shapes relate. Its typed side (a call type and
/// the public entry points of the losses' base class) serves programs; this side serves tools and adapters that hold
/// named arrays: <see cref="Evaluate{T}"/> checks the shapes and runs the loss's fused ForwardBackward (upstream 1).
/// </summary>
public abstract class LossLayout
{
    private protected LossLayout(string name, string description, params LayoutInput[] inputs)
    {
        Name = name;
        Description = description;
        Inputs = inputs;
    }

    /// <summary>The layout's name (elementwise, class_index, boxes, …).</summary>
    public string Name { get; }

    /// <summary>One line on what the layout holds.</summary>
    public string Description { get; }

    /// <summary>The arrays it takes, in order.</summary>
    public IReadOnlyList<LayoutInput> Inputs { get; }

    /// <summary>
    /// Runs <paramref name="loss"/> (an instance from the entry's factory) on named arrays: shapes checked, the per-call
    /// arguments (weight, avg_factor) read from <paramref name="arguments"/>, the fused call made with fresh outputs.
    /// </summary>
    /// <exception cref="ArgumentException">A missing or unknown array, a shape mismatch, or the loss's own checks.</exception>
    public LossEvaluation<T> Evaluate<T>(object loss, LossArguments arguments, IReadOnlyDictionary<string, LayoutTensor<T>> inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BoundLoss<T> bound = Bind(loss, arguments, inputs);
        return new LossEvaluation<T> { Value = bound.ForwardBackward(), Values = bound.Values, Gradients = bound.Gradients };
    }

    private void Check<T>(object loss, LossArguments arguments, IReadOnlyDictionary<string, LayoutTensor<T>> inputs)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (string name in inputs.Keys)
        {
            if (!Inputs.Any(i => i.Name == name))
            {
                throw new ArgumentException($"unknown input '{name}' for loss '{arguments.Entry.Id}' (known: {string.Join(", ", Inputs.Select(i => i.Name))})", nameof(inputs));
            }
        }

        foreach (LayoutInput i in Inputs)
        {
            if (!inputs.ContainsKey(i.Name))
            {
                throw new ArgumentException($"missing input '{i.Name}' for loss '{arguments.Entry.Id}' (expected {i.Shape})", nameof(inputs));
            }
        }

    }

    /// <summary>
    /// Binds <paramref name="loss"/> to named arrays once (shapes checked, outputs allocated): the bound calls then run
    /// Forward and the fused ForwardBackward on the same data with no allocation per call (benchmarks, adapters).
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Evaluate{T}"/>.</exception>
    public BoundLoss<T> Bind<T>(object loss, LossArguments arguments, IReadOnlyDictionary<string, LayoutTensor<T>> inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(loss, arguments, inputs);
        return BindCore(loss, new Call<T>(this, arguments, inputs));
    }

    /// <summary>The layout's binding: read the arrays from <paramref name="call"/>, check shapes, allocate the outputs.</summary>
    private protected abstract BoundLoss<T> BindCore<T>(object loss, Call<T> call)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>One evaluation's arguments, with the shape rules every layout uses (messages name the loss and arrays).</summary>
    private protected sealed class Call<T>(LossLayout layout, LossArguments arguments, IReadOnlyDictionary<string, LayoutTensor<T>> inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public string Loss => arguments.Entry.Id;

        public LossArguments Arguments => arguments;

        public LayoutTensor<T> this[string name] => inputs[name];

        /// <summary>The per-call weight (empty when absent or when the entry takes none).</summary>
        public T[] Weight => arguments.Entry.Parameter("weight") is { Role: ParameterRole.Call } ? arguments.Vector<T>("weight") : [];

        /// <summary>mmdetection's avg_factor (null when absent or when the entry takes none).</summary>
        public double? AvgFactor => arguments.Entry.Parameter("avg_factor") is null ? null : arguments.OptionalDouble("avg_factor");

        public TLoss As<TLoss>(object loss) => loss is TLoss typed
            ? typed
            : throw new InvalidOperationException($"loss '{Loss}': layout {layout.Name} needs a {typeof(TLoss).Name}, the factory built {loss.GetType().Name}");

        /// <summary>Checks a [rows, columns] array and returns its dimensions.</summary>
        public (int Rows, int Columns) Matrix(LayoutTensor<T> x)
        {
            if (x.Shape.Length != 2)
            {
                throw Mismatch(x.Name, $"{x.Name} has shape {x.ShapeText} but loss '{Loss}' needs {Expected(x.Name)}");
            }

            return (x.Shape[0], x.Shape[1]);
        }

        /// <summary>Checks that <paramref name="v"/> has shape [rows] (one entry per row of <paramref name="of"/>).</summary>
        public void RowVector(LayoutTensor<T> v, int rows, LayoutTensor<T> of)
        {
            if (v.Shape.Length != 1 || v.Shape[0] != rows)
            {
                throw Mismatch(v.Name, $"{v.Name} has shape {v.ShapeText} but loss '{Loss}' needs [{rows}] (one per row of {of.Name} {of.ShapeText})");
            }
        }

        /// <summary>Checks that <paramref name="a"/> has exactly the shape of <paramref name="b"/>.</summary>
        public void SameShape(LayoutTensor<T> a, LayoutTensor<T> b)
        {
            if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            {
                throw Mismatch(a.Name, $"{a.Name} has shape {a.ShapeText} but {b.Name} has shape {b.ShapeText} (loss '{Loss}' needs the same shape)");
            }
        }

        /// <summary>A shape error naming the input at fault (<paramref name="name"/>, the layout's input name) as the parameter.</summary>
        public ArgumentException Mismatch(string name, string what) => new($"shape mismatch: {what}", name);

        public string Expected(string name) => layout.Inputs.First(i => i.Name == name).Shape;

        /// <summary>A bound call: the two entry points over fixed arrays, the per-value outputs (None) and the gradients.</summary>
        public static BoundLoss<T> Bound(Func<T> forward, Func<T> forwardBackward, T[]? values, int[] valueShape, params LayoutTensor<T>[] gradients) =>
            new(forward, forwardBackward, values is null ? null : new LayoutTensor<T>("values", valueShape, values), gradients);
    }
}

/// <summary>
/// A loss bound to fixed arrays by <see cref="LossLayout.Bind{T}"/>: <see cref="Forward"/> and <see cref="ForwardBackward"/>
/// (upstream 1) write into <see cref="Values"/> (with Reduction.None) and <see cref="Gradients"/>, allocating nothing.
/// </summary>
public sealed class BoundLoss<T>
{
    private readonly Func<T> _forward, _forwardBackward;

    internal BoundLoss(Func<T> forward, Func<T> forwardBackward, LayoutTensor<T>? values, IReadOnlyList<LayoutTensor<T>> gradients)
    {
        _forward = forward;
        _forwardBackward = forwardBackward;
        Values = values;
        Gradients = gradients;
    }

    /// <summary>The per-value outputs with Reduction.None (and for heads), else null.</summary>
    public LayoutTensor<T>? Values { get; }

    /// <summary>The gradient buffers, one per differentiable input.</summary>
    public IReadOnlyList<LayoutTensor<T>> Gradients { get; }

    /// <summary>The loss value (per-value losses into <see cref="Values"/> with None).</summary>
    public T Forward() => _forward();

    /// <summary>The loss value and the gradients in one pass.</summary>
    public T ForwardBackward() => _forwardBackward();
}
