using System.Numerics;
using LossKit.Internal;
using LossKit.MetricLearning;

namespace LossKit.Layouts;

/// <summary>
/// A head, not a loss: embeddings <c>input [batch, dim]</c> and class weights <c>weight [classes, dim]</c> give the cosine
/// matrix <c>[batch, classes]</c>. Evaluated like a loss with Reduction.None: the values are the cosines, the value their
/// sum, and the gradients those of the sum (upstream 1 for every cosine).
/// </summary>
public sealed class CosineHeadLayout : LossLayout
{
    internal CosineHeadLayout()
        : base("cosine_head", "embeddings and class weights to the cosine matrix; gradients for both",
            new LayoutInput("input", "[batch, dim] embeddings", Differentiable: true), new LayoutInput("weight", "[classes, dim] class weights", Differentiable: true))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        CosineHead<T> head = call.As<CosineHead<T>>(loss);
        LayoutTensor<T> x = call["input"], w = call["weight"];
        (int batch, int dim) = call.Matrix(x);
        (int classes, int weightDim) = call.Matrix(w);
        if (weightDim != dim)
        {
            throw call.Mismatch("weight", $"weight has shape {w.ShapeText} but loss '{call.Loss}' needs [classes, {dim}] (the embedding size of input {x.ShapeText})");
        }

        var workspace = new T[CosineHead<T>.WorkspaceSize(batch, classes, dim)];
        var cosines = new T[ThrowHelper.Product("weight", "batch × classes", batch, classes)];
        var ones = new T[cosines.Length];
        Array.Fill(ones, T.One);
        var gx = new T[x.Data.Length];
        var gw = new T[w.Data.Length];
        T[] xs = x.Data, ws = w.Data;
        T Forward()
        {
            head.Forward(xs, ws, batch, classes, dim, cosines, workspace);
            return Internal.Float32Path.Applies<T>() ? Internal.Float32Path.Sum<T>(cosines) : System.Numerics.Tensors.TensorPrimitives.Sum<T>(cosines);
        }

        T ForwardBackward()
        {
            T sum = Forward();
            head.Backward(xs, ws, batch, classes, dim, ones, gx, gw, workspace);
            return sum;
        }

        return Call<T>.Bound(Forward, ForwardBackward, cosines, [batch, classes], new LayoutTensor<T>("input", x.Shape, gx), new LayoutTensor<T>("weight", w.Shape, gw));
    }
}
