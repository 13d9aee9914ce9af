using Xunit;
using static TorchSharp.torch;

namespace LossKit.TorchSharp.Tests;

/// <summary>Shared checks: values and autograd gradients of a LossKit form against TorchSharp's own.</summary>
internal static class Harness
{
    /// <summary>Relative-or-absolute closeness, asserted with the worst element named.</summary>
    public static void Close(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using Tensor e = expected.detach().to_type(ScalarType.Float64), a = actual.detach().to_type(ScalarType.Float64);
        using Tensor err = (e - a).abs() / (e.abs() + 1.0);
        double worst = err.numel() == 0 ? 0 : err.max().item<double>();
        Assert.True(worst <= tol, $"{what}: worst relative error {worst:E3} > {tol:E1}");
    }

    /// <summary>
    /// Runs <paramref name="mine"/> and <paramref name="theirs"/> on fresh leaf copies of <paramref name="inputs"/> (those at
    /// <paramref name="differentiable"/> require grad), backward with <paramref name="upstream"/> (or .backward() for a scalar),
    /// and compares values and gradients.
    /// </summary>
    public static void Compare(Func<Tensor[], Tensor> mine, Func<Tensor[], Tensor> theirs, Tensor[] inputs, int[] differentiable, double tol, string what)
    {
        Tensor[] a = Leaves(inputs, differentiable), b = Leaves(inputs, differentiable);
        Tensor va = mine(a), vb = theirs(b);
        Close(vb, va, tol, what + " value");
        Tensor? up = va.dim() == 0 ? null : rand_like(va) + 0.5;
        if (up is null)
        {
            va.backward();
            vb.backward();
        }
        else
        {
            va.backward([up]);
            vb.backward([up]);
        }

        foreach (int i in differentiable)
        {
            Assert.NotNull(a[i].grad);
            Close(b[i].grad!, a[i].grad!, tol, $"{what} gradient {i}");
        }
    }

    public static Tensor[] Leaves(Tensor[] inputs, int[] differentiable) =>
        [.. inputs.Select((t, i) => differentiable.Contains(i) ? t.detach().clone().requires_grad_() : t.detach().clone())];
}
