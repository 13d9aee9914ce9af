using LossKit.Detection;
using LossKit.Registry;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Registry;

/// <summary>
/// A registry parameter checks the values a spec gives it (type, whole numbers, choices) and shows its default and range
/// the way the README and <c>losskit list</c> print them (run L: these checks and texts could change with the registry
/// tests passing).
/// </summary>
public class LossParameterTests
{
    [Fact]
    public void Int_TakesWholeNumbersOnly()
    {
        LossParameter p = LossParameter.Int("ignore_index", -100, "ignored target");
        Assert.Equal(7, Assert.IsType<int>(p.Check(7.0)));
        Assert.Equal(-3, Assert.IsType<int>(p.Check(-3L)));
        Assert.Equal(int.MaxValue - 1, p.Check((double)(int.MaxValue - 1)));
        Assert.Equal(-(int.MaxValue - 1), p.Check(-(double)(int.MaxValue - 1)));
        LossChecks.ThrowsNaming("ignore_index", () => p.Check(2.5), "got 2.5");
        LossChecks.ThrowsNaming("ignore_index", () => p.Check(3e9), "must be an integer of magnitude below 2147483647 (LossKit's indices are int32), got 3000000000");
        LossChecks.ThrowsNaming("ignore_index", () => p.Check(-3e9), "must be an integer");
        // ±int.MaxValue are where int64 class indices past the int32 range saturate: never an ignore_index.
        LossChecks.ThrowsNaming("ignore_index", () => p.Check((double)int.MaxValue), "got 2147483647");
        LossChecks.ThrowsNaming("ignore_index", () => p.Check((double)int.MinValue), "got -2147483648");
        LossChecks.ThrowsNaming("ignore_index", () => p.Check("7"), "must be a number, got 7");
    }

    [Fact]
    public void Double_TakesAnyNumber()
    {
        LossParameter p = LossParameter.Double("beta", 1.0 / 9, "Smooth L1 beta", min: 0);
        Assert.Equal(1.5, Assert.IsType<double>(p.Check(1.5f)));
        Assert.Equal(2.0, Assert.IsType<double>(p.Check(2)));
        Assert.Equal(2.5, p.Check(2.5));
        LossChecks.ThrowsNaming("beta", () => p.Check(true), "must be a number, got True");
    }

    [Fact]
    public void Bool_Vector_Choice_Reduction_CheckTheirValues()
    {
        LossParameter b = LossParameter.Bool("log_input", true, "input is log-probabilities");
        Assert.Equal(false, b.Check(false));
        LossChecks.ThrowsNaming("log_input", () => b.Check(1.0), "must be true or false, got 1");

        LossParameter v = LossParameter.Vector("pos_weight", "per-class positive weight");
        double[] w = [1, 2];
        Assert.Same(w, v.Check(w));
        LossChecks.ThrowsNaming("pos_weight", () => v.Check(2.0), "must be a vector of numbers");

        LossParameter c = LossParameter.Choice("box_loss", BoxLossKind.SmoothL1, "box loss", BoxLossKind.L1, BoxLossKind.SmoothL1, BoxLossKind.GIoU);
        Assert.Equal(["l1", "smooth_l1", "giou"], c.Choices);
        Assert.Equal("smooth_l1", c.Check("SmoothL1"));
        Assert.Equal("giou", c.Check(BoxLossKind.GIoU));
        Assert.Equal("smooth_l1", c.FindChoice("SMOOTH_L1"));
        Assert.Null(c.FindChoice("ciou"));
        LossChecks.Throws<ArgumentOutOfRangeException>("box_loss", () => c.Check("ciou"));
        Assert.Contains("one of l1, smooth_l1, giou, got ciou", Assert.ThrowsAny<ArgumentException>(() => c.Check("ciou")).Message);
        Assert.Equal(Enum.GetValues<BoxLossKind>().Length, LossParameter.Choice("box_loss", BoxLossKind.L1, "box loss").Choices.Count);

        LossParameter r = LossParameter.Reduction(Reduction.Mean);
        Assert.Equal(["none", "mean", "sum"], r.Choices);
        Assert.Equal(Reduction.Sum, r.Check(Reduction.Sum));
        LossChecks.Throws<ArgumentOutOfRangeException>("reduction", () => r.Check(Reduction.BatchMean));
        Assert.Contains("one of none, mean, sum, got BatchMean", Assert.ThrowsAny<ArgumentException>(() => r.Check(Reduction.BatchMean)).Message);
        LossParameter kl = LossParameter.Reduction(Reduction.Mean, allowBatchMean: true);
        Assert.Equal(["none", "mean", "sum", "batchmean"], kl.Choices);
        Assert.Equal(Reduction.BatchMean, kl.Check(Reduction.BatchMean));
    }

    [Fact]
    public void DefaultText_And_RangeText_AreWhatTheCatalogShows()
    {
        Assert.Equal("0.1111111111111111", LossParameter.Double("beta", 1.0 / 9, "").DefaultText);
        Assert.Equal("-100", LossParameter.Int("ignore_index", -100, "").DefaultText);
        Assert.Equal("true", LossParameter.Bool("log_input", true, "").DefaultText);
        Assert.Equal("false", LossParameter.Bool("full", false, "").DefaultText);
        Assert.Equal("none", LossParameter.Vector("weight", "").DefaultText);
        Assert.Equal("Mean", LossParameter.Reduction(Reduction.Mean).DefaultText);
        Assert.Equal("smooth_l1", LossParameter.Choice("box_loss", BoxLossKind.SmoothL1, "").DefaultText);

        Assert.Equal("[-inf, inf]", LossParameter.Double("x", 0, "").RangeText);
        Assert.Equal("(0, inf]", LossParameter.Double("eps", 1e-7, "", min: 0, minExclusive: true).RangeText);
        Assert.Equal("[0, 1)", LossParameter.Double("p", 0.5, "", min: 0, max: 1, maxExclusive: true).RangeText);
        Assert.Equal("[-1, 0.5]", LossParameter.Double("m", 0, "", min: -1, max: 0.5).RangeText);
        Assert.Equal("[0, inf]", LossParameter.AvgFactor().RangeText);
        Assert.Equal(ParameterRole.Call, LossParameter.AvgFactor().Role);
        Assert.Equal(ParameterRole.Call, LossParameter.CallWeight().Role);
        Assert.Equal(ParameterRole.Construction, LossParameter.Bool("b", true, "").Role);
    }

    [Fact]
    public void ConstructorErrors_NameTheSchemasParameter()
    {
        // The constructor names its C# parameter (labelSmoothing, ignoreIndex...); through the registry the error names
        // the parameter its callers set.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create<double>("cross_entropy", ("label_smoothing", 1.5)));
        Assert.Equal("label_smoothing", e.ParamName);
        Assert.Contains("1.5", e.Message);
        Assert.DoesNotContain("labelSmoothing", e.Message);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(e.Message, "Actual value was"));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(e.Message, "Parameter 'label_smoothing'"));
        var f = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create<float>("cross_entropy", ("label_smoothing", -0.5)));
        Assert.Equal("label_smoothing", f.ParamName);
    }

    [Fact]
    public void Parse_TakesReductionsByNameOnly_AndEachParameterOnce()
    {
        Assert.Equal(Reduction.Sum, LossRegistry.Parse("smooth_l1 reduction=sum").Reduction());
        Assert.Equal(Reduction.Mean, LossRegistry.Parse("smooth_l1\treduction=Mean  beta=0.5").Reduction());
        foreach (string bad in new[] { "avg", "1", "2", "mean,sum" })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Parse($"smooth_l1 reduction={bad}"));
            Assert.Equal("reduction", e.ParamName);
            Assert.Contains($"got '{bad}'", e.Message);
        }

        var twice = Assert.Throws<ArgumentException>(() => LossRegistry.Parse("smooth_l1 beta=1 beta=2"));
        Assert.Equal("spec", twice.ParamName);
        Assert.Contains("'beta' is given twice", twice.Message);
    }
}
