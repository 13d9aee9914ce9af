using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>The box losses' constructor messages (run H of docs/TESTING.md found only the parameter names checked).</summary>
public class BoxLossMessageTests
{
    [Fact]
    public void UndefinedModeAndConvention_SayWhatIsAllowed()
    {
        var mode = Assert.Throws<ArgumentOutOfRangeException>(() => new IoULoss<double>(mode: (IoULossMode)9));
        Assert.Equal("mode", mode.ParamName);
        Assert.Contains("mode must be Linear, Square or Log", mode.Message);

        var convention = Assert.Throws<ArgumentOutOfRangeException>(() => new GIoULoss<double>(convention: (BoxLossConvention)9));
        Assert.Equal("convention", convention.ParamName);
        Assert.Contains("convention must be Torchvision, MMDetection or Ultralytics", convention.Message);
    }
}
