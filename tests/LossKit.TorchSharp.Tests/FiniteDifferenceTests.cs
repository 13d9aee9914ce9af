using LossKit.Registry;
using Xunit;
using static TorchSharp.torch;

namespace LossKit.TorchSharp.Tests;

/// <summary>
/// Every registry entry through the generic module (<c>new Loss(arguments)</c>): the autograd gradient against central
/// finite differences of the bridge's own value in float64, at a few sampled elements of each differentiable input.
/// Entries with a TorchSharp equivalent are also checked against it in <see cref="TorchReferenceTests"/>.
/// </summary>
public class FiniteDifferenceTests
{
    // CIoU's gradient holds α constant (torchvision's and the paper's convention), so it is not the derivative of the
    // value; TorchReferenceTests checks it against torchvision's autograd instead.
    public static TheoryData<string> Ids() => Inputs.Ids(e => e.Id != "ciou");

    [Theory]
    [MemberData(nameof(Ids))]
    public void GradientMatchesFiniteDifferences(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        (LossArguments args, Tensor[] inputs, bool perImage) = Inputs.For(entry, ScalarType.Float64, seed: 42);
        var loss = new Loss(args);
        int[] diff = [.. entry.Layout.Inputs.Select((s, i) => (s, i)).Where(p => p.s.Differentiable).Select(p => p.i)];
        Tensor[] leaves = Harness.Leaves(inputs, diff);
        Tensor value = loss.forward(leaves);
        Tensor scalar = value.dim() == 0 ? value : (value * Inputs.Weights(value)).sum();
        scalar.backward();
        var gen = new Random(7);
        foreach (int i in diff)
        {
            Tensor g = leaves[i].grad!;
            Assert.NotNull(g);
            Tensor x = inputs[i].detach().clone().contiguous();
            long n = x.numel();
            for (int k = 0; k < Math.Min(n, 6); k++)
            {
                long at = gen.NextInt64(n);
                double h = 1e-6;
                Tensor flat = x.view(-1);
                double orig = flat[at].item<double>();
                flat[at] = tensor(orig + h);
                double up = Eval(loss, inputs, i, x);
                flat[at] = tensor(orig - h);
                double down = Eval(loss, inputs, i, x);
                flat[at] = tensor(orig);
                double fd = (up - down) / (2 * h), ad = g.view(-1)[at].item<double>();
                Assert.True(Math.Abs(fd - ad) <= 1e-5 * (1 + Math.Abs(fd)), $"{id}: input {entry.Layout.Inputs[i].Name}[{at}] autograd {ad} vs finite difference {fd}");
            }
        }

        _ = perImage;
    }

    private static double Eval(Loss loss, Tensor[] inputs, int i, Tensor replaced)
    {
        using var _ = no_grad();
        Tensor[] copy = [.. inputs];
        copy[i] = replaced;
        Tensor v = loss.forward(copy);
        return (v.dim() == 0 ? v : (v * Inputs.Weights(v)).sum()).item<double>();
    }
}
