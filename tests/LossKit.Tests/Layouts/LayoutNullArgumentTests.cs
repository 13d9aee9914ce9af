using LossKit.Layouts;
using LossKit.Registry;

namespace LossKit.Tests.Layouts;

/// <summary><see cref="LossLayout.Evaluate{T}"/> names a null loss, arguments or input dictionary, for every layout.</summary>
public class LayoutNullArgumentTests
{
    public static TheoryData<string> Ids() => [.. LossRegistry.Entries.Select(e => e.Id)];

    [Theory]
    [MemberData(nameof(Ids))]
    public void Evaluate_NullArguments_AreNamed(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        LossArguments args = entry.Arguments();
        object loss = entry.Create<double>(args);
        var inputs = new Dictionary<string, LayoutTensor<double>>();
        Assert.Equal("loss", Assert.Throws<ArgumentNullException>(() => entry.Layout.Evaluate(null!, args, inputs)).ParamName);
        Assert.Equal("arguments", Assert.Throws<ArgumentNullException>(() => entry.Layout.Evaluate(loss, null!, inputs)).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentNullException>(() => entry.Layout.Evaluate<double>(loss, args, null!)).ParamName);
    }
}
