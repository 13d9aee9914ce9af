using System.Numerics;
using LossKit.Internal;

namespace LossKit.Criteria;

/// <content>The darknet variant (pjreddie/darknet <c>yolo_layer.c</c>): best-of-nine assignment, the ignore pass, the
/// logistic and squared-error box terms.</content>
public sealed partial class YoloV3Loss<T>
{
    private void DarknetLayer(int layer, ReadOnlySpan<T> output, Span<T> gradient, in Context c, ref Sums sums)
    {
        (int gw, int gh) = GridSize(layer);
        int hw = gw * gh, entries = 5 + Classes, planes = c.Batch * AnchorsPerLayer;
        Scratch ws = c.Workspace;
        Span<T> objTarget = ws.ObjTarget.Get((long)planes * hw), objWeight = ws.ObjWeight.Get((long)planes * hw);
        T invBatch = T.One / T.CreateTruncating(c.Batch);
        T netW = T.CreateTruncating(InputWidth), netH = T.CreateTruncating(InputHeight);

        // 1. Negatives and the ignore band, from the decoded predictions (parallel over the anchor planes).
        IgnorePass(layer, output, c, objTarget, objWeight, invBatch);

        // 2. Positives: best of the nine anchors per ground truth; only this layer's anchors train here.
        Span<int> offsets = ws.PosOffsets.Get(c.Total);
        Span<int> images = ws.PosImage.Get(c.Total);
        Span<T> targets = ws.PosTargets.Get(5L * c.Total);
        Span<T> classTargets = ws.ClassTargets.Get((long)c.Total * Classes);
        int p = 0;
        for (int b = 0; b < c.Batch; b++)
        {
            int first = p;
            for (int t = c.ImageOffsets[b]; t < c.ImageOffsets[b + 1]; t++)
            {
                T cx = c.Boxes[4 * t], cy = c.Boxes[4 * t + 1], w = c.Boxes[4 * t + 2], h = c.Boxes[4 * t + 3];
                int best = BestAnchor(w, h, netW, netH);
                int n = best - AnchorIndex(layer, 0);
                if ((uint)n >= AnchorsPerLayer)
                {
                    continue;
                }

                int i = int.CreateTruncating(cx * T.CreateTruncating(gw)), j = int.CreateTruncating(cy * T.CreateTruncating(gh));
                int plane = b * AnchorsPerLayer + n;
                int slot = plane * hw + j * gw + i;
                int offset = plane * entries * hw + j * gw + i;
                int q = first;
                while (q < p && offsets[q] != offset)
                {
                    q++;
                }

                if (q == p)
                {
                    offsets[p] = offset;
                    images[p] = b;
                    classTargets.Slice(p * Classes, Classes).Clear();
                    p++;
                }

                // Box targets: the last ground truth in a slot wins; classes accumulate (darknet's delta_yolo_class).
                T aw = T.CreateTruncating(_anchors[2 * best]), ah = T.CreateTruncating(_anchors[2 * best + 1]);
                Span<T> target = targets.Slice(q * 5, 5);
                target[0] = cx * T.CreateTruncating(gw) - T.CreateTruncating(i);
                target[1] = cy * T.CreateTruncating(gh) - T.CreateTruncating(j);
                target[2] = T.Log(w * netW / aw);
                target[3] = T.Log(h * netH / ah);
                target[4] = T.CreateTruncating(2) - w * h;
                classTargets[q * Classes + c.Labels[t]] = T.One;
                objTarget[slot] = T.One;
                objWeight[slot] = invBatch;
            }
        }

        // 3. Objectness: target 1 / 0, weight 1/batch or 0 where ignored.
        sums.Objectness += ObjectnessTerm(output, gradient, objTarget, objWeight, planes, hw, c.WantGradient);
        if (p == 0)
        {
            return;
        }

        // 4. Positives' x, y (BCE on logits against the cell offsets, weight scale/batch), w, h (½·scale·(z − t)²/batch
        //    as a weighted squared error) and classes (BCE, weight 1/batch), gathered from the strided entries.
        Span<T> input = ws.GatherInput.Get(2L * p), target2 = ws.GatherTarget.Get(2L * p), weight = ws.GatherWeight.Get(2L * p);
        Span<T> grad = c.WantGradient ? ws.GatherGradient.Get(2L * p) : default;
        T half = T.CreateTruncating(0.5);
        for (int pass = 0; pass < 2; pass++)
        {
            for (int q = 0; q < p; q++)
            {
                ReadOnlySpan<T> target = targets.Slice(q * 5, 5);
                T scaled = target[4] * invBatch;
                for (int e = 0; e < 2; e++)
                {
                    input[2 * q + e] = output[offsets[q] + (2 * pass + e) * hw];
                    target2[2 * q + e] = target[2 * pass + e];
                    weight[2 * q + e] = pass == 0 ? scaled : half * scaled;
                }
            }

            ElementwiseLoss<T> loss = pass == 0 ? _bce : _mse;
            sums.Box += double.CreateTruncating(c.WantGradient
                ? loss.ForwardBackward(input, target2, grad, default, weight)
                : loss.Forward(input, target2, default, weight));
            if (c.WantGradient)
            {
                for (int q = 0; q < p; q++)
                {
                    gradient[offsets[q] + 2 * pass * hw] = grad[2 * q];
                    gradient[offsets[q] + (2 * pass + 1) * hw] = grad[2 * q + 1];
                }
            }
        }

        sums.Classification += ClassTerm(output, gradient, offsets[..p], classTargets[..(p * Classes)], hw, invBatch, c, ws, accumulate: false);
    }

    /// <summary>The best of the nine anchors for a (w, h) ground truth: IoU of centred boxes, strict &gt;, the first wins (0 if none overlaps).</summary>
    private int BestAnchor(T w, T h, T netW, T netH)
    {
        T best = T.Zero;
        int bestN = 0;
        for (int n = 0; n < 9; n++)
        {
            T iou = DarknetIoU(T.Zero, T.Zero, T.CreateTruncating(_anchors[2 * n]) / netW, T.CreateTruncating(_anchors[2 * n + 1]) / netH, T.Zero, T.Zero, w, h);
            if (iou > best)
            {
                best = iou;
                bestN = n;
            }
        }

        return bestN;
    }

    private unsafe void IgnorePass(int layer, ReadOnlySpan<T> output, in Context c, Span<T> objTarget, Span<T> objWeight, T invBatch)
    {
        (int gw, int gh) = GridSize(layer);
        int planes = c.Batch * AnchorsPerLayer;
        fixed (T* o = output, boxes = c.Boxes, target = objTarget, weight = objWeight)
        fixed (int* imageOffsets = c.ImageOffsets)
        {
            var job = new IgnoreJob
            {
                Output = o, Boxes = boxes, Target = target, Weight = weight, ImageOffsets = imageOffsets, W = gw, H = gh, Entries = 5 + Classes,
                NetW = T.CreateTruncating(InputWidth), NetH = T.CreateTruncating(InputHeight), Threshold = T.CreateTruncating(IgnoreThreshold),
                InvBatch = invBatch,
            };
            for (int n = 0; n < AnchorsPerLayer; n++)
            {
                int a = AnchorIndex(layer, n);
                job.SetAnchor(n, T.CreateTruncating(_anchors[2 * a]), T.CreateTruncating(_anchors[2 * a + 1]));
            }

            long work = (long)planes * gw * gh * Math.Max(1, c.Total / Math.Max(1, c.Batch));
            if (work < Pointwise.ParallelThreshold)
            {
                for (int plane = 0; plane < planes; plane++)
                {
                    job.Run(plane);
                }
            }
            else
            {
                WorkPool.Run(ref job, planes);
            }
        }
    }

    /// <summary>One anchor plane: decode every slot, its best IoU with the image's ground truths, the objectness weight.</summary>
    private unsafe struct IgnoreJob : IChunkJob
    {
        public T* Output, Boxes, Target, Weight;
        public int* ImageOffsets;
        public int W, H, Entries;
        public T NetW, NetH, Threshold, InvBatch;
        public T Aw0, Ah0, Aw1, Ah1, Aw2, Ah2;

        public void SetAnchor(int n, T aw, T ah)
        {
            switch (n)
            {
                case 0:
                    (Aw0, Ah0) = (aw, ah);
                    break;
                case 1:
                    (Aw1, Ah1) = (aw, ah);
                    break;
                default:
                    (Aw2, Ah2) = (aw, ah);
                    break;
            }
        }

        public readonly void Run(int plane)
        {
            int b = plane / AnchorsPerLayer, n = plane % AnchorsPerLayer, hw = W * H;
            T aw = n == 0 ? Aw0 : n == 1 ? Aw1 : Aw2, ah = n == 0 ? Ah0 : n == 1 ? Ah1 : Ah2;
            T* x = Output + (long)plane * Entries * hw;
            T* target = Target + (long)plane * hw, weight = Weight + (long)plane * hw;
            int t0 = ImageOffsets[b], t1 = ImageOffsets[b + 1];
            T w = T.CreateTruncating(W), h = T.CreateTruncating(H);
            for (int j = 0; j < H; j++)
            {
                for (int i = 0; i < W; i++)
                {
                    int k = j * W + i;
                    T best = T.Zero;
                    if (t1 > t0)
                    {
                        T bx = (T.CreateTruncating(i) + Sigmoid(x[k])) / w;
                        T by = (T.CreateTruncating(j) + Sigmoid(x[hw + k])) / h;
                        T bw = T.Exp(x[2 * hw + k]) * aw / NetW;
                        T bh = T.Exp(x[3 * hw + k]) * ah / NetH;
                        for (int t = t0; t < t1; t++)
                        {
                            T* g = Boxes + 4 * t;
                            T iou = DarknetIoU(bx, by, bw, bh, g[0], g[1], g[2], g[3]);
                            if (iou > best)
                            {
                                best = iou;
                            }
                        }
                    }

                    target[k] = T.Zero;
                    weight[k] = best > Threshold ? T.Zero : InvBatch;
                }
            }
        }
    }
}
