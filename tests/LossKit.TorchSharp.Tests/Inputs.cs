using LossKit.Registry;
using static TorchSharp.torch;

namespace LossKit.TorchSharp.Tests;

/// <summary>Valid, seeded inputs for every registry entry, by layout and value domain (all entries at default parameters, Reduction.None where the entry has a reduction).</summary>
internal static class Inputs
{
    /// <summary>The registry's entry ids, those <paramref name="keep"/> accepts (all when null), as theory data.</summary>
    public static Xunit.TheoryData<string> Ids(Func<LossEntry, bool>? keep = null)
    {
        var d = new Xunit.TheoryData<string>();
        foreach (LossEntry e in LossRegistry.Entries.Where(e => keep?.Invoke(e) ?? true))
        {
            d.Add(e.Id);
        }

        return d;
    }

    /// <summary>Fixed per-value weights so that a per-value output reduces to a scalar with a non-uniform upstream.</summary>
    public static Tensor Weights(Tensor v)
    {
        using var _ = no_grad();
        return arange(v.numel(), dtype: v.dtype).reshape(v.shape).mul(0.37).sin().add(1.2);
    }

    public static (LossArguments Args, Tensor[] Inputs, bool PerImage) For(LossEntry entry, ScalarType t, int seed)
    {
        manual_seed(seed);
        LossArguments args = entry.Arguments();
        if (entry.Parameter("reduction") is not null)
        {
            args.Set("reduction", Reduction.None);
        }

        Tensor Domain(ValueDomain d, long[] shape) => d switch
        {
            ValueDomain.UnitInterval => rand(shape, dtype: t) * 0.9 + 0.05,
            ValueDomain.PlusMinusOne => randn(shape, dtype: t).sign(),
            ValueDomain.LogProbabilities => randn(shape, dtype: t).log_softmax(-1),
            ValueDomain.Cosines => rand(shape, dtype: t) * 1.6 - 0.8,
            _ => randn(shape, dtype: t),
        };

        switch (entry.Layout.Name)
        {
            case "elementwise":
                Tensor target = entry.Id == "kl_div" ? randn(6, 5, dtype: t).softmax(-1) : Domain(entry.TargetDomain, [6, 5]);
                if (entry.Id == "varifocal")
                {
                    target = target * (rand(6, 5, dtype: t) > 0.6).to_type(t);
                }

                return (args, [Domain(entry.InputDomain, [6, 5]), target], false);
            case "class_index":
                return (args, [Domain(entry.InputDomain, [6, 5]), randint(0, 5, [6])], false);
            case "boxes":
                return (args, [TorchReferenceTests.Boxes(7, t), TorchReferenceTests.Boxes(7, t)], false);
            case "scored_rows":
                return (args, [randn(6, 5, dtype: t), tensor(new long[] { 0, 4, 5, 2, -1, 1 }), rand(6, dtype: t)], false);
            case "bins":
                return (args, [randn(6, 8, dtype: t), rand(6, dtype: t) * 6.9], false);
            case "features_centers":
                return (args, [randn(6, 4, dtype: t), randint(0, 3, [6]), randn(3, 4, dtype: t)], false);
            case "cosine_head":
                return (args, [randn(6, 4, dtype: t), randn(5, 4, dtype: t)], false);
            case "pairs":
                return (args, [randn(6, 4, dtype: t), randn(6, 4, dtype: t), randn(6, dtype: t).sign()], false);
            case "rpn":
            {
                Tensor anchors = Grid(4, 8.0, t);
                Tensor gt = tensor(new double[] { 2, 2, 12, 14, 18, 4, 30, 20, 5, 17, 15, 30 }, dtype: t).reshape(3, 4);
                return (args, [randn(2 * 16, dtype: t), randn(2 * 16, 4, dtype: t) * 0.1, anchors, gt, tensor(new long[] { 2, 1 })], true);
            }

            case "fast_rcnn":
                return (args, [randn(8, 4, dtype: t), randn(8, 16, dtype: t) * 0.1, tensor(new long[] { 0, 1, 3, 0, 2, 2, 0, 1 }), randn(8, 4, dtype: t) * 0.2], true);
            case "retinanet":
            {
                Tensor anchors = Grid(4, 8.0, t);
                Tensor gt = tensor(new double[] { 2, 2, 12, 14, 18, 4, 30, 20, 5, 17, 15, 30 }, dtype: t).reshape(3, 4);
                return (args, [randn(2, 16, 3, dtype: t), randn(2, 16, 4, dtype: t) * 0.1, anchors, gt, tensor(new long[] { 0, 2, 1 }), tensor(new long[] { 2, 1 })], true);
            }

            case "yolov3":
            {
                args.Set("classes", 2).Set("input_width", 64).Set("input_height", 64);
                Tensor gt = tensor(new double[] { 0.3, 0.4, 0.2, 0.3, 0.7, 0.6, 0.5, 0.4, 0.5, 0.5, 0.1, 0.1 }, dtype: t).reshape(3, 4);
                return (args, [randn(2, 21, 2, 2, dtype: t), randn(2, 21, 4, 4, dtype: t), randn(2, 21, 8, 8, dtype: t), gt, tensor(new long[] { 1, 0, 1 }),
                    tensor(new long[] { 2, 1 })], true);
            }

            default:
                throw new InvalidOperationException($"no inputs for layout {entry.Layout.Name} (add a case when a layout is added)");
        }
    }

    /// <summary>A k × k grid of square anchors of side s·1.5, xyxy.</summary>
    private static Tensor Grid(int k, double s, ScalarType t)
    {
        var list = new List<double>();
        for (int y = 0; y < k; y++)
        {
            for (int x = 0; x < k; x++)
            {
                double cx = (x + 0.5) * s, cy = (y + 0.5) * s, h = 0.75 * s;
                list.AddRange([cx - h, cy - h, cx + h, cy + h]);
            }
        }

        return tensor(list.ToArray(), dtype: t).reshape(k * k, 4);
    }
}
