using System.Numerics;
using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;
using Xunit.Sdk;

namespace LossKit.Tests.Criteria;

/// <summary>One compared output of a golden case: ours (widened to double) against the reference.</summary>
/// <param name="What">Which output and entry point ("grad…" for gradients).</param>
/// <param name="Actual">Our values.</param>
/// <param name="Expected">The reference values.</param>
/// <param name="Exact">Integer outputs (matches, labels, counts) must be identical.</param>
public sealed record Comparison(string What, double[] Actual, double[] Expected, bool Exact)
{
    public bool IsGradient => What.StartsWith("grad", StringComparison.Ordinal);
}

/// <summary>
/// Runs a criteria.json case through the library in <typeparamref name="T"/>: every entry point that produces the
/// case's outputs (Forward and ForwardBackward, the full path and the stage entry points), with and without a reused
/// workspace, and lists the comparisons with the reference.
/// </summary>
public static class CriteriaRunner
{
    public static List<Comparison> Evaluate<T>(CriteriaCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var list = new List<Comparison>();
        var ws = new CriterionWorkspace<T>();
        switch (c.Kind)
        {
            case "box_encode":
            {
                BoxCoder coder = Coder(c);
                T[] boxes = c.In<T>("boxes"), anchors = c.In<T>("anchors");
                var deltas = new T[boxes.Length];
                coder.Encode<T>(boxes, anchors, deltas);
                Add(list, c, "deltas", "deltas", deltas);
                break;
            }

            case "box_decode":
            {
                BoxCoder coder = Coder(c);
                T[] deltas = c.In<T>("deltas"), anchors = c.In<T>("anchors"), upstream = c.In<T>("upstream");
                var boxes = new T[deltas.Length];
                var grad = new T[deltas.Length];
                coder.Decode<T>(deltas, anchors, boxes);
                coder.DecodeGradient<T>(deltas, anchors, upstream, grad);
                Add(list, c, "boxes", "boxes", boxes);
                Add(list, c, "grad_deltas", "grad_deltas", grad);
                break;
            }

            case "matcher":
            {
                var matcher = new Matcher(c.Number("high"), c.Number("low"), c.Flag("allow_low_quality"));
                int[] shape = c.Shape("quality");
                var matches = new int[shape[1]];
                matcher.Match<T>(c.In<T>("quality"), shape[0], shape[1], matches);
                AddInts(list, c, "matches", "matches", matches);
                break;
            }

            case "rpn_assign":
            {
                var rpn = new RpnLoss<T>();
                T[] anchors = c.In<T>("anchors");
                int[] counts = c.InInts("gt_counts");
                int n = counts.Length * anchors.Length / 4;
                var labels = new int[n];
                var targets = new T[4 * n];
                rpn.AssignTargets(anchors, c.In<T>("gt_boxes"), counts, labels, targets, ws);
                AddInts(list, c, "labels", "labels", labels);
                Add(list, c, "regression_targets", "regression_targets", targets);
                break;
            }

            case "rpn_loss":
            {
                var rpn = new RpnLoss<T>();
                T[] objectness = c.In<T>("objectness"), deltas = c.In<T>("deltas"), targets = c.In<T>("regression_targets");
                int[] labels = c.InInts("labels");
                SampleKind[] selection = Array.ConvertAll(c.InInts("selection"), v => (SampleKind)v);
                RpnLossTerms<T> forward = rpn.ForwardFromTargets(objectness, deltas, labels, targets, selection);
                var go = new T[objectness.Length];
                var gd = new T[deltas.Length];
                RpnLossTerms<T> fb = rpn.ForwardBackwardFromTargets(objectness, deltas, labels, targets, selection, go, gd, ws);
                AddRpn(list, c, forward, fb, go, gd);
                break;
            }

            case "rpn_full":
            {
                var rpn = new RpnLoss<T>();
                T[] objectness = c.In<T>("objectness"), deltas = c.In<T>("deltas"), anchors = c.In<T>("anchors"), gt = c.In<T>("gt_boxes");
                int[] counts = c.InInts("gt_counts");
                RpnLossTerms<T> forward = rpn.Forward(objectness, deltas, anchors, gt, counts);
                var go = new T[objectness.Length];
                var gd = new T[deltas.Length];
                RpnLossTerms<T> fb = rpn.ForwardBackward(objectness, deltas, anchors, gt, counts, go, gd, seed: 12345, workspace: ws);
                AddRpn(list, c, forward, fb, go, gd);
                break;
            }

            case "roi_select":
            {
                var roi = new FastRcnnLoss<T>();
                int[] pCounts = c.InInts("proposal_counts"), gCounts = c.InInts("gt_counts");
                int capacity = roi.SampledCapacity(pCounts, gCounts);
                var proposals = new T[4 * capacity];
                var labels = new int[capacity];
                var targets = new T[4 * capacity];
                var counts = new int[pCounts.Length];
                int s = roi.SelectTrainingSamples(c.In<T>("proposals"), pCounts, c.In<T>("gt_boxes"), c.InInts("gt_labels"), gCounts,
                    c.Integer("classes"), proposals, labels, targets, counts, workspace: ws);
                Add(list, c, "proposals", "proposals", proposals.AsSpan(0, 4 * s));
                AddInts(list, c, "labels", "labels", labels.AsSpan(0, s));
                Add(list, c, "regression_targets", "regression_targets", targets.AsSpan(0, 4 * s));
                AddInts(list, c, "counts", "counts", counts);
                break;
            }

            case "fastrcnn_loss":
            {
                var roi = new FastRcnnLoss<T>();
                int classes = c.Integer("classes");
                T[] logits = c.In<T>("class_logits"), regression = c.In<T>("box_regression"), targets = c.In<T>("regression_targets");
                int[] labels = c.InInts("labels");
                FastRcnnLossTerms<T> forward = roi.Forward(logits, regression, labels, targets, classes);
                var gx = new T[logits.Length];
                var gr = new T[regression.Length];
                FastRcnnLossTerms<T> fb = roi.ForwardBackward(logits, regression, labels, targets, classes, gx, gr, ws);
                AddScalar(list, c, "classifier (Forward)", "classifier", forward.Classifier);
                AddScalar(list, c, "box (Forward)", "box", forward.BoxRegression);
                AddScalar(list, c, "classifier (ForwardBackward)", "classifier", fb.Classifier);
                AddScalar(list, c, "box (ForwardBackward)", "box", fb.BoxRegression);
                Add(list, c, "grad_class_logits", "grad_class_logits", gx);
                Add(list, c, "grad_box_regression", "grad_box_regression", gr);
                break;
            }

            case "retinanet":
            {
                var loss = new RetinaNetLoss<T>(BoxLossOf(c.Text("box_loss")));
                int classes = c.Integer("classes");
                T[] logits = c.In<T>("class_logits"), regression = c.In<T>("box_regression"), anchors = c.In<T>("anchors"), gt = c.In<T>("gt_boxes");
                int[] labels = c.InInts("gt_labels"), counts = c.InInts("gt_counts");
                RetinaNetLossTerms<T> forward = loss.Forward(logits, regression, anchors, gt, labels, counts, classes);
                var gx = new T[logits.Length];
                var gr = new T[regression.Length];
                RetinaNetLossTerms<T> fb = loss.ForwardBackward(logits, regression, anchors, gt, labels, counts, classes, gx, gr, ws);
                AddScalar(list, c, "classification (Forward)", "classification", forward.Classification);
                AddScalar(list, c, "box (Forward)", "box", forward.BoxRegression);
                AddScalar(list, c, "classification (ForwardBackward)", "classification", fb.Classification);
                AddScalar(list, c, "box (ForwardBackward)", "box", fb.BoxRegression);
                Add(list, c, "grad_class_logits", "grad_class_logits", gx);
                Add(list, c, "grad_box_regression", "grad_box_regression", gr);

                // The stages: matching alone, then the head loss from the reference's matches.
                var matches = new int[counts.Length * anchors.Length / 4];
                loss.MatchAnchors(anchors, gt, counts, matches, ws);
                AddInts(list, c, "matches (MatchAnchors)", "matches", matches);
                int[] golden = c.Outputs["matches"].AsIndices();
                RetinaNetLossTerms<T> staged = loss.ForwardBackwardFromMatches(logits, regression, anchors, gt, labels, counts, golden, classes, gx, gr, ws);
                AddScalar(list, c, "classification (FromMatches)", "classification", staged.Classification);
                AddScalar(list, c, "box (FromMatches)", "box", staged.BoxRegression);
                Add(list, c, "grad_class_logits (FromMatches)", "grad_class_logits", gx);
                Add(list, c, "grad_box_regression (FromMatches)", "grad_box_regression", gr);
                break;
            }

            case "yolo":
            {
                YoloV3Loss<T> loss = Yolo<T>(c);
                T[] o0 = c.In<T>("output0"), o1 = c.In<T>("output1"), o2 = c.In<T>("output2"), gt = c.In<T>("gt_boxes");
                int[] labels = c.InInts("gt_labels"), counts = c.InInts("gt_counts");
                YoloV3LossTerms<T> forward = loss.Forward(o0, o1, o2, gt, labels, counts);
                T[] g0 = new T[o0.Length], g1 = new T[o1.Length], g2 = new T[o2.Length];
                YoloV3LossTerms<T> fb = loss.ForwardBackward(o0, o1, o2, gt, labels, counts, g0, g1, g2, ws);
                foreach ((string entry, YoloV3LossTerms<T> terms) in new[] { ("Forward", forward), ("ForwardBackward", fb) })
                {
                    AddScalar(list, c, $"box ({entry})", "box", terms.Box);
                    AddScalar(list, c, $"objectness ({entry})", "objectness", terms.Objectness);
                    AddScalar(list, c, $"classification ({entry})", "classification", terms.Classification);
                }

                Add(list, c, "grad0", "grad0", g0);
                Add(list, c, "grad1", "grad1", g1);
                Add(list, c, "grad2", "grad2", g2);
                break;
            }

            default:
                throw new InvalidDataException($"{c.Name}: unknown kind {c.Kind}");
        }

        return list;
    }

    /// <summary>Runs the case in double and (unless double-only) float and asserts every comparison.</summary>
    public static void AssertCase(string name)
    {
        CriteriaCase c = CriteriaGolden.Get(name);
        var failures = new List<string>();
        Check<double>(c, failures);
        if (!c.DoubleOnly)
        {
            Check<float>(c, failures);
        }

        if (failures.Count > 0)
        {
            throw new XunitException($"{name}:\n  " + string.Join("\n  ", failures));
        }
    }

    /// <summary>The worst normalised error of a comparison (exact comparisons: 0 or ∞).</summary>
    public static Mismatch Error<T>(Comparison m)
    {
        if (m.Exact)
        {
            bool same = m.Actual.AsSpan().SequenceEqual(m.Expected);
            return same ? Mismatch.None : new Mismatch(double.PositiveInfinity, FirstDifference(m.Actual, m.Expected), 0, 0);
        }

        return Tolerance.Worst(m.Actual, m.Expected, Tolerance.For<T>());
    }

    private static void Check<T>(CriteriaCase c, List<string> failures)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double tolerance = Tolerance.For<T>();
        foreach (Comparison m in Evaluate<T>(c))
        {
            Mismatch e = Error<T>(m);
            if (!(e.Error <= tolerance))
            {
                failures.Add(m.Exact
                    ? $"{typeof(T).Name} {m.What}: differs at {e.Index}: [{Show(m.Actual)}] vs reference [{Show(m.Expected)}]"
                    : typeof(T).Name + " " + Tolerance.Describe(e, tolerance, m.What, m.Actual.Length, m.Expected.Length));
            }
        }
    }

    private static int FirstDifference(double[] a, double[] b)
    {
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            if (!a[i].Equals(b[i]))
            {
                return i;
            }
        }

        return Math.Min(a.Length, b.Length);
    }

    private static string Show(double[] v) => string.Join(", ", v.Take(40)) + (v.Length > 40 ? ", …" : "");

    private static BoxCoder Coder(CriteriaCase c)
    {
        double[] w = c.Numbers("weights")!;
        return new BoxCoder(w[0], w[1], w[2], w[3], c.Number("clip"));
    }

    private static BoxLossKind BoxLossOf(string name) => name switch
    {
        "l1" => BoxLossKind.L1,
        "smooth_l1" => BoxLossKind.SmoothL1,
        "giou" => BoxLossKind.GIoU,
        "diou" => BoxLossKind.DIoU,
        "ciou" => BoxLossKind.CIoU,
        _ => throw new InvalidDataException(name),
    };

    public static YoloV3Loss<T> Yolo<T>(CriteriaCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string variant = c.Text("variant");
        double[]? anchors = c.Numbers("anchors");
        var options = new YoloV3UltralyticsOptions { BoxLossKind = variant == "ultralytics_ciou" ? BoxLossKind.CIoU : BoxLossKind.GIoU };
        return new YoloV3Loss<T>(c.Integer("classes"), c.Integer("input_width"), c.Integer("input_height"),
            anchors is null ? ReadOnlySpan<double>.Empty : anchors, c.Number("ignore_threshold"),
            variant == "darknet" ? YoloV3Variant.Darknet : YoloV3Variant.Ultralytics, options);
    }

    private static void AddRpn<T>(List<Comparison> list, CriteriaCase c, RpnLossTerms<T> forward, RpnLossTerms<T> fb, T[] go, T[] gd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        AddScalar(list, c, "objectness (Forward)", "objectness", forward.Objectness);
        AddScalar(list, c, "box (Forward)", "box", forward.BoxRegression);
        AddScalar(list, c, "objectness (ForwardBackward)", "objectness", fb.Objectness);
        AddScalar(list, c, "box (ForwardBackward)", "box", fb.BoxRegression);
        Add(list, c, "grad_objectness", "grad_objectness", go);
        Add(list, c, "grad_deltas", "grad_deltas", gd);
    }

    private static void Add<T>(List<Comparison> list, CriteriaCase c, string what, string key, ReadOnlySpan<T> actual)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        list.Add(new Comparison(what, Tolerance.Widen(actual), c.Outputs[key].Data, false));

    private static void AddScalar<T>(List<Comparison> list, CriteriaCase c, string what, string key, T actual)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        list.Add(new Comparison(what, [double.CreateTruncating(actual)], c.Outputs[key].Data, false));

    private static void AddInts(List<Comparison> list, CriteriaCase c, string what, string key, ReadOnlySpan<int> actual) =>
        list.Add(new Comparison(what, Array.ConvertAll(actual.ToArray(), v => (double)v), c.Outputs[key].Data, true));
}
