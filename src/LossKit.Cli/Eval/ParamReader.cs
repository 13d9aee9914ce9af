using System.Text.Json;
using LossKit.Cli.Commands;
using LossKit.Registry;

namespace LossKit.Cli.Eval;

/// <summary>Reads a document's parameters by the entry's schema, with one clear message per wrong name, type or value.</summary>
internal static class ParamReader
{
    public static LossArguments Read(LossEntry entry, Dictionary<string, JsonElement> parameters)
    {
        LossArguments args = entry.Arguments();
        foreach ((string name, JsonElement e) in parameters)
        {
            LossParameter p = entry.Parameter(name)
                ?? throw new CliException($"unknown parameter '{name}' for loss '{entry.Id}' (known: {entry.KnownParameters})");
            if (e.ValueKind != JsonValueKind.Null)
            {
                args.Set(name, Value(entry, p, e));
            }
        }

        return args;
    }

    private static object Value(LossEntry entry, LossParameter p, JsonElement e)
    {
        switch (p.Type)
        {
            case ParameterType.Reduction:
                return Enum.Parse<Reduction>(Choice(entry, p, e).Replace("_", "", StringComparison.Ordinal), ignoreCase: true);
            case ParameterType.Choice:
                return Choice(entry, p, e);
            case ParameterType.Double:
                return e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw TypeError(entry, p.Name, "a number", e);
            case ParameterType.Int:
                if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v))
                {
                    return v;
                }

                if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue)
                {
                    return (int)d;
                }

                throw TypeError(entry, p.Name, "an integer", e);
            case ParameterType.Bool:
                return e.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw TypeError(entry, p.Name, "true or false", e),
                };
            default:
                if (e.ValueKind is not (JsonValueKind.Array or JsonValueKind.Object))
                {
                    throw TypeError(entry, p.Name, "an array of numbers", e);
                }

                return EvalDocument.ParseTensor(e, $"parameter '{p.Name}' of loss '{entry.Id}'", p.Name).Data;
        }
    }

    /// <summary>A string among the parameter's choices (case-insensitive).</summary>
    private static string Choice(LossEntry entry, LossParameter p, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.String)
        {
            throw TypeError(entry, p.Name, "a string (" + string.Join(", ", p.Choices) + ")", e);
        }

        return p.FindChoice(e.GetString()!) ??
            throw new CliException($"parameter '{p.Name}' of loss '{entry.Id}' must be one of {string.Join(", ", p.Choices)}, got \"{e.GetString()}\"");
    }

    private static CliException TypeError(LossEntry entry, string name, string expected, JsonElement e) =>
        new($"parameter '{name}' of loss '{entry.Id}' must be {expected}, got {EvalDocument.Kind(e)}");
}
