using System.Numerics;
using LossKit.Internal;

namespace LossKit.Tests.Internal;

/// <summary>
/// The packed matrix product against the definition (a triple loop in double), over sizes that cross the micro-tile
/// (6 × NR), macro-tile (96 × 256) and K-block (512 bytes) edges, both transpositions, row strides wider than the rows,
/// accumulation, and thread counts: every element of C inside M × N is right and nothing outside it is written.
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public unsafe class GemmTests
{
    public static TheoryData<int, int, int, bool, bool, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, bool, bool, bool>();
        (int M, int N, int K)[] sizes = [(1, 1, 1), (5, 3, 7), (6, 16, 64), (7, 17, 65), (13, 33, 129), (97, 257, 130), (193, 40, 33), (12, 300, 3)];
        int i = 0;
        foreach ((int m, int n, int k) in sizes)
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    data.Add(m, n, k, ta, tb, i++ % 3 == 0);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float_IsTheProduct(int m, int n, int k, bool transA, bool transB, bool accumulate) =>
        Check<float>(m, n, k, transA, transB, accumulate, 2e-6);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Double_IsTheProduct(int m, int n, int k, bool transA, bool transB, bool accumulate) =>
        Check<double>(m, n, k, transA, transB, accumulate, 1e-14);

    private static void Check<T>(int m, int n, int k, bool transA, bool transB, bool accumulate, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        // Row strides wider than the rows they hold: the gaps must be neither read into C nor written.
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + 3, ldb = bCols + 2, ldc = n + 5;
        T[] a = Random<T>(aRows * lda, rng), b = Random<T>(bRows * ldb, rng), c0 = Random<T>(m * ldc, rng);
        double A(int i, int p) => double.CreateTruncating(transA ? a[p * lda + i] : a[i * lda + p]);
        double B(int p, int j) => double.CreateTruncating(transB ? b[j * ldb + p] : b[p * ldb + j]);

        T[]? first = null;
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                LossKitSettings.MaxDegreeOfParallelism = threads;
                T[] c = [.. c0];
                T[] scratch = new T[Gemm.ScratchSize<T>(threads)];
                fixed (T* pa = a, pb = b, pc = c, ps = scratch)
                {
                    Gemm.Multiply(pa, lda, transA, pb, ldb, transB, pc, ldc, m, n, k, accumulate, ps, scratch.Length);
                }

                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < ldc; j++)
                    {
                        T got = c[i * ldc + j];
                        if (j >= n)
                        {
                            Assert.Equal(c0[i * ldc + j], got); // the stride's gap
                            continue;
                        }

                        double expected = accumulate ? double.CreateTruncating(c0[i * ldc + j]) : 0, scale = Math.Abs(expected);
                        for (int p = 0; p < k; p++)
                        {
                            expected += A(i, p) * B(p, j);
                            scale += Math.Abs(A(i, p) * B(p, j));
                        }

                        double error = Math.Abs(double.CreateTruncating(got) - expected);
                        Assert.True(error <= tolerance * Math.Max(scale, 1), $"C[{i}, {j}] = {got}, expected {expected} ({threads} threads)");
                    }
                }

                first ??= c;
                Assert.Equal(first, c); // the same bits whatever the thread count
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KZero_ClearsOrKeepsC(bool accumulate)
    {
        // C is 2 × 2 with row stride 3; the third row is past C and must stay as it was.
        double[] c = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        double[] scratch = new double[Gemm.ScratchSize<double>(1)];
        fixed (double* pc = c, ps = scratch)
        {
            Gemm.Multiply<double>(null, 0, false, null, 0, false, pc, 3, 2, 2, 0, accumulate, ps, scratch.Length);
        }

        Assert.Equal(accumulate ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : [0, 0, 3, 0, 0, 6, 7, 8, 9], c);
    }

    /// <summary>
    /// A large product splits over as many slots as the scratch holds, never more: with scratch for one slot and two
    /// threads allowed, nothing past the scratch is written (a guard of one more slot's size, NaN-filled, stays as it
    /// was), and the result is the one-thread result.
    /// </summary>
    [Fact]
    public void ScratchForOneSlot_LimitsTheThreads()
    {
        const int m = 200, n = 300, k = 100;
        var rng = new Random(3);
        float[] a = Random<float>(m * k, rng), b = Random<float>(k * n, rng);
        float[] one = new float[m * n], two = new float[m * n];
        int size = Gemm.ScratchSize<float>(1);
        float[] guarded = new float[size + Gemm.ScratchSize<float>(1)];
        guarded.AsSpan(size).Fill(float.NaN);
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            LossKitSettings.MaxDegreeOfParallelism = 1;
            float[] scratch = new float[size];
            fixed (float* pa = a, pb = b, p1 = one, s1 = scratch)
            {
                Gemm.Multiply(pa, k, false, pb, n, false, p1, n, m, n, k, false, s1, scratch.Length);
            }

            LossKitSettings.MaxDegreeOfParallelism = 2;
            fixed (float* pa = a, pb = b, p2 = two, s2 = guarded)
            {
                Gemm.Multiply(pa, k, false, pb, n, false, p2, n, m, n, k, false, s2, size);
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }

        Assert.Equal(one, two);
        Assert.True(guarded.AsSpan(size).ToArray().All(float.IsNaN), "the product wrote past its scratch");
        Assert.Equal(Gemm.ScratchPerSlot<float>() * 2 + 16, Gemm.ScratchSize<float>(2));
        Assert.Equal(Gemm.ScratchPerSlot<double>() + 8, Gemm.ScratchSize<double>(0));
        Assert.Equal((96 + 256) * 128, Gemm.ScratchPerSlot<float>());
    }

    private static T[] Random<T>(int n, Random rng)
        where T : IFloatingPointIeee754<T>
    {
        var x = new T[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        }

        return x;
    }
}
