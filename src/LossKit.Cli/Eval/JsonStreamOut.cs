using System.Numerics;

namespace LossKit.Cli.Eval;

/// <summary>
/// Writes eval results as JSON (objects indented, number arrays on one line, numbers in shortest round-trip form for
/// the dtype, and NaN and ±∞, which JSON cannot spell, as the strings "NaN", "Infinity", "-Infinity", which eval also
/// reads), straight to a <see cref="TextWriter"/> through a small buffer: a gradient of millions of elements never
/// exists as one string.
/// </summary>
internal sealed class JsonStreamOut
{
    private readonly TextWriter writer;

    private readonly char[] buffer = new char[1 << 15];

    private int used;

    private JsonStreamOut(TextWriter writer) => this.writer = writer;

    public static void Write<T>(TextWriter writer, string loss, string dtype, EvalResult<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var o = new JsonStreamOut(writer);
        o.Append("{\n  \"loss\": ").Append(Str(loss)).Append(",\n  \"dtype\": ").Append(Str(dtype)).Append(",\n  \"value\": ");
        if (result.Values is { } values)
        {
            o.Array(values);
        }
        else
        {
            o.Number(result.Value);
        }

        o.Append(",\n  \"gradients\": {");
        bool first = true;
        foreach ((string name, ResultArray<T> g) in result.Gradients)
        {
            o.Append(first ? "\n" : ",\n").Append("    ").Append(Str(name)).Append(": ");
            o.Array(g);
            first = false;
        }

        o.Append("\n  }\n}\n");
        o.Flush();
    }

    private void Array<T>(ResultArray<T> a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Append("{\"shape\": [").Append(string.Join(", ", a.Shape)).Append("], \"data\": [");
        for (int i = 0; i < a.Data.Length; i++)
        {
            if (i > 0)
            {
                Append(", ");
            }

            Number(a.Data[i]);
        }

        Append("]}");
    }

    /// <summary>A number in shortest round-trip form, formatted into the buffer; NaN and ±∞ as strings.</summary>
    private void Number<T>(T v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!T.IsFinite(v))
        {
            Append(T.IsNaN(v) ? "\"NaN\"" : T.IsNegative(v) ? "\"-Infinity\"" : "\"Infinity\"");
            return;
        }

        // "R" is the shortest string that round-trips in the value's own type; 32 chars hold any double's.
        if (buffer.Length - used < 32)
        {
            Flush();
        }

        bool ok = v.TryFormat(buffer.AsSpan(used), out int written, "R", System.Globalization.CultureInfo.InvariantCulture);
        System.Diagnostics.Debug.Assert(ok, "a double formats in 32 chars");
        used += written;
    }

    private JsonStreamOut Append(string s)
    {
        if (s.Length > buffer.Length - used)
        {
            Flush();
            if (s.Length > buffer.Length)
            {
                writer.Write(s);
                return this;
            }
        }

        s.CopyTo(buffer.AsSpan(used));
        used += s.Length;
        return this;
    }

    private void Flush()
    {
        writer.Write(buffer, 0, used);
        used = 0;
    }

    private static string Str(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
