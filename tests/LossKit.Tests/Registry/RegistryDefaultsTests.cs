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

    [Fact]
    public void DocumentedRanges_AreTheConstructorsRanges()
    {
        // Each real hyper-parameter's documented range (losskit list, RangeText; the fuzz suite samples inside it) and
        // the loss's constructor agree at the ends, for every entry at otherwise default arguments: a closed end is
        // accepted; an open end is refused, except where the reference library accepts it and the result may then be
        // non-finite (the box losses' eps = 0, as torchvision's: the documented range is where results stay finite).
        int checkedEnds = 0;
        var wrong = new List<string>();
        foreach (LossEntry entry in LossRegistry.Entries)
        {
            foreach (LossParameter p in entry.Parameters.Where(p => p.Type == ParameterType.Double && p.Role == ParameterRole.Construction))
            {
                foreach ((double? end, bool open) in new[] { (p.Min, p.MinExclusive), (p.Max, p.MaxExclusive) })
                {
                    if (end is not double value)
                    {
                        continue;
                    }

                    LossArguments args = entry.Arguments().Set(p.Name, value);
                    Exception? e = Record.Exception(() => entry.Create<double>(args));
                    bool referenceAcceptsIt = open && p.Name == "eps" && entry.Family == LossFamily.Detection && value == 0;
                    if (open != e is ArgumentException && !(referenceAcceptsIt && e is null))
                    {
                        wrong.Add($"{entry.Id}.{p.Name} = {value} ({(open ? "open" : "closed")} end in {p.RangeText}): {(e is null ? "accepted" : e.GetType().Name + ": " + e.Message)}");
                    }

                    // Just past the end the constructor refuses too, so the documented range is not wider than the real one.
                    double past = p.Min == value && !open ? Math.BitDecrement(value) : p.Max == value && !open ? Math.BitIncrement(value) : double.NaN;
                    if (!double.IsNaN(past) && Record.Exception(() => entry.Create<double>(entry.Arguments().Set(p.Name, past))) is not ArgumentException)
                    {
                        wrong.Add($"{entry.Id}.{p.Name} = {past:R} (just past the closed end {value} of {p.RangeText}): accepted");
                    }

                    checkedEnds++;
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.True(checkedEnds > 30, $"{checkedEnds} range ends");
    }
}
