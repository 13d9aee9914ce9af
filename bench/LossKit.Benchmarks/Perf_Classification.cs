using System.Numerics;
using BenchmarkDotNet.Attributes;
using LossKit.Classification;

namespace LossKit.Benchmarks;

// Classification losses through their span entry points, Reduction.Mean unless noted. Every benchmark returns the
// loss value; inputs come from a seeded Random and the gradient buffer is allocated once, in [GlobalSetup], so the
// Allocated column measures the library call alone (expected: nothing).
//
// Class names are chosen so that '*CrossEntropy*' selects the multi-class cross-entropy entries only (the binary
// ones are Bce / BceWithLogits) and '*Hinge*' selects the three hinge variants.

/// <summary>Cross-entropy on logits with class-index targets, 32768 × 80.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CrossEntropy<T> : ClassIndexBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override (int Rows, int Classes) Shape => (32768, 80);

    private protected override ClassIndexLoss<T> CreateLoss() => new CrossEntropyLoss<T>(Reduction.Mean);
}

/// <summary>Cross-entropy with label smoothing 0.1, class-index targets, 32768 × 80.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CrossEntropyLabelSmoothing<T> : ClassIndexBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override (int Rows, int Classes) Shape => (32768, 80);

    private protected override ClassIndexLoss<T> CreateLoss() => new CrossEntropyLoss<T>(Reduction.Mean, labelSmoothing: 0.1);
}

/// <summary>Cross-entropy with probability targets (each row a distribution), 32768 × 80.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CrossEntropyProbabilities<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Rows = 32768, Classes = 80;
    private CrossEntropyLoss<T> _loss = null!;
    private T[] _input = [], _target = [], _gradient = [];

    [GlobalSetup]
    public void Setup()
    {
        _loss = new CrossEntropyLoss<T>(Reduction.Mean);
        Random random = BenchData.NewRandom();
        _input = BenchData.Uniform<T>(random, Rows * Classes, -4, 4);
        _target = BenchData.Probabilities<T>(random, Rows, Classes);
        _gradient = new T[_input.Length];
    }

    [Benchmark]
    public T Forward() => _loss.Forward(_input.AsSpan(), _target.AsSpan(), Rows, Classes);

    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(_input.AsSpan(), _target.AsSpan(), Rows, Classes, _gradient.AsSpan());
}

/// <summary>
/// Small cross-entropy batches, rows × 80 with 13 × 80 = 1,040 and 38 × 80 = 3,040 scores (about 1,024 and
/// 6·512 + 7 elements): at these sizes the per-call overhead (validation, setup, no parallelism) dominates.
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CrossEntropySmall<T> : ClassIndexBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Params(13, 38)]
    public int Rows { get; set; }

    private protected override (int Rows, int Classes) Shape => (Rows, 80);

    private protected override ClassIndexLoss<T> CreateLoss() => new CrossEntropyLoss<T>(Reduction.Mean);
}

/// <summary>Negative log-likelihood on log-probabilities (row-wise log-softmax), 32768 × 80.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class Nll<T> : ClassIndexBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override (int Rows, int Classes) Shape => (32768, 80);

    private protected override ClassIndexLoss<T> CreateLoss() => new NllLoss<T>(Reduction.Mean);

    private protected override T[] CreateInput(Random random, int rows, int classes) => BenchData.LogProbabilities<T>(random, rows, classes);
}

/// <summary>Binary cross-entropy on probabilities in (0, 1) with 0/1 targets, 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class Bce<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new BinaryCrossEntropyLoss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, BenchData.FourM, 1e-3, 1 - 1e-3), BenchData.ZeroOne<T>(random, BenchData.FourM));
}

/// <summary>Binary cross-entropy on logits in [−6, 6) with 0/1 targets, 1,048,576 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class BceWithLogits<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new BinaryCrossEntropyWithLogitsLoss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, BenchData.OneM, -6, 6), BenchData.ZeroOne<T>(random, BenchData.OneM));
}

/// <summary>Binary cross-entropy on logits with a per-class posWeight (128 classes in [0.5, 4)), 8192 × 128.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class BceWithLogitsPosWeight<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Rows = 8192, Classes = 128;

    private protected override ElementwiseLoss<T> CreateLoss() =>
        new BinaryCrossEntropyWithLogitsLoss<T>(Reduction.Mean, posWeight: BenchData.Uniform<T>(new Random(BenchData.Seed + 1), Classes, 0.5, 4));

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, Rows * Classes, -6, 6), BenchData.ZeroOne<T>(random, Rows * Classes));
}

/// <summary>KL divergence, Reduction.BatchMean, input log-probabilities and target probabilities, 32768 × 80.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class KLDivergence<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Rows = 32768, Classes = 80;
    private KLDivergenceLoss<T> _loss = null!;
    private T[] _input = [], _target = [], _gradient = [];

    [GlobalSetup]
    public void Setup()
    {
        _loss = new KLDivergenceLoss<T>(Reduction.BatchMean);
        Random random = BenchData.NewRandom();
        _input = BenchData.LogProbabilities<T>(random, Rows, Classes);
        _target = BenchData.Probabilities<T>(random, Rows, Classes);
        _gradient = new T[_input.Length];
    }

    [Benchmark]
    public T Forward() => _loss.Forward(_input.AsSpan(), _target.AsSpan(), Rows);

    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(_input.AsSpan(), _target.AsSpan(), Rows, _gradient.AsSpan());
}

/// <summary>Hinge loss, scores in [−2, 2) and ±1 labels, 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class Hinge<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new HingeLoss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, BenchData.FourM, -2, 2), BenchData.PlusMinusOne<T>(random, BenchData.FourM));
}

/// <summary>Squared hinge loss, scores in [−2, 2) and ±1 labels, 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class SquaredHinge<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new SquaredHingeLoss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, BenchData.FourM, -2, 2), BenchData.PlusMinusOne<T>(random, BenchData.FourM));
}

/// <summary>Exponential loss exp(−y·x), scores in [−2, 2) and ±1 labels, 4,194,304 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class Exponential<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new ExponentialLoss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, BenchData.FourM, -2, 2), BenchData.PlusMinusOne<T>(random, BenchData.FourM));
}

/// <summary>Hinge embedding loss (margin 1), distances in [0, 2) and ±1 labels, 1,048,576 elements.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class HingeEmbedding<T> : ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override ElementwiseLoss<T> CreateLoss() => new HingeEmbeddingLoss<T>(Reduction.Mean);

    private protected override (T[] Input, T[] Target) CreateData(Random random) =>
        (BenchData.Uniform<T>(random, BenchData.OneM, 0, 2), BenchData.PlusMinusOne<T>(random, BenchData.OneM));
}

/// <summary>Multi-class margin loss (p = 1, margin 1), class-index targets, 32768 × 80.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class MultiMargin<T> : ClassIndexBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected override (int Rows, int Classes) Shape => (32768, 80);

    private protected override ClassIndexLoss<T> CreateLoss() => new MultiMarginLoss<T>(Reduction.Mean);

    private protected override T[] CreateInput(Random random, int rows, int classes) => BenchData.Uniform<T>(random, rows * classes, -1, 1);
}
