using System.Numerics;
using BenchmarkDotNet.Attributes;

namespace LossKit.Benchmarks;

/// <summary>Deterministic benchmark inputs: every generator draws from a <see cref="Random"/> seeded with <see cref="Seed"/>.</summary>
internal static class BenchData
{
    public const int Seed = 20240611;

    /// <summary>4,194,304 elements: the size of the large element-wise runs.</summary>
    public const int FourM = 1 << 22;

    /// <summary>1,048,576 elements.</summary>
    public const int OneM = 1 << 20;

    public static Random NewRandom() => new(Seed);

    /// <summary><paramref name="n"/> values uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static T[] Uniform<T>(Random random, int n, double low, double high)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = T.CreateTruncating(low + (high - low) * random.NextDouble());
        }

        return a;
    }

    /// <summary><paramref name="n"/> labels, each −1 or +1 with probability ½.</summary>
    public static T[] PlusMinusOne<T>(Random random, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = random.Next(2) == 0 ? -T.One : T.One;
        }

        return a;
    }

    /// <summary><paramref name="n"/> labels, each 0 or 1 with probability ½.</summary>
    public static T[] ZeroOne<T>(Random random, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = random.Next(2) == 0 ? T.Zero : T.One;
        }

        return a;
    }

    /// <summary><paramref name="rows"/> class indices in [0, <paramref name="classes"/>).</summary>
    public static int[] ClassIndices(Random random, int rows, int classes)
    {
        var a = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            a[i] = random.Next(classes);
        }

        return a;
    }

    /// <summary>Row-wise log-softmax of random logits in [−4, 4): log-probabilities, <paramref name="rows"/> × <paramref name="classes"/>.</summary>
    public static T[] LogProbabilities<T>(Random random, int rows, int classes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new T[rows * classes];
        var logits = new double[classes];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                logits[c] = -4 + 8 * random.NextDouble();
                max = Math.Max(max, logits[c]);
            }

            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                sum += Math.Exp(logits[c] - max);
            }

            double logSum = max + Math.Log(sum);
            for (int c = 0; c < classes; c++)
            {
                a[r * classes + c] = T.CreateTruncating(logits[c] - logSum);
            }
        }

        return a;
    }

    /// <summary>Row-wise softmax of random logits: each of the <paramref name="rows"/> rows is a probability distribution.</summary>
    public static T[] Probabilities<T>(Random random, int rows, int classes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] a = LogProbabilities<T>(random, rows, classes);
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = T.Exp(a[i]);
        }

        return a;
    }
}

/// <summary>
/// Forward and ForwardBackward of an element-wise loss through its span entry points, Reduction.Mean, no weight:
/// inputs from <see cref="CreateData"/>, the gradient buffer allocated once in the global setup.
/// </summary>
public abstract class ElementwiseBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private ElementwiseLoss<T> _loss = null!;

    protected T[] Input { get; private set; } = [];

    protected T[] Target { get; private set; } = [];

    protected T[] Gradient { get; private set; } = [];

    [GlobalSetup]
    public void Setup()
    {
        _loss = CreateLoss();
        (Input, Target) = CreateData(BenchData.NewRandom());
        Gradient = new T[Input.Length];
    }

    /// <summary>The loss value (mean over elements).</summary>
    [Benchmark]
    public T Forward() => _loss.Forward(Input.AsSpan(), Target.AsSpan());

    /// <summary>The loss value and d loss / d input, written to the preallocated gradient buffer.</summary>
    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(Input.AsSpan(), Target.AsSpan(), Gradient.AsSpan());

    private protected abstract ElementwiseLoss<T> CreateLoss();

    private protected abstract (T[] Input, T[] Target) CreateData(Random random);
}

/// <summary>
/// Forward and ForwardBackward of a class-index loss (batch × classes scores, one class index per row) through its
/// span entry points, Reduction.Mean, no class weights; the gradient buffer is allocated once in the global setup.
/// </summary>
public abstract class ClassIndexBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private ClassIndexLoss<T> _loss = null!;
    private int _rows, _classes;

    protected T[] Input { get; private set; } = [];

    protected int[] Target { get; private set; } = [];

    protected T[] Gradient { get; private set; } = [];

    [GlobalSetup]
    public void Setup()
    {
        (_rows, _classes) = Shape;
        _loss = CreateLoss();
        Random random = BenchData.NewRandom();
        Input = CreateInput(random, _rows, _classes);
        Target = BenchData.ClassIndices(random, _rows, _classes);
        Gradient = new T[Input.Length];
    }

    /// <summary>The loss value (mean over rows).</summary>
    [Benchmark]
    public T Forward() => _loss.Forward(Input.AsSpan(), Target.AsSpan(), _rows, _classes);

    /// <summary>The loss value and d loss / d input, written to the preallocated gradient buffer.</summary>
    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(Input.AsSpan(), Target.AsSpan(), _rows, _classes, Gradient.AsSpan());

    /// <summary>(rows, classes) of the run.</summary>
    private protected abstract (int Rows, int Classes) Shape { get; }

    private protected abstract ClassIndexLoss<T> CreateLoss();

    /// <summary>The scores: logits in [−4, 4) unless overridden.</summary>
    private protected virtual T[] CreateInput(Random random, int rows, int classes) => BenchData.Uniform<T>(random, rows * classes, -4, 4);
}
