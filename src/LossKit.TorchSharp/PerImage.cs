using LossKit.Layouts;
using LossKit.Registry;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>Per-image tensor lists → the concatenated arrays (and gt_counts) the criteria layouts take.</summary>
internal static class PerImage
{
    public static Tensor[] Concatenate(LossEntry entry, IReadOnlyList<Tensor> batched, IReadOnlyList<Tensor>[] perImage)
    {
        ArgumentNullException.ThrowIfNull(batched);
        ArgumentNullException.ThrowIfNull(perImage);
        IReadOnlyList<LayoutInput> specs = entry.Layout.Inputs;
        bool counts = specs[^1].Name == "gt_counts";
        int expected = specs.Count - batched.Count - (counts ? 1 : 0);
        if (perImage.Length != expected)
        {
            throw new ArgumentException(
                $"loss '{entry.Id}' takes {specs.Count - expected - (counts ? 1 : 0)} batched tensors and {expected} per-image lists ({string.Join(", ", specs.Select(s => s.Name))}); got {batched.Count} and {perImage.Length}",
                nameof(perImage));
        }

        var all = new List<Tensor>(specs.Count);
        all.AddRange(batched);
        int images = perImage.Length > 0 ? perImage[0].Count : 0;
        for (int k = 0; k < perImage.Length; k++)
        {
            string name = specs[batched.Count + k].Name;
            IReadOnlyList<Tensor> list = perImage[k] ?? throw new ArgumentNullException(name);
            if (list.Count != images)
            {
                throw new ArgumentException($"{name} has {list.Count} per-image tensors but {specs[batched.Count].Name} has {images}", name);
            }

            all.Add(list.Count == 0 ? empty(0, 4) : cat([.. list], 0));
        }

        if (counts)
        {
            var n = new long[images];
            for (int i = 0; i < images; i++)
            {
                n[i] = perImage[0][i].size(0);
            }

            all.Add(tensor(n));
        }

        return [.. all];
    }
}
