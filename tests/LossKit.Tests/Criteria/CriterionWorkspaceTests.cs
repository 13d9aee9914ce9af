using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Tests.Infrastructure;
using LossKit.Tests.Internal;

namespace LossKit.Tests.Criteria;

/// <summary>
/// The criteria's workspace, scratch buffers, shared checks, parallel fill and sampling generator (run M: their size
/// arithmetic, growth, checks and bit mixing could all change with the criteria tests passing).
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public class CriterionWorkspaceTests
{
    /// <summary>A scratch set per element type, reporting that type's size as its bytes.</summary>
    private sealed class Sized<TSize> : CriterionScratch
        where TSize : unmanaged
    {
        public override long AllocatedBytes => System.Runtime.CompilerServices.Unsafe.SizeOf<TSize>();
    }

    [Fact]
    public void Scratch_KeepsOneSetPerType_BeyondTheInitialSlots()
    {
        var ws = new CriterionWorkspace<double>();
        CriterionScratch[] sets =
        [
            ws.Scratch<Sized<byte>>(), ws.Scratch<Sized<short>>(), ws.Scratch<Sized<int>>(), ws.Scratch<Sized<long>>(),
        ];
        Assert.Equal(15, ws.AllocatedBytes);
        sets = [.. sets, ws.Scratch<Sized<decimal>>(), ws.Scratch<Sized<System.Runtime.Intrinsics.Vector256<byte>>>()]; // past the four slots: the array grows
        Assert.Equal(63, ws.AllocatedBytes);
        CriterionScratch[] again =
        [
            ws.Scratch<Sized<byte>>(), ws.Scratch<Sized<short>>(), ws.Scratch<Sized<int>>(), ws.Scratch<Sized<long>>(),
            ws.Scratch<Sized<decimal>>(), ws.Scratch<Sized<System.Runtime.Intrinsics.Vector256<byte>>>(),
        ];
        Assert.Equal(sets, again); // the same instances
        Assert.Equal(63, ws.AllocatedBytes);
        ws.Clear();
        Assert.Equal(0, ws.AllocatedBytes);
        Assert.NotSame(sets[0], ws.Scratch<Sized<byte>>());
    }

    [Fact]
    public void ScratchBuffer_GrowsByHalfAgainAndReportsItsBytes()
    {
        var b = default(ScratchBuffer<double>);
        Assert.Equal(0, b.Bytes);
        Assert.Equal(100, b.Get(100).Length);
        Assert.Equal(800, b.Bytes); // exactly the first request
        Assert.Equal(100, b.Get(100).Length);
        Assert.Equal(800, b.Bytes); // an equal request reuses the array
        Assert.Equal(40, b.Get(40).Length);
        Assert.Equal(800, b.Bytes);
        Assert.Equal(101, b.Get(101).Length);
        Assert.Equal(1200, b.Bytes); // 100 + 100 / 2
        Assert.Equal(1000, b.Get(1000).Length);
        Assert.Equal(8000, b.Bytes); // past half again: the request itself
        var ints = default(ScratchBuffer<int>);
        ints.Get(10);
        Assert.Equal(40, ints.Bytes);
        var kinds = default(ScratchBuffer<SampleKind>);
        kinds.Get(10);
        Assert.Equal(10, kinds.Bytes);
    }

    [Fact]
    public void ScratchBuffer_LongerThanAnArray_NamesTheWorkspace()
    {
        var b = default(ScratchBuffer<byte>);
        LossChecks.ThrowsNaming("workspace", () => b.Get(Array.MaxLength + 1L), $"{Array.MaxLength + 1L} elements");
        Assert.Equal(0, b.Bytes);
    }

    /// <summary>
    /// <see cref="CriterionWorkspace{T}.AllocatedBytes"/> is the sum over every scratch buffer that each criterion
    /// declares, found here by reflection (so a buffer left out of a criterion's sum fails too), after a first and a
    /// second call; the second call of the same scene allocates nothing more.
    /// </summary>
    [Fact]
    public void AllocatedBytes_AddsUpEveryScratchBuffer()
    {
        var rng = new Random(5);
        double[] anchors = Scenes.Anchors(256, 8);
        int a = anchors.Length / 4;
        double[] gt = [.. Scenes.Truths(anchors, 40, rng), .. Scenes.Truths(anchors, 30, rng)];
        int[] counts = [40, 30], labels = [.. Enumerable.Range(0, 70).Select(i => i % 5)];
        const int classes = 5;
        double[] logits = Scenes.Normal<double>(2 * a * classes, 1.0, rng), regression = Scenes.Normal<double>(2 * a * 4, 0.2, rng);
        double[] gl = new double[logits.Length], gr = new double[regression.Length];
        double[] obj = Scenes.Normal<double>(2 * a, 1.0, rng), go = new double[obj.Length];
        var retina = new RetinaNetLoss<double>(BoxLossKind.GIoU);
        var rpn = new RpnLoss<double>(sampler: new BalancedPositiveNegativeSampler(4096, 0.5));
        var roi = new FastRcnnLoss<double>(sampler: new BalancedPositiveNegativeSampler(2048, 0.25));
        var yolo = new YoloV3Loss<double>(classes, 256, 256);
        var yoloUltra = new YoloV3Loss<double>(classes, 256, 256, variant: YoloV3Variant.Ultralytics);
        double[][] yo = [.. Enumerable.Range(0, 3).Select(l => Scenes.Normal<double>(yolo.OutputLength(l, 2), 1.0, rng))];
        double[][] yg = [.. yo.Select(o => new double[o.Length])];
        double[] yoloGt = [.. Enumerable.Range(0, 70).SelectMany(_ => new[] { 0.05 + 0.9 * rng.NextDouble(), 0.05 + 0.9 * rng.NextDouble(), 0.02 + 0.2 * rng.NextDouble(), 0.02 + 0.2 * rng.NextDouble() })];
        int capacity = roi.SampledCapacity([a, a], counts);
        double[] sp = new double[4 * capacity], st = new double[4 * capacity];
        int[] sl = new int[capacity], sc = new int[2];
        int[] halves = [a / 2, a - a / 2];

        (string Name, Action<CriterionWorkspace<double>> Call)[] calls =
        [
            ("RetinaNet", ws => retina.ForwardBackward(logits, regression, anchors, gt, labels, counts, classes, gl, gr, ws)),
            ("RPN", ws => rpn.ForwardBackward(obj, regression, anchors, gt, counts, go, gr, 3, ws)),
            ("Fast R-CNN", ws =>
            {
                int s = roi.SelectTrainingSamples(anchors, halves, gt, labels, counts, classes, sp, sl, st, sc, 3, ws);
                roi.ForwardBackward(Scenes.Normal<double>(s * classes, 1.0, rng), Scenes.Normal<double>(s * classes * 4, 0.2, rng), sl.AsSpan(0, s),
                    st.AsSpan(0, 4 * s), classes, new double[s * classes], new double[s * classes * 4], ws);
            }),
            ("YOLOv3", ws => yolo.ForwardBackward(yo[0], yo[1], yo[2], yoloGt, labels, counts, yg[0], yg[1], yg[2], ws)),
            ("YOLOv3 ultralytics", ws => yoloUltra.ForwardBackward(yo[0], yo[1], yo[2], yoloGt, labels, counts, yg[0], yg[1], yg[2], ws)),
        ];

        var shared = new CriterionWorkspace<double>();
        foreach ((string name, Action<CriterionWorkspace<double>> call) in calls)
        {
            var ws = new CriterionWorkspace<double>();
            call(ws);
            long held = HeldBytes(ws);
            Assert.True(held > 16 * 1024, $"{name}: {held} B held");
            Assert.Equal(held, ws.AllocatedBytes);
            call(ws);
            Assert.Equal(held, HeldBytes(ws));
            Assert.Equal(held, ws.AllocatedBytes);
            call(shared); // one workspace for all four: their sets add up
            Assert.Equal(HeldBytes(shared), shared.AllocatedBytes);
        }
    }

    /// <summary>Σ over the workspace's scratch sets of every <see cref="ScratchBuffer{TElement}"/> field's bytes.</summary>
    private static long HeldBytes<T>(CriterionWorkspace<T> ws)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        const System.Reflection.BindingFlags Fields = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public
            | System.Reflection.BindingFlags.NonPublic;
        var sets = (CriterionScratch?[])typeof(CriterionWorkspace<T>).GetField("_sets", Fields)!.GetValue(ws)!;
        long total = 0;
        int buffers = 0;
        foreach (CriterionScratch set in sets.OfType<CriterionScratch>())
        {
            foreach (System.Reflection.FieldInfo f in set.GetType().GetFields(Fields))
            {
                if (f.FieldType.IsGenericType && f.FieldType.GetGenericTypeDefinition() == typeof(ScratchBuffer<>))
                {
                    total += (long)f.FieldType.GetProperty("Bytes")!.GetValue(f.GetValue(set))!;
                    buffers++;
                }
            }
        }

        Assert.True(sets.All(s => s is null) || buffers > 4);
        return total;
    }

    [Fact]
    public void Half_WorkspaceHoldsTheFloat32Buffers()
    {
        double[] anchors = Scenes.Anchors(64, 8);
        var rng = new Random(2);
        Half[] ha = HalfData.Halves(anchors), gt = HalfData.Halves(Scenes.Truths(anchors, 6, rng));
        int a = anchors.Length / 4;
        Half[] obj = HalfData.Halves(Scenes.Normal<double>(a, 1.0, rng)), deltas = HalfData.Halves(Scenes.Normal<double>(4 * a, 0.2, rng));
        var rpn = new RpnLoss<Half>();
        var ws = new CriterionWorkspace<Half>();
        Assert.Equal(0, ws.AllocatedBytes);
        rpn.Forward(obj, deltas, ha, gt, [6], 1, ws);
        CriterionWorkspace<float> inner = ws.Float32;
        Assert.True(inner.AllocatedBytes > 0);
        Assert.Equal(inner.AllocatedBytes, ws.AllocatedBytes);
        rpn.Forward(obj, deltas, ha, gt, [6], 1, ws);
        Assert.Same(inner, ws.Float32); // kept between calls
        ws.Clear();
        Assert.Equal(0, ws.AllocatedBytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4 * 65536 - 1)]
    [InlineData(4 * 65536)]
    [InlineData(4 * 65536 + 1)]
    [InlineData(5 * 65536 - 1)]
    [InlineData(9 * 65536 + 77)]
    public void ParallelFill_SetsEveryElementAndNothingElse(int length)
    {
        var array = new double[length + 2];
        array.AsSpan().Fill(-7);
        int original = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                LossKitSettings.MaxDegreeOfParallelism = threads;
                double value = threads + 0.5;
                CriteriaParallel.Fill(array.AsSpan(1, length), value);
                Assert.Equal(-7, array[0]);
                Assert.Equal(-7, array[^1]);
                int wrong = array.AsSpan(1, length).IndexOfAnyExcept(value);
                Assert.True(wrong < 0, $"{threads} threads: element {wrong} of {length} is {array[1 + Math.Max(wrong, 0)]}");
            }
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = original;
        }
    }

    /// <summary>
    /// SplitMix64 (Steele, Lea and Flood 2014; Vigna's splitmix64.c): the published first outputs for seed 1234567, and
    /// the per-image seeds and bounded draws recomputed from the algorithm in Python integers (not from this code).
    /// </summary>
    [Fact]
    public void SplitMix64_IsThePublishedGenerator()
    {
        var g = new SplitMix64(1234567);
        ulong[] published = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821];
        foreach (ulong v in published)
        {
            Assert.Equal(v, g.Next());
        }

        // seed ^ (0xD1B54A32D192ED03 · (image + 1)), then one output.
        Assert.Equal([3246858695411730098UL, 4349182596431645316, 1743751926215444844], Enumerable.Range(0, 3).Select(i => SplitMix64.ForImage(0, i)));
        Assert.Equal([14473931205035997723UL, 18048596636615606144, 5632914758302621589], Enumerable.Range(0, 3).Select(i => SplitMix64.ForImage(42, i)));
        // ⌊x · 1000 / 2⁶⁴⌋ of the outputs for seed 7.
        var b = new SplitMix64(7);
        Assert.Equal([389, 16, 900, 582], Enumerable.Range(0, 4).Select(_ => b.NextBelow(1000)));
    }

    [Fact]
    public void GroundTruthTotal_RefusesNegativeCountsAndTotalsPastTheBoxLimit()
    {
        Assert.Equal(7, CriteriaChecks.GroundTruthTotal([3, 0, 4]));
        LossChecks.ThrowsNaming("groundTruthCounts", () => CriteriaChecks.GroundTruthTotal([3, -1]), "groundTruthCounts[1] = -1", ">= 0");
        Assert.Equal(int.MaxValue / 4, CriteriaChecks.GroundTruthTotal([int.MaxValue / 4])); // the largest total whose boxes fit an int
        LossChecks.ThrowsNaming("groundTruthCounts", () => CriteriaChecks.GroundTruthTotal([int.MaxValue / 4, 1]), $"adds up to {int.MaxValue / 4 + 1L}");
        LossChecks.ThrowsNaming("counts", () => CriteriaChecks.GroundTruthTotal([int.MaxValue, int.MaxValue], "counts"), $"adds up to {2L * int.MaxValue}");
    }

    [Fact]
    public void QualityMatrix_CountsTheAppendedGroundTruths()
    {
        CriteriaChecks.QualityMatrix([46340], 46340, "groundTruthCounts", "anchors"); // 46340² < 2³¹
        LossChecks.ThrowsNaming("groundTruthCounts", () => CriteriaChecks.QualityMatrix([1, 46341], 46341, "groundTruthCounts", "anchors"),
            "image 1's IoU matrix, ground truths × anchors", "46341 × 46341");
        // Fast R-CNN: the columns are image i's proposals plus its own ground truths.
        CriteriaChecks.QualityMatrix([30000], 0, "groundTruthCounts", "proposals", [41580]);
        LossChecks.ThrowsNaming("groundTruthCounts", () => CriteriaChecks.QualityMatrix([30000], 0, "groundTruthCounts", "proposals", [41590]),
            "30000 × 71590");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PositiveXyxy_RefusesEachNonFiniteCoordinate(int coordinate)
    {
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            double[] boxes = [0, 0, 2, 2, 1, 1, 5, 6];
            boxes[4 + coordinate] = bad;
            LossChecks.ThrowsNaming("boxes", () => CriteriaChecks.PositiveXyxy<double>(boxes, "boxes"), "boxes[1] = (", "NaN or infinite");
        }
    }

    [Fact]
    public void PositiveXyxy_RefusesEmptyAndInvertedBoxes()
    {
        CriteriaChecks.PositiveXyxy<double>([0, 0, 2, 2, 1, 1, 1.5, 1.25], "boxes");
        foreach (double[] box in new double[][] { [1, 1, 1, 2], [1, 1, 2, 1], [2, 1, 1, 2], [1, 2, 2, 1] })
        {
            double[] boxes = [0, 0, 2, 2, 0, 0, 3, 3, .. box];
            LossChecks.ThrowsNaming("boxes", () => CriteriaChecks.PositiveXyxy<double>(boxes, "boxes"), "boxes[2] = (", "empty or inverted");
        }
    }

    [Fact]
    public void Labels_Classes_Shape_NameTheValue()
    {
        CriteriaChecks.Labels([0, 4, 1], 5, "labels");
        LossChecks.ThrowsNaming("labels", () => CriteriaChecks.Labels([0, 5], 5, "labels"), "labels[1] = 5", "[0, 5)");
        LossChecks.ThrowsNaming("labels", () => CriteriaChecks.Labels([1, 0], 5, "labels", 1), "labels[1] = 0", "[1, 5)");
        LossChecks.ThrowsNaming("classes", () => CriteriaChecks.Classes(1, 2), ">= 2, got 1");
        CriteriaChecks.Shape(12, 3, 4, "x", "rows × columns");
        LossChecks.ThrowsNaming("x", () => CriteriaChecks.Shape(11, 3, 4, "x", "rows × columns"), "12 elements", "3 × 4", "has 11");
    }
}
