using LossKit.Registry;

namespace LossKit.Tests.Registry;

/// <summary>The pre-registry <c>Catalog</c> stays a faithful read-only projection of the registry for old callers.</summary>
#pragma warning disable CS0618 // the obsolete catalog is what is tested
public class ObsoleteCatalogTests
{
    [Fact]
    public void Catalog_ProjectsEveryRegistryEntry()
    {
        Assert.Equal(LossRegistry.Entries.Count, Catalog.Entries.Count);
        foreach ((LossEntry e, LossInfo info) in LossRegistry.Entries.Zip(Catalog.Entries))
        {
            Assert.Equal(new LossInfo(e.Id, e.TypeName, e.Family.ToString(), e.Formula, e.Reference, e.DefaultsText), info);
            Assert.False(string.IsNullOrWhiteSpace(info.Formula), info.Name);
        }

        Assert.Equal(LossRegistry.ToMarkdown(), Catalog.ToMarkdown());
        Assert.Contains("| `cross_entropy` (`Classification.CrossEntropyLoss<T>`) | Classification |", Catalog.ToMarkdown());
    }
}
#pragma warning restore CS0618
