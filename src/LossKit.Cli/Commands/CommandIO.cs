using Spectre.Console;

namespace LossKit.Cli.Commands;

/// <summary>An error the user can fix (bad document, bad option value): printed as one "error: ..." line.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>The streams a command works with, and the error policy every command shares.</summary>
internal sealed class CommandIO(TextReader stdin, TextWriter stdout, TextWriter stderr)
{
    public TextReader In { get; } = stdin;

    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    /// <summary>
    /// Runs a command body: user errors (<see cref="CliException"/>, the library's <see cref="ArgumentException"/>s,
    /// I/O failures such as a full disk under stdout) become one "error: ..." line on stderr and exit code 1 — never a
    /// stack trace. <see cref="Program"/> runs every verb (and the help) inside one, so no verb can miss it.
    /// </summary>
    public int Guard(Func<int> body, string? context = null)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (Message(e is AggregateException a ? a.Flatten().InnerExceptions[0] : e, context) is { } message)
        {
            // A parallel loop (simulate, lab) wraps its workers' exceptions: the first one says what went wrong.
            Fail(message);
        }

        return 1;
    }

    /// <summary>The one-line message for an error the user can act on; null for a bug (which keeps its stack trace).</summary>
    private static string? Message(Exception e, string? context) => e switch
    {
        CliException => e.Message,
        ArgumentException a => (context is null ? "" : context + ": ") + CleanMessage(a),
        IOException or UnauthorizedAccessException or System.Security.SecurityException => e.Message,
        OutOfMemoryException => (context is null ? "" : context + ": ") + "not enough memory for this input",
        _ => null,
    };

    /// <summary>Writes one "error: ..." line; when stderr itself cannot be written there is nowhere left to say so.</summary>
    public void Fail(string message)
    {
        try
        {
            Error.WriteLine("error: " + message.ReplaceLineEndings(" ").Trim());
        }
        catch (IOException)
        {
            // stderr is gone too (closed pipe, full disk): the exit code still says it failed.
        }
    }

    /// <summary>The library's message on one line, without .NET's "(Parameter 'x')" / "Actual value was" suffixes.</summary>
    public static string CleanMessage(ArgumentException e)
    {
        string message = e.Message;
        int cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        return message.ReplaceLineEndings(" ").Trim();
    }

    /// <summary>A Spectre console over <paramref name="writer"/>; interactive (live progress) only on a real terminal.</summary>
    public static IAnsiConsole Console(TextWriter writer)
    {
        bool terminal = (ReferenceEquals(writer, System.Console.Error) && !System.Console.IsErrorRedirected)
            || (ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = 120;
        }

        return console;
    }

    /// <summary>Runs <paramref name="work"/> under a Spectre progress display on stderr (or silently when quiet).</summary>
    public void WithProgress(bool quiet, Action<ProgressReporter> work)
    {
        if (quiet)
        {
            work(new ProgressReporter(null));
            return;
        }

        IAnsiConsole console = Console(Error);
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx => work(new ProgressReporter(ctx)));
    }
}

/// <summary>Progress tasks that do nothing when there is no display (quiet runs).</summary>
internal sealed class ProgressReporter(ProgressContext? context)
{
    public ProgressTaskHandle Add(string description, double maxValue)
    {
        ProgressTask? task = context?.AddTask(Markup.Escape(description), maxValue: Math.Max(maxValue, 1e-9));
        return new ProgressTaskHandle(task);
    }
}

/// <summary>One progress bar (or nothing).</summary>
internal sealed class ProgressTaskHandle(ProgressTask? task)
{
    public void Increment(double amount = 1) => task?.Increment(amount);

    public void Complete()
    {
        if (task is not null)
        {
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
