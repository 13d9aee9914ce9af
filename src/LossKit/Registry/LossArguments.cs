using System.Numerics;

namespace LossKit.Registry;

/// <summary>
/// Parameter values for one registry entry, by name: what a factory reads (with the schema's defaults for what is not
/// given) and what a layout passes with each call (weight, avg_factor). Values are checked against the schema when set.
/// </summary>
public sealed class LossArguments
{
    private readonly Dictionary<string, object> _values = new(StringComparer.Ordinal);

    /// <summary>Arguments for <paramref name="entry"/>; all parameters at their defaults.</summary>
    public LossArguments(LossEntry entry) => Entry = entry;

    /// <summary>The entry whose schema the values follow.</summary>
    public LossEntry Entry { get; }

    /// <summary>Sets a parameter (checked against its type and choices).</summary>
    /// <exception cref="ArgumentException">Unknown parameter, or a value of the wrong type.</exception>
    public LossArguments Set(string name, object value)
    {
        LossParameter p = Entry.Parameter(name)
            ?? throw new ArgumentException($"unknown parameter '{name}' for loss '{Entry.Id}' (known: {Entry.KnownParameters})", nameof(name));
        _values[name] = p.Check(value);
        return this;
    }

    /// <summary>A copy of these arguments with <paramref name="name"/> set to <paramref name="value"/> (checked as by <see cref="Set"/>).</summary>
    public LossArguments With(string name, object value)
    {
        var copy = new LossArguments(Entry);
        foreach (KeyValuePair<string, object> kv in _values)
        {
            copy._values[kv.Key] = kv.Value;
        }

        return copy.Set(name, value);
    }

    /// <summary>Whether <paramref name="name"/> was set.</summary>
    public bool IsSet(string name) => _values.ContainsKey(name);

    /// <summary>The reduction (the schema's default when not set).</summary>
    public Reduction Reduction() => (Reduction)Value("reduction")!;

    /// <summary>A real parameter.</summary>
    public double Double(string name) => Value(name) switch
    {
        int i => i,
        object o => (double)o,
        null => throw new InvalidOperationException($"{Entry.Id}: parameter '{name}' has no default"),
    };

    /// <summary>An optional real parameter (null when neither set nor defaulted): avg_factor.</summary>
    public double? OptionalDouble(string name) => Value(name) is { } v ? Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>A whole-number parameter.</summary>
    public int Int(string name) => (int)Value(name)!;

    /// <summary>A boolean parameter.</summary>
    public bool Bool(string name) => (bool)Value(name)!;

    /// <summary>A choice parameter as its enum member.</summary>
    public TEnum Choice<TEnum>(string name)
        where TEnum : struct, Enum => Enum.Parse<TEnum>(((string)Value(name)!).Replace("_", "", StringComparison.Ordinal), ignoreCase: true);

    /// <summary>A vector parameter converted to <typeparamref name="T"/>; empty when absent.</summary>
    public T[] Vector<T>(string name)
        where T : INumberBase<T> => Value(name) is double[] v ? Array.ConvertAll(v, T.CreateTruncating) : [];

    private object? Value(string name)
    {
        if (_values.TryGetValue(name, out object? v))
        {
            return v;
        }

        LossParameter p = Entry.Parameter(name) ?? throw new InvalidOperationException($"{Entry.Id} reads parameter '{name}', which its schema does not list");
        return p.Default;
    }
}
