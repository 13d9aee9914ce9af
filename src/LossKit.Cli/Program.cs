using System.CommandLine;
using LossKit.Cli.Commands;

namespace LossKit.Cli;

/// <summary>The <c>losskit</c> tool: thin commands over the library's public API.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args) => Run(args, Console.In, Console.Out, Console.Error);

    /// <summary>Runs the tool in-process (tests use this) with the given writers; <c>eval -</c> reads the console's stdin.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, Console.In, stdout, stderr);

    /// <summary>Runs the tool in-process with the given reader (for <c>eval -</c>) and writers.</summary>
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var io = new CommandIO(stdin, stdout, stderr);
        var root = new RootCommand("losskit: loss functions with exact gradients — catalog, evaluation, plots, the DIoU simulation and the loss lab.");
        root.Subcommands.Add(ListCommand.Create(io));
        root.Subcommands.Add(EvalCommand.Create(io));
        root.Subcommands.Add(PlotCommand.Create(io));
        root.Subcommands.Add(SimulateCommand.Create(io));
        root.Subcommands.Add(LabCommand.Create(io));
        root.Subcommands.Add(BenchCommand.Create(io));
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line, no help dump: the errors and where to look.
            stderr.WriteLine("error: " + string.Join("; ", parse.Errors.Select(e => e.Message.ReplaceLineEndings(" "))) + " (see 'losskit --help')");
            return 2;
        }

        // LOSSKIT_SIMD_TIER is read once, at startup: a value that is not a tier is the user's to fix, so it is one error
        // line before any verb runs (the library would throw InvalidOperationException at the first kernel).
        try
        {
            _ = LossKitSettings.SimdDescription;
        }
        catch (InvalidOperationException e)
        {
            io.Fail(e.Message);
            return 1;
        }

        // Every verb, and the help, under one error guard: a failure writing the output (a full disk, a closed pipe) is
        // one error line like any other, whichever verb hit it.
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        return io.Guard(() => parse.Invoke(config));
    }
}
