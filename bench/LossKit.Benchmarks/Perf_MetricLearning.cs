using System.Numerics;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using LossKit.MetricLearning;
using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace LossKit.Benchmarks;

// Metric-learning losses through their span entry points. Inputs come from a seeded Random and every buffer
// (gradients, workspaces) is allocated once, in [GlobalSetup], so the Allocated column measures the library call alone
// (expected: nothing). '*MetricLearning*' selects the LossKit benchmarks; '*HeadVersusMathNet*' the comparison with
// MathNet.Numerics' managed matrix multiply (which allocates: it is not in the allocation check's filter).

/// <summary>ArcFace (s 64, m 0.5, classic fallback) on a cosine matrix of 4096 × 10000, Reduction.Mean.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class MetricLearningArcFace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Rows = 4096, Classes = 10000;
    private AngularMarginLoss<T> _loss = null!;
    private T[] _cosine = [], _gradient = [];
    private int[] _target = [];

    [GlobalSetup]
    public void Setup()
    {
        _loss = AngularMarginLoss<T>.ArcFace();
        Random random = BenchData.NewRandom();
        _cosine = BenchData.Uniform<T>(random, Rows * Classes, -1, 1);
        _target = BenchData.ClassIndices(random, Rows, Classes);
        _gradient = new T[_cosine.Length];
    }

    [Benchmark]
    public T Forward() => _loss.Forward(_cosine, _target, Rows, Classes);

    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(_cosine, _target, Rows, Classes, _gradient);
}

/// <summary>
/// Cosine head + ArcFace, embeddings 512 × 512, 10000 classes: Forward (head forward and loss value) and
/// ForwardBackward (head, loss, and the head's backward to x and W: three 512·512·10000 matrix products).
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class MetricLearningHeadArcFace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Batch = 512, Dim = 512, Classes = 10000;
    private readonly CosineHead<T> _head = new();
    private AngularMarginLoss<T> _loss = null!;
    private T[] _x = [], _w = [], _cos = [], _cosGradient = [], _xGradient = [], _wGradient = [], _workspace = [];
    private int[] _target = [];

    [GlobalSetup]
    public void Setup()
    {
        _loss = AngularMarginLoss<T>.ArcFace();
        Random random = BenchData.NewRandom();
        _x = BenchData.Uniform<T>(random, Batch * Dim, -1, 1);
        _w = BenchData.Uniform<T>(random, Classes * Dim, -0.05, 0.05);
        _target = BenchData.ClassIndices(random, Batch, Classes);
        _cos = new T[Batch * Classes];
        _cosGradient = new T[Batch * Classes];
        _xGradient = new T[Batch * Dim];
        _wGradient = new T[Classes * Dim];
        _workspace = new T[CosineHead<T>.WorkspaceSize(Batch, Classes, Dim)];
    }

    [Benchmark]
    public T Forward()
    {
        _head.Forward(_x, _w, Batch, Classes, Dim, _cos, _workspace);
        return _loss.Forward(_cos, _target, Batch, Classes);
    }

    [Benchmark]
    public T ForwardBackward() =>
        _head.ForwardBackward(_loss, _x, _w, _target, Batch, Classes, Dim, _xGradient, _wGradient, _cos, _cosGradient, _workspace);
}

/// <summary>Center loss, features 4096 × 512, 1000 centers: value, value + both gradients, and the paper's center update (α 0.5).</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class MetricLearningCenterLoss<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Batch = 4096, Dim = 512, Classes = 1000;
    private readonly CenterLoss<T> _loss = new();
    private T[] _x = [], _centers = [], _xGradient = [], _centersGradient = [];
    private int[] _target = [], _counts = [];

    [GlobalSetup]
    public void Setup()
    {
        Random random = BenchData.NewRandom();
        _x = BenchData.Uniform<T>(random, Batch * Dim, -1, 1);
        _centers = BenchData.Uniform<T>(random, Classes * Dim, -1, 1);
        _target = BenchData.ClassIndices(random, Batch, Classes);
        _xGradient = new T[Batch * Dim];
        _centersGradient = new T[Classes * Dim];
        _counts = new int[Classes];
    }

    [Benchmark]
    public T Forward() => _loss.Forward(_x, _target, _centers, Batch, Classes, Dim);

    [Benchmark]
    public T ForwardBackward() => _loss.ForwardBackward(_x, _target, _centers, Batch, Classes, Dim, _xGradient, _centersGradient);

    [Benchmark]
    public int UpdateCenters()
    {
        CenterLoss<T>.UpdateCenters(_x, _target, Batch, Classes, Dim, _centers, 0.5, _counts);
        return _counts[0];
    }
}

/// <summary>
/// The head + ArcFace forward and backward of <see cref="MetricLearningHeadArcFace{T}"/> (512 × 512 × 10000), once with
/// LossKit's head (blocked SIMD/FMA Gemm) and once with the same three products done by MathNet.Numerics 5.0 with its
/// managed provider (<c>Control.UseManaged()</c>; <c>TransposeThisAndMultiply</c>, <c>Multiply</c>,
/// <c>TransposeAndMultiply</c> into preallocated result matrices bound to the same row-major arrays). Normalisation
/// (TensorPrimitives, one thread) and the ArcFace loss (LossKit) are the same work in both. The Ratio column is
/// LossKit's time over MathNet's.
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class HeadVersusMathNet<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Batch = 512, Dim = 512, Classes = 10000;
    private readonly CosineHead<T> _head = new();
    private AngularMarginLoss<T> _loss = null!;
    private T[] _x = [], _w = [], _cos = [], _cosGradient = [], _xGradient = [], _wGradient = [], _workspace = [];
    private T[] _xHat = [], _wHat = [], _xNorm = [], _wNorm = [];
    private int[] _target = [];
    private Matrix<T> _xt = null!, _wt = null!, _cost = null!, _gt = null!, _gxt = null!, _gwt = null!;

    [GlobalSetup]
    public void Setup()
    {
        Control.UseManaged();
        _loss = AngularMarginLoss<T>.ArcFace();
        Random random = BenchData.NewRandom();
        _x = BenchData.Uniform<T>(random, Batch * Dim, -1, 1);
        _w = BenchData.Uniform<T>(random, Classes * Dim, -0.05, 0.05);
        _target = BenchData.ClassIndices(random, Batch, Classes);
        _cos = new T[Batch * Classes];
        _cosGradient = new T[Batch * Classes];
        _xGradient = new T[Batch * Dim];
        _wGradient = new T[Classes * Dim];
        _workspace = new T[CosineHead<T>.WorkspaceSize(Batch, Classes, Dim)];
        _xHat = new T[Batch * Dim];
        _wHat = new T[Classes * Dim];
        _xNorm = new T[Batch];
        _wNorm = new T[Classes];

        // MathNet is column-major: a row-major r × c array is the column-major c × r matrix, its transpose.
        _xt = Matrix<T>.Build.Dense(Dim, Batch, _xHat);         // X̂ᵀ
        _wt = Matrix<T>.Build.Dense(Dim, Classes, _wHat);       // Ŵᵀ
        _cost = Matrix<T>.Build.Dense(Classes, Batch, _cos);    // cosᵀ
        _gt = Matrix<T>.Build.Dense(Classes, Batch, _cosGradient); // Gᵀ
        _gxt = Matrix<T>.Build.Dense(Dim, Batch, _xGradient);   // (d/dX̂)ᵀ
        _gwt = Matrix<T>.Build.Dense(Dim, Classes, _wGradient); // (d/dŴ)ᵀ
    }

    [Benchmark(Baseline = true)]
    public T MathNetManaged()
    {
        Normalize(_x, _xHat, _xNorm, Dim);
        Normalize(_w, _wHat, _wNorm, Dim);
        _wt.TransposeThisAndMultiply(_xt, _cost);     // cosᵀ = Ŵ·X̂ᵀ
        T value = _loss.ForwardBackward(_cos, _target, Batch, Classes, _cosGradient);
        _wt.Multiply(_gt, _gxt);                      // (G·Ŵ)ᵀ = Ŵᵀ·Gᵀ
        _xt.TransposeAndMultiply(_gt, _gwt);          // (Gᵀ·X̂)ᵀ = X̂ᵀ·G
        NormalizeBackward(_xHat, _xNorm, _xGradient, Dim);
        NormalizeBackward(_wHat, _wNorm, _wGradient, Dim);
        return value;
    }

    [Benchmark]
    public T LossKitHead() =>
        _head.ForwardBackward(_loss, _x, _w, _target, Batch, Classes, Dim, _xGradient, _wGradient, _cos, _cosGradient, _workspace);

    private static void Normalize(T[] source, T[] destination, T[] norms, int dim)
    {
        T eps = T.CreateTruncating(1e-12);
        for (int r = 0; r < norms.Length; r++)
        {
            ReadOnlySpan<T> row = source.AsSpan(r * dim, dim);
            norms[r] = TensorPrimitives.Norm(row);
            TensorPrimitives.Divide(row, T.Max(norms[r], eps), destination.AsSpan(r * dim, dim));
        }
    }

    private static void NormalizeBackward(T[] normalized, T[] norms, T[] gradient, int dim)
    {
        T eps = T.CreateTruncating(1e-12);
        for (int r = 0; r < norms.Length; r++)
        {
            Span<T> g = gradient.AsSpan(r * dim, dim);
            ReadOnlySpan<T> v = normalized.AsSpan(r * dim, dim);
            bool clamped = norms[r] < eps;
            T projection = clamped ? T.Zero : TensorPrimitives.Dot(v, g);
            TensorPrimitives.MultiplyAdd(v, -projection, g, g);
            TensorPrimitives.Multiply(g, T.One / (clamped ? eps : norms[r]), g);
        }
    }
}
