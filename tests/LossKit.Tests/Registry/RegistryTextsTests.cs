using LossKit.Detection;
using LossKit.Layouts;
using LossKit.Tests.Infrastructure;
using LossKit.Registry;
using Xunit;

namespace LossKit.Tests.Registry;

/// <summary>
/// What the registry tells a user (<c>losskit list</c>, the README catalog) and how it reads a spec
/// (<see cref="LossRegistry.Parse"/>, which TorchSharp's <c>new Loss("spec")</c> and <c>losskit eval</c> use): every
/// parameter, layout input and entry is documented; the catalog is a table with its header; a spec's values are read by
/// the parameter's type and every malformed part is refused with a message naming it.
/// </summary>
public class RegistryTextsTests
{
    [Fact]
    public void EveryEntryParameterAndInput_IsDocumented()
    {
        foreach (LossEntry e in LossRegistry.Entries)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Formula), $"{e.Id}: formula");
            Assert.False(string.IsNullOrWhiteSpace(e.Reference), $"{e.Id}: reference");
            Assert.False(string.IsNullOrWhiteSpace(e.Layout.Description), $"{e.Id}: layout {e.Layout.Name}");
            foreach (LossParameter p in e.Parameters)
            {
                Assert.False(string.IsNullOrWhiteSpace(p.Doc), $"{e.Id}: parameter {p.Name} has no help text");
            }

            foreach (LayoutInput i in e.Layout.Inputs)
            {
                Assert.False(string.IsNullOrWhiteSpace(i.Shape), $"{e.Id}: input {i.Name} has no shape description");
            }
        }
    }

    [Fact]
    public void Catalog_IsATableWithItsHeader()
    {
        string md = LossRegistry.ToMarkdown();
        Assert.StartsWith("| Loss | Family | Layout | Formula | Reference equivalent | Parameters (defaults) |\n|", md, StringComparison.Ordinal);
        Assert.Equal(LossRegistry.Entries.Count + 2, md.TrimEnd('\n').Split('\n').Length);
    }

    [Fact]
    public void Parse_ReadsEachValueByItsParameterType()
    {
        LossArguments a = LossRegistry.Parse("smooth_l1  beta=0.5 reduction=sum");
        Assert.Equal("smooth_l1", a.Entry.Id);
        Assert.Equal(0.5, a.Double("beta"));
        Assert.Equal(Reduction.Sum, a.Reduction());

        Assert.Equal(Reduction.BatchMean, LossRegistry.Parse("kl_div reduction=batch_mean log_target=true").Reduction());
        Assert.True(LossRegistry.Parse("kl_div log_target=true").Bool("log_target"));
        Assert.Equal(-3, LossRegistry.Parse("cross_entropy ignore_index=-3").Int("ignore_index"));
        Assert.Equal(1e-9, LossRegistry.Parse("giou eps=1e-9").Double("eps"));
        Assert.Equal(IoULossMode.Square, LossRegistry.Parse("iou mode=square").Choice<IoULossMode>("mode"));
        Assert.False(LossRegistry.Parse("mse").IsSet("reduction"));
    }

    [Fact]
    public void Parse_RefusesEachMalformedPart_NamingIt()
    {
        LossChecks.ThrowsNaming("spec", () => LossRegistry.Parse(" "));
        LossChecks.ThrowsNaming("spec", () => LossRegistry.Parse("mse reduction"), "expected name=value in loss spec 'mse reduction', got 'reduction'");
        LossChecks.ThrowsNaming("spec", () => LossRegistry.Parse("mse =sum"), "expected name=value in loss spec 'mse =sum', got '=sum'");
        LossChecks.ThrowsNaming("spec", () => LossRegistry.Parse("mse beta=1"), "unknown parameter 'beta' for loss 'mse' (known: reduction, weight, avg_factor)");
        LossChecks.ThrowsNaming("spec", () => LossRegistry.Parse("cross_entropy weight=1"),
            "parameter 'weight' of loss 'cross_entropy' is a vector; set it with LossArguments.Set");
        Assert.Contains("unknown parameter 'beta' for loss 'mse' (known: reduction, weight, avg_factor)",
            Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Get("mse").Arguments().Set("beta", 1.0)).Message, StringComparison.Ordinal);
        Assert.Contains("unknown loss 'msee'", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Parse("msee")).Message, StringComparison.Ordinal);

        // Values that do not fit their type reach the parameter's own check, which names the parameter.
        Assert.Contains("reduction", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Parse("mse reduction=bogus")).Message, StringComparison.Ordinal);
        Assert.Contains("beta", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Parse("smooth_l1 beta=abc")).Message, StringComparison.Ordinal);
        Assert.Contains("log_target", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Parse("kl_div log_target=maybe")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ById_SetsEachGivenParameter()
    {
        var l = Assert.IsType<LossKit.Regression.SmoothL1Loss<double>>(LossRegistry.Create<double>("smooth_l1", ("beta", 0.5), ("reduction", Reduction.Sum)));
        Assert.Equal(0.5, l.Beta);
        Assert.Equal(Reduction.Sum, l.Reduction);
        Assert.Equal(1.0, Assert.IsType<LossKit.Regression.SmoothL1Loss<float>>(LossRegistry.Create<float>("smooth_l1")).Beta);
    }

    [Fact]
    public void Create_ChecksItsArguments()
    {
        LossEntry mse = LossRegistry.Get("mse");
        Assert.Throws<ArgumentNullException>("arguments", () => mse.Create<double>(null!));
        LossChecks.ThrowsNaming("arguments", () => mse.Create<float>(LossRegistry.Get("l1").Arguments()), "arguments are for loss 'l1', not 'mse'");
        Assert.IsType<LossKit.Regression.MseLoss<float>>(mse.Create<float>(mse.Arguments()));
        Assert.IsType<LossKit.Regression.MseLoss<double>>(mse.Create<double>(mse.Arguments()));
    }
}
