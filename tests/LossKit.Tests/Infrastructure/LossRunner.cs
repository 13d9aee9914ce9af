using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Classification;

namespace LossKit.Tests.Infrastructure;

/// <summary>
/// One calling convention over every LossKit loss: the targets, weights and shape are bound at construction, so a
/// test only passes the input, the upstream gradient and the output buffers. Span forms and tensor forms.
/// </summary>
public abstract class LossRunner<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected LossRunner(LossSetup setup) => Setup = setup;

    public LossSetup Setup { get; }

    public Reduction Reduction => Setup.Reduction;

    public int InputLength => Setup.InputLength;

    public int ValueLength => Setup.ValueLength;

    /// <summary>Whether the loss has a tensor Backward taking a per-element (tensor) upstream gradient.</summary>
    public virtual bool HasTensorUpstreamBackward => true;

    public abstract T Forward(ReadOnlySpan<T> input, Span<T> destination);

    public abstract void Backward(ReadOnlySpan<T> input, T upstream, Span<T> gradient);

    public abstract void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> upstream, Span<T> gradient);

    public abstract T ForwardBackward(ReadOnlySpan<T> input, Span<T> gradient, Span<T> destination);

    /// <summary>Tensor form; with Reduction.None <paramref name="destination"/> is viewed with the value shape.</summary>
    public abstract T ForwardTensor(T[] input, T[] destination);

    public abstract void BackwardTensor(T[] input, T upstream, T[] gradient);

    public abstract void BackwardTensor(T[] input, T[] upstream, T[] gradient);

    public abstract T ForwardBackwardTensor(T[] input, T[] gradient, T[] destination);

    /// <summary>Builds the runner (and, through the registry, the loss object) for <paramref name="s"/>; the runner follows the loss's layout.</summary>
    public static LossRunner<T> Create(LossSetup s) => s.CreateLoss<T>() switch
    {
        KLDivergenceLoss<T> kl => new KLRunner(s, kl),
        CrossEntropyLoss<T> ce when s.IndexTarget is null => new ProbabilityRunner(s, ce),
        ClassIndexLoss<T> rows => new IndexRunner(s, rows),
        ElementwiseLoss<T> elements => new ElementwiseRunner(s, elements),
        object other => throw new ArgumentException($"{s.Loss}: no runner for {other.GetType().Name}", nameof(s)),
    };

    /// <summary>The class-index loss object of <paramref name="s"/> (cross_entropy, nll, multi_margin).</summary>
    public static ClassIndexLoss<T> MakeClassIndex(LossSetup s) => (ClassIndexLoss<T>)s.CreateLoss<T>();

    /// <summary>The element-wise loss object of <paramref name="s"/>.</summary>
    public static ElementwiseLoss<T> MakeElementwise(LossSetup s) => (ElementwiseLoss<T>)s.CreateLoss<T>();

    public static T[] Convert(double[] values) => Array.ConvertAll(values, T.CreateTruncating);

    private protected static nint[] Lengths(params int[] shape) => Array.ConvertAll(shape, d => (nint)d);

    private protected static Tensor<TE> Wrap<TE>(TE[] data, int[] shape) => Tensor.Create(data, Lengths(shape));

    /// <summary>Element-wise losses: weight per element; tensors have the input shape.</summary>
    private sealed class ElementwiseRunner(LossSetup s, ElementwiseLoss<T> loss) : LossRunner<T>(s)
    {
        private readonly T[] _target = Convert(s.Target);
        private readonly T[]? _weight = s.Weight is null ? null : Convert(s.Weight);

        public override T Forward(ReadOnlySpan<T> input, Span<T> destination) => loss.Forward(input, _target, destination, _weight);

        public override void Backward(ReadOnlySpan<T> input, T upstream, Span<T> gradient) => loss.Backward(input, _target, upstream, gradient, _weight);

        public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(input, _target, upstream, gradient, _weight);

        public override T ForwardBackward(ReadOnlySpan<T> input, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(input, _target, gradient, destination, _weight);

        public override T ForwardTensor(T[] input, T[] destination) =>
            loss.Forward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), Destination(destination), WeightTensor());

        public override void BackwardTensor(T[] input, T upstream, T[] gradient) =>
            loss.Backward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), upstream, Wrap(gradient, Setup.Shape), WeightTensor());

        public override void BackwardTensor(T[] input, T[] upstream, T[] gradient) =>
            loss.Backward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), Wrap(upstream, Setup.Shape), Wrap(gradient, Setup.Shape), WeightTensor());

        public override T ForwardBackwardTensor(T[] input, T[] gradient, T[] destination) =>
            loss.ForwardBackward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), Wrap(gradient, Setup.Shape), Destination(destination), WeightTensor());

        private TensorSpan<T> Destination(T[] destination) => Reduction == Reduction.None ? (TensorSpan<T>)Wrap(destination, Setup.Shape) : default;

        private ReadOnlyTensorSpan<T> WeightTensor() => _weight is null ? default : (ReadOnlyTensorSpan<T>)Wrap(_weight, Setup.Shape);
    }

    /// <summary>Class-index row losses (cross-entropy, NLL, multi-margin): input [batch, classes], target [batch].</summary>
    private sealed class IndexRunner(LossSetup s, ClassIndexLoss<T> loss) : LossRunner<T>(s)
    {
        private readonly int[] _target = s.IndexTarget ?? throw new ArgumentException("class-index targets required", nameof(s));

        public override T Forward(ReadOnlySpan<T> input, Span<T> destination) => loss.Forward(input, _target, Setup.Batch, Setup.Classes, destination);

        public override void Backward(ReadOnlySpan<T> input, T upstream, Span<T> gradient) => loss.Backward(input, _target, Setup.Batch, Setup.Classes, upstream, gradient);

        public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(input, _target, Setup.Batch, Setup.Classes, upstream, gradient);

        public override T ForwardBackward(ReadOnlySpan<T> input, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(input, _target, Setup.Batch, Setup.Classes, gradient, destination);

        public override T ForwardTensor(T[] input, T[] destination) =>
            loss.Forward(Wrap(input, Setup.Shape), Wrap(_target, [Setup.Batch]), Destination(destination));

        public override void BackwardTensor(T[] input, T upstream, T[] gradient) =>
            loss.Backward(Wrap(input, Setup.Shape), Wrap(_target, [Setup.Batch]), upstream, Wrap(gradient, Setup.Shape));

        public override void BackwardTensor(T[] input, T[] upstream, T[] gradient) =>
            loss.Backward(Wrap(input, Setup.Shape), Wrap(_target, [Setup.Batch]), Wrap(upstream, [Setup.Batch]), Wrap(gradient, Setup.Shape));

        public override T ForwardBackwardTensor(T[] input, T[] gradient, T[] destination) =>
            loss.ForwardBackward(Wrap(input, Setup.Shape), Wrap(_target, [Setup.Batch]), Wrap(gradient, Setup.Shape), Destination(destination));

        private TensorSpan<T> Destination(T[] destination) => Reduction == Reduction.None ? (TensorSpan<T>)Wrap(destination, [Setup.Batch]) : default;
    }

    /// <summary>Cross-entropy with probability targets of the input's shape.</summary>
    private sealed class ProbabilityRunner(LossSetup s, CrossEntropyLoss<T> loss) : LossRunner<T>(s)
    {
        private readonly T[] _target = Convert(s.Target);

        public override bool HasTensorUpstreamBackward => false;

        public override T Forward(ReadOnlySpan<T> input, Span<T> destination) => loss.Forward(input, _target, Setup.Batch, Setup.Classes, destination);

        public override void Backward(ReadOnlySpan<T> input, T upstream, Span<T> gradient) => loss.Backward(input, _target, Setup.Batch, Setup.Classes, upstream, gradient);

        public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(input, _target, Setup.Batch, Setup.Classes, upstream, gradient);

        public override T ForwardBackward(ReadOnlySpan<T> input, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(input, _target, Setup.Batch, Setup.Classes, gradient, destination);

        public override T ForwardTensor(T[] input, T[] destination) =>
            loss.Forward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), Destination(destination));

        public override void BackwardTensor(T[] input, T upstream, T[] gradient) =>
            loss.Backward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), upstream, Wrap(gradient, Setup.Shape));

        public override void BackwardTensor(T[] input, T[] upstream, T[] gradient) =>
            throw new NotSupportedException("CrossEntropyLoss has no tensor Backward with a per-row upstream for probability targets.");

        public override T ForwardBackwardTensor(T[] input, T[] gradient, T[] destination) =>
            loss.ForwardBackward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), Wrap(gradient, Setup.Shape), Destination(destination));

        private TensorSpan<T> Destination(T[] destination) => Reduction == Reduction.None ? (TensorSpan<T>)Wrap(destination, [Setup.Batch]) : default;
    }

    /// <summary>KL divergence: batch = first dimension.</summary>
    private sealed class KLRunner(LossSetup s, KLDivergenceLoss<T> loss) : LossRunner<T>(s)
    {
        private readonly T[] _target = Convert(s.Target);

        public override bool HasTensorUpstreamBackward => false;

        public override T Forward(ReadOnlySpan<T> input, Span<T> destination) => loss.Forward(input, _target, Setup.Batch, destination);

        public override void Backward(ReadOnlySpan<T> input, T upstream, Span<T> gradient) => loss.Backward(input, _target, Setup.Batch, upstream, gradient);

        public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> upstream, Span<T> gradient) => loss.Backward(input, _target, Setup.Batch, upstream, gradient);

        public override T ForwardBackward(ReadOnlySpan<T> input, Span<T> gradient, Span<T> destination) => loss.ForwardBackward(input, _target, Setup.Batch, gradient, destination);

        public override T ForwardTensor(T[] input, T[] destination) =>
            loss.Forward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), Destination(destination));

        public override void BackwardTensor(T[] input, T upstream, T[] gradient) =>
            loss.Backward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), upstream, Wrap(gradient, Setup.Shape));

        public override void BackwardTensor(T[] input, T[] upstream, T[] gradient) =>
            throw new NotSupportedException("KLDivergenceLoss has no tensor Backward with a per-element upstream.");

        public override T ForwardBackwardTensor(T[] input, T[] gradient, T[] destination) =>
            loss.ForwardBackward(Wrap(input, Setup.Shape), Wrap(_target, Setup.Shape), Wrap(gradient, Setup.Shape), Destination(destination));

        private TensorSpan<T> Destination(T[] destination) => Reduction == Reduction.None ? (TensorSpan<T>)Wrap(destination, Setup.Shape) : default;
    }
}
