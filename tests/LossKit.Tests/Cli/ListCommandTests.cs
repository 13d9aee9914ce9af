using LossKit.Cli;
using LossKit.Registry;
using Xunit;

namespace LossKit.Tests.Cli;

public class ListCommandTests
{
    [Fact]
    public void List_PrintsEveryCatalogEntry()
    {
        var stdout = new StringWriter();
        int code = Program.Run(["list"], stdout, new StringWriter());
        Assert.Equal(0, code);
        string text = stdout.ToString();
        foreach (LossEntry e in LossRegistry.Entries)
        {
            Assert.Contains(e.Id, text);
        }
    }

    [Fact]
    public void ReadmeCatalogTable_MatchesCatalog()
    {
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md")).ReplaceLineEndings("\n");
        Assert.Contains(LossRegistry.ToMarkdown(), readme);
    }

    [Fact]
    public void Registry_IdsAreUnique_AndTypesArePublicLossKitTypes()
    {
        Assert.Equal(LossRegistry.Entries.Count, LossRegistry.Entries.Select(e => e.Id).Distinct().Count());
        foreach (LossEntry e in LossRegistry.Entries)
        {
            Assert.True(e.ImplementationType.IsPublic, $"{e.Id}: {e.ImplementationType} is not public");
            Assert.Equal(typeof(LossRegistry).Assembly, e.ImplementationType.Assembly);
            Assert.StartsWith($"{e.ImplementationType.Namespace!["LossKit.".Length..]}.", e.TypeName);
        }
    }

    [Fact]
    public void UnknownCommand_ReturnsNonZero()
    {
        var stderr = new StringWriter();
        int code = Program.Run(["no-such-command"], new StringWriter(), stderr);
        Assert.NotEqual(0, code);
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LossKit.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (LossKit.slnx) not found");
    }
}
