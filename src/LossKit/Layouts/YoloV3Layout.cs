using System.Numerics;
using LossKit.Criteria;

namespace LossKit.Layouts;

/// <summary>
/// The YOLOv3 criterion's arrays (<see cref="YoloV3Loss{T}"/>): the raw outputs of the three detection layers,
/// <c>output0 [images, 3·(5 + classes), H/32, W/32]</c>, <c>output1 [… H/16, W/16]</c>, <c>output2 [… H/8, W/8]</c>
/// (darknet's layout; H, W the entry's input_height, input_width; classes its classes), and the ground truths as darknet
/// labels concatenated over images: <c>gt_boxes [G, 4]</c> normalised (cx, cy, w, h), <c>gt_labels [G]</c> and
/// <c>gt_counts [images]</c>. The value is the total (box + objectness + classification); gradients for the three outputs.
/// </summary>
public sealed class YoloV3Layout : CriterionLayout
{
    internal YoloV3Layout()
        : base("yolov3", "raw outputs of the three YOLOv3 layers and per-image darknet labels; total loss, gradients for the outputs",
            new LayoutInput("output0", "[images, 3·(5 + classes), H/32, W/32] raw output of the stride-32 layer", Differentiable: true),
            new LayoutInput("output1", "[images, 3·(5 + classes), H/16, W/16] raw output of the stride-16 layer", Differentiable: true),
            new LayoutInput("output2", "[images, 3·(5 + classes), H/8, W/8] raw output of the stride-8 layer", Differentiable: true),
            new LayoutInput("gt_boxes", "[G, 4] normalised cx, cy, w, h, concatenated over images"),
            new LayoutInput("gt_labels", "[G] classes in [0, classes)", Indices: true),
            new LayoutInput("gt_counts", "[images] ground truths per image", Indices: true))
    {
    }

    private protected override BoundLoss<T> BindCore<T>(object loss, Call<T> call)
    {
        YoloV3Loss<T> l = call.As<YoloV3Loss<T>>(loss);
        CheckLengths(call, Inputs);
        LayoutTensor<T> counts = call["gt_counts"];
        if (counts.Shape.Length != 1)
        {
            throw call.Mismatch("gt_counts", $"gt_counts has shape {counts.ShapeText} but loss '{call.Loss}' needs {call.Expected("gt_counts")}");
        }

        int images = counts.Shape[0];
        var outputs = new LayoutTensor<T>[YoloV3Loss<T>.Layers];
        for (int k = 0; k < outputs.Length; k++)
        {
            LayoutTensor<T> o = outputs[k] = call["output" + k];
            (int w, int h) = l.GridSize(k);
            Exactly(call, o, [images, YoloV3Loss<T>.AnchorsPerLayer * (5 + l.Classes), h, w],
                $"{images} images (gt_counts {counts.ShapeText}), 3·(5 + {l.Classes}) channels, the {h} × {w} grid of a {l.InputWidth} × {l.InputHeight} input at stride {YoloV3Loss<T>.Stride(k)}");
        }

        int[] perImage = GroundTruths(call, images, $"gt_counts {counts.ShapeText}", labels: true);
        T[] g0 = new T[outputs[0].Data.Length], g1 = new T[outputs[1].Data.Length], g2 = new T[outputs[2].Data.Length];
        T[] boxes = call["gt_boxes"].Data;
        int[] labels = call["gt_labels"].Indices();

        // A criterion's bound Forward runs the fused call too: its value is the same, and the gradients are kept.
        T Fused() => l.ForwardBackward(outputs[0].Data, outputs[1].Data, outputs[2].Data, boxes, labels, perImage, g0, g1, g2).Total;
        return Call<T>.Bound(Fused, Fused, null, [],
            new LayoutTensor<T>("output0", [.. outputs[0].Shape], g0), new LayoutTensor<T>("output1", [.. outputs[1].Shape], g1),
            new LayoutTensor<T>("output2", [.. outputs[2].Shape], g2));
    }
}
