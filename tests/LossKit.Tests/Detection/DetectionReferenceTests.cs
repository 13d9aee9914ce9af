using System.Globalization;
using System.Numerics;
using System.Text;
using LossKit.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LossKit.Tests.Detection;

/// <summary>
/// The PyTorch golden cases of detection.json (tests/reference/generate_detection.py: torchvision 0.14 functions,
/// mmdetection / ultralytics / Efficient-IoU transcriptions, focal family, matrices, box_convert, box_area), every
/// case in double and float through every entry point, under the policy documented on <see cref="DetectionReference"/>.
/// </summary>
public sealed class DetectionReferenceTests(ITestOutputHelper output, DiagnosticOutput diagnostics) : IClassFixture<DiagnosticOutput>
{
    public const string FileName = "reference-errors-detection.txt";

    // ---- one theory row per case and type -------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "giou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "diou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "ciou", MemberType = typeof(Golden))]
    public void Torchvision_Double(string name) => DetectionReference.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "giou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "diou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "ciou", MemberType = typeof(Golden))]
    public void Torchvision_Float(string name) => DetectionReference.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "iou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "giou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "diou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "ciou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "eiou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "siou_mmdet", MemberType = typeof(Golden))]
    public void MMDetection_Double(string name) => DetectionReference.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "iou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "giou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "diou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "ciou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "eiou_mmdet", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "siou_mmdet", MemberType = typeof(Golden))]
    public void MMDetection_Float(string name) => DetectionReference.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "iou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "giou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "diou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "ciou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "eiou_efficient", MemberType = typeof(Golden))]
    public void UltralyticsAndEfficientIoU_Double(string name) => DetectionReference.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "iou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "giou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "diou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "ciou_ultra", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "eiou_efficient", MemberType = typeof(Golden))]
    public void UltralyticsAndEfficientIoU_Float(string name) => DetectionReference.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "sigmoid_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "softmax_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "quality_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "distribution_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "varifocal", MemberType = typeof(Golden))]
    public void Focal_Double(string name) => DetectionReference.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "sigmoid_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "softmax_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "quality_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "distribution_focal", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "varifocal", MemberType = typeof(Golden))]
    public void Focal_Float(string name) => DetectionReference.Assert<float>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "generalized_box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "distance_box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "complete_box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "box_convert", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "box_area", MemberType = typeof(Golden))]
    public void ValueOnly_Double(string name) => DetectionReference.Assert<double>(name);

    [Theory]
    [MemberData(nameof(Golden.DetectionNames), "box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "generalized_box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "distance_box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "complete_box_iou", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "box_convert", MemberType = typeof(Golden))]
    [MemberData(nameof(Golden.DetectionNames), "box_area", MemberType = typeof(Golden))]
    public void ValueOnly_Float(string name) => DetectionReference.Assert<float>(name);

    /// <summary>Every loss id of the file is covered by the theories above (a new id in the generator fails here).</summary>
    [Fact]
    public void EveryLossIdIsCovered()
    {
        string[] known = [.. DetectionIds.BoxLosses, .. DetectionIds.FocalLosses, .. DetectionIds.Matrices, .. DetectionIds.Utilities];
        string[] unknown = Golden.Detection.Select(c => c.Loss).Distinct().Where(l => Array.IndexOf(known, l) < 0).ToArray();
        Assert.True(unknown.Length == 0, "loss ids without tests: " + string.Join(", ", unknown));
        Assert.Equal(known.Length, Golden.Detection.Select(c => c.Loss).Distinct().Count());
    }

    // ---- the error table ------------------------------------------------------------------------------------------

    private sealed class Row
    {
        public int Cases;
        public readonly Worst[] Cells = [new(), new(), new(), new()]; // double value, double grad, float value, float grad
        public int NaNFiniteDouble, NaNFiniteFloat, NaNNaNDouble, NaNNaNFloat;
    }

    private sealed class Worst
    {
        public double Error;
        public string Case = "";
        public bool Any;

        public void Add(double error, string name)
        {
            if (error > Error || double.IsNaN(error) || Case.Length == 0)
            {
                Error = error;
                Case = name;
            }

            Any = true;
        }
    }

    [Fact]
    public void AllDetectionCases_MaxErrorsPerLoss_WithinTolerance()
    {
        var rows = new Dictionary<string, Row>();
        var failures = new List<string>();
        var loosened = new List<string>();
        foreach (GoldenCase c in Golden.Detection)
        {
            if (!rows.TryGetValue(c.Loss, out Row? row))
            {
                rows[c.Loss] = row = new Row();
            }

            row.Cases++;
            (int nf, int nn) = Check<double>(c, row.Cells[0], row.Cells[1], failures, loosened);
            row.NaNFiniteDouble += nf;
            row.NaNNaNDouble += nn;
            (nf, nn) = Check<float>(c, row.Cells[2], row.Cells[3], failures, loosened);
            row.NaNFiniteFloat += nf;
            row.NaNNaNFloat += nn;
        }

        string table = Format(rows, loosened);
        output.WriteLine(table);
        diagnostics.Write(table);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, FileName), table);
        Assert.True(failures.Count == 0, $"{failures.Count} detection golden checks failed:\n" + string.Join("\n", failures));
    }

    private static (int NaNFinite, int NaNNaN) Check<T>(GoldenCase c, Worst value, Worst gradient, List<string> failures, List<string> loosened)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        DetectionResult r;
        try
        {
            r = DetectionReference.Evaluate<T>(c);
        }
        catch (Exception e)
        {
            failures.Add($"{typeof(T).Name} {c.Name}: threw {e.GetType().Name}: {e.Message}");
            value.Add(double.PositiveInfinity, c.Name);
            gradient.Add(double.PositiveInfinity, c.Name);
            return (0, 0);
        }

        DetectionTolerance tol = DetectionReference.ToleranceFor<T>(c);
        double b = Tolerance.For<T>();

        // The table shows the worst case among those held to the base tolerance; loosened cases are listed apart.
        // (Cases whose only loosening is NaN in named float rows stay in the maxima: their other elements are held to
        // the base tolerance.)
        if (tol.Value == b)
        {
            value.Add(r.Value.Error, c.Name);
        }

        if (c.HasGradient && tol.Gradient == b)
        {
            gradient.Add(r.Gradient.Error, c.Name);
        }

        if (tol.Reason is not null)
        {
            loosened.Add($"{typeof(T).Name,-6} {c.Name}: value ≤ {tol.Value:E0}, gradient ≤ {tol.Gradient:E0}"
                + (tol.AllowsNaN ? $", NaN accepted in rows {{{string.Join(",", tol.NaNRows!.Order())}}} ({r.AcceptedFloatNaN} positions seen)" : "")
                + $" ({tol.Reason}); seen {DetectionReference.E(r.Value.Error)} / {DetectionReference.E(r.Gradient.Error)}");
        }

        failures.AddRange(DetectionReference.Failures<T>(c, r).Select(f => $"{typeof(T).Name} {c.Name}: {f}"));
        return (r.ReferenceNaNGradientOursFinite, r.ReferenceNaNGradientOursNaN);
    }

    private static string Format(Dictionary<string, Row> rows, List<string> loosened)
    {
        var sb = new StringBuilder();
        sb.AppendLine("LossKit detection vs PyTorch golden file (detection.json): largest normalised error |ours - ref| / max(|ref|, floor)");
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"(over Forward, Backward, ForwardBackward; tolerances: double {Tolerance.Double:E0}, float {Tolerance.Float:E0}; SIMD: {LossKitSettings.SimdDescription})"));
        sb.AppendLine("Floors: box-loss values max(1, max|ref value|), box-loss gradients 1 + max|ref gradient|, matrices 1, others max|ref| of the array.");
        sb.AppendLine("NaN grad: Backward gradient positions where the reference gradient is NaN — ours finite / ours NaN (double; float).");
        sb.AppendLine();
        sb.AppendLine($"{"loss",-20} {"cases",5} {"double value",13} {"double grad",13} {"float value",13} {"float grad",13}   {"NaN grad: fin/NaN (double; float)",-34}");
        foreach ((string loss, Row row) in rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{loss,-20} {row.Cases,5}");
            foreach (Worst w in row.Cells)
            {
                sb.Append(' ').Append(w.Any ? DetectionReference.E(w.Error).PadLeft(13) : "-".PadLeft(13));
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"   {row.NaNFiniteDouble}/{row.NaNNaNDouble}; {row.NaNFiniteFloat}/{row.NaNNaNFloat}");
        }

        sb.AppendLine();
        sb.AppendLine("Worst case per cell:");
        string[] cells = ["double value", "double grad", "float value", "float grad"];
        foreach ((string loss, Row row) in rows)
        {
            for (int i = 0; i < 4; i++)
            {
                if (row.Cells[i].Any)
                {
                    sb.AppendLine(CultureInfo.InvariantCulture, $"  {loss,-20} {cells[i],-13} {DetectionReference.E(row.Cells[i].Error),10}  {row.Cells[i].Case}");
                }
            }
        }

        sb.AppendLine();
        sb.AppendLine(loosened.Count == 0 ? "No loosened tolerances." : $"Loosened float cases ({loosened.Count}; their non-NaN elements are in the maxima above):");
        foreach (string l in loosened)
        {
            sb.AppendLine("  " + l);
        }

        return sb.ToString();
    }
}
