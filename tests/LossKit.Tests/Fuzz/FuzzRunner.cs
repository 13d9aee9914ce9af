using System.Numerics;
using LossKit.Classification;
using LossKit.Criteria;
using LossKit.Detection;
using LossKit.Layouts;
using LossKit.MetricLearning;
using LossKit.Registry;

namespace LossKit.Tests.Fuzz;

/// <summary>What the entry points gave for one case in one element type.</summary>
internal sealed class FuzzOutcome<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The Forward value (for criteria: the typed Forward's total).</summary>
    public required T Forward { get; init; }

    /// <summary>Forward's per-value outputs (Reduction.None and heads), else null.</summary>
    public T[]? ForwardValues { get; init; }

    /// <summary>The fused ForwardBackward value.</summary>
    public required T Fused { get; init; }

    public T[]? FusedValues { get; init; }

    /// <summary>The fused call's gradients, by differentiable input.</summary>
    public required List<LayoutTensor<T>> Gradients { get; init; }

    /// <summary>Backward's gradients (upstream 1, or ones with None) in the same order; null where the entry has no separate Backward.</summary>
    public List<T[]>? BackwardGradients { get; init; }
}

/// <summary>Runs a fuzz case through the registry (Bind: Forward, ForwardBackward) and the typed Backward.</summary>
internal static class FuzzRunner
{
    public static FuzzOutcome<T> Run<T>(FuzzCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossArguments args = c.Arguments();
        object loss = c.Entry.Create<T>(args);
        Dictionary<string, LayoutTensor<T>> inputs = c.Inputs<T>();
        BoundLoss<T> bound = c.Entry.Layout.Bind(loss, args, inputs);
        bool criterion = c.Entry.Layout is CriterionLayout;
        T forward = criterion ? CriterionForward(loss, inputs, args) : bound.Forward();
        T[]? forwardValues = bound.Values?.Data.ToArray();
        T fused = bound.ForwardBackward();
        return new FuzzOutcome<T>
        {
            Forward = forward,
            ForwardValues = forwardValues,
            Fused = fused,
            FusedValues = bound.Values?.Data.ToArray(),
            Gradients = [.. bound.Gradients.Select(g => g with { Data = g.Data.ToArray() })],
            BackwardGradients = Backward(loss, args, inputs),
        };
    }

    /// <summary>The criteria's typed Forward (their bound Forward runs the fused call).</summary>
    private static T CriterionForward<T>(object loss, Dictionary<string, LayoutTensor<T>> x, LossArguments args)
        where T : unmanaged, IFloatingPointIeee754<T> => loss switch
        {
            RpnLoss<T> l => l.Forward(x["objectness"].Data, x["deltas"].Data, x["anchors"].Data, x["gt_boxes"].Data, x["gt_counts"].Indices(),
                (ulong)args.Int("seed")).Total,
            FastRcnnLoss<T> l => l.Forward(x["class_logits"].Data, x["box_regression"].Data, x["labels"].Indices(), x["regression_targets"].Data,
                x["class_logits"].Shape[^1]).Total,
            RetinaNetLoss<T> l => l.Forward(x["class_logits"].Data, x["box_regression"].Data, x["anchors"].Data, x["gt_boxes"].Data,
                x["gt_labels"].Indices(), x["gt_counts"].Indices(), x["class_logits"].Shape[^1]).Total,
            YoloV3Loss<T> l => l.Forward(x["output0"].Data, x["output1"].Data, x["output2"].Data, x["gt_boxes"].Data, x["gt_labels"].Indices(),
                x["gt_counts"].Indices()).Total,
            _ => throw new InvalidOperationException($"no typed Forward for {loss.GetType().Name}"),
        };

    /// <summary>
    /// The typed Backward with upstream 1 (Mean, Sum) or ones (None): the gradient the fused call must reproduce. Null
    /// for the criteria (Forward and ForwardBackward only) and the cosine head (its bound fused call is Forward then Backward).
    /// </summary>
    private static List<T[]>? Backward<T>(object loss, LossArguments args, Dictionary<string, LayoutTensor<T>> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!x.ContainsKey("input"))
        {
            return null; // the criteria
        }

        T[] w = args.Entry.Parameter("weight") is { Role: ParameterRole.Call } ? args.Vector<T>("weight") : [];
        double? avg = args.Entry.Parameter("avg_factor") is null ? null : args.OptionalDouble("avg_factor");
        T[] input = x["input"].Data;
        var g = new T[input.Length];
        T[] Ones(int n)
        {
            var u = new T[n];
            Array.Fill(u, T.One);
            return u;
        }

        switch (loss)
        {
            case KLDivergenceLoss<T> kl:
            {
                T[] t = x["target"].Data;
                int batch = x["input"].Shape.Length == 0 ? 1 : x["input"].Shape[0];
                if (kl.Reduction == Reduction.None)
                {
                    kl.Backward(input, t, batch, Ones(input.Length), g);
                }
                else
                {
                    kl.Backward(input, t, batch, T.One, g);
                }

                return [g];
            }

            case CrossEntropyLoss<T> ce when x["target"].Shape.Length == 2:
            {
                (int rows, int cols) = (x["input"].Shape[0], x["input"].Shape[1]);
                if (ce.Reduction == Reduction.None)
                {
                    ce.Backward(input, x["target"].Data, rows, cols, Ones(rows), g);
                }
                else
                {
                    ce.Backward(input, x["target"].Data, rows, cols, T.One, g);
                }

                return [g];
            }

            case ClassIndexLoss<T> l:
            {
                (int rows, int cols) = (x["input"].Shape[0], x["input"].Shape[1]);
                int[] y = x["target"].Indices();
                if (l.Reduction == Reduction.None)
                {
                    l.Backward(input, y, rows, cols, Ones(rows), g);
                }
                else
                {
                    l.Backward(input, y, rows, cols, T.One, g, avg);
                }

                return [g];
            }

            case ElementwiseLoss<T> l:
            {
                T[] t = x["target"].Data;
                if (l.Reduction == Reduction.None)
                {
                    l.Backward(input, t, Ones(input.Length), g, w);
                }
                else
                {
                    l.Backward(input, t, T.One, g, w, avg);
                }

                return [g];
            }

            case BoxRegressionLoss<T> l:
            {
                T[] t = x["target"].Data;
                if (l.Reduction == Reduction.None)
                {
                    l.Backward(input, t, Ones(input.Length / 4), g, w);
                }
                else
                {
                    l.Backward(input, t, T.One, g, w, avg);
                }

                return [g];
            }

            case QualityFocalLoss<T> l:
            {
                (int rows, int cols) = (x["input"].Shape[0], x["input"].Shape[1]);
                int[] y = x["labels"].Indices();
                T[] q = x["scores"].Data;
                if (l.Reduction == Reduction.None)
                {
                    l.Backward(input, y, q, rows, cols, Ones(rows), g, w);
                }
                else
                {
                    l.Backward(input, y, q, rows, cols, T.One, g, w, avg);
                }

                return [g];
            }

            case DistributionFocalLoss<T> l:
            {
                (int rows, int cols) = (x["input"].Shape[0], x["input"].Shape[1]);
                T[] t = x["target"].Data;
                if (l.Reduction == Reduction.None)
                {
                    l.Backward(input, t, rows, cols, Ones(rows), g, w);
                }
                else
                {
                    l.Backward(input, t, rows, cols, T.One, g, w, avg);
                }

                return [g];
            }

            case CenterLoss<T> l:
            {
                (int rows, int dim) = (x["input"].Shape[0], x["input"].Shape[1]);
                int classes = x["centers"].Shape[0];
                int[] y = x["target"].Indices();
                T[] centers = x["centers"].Data;
                var gc = new T[centers.Length];
                if (l.Reduction == Reduction.None)
                {
                    l.Backward(input, y, centers, rows, classes, dim, Ones(rows), g, gc);
                }
                else
                {
                    l.Backward(input, y, centers, rows, classes, dim, T.One, g, gc);
                }

                return [g, gc];
            }

            default:
                return null;
        }
    }
}
