using System.CommandLine;
using LossKit.Cli.Eval;
using LossKit.Registry;

namespace LossKit.Cli.Commands;

/// <summary>
/// <c>losskit eval FILE|-</c>: evaluates a loss described by a JSON document and prints the value and the gradient
/// w.r.t. every differentiable input as JSON.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CommandIO io)
    {
        var file = new Argument<string>("document") { Description = "JSON document (a file path, or - for stdin)." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the result JSON here instead of stdout." };
        var dtype = new Option<string?>("--dtype") { Description = "float64 (default) or float32; overrides the document's \"dtype\"." };
        var command = new Command("eval",
            "Evaluate a loss from a JSON document: {\"loss\": name, \"params\": {...}, \"inputs\": {name: {\"shape\": [...], \"data\": [...]}}}. " +
            "Prints {\"loss\", \"dtype\", \"value\", \"gradients\": {input: ...}}; with reduction none, value holds the per-element " +
            "losses and the gradient is that of their sum.")
        {
            file, output, dtype,
        };
        command.SetAction(parse => io.Guard(() =>
        {
            string path = parse.GetValue(file)!;
            string json = path == "-" ? io.In.ReadToEnd() : ReadFile(path);
            string result = Evaluate(json, parse.GetValue(dtype));
            if (parse.GetValue(output) is { } outPath)
            {
                File.WriteAllText(outPath, result);
            }
            else
            {
                io.Out.Write(result);
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Evaluates a document and returns the result JSON (throws <see cref="CliException"/> / ArgumentException).</summary>
    public static string Evaluate(string json, string? dtypeOption)
    {
        EvalDocument doc = EvalDocument.Parse(json);
        LossEntry spec = LossRegistry.TryGet(doc.Loss, out LossEntry? found)
            ? found
            : throw new CliException($"unknown loss '{doc.Loss}' (known: {string.Join(", ", LossRegistry.Entries.Select(e => e.Id))})");
        string dtype = (dtypeOption ?? doc.Dtype ?? "float64") switch
        {
            "float64" or "double" => "float64",
            "float32" or "float" => "float32",
            string other => throw new CliException($"unknown dtype '{other}' (known: float64, float32)"),
        };
        try
        {
            return dtype == "float32"
                ? JsonOut.Write(spec.Id, dtype, Evaluator.Run<float>(doc, spec))
                : JsonOut.Write(spec.Id, dtype, Evaluator.Run<double>(doc, spec));
        }
        catch (ArgumentException e)
        {
            // The library validates values (targets in range, weights' lengths, hyper-parameters): keep its message.
            throw new CliException($"loss '{spec.Id}': {SnakeCaseNames(CommandIO.CleanMessage(e), spec)}");
        }
    }

    /// <summary>The library names its arguments in camelCase (labelSmoothing); the document uses PyTorch's snake_case.</summary>
    private static string SnakeCaseNames(string message, LossEntry spec)
    {
        foreach (string name in spec.Parameters.Select(p => p.Name).Where(n => n.Contains('_', StringComparison.Ordinal)))
        {
            string[] parts = name.Split('_');
            string camel = parts[0] + string.Concat(parts.Skip(1).Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            message = System.Text.RegularExpressions.Regex.Replace(message, $@"\b{camel}\b", name);
        }

        return message;
    }

    private static string ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"document '{path}' not found");
        }

        return File.ReadAllText(path);
    }
}
