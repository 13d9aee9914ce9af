using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LossKit.TorchSharp.Tests;

/// <summary>A small TorchSharp model trained twice from the same seed, with a LossKit loss and with TorchSharp's own: the same loss curve.</summary>
public class TrainingTests
{
    private static List<double> Train(bool lossKit)
    {
        manual_seed(1234);
        var model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5));
        var opt = torch.optim.SGD(model.parameters(), 0.5);
        Tensor x = randn(256, 8), y = (x[.., 0] * 2 + x[.., 1]).clamp(-2, 2).add(2).round().to_type(ScalarType.Int64);
        var curve = new List<double>();
        for (int step = 0; step < 80; step++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            Tensor logits = model.forward(x);
            Tensor loss = lossKit ? losskit.functional.cross_entropy(logits, y, label_smoothing: 0.05) : F.cross_entropy(logits, y, label_smoothing: 0.05);
            loss.backward();
            opt.step();
            curve.Add(loss.item<float>());
        }

        return curve;
    }

    [Fact]
    public void SameLossCurveAsTorchSharp()
    {
        List<double> mine = Train(true), theirs = Train(false);
        Assert.True(theirs[^1] < 0.75 * theirs[0], "the model learns");
        for (int i = 0; i < mine.Count; i++)
        {
            Assert.True(Math.Abs(mine[i] - theirs[i]) <= 1e-4 * (1 + theirs[i]), $"step {i}: LossKit {mine[i]} vs TorchSharp {theirs[i]}");
        }
    }
}
