using System.Numerics;
using System.Runtime.Intrinsics;
using LossKit.Internal;
using Xunit.Abstractions;

namespace LossKit.Tests.Internal;

/// <summary>
/// The row primitives of the softmax kernels against plain double loops, over every row length from 1 to 100 (so
/// every mix of 512-bit blocks, Vector&lt;T&gt; blocks and scalar tails is taken, whichever widths this run has), with
/// NaN at each position for the max.
/// </summary>
public unsafe class RowMathTests(ITestOutputHelper output)
{
    private const int MaxLength = 100;

    private static T[] Row<T>(int n, int seed)
        where T : IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var row = new T[n];
        for (int i = 0; i < n; i++)
        {
            row[i] = T.CreateTruncating(rng.NextDouble() * 20 - 10);
        }

        return row;
    }

    [Fact]
    public void Max_IsTheRowMaximum_AndNaNAnywhereGivesNaN()
    {
        Check<float>();
        Check<double>();
        output.WriteLine($"Vector512 accelerated: {Vector512.IsHardwareAccelerated}, Vector<T> {Vector<byte>.Count * 8}-bit");

        static void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            for (int n = 1; n <= MaxLength; n++)
            {
                T[] row = Row<T>(n, n);
                T expected = row[0];
                foreach (T v in row)
                {
                    expected = v > expected ? v : expected;
                }

                fixed (T* p = row)
                {
                    Assert.Equal(expected, RowMath.Max(p, n));
                }

                for (int at = 0; at < n; at++)
                {
                    T[] withNaN = (T[])row.Clone();
                    withNaN[at] = T.NaN;
                    fixed (T* p = withNaN)
                    {
                        Assert.True(T.IsNaN(RowMath.Max(p, n)), $"{typeof(T).Name} n={n}: NaN at {at} lost");
                    }
                }

                // The maximum in the last element only (the overlapping last block must see it).
                T[] lastBig = (T[])row.Clone();
                lastBig[n - 1] = T.CreateTruncating(1e6);
                fixed (T* p = lastBig)
                {
                    Assert.Equal(T.CreateTruncating(1e6), RowMath.Max(p, n));
                }
            }
        }
    }

    [Fact]
    public void SumExpShifted_StoresAndSumsTheExponentials()
    {
        Check<float>(2e-6);
        Check<double>(1e-14);

        static void Check<T>(double tolerance)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            for (int n = 1; n <= MaxLength; n++)
            {
                T[] row = Row<T>(n, 100 + n);
                var store = new T[n];
                T m, s;
                fixed (T* p = row, q = store)
                {
                    m = RowMath.Max(p, n);
                    s = RowMath.SumExpShifted(p, q, n, m);
                    Assert.Equal(s, RowMath.SumExpShifted(p, null, n, m));
                }

                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    double e = Math.Exp(double.CreateTruncating(row[i]) - double.CreateTruncating(m));
                    sum += e;
                    Assert.True(Math.Abs(double.CreateTruncating(store[i]) - e) <= tolerance * e, $"{typeof(T).Name} n={n} e[{i}] = {store[i]}, expected {e}");
                }

                Assert.True(Math.Abs(double.CreateTruncating(s) - sum) <= tolerance * sum, $"{typeof(T).Name} n={n}: sum {s}, expected {sum}");
            }
        }
    }

    /// <summary>
    /// Rows of 2 to 100 elements with one element far below the maximum (e^(x − m) subnormal or 0) or one NaN with a
    /// payload, at every position: the vector loops compute exponentials without a range test and must redo such a row with the tested
    /// one. Without the redo the exponent add turns these lanes into garbage (a payload NaN into a finite number).
    /// </summary>
    [Fact]
    public void SumExpShifted_LanesOutsideTheNormalRange_AreExact_AndPayloadNaNsStayNaN()
    {
        Check<float>(2e-6, float.Epsilon);
        Check<double>(1e-14, 0);

        static void Check<T>(double tolerance, double absolute)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] outside = [T.CreateTruncating(-95), T.CreateTruncating(-101.5), T.CreateTruncating(-300), T.NegativeInfinity];
            for (int n = 2; n <= MaxLength; n++)
            {
                T[] row = Row<T>(n, 600 + n);
                for (int at = 0; at < n; at++)
                {
                    T[] x = (T[])row.Clone();
                    x[at] = outside[at % outside.Length];
                    var store = new T[n];
                    T m, s;
                    fixed (T* p = x, q = store)
                    {
                        m = RowMath.Max(p, n);
                        s = RowMath.SumExpShifted(p, q, n, m);
                    }

                    double sum = 0;
                    for (int i = 0; i < n; i++)
                    {
                        double e = Math.Exp(double.CreateTruncating(x[i]) - double.CreateTruncating(m));
                        sum += e;
                        double got = double.CreateTruncating(store[i]);
                        Assert.True(Math.Abs(got - e) <= tolerance * e + absolute, $"{typeof(T).Name} n={n}, {x[at]} at {at}: e[{i}] = {got}, expected {e}");
                    }

                    Assert.True(Math.Abs(double.CreateTruncating(s) - sum) <= tolerance * sum, $"{typeof(T).Name} n={n}, {x[at]} at {at}: sum {s}, expected {sum}");
                    CheckBlock(x, n, m, s, store);

                    // A NaN with payload bits in the same place, the maximum taken from the other elements.
                    x[at] = PayloadNaN<T>(at);
                    fixed (T* p = x, q = store)
                    {
                        s = RowMath.SumExpShifted(p, q, n, m);
                    }

                    Assert.True(T.IsNaN(s), $"{typeof(T).Name} n={n}: payload NaN at {at} gave sum {s}");
                    Assert.True(T.IsNaN(store[at]), $"{typeof(T).Name} n={n}: payload NaN at {at} gave e = {store[at]}");
                    if (VMath.IsVectorized<T>() && n >= Vector<T>.Count)
                    {
                        T[] max = new T[1], blockSum = new T[1];
                        fixed (T* p = x, pm = max, ps = blockSum)
                        {
                            RowMath.MaxAndSumExp(p, null, n, 1, pm, ps);
                        }

                        Assert.True(T.IsNaN(blockSum[0]), $"{typeof(T).Name} n={n}: payload NaN at {at} gave block sum {blockSum[0]}");
                    }
                }
            }
        }

        // The block primitive on the same row: the same maximum, sum and exponentials as the one-row calls.
        static void CheckBlock<T>(T[] x, int n, T m, T s, T[] store)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (!VMath.IsVectorized<T>() || n < Vector<T>.Count)
            {
                return;
            }

            T[] max = new T[1], sum = new T[1], blockStore = new T[n];
            fixed (T* p = x, q = blockStore, pm = max, ps = sum)
            {
                RowMath.MaxAndSumExp(p, q, n, 1, pm, ps);
            }

            Assert.Equal(m, max[0]);
            Assert.Equal(s, sum[0]);
            Assert.Equal(store, blockStore);
        }
    }

    /// <summary>A quiet NaN whose low payload bits are set (they would reach the exponent field through an unchecked exponent add).</summary>
    private static T PayloadNaN<T>(int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            float f = BitConverter.Int32BitsToSingle(unchecked((int)(0x7FC00000u | (uint)(k % 511 + 1))) ^ (k % 2 == 0 ? 0 : int.MinValue));
            return (T)(object)f;
        }

        double d = BitConverter.Int64BitsToDouble(0x7FF8000000000000L | (long)(uint)(k % 2047 + 1));
        return (T)(object)d;
    }

    [Fact]
    public void ScaleSubtract_AndWeightedNegativeLogSoftmaxSum_MatchPlainLoops()
    {
        Check<float>(1e-5);
        Check<double>(1e-13);

        static void Check<T>(double tolerance)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T a = T.CreateTruncating(0.37), b = T.CreateTruncating(0.011), c = T.CreateTruncating(10.5), d = T.CreateTruncating(2.25);
            for (int n = 1; n <= MaxLength; n++)
            {
                T[] g = Row<T>(n, 200 + n), w = Row<T>(n, 300 + n), x = Row<T>(n, 400 + n);
                foreach (bool weighted in new[] { false, true })
                {
                    var actual = (T[])g.Clone();
                    T sum;
                    fixed (T* pg = actual, pw = w, px = x)
                    {
                        RowMath.ScaleSubtract(pg, weighted ? pw : null, n, a, b);
                        sum = RowMath.WeightedNegativeLogSoftmaxSum(px, weighted ? pw : null, n, c, d);
                    }

                    double expectedSum = 0, scale = 0;
                    for (int i = 0; i < n; i++)
                    {
                        double wi = weighted ? double.CreateTruncating(w[i]) : 1;
                        double expected = double.CreateTruncating(g[i]) * double.CreateTruncating(a) - double.CreateTruncating(b) * wi;
                        Assert.True(Math.Abs(double.CreateTruncating(actual[i]) - expected) <= tolerance * (Math.Abs(expected) + 1), $"{typeof(T).Name} n={n} g[{i}]");
                        double term = wi * ((double.CreateTruncating(c) - double.CreateTruncating(x[i])) + double.CreateTruncating(d));
                        expectedSum += term;
                        scale += Math.Abs(term);
                    }

                    Assert.True(Math.Abs(double.CreateTruncating(sum) - expectedSum) <= tolerance * (scale + 1), $"{typeof(T).Name} n={n} weighted={weighted}: {sum} vs {expectedSum}");
                }
            }
        }
    }

    [Fact]
    public void MaxAndSumExp_EqualsMaxAndSumExpShiftedRowByRow_AndNaNRowsSumToNaN()
    {
        if (!VMath.IsVectorized<float>())
        {
            output.WriteLine("The vector kernels do not run in this run: the block primitive is not used, nothing to check.");
            return;
        }

        Check<float>();
        Check<double>();

        static void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int rows = 3;
            for (int n = Vector<T>.Count; n <= MaxLength; n++)
            {
                T[] x = Row<T>(rows * n, 500 + n);
                x[2 * n - 1] = T.CreateTruncating(1e3); // the middle row's maximum in its last element
                T[] expectedMax = new T[rows], expectedSum = new T[rows], expectedStore = new T[rows * n];
                fixed (T* p = x, q = expectedStore)
                {
                    for (int k = 0; k < rows; k++)
                    {
                        expectedMax[k] = RowMath.Max(p + k * n, n);
                        expectedSum[k] = RowMath.SumExpShifted(p + k * n, q + k * n, n, expectedMax[k]);
                    }
                }

                T[] max = new T[rows], sum = new T[rows], store = new T[rows * n];
                fixed (T* p = x, q = store, pm = max, ps = sum)
                {
                    RowMath.MaxAndSumExp(p, q, n, rows, pm, ps);
                }

                Assert.Equal(expectedMax, max);
                Assert.Equal(expectedSum, sum);
                Assert.Equal(expectedStore, store);
                Assert.Equal(T.CreateTruncating(1e3), max[1]);

                for (int at = 0; at < n; at++)
                {
                    T[] withNaN = (T[])x.Clone();
                    withNaN[n + at] = T.NaN;
                    fixed (T* p = withNaN, pm = max, ps = sum)
                    {
                        RowMath.MaxAndSumExp(p, null, n, rows, pm, ps);
                    }

                    Assert.True(T.IsNaN(sum[1]), $"{typeof(T).Name} n={n}: NaN at {at} gave sum {sum[1]}");
                    Assert.Equal(expectedSum[0], sum[0]);
                    Assert.Equal(expectedSum[2], sum[2]);
                }
            }
        }
    }

    [Fact]
    public void ScaleSubtractRows_IsThePlainFormulaRowByRow()
    {
        Check<float>();
        Check<double>();

        static void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int rows = 3;
            T[] a = [T.CreateTruncating(0.37), T.CreateTruncating(-1.5), T.CreateTruncating(2.25)];
            T[] b = [T.CreateTruncating(0.011), T.Zero, T.CreateTruncating(-0.3)];
            for (int n = 1; n <= MaxLength; n++)
            {
                T[] g = Row<T>(rows * n, 600 + n), w = Row<T>(n, 700 + n);
                foreach (bool weighted in new[] { false, true })
                {
                    // The plain formula in T, as the kernels form it (a product, a product, a difference).
                    T[] expected = new T[g.Length], actual = (T[])g.Clone();
                    for (int k = 0; k < rows; k++)
                    {
                        for (int i = 0; i < n; i++)
                        {
                            expected[k * n + i] = g[k * n + i] * a[k] - (weighted ? b[k] * w[i] : b[k]);
                        }
                    }

                    fixed (T* pa = actual, pw = w, paa = a, pb = b)
                    {
                        RowMath.ScaleSubtractRows(pa, weighted ? pw : null, n, rows, paa, pb);
                    }

                    Assert.Equal(expected, actual);
                }
            }
        }
    }

    [Fact]
    public void LogBlock_IsTheLog_WhateverTheBlockFill()
    {
        if (!VMath.IsWide<float>())
        {
            output.WriteLine("Vector512 is not accelerated in this run: the block primitive is not used, nothing to check.");
            return;
        }

        Check<float>(2.5e-7);
        Check<double>(4e-16);

        static void Check<T>(double tolerance)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Random(7);
            T[] source = Enumerable.Range(0, RowMath.BlockRows).Select(k => T.CreateTruncating(Math.Exp(rng.NextDouble() * 40 - 5))).ToArray();
            source[0] = T.One;
            source[1] = T.NaN;
            source[2] = T.PositiveInfinity;
            T[] full = new T[RowMath.BlockRows];
            for (int n = RowMath.BlockRows; n >= 1; n--)
            {
                T[] src = (T[])source.Clone(), log = new T[RowMath.BlockRows];
                fixed (T* ps = src, pl = log)
                {
                    RowMath.LogBlock(ps, pl, n);
                }

                if (n == RowMath.BlockRows)
                {
                    full = log;
                }

                for (int k = 0; k < n; k++)
                {
                    Assert.Equal(full[k], log[k]);
                    double exact = Math.Log(double.CreateTruncating(source[k]));
                    double got = double.CreateTruncating(log[k]);
                    Assert.True(double.IsNaN(exact) ? double.IsNaN(got) : got == exact || Math.Abs(got - exact) <= tolerance * Math.Abs(exact) + tolerance,
                        $"{typeof(T).Name} ln {source[k]} = {got}, expected {exact}");
                }
            }
        }
    }
}
