using System.Numerics;
using LossKit.Internal;

namespace LossKit.Criteria;

/// <content>The ultralytics/yolov3 archive-branch variant: wh-IoU matching, GIoU/CIoU box term, IoU objectness targets.</content>
public sealed partial class YoloV3Loss<T>
{
    private void UltralyticsLayer(int layer, ReadOnlySpan<T> output, Span<T> gradient, in Context c, ref Sums sums)
    {
        YoloV3UltralyticsOptions o = UltralyticsOptions;
        (int gw, int gh) = GridSize(layer);
        int hw = gw * gh, entries = 5 + Classes, planes = c.Batch * AnchorsPerLayer;
        int stride = Stride(layer);
        Scratch ws = c.Workspace;
        double batchScale = o.ScaleByBatch ? c.Batch / 64.0 : 1.0;
        double boxGain = o.BoxGain * batchScale, objGain = o.ObjectnessGain * batchScale;
        double classGain = o.ClassGain * (o.ScaleClassGainByClasses ? Classes / 80.0 : 1.0) * batchScale;
        T gridW = T.CreateTruncating(gw), gridH = T.CreateTruncating(gh);
        T threshold = T.CreateTruncating(o.AnchorThreshold), tiny = T.CreateTruncating(1e-16), clamp = T.CreateTruncating(1000.0);

        // Matches in ultralytics' order: anchor-major, then the ground truths of all images in order.
        int capacity = AnchorsPerLayer * c.Total;
        Span<int> offsets = ws.PosOffsets.Get(capacity);
        Span<T> predicted = ws.GatherInput.Get(4L * capacity), truth = ws.GatherTarget.Get(4L * capacity);
        Span<T> anchorsOf = ws.PosTargets.Get(2L * capacity);
        Span<T> classTargets = ws.ClassTargets.Get((long)capacity * Classes);
        Span<int> matchImage = ws.PosImage.Get(capacity);
        int nb = 0;
        for (int n = 0; n < AnchorsPerLayer; n++)
        {
            int a = AnchorIndex(layer, n);
            T aw = T.CreateTruncating(_anchors[2 * a]) / T.CreateTruncating(stride), ah = T.CreateTruncating(_anchors[2 * a + 1]) / T.CreateTruncating(stride);
            for (int b = 0; b < c.Batch; b++)
            {
                for (int t = c.ImageOffsets[b]; t < c.ImageOffsets[b + 1]; t++)
                {
                    T gwh0 = c.Boxes[4 * t + 2] * gridW, gwh1 = c.Boxes[4 * t + 3] * gridH;
                    T inter = T.Min(aw, gwh0) * T.Min(ah, gwh1);
                    T iou = inter / ((aw * ah + tiny) + gwh0 * gwh1 - inter);
                    if (!(iou > threshold))
                    {
                        continue;
                    }

                    T gx = c.Boxes[4 * t] * gridW, gy = c.Boxes[4 * t + 1] * gridH;
                    int gi = int.CreateTruncating(gx), gj = int.CreateTruncating(gy);
                    int offset = (b * AnchorsPerLayer + n) * entries * hw + gj * gw + gi;
                    offsets[nb] = offset;
                    matchImage[nb] = (b * AnchorsPerLayer + n) * hw + gj * gw + gi;
                    T zw = output[offset + 2 * hw], zh = output[offset + 3 * hw];
                    predicted[4 * nb] = Sigmoid(output[offset]);
                    predicted[4 * nb + 1] = Sigmoid(output[offset + hw]);
                    predicted[4 * nb + 2] = T.Min(T.Exp(zw), clamp) * aw;
                    predicted[4 * nb + 3] = T.Min(T.Exp(zh), clamp) * ah;
                    truth[4 * nb] = gx - T.Floor(gx);
                    truth[4 * nb + 1] = gy - T.Floor(gy);
                    truth[4 * nb + 2] = gwh0;
                    truth[4 * nb + 3] = gwh1;
                    anchorsOf[2 * nb] = aw;
                    anchorsOf[2 * nb + 1] = ah;
                    Span<T> cls = classTargets.Slice(nb * Classes, Classes);
                    cls.Clear();
                    cls[c.Labels[t]] = T.One;
                    nb++;
                }
            }
        }

        // Box: per-box 1 − IoU (GIoU/CIoU, ultralytics' bbox_iou on centre boxes), mean over the matches, gained.
        Span<T> objTarget = ws.ObjTarget.Get((long)planes * hw), objWeight = ws.ObjWeight.Get((long)planes * hw);
        objTarget.Clear();
        if (nb > 0)
        {
            Span<T> values = ws.BoxValues.Get(nb);
            Span<T> grad = c.WantGradient ? ws.GatherGradient.Get(4L * nb) : default;
            if (c.WantGradient)
            {
                _iou!.ForwardBackward(predicted[..(4 * nb)], truth[..(4 * nb)], grad, values);
            }
            else
            {
                _iou!.Forward(predicted[..(4 * nb)], truth[..(4 * nb)], values);
            }

            double boxSum = 0;
            T gr = T.CreateTruncating(o.IoURatio);
            for (int q = 0; q < nb; q++)
            {
                boxSum += double.CreateTruncating(values[q]);
                T iou = T.One - values[q];
                objTarget[matchImage[q]] = (T.One - gr) + gr * T.Max(iou, T.Zero);
            }

            sums.Box += boxGain * boxSum / nb;
            if (c.WantGradient)
            {
                // Chain rule: cx = σ(z), w = min(e^z, 1000)·a (the clamp passes at 1000, as torch.clamp).
                T k = T.CreateTruncating(boxGain / nb);
                for (int q = 0; q < nb; q++)
                {
                    int offset = offsets[q];
                    T sx = predicted[4 * q], sy = predicted[4 * q + 1];
                    T ew = T.Exp(output[offset + 2 * hw]), eh = T.Exp(output[offset + 3 * hw]);
                    gradient[offset] += k * grad[4 * q] * (T.One - sx) * sx;
                    gradient[offset + hw] += k * grad[4 * q + 1] * (T.One - sy) * sy;
                    gradient[offset + 2 * hw] += ew <= clamp ? k * grad[4 * q + 2] * anchorsOf[2 * q] * ew : T.Zero;
                    gradient[offset + 3 * hw] += eh <= clamp ? k * grad[4 * q + 3] * anchorsOf[2 * q + 1] * eh : T.Zero;
                }
            }

            if (Classes > 1)
            {
                sums.Classification += ClassTerm(output, gradient, offsets[..nb], classTargets[..(nb * Classes)], hw,
                    T.CreateTruncating(classGain / ((double)nb * Classes)), c, ws, accumulate: true);
            }
        }

        // Objectness: BCE mean over every slot of the layer, gained.
        objWeight.Fill(T.CreateTruncating(objGain / ((double)planes * hw)));
        sums.Objectness += ObjectnessTerm(output, gradient, objTarget, objWeight, planes, hw, c.WantGradient);
    }
}
