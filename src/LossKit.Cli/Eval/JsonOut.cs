using System.Globalization;
using System.Numerics;
using System.Text;

namespace LossKit.Cli.Eval;

/// <summary>
/// Writes eval results as JSON: objects indented, number arrays on one line, numbers in shortest round-trip form for the
/// dtype; NaN and ±∞ (which JSON cannot spell) as the strings "NaN", "Infinity", "-Infinity", which eval also reads.
/// </summary>
internal static class JsonOut
{
    public static string Write<T>(string loss, string dtype, EvalResult<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sb = new StringBuilder();
        sb.Append("{\n");
        sb.Append("  \"loss\": ").Append(Str(loss)).Append(",\n");
        sb.Append("  \"dtype\": ").Append(Str(dtype)).Append(",\n");
        sb.Append("  \"value\": ");
        if (result.Values is { } values)
        {
            Array(sb, values);
        }
        else
        {
            sb.Append(Number(result.Value));
        }

        sb.Append(",\n  \"gradients\": {");
        bool first = true;
        foreach ((string name, ResultArray<T> g) in result.Gradients)
        {
            sb.Append(first ? "\n" : ",\n").Append("    ").Append(Str(name)).Append(": ");
            Array(sb, g);
            first = false;
        }

        sb.Append("\n  }\n}\n");
        return sb.ToString();
    }

    public static string Number<T>(T v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (T.IsNaN(v))
        {
            return "\"NaN\"";
        }

        if (T.IsInfinity(v))
        {
            return T.IsNegative(v) ? "\"-Infinity\"" : "\"Infinity\"";
        }

        // "R" is the shortest string that round-trips in the value's own type (float or double).
        return v.ToString("R", CultureInfo.InvariantCulture);
    }

    private static void Array<T>(StringBuilder sb, ResultArray<T> a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        sb.Append("{\"shape\": [").Append(string.Join(", ", a.Shape)).Append("], \"data\": [");
        for (int i = 0; i < a.Data.Length; i++)
        {
            sb.Append(i == 0 ? "" : ", ").Append(Number(a.Data[i]));
        }

        sb.Append("]}");
    }

    private static string Str(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
