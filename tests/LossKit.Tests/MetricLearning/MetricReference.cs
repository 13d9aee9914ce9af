using System.Numerics;
using System.Text.Json;
using LossKit.MetricLearning;
using LossKit.Tests.Infrastructure;
using Xunit.Sdk;

namespace LossKit.Tests.MetricLearning;

/// <summary>One case of Reference/metric.json (tests/reference/generate_metric.py).</summary>
public sealed class MetricCase
{
    public required string Name { get; init; }

    public required string Loss { get; init; }

    public required IReadOnlyDictionary<string, JsonElement> Params { get; init; }

    public required IReadOnlyDictionary<string, GoldenTensor> Tensors { get; init; }

    public GoldenTensor this[string key] => Tensors[key];

    public bool Has(string key) => Tensors.ContainsKey(key);

    public double Number(string key) => Params[key].GetDouble();

    public string Text(string key) => Params[key].GetString()!;

    public Reduction Reduction => Text("reduction") switch
    {
        "none" => Reduction.None,
        "mean" => Reduction.Mean,
        "sum" => Reduction.Sum,
        string r => throw new InvalidDataException($"{Name}: unknown reduction {r}"),
    };

    public override string ToString() => Name;
}

/// <summary>Loads metric.json once and serves the cases by name and by loss id.</summary>
public static class MetricGolden
{
    public const string FileName = "metric.json";

    private static readonly Lazy<IReadOnlyList<MetricCase>> s_all = new(Load);

    private static readonly Lazy<IReadOnlyDictionary<string, MetricCase>> s_byName = new(() => s_all.Value.ToDictionary(c => c.Name, StringComparer.Ordinal));

    public static IReadOnlyList<MetricCase> All => s_all.Value;

    public static MetricCase Get(string name) => s_byName.Value[name];

    /// <summary>xunit member data: the names of the cases of the given loss ids (comma-separated).</summary>
    public static TheoryData<string> Names(string losses)
    {
        string[] ids = losses.Split(',');
        return GoldenJson.Names(All, c => ids.Contains(c.Loss), c => c.Name);
    }

    private static List<MetricCase> Load() =>
        GoldenJson.LoadCases(FileName, c => new MetricCase
        {
            Name = c.GetProperty("name").GetString()!,
            Loss = c.GetProperty("loss").GetString()!,
            Params = GoldenJson.Params(c),
            Tensors = GoldenJson.Tensors(c),
        });
}

/// <summary>Worst normalised errors of one case in one type: value (all entry points) and gradient (all tensors, all entry points).</summary>
public sealed class MetricResult
{
    public Mismatch Value { get; private set; } = Mismatch.None;

    public Mismatch Gradient { get; private set; } = Mismatch.None;

    public List<string> Failures { get; } = [];

    public void AddValue(string what, ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double baseTolerance, double tolerance, double minimumScale = 0) =>
        Value = Record(what, actual, expected, baseTolerance, tolerance, Value, minimumScale);

    public void AddGradient(string what, ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double baseTolerance, double tolerance, double minimumScale = 0) =>
        Gradient = Record(what, actual, expected, baseTolerance, tolerance, Gradient, minimumScale);

    private Mismatch Record(string what, ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double baseTolerance, double tolerance, Mismatch worst, double minimumScale)
    {
        Mismatch m = Tolerance.Worst(actual, expected, baseTolerance, minimumScale);
        if (!(m.Error <= tolerance))
        {
            Failures.Add(Tolerance.Describe(m, tolerance, what, actual.Length, expected.Length));
        }

        return worst.Max(m);
    }
}

/// <summary>Runs metric.json cases through the library in float or double.</summary>
public static class MetricCheck
{
    public static T[] Convert<T>(double[] data)
        where T : INumberBase<T> => Array.ConvertAll(data, T.CreateTruncating);

    public static double[] Widen<T>(T[] data)
        where T : INumberBase<T> => Tolerance.Widen<T>(data);

    public static MarginFallback Fallback(string s) => s switch
    {
        "none" => MarginFallback.None,
        "threshold" => MarginFallback.Threshold,
        "threshold_inclusive" => MarginFallback.ThresholdInclusive,
        "easy" => MarginFallback.EasyMargin,
        "monotonic" => MarginFallback.Monotonic,
        _ => throw new InvalidDataException(s),
    };

    public static AngularMarginLoss<T> MarginLoss<T>(MetricCase c)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(c.Reduction, c.Number("scale"), c.Number("m1"), c.Number("m2"), c.Number("m3"), Fallback(c.Text("fallback")),
            c.Text("gradient") == "insightface" ? MarginGradient.InsightFace : MarginGradient.Exact);

    /// <summary>The tolerance a case is held to in T: the base tolerance (double 1e-10, float 1e-5) for every case.</summary>
    public static double TolerancesFor<T>(MetricCase c, out string? reason)
    {
        reason = null;
        return Tolerance.For(typeof(T));
    }

    /// <summary>
    /// Absolute floors "scaled to the data" for the margin losses. A row's loss is ln Σ_j e^(z_j − m) + (m − z_y) with
    /// Σ ≥ 1, so the reference's own absolute error is that of O(1) terms (PyTorch's log_softmax computes ln(1 + u) for
    /// a confident row, losing everything below 1e-16 absolute: e.g. cosface/random/sum/n=1,c=2 has the value
    /// 2.07593368e-13 (mpmath), the reference 2.07611706e-13, LossKit 2.0759337e-13 via log1p). Values are therefore
    /// compared with a floor of 1 (|ours − ref| ≤ tol·max(|ref|, 1)). Gradient entries are s·k·p_j and −s·k·(1 − p_y)·T'
    /// with k the upstream factor; where p_y rounds to 1 the reference's (p_y − 1) is exactly 0 while LossKit keeps
    /// Σ_{j≠y} p_j, so gradients are compared with the floor s·k.
    /// </summary>
    public static (double Value, double Gradient) MarginFloors(MetricCase c)
    {
        double up = c["upstream"].Data.Select(Math.Abs).DefaultIfEmpty(0).Max();
        int n = c["input"].Shape[0];
        double k = c.Reduction == Reduction.Mean && n > 0 ? up / n : up;
        return (1.0, c.Number("scale") * k);
    }

    /// <summary>
    /// Gradient floors of the cosine head: a non-degenerate row's gradient is of order |upstream|/‖x‖, so the floor is
    /// max|upstream| / max‖x_i‖ (the strictest such scale). Needed where the exact gradient is 0 but the reference's is
    /// rounding noise, e.g. dim = 1 (the normalisation has zero derivative): ref 8.9e-16, LossKit 0.
    /// </summary>
    public static (double X, double W) HeadFloors(MetricCase c)
    {
        double up = c["upstream"].Data.Select(Math.Abs).DefaultIfEmpty(0).Max();
        return (up / Math.Max(MaxRowNorm(c["input"]), 1e-300), up / Math.Max(MaxRowNorm(c["weight"]), 1e-300));
    }

    private static double MaxRowNorm(GoldenTensor t)
    {
        int rows = t.Shape[0], cols = t.Shape[1];
        double best = 0;
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int q = 0; q < cols; q++)
            {
                s += t.Data[r * cols + q] * t.Data[r * cols + q];
            }

            best = Math.Max(best, Math.Sqrt(s));
        }

        return best;
    }

    /// <summary>Evaluates any metric case in T.</summary>
    public static MetricResult Evaluate<T>(MetricCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double tol = TolerancesFor<T>(c, out _);
        return c.Loss switch
        {
            "cosine_head" => Head<T>(c, tol),
            "head_margin" => HeadMargin<T>(c, tol),
            "center" => Center<T>(c, tol),
            "center_update" => CenterUpdate<T>(c, tol),
            "center_objective" => Objective<T>(c, tol),
            _ => Margin<T>(c, tol),
        };
    }

    public static void Assert<T>(string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        MetricCase c = MetricGolden.Get(name);
        MetricResult r = Evaluate<T>(c);
        if (r.Failures.Count > 0)
        {
            throw new XunitException($"{typeof(T).Name} {name}:\n  " + string.Join("\n  ", r.Failures));
        }
    }

    private static MetricResult Margin<T>(MetricCase c, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double b = Tolerance.For(typeof(T));
        var r = new MetricResult();
        AngularMarginLoss<T> loss = MarginLoss<T>(c);
        T[] x = Convert<T>(c["input"].Data);
        int[] y = c["target"].AsIndices();
        int n = c["input"].Shape[0], k = c["input"].Shape[1];
        bool none = loss.Reduction == Reduction.None;
        double[] expectedValue = c["value"].Data, expectedGrad = c["grad_input"].Data;
        T[] up = Convert<T>(c["upstream"].Data);

        var dest = new T[none ? n : 0];
        T f = loss.Forward(x, y, n, k, dest);
        var g = new T[x.Length];
        if (none)
        {
            loss.Backward(x, y, n, k, up, g);
        }
        else
        {
            loss.Backward(x, y, n, k, up[0], g);
        }

        var fbGrad = new T[x.Length];
        var fbDest = new T[none ? n : 0];
        T fb = loss.ForwardBackward(x, y, n, k, fbGrad, fbDest);
        var scaled = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            scaled[i] = double.CreateTruncating(fbGrad[i]) * double.CreateTruncating(none ? up[i / Math.Max(k, 1)] : up[0]);
        }

        (double valueFloor, double gradientFloor) = MarginFloors(c);
        r.AddValue("Forward", none ? Widen(dest) : [double.CreateTruncating(f)], expectedValue, b, tol, valueFloor);
        r.AddValue("ForwardBackward", none ? Widen(fbDest) : [double.CreateTruncating(fb)], expectedValue, b, tol, valueFloor);
        r.AddGradient("Backward", Widen(g), expectedGrad, b, tol, gradientFloor);
        r.AddGradient("ForwardBackward × upstream", scaled, expectedGrad, b, tol, gradientFloor);
        return r;
    }

    private static MetricResult Head<T>(MetricCase c, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double b = Tolerance.For(typeof(T));
        var r = new MetricResult();
        var head = new CosineHead<T>(c.Number("eps"));
        int n = c["input"].Shape[0], d = c["input"].Shape[1], k = c["weight"].Shape[0];
        T[] x = Convert<T>(c["input"].Data), w = Convert<T>(c["weight"].Data), up = Convert<T>(c["upstream"].Data);
        var ws = new T[CosineHead<T>.WorkspaceSize(n, k, d)];
        var cos = new T[n * k];
        head.Forward(x, w, n, k, d, cos, ws);
        var gx = new T[n * d];
        var gw = new T[k * d];
        head.Backward(x, w, n, k, d, up, gx, gw, ws);
        r.AddValue("Forward", Widen(cos), c["value"].Data, b, tol);
        (double fx, double fw) = HeadFloors(c);
        r.AddGradient("Backward d/dx", Widen(gx), c["grad_input"].Data, b, tol, fx);
        r.AddGradient("Backward d/dW", Widen(gw), c["grad_weight"].Data, b, tol, fw);
        return r;
    }

    private static MetricResult HeadMargin<T>(MetricCase c, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double b = Tolerance.For(typeof(T));
        var r = new MetricResult();
        var head = new CosineHead<T>();
        AngularMarginLoss<T> loss = MarginLoss<T>(c);
        int n = c["input"].Shape[0], d = c["input"].Shape[1], k = c["weight"].Shape[0];
        T[] x = Convert<T>(c["input"].Data), w = Convert<T>(c["weight"].Data);
        int[] y = c["target"].AsIndices();
        double up = c["upstream"].Data[0];
        var ws = new T[CosineHead<T>.WorkspaceSize(n, k, d)];
        var gx = new T[n * d];
        var gw = new T[k * d];
        T value = head.ForwardBackward(loss, x, w, y, n, k, d, gx, gw, new T[n * k], new T[n * k], ws);
        r.AddValue("ForwardBackward", [double.CreateTruncating(value)], c["value"].Data, b, tol);
        r.AddGradient("d/dx × upstream", Widen(gx).Select(v => v * up).ToArray(), c["grad_input"].Data, b, tol);
        r.AddGradient("d/dW × upstream", Widen(gw).Select(v => v * up).ToArray(), c["grad_weight"].Data, b, tol);
        return r;
    }

    private static MetricResult Center<T>(MetricCase c, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double b = Tolerance.For(typeof(T));
        var r = new MetricResult();
        var loss = new CenterLoss<T>(c.Reduction, c.Text("convention") == "paper" ? CenterLossConvention.Paper : CenterLossConvention.KaiyangZhou);
        int n = c["input"].Shape[0], d = c["input"].Shape[1], k = c["centers"].Shape[0];
        T[] x = Convert<T>(c["input"].Data), cen = Convert<T>(c["centers"].Data), up = Convert<T>(c["upstream"].Data);
        int[] y = c["target"].AsIndices();
        bool none = loss.Reduction == Reduction.None;

        var dest = new T[none ? n : 0];
        T f = loss.Forward(x, y, cen, n, k, d, dest);
        var gx = new T[n * d];
        var gc = new T[k * d];
        if (none)
        {
            loss.Backward(x, y, cen, n, k, d, up, gx, gc);
        }
        else
        {
            loss.Backward(x, y, cen, n, k, d, up[0], gx, gc);
        }

        var fbx = new T[n * d];
        var fbc = new T[k * d];
        var fbDest = new T[none ? n : 0];
        T fb = loss.ForwardBackward(x, y, cen, n, k, d, fbx, fbc, fbDest);
        r.AddValue("Forward", none ? Widen(dest) : [double.CreateTruncating(f)], c["value"].Data, b, tol);
        r.AddValue("ForwardBackward", none ? Widen(fbDest) : [double.CreateTruncating(fb)], c["value"].Data, b, tol);
        r.AddGradient("Backward d/dx", Widen(gx), c["grad_input"].Data, b, tol);
        r.AddGradient("Backward d/dc", Widen(gc), c["grad_centers"].Data, b, tol);
        if (!none)
        {
            // ForwardBackward has upstream 1: scale by the golden upstream.
            double u = c["upstream"].Data[0];
            r.AddGradient("ForwardBackward d/dx × upstream", Widen(fbx).Select(v => v * u).ToArray(), c["grad_input"].Data, b, tol);
            r.AddGradient("ForwardBackward d/dc × upstream", Widen(fbc).Select(v => v * u).ToArray(), c["grad_centers"].Data, b, tol);
        }

        return r;
    }

    private static MetricResult CenterUpdate<T>(MetricCase c, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double b = Tolerance.For(typeof(T));
        var r = new MetricResult();
        int n = c["input"].Shape[0], d = c["input"].Shape[1], k = c["centers"].Shape[0];
        T[] x = Convert<T>(c["input"].Data), cen = Convert<T>(c["centers"].Data);
        int[] y = c["target"].AsIndices();
        var counts = new int[k];
        CenterLoss<T>.UpdateCenters(x, y, n, k, d, cen, c.Number("alpha"), counts);
        r.AddValue("centers after the update", Widen(cen), c["centers_after"].Data, b, tol);
        r.AddValue("counts", counts.Select(v => (double)v).ToArray(), c["counts"].Data, b, 0);
        return r;
    }

    private static MetricResult Objective<T>(MetricCase c, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double b = Tolerance.For(typeof(T));
        var r = new MetricResult();
        int n = c["input"].Shape[0], d = c["input"].Shape[1], k = c["weight"].Shape[0];
        T[] x = Convert<T>(c["input"].Data), w = Convert<T>(c["weight"].Data), cen = Convert<T>(c["centers"].Data);
        int[] y = c["target"].AsIndices();
        double lambda = c.Number("lambda");
        CenterLossObjective<T> objective = c.Text("head") == "linear"
            ? new CenterLossObjective<T>(new LossKit.Classification.CrossEntropyLoss<T>(), new CenterLoss<T>(), lambda)
            : new CenterLossObjective<T>(AngularMarginLoss<T>.ArcFace(c.Number("scale"), c.Number("m2")), new CenterLoss<T>(), lambda, new CosineHead<T>());
        var gx = new T[n * d];
        var gw = new T[k * d];
        var gc = new T[k * d];
        JointLossValue<T> v = objective.ForwardBackward(x, w, y, cen, n, k, d, gx, gw, gc, new T[CenterLossObjective<T>.WorkspaceSize(n, k, d)]);
        r.AddValue("total", [double.CreateTruncating(v.Total)], c["value"].Data, b, tol);
        r.AddValue("parts", [double.CreateTruncating(v.Classification), double.CreateTruncating(v.Center)], c["parts"].Data, b, tol);
        r.AddGradient("d/dx", Widen(gx), c["grad_input"].Data, b, tol);
        r.AddGradient("d/dW", Widen(gw), c["grad_weight"].Data, b, tol);
        r.AddGradient("d/dc", Widen(gc), c["grad_centers"].Data, b, tol);
        return r;
    }
}
