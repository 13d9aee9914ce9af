using System.Numerics;

namespace LossKit.Layouts;

/// <summary>
/// The shape rules the detector-criteria layouts share (<see cref="RpnLayout"/>, <see cref="FastRcnnLayout"/>,
/// <see cref="RetinaNetLayout"/>, <see cref="YoloV3Layout"/>): arrays of a given rank and dimensions, boxes with 4
/// coordinates, and ground truths concatenated over images with a count per image. Every violation is an
/// <see cref="ArgumentException"/> whose message starts "shape mismatch: " and names the loss and the arrays.
/// </summary>
public abstract class CriterionLayout : LossLayout
{
    private protected CriterionLayout(string name, string description, params LayoutInput[] inputs)
        : base(name, description, inputs)
    {
    }

    /// <summary>Checks that every input's data holds exactly the elements its shape names.</summary>
    private protected static void CheckLengths<T>(Call<T> call, IEnumerable<LayoutInput> inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (LayoutInput i in inputs)
        {
            LayoutTensor<T> x = call[i.Name];
            long n = 1;
            foreach (int d in x.Shape)
            {
                if (d < 0)
                {
                    throw call.Mismatch(x.Name, $"{x.Name} has shape {x.ShapeText} (a negative dimension); loss '{call.Loss}' needs {call.Expected(x.Name)}");
                }

                n *= d;
            }

            if (n != x.Data.Length)
            {
                throw call.Mismatch(x.Name, $"{x.Name} has shape {x.ShapeText} ({n} elements) but holds {x.Data.Length} values");
            }
        }
    }

    /// <summary>Checks that <paramref name="x"/> has rank <paramref name="rank"/>.</summary>
    private protected static void Rank<T>(Call<T> call, LayoutTensor<T> x, int rank)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Shape.Length != rank)
        {
            throw call.Mismatch(x.Name, $"{x.Name} has shape {x.ShapeText} but loss '{call.Loss}' needs {call.Expected(x.Name)}");
        }
    }

    /// <summary>Checks that <paramref name="x"/> has exactly shape <paramref name="shape"/> (<paramref name="why"/> says what fixes it).</summary>
    private protected static void Exactly<T>(Call<T> call, LayoutTensor<T> x, int[] shape, string why)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!x.Shape.AsSpan().SequenceEqual(shape))
        {
            throw call.Mismatch(x.Name, $"{x.Name} has shape {x.ShapeText} but loss '{call.Loss}' needs [{string.Join(", ", shape)}] ({why})");
        }
    }

    /// <summary>Checks a [rows, 4] array of boxes and returns the rows.</summary>
    private protected static int Boxes<T>(Call<T> call, LayoutTensor<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Shape.Length != 2 || x.Shape[1] != 4)
        {
            throw call.Mismatch(x.Name, $"{x.Name} has shape {x.ShapeText} but loss '{call.Loss}' needs {call.Expected(x.Name)}");
        }

        return x.Shape[0];
    }

    /// <summary>
    /// Checks the ground truths: <c>gt_counts [images]</c>, <c>gt_boxes [Σ counts, 4]</c> and, when
    /// <paramref name="labels"/> is given, <c>gt_labels [Σ counts]</c>; returns the counts.
    /// </summary>
    private protected static int[] GroundTruths<T>(Call<T> call, int images, string imagesFrom, bool labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LayoutTensor<T> counts = call["gt_counts"], boxes = call["gt_boxes"];
        if (counts.Shape.Length != 1 || counts.Shape[0] != images)
        {
            throw call.Mismatch("gt_counts", $"gt_counts has shape {counts.ShapeText} but loss '{call.Loss}' needs [{images}] (one count per image of {imagesFrom})");
        }

        int[] perImage = counts.Indices();
        long total = 0;
        for (int i = 0; i < perImage.Length; i++)
        {
            if (perImage[i] < 0)
            {
                throw new ArgumentException($"gt_counts must be non-negative, got {perImage[i]} for image {i} (loss '{call.Loss}')", "gt_counts");
            }

            total += perImage[i];
        }

        int rows = Boxes(call, boxes);
        if (rows != total)
        {
            throw call.Mismatch("gt_boxes", $"gt_boxes has shape {boxes.ShapeText} but loss '{call.Loss}' needs [{total}, 4] (Σ gt_counts = {total} ground truths)");
        }

        if (labels)
        {
            call.RowVector(call["gt_labels"], rows, boxes);
        }

        return perImage;
    }
}
