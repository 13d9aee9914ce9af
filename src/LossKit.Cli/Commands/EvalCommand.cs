using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text;
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
        var dtype = new Option<string?>("--dtype") { Description = "float64 (default), float32 or float16 (computed through float32, rounded to Half); overrides the document's \"dtype\"." };
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
            EvalDocument doc = path == "-" ? EvalDocument.Parse(io.In.ReadToEnd()) : ParseFile(path);
            if (parse.GetValue(output) is { } outPath)
            {
                // Opened only once the result is computed: a failed evaluation leaves no file behind.
                Evaluate(doc, parse.GetValue(dtype), () => new StreamWriter(outPath, append: false, new UTF8Encoding(false)));
            }
            else
            {
                Evaluate(doc, parse.GetValue(dtype), () => new NonClosing(io.Out));
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Evaluates a document and returns the result JSON (throws <see cref="CliException"/> / ArgumentException).</summary>
    public static string Evaluate(string json, string? dtypeOption)
    {
        var result = new StringWriter();
        Evaluate(EvalDocument.Parse(json), dtypeOption, () => new NonClosing(result));
        return result.ToString();
    }

    /// <summary>
    /// Evaluates a parsed document and streams the result JSON to the writer <paramref name="open"/> gives (opened after
    /// the evaluation succeeds, disposed after writing).
    /// </summary>
    private static void Evaluate(EvalDocument doc, string? dtypeOption, Func<TextWriter> open)
    {
        LossEntry spec = LossRegistry.TryGet(doc.Loss, out LossEntry? found)
            ? found
            : throw new CliException($"unknown loss '{doc.Loss}' (known: {string.Join(", ", LossRegistry.Entries.Select(e => e.Id))})");
        string dtype = (dtypeOption ?? doc.Dtype ?? "float64") switch
        {
            "float64" or "double" => "float64",
            "float32" or "float" => "float32",
            "float16" or "half" => "float16",
            string other => throw new CliException($"unknown dtype '{other}' (known: float64, float32, float16)"),
        };
        if (dtype == "float32")
        {
            EvalResult<float> result = Run<float>(doc, spec);
            using TextWriter writer = open();
            JsonStreamOut.Write(writer, spec.Id, dtype, result);
        }
        else if (dtype == "float16")
        {
            EvalResult<Half> result = Run<Half>(doc, spec);
            using TextWriter writer = open();
            JsonStreamOut.Write(writer, spec.Id, dtype, result);
        }
        else
        {
            EvalResult<double> result = Run<double>(doc, spec);
            using TextWriter writer = open();
            JsonStreamOut.Write(writer, spec.Id, dtype, result);
        }
    }

    private static EvalResult<T> Run<T>(EvalDocument doc, LossEntry spec)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        try
        {
            return Evaluator.Run<T>(doc, spec);
        }
        catch (ArgumentException e)
        {
            // The library validates values (targets in range, weights' lengths, hyper-parameters): keep its message.
            throw new CliException($"loss '{spec.Id}': {SnakeCaseNames(CommandIO.CleanMessage(e), spec)}");
        }
    }

    /// <summary>A writer over one the caller owns (stdout): disposing it flushes, and leaves the target open.</summary>
    private sealed class NonClosing(TextWriter target) : TextWriter
    {
        public override Encoding Encoding => target.Encoding;

        public override void Write(char value) => target.Write(value);

        public override void Write(char[] buffer, int index, int count) => target.Write(buffer, index, count);

        public override void Write(ReadOnlySpan<char> buffer) => target.Write(buffer);

        public override void Write(string? value) => target.Write(value);

        protected override void Dispose(bool disposing) => target.Flush();
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

    /// <summary>Documents at least this large are collected as soon as they are parsed.</summary>
    private const int LargeDocument = 16 << 20;

    private static EvalDocument ParseFile(string path)
    {
        EvalDocument doc = ParseFile(path, out int length);
        if (length >= LargeDocument)
        {
            // The text is garbage now and about as large as the copies evaluation is about to make: give it back
            // before they are allocated, so the peak holds the arrays and not the text as well.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        return doc;
    }

    /// <summary>Reads and parses; not inlined, so no reference to the text outlives this frame (even unoptimized).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static EvalDocument ParseFile(string path, out int length)
    {
        byte[] utf8 = ReadFile(path);
        length = utf8.Length;
        return EvalDocument.Parse(utf8);
    }

    /// <summary>The document's bytes, UTF-8 (what the parser reads); a UTF-16 or UTF-32 file (byte-order mark) is converted.</summary>
    private static byte[] ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"document '{path}' not found");
        }

        byte[] bytes = File.ReadAllBytes(path);
        return bytes is [0xFE, 0xFF, ..] or [0xFF, 0xFE, ..] or [0, 0, 0xFE, 0xFF, ..]
            ? Encoding.UTF8.GetBytes(File.ReadAllText(path))
            : bytes;
    }
}
