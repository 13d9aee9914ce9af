using LossKit.Registry;

namespace LossKit.Tests.Registry;

/// <summary>
/// Defaults of the registry's schema that change results (run L: `ignore_index` −100 → +100 survived): PyTorch's
/// defaults, and the loss the registry builds from them ignores what PyTorch ignores.
/// </summary>
public class RegistryDefaultsTests
{
    [Fact]
    public void IgnoreIndex_DefaultsToPyTorchs()
    {
        LossEntry[] withIgnore = [.. LossRegistry.Entries.Where(e => e.Parameter("ignore_index") is not null)];
        Assert.True(withIgnore.Length >= 2, string.Join(", ", withIgnore.Select(e => e.Id)));
        foreach (LossEntry entry in withIgnore)
        {
            Assert.Equal(-100, entry.Parameter("ignore_index")!.Default);
            Assert.Equal(-100, entry.Arguments().Int("ignore_index"));

            // The built loss gives a row labelled −100 no loss (Sum: the Mean denominators differ, PyTorch's CE and NLL
            // count the kept rows, mmcv's softmax focal all rows).
            var loss = (ClassIndexLoss<double>)entry.Create<double>(entry.Arguments().Set("reduction", Reduction.Sum));
            double[] x = [0.3, -1.2, 2.0, 0.5, 0.1, -0.4];
            double both = loss.Forward(x, [1, -100], 2, 3);
            double first = loss.Forward(x[..3], [1], 1, 3);
            Assert.True(Math.Abs(first - both) < 1e-15, $"{entry.Id}: {both} vs {first}");
        }
    }
}
