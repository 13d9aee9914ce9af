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
        if (expected < 0 || perImage.Length != expected)
        {
            throw new ArgumentException(
                $"loss '{entry.Id}' takes {specs.Count - (counts ? 1 : 0)} inputs ({string.Join(", ", specs.Take(specs.Count - (counts ? 1 : 0)).Select(s => s.Name))}{(counts ? "; gt_counts comes from the lists" : "")}): the batched tensors first, then one per-image list for each input after them; got {batched.Count} batched tensors and {perImage.Length} lists",
                nameof(perImage));
        }

        var all = new List<Tensor>(specs.Count);
        for (int i = 0; i < batched.Count; i++)
        {
            all.Add(batched[i] ?? throw new ArgumentNullException(specs[i].Name));
        }

        for (int k = 0; k < perImage.Length; k++)
        {
            string name = specs[batched.Count + k].Name;
            IReadOnlyList<Tensor> list = perImage[k] ?? throw new ArgumentNullException(name);
            for (int i = 0; i < list.Count; i++)
            {
                if (list[i] is null)
                {
                    throw new ArgumentNullException(name, $"{name}[{i}] (the tensor of image {i}) is null");
                }
            }
        }

        int images = perImage.Length > 0 ? perImage[0].Count : 0;
        ScalarType floats = batched.Count > 0 ? batched[0].dtype : ScalarType.Float32;
        for (int k = 0; k < perImage.Length; k++)
        {
            LayoutInput spec = specs[batched.Count + k];
            IReadOnlyList<Tensor> list = perImage[k];
            if (list.Count != images)
            {
                throw new ArgumentException($"{spec.Name} has {list.Count} per-image tensors but {specs[batched.Count].Name} has {images}", spec.Name);
            }

            Tensor joined = list.Count == 0 ? EmptyOf(spec, floats) : cat([.. list], 0);
            // Every image without ground truths given as a 1-d empty tensor: the boxes' [0, 4].
            all.Add(joined.numel() == 0 && joined.dim() == 1 && !spec.Indices ? joined.reshape(0, 4).to_type(floats) : joined);
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

    /// <summary>The concatenation of no images: no class indices (int64), or no rows of 4 coordinates of the inputs' dtype.</summary>
    private static Tensor EmptyOf(LayoutInput spec, ScalarType floats) => spec.Indices ? empty(0, dtype: ScalarType.Int64) : empty(0, 4, dtype: floats);
}
