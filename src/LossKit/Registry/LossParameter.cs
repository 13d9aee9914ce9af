namespace LossKit.Registry;

/// <summary>The type of a loss parameter's value.</summary>
public enum ParameterType
{
    /// <summary>A <see cref="LossKit.Reduction"/>, written none / mean / sum (/ batchmean where allowed).</summary>
    Reduction,

    /// <summary>A real number.</summary>
    Double,

    /// <summary>A whole number.</summary>
    Int,

    /// <summary>true or false.</summary>
    Bool,

    /// <summary>One of a fixed set of names (an enum's members, lower case).</summary>
    Choice,

    /// <summary>A vector of numbers (per-class or per-element weights); empty when absent.</summary>
    Vector,
}

/// <summary>Whether a parameter configures the loss object or accompanies each call.</summary>
public enum ParameterRole
{
    /// <summary>A hyper-parameter: passed to the loss's constructor.</summary>
    Construction,

    /// <summary>Passed with each call (per-element weights, mmdetection's avg_factor).</summary>
    Call,
}

/// <summary>
/// One parameter of a registry entry: its name (snake_case, as PyTorch), type, default, allowed range or choices and a
/// one-line description. The schema is what <c>losskit eval</c>, <c>losskit list</c> and the README read.
/// </summary>
public sealed class LossParameter
{
    private LossParameter(string name, ParameterType type, object? defaultValue, string doc, ParameterRole role)
    {
        Name = name;
        Type = type;
        Default = defaultValue;
        Doc = doc;
        Role = role;
    }

    /// <summary>The parameter's name, snake_case (PyTorch's spelling where PyTorch has the parameter).</summary>
    public string Name { get; }

    /// <summary>The value's type.</summary>
    public ParameterType Type { get; }

    /// <summary>The default: a <see cref="LossKit.Reduction"/>, double, int, bool, choice name, or null (absent / none).</summary>
    public object? Default { get; }

    /// <summary>One-line description.</summary>
    public string Doc { get; }

    /// <summary>Constructor hyper-parameter or per-call argument.</summary>
    public ParameterRole Role { get; }

    /// <summary>Smallest allowed value (numbers), or null.</summary>
    public double? Min { get; private init; }

    /// <summary>Largest allowed value (numbers), or null.</summary>
    public double? Max { get; private init; }

    /// <summary>Whether <see cref="Min"/> itself is excluded.</summary>
    public bool MinExclusive { get; private init; }

    /// <summary>Whether <see cref="Max"/> itself is excluded.</summary>
    public bool MaxExclusive { get; private init; }

    /// <summary>The allowed names of a <see cref="ParameterType.Choice"/> or <see cref="ParameterType.Reduction"/> parameter.</summary>
    public IReadOnlyList<string> Choices { get; private init; } = [];

    /// <summary>The enum a choice parameter maps to (member names matched without regard to case).</summary>
    public System.Type? ChoiceType { get; private init; }

    /// <summary>The reduction parameter: <paramref name="defaultValue"/>, and BatchMean only where allowed.</summary>
    public static LossParameter Reduction(LossKit.Reduction defaultValue, bool allowBatchMean = false) =>
        new("reduction", ParameterType.Reduction, defaultValue, "how per-element losses are reduced", ParameterRole.Construction)
        {
            Choices = allowBatchMean ? ["none", "mean", "sum", "batchmean"] : ["none", "mean", "sum"],
        };

    /// <summary>A real-valued hyper-parameter in [min, max] (either end open with <paramref name="minExclusive"/>, <paramref name="maxExclusive"/>).</summary>
    public static LossParameter Double(string name, double defaultValue, string doc, double? min = null, double? max = null, bool minExclusive = false,
        bool maxExclusive = false) =>
        new(name, ParameterType.Double, defaultValue, doc, ParameterRole.Construction) { Min = min, Max = max, MinExclusive = minExclusive, MaxExclusive = maxExclusive };

    /// <summary>A whole-number hyper-parameter.</summary>
    public static LossParameter Int(string name, int defaultValue, string doc, double? min = null, double? max = null) =>
        new(name, ParameterType.Int, defaultValue, doc, ParameterRole.Construction) { Min = min, Max = max };

    /// <summary>A boolean hyper-parameter.</summary>
    public static LossParameter Bool(string name, bool defaultValue, string doc) =>
        new(name, ParameterType.Bool, defaultValue, doc, ParameterRole.Construction);

    /// <summary>
    /// A hyper-parameter naming a member of <typeparamref name="TEnum"/> (snake_case names), all of them or only
    /// <paramref name="allowed"/>.
    /// </summary>
    public static LossParameter Choice<TEnum>(string name, TEnum defaultValue, string doc, params TEnum[] allowed)
        where TEnum : struct, Enum =>
        new(name, ParameterType.Choice, SnakeCase(defaultValue.ToString()), doc, ParameterRole.Construction)
        {
            Choices = [.. (allowed.Length > 0 ? allowed : Enum.GetValues<TEnum>()).Select(v => SnakeCase(v.ToString()))],
            ChoiceType = typeof(TEnum),
        };

    /// <summary>A vector hyper-parameter (per-class weights), absent by default.</summary>
    public static LossParameter Vector(string name, string doc) =>
        new(name, ParameterType.Vector, null, doc, ParameterRole.Construction);

    /// <summary>The per-element (or per-row, per-box) weight passed with each call.</summary>
    public static LossParameter CallWeight(string doc = "per-element weight") =>
        new("weight", ParameterType.Vector, null, doc, ParameterRole.Call);

    /// <summary>mmdetection's avg_factor, passed with each call: Mean divides by it (+ float32 eps) instead of the count.</summary>
    public static LossParameter AvgFactor() =>
        new("avg_factor", ParameterType.Double, null, "mmdetection's avg_factor: Mean divides by it + float32 eps", ParameterRole.Call) { Min = 0 };

    /// <summary>The default as the README and <c>losskit list</c> show it.</summary>
    public string DefaultText => Default switch
    {
        null => "none",
        LossKit.Reduction r => r.ToString(),
        bool b => b ? "true" : "false",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        object o => o.ToString() ?? "",
    };

    /// <summary>
    /// Checks a value's type and choices; returns it normalised (choices lower case, whole numbers as int). The range is
    /// the loss constructor's to enforce (with its own message); <see cref="Min"/> and <see cref="Max"/> document it.
    /// </summary>
    /// <exception cref="ArgumentException">The value does not fit (naming the parameter and the value).</exception>
    public object Check(object value)
    {
        switch (Type)
        {
            case ParameterType.Reduction:
                if (value is LossKit.Reduction r && Choices.Contains(r.ToString().ToLowerInvariant()))
                {
                    return r;
                }

                throw new ArgumentOutOfRangeException(Name, value, $"{Name} must be one of {string.Join(", ", Choices)}, got {value}.");
            case ParameterType.Double or ParameterType.Int:
            {
                double d = value switch
                {
                    double x => x,
                    int i => i,
                    float f => f,
                    long l => l,
                    _ => throw new ArgumentException($"{Name} must be a number, got {value}.", Name),
                };
                // |value| < int.MaxValue: int64 class indices narrow to int32 saturating at ±int.MaxValue (and below), so
                // an index past the range can never equal an ignore_index and is reported out of range instead.
                if (Type == ParameterType.Int && (d != Math.Floor(d) || Math.Abs(d) >= int.MaxValue))
                {
                    throw new ArgumentException($"{Name} must be an integer of magnitude below {int.MaxValue} (LossKit's indices are int32), got {d}.", Name);
                }

                return Type == ParameterType.Int ? (object)(int)d : d;
            }

            case ParameterType.Bool:
                return value is bool ? value : throw new ArgumentException($"{Name} must be true or false, got {value}.", Name);
            case ParameterType.Choice:
                return FindChoice(value is Enum e ? e.ToString() : value as string ?? "")
                    ?? throw new ArgumentOutOfRangeException(Name, value, $"{Name} must be one of {string.Join(", ", Choices)}, got {value}.");

            default:
                return value is double[] ? value : throw new ArgumentException($"{Name} must be a vector of numbers.", Name);
        }
    }

    /// <summary>
    /// The choice <paramref name="text"/> names, matched without regard to case and underscores
    /// (<c>threshold_inclusive</c>, <c>ThresholdInclusive</c>, <c>kaiyangzhou</c>), or null.
    /// </summary>
    public string? FindChoice(string text)
    {
        string key = Normalize(text);
        return Choices.FirstOrDefault(c => Normalize(c) == key);
    }

    private static string Normalize(string s) => s.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>
    /// An enum member's name in snake_case, words split where a lower-case letter meets a capital that starts a word:
    /// <c>ThresholdInclusive</c> → <c>threshold_inclusive</c>, <c>SmoothL1</c> → <c>smooth_l1</c>,
    /// <c>EfficientIoU</c> → <c>efficient_iou</c>, <c>GIoU</c> → <c>giou</c>, <c>MMDetection</c> → <c>mmdetection</c>.
    /// </summary>
    private static string SnakeCase(string name) =>
        System.Text.RegularExpressions.Regex.Replace(name, "(?<=[a-z])(?=[A-Z][a-z0-9])", "_").ToLowerInvariant();

    /// <summary>The allowed range in interval notation.</summary>
    public string RangeText => $"{(MinExclusive ? "(" : "[")}{(Min is double lo ? Num(lo) : "-inf")}, {(Max is double hi ? Num(hi) : "inf")}{(MaxExclusive ? ")" : "]")}";

    private static string Num(double d) => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
