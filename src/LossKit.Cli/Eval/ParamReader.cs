using System.Numerics;
using System.Text.Json;
using LossKit.Cli.Commands;

namespace LossKit.Cli.Eval;

/// <summary>Typed access to a document's parameters, with one clear message per wrong name, type or value.</summary>
internal sealed class ParamReader<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LossSpec _spec;
    private readonly Dictionary<string, JsonElement> _params;

    public ParamReader(LossSpec spec, Dictionary<string, JsonElement> parameters)
    {
        _spec = spec;
        _params = parameters;
        foreach (string name in parameters.Keys)
        {
            if (!spec.Params.Contains(name))
            {
                throw new CliException($"unknown parameter '{name}' for loss '{spec.Name}' (known: {spec.KnownParams})");
            }
        }
    }

    /// <summary>The reduction: "none", "mean", "sum" (and "batchmean" where allowed).</summary>
    public Reduction Reduction(Reduction fallback, bool allowBatchMean = false)
    {
        string[] names = allowBatchMean ? ["none", "mean", "sum", "batchmean"] : ["none", "mean", "sum"];
        string? s = Choice("reduction", names);
        return s switch
        {
            null => fallback,
            "none" => LossKit.Reduction.None,
            "mean" => LossKit.Reduction.Mean,
            "sum" => LossKit.Reduction.Sum,
            _ => LossKit.Reduction.BatchMean,
        };
    }

    public double Double(string name, double fallback)
    {
        if (!TryGet(name, out JsonElement e))
        {
            return fallback;
        }

        return e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw TypeError(name, "a number", e);
    }

    public double? OptionalDouble(string name) => TryGet(name, out _) ? Double(name, 0) : null;

    public int Int(string name, int fallback)
    {
        if (!TryGet(name, out JsonElement e))
        {
            return fallback;
        }

        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v))
        {
            return v;
        }

        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue)
        {
            return (int)d;
        }

        throw TypeError(name, "an integer", e);
    }

    public bool Bool(string name, bool fallback)
    {
        if (!TryGet(name, out JsonElement e))
        {
            return fallback;
        }

        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw TypeError(name, "true or false", e),
        };
    }

    /// <summary>A string among <paramref name="choices"/> (case-insensitive), or null when absent.</summary>
    public string? Choice(string name, params string[] choices)
    {
        if (!TryGet(name, out JsonElement e))
        {
            return null;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            throw TypeError(name, "a string (" + string.Join(", ", choices) + ")", e);
        }

        string s = e.GetString()!.ToLowerInvariant();
        return choices.Contains(s)
            ? s
            : throw new CliException($"parameter '{name}' of loss '{_spec.Name}' must be one of {string.Join(", ", choices)}, got \"{e.GetString()}\"");
    }

    /// <summary>A vector of numbers (a flat array, or an array object whose data is used flat), or empty when absent.</summary>
    public T[] Vector(string name)
    {
        if (!TryGet(name, out JsonElement e))
        {
            return [];
        }

        if (e.ValueKind is not (JsonValueKind.Array or JsonValueKind.Object))
        {
            throw TypeError(name, "an array of numbers", e);
        }

        TensorArg t = EvalDocument.ParseTensor(e, $"parameter '{name}' of loss '{_spec.Name}'", name);
        return [.. t.Data.Select(T.CreateTruncating)];
    }

    private bool TryGet(string name, out JsonElement value)
    {
        System.Diagnostics.Debug.Assert(_spec.Params.Contains(name), $"{_spec.Name} reads '{name}', which its spec does not list");
        return _params.TryGetValue(name, out value) && value.ValueKind != JsonValueKind.Null;
    }

    private CliException TypeError(string name, string expected, JsonElement e) =>
        new($"parameter '{name}' of loss '{_spec.Name}' must be {expected}, got {EvalDocument.Kind(e)}");
}
