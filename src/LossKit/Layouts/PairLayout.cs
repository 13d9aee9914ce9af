using System.Numerics;
using LossKit.MetricLearning;

namespace LossKit.Layouts;

/// <summary>
/// Pairs of embeddings: <c>input1</c>, <c>input2 [batch, dim]</c> and <c>target [batch]</c>; one value per pair and a
/// gradient for each input. <see cref="CosineEmbeddingLoss{T}"/>.
/// </summary>
public sealed class PairLayout : LossLayout
{
    internal PairLayout()
        : base("pairs", "pairs of embeddings and a target per pair; one value per pair, gradients for both inputs",
            new LayoutInput("input1", "[batch, dim]", Differentiable: true), new LayoutInput("input2", "[batch, dim]", Differentiable: true),
            new LayoutInput("target", "[batch], +1 similar / −1 dissimilar"))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        CosineEmbeddingLoss<T> l = call.As<CosineEmbeddingLoss<T>>(loss);
        LayoutTensor<T> a = call["input1"], b = call["input2"], t = call["target"];
        (int batch, int dim) = call.Matrix(a);
        call.SameShape(b, a);
        call.RowVector(t, batch, a);
        T[] x1 = a.Data, x2 = b.Data, y = t.Data;
        T[] g1 = new T[x1.Length], g2 = new T[x2.Length];
        T[]? values = l.Reduction == Reduction.None ? new T[batch] : null;
        return Call<T>.Bound(() => l.Forward(x1, x2, y, batch, dim, values), () => l.ForwardBackward(x1, x2, y, batch, dim, g1, g2, values),
            values, [batch], new LayoutTensor<T>("input1", a.Shape, g1), new LayoutTensor<T>("input2", b.Shape, g2));
    }
}
