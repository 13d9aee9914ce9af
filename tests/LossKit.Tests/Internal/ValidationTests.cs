using System.Numerics.Tensors;
using LossKit.Internal;

namespace LossKit.Tests.Internal;

/// <summary>
/// The shared validation helpers on their own (mutation run J): data checks at the interval's ends and at every
/// position of a vector block, the counts they return, the messages the README promises (parameter, index, value), the
/// tensor-span checks and the size products at int's bound.
/// </summary>
public class ValidationTests
{
    // Lengths around the vector widths (4 to 16 lanes), so a bad value sits in a vector block, a tail, or both.
    private static readonly int[] Lengths = [1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 65];

    [Fact]
    public void UnitInterval_TakesBothEnds_AndNamesTheFirstValueOutside()
    {
        DataChecks.UnitInterval<double>([], "target");
        DataChecks.UnitInterval<double>([0.0, 1.0, 0.5, -0.0], "target");
        DataChecks.UnitInterval<float>([1f, 0f], "target");
        DataChecks.UnitInterval<double>([0.25, double.NaN], "target"); // NaN passes and propagates (documented)
        foreach (int n in Lengths)
        {
            for (int bad = 0; bad < n; bad++)
            {
                double[] v = [.. Enumerable.Range(0, n).Select(i => i % 3 == 0 ? 1.0 : i % 3 == 1 ? 0.0 : 0.5)];
                v[bad] = bad % 2 == 0 ? 1.0 + 1e-12 : -1e-300;
                var e = Assert.Throws<ArgumentOutOfRangeException>(() => DataChecks.UnitInterval<double>(v, "target"));
                Assert.Equal("target", e.ParamName);
                Assert.Contains($"target[{bad}] = {v[bad]} is outside [0, 1]", e.Message);
            }
        }
    }

    [Fact]
    public void PlusMinusOne_FindsABadLabelAtEveryPosition()
    {
        DataChecks.PlusMinusOne<double>([], "target");
        foreach (int n in Lengths)
        {
            double[] ok = [.. Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1.0 : -1.0)];
            DataChecks.PlusMinusOne<double>(ok, "target");
            DataChecks.PlusMinusOne<float>([.. ok.Select(x => (float)x)], "target");
            for (int bad = 0; bad < n; bad++)
            {
                foreach (double value in new[] { 0.0, 0.5, -2.0, double.NaN })
                {
                    double[] v = [.. ok];
                    v[bad] = value;
                    var e = Assert.Throws<ArgumentOutOfRangeException>(() => DataChecks.PlusMinusOne<double>(v, "target"));
                    Assert.Equal("target", e.ParamName);
                    Assert.Contains($"target[{bad}] = {value}: labels must be -1 or +1", e.Message);
                    float[] f = [.. v.Select(x => (float)x)];
                    Assert.Throws<ArgumentOutOfRangeException>(() => DataChecks.PlusMinusOne<float>(f, "target"));
                }
            }
        }
    }

    [Fact]
    public void ClassIndices_CountsTheRowsKept_AndNamesTheBadIndex()
    {
        Assert.Equal(0, DataChecks.ClassIndices([], 3, -100, true));
        Assert.Equal(4, DataChecks.ClassIndices([0, 2, 1, 2], 3, -100, true));
        Assert.Equal(2, DataChecks.ClassIndices([0, -100, 2, -100], 3, -100, true));
        Assert.Equal(3, DataChecks.ClassIndices([0, 1, 2], 3, 1, false)); // without ignore, the ignore value is a class

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DataChecks.ClassIndices([0, 3], 3, -100, true, "labels"));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("labels[1] = 3 is not a class index in [0, 3) nor ignoreIndex (-100).", e.Message);
        var f = Assert.Throws<ArgumentOutOfRangeException>(() => DataChecks.ClassIndices([-100], 3, -100, false));
        Assert.Equal("target", f.ParamName);
        Assert.Contains("target[0] = -100 is not a class index in [0, 3).", f.Message);
        Assert.DoesNotContain("ignoreIndex", f.Message);
    }

    [Fact]
    public void TensorSpans_MustBeDense_AndShapesAreNamed()
    {
        double[] data = [1, 2, 3, 4, 5, 6];
        Assert.True(TensorArgs.Flat(new ReadOnlyTensorSpan<double>(data, [0], []), "input").IsEmpty);
        Assert.True(TensorArgs.Flat(new TensorSpan<double>(data, [0], []), "gradient").IsEmpty);
        Assert.Equal(data, TensorArgs.Flat(new ReadOnlyTensorSpan<double>(data, [2, 3], []), "input").ToArray());
        Assert.Equal(6, TensorArgs.Flat(new TensorSpan<double>(data, [3, 2], []), "gradient").Length);

        // Two rows of two with a gap after each: lengths [2, 2], strides [3, 1] over the 6 values.
        var e = Assert.Throws<ArgumentException>(() => TensorArgs.Flat(new ReadOnlyTensorSpan<double>(data, [2, 2], [3, 1]), "input"));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("input must be a dense (contiguous) tensor span", e.Message);
        var g = Assert.Throws<ArgumentException>(() => TensorArgs.Flat(new TensorSpan<double>(data, [2, 2], [3, 1]), "gradient"));
        Assert.Equal("gradient", g.ParamName);
        Assert.Contains("gradient must be a dense (contiguous) tensor span", g.Message);

        TensorArgs.SameShape([2, 3], [2, 3], "target");
        var s = Assert.Throws<ArgumentException>(() => TensorArgs.SameShape([3, 2], [2, 3], "target"));
        Assert.Equal("target", s.ParamName);
        Assert.Contains("target must have shape [2, 3], got [3, 2]", s.Message);
        TensorArgs.Rank([4, 5], 2, "input", "[batch, classes]");
        var r = Assert.Throws<ArgumentException>(() => TensorArgs.Rank([4, 5, 6], 2, "input", "[batch, classes]"));
        Assert.Equal("input", r.ParamName);
        Assert.Contains("input must have rank 2 ([batch, classes]), got shape [4, 5, 6]", r.Message);
    }

    [Fact]
    public void HyperParameterRanges_IncludeTheirEnds_AndNameTheValue()
    {
        Assert.Equal(0.0, ThrowHelper.CheckInRange(0.0, 0.0, 1.0, "alpha"));
        Assert.Equal(1.0, ThrowHelper.CheckInRange(1.0, 0.0, 1.0, "alpha"));
        foreach (double bad in new[] { -1e-9, 1.5, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ThrowHelper.CheckInRange(bad, 0.0, 1.0, "alpha"));
            Assert.Equal("alpha", e.ParamName);
            Assert.Contains($"alpha must be in [0, 1], got {bad}", e.Message);
        }

        Assert.Equal(-3.5, ThrowHelper.CheckFinite(-3.5, "margin"));
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ThrowHelper.CheckFinite(bad, "margin"));
            Assert.Equal("margin", e.ParamName);
            Assert.Contains($"margin must be finite, got {bad}", e.Message);
        }
    }

    [Fact]
    public void Product_FitsUpToIntMaxValue_AndAZeroFactorWins()
    {
        Assert.Equal(int.MaxValue, ThrowHelper.Product("input", "batch × classes", 1, int.MaxValue));
        Assert.Equal(int.MaxValue, ThrowHelper.Product("input", "batch × classes", int.MaxValue, 1));
        Assert.Equal(0, ThrowHelper.Product("input", "batch × classes", 0, 3_000_000_000));
        Assert.Equal(0, ThrowHelper.Product("input", "batch × classes", 3_000_000_000, 0));
        Assert.Equal(6, ThrowHelper.Product("input", "a × b × c", 1, 2, 3));
        foreach (long[] bad in new long[][] { [65536, 32768], [(long)int.MaxValue + 1, 1] })
        {
            var e = Assert.Throws<ArgumentException>(() => ThrowHelper.Product("input", "batch × classes", bad));
            Assert.Equal("input", e.ParamName);
            Assert.Contains($"batch × classes = {bad[0]} × {bad[1]} overflows int", e.Message);
        }

        // A negative factor (a caller's bug: the entry points check dimensions first) is refused, not multiplied.
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => ThrowHelper.Product("input", "batch × classes", 5, -1)).ParamName);
    }
}
