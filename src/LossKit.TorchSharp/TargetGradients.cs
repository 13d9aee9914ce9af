using LossKit.Registry;
using LossKit.TorchSharp.Bindings;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>
/// The gradient for a target that requires grad, for the entries whose PyTorch function differentiates its target too
/// (the second output of a model, a teacher's distribution that is not detached). LossKit's kernels write the input's
/// gradient only; these target gradients are computed in backward, from the returned input gradient (losses of x − y:
/// the negation), from the inputs with torch operations and PyTorch's formulas, or by the kernel again (the boxes):
/// <list type="bullet">
/// <item><c>l1</c>, <c>mse</c>, <c>smooth_l1</c>, <c>huber</c>: −(the input's gradient).</item>
/// <item><c>bce</c>: −w·logit(x), ±∞ where x is 0 or 1 (PyTorch's value: the forward's −100 clamp is not differentiated).</item>
/// <item><c>bce_with_logits</c>: w·(−x + (pos_weight − 1)·softplus(−x)).</item>
/// <item><c>kl_div</c>: ln t + 1 − x, NaN where t = 0 or t &lt; 0 (PyTorch's value); with log_target e^t·(t − x + 1).</item>
/// <item><c>cross_entropy</c> with probability targets: −(1 − label_smoothing)·w_c·log_softmax(x).</item>
/// <item><c>giou</c>, <c>diou</c>, <c>ciou</c>: torchvision's losses are symmetric in the two boxes (CIoU's α taken as a
/// constant, as torchvision does), so the target's gradient is the kernel's with the boxes swapped: a second pass.</item>
/// </list>
/// Each is scaled by the reduction (1/numel for Mean, 1/(avg_factor + ε) with mmdetection's avg_factor, 1/batch for
/// batchmean, 1/positions for cross-entropy's Mean) and by the upstream gradient. Other entries refuse a target that
/// requires grad (PyTorch's soft_margin_loss does as well).
/// </summary>
internal static class TargetGradients
{
    private delegate Tensor Rule(TorchCall call, Tensor inputGradient, Tensor upstream);

    private static readonly Dictionary<string, Rule> Rules = new(StringComparer.Ordinal)
    {
        ["l1"] = Negated,
        ["mse"] = Negated,
        ["smooth_l1"] = Negated,
        ["huber"] = Negated,
        ["bce"] = BinaryCrossEntropy,
        ["bce_with_logits"] = BinaryCrossEntropyWithLogits,
        ["kl_div"] = KLDivergence,
        ["cross_entropy"] = CrossEntropyProbabilities,
        ["giou"] = SwappedBoxes,
        ["diou"] = SwappedBoxes,
        ["ciou"] = SwappedBoxes,
    };

    /// <summary>The entries whose target can take a gradient, for error messages.</summary>
    public static string Supported => string.Join(", ", Rules.Keys);

    /// <summary>Whether <paramref name="entry"/> gives a gradient for <paramref name="target"/> (its layout's target input).</summary>
    public static bool Supports(LossEntry entry, Tensor target) =>
        Rules.ContainsKey(entry.Id) && !TensorArgs.IsIndexType(target.dtype);

    /// <summary>
    /// The target's gradient of <paramref name="call"/>, given the input's gradient as backward returns it (already
    /// multiplied by the upstream) and the upstream itself (0-d, or the per-value tensor with Reduction.None).
    /// </summary>
    public static Tensor Compute(TorchCall call, Tensor inputGradient, Tensor upstream)
    {
        using (torch.no_grad())
        {
            return Rules[call.Arguments.Entry.Id](call, inputGradient, upstream);
        }
    }

    private static Tensor Negated(TorchCall call, Tensor inputGradient, Tensor upstream) => inputGradient.neg();

    private static Tensor BinaryCrossEntropy(TorchCall call, Tensor inputGradient, Tensor upstream)
    {
        Tensor d = call.Inputs[0].logit().neg_();
        return Scale(call, Weighted(call, d), upstream, rows: false);
    }

    private static Tensor BinaryCrossEntropyWithLogits(TorchCall call, Tensor inputGradient, Tensor upstream)
    {
        Tensor x = call.Inputs[0];
        double[] posWeight = call.Arguments.Vector<double>("pos_weight");
        Tensor d;
        if (posWeight.Length > 0)
        {
            // pos_weight runs along rows of its length, as the kernel reads it (the binding checked the last dimension).
            using Tensor rows = x.reshape(-1, posWeight.Length);
            using Tensor pw = torch.tensor(posWeight, dtype: x.dtype);
            using Tensor pwMinusOne = pw.sub(1.0);
            using Tensor minusX = rows.neg();
            using Tensor softplus = nn.functional.softplus(minusX);
            using Tensor d2 = minusX.add(softplus.mul_(pwMinusOne));
            d = d2.reshape(TensorArgs.Sizes(x));
        }
        else
        {
            d = x.neg();
        }

        return Scale(call, Weighted(call, d), upstream, rows: false);
    }

    private static Tensor KLDivergence(TorchCall call, Tensor inputGradient, Tensor upstream)
    {
        var (x, t) = (call.Inputs[0], call.Inputs[1]);
        Tensor d;
        if (call.Arguments.Bool("log_target"))
        {
            using Tensor e = t.exp();
            d = t.sub(x).add_(1.0).mul_(e);
        }
        else
        {
            // t/t is 1 for t > 0 and NaN at t = 0, where PyTorch's derivative (of xlogy(t, t)) is NaN as well.
            using Tensor one = t.div(t);
            d = t.log().add_(one).sub_(x);
        }

        return Scale(call, d, upstream, rows: false);
    }

    private static Tensor CrossEntropyProbabilities(TorchCall call, Tensor inputGradient, Tensor upstream)
    {
        Tensor x = call.Inputs[0];
        long classDim = x.dim() == 1 ? 0 : 1;
        Tensor d = x.log_softmax(classDim).mul_(call.Arguments.Double("label_smoothing") - 1.0);
        double[] classWeights = call.Arguments.Vector<double>("weight");
        if (classWeights.Length > 0)
        {
            // Along the class dimension: [C], or [C, 1, …] for the dense form [N, C, d1, …].
            long[] along = [classWeights.Length, .. Enumerable.Repeat(1L, (int)Math.Max(0, x.dim() - 2))];
            using Tensor w = torch.tensor(classWeights, dtype: x.dtype).reshape(along);
            d.mul_(w);
        }

        return Scale(call, d, upstream, rows: true);
    }

    private static Tensor SwappedBoxes(TorchCall call, Tensor inputGradient, Tensor upstream)
    {
        var (x, t) = (call.Inputs[0], call.Inputs[1]);
        Tensor g = empty_like(t);
        using Tensor values = empty(TensorArgs.Sizes(x)[..^1], x.dtype);
        switch (x.dtype)
        {
            case ScalarType.Float32:
                Swapped<float>(call, x, t, g, values);
                break;
            case ScalarType.Float64:
                Swapped<double>(call, x, t, g, values);
                break;
            default:
                Swapped<Half>(call, x, t, g, values);
                break;
        }

        // The kernel's gradient is for upstream 1 (its reduction included); a per-box upstream runs along the coordinates.
        using Tensor u = upstream.dim() == 0 ? upstream.alias() : upstream.unsqueeze(-1);
        return g.mul_(u);
    }

    private static void Swapped<T>(TorchCall call, Tensor x, Tensor t, Tensor g, Tensor values)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var loss = (LossKit.Detection.BoxRegressionLoss<T>)call.Loss;
        ReadOnlySpan<T> w = call.Weight is null ? default : TensorArgs.Span<T>(call.Weight, "weight");
        Span<T> v = call.Reduction == Reduction.None ? TensorArgs.Span<T>(values, "values") : default;
        loss.ForwardBackward(TensorArgs.Span<T>(t, "target"), TensorArgs.Span<T>(x, "input"), TensorArgs.Span<T>(g, "gradient"), v, w, call.AvgFactor);
    }

    /// <summary>Multiplies by the per-element weight of the call, when it has one.</summary>
    private static Tensor Weighted(TorchCall call, Tensor d) => call.Weight is { } w ? d.mul_(w) : d;

    /// <summary>
    /// Multiplies the per-element derivative by the reduction's factor and the upstream: per value with Reduction.None
    /// (one value per row, broadcast along the classes, when <paramref name="rows"/>), else the 0-d upstream.
    /// </summary>
    private static Tensor Scale(TorchCall call, Tensor d, Tensor upstream, bool rows)
    {
        Reduction reduction = call.Reduction!.Value;
        if (reduction == Reduction.None)
        {
            using Tensor u = rows && upstream.dim() > 0 ? upstream.unsqueeze(1) : upstream.alias();
            return d.mul_(u);
        }

        Tensor x = call.Inputs[0];
        double count = reduction switch
        {
            // mmdetection's avg_factor replaces the Mean's count (plus float32 eps, as the kernels divide).
            Reduction.Mean when call.AvgFactor is double a => Reductions.MeanDenominator(reduction, 0, a),
            Reduction.Mean when rows => x.dim() == 1 ? 1 : x.numel() / Math.Max(1, x.size(1)),
            Reduction.Mean => x.numel(),
            Reduction.BatchMean => x.dim() == 0 ? 1 : x.size(0),
            _ => 1,
        };
        d.mul_(upstream);
        return count == 1 ? d : d.div_(count);
    }
}
