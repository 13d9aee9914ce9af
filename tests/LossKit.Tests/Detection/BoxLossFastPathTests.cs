using System.Numerics;
using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>
/// The hand-written torchvision kernels (<see cref="TorchvisionIoU{T, TLoss}"/> driven by <see cref="FastBoxKernel{T, TExact, TFast}"/>)
/// against the dual-number path they replace (the same loss with <c>FastKernels = false</c>, itself held to the PyTorch
/// golden files): batches that mix ordinary boxes with exact ties, near-ties, touching, nested, identical,
/// degenerate and non-finite boxes, so vector lanes, declined lanes and the scalar tail all run in one call; lengths
/// around the vector widths; float and double; every reduction and entry point, with and without weights.
/// </summary>
public class BoxLossFastPathTests
{
    public static readonly string[] Kinds = ["iou-linear", "iou-square", "giou", "diou", "ciou"];

    public static readonly int[] Lengths = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 65];

    public static TheoryData<string, Reduction, bool, BoxFormat> Cases()
    {
        var data = new TheoryData<string, Reduction, bool, BoxFormat>();
        foreach (string kind in Kinds)
        {
            foreach (Reduction r in new[] { Reduction.None, Reduction.Mean, Reduction.Sum })
            {
                data.Add(kind, r, false, BoxFormat.Xyxy);
                data.Add(kind, r, true, BoxFormat.Xyxy);
            }

            data.Add(kind, Reduction.None, true, BoxFormat.Xywh);
            data.Add(kind, Reduction.Mean, false, BoxFormat.Xywh);
            data.Add(kind, Reduction.None, true, BoxFormat.Cxcywh);
            data.Add(kind, Reduction.Sum, false, BoxFormat.Cxcywh);
        }

        return data;
    }

    /// <summary>The loss of <paramref name="kind"/> (torchvision convention), fast kernels on or off.</summary>
    public static BoxRegressionLoss<T> Make<T>(string kind, Reduction reduction, bool fast, double eps = 1e-7, BoxFormat format = BoxFormat.Xyxy)
        where T : unmanaged, IFloatingPointIeee754<T> => kind switch
    {
        "iou-linear" => new IoULoss<T>(reduction, IoULossMode.Linear, eps, format) { FastKernels = fast },
        "iou-square" => new IoULoss<T>(reduction, IoULossMode.Square, eps, format) { FastKernels = fast },
        "giou" => new GIoULoss<T>(reduction, eps, format) { FastKernels = fast },
        "diou" => new DIoULoss<T>(reduction, eps, format) { FastKernels = fast },
        "ciou" => new CIoULoss<T>(reduction, eps, format) { FastKernels = fast },
        _ => throw new ArgumentException(kind, nameof(kind)),
    };

    /// <summary>
    /// Box pairs in xyxy, made in <typeparamref name="T"/> so ties are exact there. Most pairs are ordinary overlapping
    /// boxes; the rest are, in turn, an exact tie on one or more edges, a one-ulp near-tie, identical boxes, disjoint,
    /// touching (x2 = x1g: the strict-overlap mask's boundary), nested, equal aspect ratios (CIoU's v = 0), zero width or
    /// height, inverted, a NaN or infinite coordinate, tiny and huge boxes.
    /// </summary>
    public static (T[] Pred, T[] Target) MixedPairs<T>(int n, int seed, bool special = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var p = new T[4 * n];
        var t = new T[4 * n];
        T C(double v) => T.CreateTruncating(v);
        for (int i = 0; i < n; i++)
        {
            double x = 50 * rng.NextDouble(), y = 50 * rng.NextDouble(), w = 1 + 30 * rng.NextDouble(), h = 1 + 30 * rng.NextDouble();
            double dx = 10 * (rng.NextDouble() - 0.5), dy = 10 * (rng.NextDouble() - 0.5);
            double dw = 10 * (rng.NextDouble() - 0.5), dh = 10 * (rng.NextDouble() - 0.5);
            T[] a = [C(x), C(y), C(x + w), C(y + h)];
            T[] b = [C(x + dx), C(y + dy), C(x + dx + Math.Max(0.5, w + dw)), C(y + dy + Math.Max(0.5, h + dh))];
            int kind = special ? rng.Next(24) : 0;
            int e = rng.Next(4);
            switch (kind)
            {
                case 10: // exact tie on one edge
                    a[e] = b[e];
                    break;
                case 11: // exact ties on two edges
                    a[e] = b[e];
                    a[(e + 1) % 4] = b[(e + 1) % 4];
                    break;
                case 12: // one-ulp near-tie: the fast path must take it
                    a[e] = rng.Next(2) == 0 ? T.BitIncrement(b[e]) : T.BitDecrement(b[e]);
                    break;
                case 13: // identical
                    Array.Copy(b, a, 4);
                    break;
                case 14: // disjoint
                    (a[0], a[2]) = (b[2] + C(3), b[2] + C(3) + C(w));
                    break;
                case 15: // touching: x2 == x1g
                    (a[0], a[2]) = (b[0] - C(w), b[0]);
                    break;
                case 16: // nested, no shared edge
                    (a[0], a[1], a[2], a[3]) = (b[0] + C(0.25), b[1] + C(0.25), b[2] - C(0.125), b[3] - C(0.125));
                    break;
                case 17: // same aspect ratio (CIoU v = 0): a scaled copy of the target, shifted
                    (a[0], a[1]) = (b[0] + C(0.5), b[1] + C(0.75));
                    (a[2], a[3]) = (a[0] + (b[2] - b[0]) * C(2), a[1] + (b[3] - b[1]) * C(2));
                    break;
                case 18: // zero width or zero height
                    if (rng.Next(2) == 0)
                    {
                        a[2] = a[0];
                    }
                    else
                    {
                        a[3] = a[1];
                    }

                    break;
                case 19: // inverted
                    (a[0], a[2]) = (a[2], a[0]);
                    break;
                case 20: // non-finite coordinate, predicted or target
                    T bad = rng.Next(3) switch { 0 => T.NaN, 1 => T.PositiveInfinity, _ => T.NegativeInfinity };
                    (rng.Next(2) == 0 ? a : b)[e] = bad;
                    break;
                case 21: // tiny boxes
                    for (int k = 0; k < 4; k++)
                    {
                        a[k] *= C(1e-3);
                        b[k] *= C(1e-3);
                    }

                    break;
                case 22: // huge boxes
                    for (int k = 0; k < 4; k++)
                    {
                        a[k] *= C(1e4);
                        b[k] *= C(1e4);
                    }

                    break;
            }

            Array.Copy(a, 0, p, 4 * i, 4);
            Array.Copy(b, 0, t, 4 * i, 4);
        }

        return (p, t);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FastPath_MatchesDualPath_Double(string kind, Reduction reduction, bool weighted, BoxFormat format) =>
        AssertAgree<double>(kind, reduction, weighted, format, valueTolerance: 1e-14, gradientTolerance: 1e-12);

    [Theory]
    [MemberData(nameof(Cases))]
    public void FastPath_MatchesDualPath_Float(string kind, Reduction reduction, bool weighted, BoxFormat format) =>
        AssertAgree<float>(kind, reduction, weighted, format, valueTolerance: 1e-6, gradientTolerance: 2e-5);

    /// <summary>
    /// Every entry point of the fast loss against the dual-number loss, at every length. Per-box values are the same
    /// bits (CIoU: within <paramref name="valueTolerance"/>, its arctangent being a different evaluation); gradients
    /// within <paramref name="gradientTolerance"/> of the box's largest component; boxes the fast path declines, and
    /// every NaN, come out identical; reduced values within the tolerance of Σ|values|. Boxes in xywh and cxcywh are
    /// the xyxy pairs converted.
    /// </summary>
    private static void AssertAgree<T>(string kind, Reduction reduction, bool weighted, BoxFormat format, double valueTolerance, double gradientTolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BoxRegressionLoss<T> fast = Make<T>(kind, reduction, fast: true, format: format), exact = Make<T>(kind, reduction, fast: false, format: format);
        bool valuesExact = kind != "ciou";
        var failures = new List<string>();
        foreach (int n in Lengths)
        {
            (T[] p, T[] t) = MixedPairs<T>(n, seed: 1000 * n + kind.Length);
            BoxConvert.Convert<T>(p, BoxFormat.Xyxy, format, p);
            BoxConvert.Convert<T>(t, BoxFormat.Xyxy, format, t);
            var rng = new Random(n);
            T[] w = weighted ? Enumerable.Range(0, n).Select(_ => T.CreateTruncating(0.25 + rng.NextDouble())).ToArray() : [];
            T[] up = Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() - 0.5)).ToArray();
            string at = $"{typeof(T).Name} {kind} {format} {reduction} weighted={weighted} n={n}";

            // Fused pass.
            T[] gf = new T[4 * n], ge = new T[4 * n];
            T[] vf = new T[reduction == Reduction.None ? n : 0], ve = new T[vf.Length];
            T rf = fast.ForwardBackward(p, t, gf, vf, w);
            T re = exact.ForwardBackward(p, t, ge, ve, w);
            Values(at + " ForwardBackward", vf, ve, valuesExact, valueTolerance, failures);
            Gradients(at + " ForwardBackward", gf, ge, gradientTolerance, failures);
            Reduced(at + " ForwardBackward", rf, re, ve.Length > 0 ? ve : PerBox(exact, format, p, t, w), valueTolerance, failures);

            // Forward only.
            T[] vf2 = new T[vf.Length];
            T rf2 = fast.Forward(p, t, vf2, w);
            Values(at + " Forward", vf2, ve, valuesExact, valueTolerance, failures);
            Same(at + " Forward vs ForwardBackward", rf2, rf, failures);

            // Backward with a scalar (Mean/Sum) or per-box (None) upstream.
            T[] gb = new T[4 * n], gbe = new T[4 * n];
            if (reduction == Reduction.None)
            {
                fast.Backward(p, t, up, gb, w);
                exact.Backward(p, t, up, gbe, w);
            }
            else
            {
                fast.Backward(p, t, T.CreateTruncating(0.75), gb, w);
                exact.Backward(p, t, T.CreateTruncating(0.75), gbe, w);
            }

            Gradients(at + " Backward", gb, gbe, gradientTolerance, failures);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)) + $"\n({failures.Count} failures)");
    }

    private static T[] PerBox<T>(BoxRegressionLoss<T> exact, BoxFormat format, T[] p, T[] t, T[] w)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var none = Make<T>(KindOf(exact), Reduction.None, fast: false, format: format);
        var v = new T[p.Length / 4];
        none.Forward(p, t, v, w);
        return v;
    }

    private static string KindOf<T>(BoxRegressionLoss<T> loss)
        where T : unmanaged, IFloatingPointIeee754<T> => loss switch
    {
        IoULoss<T> { Mode: IoULossMode.Square } => "iou-square",
        IoULoss<T> => "iou-linear",
        GIoULoss<T> => "giou",
        DIoULoss<T> => "diou",
        CIoULoss<T> => "ciou",
        _ => throw new ArgumentException(loss.GetType().Name),
    };

    private static bool BothNaN<T>(T a, T b)
        where T : IFloatingPointIeee754<T> => T.IsNaN(a) && T.IsNaN(b);

    private static void Same<T>(string at, T actual, T expected, List<string> failures)
        where T : IFloatingPointIeee754<T>
    {
        if (!(actual == expected || BothNaN(actual, expected)))
        {
            failures.Add($"{at}: {actual:R} != {expected:R}");
        }
    }

    private static void Values<T>(string at, T[] actual, T[] expected, bool bitExact, double tolerance, List<string> failures)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < expected.Length; i++)
        {
            T a = actual[i], e = expected[i];
            if (BothNaN(a, e) || a == e)
            {
                continue;
            }

            double da = double.CreateTruncating(a), de = double.CreateTruncating(e);
            if (bitExact || !(Math.Abs(da - de) <= tolerance * Math.Max(1, Math.Abs(de))))
            {
                failures.Add($"{at}: value[{i}] {a:R} vs dual {e:R}");
            }
        }
    }

    private static void Gradients<T>(string at, T[] actual, T[] expected, double tolerance, List<string> failures)
        where T : IFloatingPointIeee754<T>
    {
        for (int box = 0; box < expected.Length / 4; box++)
        {
            double scale = 0;
            for (int k = 0; k < 4; k++)
            {
                scale = Math.Max(scale, Math.Abs(double.CreateTruncating(expected[4 * box + k])));
            }

            for (int k = 0; k < 4; k++)
            {
                T a = actual[4 * box + k], e = expected[4 * box + k];
                if (BothNaN(a, e) || a == e)
                {
                    continue;
                }

                double da = double.CreateTruncating(a), de = double.CreateTruncating(e);
                if (!double.IsFinite(de) || !(Math.Abs(da - de) <= tolerance * scale))
                {
                    failures.Add($"{at}: gradient[{box}][{k}] {a:R} vs dual {e:R} (box scale {scale:R})");
                }
            }
        }
    }

    private static void Reduced<T>(string at, T actual, T expected, T[] perBox, double tolerance, List<string> failures)
        where T : IFloatingPointIeee754<T>
    {
        if (BothNaN(actual, expected) || actual == expected)
        {
            return;
        }

        double magnitude = perBox.Sum(v => T.IsFinite(v) ? Math.Abs(double.CreateTruncating(v)) : 0);
        double da = double.CreateTruncating(actual), de = double.CreateTruncating(expected);
        if (!(Math.Abs(da - de) <= tolerance * Math.Max(1, magnitude)))
        {
            failures.Add($"{at}: reduced {actual:R} vs dual {expected:R}");
        }
    }

    /// <summary>
    /// Each box computed alone (a length-1 call runs the scalar code) gives the same bits as inside a long batch
    /// (vector blocks, declined lanes, scalar tail): values and gradients, float and double.
    /// </summary>
    [Theory]
    [InlineData("iou-linear")]
    [InlineData("iou-square")]
    [InlineData("giou")]
    [InlineData("diou")]
    [InlineData("ciou")]
    public void EachBoxAlone_SameBitsAsInABatch(string kind)
    {
        Check<double>();
        Check<float>();

        void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int n = 71;
            BoxRegressionLoss<T> loss = Make<T>(kind, Reduction.None, fast: true);
            (T[] p, T[] t) = MixedPairs<T>(n, seed: 7);
            T[] v = new T[n], g = new T[4 * n];
            loss.ForwardBackward(p, t, g, v);
            var failures = new List<string>();
            for (int i = 0; i < n; i++)
            {
                T[] v1 = new T[1], g1 = new T[4];
                loss.ForwardBackward(p.AsSpan(4 * i, 4), t.AsSpan(4 * i, 4), g1, v1);
                Same($"{typeof(T).Name} {kind} value[{i}]", v1[0], v[i], failures);
                for (int k = 0; k < 4; k++)
                {
                    Same($"{typeof(T).Name} {kind} gradient[{i}][{k}]", g1[k], g[4 * i + k], failures);
                }
            }

            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }
    }

    /// <summary>
    /// A large batch of ordinary boxes (so the parallel chunks run) reduces to nearly the dual path's value, and the
    /// same value whatever the degree of parallelism; CIoU with a non-default eps (α's eps, the inner DIoU keeps 1e-7).
    /// </summary>
    [Fact]
    public void LargeBatch_MatchesDualPath_AndIsDeterministic()
    {
        const int n = 40_000;
        (double[] p, double[] t) = MixedPairs<double>(n, seed: 3);
        foreach (string kind in Kinds)
        {
            BoxRegressionLoss<double> fast = Make<double>(kind, Reduction.Mean, fast: true, eps: 1e-5);
            BoxRegressionLoss<double> exact = Make<double>(kind, Reduction.Mean, fast: false, eps: 1e-5);
            double[] g = new double[4 * n], ge = new double[4 * n];
            double a = fast.ForwardBackward(p, t, g);
            double b = fast.ForwardBackward(p, t, g);
            double e = exact.ForwardBackward(p, t, ge);
            Assert.Equal(b, a);
            Assert.True(double.IsNaN(e) ? double.IsNaN(a) : Math.Abs(a - e) <= 1e-13 * Math.Abs(e), $"{kind}: {a:R} vs dual {e:R}");
        }

        // Without the non-finite boxes of the mixed batch the mean is finite.
        (double[] p2, double[] t2) = MixedPairs<double>(n, seed: 4, special: false);
        var ciou = Make<double>("ciou", Reduction.Mean, fast: true);
        double m = ciou.Forward(p2, t2);
        double me = Make<double>("ciou", Reduction.Mean, fast: false).Forward(p2, t2);
        Assert.True(double.IsFinite(m) && Math.Abs(m - me) <= 1e-13 * me, $"ciou mean {m:R} vs dual {me:R}");
    }

    /// <summary>The arctangent of the CIoU kernel against Math.Atan2: ≤ 2 ulp in double and in float (against the double result).</summary>
    [Fact]
    public void Atan_IsAccurate()
    {
        var rng = new Random(11);
        double worstDouble = 0, worstFloat = 0;
        for (int i = 0; i < 200_000; i++)
        {
            double n = Math.Pow(10, 8 * rng.NextDouble() - 4) * (rng.Next(2) == 0 ? -1 : 1), d = Math.Pow(10, 8 * rng.NextDouble() - 4);
            if (i % 4 == 0)
            {
                // Near the reduction's switch points tan(π/8) and tan(3π/8).
                n = d * (rng.Next(2) == 0 ? 0.41421356237309503 : 2.414213562373095) * (1 + 1e-6 * (rng.NextDouble() - 0.5));
            }

            double reference = Math.Atan2(n, d);
            double ours = TorchvisionAtan<double>.Atan(n, d);
            worstDouble = Math.Max(worstDouble, Math.Abs(ours - reference) / Math.ScaleB(1, Math.ILogB(reference) - 52));

            float nf = (float)n, df = (float)d;
            double referenceF = Math.Atan2(nf, df);
            float oursF = TorchvisionAtan<float>.Atan(nf, df);
            worstFloat = Math.Max(worstFloat, Math.Abs(oursF - referenceF) / Math.ScaleB(1, Math.ILogB(referenceF) - 23));
        }

        Assert.True(worstDouble <= 2 && worstFloat <= 2, $"atan error: double {worstDouble} ulp, float {worstFloat} ulp");
    }

    /// <summary>
    /// Past tan(3π/8) the arctangent is π/2 + atan(−dd/|n|) with π/2 split into double's value and the residual it misses
    /// (Cody–Waite): with the residual's sign right, the double result is Math.Atan2's bits for all but a few per cent
    /// of arguments; with it wrong, the error of every result moves by about half an ulp and over half of
    /// them differ. (The ≤ 2 ulp bound of <see cref="Atan_IsAccurate"/> cannot see that.)
    /// </summary>
    [Fact]
    public void Atan_PastTanThreePiOver8_IsAtan2sBitsAlmostAlways()
    {
        var rng = new Random(11);
        int differ = 0, count = 0;
        for (int i = 0; i < 100_000; i++)
        {
            double d = Math.Pow(10, 6 * rng.NextDouble() - 3), n = d * Math.Pow(10, 0.4 + 4 * rng.NextDouble());
            differ += TorchvisionAtan<double>.Atan(n, d) != Math.Atan2(n, d) ? 1 : 0;
            count++;
        }

        Assert.True(differ < count / 20, $"{differ} of {count} results differ from Math.Atan2");
    }

    /// <summary>The vector arctangent gives the scalar one's bits, lane by lane.</summary>
    [Fact]
    public void Atan_VectorMatchesScalar()
    {
        var rng = new Random(5);
        int count = Vector<double>.Count;
        for (int i = 0; i < 10_000; i++)
        {
            double[] n = new double[count], d = new double[count];
            for (int k = 0; k < count; k++)
            {
                n[k] = Math.Pow(10, 6 * rng.NextDouble() - 3) * (rng.Next(2) == 0 ? -1 : 1);
                d[k] = Math.Pow(10, 6 * rng.NextDouble() - 3);
            }

            Vector<double> r = TorchvisionAtan<double>.Atan(new Vector<double>(n), new Vector<double>(d));
            for (int k = 0; k < count; k++)
            {
                Assert.Equal(TorchvisionAtan<double>.Atan(n[k], d[k]), r[k]);
            }

            float[] nf = new float[Vector<float>.Count], df = new float[Vector<float>.Count];
            for (int k = 0; k < nf.Length; k++)
            {
                (nf[k], df[k]) = ((float)(n[k % count] * (1 + k)), (float)d[k % count]);
            }

            Vector<float> rf = TorchvisionAtan<float>.Atan(new Vector<float>(nf), new Vector<float>(df));
            for (int k = 0; k < nf.Length; k++)
            {
                Assert.Equal(TorchvisionAtan<float>.Atan(nf[k], df[k]), rf[k]);
            }
        }
    }
}
