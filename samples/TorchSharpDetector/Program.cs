// A dense detector head trained on synthetic boxes with sigmoid focal loss + GIoU loss: once with LossKit's losses
// (LossKit.TorchSharp), once with TorchVision's, from the same seed. Prints progress and a final comparison of the
// loss curves and the time per training step.
//   dotnet run -c Release --project samples/TorchSharpDetector            (default size)
//   dotnet run -c Release --project samples/TorchSharpDetector -- --tiny  (CI's size)
using System.Diagnostics;
using LossKit.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;
using R = TorchSharp.torch.nn.Reduction;

bool tiny = args.Contains("--tiny");
int anchors = tiny ? 512 : 16384, classes = tiny ? 4 : 20, steps = tiny ? 15 : 150, features = 32;
torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
LossKit.LossKitSettings.MaxDegreeOfParallelism = Math.Min(2, Environment.ProcessorCount);
Console.WriteLine($"dense head: {anchors} anchors × {classes} classes, {features} features, {steps} steps (torch {torch.__version__})");

(List<double> Curve, double MsPerStep) Train(string name, bool lossKit)
{
    manual_seed(7);
    // Synthetic data: each anchor has a target class (or background) and a target box; the features are a noisy
    // random projection of both, so a linear head can learn them.
    Tensor labels = randint(-1, classes, [anchors]);                       // -1: background
    Tensor positive = labels >= 0;
    Tensor xy = rand(anchors, 2) * 60, wh = rand(anchors, 2) * 30 + 4;
    Tensor targetBoxes = cat([xy, xy + wh], 1);
    Tensor onehot = zeros(anchors, classes);
    onehot[positive] = nn.functional.one_hot(labels[positive], classes).to_type(ScalarType.Float32);
    Tensor code = cat([onehot, targetBoxes / 90], 1);
    Tensor x = code.matmul(randn(classes + 4, features)) + 0.05 * randn(anchors, features);
    var clsHead = nn.Linear(features, classes);
    var boxHead = nn.Linear(features, 4);
    var parameters = clsHead.parameters().Concat(boxHead.parameters());
    var opt = optim.Adam(parameters, 0.02);
    // Box decoding relative to a fixed 30 × 30 reference box centred at (30, 30): centre + 30·(d0, d1), size 30·exp(d2, d3),
    // so every predicted box is valid (x2 > x1, y2 > y1) whatever the head outputs.
    Tensor posIndex = positive.nonzero().squeeze(1);
    double numPos = Math.Max(1, posIndex.numel());
    var focal = losskit.nn.SigmoidFocalLoss(reduction: R.Sum);
    var giou = losskit.nn.GIoULoss(R.Sum);

    var curve = new List<double>();
    var stepMs = new List<double>();
    var clock = new Stopwatch();
    for (int step = 0; step < steps; step++)
    {
        using var scope = NewDisposeScope();
        clock.Restart();
        opt.zero_grad();
        Tensor logits = clsHead.forward(x);
        Tensor d = boxHead.forward(x.index_select(0, posIndex));
        Tensor centre = 30 + 30 * d[.., ..2], half = 15 * d[.., 2..].clamp(-4, 4).exp();
        Tensor boxes = cat([centre - half, centre + half], 1);
        Tensor tb = targetBoxes.index_select(0, posIndex);
        Tensor loss = lossKit
            ? (focal.forward(logits, onehot) + giou.forward(boxes, tb)) / numPos
            : (torchvision.ops.sigmoid_focal_loss(logits, onehot, 0.25d, 2.0d, R.Sum) + torchvision.ops.generalized_box_iou_loss(boxes, tb, R.Sum)) / numPos;
        loss.backward();
        opt.step();
        clock.Stop();
        stepMs.Add(clock.Elapsed.TotalMilliseconds);
        double v = loss.item<float>();
        curve.Add(v);
        if (step % Math.Max(1, steps / 5) == 0 || step == steps - 1)
        {
            Console.WriteLine($"  {name,-10} step {step,4}: loss {v:F5}");
        }
    }

    // The median step: the first steps of each run include JIT compilation, which would dominate the tiny size's mean.
    stepMs.Sort();
    return (curve, stepMs[stepMs.Count / 2]);
}

var mine = Train("LossKit", true);
var theirs = Train("TorchVision", false);
// The two runs do the same arithmetic up to float32 rounding (the sums are taken in another order), and Adam
// amplifies those differences step by step: the curves must agree closely over the first steps and end equally low.
int early = Math.Min(steps, 60);
double worst = mine.Curve.Take(early).Zip(theirs.Curve, (a, b) => Math.Abs(a - b) / (1 + Math.Abs(b))).Max();
double endGap = Math.Abs(mine.Curve[^1] - theirs.Curve[^1]) / Math.Abs(theirs.Curve[^1]);
Console.WriteLine();
Console.WriteLine($"loss: start {theirs.Curve[0]:F4} → end LossKit {mine.Curve[^1]:F4}, TorchVision {theirs.Curve[^1]:F4} ({endGap:P1} apart); largest relative difference over the first {early} steps {worst:E2}");
Console.WriteLine($"time per training step, median (whole step: head, loss, backward, Adam): LossKit {mine.MsPerStep:F2} ms, TorchVision {theirs.MsPerStep:F2} ms ({theirs.MsPerStep / mine.MsPerStep:F1}×)");
if (worst > 1e-3 || endGap > 0.05 || !(mine.Curve[^1] < mine.Curve[0]) || mine.Curve[^1] < 0)
{
    Console.Error.WriteLine("FAILED: the curves differ or the loss did not fall");
    return 1;
}

return 0;
