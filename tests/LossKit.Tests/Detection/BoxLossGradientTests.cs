using LossKit.Detection;
using LossKit.Registry;
using LossKit.Tests.Infrastructure;
using Xunit.Sdk;

namespace LossKit.Tests.Detection;

/// <summary>
/// Finite-difference checks (double) of every box loss under every convention and box format, on random boxes kept
/// away from ties and kinks, and of <see cref="BoxConvert.ConvertGradient{T}"/>.
/// </summary>
public class BoxLossGradientTests
{
    /// <summary>Every box loss and convention: (registry spec, convention).</summary>
    public static readonly (string Kind, BoxLossConvention Convention)[] Configurations =
    [
        ("iou mode=linear", BoxLossConvention.Torchvision), ("iou mode=square", BoxLossConvention.Torchvision), ("iou mode=log", BoxLossConvention.Torchvision),
        ("iou mode=linear", BoxLossConvention.MMDetection), ("iou mode=square", BoxLossConvention.MMDetection), ("iou mode=log", BoxLossConvention.MMDetection),
        ("iou mode=linear", BoxLossConvention.Ultralytics),
        ("giou", BoxLossConvention.Torchvision), ("giou", BoxLossConvention.MMDetection), ("giou", BoxLossConvention.Ultralytics),
        ("diou", BoxLossConvention.Torchvision), ("diou", BoxLossConvention.MMDetection), ("diou", BoxLossConvention.Ultralytics),
        ("ciou", BoxLossConvention.Torchvision), ("ciou", BoxLossConvention.MMDetection), ("ciou", BoxLossConvention.Ultralytics),
        ("eiou", BoxLossConvention.Torchvision),
        ("siou", BoxLossConvention.MMDetection), ("siou neg_gamma=true", BoxLossConvention.MMDetection),
        ("extended_iou", BoxLossConvention.MMDetection),
    ];

    public static TheoryData<string, BoxLossConvention, BoxFormat> Cases()
    {
        var data = new TheoryData<string, BoxLossConvention, BoxFormat>();
        foreach ((string kind, BoxLossConvention convention) in Configurations)
        {
            foreach (BoxFormat f in new[] { BoxFormat.Xyxy, BoxFormat.Xywh, BoxFormat.Cxcywh })
            {
                data.Add(kind, convention, f);
            }
        }

        return data;
    }

    /// <summary>
    /// Builds a box loss from its registry spec (eps 1e-7, mmdetection's config eps 1e-6 for its own losses); the
    /// convention is set where the entry has one (the losses of one library have theirs built in).
    /// </summary>
    public static BoxRegressionLoss<T> Make<T>(string kind, BoxLossConvention convention, BoxFormat format, Reduction reduction = Reduction.None, bool validate = false)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        LossArguments args = LossRegistry.Parse(kind).Set("reduction", reduction).Set("format", format).Set("validate", validate)
            .Set("eps", convention == BoxLossConvention.MMDetection ? 1e-6 : 1e-7);
        if (args.Entry.Parameter("convention") is not null)
        {
            args.Set("convention", convention);
        }

        return (BoxRegressionLoss<T>)args.Entry.Create<T>(args);
    }

    /// <summary>
    /// Random xyxy pairs away from every tie and kink: sides ≥ 4, every target edge offset from the prediction's by
    /// 0.3 … 1.5 (so max/min never tie and the overlap is ≥ 1), width and height differences ≥ 0.2 (SIoU's |w1 − w2|),
    /// centre offsets ≥ 0.2 per axis (SIoU's |s_cw|), the SIoU angle branch and mmdetection's IoU &gt; 0.5 gate at
    /// least 0.02 from their switch, no square boxes (CIoU's v ≠ 0). <paramref name="disjoint"/> adds far-apart pairs.
    /// </summary>
    public static (double[] Pred, double[] Target) RandomPairs(int n, int seed, bool disjoint = false)
    {
        var rng = new Random(seed);
        var p = new double[4 * n];
        var t = new double[4 * n];
        for (int i = 0; i < n; i++)
        {
            while (true)
            {
                double x1 = 20 * rng.NextDouble(), y1 = 20 * rng.NextDouble();
                double w = 4 + 6 * rng.NextDouble(), h = 4 + 6 * rng.NextDouble();
                double[] d = new double[4];
                for (int k = 0; k < 4; k++)
                {
                    d[k] = (0.3 + 1.2 * rng.NextDouble()) * (rng.Next(2) == 0 ? -1 : 1);
                }

                double[] a = [x1, y1, x1 + w, y1 + h];
                double[] b = [x1 + d[0], y1 + d[1], x1 + w + d[2], y1 + h + d[3]];
                if (disjoint && i % 2 == 1)
                {
                    b = [b[0] + 15, b[1] - 12, b[2] + 15, b[3] - 12];
                }

                double wa = a[2] - a[0], ha = a[3] - a[1], wb = b[2] - b[0], hb = b[3] - b[1];
                double scw = (b[0] + b[2] - a[0] - a[2]) / 2, sch = (b[1] + b[3] - a[1] - a[3]) / 2;
                double sin1 = Math.Abs(scw) / Math.Sqrt(scw * scw + sch * sch);
                double iw = Math.Max(0, Math.Min(a[2], b[2]) - Math.Max(a[0], b[0])), ih = Math.Max(0, Math.Min(a[3], b[3]) - Math.Max(a[1], b[1]));
                double iou = iw * ih / (wa * ha + wb * hb - iw * ih);
                bool ok = Math.Abs(wa - wb) >= 0.2 && Math.Abs(ha - hb) >= 0.2 && Math.Abs(scw) >= 0.2 && Math.Abs(sch) >= 0.2
                    && Math.Abs(sin1 - Math.Sqrt(0.5)) >= 0.02 && Math.Abs(iou - 0.5) >= 0.02
                    && Math.Abs(wa - ha) >= 0.2 && Math.Abs(wb - hb) >= 0.2;
                if (ok)
                {
                    a.CopyTo(p, 4 * i);
                    b.CopyTo(t, 4 * i);
                    break;
                }
            }
        }

        return (p, t);
    }

    private static double[] ToFormat(double[] xyxy, BoxFormat f)
    {
        var r = new double[xyxy.Length];
        BoxConvert.Convert<double>(xyxy, BoxFormat.Xyxy, f, r);
        return r;
    }

    /// <summary>CIoU's v = (4/π²)(atan(w_g/h_g) − atan(w/h))² with the convention's eps on the heights.</summary>
    private static double[] AspectV(double[] predXyxy, double[] targetXyxy, BoxLossConvention convention, BoxFormat format)
    {
        double eps = convention switch
        {
            BoxLossConvention.MMDetection => 1e-6,
            BoxLossConvention.Ultralytics when format != BoxFormat.Cxcywh => 1e-7,
            _ => 0.0,
        };
        var v = new double[predXyxy.Length / 4];
        for (int i = 0; i < v.Length; i++)
        {
            double w = predXyxy[4 * i + 2] - predXyxy[4 * i], h = predXyxy[4 * i + 3] - predXyxy[4 * i + 1] + eps;
            double wg = targetXyxy[4 * i + 2] - targetXyxy[4 * i], hg = targetXyxy[4 * i + 3] - targetXyxy[4 * i + 1] + eps;
            double d = Math.Atan(wg / hg) - Math.Atan(w / h);
            v[i] = 4 / (Math.PI * Math.PI) * d * d;
        }

        return v;
    }

    private static double[] Values(BoxRegressionLoss<double> lossNone, double[] p, double[] t)
    {
        var v = new double[p.Length / 4];
        lossNone.Forward(p, t, v);
        return v;
    }

    private static void AssertClose(double[] analytic, double[] numeric, string what)
    {
        for (int i = 0; i < analytic.Length; i++)
        {
            double tol = 1e-7 + 1e-6 * Math.Abs(numeric[i]);
            if (!(Math.Abs(analytic[i] - numeric[i]) <= tol))
            {
                throw new XunitException($"{what}: d/dx[{i}] analytic {analytic[i]:R}, finite differences {numeric[i]:R}");
            }
        }
    }

    /// <summary>
    /// Backward (None with a per-box upstream; Mean with a scalar upstream and per-box weights) against central
    /// differences of Σ upstreamᵢ·valueᵢ. CIoU's α is detached (as in all three references), so finite differences of
    /// the loss would include v·∇α; for CIoU the objective freezes α at its value: Σ uᵢ(DIoUᵢ + αᵢ⁰·vᵢ), with
    /// αᵢ⁰ = (CIoUᵢ − DIoUᵢ)/vᵢ read from the library's own values at the point.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_MatchesFiniteDifferences(string kind, BoxLossConvention convention, BoxFormat format)
    {
        bool disjoint = kind is "giou" or "diou" or "eiou" || (kind == "ciou" && convention != BoxLossConvention.MMDetection);
        (double[] pXyxy, double[] tXyxy) = RandomPairs(6, 1234 + kind.Length * 7 + (int)convention * 31 + (int)format * 101, disjoint);
        double[] p = ToFormat(pXyxy, format), t = ToFormat(tXyxy, format);
        int n = p.Length / 4;
        var rng = new Random(77);
        double[] upstream = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] weight = Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble()).ToArray();

        BoxRegressionLoss<double> none = Make<double>(kind, convention, format);
        BoxRegressionLoss<double> mean = Make<double>(kind, convention, format, Reduction.Mean);
        Func<double[], double[]> values;
        if (kind == "ciou")
        {
            BoxRegressionLoss<double> diou = Make<double>("diou", convention, format);
            if (convention == BoxLossConvention.Torchvision)
            {
                Assert.Equal(1e-7, diou.Eps); // torchvision's CIoU always calls its DIoU with eps 1e-7
            }

            double[] c0 = Values(none, p, t), d0 = Values(diou, p, t), v0 = AspectV(pXyxy, tXyxy, convention, format);
            double[] alpha = Enumerable.Range(0, n).Select(i => (c0[i] - d0[i]) / v0[i]).ToArray();
            Assert.Contains(alpha, a => a > 0); // the aspect term is exercised
            values = x =>
            {
                double[] d = Values(diou, x, t);
                var xy = new double[x.Length];
                BoxConvert.Convert<double>(x, format, BoxFormat.Xyxy, xy);
                double[] v = AspectV(xy, tXyxy, convention, format);
                return Enumerable.Range(0, n).Select(i => d[i] + alpha[i] * v[i]).ToArray();
            };
        }
        else
        {
            values = x => Values(none, x, t);
        }

        // None, per-box upstream.
        var g = new double[p.Length];
        none.Backward(p, t, upstream, g);
        double[] fd = FiniteDifference.Gradient(x => values(x).Select((v, i) => v * upstream[i]).Sum(), p);
        AssertClose(g, fd, $"{kind}/{convention}/{format} None");

        // Mean with weights and a scalar upstream 0.7: objective 0.7·Σ wᵢ·valueᵢ / N.
        var gm = new double[p.Length];
        mean.Backward(p, t, 0.7, gm, weight);
        double[] fdm = FiniteDifference.Gradient(x => 0.7 * values(x).Select((v, i) => v * weight[i]).Sum() / n, p);
        AssertClose(gm, fdm, $"{kind}/{convention}/{format} Mean, weighted");

        // The fused pass (upstream 1) agrees with Backward (upstream 0.7) up to that factor.
        var gf = new double[p.Length];
        mean.ForwardBackward(p, t, gf, default, weight);
        for (int i = 0; i < gf.Length; i++)
        {
            Assert.True(Math.Abs(0.7 * gf[i] - gm[i]) <= 1e-15 * (1 + Math.Abs(gm[i])), $"ForwardBackward [{i}]: {gf[i]:R} × 0.7 vs {gm[i]:R}");
        }
    }

    public static TheoryData<BoxFormat, BoxFormat> FormatPairs()
    {
        var data = new TheoryData<BoxFormat, BoxFormat>();
        BoxFormat[] all = [BoxFormat.Xyxy, BoxFormat.Xywh, BoxFormat.Cxcywh];
        foreach (BoxFormat a in all)
        {
            foreach (BoxFormat b in all)
            {
                data.Add(a, b);
            }
        }

        return data;
    }

    /// <summary>ConvertGradient(c) = ∇ₓ [c · Convert(x)] for a random linear functional c, by finite differences.</summary>
    [Theory]
    [MemberData(nameof(FormatPairs))]
    public void ConvertGradient_MatchesFiniteDifferences(BoxFormat from, BoxFormat to)
    {
        var rng = new Random(5 + 3 * (int)from + (int)to);
        const int n = 7;
        double[] x = Enumerable.Range(0, 4 * n).Select(_ => rng.NextDouble() * 30 - 5).ToArray();
        double[] c = Enumerable.Range(0, 4 * n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double F(double[] b)
        {
            var y = new double[b.Length];
            BoxConvert.Convert<double>(b, from, to, y);
            return y.Select((v, i) => v * c[i]).Sum();
        }

        var g = new double[x.Length];
        BoxConvert.ConvertGradient<double>(c, from, to, g);
        double[] fd = FiniteDifference.Gradient(F, x);
        for (int i = 0; i < g.Length; i++)
        {
            Assert.True(Math.Abs(g[i] - fd[i]) <= 1e-7, $"{from}->{to} [{i}]: {g[i]:R} vs {fd[i]:R}");
        }

        // float agrees with double (the Jacobian's entries are 0, ±1, ±1/2).
        var gf = new float[x.Length];
        BoxConvert.ConvertGradient<float>(Array.ConvertAll(c, v => (float)v), from, to, gf);
        for (int i = 0; i < g.Length; i++)
        {
            Assert.True(Math.Abs(gf[i] - g[i]) <= 1e-6, $"float {from}->{to} [{i}]");
        }
    }

    /// <summary>The chain rule through the formats: the loss gradient in format F equals ConvertGradient of the xyxy
    /// gradient (from = F, to = xyxy), for every format and a CIoU/GIoU loss.</summary>
    [Theory]
    [InlineData("giou", BoxLossConvention.Torchvision, BoxFormat.Xywh)]
    [InlineData("giou", BoxLossConvention.Torchvision, BoxFormat.Cxcywh)]
    [InlineData("ciou", BoxLossConvention.Torchvision, BoxFormat.Cxcywh)]
    [InlineData("diou", BoxLossConvention.MMDetection, BoxFormat.Xywh)]
    public void FormatGradient_IsConvertGradientOfXyxyGradient(string kind, BoxLossConvention convention, BoxFormat format)
    {
        (double[] p, double[] t) = RandomPairs(5, 42);
        var gx = new double[p.Length];
        Make<double>(kind, convention, BoxFormat.Xyxy, Reduction.Sum).Backward(p, t, 1.0, gx);
        double[] pf = ToFormat(p, format), tf = ToFormat(t, format);
        var gf = new double[p.Length];
        Make<double>(kind, convention, format, Reduction.Sum).Backward(pf, tf, 1.0, gf);
        var chained = new double[p.Length];
        BoxConvert.ConvertGradient<double>(gx, format, BoxFormat.Xyxy, chained);
        for (int i = 0; i < gf.Length; i++)
        {
            Assert.True(Math.Abs(gf[i] - chained[i]) <= 1e-12 * (1 + Math.Abs(chained[i])), $"[{i}] {gf[i]:R} vs {chained[i]:R}");
        }
    }
}
