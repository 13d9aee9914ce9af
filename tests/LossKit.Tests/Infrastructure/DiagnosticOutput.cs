using Xunit.Abstractions;
using Xunit.Sdk;

namespace LossKit.Tests.Infrastructure;

/// <summary>
/// A class fixture that forwards text to xunit's diagnostic message sink. With <c>"diagnosticMessages": true</c> in
/// xunit.runner.json the runner prints these lines in the <c>dotnet test</c> console output even for passing tests
/// (ITestOutputHelper text is shown only for failures or at detailed verbosity).
/// </summary>
public sealed class DiagnosticOutput(IMessageSink sink)
{
    public void Write(string text)
    {
        foreach (string line in text.Replace("\r", "", StringComparison.Ordinal).Split('\n'))
        {
            sink.OnMessage(new DiagnosticMessage(line.Length == 0 ? " " : line));
        }
    }
}
