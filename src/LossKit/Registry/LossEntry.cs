using System.Numerics;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.Registry;

/// <summary>The family a loss belongs to (its folder and namespace).</summary>
public enum LossFamily
{
    /// <summary>Classification losses (LossKit.Classification).</summary>
    Classification,

    /// <summary>Regression losses (LossKit.Regression).</summary>
    Regression,

    /// <summary>Detection losses: the IoU and focal families (LossKit.Detection).</summary>
    Detection,

    /// <summary>Metric learning: angular margins, the cosine head, center loss (LossKit.MetricLearning).</summary>
    MetricLearning,

    /// <summary>Whole detector criteria over per-image sets of boxes (LossKit.Criteria).</summary>
    Criteria,
}

/// <summary>The values an input or target array must hold (what the loss validates or its formula assumes).</summary>
public enum ValueDomain
{
    /// <summary>Any real number.</summary>
    Real,

    /// <summary>[0, 1]: probabilities, soft binary targets, IoU quality.</summary>
    UnitInterval,

    /// <summary>−1 or +1: the labels of the margin losses (validated).</summary>
    PlusMinusOne,

    /// <summary>≤ 0: log-probabilities (NLL's input, KL's input and its log target).</summary>
    LogProbabilities,

    /// <summary>[−1, 1]: cosines (the angular margins' input, validated).</summary>
    Cosines,
}

/// <summary>
/// One loss in the registry: id, family, input layout, typed parameter schema, formula, reference equivalent and a
/// factory from parameter values to an instance. <c>losskit list</c>, <c>eval</c>, <c>plot</c>, <c>bench</c>, the README
/// catalog and the test runners read these.
/// </summary>
public sealed class LossEntry
{
    private readonly Func<LossArguments, object> _factory;
    private Type? _implementation;

    internal LossEntry(string id, LossFamily family, LossLayout layout, string formula, string reference,
        IReadOnlyList<LossParameter> parameters, Func<LossArguments, object> factory)
    {
        Id = id;
        Family = family;
        Layout = layout;
        Formula = formula;
        Reference = reference;
        Parameters = parameters;
        _factory = factory;
    }

    /// <summary>The identifier (snake_case): <c>losskit eval</c>'s "loss", the golden files' loss id.</summary>
    public string Id { get; }

    /// <summary>The family.</summary>
    public LossFamily Family { get; }

    /// <summary>The input layout: which arrays the loss takes, their shapes, and the entry points.</summary>
    public LossLayout Layout { get; }

    /// <summary>The per-element (or per-row) formula in plain math.</summary>
    public string Formula { get; }

    /// <summary>The PyTorch / torchvision / mmdetection (or paper) equivalent.</summary>
    public string Reference { get; }

    /// <summary>What the differentiable input holds (<see cref="ValueDomain.Real"/> unless the loss needs more).</summary>
    public ValueDomain InputDomain { get; init; }

    /// <summary>What a floating-point target holds (class indices are described by the layout).</summary>
    public ValueDomain TargetDomain { get; init; }

    /// <summary>The parameter schema, hyper-parameters first, then per-call arguments.</summary>
    public IReadOnlyList<LossParameter> Parameters { get; }

    /// <summary>The factory (for the element type of the list it was built in).</summary>
    internal Func<LossArguments, object> Factory => _factory;

    /// <summary>Position in <see cref="LossRegistry.Entries"/>.</summary>
    internal int Index { get; set; }

    /// <summary>The parameter names, comma-separated (for messages).</summary>
    public string KnownParameters => Parameters.Count == 0 ? "none" : string.Join(", ", Parameters.Select(p => p.Name));

    /// <summary>The parameter called <paramref name="name"/>, or null.</summary>
    public LossParameter? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);

    /// <summary>Fresh arguments for this entry (every parameter at its default).</summary>
    public LossArguments Arguments() => new(this);

    /// <summary>Creates the loss for element type <typeparamref name="T"/> from <paramref name="arguments"/>.</summary>
    /// <exception cref="ArgumentException">A hyper-parameter is out of its range (the constructor's check).</exception>
    public object Create<T>(LossArguments arguments)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments.Entry != this)
        {
            throw new ArgumentException($"arguments are for loss '{arguments.Entry.Id}', not '{Id}'", nameof(arguments));
        }

        try
        {
            return typeof(T) == typeof(double) ? _factory(arguments) : LossRegistry.Factory<T>(Index)(arguments);
        }
        catch (ArgumentException e) when (SchemaName(e.ParamName) is { } name)
        {
            // The constructor names its C# parameter (labelSmoothing); callers of the registry set label_smoothing.
            throw ThrowHelper.Renamed(e, name);
        }
    }

    /// <summary>
    /// The schema's name (a parameter or a layout input) of a name the C# code uses in camelCase, where it differs:
    /// labelSmoothing → label_smoothing, avgFactor → avg_factor, groundTruthBoxes → gt_boxes; null otherwise.
    /// </summary>
    internal string? SchemaName(string? paramName)
    {
        if (string.IsNullOrEmpty(paramName) || Known(paramName))
        {
            return null;
        }

        string snake = ThrowHelper.SnakeCase(paramName);
        string gt = snake.Replace("ground_truth_", "gt_", StringComparison.Ordinal);
        return Known(snake) ? snake : Known(gt) ? gt : null;

        bool Known(string name) => Parameter(name) is not null || Layout.Inputs.Any(i => i.Name == name);
    }

    /// <summary>Creates the loss with every parameter at its default.</summary>
    public object Create<T>()
        where T : unmanaged, IFloatingPointIeee754<T> => Create<T>(Arguments());

    /// <summary>The generic type definition the factory builds (e.g. <c>CrossEntropyLoss&lt;T&gt;</c>).</summary>
    public Type ImplementationType => _implementation ??= _factory(Arguments()).GetType().GetGenericTypeDefinition();

    /// <summary>The implementation's name as the catalog shows it: <c>Classification.CrossEntropyLoss&lt;T&gt;</c>.</summary>
    public string TypeName
    {
        get
        {
            Type t = ImplementationType;
            string ns = t.Namespace is { } n && n.StartsWith("LossKit.", StringComparison.Ordinal) ? n["LossKit.".Length..] + "." : "";
            return ns + t.Name[..t.Name.IndexOf('`', StringComparison.Ordinal)] + "<T>";
        }
    }

    /// <summary>The hyper-parameters with their defaults, as the README's catalog lists them.</summary>
    public string DefaultsText => Parameters.Count == 0 ? "none" : string.Join(", ", Parameters.Select(p => $"{p.Name}={p.DefaultText}"));

    /// <summary>The entry's loss, created from <paramref name="arguments"/> and evaluated on named arrays through its layout.</summary>
    public LossEvaluation<T> Evaluate<T>(LossArguments arguments, IReadOnlyDictionary<string, LayoutTensor<T>> inputs)
        where T : unmanaged, IFloatingPointIeee754<T> => Layout.Evaluate(Create<T>(arguments), arguments, inputs);

    /// <inheritdoc/>
    public override string ToString() => Id;
}
