using System.Numerics;
using BenchmarkDotNet.Attributes;
using LossKit.Criteria;

namespace LossKit.Benchmarks;

// Detector criteria (match, sample, compose the losses, gradients w.r.t. every head output) at realistic sizes. Data
// and the CriterionWorkspace are created in [GlobalSetup]; the workspace grows during the first (warm-up) call and is
// reused, so the Allocated column measures the steady state (expected: nothing). Class names start with "Criteria" so
// that '*Criteria*' selects them all.

/// <summary>Scene generators for the criteria benchmarks (seeded, deterministic).</summary>
internal static class CriteriaData
{
    /// <summary>
    /// RetinaNet-style anchors: FPN levels with strides 8…128 over a <paramref name="width"/> × <paramref name="height"/>
    /// image, sizes 4·stride·{1, 2^⅓, 2^⅔}, aspect ratios {½, 1, 2} (9 per location), the first <paramref name="count"/>.
    /// </summary>
    public static T[] PyramidAnchors<T>(int width, int height, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var list = new List<T>(4 * count);
        for (int stride = 8; stride <= 128 && list.Count < 4 * count; stride *= 2)
        {
            for (int y = 0; y * stride < height && list.Count < 4 * count; y++)
            {
                for (int x = 0; x * stride < width && list.Count < 4 * count; x++)
                {
                    double cx = (x + 0.5) * stride, cy = (y + 0.5) * stride;
                    foreach (double scale in new[] { 1.0, Math.Pow(2, 1.0 / 3), Math.Pow(2, 2.0 / 3) })
                    {
                        foreach (double ratio in new[] { 0.5, 1.0, 2.0 })
                        {
                            double size = 4 * stride * scale, w = size / Math.Sqrt(ratio), h = size * Math.Sqrt(ratio);
                            list.AddRange([T.CreateTruncating(cx - w / 2), T.CreateTruncating(cy - h / 2), T.CreateTruncating(cx + w / 2), T.CreateTruncating(cy + h / 2)]);
                        }
                    }
                }
            }
        }

        return list.Take(4 * count).ToArray();
    }

    /// <summary><paramref name="count"/> xyxy boxes inside a width × height image, sides in [20, 300).</summary>
    public static T[] Boxes<T>(Random random, int count, int width, int height)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var boxes = new T[4 * count];
        for (int i = 0; i < count; i++)
        {
            double w = 20 + 280 * random.NextDouble(), h = 20 + 280 * random.NextDouble();
            double x = (width - w) * random.NextDouble(), y = (height - h) * random.NextDouble();
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) =
                (T.CreateTruncating(x), T.CreateTruncating(y), T.CreateTruncating(x + w), T.CreateTruncating(y + h));
        }

        return boxes;
    }

    /// <summary>Proposals jittered around the ground truths (a quarter) and anywhere (the rest), like an RPN's output.</summary>
    public static T[] Proposals<T>(Random random, int count, T[] truths, int width, int height)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] proposals = Boxes<T>(random, count, width, height);
        int g = truths.Length / 4;
        for (int i = 0; i < count / 4 && g > 0; i++)
        {
            int t = random.Next(g);
            for (int k = 0; k < 4; k++)
            {
                proposals[4 * i + k] = truths[4 * t + k] + T.CreateTruncating(8 * (random.NextDouble() - 0.5));
            }

            if (proposals[4 * i + 2] <= proposals[4 * i] || proposals[4 * i + 3] <= proposals[4 * i + 1])
            {
                truths.AsSpan(4 * t, 4).CopyTo(proposals.AsSpan(4 * i, 4));
            }
        }

        return proposals;
    }
}

/// <summary>RetinaNet loss (focal + L1, torchvision defaults): 2 images × 120,000 anchors × 80 classes, 20 ground truths each.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CriteriaRetinaNet<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Images = 2, Anchors = 120_000, Classes = 80, Truths = 20;
    private readonly int[] _counts = [Truths, Truths];
    private RetinaNetLoss<T> _loss = null!;
    private CriterionWorkspace<T> _workspace = null!;
    private T[] _logits = [], _regression = [], _anchors = [], _truths = [], _logitsGradient = [], _regressionGradient = [];
    private int[] _labels = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _loss = new RetinaNetLoss<T>();
        _workspace = new CriterionWorkspace<T>();
        _anchors = CriteriaData.PyramidAnchors<T>(896, 768, Anchors);
        _truths = CriteriaData.Boxes<T>(random, Images * Truths, 896, 768);
        _labels = BenchData.ClassIndices(random, Images * Truths, Classes);
        _logits = BenchData.Uniform<T>(random, Images * Anchors * Classes, -6, 0);
        _regression = BenchData.Uniform<T>(random, Images * Anchors * 4, -0.5, 0.5);
        _logitsGradient = new T[_logits.Length];
        _regressionGradient = new T[_regression.Length];
        ForwardBackward(); // grow the workspace
    }

    [Benchmark]
    public T Forward() => _loss.Forward(_logits, _regression, _anchors, _truths, _labels, _counts, Classes, _workspace).Total;

    [Benchmark]
    public T ForwardBackward() =>
        _loss.ForwardBackward(_logits, _regression, _anchors, _truths, _labels, _counts, Classes, _logitsGradient, _regressionGradient, _workspace).Total;
}

/// <summary>YOLOv3 loss, 416 × 416 (13/26/52 grids, 3 anchors each), batch 8, 80 classes, 12 ground truths per image;
/// darknet semantics and the ultralytics variant.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CriteriaYoloV3<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Batch = 8, Classes = 80, Truths = 12;
    private readonly int[] _counts = Enumerable.Repeat(Truths, Batch).ToArray();
    private YoloV3Loss<T> _darknet = null!, _ultralytics = null!;
    private CriterionWorkspace<T> _workspace = null!;
    private T[] _o0 = [], _o1 = [], _o2 = [], _g0 = [], _g1 = [], _g2 = [], _truths = [];
    private int[] _labels = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _darknet = new YoloV3Loss<T>(Classes);
        _ultralytics = new YoloV3Loss<T>(Classes, variant: YoloV3Variant.Ultralytics);
        _workspace = new CriterionWorkspace<T>();
        _o0 = BenchData.Uniform<T>(random, _darknet.OutputLength(0, Batch), -2, 2);
        _o1 = BenchData.Uniform<T>(random, _darknet.OutputLength(1, Batch), -2, 2);
        _o2 = BenchData.Uniform<T>(random, _darknet.OutputLength(2, Batch), -2, 2);
        (_g0, _g1, _g2) = (new T[_o0.Length], new T[_o1.Length], new T[_o2.Length]);
        _truths = new T[4 * Batch * Truths];
        for (int i = 0; i < Batch * Truths; i++)
        {
            double w = 0.02 + 0.5 * random.NextDouble(), h = 0.02 + 0.5 * random.NextDouble();
            (_truths[4 * i], _truths[4 * i + 1], _truths[4 * i + 2], _truths[4 * i + 3]) = (T.CreateTruncating(0.999 * random.NextDouble()),
                T.CreateTruncating(0.999 * random.NextDouble()), T.CreateTruncating(w), T.CreateTruncating(h));
        }

        _labels = BenchData.ClassIndices(random, Batch * Truths, Classes);
        DarknetForwardBackward();
        UltralyticsForwardBackward();
    }

    [Benchmark]
    public T DarknetForward() => _darknet.Forward(_o0, _o1, _o2, _truths, _labels, _counts, _workspace).Total;

    [Benchmark]
    public T DarknetForwardBackward() => _darknet.ForwardBackward(_o0, _o1, _o2, _truths, _labels, _counts, _g0, _g1, _g2, _workspace).Total;

    [Benchmark]
    public T UltralyticsForwardBackward() => _ultralytics.ForwardBackward(_o0, _o1, _o2, _truths, _labels, _counts, _g0, _g1, _g2, _workspace).Total;
}

/// <summary>
/// Faster R-CNN RoI head: 2 images × 2000 proposals (+ 20 ground truths each) → 512 sampled RoIs per image, 81 classes.
/// SelectTrainingSamples (match, label, sample, encode) and the fastrcnn loss on the 1024 sampled RoIs.
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CriteriaFasterRcnnRoi<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Images = 2, Proposals = 2000, Truths = 20, Classes = 81;
    private readonly int[] _proposalCounts = [Proposals, Proposals], _truthCounts = [Truths, Truths];
    private FastRcnnLoss<T> _loss = null!;
    private CriterionWorkspace<T> _workspace = null!;
    private T[] _proposals = [], _truths = [], _sampled = [], _targets = [], _logits = [], _regression = [], _logitsGradient = [], _regressionGradient = [];
    private int[] _truthLabels = [], _labels = [], _sampledCounts = new int[Images];
    private int _roiCount;

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _loss = new FastRcnnLoss<T>();
        _workspace = new CriterionWorkspace<T>();
        _truths = CriteriaData.Boxes<T>(random, Images * Truths, 1024, 800);
        _proposals = [.. CriteriaData.Proposals<T>(random, Proposals, _truths[..(4 * Truths)], 1024, 800),
            .. CriteriaData.Proposals<T>(random, Proposals, _truths[(4 * Truths)..], 1024, 800)];
        _truthLabels = BenchData.ClassIndices(random, Images * Truths, Classes - 1).Select(c => c + 1).ToArray();
        int capacity = _loss.SampledCapacity(_proposalCounts, _truthCounts);
        (_sampled, _targets, _labels) = (new T[4 * capacity], new T[4 * capacity], new int[capacity]);
        _roiCount = SelectTrainingSamples();
        _logits = BenchData.Uniform<T>(random, _roiCount * Classes, -4, 4);
        _regression = BenchData.Uniform<T>(random, _roiCount * 4 * Classes, -1, 1);
        _logitsGradient = new T[_logits.Length];
        _regressionGradient = new T[_regression.Length];
        ForwardBackward();
    }

    [Benchmark]
    public int SelectTrainingSamples() =>
        _loss.SelectTrainingSamples(_proposals, _proposalCounts, _truths, _truthLabels, _truthCounts, Classes, _sampled, _labels, _targets,
            _sampledCounts, 7, _workspace);

    [Benchmark]
    public T Forward() => _loss.Forward(_logits, _regression, _labels.AsSpan(0, _roiCount), _targets.AsSpan(0, 4 * _roiCount), Classes, _workspace).Total;

    [Benchmark]
    public T ForwardBackward() =>
        _loss.ForwardBackward(_logits, _regression, _labels.AsSpan(0, _roiCount), _targets.AsSpan(0, 4 * _roiCount), Classes,
            _logitsGradient, _regressionGradient, _workspace).Total;
}

/// <summary>Faster R-CNN RPN loss (match, sample 256 per image, BCE + Smooth L1): 2 images × 120,000 anchors, 20 ground truths each.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CriteriaFasterRcnnRpn<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Images = 2, Anchors = 120_000, Truths = 20;
    private readonly int[] _counts = [Truths, Truths];
    private RpnLoss<T> _loss = null!;
    private CriterionWorkspace<T> _workspace = null!;
    private T[] _objectness = [], _deltas = [], _anchors = [], _truths = [], _objectnessGradient = [], _deltasGradient = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _loss = new RpnLoss<T>();
        _workspace = new CriterionWorkspace<T>();
        _anchors = CriteriaData.PyramidAnchors<T>(896, 768, Anchors);
        _truths = CriteriaData.Boxes<T>(random, Images * Truths, 896, 768);
        _objectness = BenchData.Uniform<T>(random, Images * Anchors, -4, 4);
        _deltas = BenchData.Uniform<T>(random, Images * Anchors * 4, -0.5, 0.5);
        _objectnessGradient = new T[_objectness.Length];
        _deltasGradient = new T[_deltas.Length];
        ForwardBackward();
    }

    [Benchmark]
    public T ForwardBackward() =>
        _loss.ForwardBackward(_objectness, _deltas, _anchors, _truths, _counts, _objectnessGradient, _deltasGradient, 11, _workspace).Total;
}
