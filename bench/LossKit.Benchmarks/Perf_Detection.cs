using System.Numerics;
using BenchmarkDotNet.Attributes;
using LossKit.Detection;

namespace LossKit.Benchmarks;

// Detection losses through their span entry points: the focal family on dense-detector shapes (≈ 1 % positives) and
// the IoU-family box losses on 1,048,576 box pairs, plus the pairwise IoU matrix a matcher computes. Data and
// gradient buffers are created once in [GlobalSetup]; every benchmark returns a value.

/// <summary>Sigmoid focal loss (α 0.25, γ 2, sum), 131072 anchors × 80 classes, ≈ 1 % positives.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class SigmoidFocal<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new SigmoidFocalLoss<T>(Reduction.Sum);

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, 131072 * 80, -6, 6), DetectionData.Sparse<T>(random, 131072 * 80, 0.01));
}

/// <summary>Quality focal loss (β 2, mean), 131072 anchors × 80 classes, ≈ 1 % positive anchors.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class QualityFocal<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int N = 131072, C = 80;
    private readonly QualityFocalLoss<T> _loss = new();
    private T[] _input = [], _scores = [], _gradient = [];
    private int[] _labels = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _input = BenchData.Uniform<T>(random, N * C, -6, 6);
        _scores = BenchData.Uniform<T>(random, N, 0, 1);
        _labels = new int[N];
        for (int i = 0; i < N; i++)
        {
            _labels[i] = random.NextDouble() < 0.01 ? random.Next(C) : C;
        }

        _gradient = new T[N * C];
    }

    [Benchmark]
    public T Forward() => _loss.Forward(_input, _labels, _scores, N, C);

    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(_input, _labels, _scores, N, C, _gradient);
}

/// <summary>Distribution focal loss (mean), 262144 rows × 17 bins, targets in [0, 15.9).</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class DistributionFocal<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int N = 262144, Bins = 17;
    private readonly DistributionFocalLoss<T> _loss = new();
    private T[] _input = [], _target = [], _gradient = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _input = BenchData.Uniform<T>(random, N * Bins, -4, 4);
        _target = BenchData.Uniform<T>(random, N, 0, 15.9);
        _gradient = new T[N * Bins];
    }

    [Benchmark]
    public T Forward() => _loss.Forward(_input, _target, N, Bins);

    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(_input, _target, N, Bins, _gradient);
}

/// <summary>GIoU, DIoU and CIoU losses (torchvision convention, mean) on 1,048,576 xyxy box pairs.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class BoxLosses<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GIoULoss<T> _giou = new(Reduction.Mean);
    private readonly DIoULoss<T> _diou = new(Reduction.Mean);
    private readonly CIoULoss<T> _ciou = new(Reduction.Mean);
    private T[] _predicted = [], _target = [], _gradient = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _predicted = DetectionData.Boxes<T>(random, BenchData.OneM);
        _target = DetectionData.Boxes<T>(random, BenchData.OneM);
        _gradient = new T[_predicted.Length];
    }

    [Benchmark]
    public T GIoUForward() => _giou.Forward(_predicted, _target);

    [Benchmark]
    public T GIoUForwardBackward() => _giou.ForwardBackward(_predicted, _target, _gradient);

    [Benchmark]
    public T DIoUForward() => _diou.Forward(_predicted, _target);

    [Benchmark]
    public T DIoUForwardBackward() => _diou.ForwardBackward(_predicted, _target, _gradient);

    [Benchmark]
    public T CIoUForward() => _ciou.Forward(_predicted, _target);

    [Benchmark]
    public T CIoUForwardBackward() => _ciou.ForwardBackward(_predicted, _target, _gradient);
}

/// <summary>Pairwise IoU matrix, 20000 anchors × 100 ground truths (what a matcher computes per image).</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class PairwiseIou<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _anchors = [], _truths = [], _matrix = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _anchors = DetectionData.Boxes<T>(random, 20000);
        _truths = DetectionData.Boxes<T>(random, 100);
        _matrix = new T[20000 * 100];
    }

    [Benchmark]
    public T Iou()
    {
        BoxOps.Iou<T>(_anchors, _truths, _matrix);
        return _matrix[^1];
    }

    [Benchmark]
    public T GeneralizedIou()
    {
        BoxOps.GeneralizedIou<T>(_anchors, _truths, _matrix);
        return _matrix[^1];
    }
}

internal static class DetectionData
{
    /// <summary><paramref name="n"/> xyxy boxes: corners in [0, 100), sides in [1, 51).</summary>
    public static T[] Boxes<T>(Random random, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var b = new T[4 * n];
        for (int i = 0; i < n; i++)
        {
            double x = 100 * random.NextDouble(), y = 100 * random.NextDouble();
            b[4 * i] = T.CreateTruncating(x);
            b[4 * i + 1] = T.CreateTruncating(y);
            b[4 * i + 2] = T.CreateTruncating(x + 1 + 50 * random.NextDouble());
            b[4 * i + 3] = T.CreateTruncating(y + 1 + 50 * random.NextDouble());
        }

        return b;
    }

    /// <summary>0/1 targets with P(1) = <paramref name="p"/>.</summary>
    public static T[] Sparse<T>(Random random, int n, double p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = random.NextDouble() < p ? T.One : T.Zero;
        }

        return a;
    }
}
