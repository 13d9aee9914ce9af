using System.Text;

namespace LossKit.Registry;

public static partial class LossRegistry
{
    /// <summary>The catalog as a Markdown table (what the README shows between its catalog markers).</summary>
    public static string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("| Loss | Family | Layout | Formula | Reference equivalent | Parameters (defaults) |\n");
        sb.Append("|---|---|---|---|---|---|\n");
        foreach (LossEntry e in Entries)
        {
            sb.Append($"| `{e.Id}` (`{e.TypeName}`) | {e.Family} | {e.Layout.Name} | {Escape(e.Formula)} | {Escape(e.Reference)} | {Escape(e.DefaultsText)} |\n");
        }

        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
