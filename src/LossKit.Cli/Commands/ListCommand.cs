using System.CommandLine;
using LossKit.Registry;
using Spectre.Console;

namespace LossKit.Cli.Commands;

/// <summary><c>losskit list</c>: the catalog (name, family, formula, PyTorch equivalent, parameters with defaults).</summary>
internal static class ListCommand
{
    public static Command Create(CommandIO io)
    {
        var markdown = new Option<bool>("--markdown") { Description = "Print the catalog as the README's Markdown table." };
        var family = new Option<string?>("--family") { Description = "Only this family (Classification, Regression, ...)." };
        var command = new Command("list", "List every loss with its formula, PyTorch equivalent and defaults.") { markdown, family };
        command.SetAction(parse => io.Guard(() =>
        {
            string? only = parse.GetValue(family);
            var entries = LossRegistry.Entries.Where(e => only is null || e.Family.ToString().Equals(only, StringComparison.OrdinalIgnoreCase)).ToList();
            if (parse.GetValue(markdown))
            {
                io.Out.Write(LossRegistry.ToMarkdown());
                return 0;
            }

            IAnsiConsole console = CommandIO.Console(io.Out);
            console.Profile.Width = Math.Max(console.Profile.Width, 200);
            var table = new Table().Border(TableBorder.Rounded).Title($"LossKit catalog ({entries.Count} losses)");
            table.AddColumns("Name", "Family", "Layout", "Formula", "Reference equivalent", "Parameters (defaults)");
            foreach (LossEntry e in entries)
            {
                table.AddRow(Markup.Escape(e.Id), e.Family.ToString(), e.Layout.Name, Markup.Escape(e.Formula), Markup.Escape(e.Reference), Markup.Escape(e.DefaultsText));
            }

            console.Write(table);
            return 0;
        }));
        return command;
    }
}
