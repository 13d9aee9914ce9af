using LossKit.Internal;

namespace LossKit.Tests.Internal;

/// <summary>
/// The forward-mode dual numbers behind the exact box kernels, at the points where PyTorch's derivative conventions
/// matter: ties of maximum and minimum, the closed ends of clamp, |x| at zero, pow with exponent 0, NaN inputs. The
/// expected values and derivatives are PyTorch 1.13's (autograd, float64).
/// </summary>
public class DualTests
{
    private static Dual<double> D(double v, double d0, double d1 = 0, double d2 = 0, double d3 = 0) => new(v, d0, d1, d2, d3);

    private static void Equal(Dual<double> expected, Dual<double> actual)
    {
        Assert.Equal(BitConverter.DoubleToInt64Bits(expected.V), BitConverter.DoubleToInt64Bits(actual.V));
        Assert.Equal([expected.D0, expected.D1, expected.D2, expected.D3], [actual.D0, actual.D1, actual.D2, actual.D3]);
    }

    /// <summary>torch.maximum / torch.minimum on a tie: the value, and half of each input's derivative.</summary>
    [Fact]
    public void MaxMin_Tie_SplitTheDerivativeInHalves()
    {
        Dual<double> a = D(2, 1, 4, -8, 16), b = D(2, 3, 2, 6, -4);
        Dual<double> mean = D(2, 2, 3, -1, 6);
        Equal(mean, Dual<double>.Max(a, b));
        Equal(mean, Dual<double>.Min(a, b));
        Equal(a, Dual<double>.Max(a, D(1, 9)));
        Equal(a, Dual<double>.Min(a, D(3, 9)));
    }

    /// <summary>torch.maximum(1, nan) and torch.minimum(1, nan) are NaN, whichever side the NaN is on.</summary>
    [Fact]
    public void MaxMin_NaNOnEitherSide_IsNaN()
    {
        Dual<double> one = D(1, 1), nan = D(double.NaN, 1);
        Assert.True(double.IsNaN(Dual<double>.Max(one, nan).V));
        Assert.True(double.IsNaN(Dual<double>.Max(nan, one).V));
        Assert.True(double.IsNaN(Dual<double>.Min(one, nan).V));
        Assert.True(double.IsNaN(Dual<double>.Min(nan, one).V));
    }

    /// <summary>torch.clamp passes the derivative at both closed ends (x = min, x = max) and none outside or for NaN.</summary>
    [Fact]
    public void Clamp_PassesTheDerivativeAtTheEnds()
    {
        Equal(D(1, 1), Dual<double>.Clamp(D(1, 1), 1, 3));
        Equal(D(3, 1), Dual<double>.Clamp(D(3, 1), 1, 3));
        Equal(D(2, 1), Dual<double>.Clamp(D(2, 1), 1, 3));
        Equal(D(1, 0), Dual<double>.Clamp(D(0.5, 1), 1, 3));
        Equal(D(3, 0), Dual<double>.Clamp(D(4, 1), 1, 3));
        Dual<double> nan = Dual<double>.Clamp(D(double.NaN, 1), 1, 3);
        Assert.True(double.IsNaN(nan.V));
        Assert.Equal(0.0, nan.D0);
        Equal(D(1, 1), Dual<double>.ClampMin(D(1, 1), 1));
        Equal(D(1, 0), Dual<double>.ClampMin(D(0.5, 1), 1));
    }

    /// <summary>torch.abs at 0 and at −0: the value +0, the derivative sign(0) = 0.</summary>
    [Fact]
    public void Abs_AtZero_HasZeroDerivative()
    {
        Equal(D(0, 0), Dual<double>.Abs(D(0, 1)));
        Equal(D(0, 0), Dual<double>.Abs(D(-0.0, 1)));
        Equal(D(2, -1), Dual<double>.Abs(D(-2, 1)));
        Equal(D(2, 1), Dual<double>.Abs(D(2, 1)));
    }

    /// <summary>torch.sqrt(4): 2 with derivative 1/4; torch.pow(x, 0): 1 with derivative 0, also at x = 0.</summary>
    [Fact]
    public void SqrtAndPow()
    {
        Equal(D(2, 0.25, 0.5), Dual<double>.Sqrt(D(4, 1, 2)));
        Equal(D(1, 0), Dual<double>.Pow(D(0, 1), 0));
        Equal(D(1, 0), Dual<double>.Pow(D(2, 1), 0));
        Equal(D(0, 0), Dual<double>.Pow(D(0, 1), 2));
    }
}
