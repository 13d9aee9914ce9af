using LossKit.Cli;
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
        foreach (LossInfo e in Catalog.Entries)
        {
            Assert.Contains(e.Name, text);
        }
    }

    [Fact]
    public void ReadmeCatalogTable_MatchesCatalog()
    {
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md")).ReplaceLineEndings("\n");
        Assert.Contains(Catalog.ToMarkdown(), readme);
    }

    [Fact]
    public void Catalog_TypesExist_AndNamesAreUnique()
    {
        Assert.Equal(Catalog.Entries.Count, Catalog.Entries.Select(e => e.Name).Distinct().Count());
        var assembly = typeof(Catalog).Assembly;
        foreach (LossInfo e in Catalog.Entries)
        {
            string typeName = "LossKit." + e.Type.Replace("<T>", "`1", StringComparison.Ordinal);
            Assert.True(assembly.GetType(typeName) is not null, $"catalog type {e.Type} not found");
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
