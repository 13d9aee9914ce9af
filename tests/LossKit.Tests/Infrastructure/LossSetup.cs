using LossKit.Layouts;
using LossKit.Registry;

namespace LossKit.Tests.Infrastructure;

/// <summary>
/// A loss configuration with its (type-independent, double) data: which loss, its reduction and hyper-parameters,
/// the input shape, the targets and the optional weights. <see cref="LossRunner{T}"/> turns it into calls of the library.
/// </summary>
public sealed class LossSetup
{
    /// <summary>
    /// Loss ids as used by the golden files of the classification and regression families: the registry's entries of
    /// those families, and <c>cross_entropy_prob</c> (cross-entropy's probability form) after cross-entropy.
    /// </summary>
    public static readonly string[] AllLosses =
    [
        .. LossRegistry.Entries.Where(e => e.Family is LossFamily.Classification or LossFamily.Regression)
            .SelectMany(e => e.Id == "cross_entropy" ? [e.Id, "cross_entropy_prob"] : new[] { e.Id }),
    ];

    /// <summary>The losses deriving from ElementwiseLoss&lt;T&gt;.</summary>
    public static readonly string[] ElementwiseLosses = [.. AllLosses.Where(id => !IsProbabilityForm(id) && Derives(id, typeof(ElementwiseLoss<double>)))];

    /// <summary>The losses deriving from ClassIndexLoss&lt;T&gt;.</summary>
    public static readonly string[] ClassIndexLosses = [.. AllLosses.Where(id => !IsProbabilityForm(id) && Derives(id, typeof(ClassIndexLoss<double>)))];

    private static bool Derives(string id, Type baseType) => baseType.IsAssignableFrom(EntryOf(id).ImplementationType.MakeGenericType(typeof(double)));

    public static TheoryData<string> Ids(string[] ids)
    {
        var data = new TheoryData<string>();
        foreach (string id in ids)
        {
            data.Add(id);
        }

        return data;
    }

    public static TheoryData<string> AllIds() => Ids(AllLosses);

    public static TheoryData<string> ElementwiseIds() => Ids(ElementwiseLosses);

    public static TheoryData<string> ClassIndexIds() => Ids(ClassIndexLosses);

    public required string Loss { get; init; }

    public Reduction Reduction { get; init; } = Reduction.Mean;

    /// <summary>Input shape; [batch, classes] for the row losses.</summary>
    public required int[] Shape { get; init; }

    /// <summary>Floating-point targets (empty for class-index losses).</summary>
    public double[] Target { get; init; } = [];

    /// <summary>Class-index targets (cross_entropy, nll, multi_margin).</summary>
    public int[]? IndexTarget { get; init; }

    /// <summary>Per-class weight for the row losses, per-element weight for the element-wise ones.</summary>
    public double[]? Weight { get; init; }

    public double[]? PosWeight { get; init; }

    public int IgnoreIndex { get; init; } = -100;

    public double LabelSmoothing { get; init; }

    public bool LogTarget { get; init; }

    public int P { get; init; } = 1;

    public double Margin { get; init; } = 1.0;

    public double Beta { get; init; } = 1.0;

    public double Delta { get; init; } = 1.0;

    public double Alpha { get; init; } = 0.5;

    public double Gamma { get; init; } = 1.5;

    public static bool HasIndexTargets(string loss) => !IsProbabilityForm(loss) && EntryOf(loss).Layout is ClassIndexLayout;

    /// <summary>Losses with one value per row (batch × classes input).</summary>
    public static bool IsRowLoss(string loss) => EntryOf(loss).Layout is ClassIndexLayout;

    public bool RowValued => IsRowLoss(Loss);

    public int InputLength => Shape.Aggregate(1, (a, b) => a * b);

    public int Batch => Shape.Length == 0 ? 1 : Shape[0];

    public int Classes => Shape.Length >= 2 ? Shape[1] : 1;

    /// <summary>Number of per-element loss values (Reduction.None): rows for the row losses, elements otherwise.</summary>
    public int ValueLength => RowValued ? Batch : InputLength;

    /// <summary>Which upstream entry multiplies gradient element <paramref name="i"/>.</summary>
    public int UpstreamIndex(int i) => RowValued ? i / Classes : i;

    /// <summary>The registry entry of this setup (the golden id <c>cross_entropy_prob</c> is cross-entropy's probability form).</summary>
    public LossEntry Entry => EntryOf(Loss);

    /// <summary>Whether this is cross-entropy's probability-target form.</summary>
    public bool ProbabilityTargets => IsProbabilityForm(Loss);

    /// <summary>The registry entry of a test loss id: the golden files' <c>cross_entropy_prob</c> is cross-entropy.</summary>
    public static LossEntry EntryOf(string loss) => LossRegistry.Get(IsProbabilityForm(loss) ? "cross_entropy" : loss);

    /// <summary>The golden files' id of cross-entropy with probability targets.</summary>
    public static bool IsProbabilityForm(string loss) => loss == "cross_entropy_prob";

    /// <summary>
    /// The entry's arguments: the reduction and every hyper-parameter of the setup that the entry's schema has (class
    /// weights only for the row losses; the element-wise weight goes with each call).
    /// </summary>
    public LossArguments Arguments()
    {
        LossEntry entry = Entry;
        LossArguments args = entry.Arguments().Set("reduction", Reduction);
        (string Name, object? Value)[] values =
        [
            ("weight", RowValued ? Weight : null), ("pos_weight", PosWeight), ("ignore_index", IgnoreIndex), ("label_smoothing", LabelSmoothing),
            ("log_target", LogTarget), ("p", P), ("margin", Margin), ("beta", Beta), ("delta", Delta), ("alpha", Alpha), ("gamma", Gamma),
        ];
        foreach ((string name, object? value) in values)
        {
            if (value is not null && entry.Parameter(name) is { Role: ParameterRole.Construction })
            {
                args.Set(name, value);
            }
        }

        return args;
    }

    /// <summary>The loss object, built by the registry entry's factory.</summary>
    public object CreateLoss<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => Entry.Create<T>(Arguments());

    public LossSetup With(Reduction reduction) => new()
    {
        Loss = Loss, Reduction = reduction, Shape = Shape, Target = Target, IndexTarget = IndexTarget, Weight = Weight,
        PosWeight = PosWeight, IgnoreIndex = IgnoreIndex, LabelSmoothing = LabelSmoothing, LogTarget = LogTarget, P = P,
        Margin = Margin, Beta = Beta, Delta = Delta, Alpha = Alpha, Gamma = Gamma,
    };
}
