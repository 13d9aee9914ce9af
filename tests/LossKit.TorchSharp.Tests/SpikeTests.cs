using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace LossKit.TorchSharp.Tests;

public class SpikeTests
{
    [Fact]
    public void Loads()
    {
        var x = torch.ones(3, 3);
        Assert.Equal(9f, x.sum().item<float>());
        Assert.StartsWith("2.10", torch.__version__);
    }
}
