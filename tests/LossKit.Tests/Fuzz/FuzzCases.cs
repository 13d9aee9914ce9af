using FsCheck;
using FsCheck.Fluent;
using LossKit.Layouts;
using LossKit.Registry;

namespace LossKit.Tests.Fuzz;

/// <summary>How big the generated arrays are.</summary>
internal enum FuzzSize
{
    /// <summary>Dimensions 0, 1 and a few small ones (around the vector widths).</summary>
    Small,

    /// <summary>Inputs of 65,536+ elements, so the kernels split them into chunks and use the worker pool.</summary>
    Large,
}

/// <summary>
/// Generators of valid fuzz cases per layout (shape rules and data domains from the layout and the losses' checks) and
/// of hyper-parameters inside each <see cref="LossParameter"/>'s documented range; and of invalid variants.
/// </summary>
internal static class FuzzCases
{
    private static readonly int[] SmallDims = [0, 1, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17];

    /// <summary>Valid cases of <paramref name="entry"/> with values of <paramref name="mix"/>.</summary>
    public static Gen<FuzzCase> Valid(LossEntry entry, ValueMix mix, FuzzSize size = FuzzSize.Small) =>
        from parameters in Hyper(entry)
        from c in Arrays(entry, parameters, mix, size)
        select c;

    /// <summary>Cases with non-finite values (valid shapes), or with one deliberate defect (an index out of range, a bad shape, …).</summary>
    public static Gen<FuzzCase> Hostile(LossEntry entry) => Gen.Frequency(
        (1, Valid(entry, ValueMix.NonFinite)),
        (1, Valid(entry, ValueMix.Finite).SelectMany(Break)));

    private static Gen<int> Dim(FuzzSize size) => Gen.Elements(SmallDims);

    // ---- hyper-parameters ----

    /// <summary>The construction parameters (each either left at its default or drawn from its documented range).</summary>
    private static Gen<List<(string Name, object Value)>> Hyper(LossEntry entry)
    {
        Gen<List<(string, object)>> acc = Gen.Constant(new List<(string, object)>());
        foreach (LossParameter p in entry.Parameters.Where(p => p.Role == ParameterRole.Construction))
        {
            Gen<object>? g = ParameterValue(entry, p);
            if (g is null)
            {
                continue;
            }

            acc = from list in acc
                  from keep in Gen.Frequency((3, Gen.Constant(true)), (7, Gen.Constant(false)))
                  from v in g
                  select keep ? list : [.. list, (p.Name, v)];
        }

        return acc.Select(list => new List<(string Name, object Value)>(list)).Select(Fix(entry));
    }

    /// <summary>Combinations the constructors reject although each value is in range (documented on the losses).</summary>
    private static Func<List<(string Name, object Value)>, List<(string Name, object Value)>> Fix(LossEntry entry) => list =>
    {
        if (entry.Parameter("fallback") is not null && entry.Parameter("m1") is not null)
        {
            // AngularMarginLoss: "Threshold and ThresholdInclusive need m1 = 1" (the fallback is defined for m1 = 1 only).
            string fallback = list.Where(p => p.Name == "fallback").Select(p => (string)p.Value).DefaultIfEmpty((string)entry.Parameter("fallback")!.Default!).First();
            if (fallback is "threshold" or "threshold_inclusive")
            {
                list.RemoveAll(p => p.Name == "m1");
            }
        }

        if (entry.ImplementationType == typeof(LossKit.Regression.BalancedL1Loss<>))
        {
            // BalancedL1Loss rejects γ/α so large that (e^(γ/α) − 1)·max(β, 1) overflows the element type (its documented
            // check; about 87 in float): keep γ/α ≤ 80 so that float and double both accept the case.
            double alpha = list.Where(p => p.Name == "alpha").Select(p => (double)p.Value).DefaultIfEmpty(0.5).First();
            double gamma = list.Where(p => p.Name == "gamma").Select(p => (double)p.Value).DefaultIfEmpty(1.5).First();
            if (gamma / alpha > 80)
            {
                list.RemoveAll(p => p.Name is "alpha" or "gamma");
            }
        }

        return list;
    };

    private static Gen<object>? ParameterValue(LossEntry entry, LossParameter p)
    {
        switch (entry.Id, p.Name)
        {
            case ("yolov3", "classes"):
                return Gen.Choose(1, 3).Select(i => (object)i);
            case ("yolov3", "input_width" or "input_height"):
                return Gen.Choose(1, 3).Select(i => (object)(32 * i));
            case ("yolov3", "anchors"):
                return Gen.ArrayOf(FuzzValues.Uniform(1, 120), 18).Select(a => (object)a);
            case ("faster_rcnn_rpn", "seed"):
                return Gen.Choose(0, 1000).Select(i => (object)i);
            case (_, "ignore_index"):
                return null; // drawn with the targets (it must relate to the class count)
        }

        switch (p.Type)
        {
            case ParameterType.Reduction:
                return Gen.Elements(p.Choices.ToArray()).Select(c => (object)Enum.Parse<Reduction>(c, ignoreCase: true));
            case ParameterType.Bool:
                return Gen.Elements(true, false).Select(b => (object)b);
            case ParameterType.Choice:
                return Gen.Elements(p.Choices.ToArray()).Select(c => (object)c);
            case ParameterType.Double:
            {
                (double lo, double hi) = Range(p);
                return FuzzValues.Uniform(lo, hi).Select(d => (object)d);
            }

            case ParameterType.Int:
            {
                (double lo, double hi) = Range(p);
                return Gen.Choose((int)Math.Ceiling(lo), (int)Math.Floor(hi)).Select(i => (object)i);
            }

            default:
                return null; // vectors are per class or per element: drawn with the arrays
        }
    }

    /// <summary>The documented range (an open end moved in by 0.1 %): [Min, Max]; one end open: up to 3·max(default, 1) or down to −1; none: default ± max(1, |default|).</summary>
    private static (double Lo, double Hi) Range(LossParameter p)
    {
        double d = Convert.ToDouble(p.Default, System.Globalization.CultureInfo.InvariantCulture);
        double lo = p.Min ?? (p.Max is double ? Math.Min(-1, d) : d - Math.Max(1, Math.Abs(d)));
        double hi = p.Max ?? (p.Min is double ? 3 * Math.Max(Math.Abs(d), 1) : d + Math.Max(1, Math.Abs(d)));
        if (p.MinExclusive)
        {
            lo += (hi - lo) * 1e-3;
        }

        if (p.MaxExclusive)
        {
            hi -= (hi - lo) * 1e-3;
        }

        return (lo, hi);
    }

    // ---- arrays per layout ----

    private static Gen<FuzzCase> Arrays(LossEntry e, List<(string Name, object Value)> hp, ValueMix mix, FuzzSize size)
    {
        FuzzCase Make(List<FuzzArray> arrays, params (string, object)[] call) =>
            new() { Entry = e, Parameters = [.. hp, .. call], Arrays = arrays, Mix = mix };

        Reduction reduction = hp.Where(p => p.Name == "reduction").Select(p => (Reduction)p.Value)
            .DefaultIfEmpty(e.Parameter("reduction") is { Default: Reduction r } ? r : Reduction.Mean).First();

        return e.Layout.Name switch
        {
            "elementwise" => Elementwise(e, hp, reduction, mix, size).Select(t => Make(t.Arrays, t.Call)),
            "class_index" => ClassIndex(e, reduction, mix, size).Select(t => Make(t.Arrays, t.Call)),
            "boxes" => Boxes(e, hp, reduction, mix, size).Select(t => Make(t.Arrays, t.Call)),
            "scored_rows" => ScoredRows(e, reduction, mix, size).Select(t => Make(t.Arrays, t.Call)),
            "bins" => Bins(e, reduction, mix, size).Select(t => Make(t.Arrays, t.Call)),
            "features_centers" => FeaturesCenters(mix, size).Select(a => Make(a)),
            "cosine_head" => CosineHead(mix, size).Select(a => Make(a)),
            "pairs" => Pairs(mix, size).Select(a => Make(a)),
            "rpn" => Rpn(mix, size).Select(a => Make(a)),
            "fast_rcnn" => FastRcnn(mix, size).Select(a => Make(a)),
            "retinanet" => RetinaNet(mix, size).Select(a => Make(a)),
            "yolov3" => YoloV3(hp, mix).Select(a => Make(a)),
            string other => throw new InvalidOperationException($"no fuzz generator for layout '{other}' (entry {e.Id}): add one"),
        };
    }

    /// <summary>The per-call weight (non-negative, finite; absent half the time) and avg_factor (not with Sum, where it throws by design).</summary>
    private static Gen<(string, object)[]> CallArguments(LossEntry e, Reduction reduction, int weights) =>
        from useWeight in Gen.Elements(true, false)
        from w in FuzzValues.Array(weights, FuzzValues.Uniform(0, 2))
        from useAvg in Gen.Frequency((3, Gen.Constant(true)), (7, Gen.Constant(false)))
        from avg in FuzzValues.Uniform(0, 10)
        select Optional(e.Parameter("weight") is { Role: ParameterRole.Call } && useWeight, "weight", w)
            .Concat(Optional(e.Parameter("avg_factor") is not null && useAvg && reduction != Reduction.Sum, "avg_factor", avg))
            .ToArray();

    private static (string, object)[] Optional(bool when, string name, object value) => when ? [(name, value)] : [];

    private static Gen<int[]> ElementShape(FuzzSize size) => size == FuzzSize.Large
        ? Gen.Elements<int[]>([70_001], [700, 101], [7, 100, 101])
        : Gen.Frequency(
            (1, Gen.Constant(Array.Empty<int>())),
            (4, Dim(size).Select(d => new[] { d })),
            (3, from a in Dim(size) from b in Dim(size) select new[] { a, b }),
            (2, from a in Dim(size) from b in Dim(size) from c in Gen.Elements(1, 2, 3) select new[] { a, b, c }));

    private static Gen<(List<FuzzArray> Arrays, (string, object)[] Call)> Elementwise(LossEntry e, List<(string Name, object Value)> hp, Reduction reduction,
        ValueMix mix, FuzzSize size) =>
        from shape in ElementShape(size)
        let n = shape.Aggregate(1, (a, b) => a * b)
        let logTarget = hp.Any(p => p.Name == "log_target" && p.Value is true)
        from input in Domain(e.InputDomain, n, mix)
        from target in Domain(logTarget ? ValueDomain.LogProbabilities : e.TargetDomain, n, mix)
        from call in CallArguments(e, reduction, n)
        from usePosWeight in Gen.Elements(true, false)
        from posWeight in FuzzValues.Array(shape.Length == 0 ? 1 : shape[^1], FuzzValues.Uniform(0, 3))
        select (new List<FuzzArray> { new("input", shape, input), new("target", shape, target) },
            call.Concat(Optional(e.Parameter("pos_weight") is not null && usePosWeight && (shape.Length == 0 || shape[^1] > 0), "pos_weight", posWeight)).ToArray());

    /// <summary>Values of a registry <see cref="ValueDomain"/>.</summary>
    private static Gen<double[]> Domain(ValueDomain domain, int n, ValueMix mix) => domain switch
    {
        ValueDomain.UnitInterval => FuzzValues.UnitInterval(n, mix),
        ValueDomain.PlusMinusOne => FuzzValues.PlusMinusOne(n),
        ValueDomain.LogProbabilities => FuzzValues.Array(n, FuzzValues.Of(mix, 20).Select(v => -Math.Abs(v))),
        ValueDomain.Cosines => FuzzValues.Array(n, FuzzValues.Uniform(-1, 1)),
        _ => FuzzValues.Array(n, mix),
    };

    private static Gen<(int Rows, int Columns)> Matrix(FuzzSize size, int minColumns = 1) => size == FuzzSize.Large
        ? Gen.Elements((1000, 80), (2500, 33), (700, 101)).Select(t => (t.Item1, Math.Max(t.Item2, minColumns)))
        : from r in Dim(size) from c in Dim(size) select (r, Math.Max(c, minColumns));

    private static Gen<(List<FuzzArray> Arrays, (string, object)[] Call)> ClassIndex(LossEntry e, Reduction reduction, ValueMix mix, FuzzSize size)
    {
        bool cosines = e.Layout.Inputs[0].Shape.Contains("cosines", StringComparison.Ordinal);
        bool hasIgnore = e.Parameter("ignore_index") is not null;
        return from m in Matrix(size)
               let n = m.Rows * m.Columns
               from input in cosines ? FuzzValues.Array(n, FuzzValues.Uniform(-1, 1)) : FuzzValues.Array(n, mix)
               from ignore in Gen.Elements(-100, -100, -1, 0, m.Columns - 1, m.Columns + 3)
               from target in FuzzValues.Indices(m.Rows, m.Columns, hasIgnore ? ignore : null)
               from probabilities in e.ImplementationType == typeof(LossKit.Classification.CrossEntropyLoss<>) ? Gen.Frequency((3, Gen.Constant(true)), (7, Gen.Constant(false))) : Gen.Constant(false)
               from probabilityTarget in FuzzValues.UnitInterval(n, mix)
               from useWeight in Gen.Elements(true, false)
               from weight in FuzzValues.Array(m.Columns, FuzzValues.Uniform(0, 2))
               from useAlpha in Gen.Elements(true, false)
               from alpha in FuzzValues.Array(m.Columns, FuzzValues.Uniform(0, 1))
               from call in CallArguments(e, reduction, 0)
               select (new List<FuzzArray>
                   {
                       new("input", [m.Rows, m.Columns], input),
                       probabilities ? new("target", [m.Rows, m.Columns], probabilityTarget) : new("target", [m.Rows], target),
                   },
                   (probabilities ? call.Where(a => a.Item1 != "avg_factor") : call) // avg_factor: not with probability targets (documented)
                   .Concat(Optional(hasIgnore && ignore != -100, "ignore_index", ignore))
                   .Concat(Optional(e.Parameter("weight") is { Role: ParameterRole.Construction } && useWeight, "weight", weight))
                   .Concat(Optional(e.Parameter("class_alpha") is not null && useAlpha, "class_alpha", alpha))
                   .ToArray());
    }

    /// <summary>Valid boxes in <paramref name="format"/>: corners or centre of <paramref name="mix"/>, non-negative sizes (0 sometimes: degenerate).</summary>
    public static Gen<double[]> BoxArray(int n, string format, ValueMix mix, double scale = 50, bool allowEmpty = true)
    {
        Gen<double> size = allowEmpty
            ? Gen.Frequency((80, FuzzValues.Of(mix == ValueMix.NonFinite ? ValueMix.Finite : mix, scale).Select(Math.Abs)), (20, Gen.Constant(0.0)))
            : FuzzValues.Uniform(0.5, scale);
        Gen<double> corner = FuzzValues.Of(mix, scale);
        Gen<double[]> one = from x in corner from y in corner from w in size from h in size
                            select format == "xyxy" ? new[] { x, y, x + w, y + h } : new[] { x, y, w, h };
        return n == 0 ? Gen.Constant(Array.Empty<double>()) : Gen.ArrayOf(one, n).Select(b => b.SelectMany(v => v).ToArray());
    }

    private static Gen<(List<FuzzArray> Arrays, (string, object)[] Call)> Boxes(LossEntry e, List<(string Name, object Value)> hp, Reduction reduction,
        ValueMix mix, FuzzSize size)
    {
        string format = hp.Where(p => p.Name == "format").Select(p => (string)p.Value).DefaultIfEmpty("xyxy").First();
        // 4,097+ boxes: the row driver counts 16 units of work per box against its 65,536 threshold
        return from n in size == FuzzSize.Large ? Gen.Elements(4_500, 5_003) : Dim(size)
               from input in BoxArray(n, format, mix)
               from target in BoxArray(n, format, mix)
               from call in CallArguments(e, reduction, n)
               select (new List<FuzzArray> { new("input", [n, 4], input), new("target", [n, 4], target) }, call);
    }

    private static Gen<(List<FuzzArray> Arrays, (string, object)[] Call)> ScoredRows(LossEntry e, Reduction reduction, ValueMix mix, FuzzSize size) =>
        from m in Matrix(size)
        from input in FuzzValues.Array(m.Rows * m.Columns, mix)
        from labels in FuzzValues.Array(m.Rows, Gen.Frequency((6, Gen.Choose(0, m.Columns - 1)), (2, Gen.Constant(m.Columns)), (2, Gen.Choose(-3, -1))).Select(i => (double)i))
        from scores in FuzzValues.UnitInterval(m.Rows, mix)
        from call in CallArguments(e, reduction, m.Rows)
        select (new List<FuzzArray> { new("input", [m.Rows, m.Columns], input), new("labels", [m.Rows], labels), new("scores", [m.Rows], scores) }, call);

    private static Gen<(List<FuzzArray> Arrays, (string, object)[] Call)> Bins(LossEntry e, Reduction reduction, ValueMix mix, FuzzSize size) =>
        from m in Matrix(size, minColumns: 2)
        from input in FuzzValues.Array(m.Rows * m.Columns, mix)
        // targets in [0, bins − 1): the upper end excluded, integers (on a bin) included
        from target in FuzzValues.Array(m.Rows, Gen.Frequency(
            (8, Gen.Choose(0, 99_999).Select(i => (m.Columns - 1) * (i / 100_000.0))),
            (2, Gen.Choose(0, m.Columns - 2).Select(i => (double)i))))
        from call in CallArguments(e, reduction, m.Rows)
        select (new List<FuzzArray> { new("input", [m.Rows, m.Columns], input), new("target", [m.Rows], target) }, call);

    private static Gen<List<FuzzArray>> FeaturesCenters(ValueMix mix, FuzzSize size) =>
        from m in size == FuzzSize.Large ? Gen.Constant((2000, 64)) : Matrix(size)
        from classes in size == FuzzSize.Large ? Gen.Constant(200) : Gen.Elements(1, 2, 3, 7, 17)
        from input in FuzzValues.Array(m.Item1 * m.Item2, mix)
        from target in FuzzValues.Indices(m.Item1, classes)
        from centers in FuzzValues.Array(classes * m.Item2, mix)
        select new List<FuzzArray> { new("input", [m.Item1, m.Item2], input), new("target", [m.Item1], target), new("centers", [classes, m.Item2], centers) };

    private static Gen<List<FuzzArray>> CosineHead(ValueMix mix, FuzzSize size) =>
        from m in size == FuzzSize.Large ? Gen.Constant((256, 64)) : Matrix(size)
        from classes in size == FuzzSize.Large ? Gen.Constant(128) : Dim(size)
        from input in FuzzValues.Array(m.Item1 * m.Item2, Gen.Frequency((9, FuzzValues.Of(mix, 3)), (1, Gen.Constant(0.0))))
        from weight in FuzzValues.Array(classes * m.Item2, Gen.Frequency((9, FuzzValues.Of(mix, 3)), (1, Gen.Constant(0.0))))
        select new List<FuzzArray> { new("input", [m.Item1, m.Item2], input), new("weight", [classes, m.Item2], weight) };

    private static Gen<List<FuzzArray>> Pairs(ValueMix mix, FuzzSize size) =>
        from m in Matrix(size)
        from input1 in FuzzValues.Array(m.Rows * m.Columns, Gen.Frequency((9, FuzzValues.Of(mix, 3)), (1, Gen.Constant(0.0))))
        from input2 in FuzzValues.Array(m.Rows * m.Columns, Gen.Frequency((9, FuzzValues.Of(mix, 3)), (1, Gen.Constant(0.0))))
        from target in FuzzValues.PlusMinusOne(m.Rows)
        select new List<FuzzArray> { new("input1", [m.Rows, m.Columns], input1), new("input2", [m.Rows, m.Columns], input2), new("target", [m.Rows], target) };

    // ---- criteria: small images, anchor sets and ground-truth sets ----

    private static Gen<int[]> Counts(int images) => Gen.ArrayOf(Gen.Elements(0, 0, 1, 2, 3), images);

    private static Gen<double[]> Labels(int n, int classes) => FuzzValues.Indices(n, classes);

    private static Gen<List<FuzzArray>> Rpn(ValueMix mix, FuzzSize size) =>
        from images in Gen.Elements(1, 1, 2, 3)
        from anchors in size == FuzzSize.Large ? Gen.Constant(3000) : Gen.Elements(0, 1, 2, 5, 9)
        from counts in Counts(images)
        let g = counts.Sum()
        from anchorBoxes in BoxArray(anchors, "xyxy", ValueMix.Normal, 30, allowEmpty: false) // (an empty anchor encodes to ±∞ deltas, as torchvision)
        from gt in BoxArray(g, "xyxy", ValueMix.Normal, 30, allowEmpty: false) // ground truths must not be empty (checked)
        from objectness in FuzzValues.Array(images * anchors, mix, 5)
        from deltas in FuzzValues.Array(images * anchors * 4, mix, 2)
        from twoD in Gen.Elements(true, false)
        select new List<FuzzArray>
        {
            new("objectness", twoD ? [images, anchors] : [images * anchors], objectness),
            new("deltas", twoD ? [images, anchors, 4] : [images * anchors, 4], deltas),
            new("anchors", [anchors, 4], anchorBoxes), new("gt_boxes", [g, 4], gt), new("gt_counts", [images], counts.Select(c => (double)c).ToArray()),
        };

    private static Gen<List<FuzzArray>> FastRcnn(ValueMix mix, FuzzSize size) =>
        from rois in size == FuzzSize.Large ? Gen.Constant(14_000) : Dim(size)
        from classes in size == FuzzSize.Large ? Gen.Constant(5) : Gen.Elements(1, 2, 3, 5)
        from logits in FuzzValues.Array(rois * classes, mix, 5)
        from regression in FuzzValues.Array(rois * 4 * classes, mix, 2)
        from labels in Labels(rois, classes)
        from targets in FuzzValues.Array(rois * 4, mix, 2)
        select new List<FuzzArray>
        {
            new("class_logits", [rois, classes], logits), new("box_regression", [rois, 4 * classes], regression),
            new("labels", [rois], labels), new("regression_targets", [rois, 4], targets),
        };

    private static Gen<List<FuzzArray>> RetinaNet(ValueMix mix, FuzzSize size) =>
        from images in size == FuzzSize.Large ? Gen.Constant(3) : Gen.Elements(1, 1, 2, 3)
        from anchors in size == FuzzSize.Large ? Gen.Constant(8000) : Gen.Elements(0, 1, 2, 5, 9)
        from classes in size == FuzzSize.Large ? Gen.Constant(3) : Gen.Elements(1, 2, 3)
        from counts in Counts(images)
        let g = counts.Sum()
        from anchorBoxes in BoxArray(anchors, "xyxy", ValueMix.Normal, 30, allowEmpty: false) // (an empty anchor encodes to ±∞ deltas, as torchvision)
        from gt in BoxArray(g, "xyxy", ValueMix.Normal, 30, allowEmpty: false) // ground truths must not be empty (checked)
        from gtLabels in Labels(g, classes)
        from logits in FuzzValues.Array(images * anchors * classes, mix, 5)
        from regression in FuzzValues.Array(images * anchors * 4, mix, 2)
        select new List<FuzzArray>
        {
            new("class_logits", [images, anchors, classes], logits), new("box_regression", [images, anchors, 4], regression),
            new("anchors", [anchors, 4], anchorBoxes), new("gt_boxes", [g, 4], gt), new("gt_labels", [g], gtLabels),
            new("gt_counts", [images], counts.Select(c => (double)c).ToArray()),
        };

    private static Gen<List<FuzzArray>> YoloV3(List<(string Name, object Value)> hp, ValueMix mix)
    {
        int Get(string name, int fallback) => hp.Where(p => p.Name == name).Select(p => (int)p.Value).DefaultIfEmpty(fallback).First();
        int classes = Get("classes", 80), width = Get("input_width", 416), height = Get("input_height", 416);
        if (!hp.Any(p => p.Name == "input_width") || !hp.Any(p => p.Name == "input_height") || !hp.Any(p => p.Name == "classes"))
        {
            // keep the outputs small: the defaults (416 × 416, 80 classes) give 1.1M values per image
            (classes, width, height) = (Math.Min(classes, 3), Math.Min(width, 64), Math.Min(height, 64));
            hp.RemoveAll(p => p.Name is "classes" or "input_width" or "input_height");
            hp.Add(("classes", classes));
            hp.Add(("input_width", width));
            hp.Add(("input_height", height));
        }

        int channels = 3 * (5 + classes);
        Gen<double> unit = FuzzValues.Uniform(0.01, 0.99);
        return from images in Gen.Elements(1, 1, 2)
               from counts in Counts(images)
               let g = counts.Sum()
               from gt in FuzzValues.Array(g * 4, unit)
               from gtLabels in Labels(g, classes)
               from o0 in FuzzValues.Array(images * channels * (height / 32) * (width / 32), mix, 3)
               from o1 in FuzzValues.Array(images * channels * (height / 16) * (width / 16), mix, 3)
               from o2 in FuzzValues.Array(images * channels * (height / 8) * (width / 8), mix, 3)
               select new List<FuzzArray>
               {
                   new("output0", [images, channels, height / 32, width / 32], o0), new("output1", [images, channels, height / 16, width / 16], o1),
                   new("output2", [images, channels, height / 8, width / 8], o2), new("gt_boxes", [g, 4], gt), new("gt_labels", [g], gtLabels),
                   new("gt_counts", [images], counts.Select(c => (double)c).ToArray()),
               };
    }

    // ---- invalid variants ----

    /// <summary>One deliberate defect: an out-of-range index or label, a target outside its domain, a dimension off by one, a truncated array.</summary>
    private static Gen<FuzzCase> Break(FuzzCase c)
    {
        var options = new List<Gen<FuzzCase>>();
        FuzzArray first = c.Arrays[0];
        if (first.Data.Length > 0)
        {
            options.Add(Gen.Constant(With(c, first with { Data = first.Data[1..] }, $"{first.Name} holds one value less than its shape")));
        }

        if (c.Entry.Layout.Name != "cosine_head" && first.Shape.Length > 0) // the head's batch is free: a longer input is valid
        {
            int row = first.Shape[0] == 0 ? 0 : first.Data.Length / first.Shape[0];
            options.Add(Gen.Constant(With(c, first with { Shape = [first.Shape[0] + 1, .. first.Shape[1..]], Data = [.. first.Data, .. new double[row]] },
                $"{first.Name}'s first dimension one too long")));
        }

        foreach (LayoutInput i in c.Entry.Layout.Inputs.Where(i => i.Indices))
        {
            FuzzArray a = c[i.Name];
            // cross-entropy's [batch, classes] probability targets are not range-checked (as PyTorch); quality focal
            // takes any negative label as background
            if (a.Data.Length > 0 && a.Shape.Length == 1)
            {
                options.Add(Gen.Elements<double>(c.Entry.Layout.Name == "scored_rows" ? [1_000_000.0, 0.5, double.NaN] : [1_000_000.0, -1_000_000.0, 0.5, double.NaN]).Select(v =>
                    With(c, a with { Data = [v, .. a.Data[1..]] }, $"{a.Name}[0] = {v}")));
            }
        }

        // Targets outside a validated domain: ±1 labels, and BCE's [0, 1] (its input domain says it checks both).
        if ((c.Entry.TargetDomain == ValueDomain.PlusMinusOne || c.Entry.InputDomain == ValueDomain.UnitInterval) && c["target"].Data.Length > 0)
        {
            FuzzArray t = c["target"];
            options.Add(Gen.Elements<double>(c.Entry.TargetDomain == ValueDomain.UnitInterval ? [2.0, -3.0] : [0.5, 2.0, -3.0]).Select(v => With(c, t with { Data = [v, .. t.Data[1..]] }, $"target[0] = {v} outside the domain")));
        }

        // (inverted and NaN boxes are accepted by default, as the references: BoxRegressionLoss's remarks)
        return options.Count == 0 ? Gen.Constant(c) : Gen.OneOf(options);
    }

    private static FuzzCase With(FuzzCase c, FuzzArray replaced, string why) => new()
    {
        Entry = c.Entry, Parameters = c.Parameters, Mix = c.Mix, Invalid = why,
        Arrays = [.. c.Arrays.Select(a => a.Name == replaced.Name ? replaced : a)],
    };
}
