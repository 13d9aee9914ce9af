using System.Globalization;
using System.Numerics;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Registry;
using Xunit.Abstractions;

namespace LossKit.Tests;

/// <summary>
/// Every element-wise and class-index loss of the registry (default hyper-parameters) over extreme finite inputs:
/// ±Max, ±Max/2, ±1e30, the smallest subnormal and 0, with each valid target, at float and double. A finite input
/// must give a finite value and gradient unless PyTorch also gives NaN/±∞ there (<see cref="TorchNonFinite"/>, where
/// the value or gradient must then be the same non-finite class as PyTorch's).
/// </summary>
/// <remarks>
/// Each element-wise case runs over 67 copies of the input, once reduced (Sum: the 512-bit, staged and Vector&lt;T&gt;
/// blocks and the scalar tail) and once with Reduction.None (the unreduced Vector&lt;T&gt; loop and tail), so every
/// kernel tier sees the value.
/// </remarks>
public class ExtremeInputTests(ITestOutputHelper output)
{
    private const int Copies = 67;

    /// <summary>The extreme inputs of a type: ±Max, ±Max/2, ±1e30, ± the smallest subnormal, 0.</summary>
    private static double[] Inputs<T>()
        where T : IFloatingPointIeee754<T>
    {
        bool single = typeof(T) == typeof(float);
        double max = single ? float.MaxValue : double.MaxValue, tiny = single ? float.Epsilon : double.Epsilon;
        return [max, -max, max / 2, -max / 2, 1e30, -1e30, tiny, -tiny, 0.0];
    }

    private static readonly double[] CandidateTargets = [0.0, 1.0, -1.0, 0.5];

    /// <summary>Losses whose targets are probabilities: soft targets outside [0, 1] (which PyTorch accepts unchecked) are not meaningful.</summary>
    private static readonly HashSet<string> ProbabilityTargets = ["bce_with_logits", "sigmoid_focal", "varifocal", "kl_div", "bce"];

    /// <summary>Losses whose inputs are cosines in [−1, 1] (scaled by s inside): ±1e30 is outside their domain.</summary>
    private static readonly HashSet<string> CosineInputs = ["angular_margin", "arcface", "cosface", "sphereface"];

    private static double[] TargetsOf(string id) => ProbabilityTargets.Contains(id) ? [0.0, 1.0, 0.5] : CandidateTargets;

    public static TheoryData<string> ElementwiseIds()
    {
        var data = new TheoryData<string>();
        foreach (LossEntry e in LossRegistry.Entries)
        {
            if (Create<double>(e.Id) is ElementwiseLoss<double>)
            {
                data.Add(e.Id);
            }
        }

        return data;
    }

    public static TheoryData<string> ClassIndexIds()
    {
        var data = new TheoryData<string>();
        foreach (LossEntry e in LossRegistry.Entries)
        {
            if (Create<double>(e.Id) is ClassIndexLoss<double> && !CosineInputs.Contains(e.Id))
            {
                data.Add(e.Id);
            }
        }

        return data;
    }

    private static object? Create<T>(string id)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossEntry entry = LossRegistry.Get(id);
        LossArguments args = entry.Arguments();
        if (entry.Parameter("reduction") is null)
        {
            return null;
        }

        return entry.Create<T>(args.Set("reduction", Reduction.Sum));
    }

    private static ElementwiseLoss<T> CreateElementwise<T>(string id, Reduction reduction)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        (ElementwiseLoss<T>)LossRegistry.Get(id).Create<T>(LossRegistry.Get(id).Arguments().Set("reduction", reduction));

    private static ClassIndexLoss<T> CreateClassIndex<T>(string id, Reduction reduction)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        (ClassIndexLoss<T>)LossRegistry.Get(id).Create<T>(LossRegistry.Get(id).Arguments().Set("reduction", reduction));

    /// <summary>
    /// Cases where PyTorch itself gives a non-finite value (V) or gradient (G), keyed "id|type|input|target"; see the
    /// comments for the calls that produced them.
    /// </summary>
    private static readonly Dictionary<string, string> TorchNonFinite = new()
    {
        // Produced by tests/reference/extreme_nonfinite.py (Debian python3-torch 1.13, torchvision 0.14): per case
        // l = f(x, t, reduction='none'); l.sum().backward(), f being F.mse_loss, torch.clamp(1 - t*x, min=0)**2
        // (squared hinge), torch.exp(-t*x) (exponential), mmdet's balanced_l1_loss written in torch ops, and
        // F.multi_margin_loss(row [v, 0, 1], y). V: l non-finite, G: x.grad non-finite. Only these cases are
        // non-finite in PyTorch. Deliberate differences, where ours stays finite: balanced L1's gradient at |d| ≥ Max/2
        // (PyTorch NaN from ∞·0 in torch.where's unselected branch; ours ±γ), and sigmoid focal / varifocal at x = +Max,
        // t = 0 (PyTorch NaN from α_t·ce·γ overflowing before p·(1 − p) = 0 multiplies it; ours the limit α_t·(p − t)).
        ["mse|Single|3.4028234663852886E+38|0"] = "VG",
        ["mse|Single|3.4028234663852886E+38|1"] = "VG",
        ["mse|Single|3.4028234663852886E+38|-1"] = "VG",
        ["mse|Single|3.4028234663852886E+38|0.5"] = "VG",
        ["mse|Single|-3.4028234663852886E+38|0"] = "VG",
        ["mse|Single|-3.4028234663852886E+38|1"] = "VG",
        ["mse|Single|-3.4028234663852886E+38|-1"] = "VG",
        ["mse|Single|-3.4028234663852886E+38|0.5"] = "VG",
        ["mse|Single|1.7014117331926443E+38|0"] = "V",
        ["mse|Single|1.7014117331926443E+38|1"] = "V",
        ["mse|Single|1.7014117331926443E+38|-1"] = "V",
        ["mse|Single|1.7014117331926443E+38|0.5"] = "V",
        ["mse|Single|-1.7014117331926443E+38|0"] = "V",
        ["mse|Single|-1.7014117331926443E+38|1"] = "V",
        ["mse|Single|-1.7014117331926443E+38|-1"] = "V",
        ["mse|Single|-1.7014117331926443E+38|0.5"] = "V",
        ["mse|Single|1E+30|0"] = "V",
        ["mse|Single|1E+30|1"] = "V",
        ["mse|Single|1E+30|-1"] = "V",
        ["mse|Single|1E+30|0.5"] = "V",
        ["mse|Single|-1E+30|0"] = "V",
        ["mse|Single|-1E+30|1"] = "V",
        ["mse|Single|-1E+30|-1"] = "V",
        ["mse|Single|-1E+30|0.5"] = "V",
        ["squared_hinge|Single|3.4028234663852886E+38|-1"] = "VG",
        ["squared_hinge|Single|-3.4028234663852886E+38|1"] = "VG",
        ["squared_hinge|Single|1.7014117331926443E+38|-1"] = "V",
        ["squared_hinge|Single|-1.7014117331926443E+38|1"] = "V",
        ["squared_hinge|Single|1E+30|-1"] = "V",
        ["squared_hinge|Single|-1E+30|1"] = "V",
        ["exponential|Single|3.4028234663852886E+38|-1"] = "VG",
        ["exponential|Single|-3.4028234663852886E+38|1"] = "VG",
        ["exponential|Single|1.7014117331926443E+38|-1"] = "VG",
        ["exponential|Single|-1.7014117331926443E+38|1"] = "VG",
        ["exponential|Single|1E+30|-1"] = "VG",
        ["exponential|Single|-1E+30|1"] = "VG",
        ["balanced_l1|Single|3.4028234663852886E+38|0"] = "V",
        ["balanced_l1|Single|3.4028234663852886E+38|1"] = "V",
        ["balanced_l1|Single|3.4028234663852886E+38|-1"] = "V",
        ["balanced_l1|Single|3.4028234663852886E+38|0.5"] = "V",
        ["balanced_l1|Single|-3.4028234663852886E+38|0"] = "V",
        ["balanced_l1|Single|-3.4028234663852886E+38|1"] = "V",
        ["balanced_l1|Single|-3.4028234663852886E+38|-1"] = "V",
        ["balanced_l1|Single|-3.4028234663852886E+38|0.5"] = "V",
        ["mse|Double|1.7976931348623157E+308|0"] = "VG",
        ["mse|Double|1.7976931348623157E+308|1"] = "VG",
        ["mse|Double|1.7976931348623157E+308|-1"] = "VG",
        ["mse|Double|1.7976931348623157E+308|0.5"] = "VG",
        ["mse|Double|-1.7976931348623157E+308|0"] = "VG",
        ["mse|Double|-1.7976931348623157E+308|1"] = "VG",
        ["mse|Double|-1.7976931348623157E+308|-1"] = "VG",
        ["mse|Double|-1.7976931348623157E+308|0.5"] = "VG",
        ["mse|Double|8.988465674311579E+307|0"] = "V",
        ["mse|Double|8.988465674311579E+307|1"] = "V",
        ["mse|Double|8.988465674311579E+307|-1"] = "V",
        ["mse|Double|8.988465674311579E+307|0.5"] = "V",
        ["mse|Double|-8.988465674311579E+307|0"] = "V",
        ["mse|Double|-8.988465674311579E+307|1"] = "V",
        ["mse|Double|-8.988465674311579E+307|-1"] = "V",
        ["mse|Double|-8.988465674311579E+307|0.5"] = "V",
        ["squared_hinge|Double|1.7976931348623157E+308|-1"] = "VG",
        ["squared_hinge|Double|-1.7976931348623157E+308|1"] = "VG",
        ["squared_hinge|Double|8.988465674311579E+307|-1"] = "V",
        ["squared_hinge|Double|-8.988465674311579E+307|1"] = "V",
        ["exponential|Double|1.7976931348623157E+308|-1"] = "VG",
        ["exponential|Double|-1.7976931348623157E+308|1"] = "VG",
        ["exponential|Double|8.988465674311579E+307|-1"] = "VG",
        ["exponential|Double|-8.988465674311579E+307|1"] = "VG",
        ["exponential|Double|1E+30|-1"] = "VG",
        ["exponential|Double|-1E+30|1"] = "VG",
        ["balanced_l1|Double|1.7976931348623157E+308|0"] = "V",
        ["balanced_l1|Double|1.7976931348623157E+308|1"] = "V",
        ["balanced_l1|Double|1.7976931348623157E+308|-1"] = "V",
        ["balanced_l1|Double|1.7976931348623157E+308|0.5"] = "V",
        ["balanced_l1|Double|-1.7976931348623157E+308|0"] = "V",
        ["balanced_l1|Double|-1.7976931348623157E+308|1"] = "V",
        ["balanced_l1|Double|-1.7976931348623157E+308|-1"] = "V",
        ["balanced_l1|Double|-1.7976931348623157E+308|0.5"] = "V",
        ["multi_margin|Single|-3.4028234663852886E+38|0"] = "V",
        ["multi_margin|Double|-1.7976931348623157E+308|0"] = "V",
    };

    private static string Key<T>(string id, double x, double t) =>
        string.Create(CultureInfo.InvariantCulture, $"{id}|{typeof(T).Name}|{x:R}|{t:R}");

    [Theory]
    [MemberData(nameof(ElementwiseIds))]
    public void Elementwise_Float(string id) => Elementwise<float>(id);

    [Theory]
    [MemberData(nameof(ElementwiseIds))]
    public void Elementwise_Double(string id) => Elementwise<double>(id);

    [Theory]
    [MemberData(nameof(ClassIndexIds))]
    public void ClassIndex_Float(string id) => ClassIndex<float>(id);

    [Theory]
    [MemberData(nameof(ClassIndexIds))]
    public void ClassIndex_Double(string id) => ClassIndex<double>(id);

    private void Elementwise<T>(string id)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ElementwiseLoss<T> sum = CreateElementwise<T>(id, Reduction.Sum), none = CreateElementwise<T>(id, Reduction.None);
        var failures = new List<string>();
        int checkedCases = 0;
        foreach (double xd in Inputs<T>())
        {
            foreach (double td in TargetsOf(id))
            {
                T[] x = Enumerable.Repeat(T.CreateTruncating(xd), Copies).ToArray();
                T[] t = Enumerable.Repeat(T.CreateTruncating(td), Copies).ToArray();
                var g = new T[Copies];
                var gNone = new T[Copies];
                var values = new T[Copies];
                try
                {
                    sum.ForwardBackward(x, t, g);
                    none.ForwardBackward(x, t, gNone, values);
                }
                catch (ArgumentException)
                {
                    continue; // outside the loss's input or target domain
                }

                checkedCases++;
                Judge(Key<T>(id, xd, td), [.. values, .. values], [.. g, .. gNone], failures);
            }
        }

        Report(id, checkedCases, failures);
    }

    private void ClassIndex<T>(string id)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ClassIndexLoss<T> sum = CreateClassIndex<T>(id, Reduction.Sum), none = CreateClassIndex<T>(id, Reduction.None);
        var failures = new List<string>();
        int checkedCases = 0;
        const int classes = 3;
        foreach (double xd in Inputs<T>())
        {
            // Row [v, 0, 1] (PyTorch's multi_margin_loss gives +∞ for v = −Max, target 0, see the table); the target is the extreme column (0) or another one (2).
            foreach (int target in new[] { 0, 2 })
            {
                T[] x = [T.CreateTruncating(xd), T.Zero, T.One];
                var g = new T[classes];
                var gNone = new T[classes];
                var values = new T[1];
                try
                {
                    sum.ForwardBackward(x, [target], 1, classes, g);
                    none.ForwardBackward(x, [target], 1, classes, gNone, values);
                }
                catch (ArgumentException)
                {
                    continue;
                }

                checkedCases++;
                Judge(Key<T>(id, xd, target), values, [.. g, .. gNone], failures);
            }
        }

        Report(id, checkedCases, failures);
    }

    [Fact]
    public void QualityFocal_Float() => QualityFocal<float>();

    [Fact]
    public void QualityFocal_Double() => QualityFocal<double>();

    /// <summary>
    /// Quality focal (β = 2) over rows [v, 0, 1] of 3 classes, labels 0 (the extreme column positive), 2 and 3
    /// (background), scores 0, 0.5, 1. mmdetection's quality_focal_loss (written out in torch ops in
    /// tests/reference/extreme_nonfinite.py) gives a NaN gradient for the extreme column at x = +Max (negative entry)
    /// and at x = −Max with label 0, score 1 (β·ce overflowing before σ'(x) = 0 multiplies it), and finite values
    /// everywhere; ours is finite there too (the limit: s^β·s = 1 and 0).
    /// </summary>
    private void QualityFocal<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = new QualityFocalLoss<T>(Reduction.Sum);
        var none = new QualityFocalLoss<T>(Reduction.None);
        var failures = new List<string>();
        foreach (double xd in Inputs<T>())
        {
            foreach (int label in new[] { 0, 2, 3 })
            {
                foreach (double score in new[] { 0.0, 0.5, 1.0 })
                {
                    T[] x = [T.CreateTruncating(xd), T.Zero, T.One];
                    T[] s = [T.CreateTruncating(score)];
                    var g = new T[3];
                    var gNone = new T[3];
                    var values = new T[1];
                    sum.ForwardBackward(x, [label], s, 1, 3, g);
                    none.ForwardBackward(x, [label], s, 1, 3, gNone, values);
                    Judge(Key<T>("quality_focal", xd, label) + "|" + score.ToString(CultureInfo.InvariantCulture), values, [.. g, .. gNone], failures);
                }
            }
        }

        Report("quality_focal", 1, failures);
    }

    [Fact]
    public void KLDivergence_Float() => KLDivergence<float>();

    [Fact]
    public void KLDivergence_Double() => KLDivergence<double>();

    /// <summary>KL divergence (log-probability input, probability target 0, 0.5, 1): PyTorch's F.kl_div gives finite values and gradients for all these inputs.</summary>
    private void KLDivergence<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = new KLDivergenceLoss<T>(Reduction.Sum);
        var none = new KLDivergenceLoss<T>(Reduction.None);
        var failures = new List<string>();
        foreach (double xd in Inputs<T>())
        {
            foreach (double td in new[] { 0.0, 0.5, 1.0 })
            {
                T[] x = Enumerable.Repeat(T.CreateTruncating(xd), Copies).ToArray();
                T[] t = Enumerable.Repeat(T.CreateTruncating(td), Copies).ToArray();
                var g = new T[Copies];
                var gNone = new T[Copies];
                var values = new T[Copies];
                sum.ForwardBackward(x, t, Copies, g);
                none.ForwardBackward(x, t, Copies, gNone, values);
                Judge(Key<T>("kl_div", xd, td), values, [.. g, .. gNone], failures);
            }
        }

        Report("kl_div", 1, failures);
    }

    /// <summary>
    /// torchvision's box losses where they are non-finite, keyed "id|type|case|v" for the predicted boxes far
    /// (v, v, v + 1, v + 1), span (−|v|, −|v|, |v|, |v|) and corner (0, 0, |v|, |v|) against the target (0, 0, 1, 1).
    /// Produced by tests/reference/extreme_box_nonfinite.py: torchvision.ops.{generalized,distance,complete}_box_iou_loss(
    /// p, t, reduction='none', eps=1e-7), .sum().backward() (Debian torchvision 0.14). Areas, squared distances and
    /// enclosing diagonals overflow there (∞/∞ = NaN); ours may be finite where these are not, never the reverse.
    /// </summary>
    private static readonly Dictionary<string, string> TorchBoxNonFinite = new()
    {
        ["giou|Single|far|3.4028234663852886E+38"] = "VG",
        ["diou|Single|far|3.4028234663852886E+38"] = "VG",
        ["ciou|Single|far|3.4028234663852886E+38"] = "VG",
        ["giou|Single|span|3.4028234663852886E+38"] = "VG",
        ["diou|Single|span|3.4028234663852886E+38"] = "G",
        ["ciou|Single|span|3.4028234663852886E+38"] = "VG",
        ["giou|Single|corner|3.4028234663852886E+38"] = "VG",
        ["diou|Single|corner|3.4028234663852886E+38"] = "VG",
        ["ciou|Single|corner|3.4028234663852886E+38"] = "VG",
        ["giou|Single|far|-3.4028234663852886E+38"] = "VG",
        ["diou|Single|far|-3.4028234663852886E+38"] = "VG",
        ["ciou|Single|far|-3.4028234663852886E+38"] = "VG",
        ["giou|Single|span|-3.4028234663852886E+38"] = "VG",
        ["diou|Single|span|-3.4028234663852886E+38"] = "G",
        ["ciou|Single|span|-3.4028234663852886E+38"] = "VG",
        ["giou|Single|corner|-3.4028234663852886E+38"] = "VG",
        ["diou|Single|corner|-3.4028234663852886E+38"] = "VG",
        ["ciou|Single|corner|-3.4028234663852886E+38"] = "VG",
        ["giou|Single|far|1.7014117331926443E+38"] = "VG",
        ["diou|Single|far|1.7014117331926443E+38"] = "VG",
        ["ciou|Single|far|1.7014117331926443E+38"] = "VG",
        ["giou|Single|span|1.7014117331926443E+38"] = "VG",
        ["diou|Single|span|1.7014117331926443E+38"] = "G",
        ["ciou|Single|span|1.7014117331926443E+38"] = "G",
        ["giou|Single|corner|1.7014117331926443E+38"] = "VG",
        ["diou|Single|corner|1.7014117331926443E+38"] = "VG",
        ["ciou|Single|corner|1.7014117331926443E+38"] = "VG",
        ["giou|Single|far|-1.7014117331926443E+38"] = "VG",
        ["diou|Single|far|-1.7014117331926443E+38"] = "VG",
        ["ciou|Single|far|-1.7014117331926443E+38"] = "VG",
        ["giou|Single|span|-1.7014117331926443E+38"] = "VG",
        ["diou|Single|span|-1.7014117331926443E+38"] = "G",
        ["ciou|Single|span|-1.7014117331926443E+38"] = "G",
        ["giou|Single|corner|-1.7014117331926443E+38"] = "VG",
        ["diou|Single|corner|-1.7014117331926443E+38"] = "VG",
        ["ciou|Single|corner|-1.7014117331926443E+38"] = "VG",
        ["giou|Single|far|1E+30"] = "VG",
        ["diou|Single|far|1E+30"] = "VG",
        ["ciou|Single|far|1E+30"] = "VG",
        ["giou|Single|span|1E+30"] = "VG",
        ["giou|Single|corner|1E+30"] = "VG",
        ["diou|Single|corner|1E+30"] = "VG",
        ["ciou|Single|corner|1E+30"] = "VG",
        ["giou|Single|far|-1E+30"] = "VG",
        ["diou|Single|far|-1E+30"] = "VG",
        ["ciou|Single|far|-1E+30"] = "VG",
        ["giou|Single|span|-1E+30"] = "VG",
        ["giou|Single|corner|-1E+30"] = "VG",
        ["diou|Single|corner|-1E+30"] = "VG",
        ["ciou|Single|corner|-1E+30"] = "VG",
        ["ciou|Single|span|1.401298464324817E-45"] = "G",
        ["ciou|Single|corner|1.401298464324817E-45"] = "G",
        ["ciou|Single|span|-1.401298464324817E-45"] = "G",
        ["ciou|Single|corner|-1.401298464324817E-45"] = "G",
        ["giou|Double|far|1.7976931348623157E+308"] = "VG",
        ["diou|Double|far|1.7976931348623157E+308"] = "VG",
        ["ciou|Double|far|1.7976931348623157E+308"] = "VG",
        ["giou|Double|span|1.7976931348623157E+308"] = "VG",
        ["diou|Double|span|1.7976931348623157E+308"] = "G",
        ["ciou|Double|span|1.7976931348623157E+308"] = "VG",
        ["giou|Double|corner|1.7976931348623157E+308"] = "VG",
        ["diou|Double|corner|1.7976931348623157E+308"] = "VG",
        ["ciou|Double|corner|1.7976931348623157E+308"] = "VG",
        ["giou|Double|far|-1.7976931348623157E+308"] = "VG",
        ["diou|Double|far|-1.7976931348623157E+308"] = "VG",
        ["ciou|Double|far|-1.7976931348623157E+308"] = "VG",
        ["giou|Double|span|-1.7976931348623157E+308"] = "VG",
        ["diou|Double|span|-1.7976931348623157E+308"] = "G",
        ["ciou|Double|span|-1.7976931348623157E+308"] = "VG",
        ["giou|Double|corner|-1.7976931348623157E+308"] = "VG",
        ["diou|Double|corner|-1.7976931348623157E+308"] = "VG",
        ["ciou|Double|corner|-1.7976931348623157E+308"] = "VG",
        ["giou|Double|far|8.988465674311579E+307"] = "VG",
        ["diou|Double|far|8.988465674311579E+307"] = "VG",
        ["ciou|Double|far|8.988465674311579E+307"] = "VG",
        ["giou|Double|span|8.988465674311579E+307"] = "VG",
        ["diou|Double|span|8.988465674311579E+307"] = "G",
        ["ciou|Double|span|8.988465674311579E+307"] = "G",
        ["giou|Double|corner|8.988465674311579E+307"] = "VG",
        ["diou|Double|corner|8.988465674311579E+307"] = "VG",
        ["ciou|Double|corner|8.988465674311579E+307"] = "VG",
        ["giou|Double|far|-8.988465674311579E+307"] = "VG",
        ["diou|Double|far|-8.988465674311579E+307"] = "VG",
        ["ciou|Double|far|-8.988465674311579E+307"] = "VG",
        ["giou|Double|span|-8.988465674311579E+307"] = "VG",
        ["diou|Double|span|-8.988465674311579E+307"] = "G",
        ["ciou|Double|span|-8.988465674311579E+307"] = "G",
        ["giou|Double|corner|-8.988465674311579E+307"] = "VG",
        ["diou|Double|corner|-8.988465674311579E+307"] = "VG",
        ["ciou|Double|corner|-8.988465674311579E+307"] = "VG",
        ["ciou|Double|far|1E+30"] = "VG",
        ["ciou|Double|far|-1E+30"] = "VG",
        ["ciou|Double|span|5E-324"] = "G",
        ["ciou|Double|corner|5E-324"] = "G",
        ["ciou|Double|span|-5E-324"] = "G",
        ["ciou|Double|corner|-5E-324"] = "G",
    };

    [Theory]
    [InlineData("giou")]
    [InlineData("diou")]
    [InlineData("ciou")]
    public void BoxLosses_NonFiniteOnlyWhereTorchvisionIs(string id)
    {
        BoxCases<float>(id);
        BoxCases<double>(id);
    }

    private void BoxCases<T>(string id)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var loss = (BoxRegressionLoss<T>)LossRegistry.Get(id).Create<T>(LossRegistry.Get(id).Arguments().Set("reduction", Reduction.None));
        var failures = new List<string>();
        foreach (double v in Inputs<T>().Where(v => v != 0))
        {
            double a = Math.Abs(v);
            foreach ((string name, double[] box) in new (string, double[])[] { ("far", [v, v, v + 1, v + 1]), ("span", [-a, -a, a, a]), ("corner", [0, 0, a, a]) })
            {
                T[] predicted = [.. box.Select(T.CreateTruncating)];
                T[] target = [T.Zero, T.Zero, T.One, T.One];
                var gradient = new T[4];
                var value = new T[1];
                loss.ForwardBackward(predicted, target, gradient, value);
                string key = string.Create(CultureInfo.InvariantCulture, $"{id}|{typeof(T).Name}|{name}|{v:R}");
                string torch = TorchBoxNonFinite.GetValueOrDefault(key, "");
                if ((!T.IsFinite(value[0]) && !torch.Contains('V')) || (!gradient.All(T.IsFinite) && !torch.Contains('G')))
                {
                    failures.Add($"{key}: value {value[0]} gradient {string.Join(", ", gradient)}, torchvision non-finite: '{torch}'");
                }
            }
        }

        Report(id, 1, failures);
    }

    private static void Judge<T>(string key, T[] values, T[] gradient, List<string> failures)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TorchNonFinite.TryGetValue(key, out string? expected);
        bool valueFinite = values.All(T.IsFinite), gradientFinite = gradient.All(T.IsFinite);
        bool valueOk = valueFinite != (expected?.Contains('V') ?? false);
        bool gradientOk = gradientFinite != (expected?.Contains('G') ?? false);
        if (!valueOk || !gradientOk)
        {
            failures.Add($"{key}: value {values[0]} gradient {gradient[0]} (finite: value {valueFinite}, gradient {gradientFinite})");
        }
    }

    private void Report(string id, int checkedCases, List<string> failures)
    {
        foreach (string f in failures)
        {
            output.WriteLine(f);
        }

        Assert.True(checkedCases > 0, $"{id}: no case was in the loss's domain");
        Assert.True(failures.Count == 0, $"{id}: {failures.Count} non-finite results for finite inputs:\n" + string.Join("\n", failures));
    }
}
