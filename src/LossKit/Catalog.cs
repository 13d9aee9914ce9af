using LossKit.Registry;

namespace LossKit;

/// <summary>One loss in the catalog: the data behind <c>losskit list</c> and the README table.</summary>
/// <param name="Name">Identifier used by the CLI (<c>losskit eval</c>, <c>losskit list</c>).</param>
/// <param name="Type">The LossKit type.</param>
/// <param name="Family">Classification, Regression, Detection, MetricLearning or Criteria.</param>
/// <param name="Formula">The per-element (or per-row) formula in plain math.</param>
/// <param name="PyTorch">The PyTorch / torchvision / mmdetection equivalent.</param>
/// <param name="Parameters">Hyper-parameters with their defaults.</param>
[Obsolete("Use LossKit.Registry.LossEntry.")]
public sealed record LossInfo(string Name, string Type, string Family, string Formula, string PyTorch, string Parameters);

/// <summary>The loss catalog as it was before the registry: a read-only projection of <see cref="LossRegistry"/>.</summary>
[Obsolete("Use LossKit.Registry.LossRegistry (typed entries with layouts, parameter schemas and factories).")]
public static class Catalog
{
    /// <summary>All catalog entries, grouped by family.</summary>
    public static IReadOnlyList<LossInfo> Entries { get; } =
        [.. LossRegistry.Entries.Select(e => new LossInfo(e.Id, e.TypeName, e.Family.ToString(), e.Formula, e.Reference, e.DefaultsText))];

    /// <summary>The catalog as a Markdown table.</summary>
    public static string ToMarkdown() => LossRegistry.ToMarkdown();
}
