using System.Globalization;
using System.Numerics;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;
using Xunit.Sdk;

namespace LossKit.Tests.Detection;

/// <summary>The loss ids of detection.json (tests/reference/generate_detection.py), by family.</summary>
public static class DetectionIds
{
    /// <summary>Box-regression losses (BoxRegressionLoss&lt;T&gt;): value per box, gradient per coordinate.</summary>
    public static readonly string[] BoxLosses =
    [
        "giou", "diou", "ciou", "iou_mmdet", "giou_mmdet", "diou_mmdet", "ciou_mmdet", "eiou_mmdet", "siou_mmdet",
        "iou_ultra", "giou_ultra", "diou_ultra", "ciou_ultra", "eiou_efficient",
    ];

    /// <summary>Focal family: sigmoid focal and varifocal are element-wise, the others row losses.</summary>
    public static readonly string[] FocalLosses = ["sigmoid_focal", "softmax_focal", "quality_focal", "distribution_focal", "varifocal"];

    /// <summary>Pairwise matrices (values only).</summary>
    public static readonly string[] Matrices = ["box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"];

    /// <summary>Value-only box utilities.</summary>
    public static readonly string[] Utilities = ["box_convert", "box_area"];

    public static bool IsBox(string loss) => Array.IndexOf(BoxLosses, loss) >= 0;

    public static bool IsValueOnly(string loss) => Array.IndexOf(Matrices, loss) >= 0 || Array.IndexOf(Utilities, loss) >= 0;

    public static BoxFormat Format(string name) => name switch
    {
        "xyxy" => BoxFormat.Xyxy,
        "xywh" => BoxFormat.Xywh,
        "cxcywh" => BoxFormat.Cxcywh,
        _ => throw new InvalidDataException($"unknown box format {name}"),
    };

    public static Reduction Reduction(string name) => name switch
    {
        "none" => LossKit.Reduction.None,
        "mean" => LossKit.Reduction.Mean,
        "sum" => LossKit.Reduction.Sum,
        _ => throw new InvalidDataException($"unknown reduction {name}"),
    };
}

/// <summary>
/// One calling convention over the detection losses of a golden case (targets, labels, scores, weights and
/// hyper-parameters bound from the case): the four entry points on spans.
/// </summary>
public abstract class DetectionRunner<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected DetectionRunner(Reduction reduction, int valueLength, int rowWidth, double? avgFactor)
    {
        Reduction = reduction;
        ValueLength = valueLength;
        RowWidth = rowWidth;
        AvgFactor = avgFactor;
    }

    public Reduction Reduction { get; }

    /// <summary>Number of per-element values with Reduction.None.</summary>
    public int ValueLength { get; }

    /// <summary>Input elements per value (4 for boxes, classes/bins for row losses, 1 element-wise).</summary>
    public int RowWidth { get; }

    /// <summary>mmdetection's avg_factor of the case (Mean only).</summary>
    public double? AvgFactor { get; }

    public abstract T Forward(ReadOnlySpan<T> x, Span<T> destination);

    public abstract void Backward(ReadOnlySpan<T> x, T upstream, Span<T> gradient);

    public abstract void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> upstream, Span<T> gradient);

    public abstract T ForwardBackward(ReadOnlySpan<T> x, Span<T> gradient, Span<T> destination);

    private static T[] Convert(double[] data) => Array.ConvertAll(data, T.CreateTruncating);

    /// <summary>The loss object a golden case describes, built by its registry entry (<see cref="GoldenEntries"/>).</summary>
    public static object MakeLoss(GoldenCase c) =>
        GoldenEntries.Entry(c.Loss)!.Create<T>(GoldenEntries.Arguments(c.Loss, c.Params, name => name switch
        {
            "weight" => c.Weight?.Data,
            "pos_weight" => c.PosWeight?.Data,
            "class_alpha" => c.ClassAlpha?.Data,
            _ => null,
        }));

    /// <summary>The box loss object a golden case describes (loss id + params).</summary>
    public static BoxRegressionLoss<T> MakeBoxLoss(GoldenCase c) => (BoxRegressionLoss<T>)MakeLoss(c);

    /// <summary>Builds the runner of a golden case with a gradient: the loss's type picks the calling convention.</summary>
    public static DetectionRunner<T> Create(GoldenCase c)
    {
        Reduction r = DetectionIds.Reduction(c.Params["reduction"].GetString()!);
        double? avg = c.Params.TryGetValue("avg_factor", out var a) ? a.GetDouble() : null;
        int[] shape = c.Input.Shape;
        int rows = shape[0], cols = shape.Length > 1 ? shape[1] : 1;
        T[]? weight = c.Weight is null ? null : Convert(c.Weight.Data);
        return MakeLoss(c) switch
        {
            BoxRegressionLoss<T> box => new BoxRunner(box, Convert(c.Target.Data), r, rows),
            ElementwiseLoss<T> elementwise => new ElementwiseRunner(elementwise, Convert(c.Target.Data), weight, r, rows * cols, avg),
            SoftmaxFocalLoss<T> softmax => new SoftmaxFocalRunner(softmax, c.Target.AsIndices(), r, rows, cols, avg),
            QualityFocalLoss<T> quality => new QualityFocalRunner(quality, c.Labels!.AsIndices(), Convert(c.Scores!.Data), weight, r, rows, cols, avg),
            DistributionFocalLoss<T> distribution => new DistributionFocalRunner(distribution, Convert(c.Target.Data), weight, r, rows, cols, avg),
            object other => throw new InvalidDataException($"{c.Loss}: no detection runner for {other.GetType().Name}"),
        };
    }

    private sealed class BoxRunner(BoxRegressionLoss<T> loss, T[] target, Reduction r, int boxes) : DetectionRunner<T>(r, boxes, 4, null)
    {
        public override T Forward(ReadOnlySpan<T> x, Span<T> destination) => loss.Forward(x, target, destination);

        public override void Backward(ReadOnlySpan<T> x, T upstream, Span<T> gradient) => loss.Backward(x, target, upstream, gradient);

        public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(x, target, upstream, gradient);

        public override T ForwardBackward(ReadOnlySpan<T> x, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(x, target, gradient, destination);
    }

    private sealed class ElementwiseRunner(ElementwiseLoss<T> loss, T[] target, T[]? weight, Reduction r, int n, double? avg)
        : DetectionRunner<T>(r, n, 1, avg)
    {
        public override T Forward(ReadOnlySpan<T> x, Span<T> destination) => loss.Forward(x, target, destination, weight, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, T upstream, Span<T> gradient) => loss.Backward(x, target, upstream, gradient, weight, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(x, target, upstream, gradient, weight);

        public override T ForwardBackward(ReadOnlySpan<T> x, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(x, target, gradient, destination, weight, AvgFactor);
    }

    private sealed class SoftmaxFocalRunner(SoftmaxFocalLoss<T> loss, int[] labels, Reduction r, int batch, int classes, double? avg)
        : DetectionRunner<T>(r, batch, classes, avg)
    {
        public override T Forward(ReadOnlySpan<T> x, Span<T> destination) => loss.Forward(x, labels, ValueLength, RowWidth, destination, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, T upstream, Span<T> gradient) => loss.Backward(x, labels, ValueLength, RowWidth, upstream, gradient, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(x, labels, ValueLength, RowWidth, upstream, gradient);

        public override T ForwardBackward(ReadOnlySpan<T> x, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(x, labels, ValueLength, RowWidth, gradient, destination, AvgFactor);
    }

    private sealed class QualityFocalRunner(QualityFocalLoss<T> loss, int[] labels, T[] scores, T[]? weight, Reduction r, int batch, int classes, double? avg)
        : DetectionRunner<T>(r, batch, classes, avg)
    {
        public override T Forward(ReadOnlySpan<T> x, Span<T> destination) => loss.Forward(x, labels, scores, ValueLength, RowWidth, destination, weight, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, T upstream, Span<T> gradient) => loss.Backward(x, labels, scores, ValueLength, RowWidth, upstream, gradient, weight, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(x, labels, scores, ValueLength, RowWidth, upstream, gradient, weight);

        public override T ForwardBackward(ReadOnlySpan<T> x, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(x, labels, scores, ValueLength, RowWidth, gradient, destination, weight, AvgFactor);
    }

    private sealed class DistributionFocalRunner(DistributionFocalLoss<T> loss, T[] target, T[]? weight, Reduction r, int batch, int bins, double? avg)
        : DetectionRunner<T>(r, batch, bins, avg)
    {
        public override T Forward(ReadOnlySpan<T> x, Span<T> destination) => loss.Forward(x, target, ValueLength, RowWidth, destination, weight, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, T upstream, Span<T> gradient) => loss.Backward(x, target, ValueLength, RowWidth, upstream, gradient, weight, AvgFactor);

        public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(x, target, ValueLength, RowWidth, upstream, gradient, weight);

        public override T ForwardBackward(ReadOnlySpan<T> x, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(x, target, ValueLength, RowWidth, gradient, destination, weight, AvgFactor);
    }
}

/// <summary>Errors of one detection golden case run in one floating-point type, over all entry points.</summary>
public sealed class DetectionResult
{
    /// <summary>Worst value error (Forward and ForwardBackward, or the value-only function).</summary>
    public Mismatch Value { get; set; } = Mismatch.None;

    public string ValueEntry { get; set; } = "";

    /// <summary>Worst gradient error (Backward, and ForwardBackward against grad_input / upstream).</summary>
    public Mismatch Gradient { get; set; } = Mismatch.None;

    public string GradientEntry { get; set; } = "";

    /// <summary>Gradient positions (of Backward) where the reference is NaN and ours is finite (allowed, counted).</summary>
    public int ReferenceNaNGradientOursFinite { get; set; }

    /// <summary>Gradient positions where the reference is NaN and ours is NaN too.</summary>
    public int ReferenceNaNGradientOursNaN { get; set; }

    /// <summary>Value positions where the reference is NaN and ours is finite (only allowed where documented).</summary>
    public int ReferenceNaNValueOursFinite { get; set; }

    /// <summary>Float positions (values and gradients, all entry points) that are NaN against a finite reference and
    /// accepted by <see cref="DetectionTolerance.NaNRows"/>.</summary>
    public int AcceptedFloatNaN { get; set; }

    /// <summary>Failed checks beyond the error maxima (NaN policy, the sum returned with Reduction.None).</summary>
    public List<string> Other { get; } = [];
}

/// <summary>
/// The tolerance one detection case is held to in one type. Every comparison computes, per element, the normalised
/// error |ours − ref| / max(|ref|, <see cref="ValueFloor"/> or <see cref="GradientFloor"/>) and requires it ≤ the
/// tolerance (double 1e-10, float 1e-5, unless <see cref="Reason"/> says why the case is loosened).
/// </summary>
/// <param name="Value">Tolerance of the normalised value error.</param>
/// <param name="Gradient">Tolerance of the normalised gradient error.</param>
/// <param name="Reason">Why the case is held to more than the base tolerance (null: base tolerance).</param>
/// <param name="NaNRows">Float only: the boxes (rows) where NaN is accepted although the float64 reference is finite,
/// because the case reproduces a documented float32 NaN of the reference library; their gradient entries, their
/// per-box values and any reduced value may be NaN. Null: none.</param>
public sealed record DetectionTolerance(double Value, double Gradient, string? Reason, IReadOnlySet<int>? NaNRows = null)
{
    /// <summary>Whether some rows may be NaN against a finite reference.</summary>
    public bool AllowsNaN => NaNRows is { Count: > 0 };

    /// <summary>Whether value element <paramref name="i"/> may be NaN (reduced values: if any row may).</summary>
    public bool ValueNaNAllowed(int i, bool reduced) => AllowsNaN && (reduced || NaNRows!.Contains(i));

    /// <summary>Whether gradient element <paramref name="i"/> may be NaN.</summary>
    public bool GradientNaNAllowed(int i, int rowWidth) => AllowsNaN && NaNRows!.Contains(i / rowWidth);
}

/// <summary>
/// Runs detection golden cases through every entry point and compares with the PyTorch reference under the detection
/// tolerance policy:
/// <list type="bullet">
/// <item>Relative tolerance: double 1e-10, float 1e-5, of the normalised error |ours − ref| / max(|ref|, floor).</item>
/// <item>Floors (the natural scale of each result). Box losses: values 1 (every loss is 1 − an overlap measure, so
/// its rounding is relative to 1) or the array's largest |ref| if larger; gradients 1 + max |ref gradient| over the
/// compared array — an absolute floor of tol × (1 + max|g|). That floor also covers the gradients of nearly
/// identical boxes, which are O(1e-10) cancellation residues where LossKit's forward-mode order and autograd's
/// reverse-mode order differ by ~1e-18 absolute (far below the 1e-10 × (1 + max|g|) ≥ 1e-10 allowed; the
/// stricter 1e-15 absolute acceptance would suffice there). Matrices: 1 (values in [−1, 1] built from differences
/// of O(1) terms). Focal family, box_convert, box_area: the suite's usual floor, the array's largest finite |ref|
/// (1e-12 absolute for an all-zero reference array).</item>
/// <item>NaN policy: a finite reference needs a finite result within tolerance; ±∞ needs the same ±∞. A NaN
/// reference value needs NaN (LossKit reproduces the reference's NaNs: CIoU's h = 0, mmdet CIoU's 0/0 α, box_iou's
/// 0/0). A NaN reference gradient accepts NaN or a finite result: LossKit differentiates in forward mode with
/// structural zeros, so a coordinate that does not reach an infinite local derivative keeps a finite gradient
/// where autograd's 0·∞ gives NaN (BoxRegressionLoss remarks; Dual.cs). Those positions are counted and reported.</item>
/// </list>
/// </summary>
public static class DetectionReference
{
    /// <summary>Runs the case in <typeparamref name="T"/>.</summary>
    public static DetectionResult Evaluate<T>(GoldenCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        DetectionTolerance tol = ToleranceFor<T>(c);
        return DetectionIds.IsValueOnly(c.Loss) ? EvaluateValueOnly<T>(c, tol) : EvaluateLoss<T>(c, tol);
    }

    /// <summary>Runs the case and throws if any entry point is outside the case's tolerance or breaks the NaN policy.</summary>
    public static DetectionResult Assert<T>(string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        GoldenCase c = Golden.GetDetection(name);
        DetectionResult r = Evaluate<T>(c);
        List<string> failures = Failures<T>(c, r);
        if (failures.Count > 0)
        {
            DetectionTolerance tol = ToleranceFor<T>(c);
            throw new XunitException($"{typeof(T).Name} {name}:\n  " + string.Join("\n  ", failures)
                + (tol.Reason is null ? "" : $"\n  (loosened: {tol.Reason})"));
        }

        return r;
    }

    /// <summary>The failed checks of an evaluated case (empty when it passes).</summary>
    public static List<string> Failures<T>(GoldenCase c, DetectionResult r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        DetectionTolerance tol = ToleranceFor<T>(c);
        var failures = new List<string>(r.Other);
        if (!(r.Value.Error <= tol.Value))
        {
            failures.Add(Tolerance.Describe(r.Value, tol.Value, r.ValueEntry + " value", 0, 0));
        }

        if (!(r.Gradient.Error <= tol.Gradient))
        {
            failures.Add(Tolerance.Describe(r.Gradient, tol.Gradient, r.GradientEntry, 0, 0));
        }

        return failures;
    }

    /// <summary>
    /// The tolerance of a case: the base tolerance (double 1e-10, float 1e-5) except for the float cases named here,
    /// each with its reason. Double is never loosened.
    /// </summary>
    public static DetectionTolerance ToleranceFor<T>(GoldenCase c)
    {
        double b = Tolerance.For<T>();
        if (typeof(T) == typeof(float) && c.Loss == "ciou_mmdet")
        {
            HashSet<int> rows = MMDetectionCIoUFloatNaNRows(c);
            if (rows.Count > 0)
            {
                // mmdetection's CIoU has no eps in α = v / (1 − IoU + v) (REFERENCES.md §3 trap, CIoULoss remarks): for
                // identical boxes v = 0, and in float32 area + eps rounds back to the area once eps is below half an ulp
                // of it (area ≳ 16 for eps 1e-6), so IoU = 1 exactly and α = 0/0 = NaN — mmdetection in fp32 gives NaN
                // too. The float64 reference keeps 1 − IoU ≈ eps/area > 0 and stays finite. Only those rows may be NaN
                // (and a reduced value containing them); every other element is held to the base tolerance.
                return new DetectionTolerance(b, b,
                    $"mmdetection CIoU, float32: identical boxes {string.Join(",", rows.Order())} have area + eps == area, IoU = 1, α = 0/0 = NaN as mmdetection fp32",
                    rows);
            }
        }

        return new DetectionTolerance(b, b, null);
    }

    /// <summary>
    /// The rows of an mmdet-CIoU case where float32 gives α = 0/0: identical predicted and target boxes whose float
    /// IoU overlap / (ap + ag − overlap + eps) rounds to exactly 1 (v = 0 for identical boxes).
    /// </summary>
    public static HashSet<int> MMDetectionCIoUFloatNaNRows(GoldenCase c)
    {
        var rows = new HashSet<int>();
        double[] p = c.Input.Data, t = c.Target.Data;
        double[]? g = c.HasGradient ? c.GradInput.Data : null;
        float eps = (float)c.Params["eps"].GetDouble();
        for (int r = 0; r < p.Length / 4; r++)
        {
            bool identical = true;
            for (int k = 0; k < 4; k++)
            {
                identical &= (float)p[4 * r + k] == (float)t[4 * r + k];
            }

            float area = ((float)p[4 * r + 2] - (float)p[4 * r]) * ((float)p[4 * r + 3] - (float)p[4 * r + 1]);
            float union = area + area - area + eps;
            // Rows where the float64 reference is NaN too (area ≥ 2^36: large_identical) are not loosenings.
            bool referenceFinite = g is null || (double.IsFinite(g[4 * r]) && double.IsFinite(g[4 * r + 1]) && double.IsFinite(g[4 * r + 2]) && double.IsFinite(g[4 * r + 3]));
            if (identical && area / union == 1f && referenceFinite)
            {
                rows.Add(r);
            }
        }

        return rows;
    }

    // ---- losses ---------------------------------------------------------------------------------------------------

    private static DetectionResult EvaluateLoss<T>(GoldenCase c, DetectionTolerance tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        DetectionRunner<T> runner = DetectionRunner<T>.Create(c);
        bool box = DetectionIds.IsBox(c.Loss);
        bool none = runner.Reduction == Reduction.None;
        T[] x = Array.ConvertAll(c.Input.Data, T.CreateTruncating);
        int values = none ? runner.ValueLength : 0;
        var result = new DetectionResult();
        double baseTol = Tolerance.For<T>();

        var destination = new T[values];
        T forward = runner.Forward(x, destination);

        double[] expectedValue = c.Value.Data;
        double valueFloor = ArrayFloor(expectedValue, baseTol, box ? 1.0 : 0.0);
        RecordValue(result, "Forward" + (none ? " destination" : ""), none ? Tolerance.Widen<T>(destination) : [double.CreateTruncating(forward)],
            expectedValue, valueFloor, tol, !none);

        if (!c.HasGradient)
        {
            return result;
        }

        double[] upstream = c.Upstream.Data;
        double[] expectedGradient = c.GradInput.Data;

        // Backward with the golden upstream (scalar for Mean/Sum, per value for None).
        var gradient = new T[x.Length];
        if (none)
        {
            runner.Backward(x, Array.ConvertAll(upstream, T.CreateTruncating), gradient);
        }
        else
        {
            runner.Backward(x, T.CreateTruncating(upstream[0]), gradient);
        }

        // Box losses: floor 1 + max |ref gradient| (see the class remarks); the others: the array's largest |ref|.
        double gradientFloor = box ? 1.0 + MaxFinite(expectedGradient) : ArrayFloor(expectedGradient, baseTol, 0);
        RecordGradient(result, "Backward", Tolerance.Widen<T>(gradient), expectedGradient, gradientFloor, tol, runner.RowWidth, count: true);

        // ForwardBackward: its gradient has upstream 1, so compare with grad_input / upstream (per row with None:
        // the gradient of the sum of the values).
        var fbGradient = new T[x.Length];
        var fbDestination = new T[values];
        T fb = runner.ForwardBackward(x, fbGradient, fbDestination);
        RecordValue(result, "ForwardBackward" + (none ? " destination" : ""), none ? Tolerance.Widen<T>(fbDestination) : [double.CreateTruncating(fb)],
            expectedValue, valueFloor, tol, !none);
        var expectedFb = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            expectedFb[i] = expectedGradient[i] / (none ? upstream[i / runner.RowWidth] : upstream[0]);
        }

        double fbFloor = box ? 1.0 + MaxFinite(expectedFb) : ArrayFloor(expectedFb, baseTol, 0);
        RecordGradient(result, "ForwardBackward gradient vs grad_input / upstream", Tolerance.Widen<T>(fbGradient), expectedFb, fbFloor, tol, runner.RowWidth, count: false);

        if (none)
        {
            // The None entry points return the sum of the per-element values.
            double sum = 0, magnitude = 0;
            foreach (double v in expectedValue)
            {
                sum += v;
                magnitude += double.IsFinite(v) ? Math.Abs(v) : 0;
            }

            foreach ((string entry, T returned) in new[] { ("Forward", forward), ("ForwardBackward", fb) })
            {
                double r = double.CreateTruncating(returned);
                bool ok = double.IsNaN(sum) ? double.IsNaN(r)
                    : double.IsInfinity(sum) ? r == sum
                    : (double.IsNaN(r) && tol.AllowsNaN) || Math.Abs(r - sum) <= baseTol * Math.Max(magnitude, box ? 1.0 : Tolerance.ZeroArray / baseTol);
                if (!ok)
                {
                    result.Other.Add($"{entry} (None) returned {r:R}, but the reference values sum to {sum:R}");
                }
            }
        }

        return result;
    }

    // ---- value-only functions: matrices, box_convert, box_area --------------------------------------------------

    private static DetectionResult EvaluateValueOnly<T>(GoldenCase c, DetectionTolerance tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new DetectionResult();
        T[] a = Array.ConvertAll(c.Input.Data, T.CreateTruncating);
        double[] expected = c.Value.Data;
        var actual = new T[expected.Length];
        double floor;
        switch (c.Loss)
        {
            case "box_convert":
                BoxConvert.Convert<T>(a, DetectionIds.Format(c.Params["in_fmt"].GetString()!), DetectionIds.Format(c.Params["out_fmt"].GetString()!), actual);
                floor = ArrayFloor(expected, Tolerance.For<T>(), 0);
                break;
            case "box_area":
                BoxOps.Area<T>(a, actual);
                floor = ArrayFloor(expected, Tolerance.For<T>(), 0);
                break;
            default:
                T[] b = Array.ConvertAll(c.Target.Data, T.CreateTruncating);
                double eps = c.Params.TryGetValue("eps", out var e) ? e.GetDouble() : 1e-7;
                switch (c.Loss)
                {
                    case "box_iou": BoxOps.Iou<T>(a, b, actual); break;
                    case "generalized_box_iou": BoxOps.GeneralizedIou<T>(a, b, actual); break;
                    case "distance_box_iou": BoxOps.DistanceIou<T>(a, b, actual, eps); break;
                    case "complete_box_iou": BoxOps.CompleteIou<T>(a, b, actual, eps); break;
                    default: throw new InvalidDataException(c.Loss);
                }

                floor = 1.0;
                break;
        }

        RecordValue(result, c.Loss, Tolerance.Widen<T>(actual), expected, floor, tol, false);
        return result;
    }

    // ---- comparison -----------------------------------------------------------------------------------------------

    /// <summary>Largest finite |v| (0 if none).</summary>
    public static double MaxFinite(ReadOnlySpan<double> values)
    {
        double m = 0;
        foreach (double v in values)
        {
            if (double.IsFinite(v))
            {
                m = Math.Max(m, Math.Abs(v));
            }
        }

        return m;
    }

    /// <summary>The suite's array floor: max(largest finite |ref|, <paramref name="minimum"/>), or the all-zero rule.</summary>
    private static double ArrayFloor(ReadOnlySpan<double> expected, double baseTolerance, double minimum)
    {
        double scale = Math.Max(MaxFinite(expected), minimum);
        return scale > 0 ? scale : Tolerance.ZeroArray / baseTolerance;
    }

    private static void RecordValue(DetectionResult r, string entry, double[] actual, double[] expected, double floor, DetectionTolerance tol, bool reduced)
    {
        Mismatch worst = Mismatch.None;
        if (actual.Length != expected.Length)
        {
            r.Other.Add($"{entry}: length {actual.Length}, reference {expected.Length}");
            return;
        }

        int nanFinite = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], b = expected[i];
            if (double.IsNaN(b))
            {
                if (!double.IsNaN(a))
                {
                    nanFinite++;
                    r.Other.Add($"{entry}: element {i} is {a:R} where the reference value is NaN");
                }

                continue;
            }

            if (double.IsNaN(a) && tol.ValueNaNAllowed(i, reduced))
            {
                r.AcceptedFloatNaN++;
                continue;
            }

            worst = worst.Max(Element(a, b, floor, i));
        }

        r.ReferenceNaNValueOursFinite = Math.Max(r.ReferenceNaNValueOursFinite, nanFinite);
        if (worst.Error > r.Value.Error || r.ValueEntry.Length == 0)
        {
            r.Value = worst;
            r.ValueEntry = entry;
        }
    }

    private static void RecordGradient(DetectionResult r, string entry, double[] actual, double[] expected, double floor, DetectionTolerance tol, int rowWidth, bool count)
    {
        Mismatch worst = Mismatch.None;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], b = expected[i];
            if (double.IsNaN(b))
            {
                // Autograd's 0·∞ = NaN where LossKit's forward mode keeps a structural zero: NaN or finite accepted.
                if (double.IsInfinity(a))
                {
                    r.Other.Add($"{entry}: element {i} is {a:R} where the reference gradient is NaN (NaN or finite expected)");
                }
                else if (count)
                {
                    if (double.IsNaN(a))
                    {
                        r.ReferenceNaNGradientOursNaN++;
                    }
                    else
                    {
                        r.ReferenceNaNGradientOursFinite++;
                    }
                }

                continue;
            }

            if (double.IsNaN(a) && tol.GradientNaNAllowed(i, rowWidth))
            {
                r.AcceptedFloatNaN++;
                continue;
            }

            worst = worst.Max(Element(a, b, floor, i));
        }

        if (worst.Error > r.Gradient.Error || r.GradientEntry.Length == 0)
        {
            r.Gradient = worst;
            r.GradientEntry = entry;
        }
    }

    /// <summary>The normalised error of one element with a finite or infinite reference.</summary>
    private static Mismatch Element(double a, double b, double floor, int i)
    {
        double e;
        if (double.IsInfinity(b))
        {
            e = a.Equals(b) ? 0 : double.PositiveInfinity;
        }
        else if (!double.IsFinite(a))
        {
            e = double.PositiveInfinity;
        }
        else
        {
            double d = Math.Abs(a - b);
            e = d == 0 ? 0 : d / Math.Max(Math.Abs(b), floor);
        }

        return new Mismatch(e, i, a, b);
    }

    /// <summary>Formats a normalised error for tables.</summary>
    public static string E(double e) => e.ToString("E2", CultureInfo.InvariantCulture);
}
