using System.Numerics;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;
using LossKit.Tests.Internal;

namespace LossKit.Tests.Detection;

/// <summary>
/// Pairwise IoU-family matrices and their element-wise forms: golden NaN positions, diagonals, a naive scalar
/// reference on a large random matrix. (The golden values themselves: <see cref="DetectionReferenceTests"/>.)
/// </summary>
public class BoxOpsTests
{
    public enum Kind
    {
        IoU,
        GIoU,
        DIoU,
        CIoU,
    }

    public static TheoryData<Kind> Kinds() => new() { Kind.IoU, Kind.GIoU, Kind.DIoU, Kind.CIoU };

    internal static void Matrix<T>(Kind kind, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d, double eps = 1e-7)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case Kind.IoU: BoxOps.Iou(a, b, d); break;
            case Kind.GIoU: BoxOps.GeneralizedIou(a, b, d); break;
            case Kind.DIoU: BoxOps.DistanceIou(a, b, d, eps); break;
            default: BoxOps.CompleteIou(a, b, d, eps); break;
        }
    }

    internal static void Elementwise<T>(Kind kind, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d, double eps = 1e-7)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case Kind.IoU: BoxOps.ElementwiseIou(a, b, d); break;
            case Kind.GIoU: BoxOps.ElementwiseGeneralizedIou(a, b, d); break;
            case Kind.DIoU: BoxOps.ElementwiseDistanceIou(a, b, d, eps); break;
            default: BoxOps.ElementwiseCompleteIou(a, b, d, eps); break;
        }
    }

    private static string GoldenId(Kind kind) => kind switch
    {
        Kind.IoU => "box_iou",
        Kind.GIoU => "generalized_box_iou",
        Kind.DIoU => "distance_box_iou",
        _ => "complete_box_iou",
    };

    /// <summary>
    /// torchvision's formulas in plain scalar double, written independently of the library: inter from clamped sides,
    /// union = area₁ + area₂ − inter, IoU = inter/union (no eps), GIoU with the enclosing area, DIoU with
    /// c² = cw² + ch² + eps, CIoU with v = (4/π²)(atan(w₁/h₁) − atan(w₂/h₂))², α = v/(1 − IoU + v + eps).
    /// </summary>
    public static double Naive(Kind kind, ReadOnlySpan<double> a, ReadOnlySpan<double> b, double eps = 1e-7)
    {
        double iw = Math.Max(Math.Min(a[2], b[2]) - Math.Max(a[0], b[0]), 0);
        double ih = Math.Max(Math.Min(a[3], b[3]) - Math.Max(a[1], b[1]), 0);
        double inter = iw * ih;
        double union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
        double iou = inter / union;
        if (kind == Kind.IoU)
        {
            return iou;
        }

        double cw = Math.Max(Math.Max(a[2], b[2]) - Math.Min(a[0], b[0]), 0);
        double ch = Math.Max(Math.Max(a[3], b[3]) - Math.Min(a[1], b[1]), 0);
        if (kind == Kind.GIoU)
        {
            double c = cw * ch;
            return iou - (c - union) / c;
        }

        double dx = (a[0] + a[2]) / 2 - (b[0] + b[2]) / 2, dy = (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2;
        double diou = iou - (dx * dx + dy * dy) / (cw * cw + ch * ch + eps);
        if (kind == Kind.DIoU)
        {
            return diou;
        }

        double da = Math.Atan((a[2] - a[0]) / (a[3] - a[1])) - Math.Atan((b[2] - b[0]) / (b[3] - b[1]));
        double v = 4 / (Math.PI * Math.PI) * (da * da);
        return diou - v / (1 - iou + v + eps) * v;
    }

    /// <summary>Random xyxy boxes on a 0.25 grid (as the golden generator), with some rows and single edges of the
    /// first set copied into the second so edge ties and identical pairs occur.</summary>
    public static (double[] A, double[] B) RandomBoxes(int n, int m, int seed)
    {
        var rng = new Random(seed);
        double[] Boxes(int k)
        {
            var r = new double[4 * k];
            for (int i = 0; i < k; i++)
            {
                double x1 = rng.Next(0, 80) * 0.25, y1 = rng.Next(0, 80) * 0.25;
                r[4 * i] = x1;
                r[4 * i + 1] = y1;
                r[4 * i + 2] = x1 + rng.Next(3, 41) * 0.25;
                r[4 * i + 3] = y1 + rng.Next(3, 41) * 0.25;
            }

            return r;
        }

        double[] a = Boxes(n), b = Boxes(m);
        for (int j = 0; j < m && n > 0; j++)
        {
            double u = rng.NextDouble();
            int i = rng.Next(n);
            if (u < 0.1)
            {
                Array.Copy(a, 4 * i, b, 4 * j, 4);
            }
            else if (u < 0.2)
            {
                int k = rng.Next(4);
                double keep = b[4 * j + k];
                b[4 * j + k] = a[4 * i + k];
                if (b[4 * j + 2] <= b[4 * j] || b[4 * j + 3] <= b[4 * j + 1])
                {
                    b[4 * j + k] = keep;
                }
            }
        }

        return (a, b);
    }

    // ---- golden NaN positions --------------------------------------------------------------------------------------

    /// <summary>
    /// The degenerate 31 × 31 golden matrices contain torchvision's NaNs (zero-area pairs: 0/0, no eps in IoU) — ours
    /// has NaN exactly there and ±∞ exactly where the reference has them, in double and float.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void GoldenDegenerateMatrix_SameNonFinitePositions(Kind kind)
    {
        GoldenCase c = Golden.Detection.Single(x => x.Loss == GoldenId(kind) && x.Name.Contains("/degenerate/", StringComparison.Ordinal));
        double eps = c.Params.TryGetValue("eps", out var e) ? e.GetDouble() : 1e-7;
        double[] expected = c.Value.Data;
        Assert.Contains(expected, double.IsNaN);
        var d = new double[expected.Length];
        Matrix<double>(kind, c.Input.Data, c.Target.Data, d, eps);
        var f = new float[expected.Length];
        Matrix<float>(kind, Array.ConvertAll(c.Input.Data, v => (float)v), Array.ConvertAll(c.Target.Data, v => (float)v), f, eps);
        for (int i = 0; i < expected.Length; i++)
        {
            double r = expected[i];
            foreach ((string type, double ours) in new[] { ("double", d[i]), ("float", (double)f[i]) })
            {
                bool ok = double.IsFinite(r) ? double.IsFinite(ours) : r.Equals(ours);
                Assert.True(ok, $"{type} {c.Name} [{i / c.Target.Shape[0]}, {i % c.Target.Shape[0]}]: ours {ours:R}, reference {r:R}");
            }
        }
    }

    // ---- element-wise forms ----------------------------------------------------------------------------------------

    /// <summary>The element-wise forms are the matrices' diagonals, bit for bit (NaN where the diagonal is NaN), for
    /// sizes around the vector widths and the golden degenerate pairs.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Elementwise_EqualsMatrixDiagonal(Kind kind)
    {
        GoldenCase degenerate = Golden.Detection.Single(x => x.Loss == "box_iou" && x.Name.Contains("/degenerate/", StringComparison.Ordinal));
        var inputs = new List<(double[] A, double[] B)> { (degenerate.Input.Data, degenerate.Target.Data) };
        foreach (int n in new[] { 1, 3, 4, 7, 8, 9, 15, 16, 17, 33 })
        {
            inputs.Add(RandomBoxes(n, n, 100 + n));
        }

        foreach ((double[] a, double[] b) in inputs)
        {
            Check<double>(kind, a, b);
            Check<float>(kind, a, b);
        }

        static void Check<T>(Kind kind, double[] ad, double[] bd)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = Array.ConvertAll(ad, T.CreateTruncating), b = Array.ConvertAll(bd, T.CreateTruncating);
            int n = a.Length / 4;
            var matrix = new T[n * n];
            var diagonal = new T[n];
            var aligned = new T[n];
            Matrix<T>(kind, a, b, matrix);
            Elementwise<T>(kind, a, b, aligned);
            for (int i = 0; i < n; i++)
            {
                diagonal[i] = matrix[i * n + i];
            }

            Tolerance.AssertIdentical<T>(aligned, diagonal, $"{typeof(T).Name} {kind} n={n}: element-wise vs diagonal");
        }
    }

    /// <summary>Large random matrix against the naive scalar formula: double within 1e-13 absolute (values in [−1, 1],
    /// same operations), float within 1e-5 of the double reference.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void LargeRandomMatrix_MatchesNaiveScalarDouble(Kind kind)
    {
        const int n = 3000, m = 100;
        (double[] a, double[] b) = RandomBoxes(n, m, 2024);
        var d = new double[n * m];
        var f = new float[n * m];
        Matrix<double>(kind, a, b, d);
        Matrix<float>(kind, Array.ConvertAll(a, v => (float)v), Array.ConvertAll(b, v => (float)v), f);
        double worstDouble = 0, worstFloat = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double r = Naive(kind, a.AsSpan(4 * i, 4), b.AsSpan(4 * j, 4));
                Assert.True(double.IsFinite(r), "random grid boxes have positive areas");
                worstDouble = Math.Max(worstDouble, Math.Abs(d[i * m + j] - r));
                worstFloat = Math.Max(worstFloat, Math.Abs(f[i * m + j] - r));
            }
        }

        Assert.True(worstDouble <= 1e-13, $"{kind}: double differs from the naive formula by {worstDouble:E3}");
        Assert.True(worstFloat <= 1e-5, $"{kind}: float differs from the naive double formula by {worstFloat:E3}");
    }

    /// <summary>
    /// More columns than one tile of boxes2 (256) and not a multiple of it: 600 = 256 + 256 + 88. Every entry against the
    /// naive formula, and a destination longer than n × m keeps its tail (no tile written past its row or the matrix).
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void SeveralTiles_MatchNaive_AndStayInside(Kind kind)
    {
        const int n = 5, m = 600;
        (double[] a, double[] b) = RandomBoxes(n, m, 77);
        double[] d = Enumerable.Repeat(7.0, n * m + 9).ToArray();
        Matrix<double>(kind, a, b, d);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                Assert.True(Math.Abs(d[i * m + j] - Naive(kind, a.AsSpan(4 * i, 4), b.AsSpan(4 * j, 4))) <= 1e-13, $"{kind} [{i}, {j}]");
            }
        }

        Assert.All(d[(n * m)..], v => Assert.Equal(7.0, v));
    }

    /// <summary>torchvision's box_area: (x2 − x1)(y2 − y1) per box, into a destination of exactly N (or more, tail kept).</summary>
    [Fact]
    public void Area_IsWidthTimesHeight()
    {
        double[] boxes = [0, 0, 2, 3, 1, 1, 4, 5, -1, 2, 0.5, 2.25];
        var exact = new double[3];
        BoxOps.Area<double>(boxes, exact);
        Assert.Equal([6.0, 12.0, 0.375], exact);
        double[] longer = [7, 7, 7, 7];
        BoxOps.Area<double>(boxes, longer);
        Assert.Equal([6.0, 12.0, 0.375, 7.0], longer);
        var f = new float[3];
        BoxOps.Area<float>([0f, 0f, 2f, 3f, 1f, 1f, 4f, 5f, -1f, 2f, 0.5f, 2.25f], f);
        Assert.Equal([6f, 12f, 0.375f], f);
    }

    /// <summary>Element-wise forms: boxes2 must hold one box per box of boxes1, eps must be ≥ 0.</summary>
    [Fact]
    public void Elementwise_BadArguments_NameTheParameter()
    {
        double[] one = [0, 0, 1, 1];
        var e = Assert.Throws<ArgumentException>(() => BoxOps.ElementwiseIou<double>(one, [0, 0, 1, 1, 0, 0, 2, 2], new double[2]));
        Assert.Equal("boxes2", e.ParamName);
        Assert.Contains("one box per box of boxes1", e.Message);
        Assert.Equal("eps", Assert.Throws<ArgumentOutOfRangeException>(() => BoxOps.ElementwiseDistanceIou<double>(one, one, new double[1], eps: -1e-7)).ParamName);
        Assert.Equal("boxes1", Assert.Throws<ArgumentException>(() => BoxOps.ElementwiseIou<double>([0, 0, 1, 1, 0], [0, 0, 1, 1, 0], new double[1])).ParamName);

        // A pairwise matrix beyond int range names both operands (50 000 × 50 000 = 2.5e9 entries).
        var big = Assert.ThrowsAny<ArgumentException>(() => BoxOps.Iou<double>(new double[4 * 50_000], new double[4 * 50_000], new double[1]));
        Assert.Contains("boxes1 × boxes2", big.Message);
    }

    /// <summary>ConvertGradient checks both formats as Convert does, with the format message.</summary>
    [Fact]
    public void ConvertGradient_BadFormat_NamesIt()
    {
        var g = new double[4];
        var from = Assert.Throws<ArgumentOutOfRangeException>(() => BoxConvert.ConvertGradient<double>(g, (BoxFormat)5, BoxFormat.Xyxy, g));
        Assert.Equal("from", from.ParamName);
        Assert.Contains("Box format must be Xyxy, Xywh or Cxcywh", from.Message);
        Assert.Equal("to", Assert.Throws<ArgumentOutOfRangeException>(() => BoxConvert.ConvertGradient<double>(g, BoxFormat.Xyxy, (BoxFormat)7, g)).ParamName);
    }
}

/// <summary>The matrices are split across cores by rows; the result must not depend on the thread count.</summary>
[Collection(GlobalSettingsCollection.Name)]
public class BoxOpsThreadCountTests
{
    [Theory]
    [MemberData(nameof(BoxOpsTests.Kinds), MemberType = typeof(BoxOpsTests))]
    public void LargeMatrix_BitIdentical_OneThreadVsAllCores(BoxOpsTests.Kind kind)
    {
        (double[] a, double[] b) = BoxOpsTests.RandomBoxes(3000, 100, 7);
        Compare(kind, a, b);
        Compare(kind, Array.ConvertAll(a, v => (float)v), Array.ConvertAll(b, v => (float)v));
    }

    private static void Compare<T>(BoxOpsTests.Kind kind, T[] a, T[] b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            var one = new T[a.Length / 4 * (b.Length / 4)];
            LossKitSettings.MaxDegreeOfParallelism = 1;
            BoxOpsTests.Matrix<T>(kind, a, b, one);
            foreach (int threads in new[] { Environment.ProcessorCount, 3 }.Where(t => t > 1).Distinct())
            {
                var many = new T[one.Length];
                LossKitSettings.MaxDegreeOfParallelism = threads;
                BoxOpsTests.Matrix<T>(kind, a, b, many);
                Tolerance.AssertIdentical<T>(many, one, $"{typeof(T).Name} {kind}: {threads} threads vs 1");
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }
}
