using System.CommandLine;
using LossKit.Cli.Commands;

namespace LossKit.Cli;

/// <summary>The <c>losskit</c> tool: thin commands over the library's public API.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the tool in-process (tests use this) with the given writers.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("losskit: loss functions with exact gradients — catalog and tools.");
        root.Subcommands.Add(ListCommand.Create(stdout));
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return root.Parse(args).Invoke(config);
    }
}
