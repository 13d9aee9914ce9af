using System.Numerics;
using LossKit.Classification;
using LossKit.Internal;
using LossKit.Layouts;

namespace LossKit.MetricLearning;

/// <summary>The parts of a joint objective: <c>Total = Classification + λ·Center</c> (Center unweighted).</summary>
/// <param name="Total">Classification + λ·Center.</param>
/// <param name="Classification">The softmax / margin loss value.</param>
/// <param name="Center">The center loss value (before λ).</param>
public readonly record struct JointLossValue<T>(T Total, T Classification, T Center)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The center-loss training objective of Wen et al.: a classification loss on logits computed from the features plus
/// λ·center loss on the same features, <c>L = L_cls(head(x, W), y) + λ·L_C(x, y, c)</c>, with the summed gradient
/// w.r.t. x and the gradients w.r.t. the class weights W and (λ-scaled) the centers.
/// </summary>
/// <remarks>
/// <para>The head is a plain linear layer <c>logits = x·Wᵀ</c> (no bias; the paper's softmax + center setup, with
/// <see cref="CrossEntropyLoss{T}"/>) or, when a <see cref="CosineHead{T}"/> is given, the cosine head feeding a margin
/// loss (<see cref="AngularMarginLoss{T}"/>): ArcFace/CosFace + center loss.</para>
/// <para>Gradients: <c>∂L/∂x = head backward of ∂L_cls/∂logits + λ·∂L_C/∂x</c>, <c>∂L/∂W</c> from the head,
/// <c>∂L/∂c = λ·∂L_C/∂c</c> (use <see cref="CenterLoss{T}.UpdateCenters"/> instead for the paper's center step).
/// Both losses must reduce (Mean or Sum). Nothing is allocated: the caller passes a workspace of
/// <see cref="WorkspaceSize"/> elements (logits, their gradient and the head's scratch).</para>
/// </remarks>
public sealed class CenterLossObjective<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private CenterLossObjective<float>? _float32;

    /// <summary>Creates the objective.</summary>
    /// <param name="classification">The loss on the logits: a CrossEntropyLoss (linear head) or an AngularMarginLoss (cosine head); Mean or Sum.</param>
    /// <param name="center">The center loss; Mean or Sum.</param>
    /// <param name="lambda">λ ≥ 0, finite (the paper's face model uses 0.003–0.01).</param>
    /// <param name="head">A cosine head, or null for the linear head x·Wᵀ.</param>
    public CenterLossObjective(ClassIndexLoss<T> classification, CenterLoss<T> center, double lambda, CosineHead<T>? head = null)
    {
        ArgumentNullException.ThrowIfNull(classification);
        ArgumentNullException.ThrowIfNull(center);
        if (classification.Reduction == Reduction.None)
        {
            ThrowHelper.Argument(nameof(classification), "The classification loss must reduce (Mean or Sum); got Reduction.None.");
        }

        if (center.Reduction == Reduction.None)
        {
            ThrowHelper.Argument(nameof(center), "The center loss must reduce (Mean or Sum); got Reduction.None.");
        }

        Classification = classification;
        Center = center;
        Lambda = ThrowHelper.CheckAtLeast(lambda, 0.0, nameof(lambda));
        Head = head;
    }

    /// <summary>The classification loss.</summary>
    public ClassIndexLoss<T> Classification { get; }

    /// <summary>The center loss.</summary>
    public CenterLoss<T> Center { get; }

    /// <summary>λ, the weight of the center loss.</summary>
    public double Lambda { get; }

    /// <summary>The cosine head, or null for the linear head.</summary>
    public CosineHead<T>? Head { get; }

    /// <summary>Workspace elements: logits and their gradient (2·batch·classes) plus the head's workspace.</summary>
    public static int WorkspaceSize(int batch, int classes, int dim) =>
        ThrowHelper.Product(nameof(classes), "workspace elements (2·batch·classes + the head's)",
            2L * ThrowHelper.Product(nameof(classes), "batch × classes", batch, classes) + CosineHead<T>.WorkspaceSize(batch, classes, dim));

    /// <summary>The objective, its parts and gradients.</summary>
    /// <param name="input">Features x, batch × dim.</param>
    /// <param name="classWeights">Class weights W, classes × dim.</param>
    /// <param name="target">Class index per row.</param>
    /// <param name="centers">Centers, classes × dim.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="dim">Feature size.</param>
    /// <param name="inputGradient">Receives ∂L/∂x (batch × dim).</param>
    /// <param name="classWeightsGradient">Receives ∂L/∂W (classes × dim); empty to skip.</param>
    /// <param name="centersGradient">Receives λ·∂L_C/∂c (classes × dim); empty to skip.</param>
    /// <param name="workspace">At least <c>2·batch·classes + CosineHead.MinimumWorkspaceSize</c> elements (see <see cref="WorkspaceSize"/>).</param>
    public unsafe JointLossValue<T> ForwardBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> classWeights, ReadOnlySpan<int> target, ReadOnlySpan<T> centers,
        int batch, int classes, int dim, Span<T> inputGradient, Span<T> classWeightsGradient, Span<T> centersGradient, Span<T> workspace)
    {
        ThrowHelper.CheckDimension(batch, nameof(batch));
        ThrowHelper.CheckDimension(dim, nameof(dim));
        if (classes < 1)
        {
            ThrowHelper.OutOfRange(nameof(classes), classes, $"classes must be >= 1, got {classes}.");
        }

        ThrowHelper.CheckMatrix(input.Length, batch, dim, nameof(input), nameof(batch), nameof(dim));
        ThrowHelper.CheckMatrix(classWeights.Length, classes, dim, nameof(classWeights), nameof(classes), nameof(dim));
        ThrowHelper.CheckDestination(inputGradient.Length, batch * dim, nameof(inputGradient));
        if (!classWeightsGradient.IsEmpty)
        {
            ThrowHelper.CheckDestination(classWeightsGradient.Length, classes * dim, nameof(classWeightsGradient));
        }

        int logits = ThrowHelper.Product(nameof(classes), "batch × classes", batch, classes);
        ThrowHelper.CheckDestination(workspace.Length, ThrowHelper.Product(nameof(workspace), "2·batch·classes + the head's workspace",
            2L * logits + CosineHead<T>.MinimumWorkspaceSize(batch, classes, dim)), nameof(workspace));
        if (workspace.Overlaps(input) || workspace.Overlaps(classWeights) || workspace.Overlaps(centers) || workspace.Overlaps(inputGradient)
            || workspace.Overlaps(classWeightsGradient) || workspace.Overlaps(centersGradient))
        {
            ThrowHelper.Argument(nameof(workspace), "workspace must not overlap the inputs or the gradients.");
        }

        if (inputGradient.Overlaps(input) || inputGradient.Overlaps(classWeights) || inputGradient.Overlaps(classWeightsGradient))
        {
            ThrowHelper.Argument(nameof(inputGradient), "inputGradient must not overlap input, classWeights or classWeightsGradient.");
        }

        var centerCall = new FeaturesCentersCall<T>(input, target, centers, batch, classes, dim);
        double denominator = FeaturesCentersEntryPoints.Prepare(Center, centerCall, default, inputGradient, centersGradient, false);
        if (Float32Path.Applies<T>())
        {
            return ForwardBackwardWidened(input, classWeights, target, centers, batch, classes, dim, inputGradient, classWeightsGradient, centersGradient);
        }

        Span<T> z = workspace[..logits], g = workspace.Slice(logits, logits), rest = workspace[(2 * logits)..];
        T classification;
        if (Head is not null)
        {
            classification = Head.ForwardBackward(Classification, input, classWeights, target, batch, classes, dim, inputGradient, classWeightsGradient, z, g, rest);
        }
        else
        {
            fixed (T* x = input, w = classWeights, pz = z, pg = g, s = rest, gx = inputGradient, gw = classWeightsGradient)
            {
                Gemm.Multiply(x, dim, false, w, dim, true, pz, classes, batch, classes, dim, false, s, rest.Length);
                classification = Classification.ForwardBackward(z, target, batch, classes, g);
                Gemm.Multiply(pg, classes, false, w, dim, false, gx, dim, batch, dim, classes, false, s, rest.Length);
                if (!classWeightsGradient.IsEmpty)
                {
                    Gemm.Multiply(pg, classes, true, x, dim, false, gw, dim, classes, dim, batch, false, s, rest.Length);
                }
            }
        }

        // λ·center loss: its d/dx is added to the head's, its d/dc scaled by λ.
        T scale = T.CreateTruncating(Lambda) * Reductions.GradientScale(Center.Reduction, T.One, denominator);
        double sum = Center.Run(centerCall, default, inputGradient[..(batch * dim)], centersGradient, scale, default, accumulateInput: true, wantValue: true);
        T center = Reductions.Finish<T>(Center.Reduction, sum, denominator);
        return new JointLossValue<T>(classification + T.CreateTruncating(Lambda) * center, classification, center);
    }

    /// <summary>A narrow element type: the float32 objective (the losses' and head's float32 instances) on widened copies.</summary>
    private JointLossValue<T> ForwardBackwardWidened(ReadOnlySpan<T> input, ReadOnlySpan<T> classWeights, ReadOnlySpan<int> target, ReadOnlySpan<T> centers,
        int batch, int classes, int dim, Span<T> inputGradient, Span<T> classWeightsGradient, Span<T> centersGradient)
    {
        CenterLossObjective<float> objective = _float32 ??= new CenterLossObjective<float>(Classification.Float32, Center.Float32, Lambda, Head?.Float32);
        using var wide = WideScope<T>.Start();
        Span<float> gx = wide.Output(batch * dim), gw = wide.Output(classWeightsGradient, classes * dim), gc = wide.Output(centersGradient, classes * dim);
        JointLossValue<float> value = objective.ForwardBackward(wide.Read(input), wide.Read(classWeights), target, wide.Read(centers), batch, classes, dim,
            gx, gw, gc, wide.Scratch(CenterLossObjective<float>.WorkspaceSize(batch, classes, dim)));
        WideScope<T>.Narrow(gx, inputGradient);
        WideScope<T>.Narrow(gw, classWeightsGradient);
        WideScope<T>.Narrow(gc, centersGradient);
        return new JointLossValue<T>(T.CreateTruncating(value.Total), T.CreateTruncating(value.Classification), T.CreateTruncating(value.Center));
    }
}
