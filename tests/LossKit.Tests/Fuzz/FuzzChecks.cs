using System.Globalization;
using System.Numerics;
using LossKit.Layouts;
using LossKit.Registry;
using Xunit.Sdk;

namespace LossKit.Tests.Fuzz;

/// <summary>The assertions of the fuzz properties: finiteness with its documented exceptions, agreement, float vs double.</summary>
internal static class FuzzChecks
{
    /// <summary>
    /// Documented non-finite results for finite inputs, per entry: when the predicate holds, a NaN or ±∞ value or
    /// gradient is the loss's documented behaviour (its XML docs), not a defect. Keep each narrow and say why.
    /// </summary>
    private static readonly Dictionary<string, (Func<FuzzCase, Result, bool> When, string Why)> Documented = new(StringComparer.Ordinal)
    {
        // ExponentialLoss: "e^(−y·f) for −y·f beyond 709 (double) or 88 (float) overflows to +∞, as the reference does".
        ["exponential"] = ((c, _) => c.MaxInput > 88, "e^(−y·f) overflows for |f| > 88 (float) / 709 (double)"),

        // SigmoidFocalLoss / SoftmaxFocalLoss: "for 0 < γ < 1 the gradient is NaN where q = 0 (p saturated to exactly
        // t)" / "in rows where p_y rounds to exactly 1", as autograd. Saturation needs a logit beyond ±15 (float).
        // (One class: p_y = 1 in every row.)
        ["sigmoid_focal"] = ((c, _) => Gamma(c) is > 0 and < 1 && c.MaxInput > 15, "0 < γ < 1 with a saturated probability"),
        // RetinaNetLoss: its focal term is SigmoidFocalLoss (above); with box_loss ciou, a huge delta decodes to a box of
        // zero height (e^dh underflows, or a huge centre swallows the height): CIoULoss's documented h = 0 NaN.
        ["retinanet"] = ((c, _) => (Gamma(c) is > 0 and < 1 && c.MaxInput > 15)
            || (Choice(c, "box_loss") == "ciou" && c["box_regression"].Data.Any(v => Math.Abs(v) > 80)), "focal 0 < γ < 1 saturated; CIoU of a decoded zero-height box"),
        ["softmax_focal"] = ((c, _) => Gamma(c) is > 0 and < 1 && (c.MaxInput > 15 || c["input"].Shape[1] == 1), "0 < γ < 1 with a saturated probability"),

        // VarifocalLoss: "for 0 < γ < 1 the gradient is NaN where p equals t exactly"; QualityFocalLoss: "for 0 < β < 1
        // the gradient is NaN where s or |q − s| is exactly 0", as autograd: both need a saturated σ (|x| > 15).
        ["varifocal"] = ((c, _) => Gamma(c) is > 0 and < 1 && c.MaxInput > 15, "0 < γ < 1 with σ(x) saturated onto t"),
        ["quality_focal"] = ((c, _) => Beta(c) is > 0 and < 1 && c.MaxInput > 15, "0 < β < 1 with σ(x) saturated onto 0 or q"),

        // CIoULoss: "h = 0 gives NaN as in torchvision" (w/h in the aspect term); MMDetection: "identical float boxes can
        // give α = 0/0 = NaN there, as mmdetection".
        ["ciou"] = ((c, _) => ZeroSize(c, height: true) || Identical(c), "torchvision's w/h with h = 0; mmdetection's α = 0/0 for identical boxes"),

        // SIoULoss follows mmdetection, whose shape cost |w − w_g|/max(w, w_g) is 0/0 when both widths are 0 (only the
        // heights get eps): BoxRegressionLoss's "finite except where the reference divides by zero".
        ["siou"] = ((c, _) => ZeroSize(c, height: false), "mmdetection's ω_w = 0/0 for two zero-width boxes"),

        // FastRcnnLoss: "S = 0 gives NaN for both terms (as torchvision)"; RpnLoss: "S = 0 (nothing sampled) gives NaN
        // for both terms (0/0, as torchvision) and zero gradients".
        ["faster_rcnn_roi"] = ((c, r) => c["labels"].Data.Length == 0 && r.ValueNaN, "no RoIs: torchvision's mean over nothing"),
        ["faster_rcnn_rpn"] = ((_, r) => r.ValueNaN && r.GradientsZero, "nothing sampled: torchvision's 0/0"),

        // YoloV3Loss decodes w, h as e^t (darknet, ultralytics): raw outputs beyond ~88 (float) / 709 (double) overflow
        // it, as in the references.
        ["yolov3"] = ((c, _) => c.MaxInput > 80, "e^t of a huge raw output overflows in the box decoding"),
    };

    /// <summary>What a non-finite outcome looks like, for the predicates of <see cref="Documented"/>.</summary>
    internal readonly record struct Result(bool ValueNaN, bool GradientsZero);

    private static double Beta(FuzzCase c) =>
        c.Parameters.Where(p => p.Name == "beta").Select(p => (double)p.Value).DefaultIfEmpty((double)c.Entry.Parameter("beta")!.Default!).First();

    private static string Choice(FuzzCase c, string name) =>
        c.Parameters.Where(p => p.Name == name).Select(p => (string)p.Value).DefaultIfEmpty((string)c.Entry.Parameter(name)!.Default!).First();

    private static double Gamma(FuzzCase c) =>
        c.Parameters.Where(p => p.Name == "gamma").Select(p => (double)p.Value).DefaultIfEmpty((double)c.Entry.Parameter("gamma")!.Default!).First();

    /// <summary>
    /// Whether a predicted or target box has zero height (or width) once converted to xyxy as the losses do (x + w,
    /// cx ± w/2), in double or in float arithmetic: a huge centre swallows a small size.
    /// </summary>
    private static bool ZeroSize(FuzzCase c, bool height)
    {
        string format = c.Parameters.Where(p => p.Name == "format").Select(p => (string)p.Value).DefaultIfEmpty("xyxy").First();
        int k = height ? 1 : 0;
        return c.Arrays.Where(a => a.Name is "input" or "target").Any(a => Enumerable.Range(0, a.Data.Length / 4).Any(i =>
        {
            double lo = a.Data[4 * i + k], v = a.Data[4 * i + k + 2];
            return format switch
            {
                "xyxy" => v - lo == 0 || (float)v - (float)lo == 0,
                "xywh" => (lo + v) - lo == 0 || ((float)lo + (float)v) - (float)lo == 0,
                _ => (lo + v / 2) - (lo - v / 2) == 0 || ((float)lo + (float)v / 2) - ((float)lo - (float)v / 2) == 0,
            };
        }));
    }

    private static bool Identical(FuzzCase c)
    {
        double[] x = c["input"].Data, t = c["target"].Data;
        return Enumerable.Range(0, x.Length / 4).Any(i => x.AsSpan(4 * i, 4).SequenceEqual(t.AsSpan(4 * i, 4)));
    }

    /// <summary>Runs <paramref name="c"/>, failing with the case on any exception (a valid case must evaluate).</summary>
    public static FuzzOutcome<T> RunValid<T>(FuzzCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        try
        {
            return FuzzRunner.Run<T>(c);
        }
        catch (Exception e)
        {
            throw new XunitException($"{typeof(T).Name}: valid case threw {e.GetType().Name}: {e.Message}\n{c}\n{e.StackTrace}");
        }
    }

    /// <summary>
    /// (b): for finite inputs, the value and every gradient are finite, unless (1) the reduction is Mean over a zero
    /// denominator (no values, every row ignored, weights summing to 0: NaN as PyTorch, checked by the same case with Sum
    /// being finite), (2) in float, an input is so large that products of two inputs overflow float (as PyTorch in
    /// float32), or (3) the entry documents it (<see cref="Documented"/>).
    /// </summary>
    public static void Finite<T>(FuzzCase c, FuzzOutcome<T> o)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!c.AllFinite || IsFinite(o))
        {
            return;
        }

        var result = new Result(T.IsNaN(o.Fused), o.Gradients.All(g => g.Data.All(T.IsZero)));
        if (Documented.TryGetValue(c.Entry.Id, out var doc) && doc.When(c, result))
        {
            return;
        }

        if (typeof(T) == typeof(float) && c.Arrays.SelectMany(a => a.Data).Any(v => Math.Abs(v) > 1e17))
        {
            return;
        }

        if (MeanOverNothing<T>(c))
        {
            return;
        }

        throw new XunitException($"{typeof(T).Name}: finite inputs gave a non-finite result ({Describe(o)})\n{c}");
    }

    /// <summary>Mean (or batchmean) whose Sum twin is finite: the NaN is 0/0 of the empty or zero-weight mean.</summary>
    private static bool MeanOverNothing<T>(FuzzCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Reduction reduction = c.Parameters.Where(p => p.Name == "reduction").Select(p => (Reduction)p.Value)
            .DefaultIfEmpty(c.Entry.Parameter("reduction") is { Default: Reduction r } ? r : Reduction.Sum).First();
        if (reduction is not (Reduction.Mean or Reduction.BatchMean) || c.Parameters.Any(p => p.Name == "avg_factor"))
        {
            return false;
        }

        var sum = new FuzzCase
        {
            Entry = c.Entry, Mix = c.Mix, Arrays = c.Arrays,
            Parameters = [.. c.Parameters.Where(p => p.Name != "reduction"), ("reduction", Reduction.Sum)],
        };
        return IsFinite(FuzzRunner.Run<T>(sum));
    }

    public static bool IsFinite<T>(FuzzOutcome<T> o)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        T.IsFinite(o.Fused) && T.IsFinite(o.Forward) && (o.FusedValues?.All(T.IsFinite) ?? true) && o.Gradients.All(g => g.Data.All(T.IsFinite));

    /// <summary>(c): Forward's value (and per-value outputs) and Backward's gradients are those of the fused call, bit for bit.</summary>
    public static void Agree<T>(FuzzCase c, FuzzOutcome<T> o)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var failures = new List<string>();
        if (!Same(o.Forward, o.Fused))
        {
            failures.Add($"Forward {o.Forward} vs ForwardBackward {o.Fused}");
        }

        if (o.ForwardValues is { } fv && o.FusedValues is { } bv && FirstDifference(fv, bv) is int i)
        {
            failures.Add($"per-value output [{i}]: Forward {fv[i]} vs ForwardBackward {bv[i]}");
        }

        if (o.BackwardGradients is { } backward)
        {
            for (int k = 0; k < backward.Count; k++)
            {
                if (FirstDifference(backward[k], o.Gradients[k].Data) is int j)
                {
                    failures.Add($"gradient {o.Gradients[k].Name}[{j}]: Backward {backward[k][j]} vs ForwardBackward {o.Gradients[k].Data[j]}");
                }
            }
        }

        if (failures.Count > 0)
        {
            throw new XunitException($"{typeof(T).Name}: entry points disagree: {string.Join("; ", failures)}\n{c}");
        }
    }

    /// <summary>
    /// (d): float within tolerance of double on the same (float-rounded) inputs, where the double result is finite and
    /// the inputs moderate (|x| ≤ 100: beyond, float's rounding of intermediate products dominates by design).
    /// Value: |f − d| ≤ 1e-3·(|d| + 1); gradients: max |f − d| ≤ 1e-3·max |d| + 1e-6 per gradient array.
    /// </summary>
    public static void FloatNearDouble(FuzzCase rounded, FuzzOutcome<float> f, FuzzOutcome<double> d)
    {
        // avg_factor below 1 divides by as little as float32 eps: it amplifies float's rounding by design.
        if (!IsFinite(d) || rounded.Arrays.SelectMany(a => a.Data).Any(v => Math.Abs(v) > 100)
            || rounded.Parameters.Any(p => p.Name == "avg_factor" && (double)p.Value < 1))
        {
            return;
        }

        var failures = new List<string>();
        if (!(Math.Abs(f.Fused - d.Fused) <= 1e-3 * (Math.Abs(d.Fused) + 1)))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"value: float {f.Fused:R} vs double {d.Fused:R}"));
        }

        for (int k = 0; k < d.Gradients.Count; k++)
        {
            double[] gd = d.Gradients[k].Data;
            float[] gf = f.Gradients[k].Data;
            double scale = gd.Select(Math.Abs).DefaultIfEmpty(0).Max();
            for (int i = 0; i < gd.Length; i++)
            {
                if (!(Math.Abs(gf[i] - gd[i]) <= 1e-3 * scale + 1e-6))
                {
                    failures.Add(string.Create(CultureInfo.InvariantCulture, $"gradient {d.Gradients[k].Name}[{i}]: float {gf[i]:R} vs double {gd[i]:R} (max |grad| {scale:R})"));
                    break;
                }
            }
        }

        if (failures.Count > 0)
        {
            throw new XunitException($"float32 vs float64: {string.Join("; ", failures)}\n{rounded}");
        }
    }

    /// <summary>
    /// (f): Half computes through float32 — on the same Half inputs, its gradients and per-value outputs are the float
    /// results rounded to Half bit for bit, and its value is the float value rounded to Half or one Half step from it
    /// (the reduced value is rounded once from the double sum, not from the float result; a head's summed outputs may
    /// add half a step each).
    /// </summary>
    public static void HalfIsFloatRounded(FuzzCase halfInputs, FuzzOutcome<Half> h, FuzzOutcome<float> f)
    {
        var failures = new List<string>();
        // A head's value is the sum of its outputs, which are themselves rounded to Half: each may move it half a step.
        Half rounded = (Half)f.Fused;
        double slack = HalfStep(rounded) + (h.FusedValues?.Sum(v => HalfStep(v) / 2) ?? 0);
        if (!Same(h.Fused, rounded) && !(Half.IsFinite(rounded) && Math.Abs((double)h.Fused - (double)rounded) <= slack))
        {
            failures.Add($"value: Half {h.Fused} vs float {f.Fused} rounded {rounded}");
        }

        if (h.FusedValues is { } hv && f.FusedValues is { } fv && FirstDifference(hv, Array.ConvertAll(fv, v => (Half)v)) is int i)
        {
            failures.Add($"per-value output [{i}]: Half {hv[i]} vs float {fv[i]}");
        }

        for (int k = 0; k < h.Gradients.Count; k++)
        {
            if (FirstDifference(h.Gradients[k].Data, Array.ConvertAll(f.Gradients[k].Data, v => (Half)v)) is int j)
            {
                failures.Add($"gradient {h.Gradients[k].Name}[{j}]: Half {h.Gradients[k].Data[j]} vs float {f.Gradients[k].Data[j]}");
            }
        }

        if (failures.Count > 0)
        {
            throw new XunitException($"Half vs float32 rounded to Half: {string.Join("; ", failures)}\n{halfInputs}");
        }
    }

    private static double HalfStep(Half h) => (double)Half.BitIncrement(Half.Abs(h)) - (double)Half.Abs(h);

    /// <summary>(e): two outcomes bit for bit.</summary>
    public static void Identical<T>(FuzzCase c, FuzzOutcome<T> a, FuzzOutcome<T> b, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var failures = new List<string>();
        if (!Same(a.Forward, b.Forward) || !Same(a.Fused, b.Fused))
        {
            failures.Add($"value {a.Fused} vs {b.Fused} (Forward {a.Forward} vs {b.Forward})");
        }

        if (a.FusedValues is { } av && b.FusedValues is { } bv && FirstDifference(av, bv) is int i)
        {
            failures.Add($"per-value output [{i}] {av[i]} vs {bv[i]}");
        }

        for (int k = 0; k < a.Gradients.Count; k++)
        {
            if (FirstDifference(a.Gradients[k].Data, b.Gradients[k].Data) is int j)
            {
                failures.Add($"gradient {a.Gradients[k].Name}[{j}] {a.Gradients[k].Data[j]} vs {b.Gradients[k].Data[j]}");
            }
        }

        if (failures.Count > 0)
        {
            throw new XunitException($"{typeof(T).Name} {what}: {string.Join("; ", failures)}\n{c}");
        }
    }

    private static bool Same<T>(T a, T b)
        where T : unmanaged, IFloatingPointIeee754<T> => a.Equals(b) || (T.IsNaN(a) && T.IsNaN(b));

    private static int? FirstDifference<T>(T[] a, T[] b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            if (!Same(a[i], b[i]))
            {
                return i;
            }
        }

        return a.Length == b.Length ? null : Math.Min(a.Length, b.Length);
    }

    private static string Describe<T>(FuzzOutcome<T> o)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string grads = string.Join(", ", o.Gradients.Select(g =>
        {
            int bad = Array.FindIndex(g.Data, v => !T.IsFinite(v));
            return bad < 0 ? $"{g.Name} finite" : $"{g.Name}[{bad}] = {g.Data[bad]}";
        }));
        return $"value {o.Fused}, Forward {o.Forward}, {grads}";
    }
}
