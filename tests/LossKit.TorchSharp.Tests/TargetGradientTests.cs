using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using R = TorchSharp.torch.nn.Reduction;
using LF = LossKit.TorchSharp.losskit.functional;

namespace LossKit.TorchSharp.Tests;

/// <summary>
/// A target that requires grad: the entries whose TorchSharp function differentiates its target give the same target
/// gradient (and the same input gradient) as TorchSharp, float32 and float64, each reduction; the others refuse it.
/// </summary>
public class TargetGradientTests
{
    [Theory]
    [MemberData(nameof(TorchReferenceTests.Grid), MemberType = typeof(TorchReferenceTests))]
    public void DifferenceLossesGiveTheNegatedInputGradient(ScalarType dtype, R r)
    {
        manual_seed(11);
        Tensor x = randn(13, 4, dtype: dtype), t = randn(13, 4, dtype: dtype);
        Harness.Compare(a => LF.l1_loss(a[0], a[1], r), b => F.l1_loss(b[0], b[1], r), [x, t], [0, 1], TorchReferenceTests.Tol(dtype), $"l1 {r}");
        Harness.Compare(a => LF.mse_loss(a[0], a[1], r), b => F.mse_loss(b[0], b[1], r), [x, t], [0, 1], TorchReferenceTests.Tol(dtype), $"mse {r}");
        Harness.Compare(a => LF.smooth_l1_loss(a[0], a[1], r, 0.5), b => F.smooth_l1_loss(b[0], b[1], r, 0.5), [x, t], [0, 1], TorchReferenceTests.Tol(dtype), $"smooth_l1 {r}");
        Harness.Compare(a => LF.huber_loss(a[0], a[1], r, 0.7), b => F.huber_loss(b[0], b[1], 0.7, r), [x, t], [0, 1], TorchReferenceTests.Tol(dtype), $"huber {r}");
    }

    [Theory]
    [MemberData(nameof(TorchReferenceTests.Grid), MemberType = typeof(TorchReferenceTests))]
    public void BinaryCrossEntropyTargets(ScalarType dtype, R r)
    {
        manual_seed(12);
        Tensor p = rand(9, 5, dtype: dtype) * 0.98 + 0.01, x = randn(9, 5, dtype: dtype) * 3, t = rand(9, 5, dtype: dtype);
        Tensor w = rand(9, 5, dtype: dtype) + 0.5, pw = rand(5, dtype: dtype) * 3;
        Harness.Compare(a => LF.binary_cross_entropy(a[0], a[1], null, r), b => F.binary_cross_entropy(b[0], b[1], null, r), [p, t], [0, 1], TorchReferenceTests.Tol(dtype), $"bce {r}");
        Harness.Compare(a => LF.binary_cross_entropy(a[0], a[1], w, r), b => F.binary_cross_entropy(b[0], b[1], w, r), [p, t], [1], TorchReferenceTests.Tol(dtype), $"bce weight {r}");
        Harness.Compare(a => LF.binary_cross_entropy_with_logits(a[0], a[1], null, r), b => F.binary_cross_entropy_with_logits(b[0], b[1], null, r), [x, t], [0, 1], TorchReferenceTests.Tol(dtype),
            $"bce_with_logits {r}");
        Harness.Compare(a => LF.binary_cross_entropy_with_logits(a[0], a[1], w, r, pw), b => F.binary_cross_entropy_with_logits(b[0], b[1], w, r, pw), [x, t], [0, 1], TorchReferenceTests.Tol(dtype),
            $"bce_with_logits weight pos_weight {r}");
    }

    [Theory]
    [MemberData(nameof(TorchReferenceTests.Grid), MemberType = typeof(TorchReferenceTests))]
    public void KLDivergenceTargets(ScalarType dtype, R r)
    {
        manual_seed(13);
        Tensor x = randn(6, 7, dtype: dtype).log_softmax(1), t = randn(6, 7, dtype: dtype).softmax(1), lt = randn(6, 7, dtype: dtype);
        Harness.Compare(a => LF.kl_div(a[0], a[1], r), b => F.kl_div(b[0], b[1], false, r), [x, t], [0, 1], TorchReferenceTests.Tol(dtype), $"kl_div {r}");
        Harness.Compare(a => LF.kl_div(a[0], a[1], r, log_target: true), b => F.kl_div(b[0], b[1], true, r), [x, lt], [0, 1], TorchReferenceTests.Tol(dtype), $"kl_div log_target {r}");
        if (r == R.Mean)
        {
            Harness.Compare(a => LF.kl_div(a[0], a[1], r, batchmean: true), b => F.kl_div(b[0], b[1], false, R.Sum) / 6, [x, t], [0, 1], TorchReferenceTests.Tol(dtype), "kl_div batchmean");
        }
    }

    [Theory]
    [MemberData(nameof(TorchReferenceTests.Grid), MemberType = typeof(TorchReferenceTests))]
    public void CrossEntropyProbabilityTargets(ScalarType dtype, R r)
    {
        // Rows [N, C], and the dense form [N, C, d1, d2] (soft segmentation maps: classes along dimension 1).
        manual_seed(14);
        foreach (long[] shape in new long[][] { [8, 5], [2, 4, 3, 5] })
        {
            Tensor x = randn(shape, dtype: dtype), t = randn(shape, dtype: dtype).softmax(1), w = rand(shape[1], dtype: dtype) + 0.5;
            string form = shape.Length == 2 ? "rows" : "dense";
            Harness.Compare(a => LF.cross_entropy(a[0], a[1], reduction: r), b => F.cross_entropy(b[0], b[1], reduction: r), [x, t], [0, 1], TorchReferenceTests.Tol(dtype),
                $"cross_entropy {form} {r}");
            Harness.Compare(a => LF.cross_entropy(a[0], a[1], w, reduction: r, label_smoothing: 0.2), b => F.cross_entropy(b[0], b[1], w, reduction: r, label_smoothing: 0.2),
                [x, t], [0, 1], TorchReferenceTests.Tol(dtype), $"cross_entropy {form}, weight, label_smoothing {r}");
        }
    }

    [Theory]
    [MemberData(nameof(TorchReferenceTests.Grid), MemberType = typeof(TorchReferenceTests))]
    public void BoxLossesDifferentiateBothBoxes(ScalarType dtype, R r)
    {
        // torchvision's GIoU / DIoU / CIoU losses are compositions of torch ops: both box arguments get gradients.
        manual_seed(19);
        Tensor b1 = TorchReferenceTests.Boxes(24, dtype), b2 = TorchReferenceTests.Boxes(24, dtype);
        double tol = TorchReferenceTests.Tol(dtype) * 10;
        Harness.Compare(a => losskit.ops.generalized_box_iou_loss(a[0], a[1], r), b => torchvision.ops.generalized_box_iou_loss(b[0], b[1], r), [b1, b2], [0, 1], tol, $"giou {r}");
        Harness.Compare(a => losskit.ops.distance_box_iou_loss(a[0], a[1], r), b => torchvision.ops.distance_box_iou_loss(b[0], b[1], r), [b1, b2], [0, 1], tol, $"diou {r}");
        Harness.Compare(a => losskit.ops.complete_box_iou_loss(a[0], a[1], r), b => torchvision.ops.complete_box_iou_loss(b[0], b[1], r), [b1, b2], [0, 1], tol, $"ciou {r}");
        Tensor c1 = b1.reshape(2, 12, 4), c2 = b2.reshape(2, 12, 4);
        Harness.Compare(a => losskit.ops.complete_box_iou_loss(a[0], a[1], r), b => torchvision.ops.complete_box_iou_loss(b[0], b[1], r), [c1, c2], [1], tol, $"ciou [2, 12, 4] {r}");
    }

    [Fact]
    public void TargetAloneRequiringGradGetsItsGradient()
    {
        // The second output of a model against a constant input, and a non-leaf target through a layer.
        Tensor x = randn(10, 3, dtype: float64), t = randn(10, 3, dtype: float64).requires_grad_();
        Tensor u = t.detach().clone().requires_grad_();
        LF.mse_loss(x, t).backward();
        F.mse_loss(x, u).backward();
        Harness.Close(u.grad!, t.grad!, 1e-12, "target-only mse");

        // float16 (through the float32 path): the target's gradient is the negated input gradient, bit for bit.
        Tensor xh = randn(10, 3, dtype: float16).requires_grad_(), th = randn(10, 3, dtype: float16).requires_grad_();
        LF.mse_loss(xh, th).backward();
        Assert.Equal(float16, th.grad!.dtype);
        Assert.True(th.grad!.neg().eq(xh.grad!).all().item<bool>(), "float16 mse target gradient");

        var lin = nn.Linear(4, 3, dtype: float64);
        Tensor z = randn(10, 4, dtype: float64);
        LF.smooth_l1_loss(x, lin.forward(z)).backward();
        Tensor mine = lin.weight!.grad!.clone();
        lin.zero_grad();
        F.smooth_l1_loss(x, lin.forward(z)).backward();
        Harness.Close(lin.weight!.grad!, mine, 1e-12, "linear weight through the target");
    }

    [Fact]
    public void Float16TargetsGetTheFloat32PathsGradient()
    {
        // float16 runs through the float32 path; the target's gradient is computed in float16 torch operations, so it is
        // compared with TorchSharp's float32 result within float16's precision.
        manual_seed(15);
        Tensor p = rand(6, 5) * 0.9 + 0.05, x = randn(6, 5), t = rand(6, 5), lp = randn(6, 5).log_softmax(1), q = randn(6, 5).softmax(1);
        var cases = new (string Name, Func<Tensor, Tensor, Tensor> Mine, Func<Tensor, Tensor, Tensor> Theirs, Tensor X, Tensor T)[]
        {
            ("bce", (a, b) => LF.binary_cross_entropy(a, b), (a, b) => F.binary_cross_entropy(a, b), p, t),
            ("bce_with_logits", (a, b) => LF.binary_cross_entropy_with_logits(a, b, pos_weight: full(5, 2.0, dtype: a.dtype)),
                (a, b) => F.binary_cross_entropy_with_logits(a, b, null, R.Mean, full(5, 2.0, dtype: a.dtype)), x, t),
            ("kl_div", (a, b) => LF.kl_div(a, b, R.Sum), (a, b) => F.kl_div(a, b, false, R.Sum), lp, q),
            ("cross_entropy", (a, b) => LF.cross_entropy(a, b), (a, b) => F.cross_entropy(a, b), x, q),
        };
        foreach (var c in cases)
        {
            Tensor th = c.T.to_type(float16).requires_grad_();
            c.Mine(c.X.to_type(float16), th).backward();
            Tensor tf = c.T.detach().clone().requires_grad_();
            c.Theirs(c.X, tf).backward();
            Assert.Equal(float16, th.grad!.dtype);
            Harness.Close(tf.grad!, th.grad!, 2e-2, $"{c.Name} float16 target gradient");
        }
    }

    [Fact]
    public void TorchSharpFunctionPathGivesTheSameTargetGradient()
    {
        // The node made through TorchSharp's autograd.Function (used when LibTorchSharp lacks the native entry points).
        Tensor x = randn(7, 4, dtype: float64), t = randn(7, 4, dtype: float64).softmax(1);
        Tensor[] Run(bool torchSharpFunction)
        {
            NativeNode.UseTorchSharpFunction = torchSharpFunction;
            try
            {
                Tensor[] leaves = Harness.Leaves([x, t], [0, 1]);
                (LF.cross_entropy(leaves[0], leaves[1], reduction: R.None) * arange(7, dtype: float64)).sum().backward();
                return [leaves[0].grad!, leaves[1].grad!];
            }
            finally
            {
                NativeNode.UseTorchSharpFunction = false;
            }
        }

        Tensor[] viaFunction = Run(true), native = Run(false);
        Harness.Close(native[0], viaFunction[0], 0, "input gradient");
        Harness.Close(native[1], viaFunction[1], 0, "target gradient");
        Tensor[] leavesTorch = Harness.Leaves([x, t], [0, 1]);
        (F.cross_entropy(leavesTorch[0], leavesTorch[1], reduction: R.None) * arange(7, dtype: float64)).sum().backward();
        Harness.Close(leavesTorch[1].grad!, viaFunction[1], 1e-12, "target gradient against TorchSharp");
    }

    [Fact]
    public void AvgFactorScalesTheTargetGradientToo()
    {
        // mmdetection's avg_factor: Mean divides by avg_factor + float32 eps, for the input's and the target's gradient.
        manual_seed(17);
        const double a = 7, eps = 1.1920928955078125e-07;
        Tensor x = randn(5, 4, dtype: float64), t = rand(5, 4, dtype: float64), w = rand(5, 4, dtype: float64), pw = rand(4, dtype: float64) + 0.5;
        LossKit.Registry.LossArguments bce = LossKit.Registry.LossRegistry.Get("bce_with_logits").Arguments().Set("pos_weight", pw.data<double>().ToArray());
        Harness.Compare(v => losskit.apply(bce, [v[0], v[1]], w, a), v => F.binary_cross_entropy_with_logits(v[0], v[1], w, R.Sum, pw) / (a + eps), [x, t], [0, 1], 1e-12,
            "bce_with_logits, avg_factor");
        Harness.Compare(v => new Loss("smooth_l1 beta=0.5 avg_factor=7").forward(v[0], v[1]), v => F.smooth_l1_loss(v[0], v[1], R.Sum, 0.5) / (a + eps),
            [x, t], [0, 1], 1e-12, "smooth_l1, avg_factor in the spec");
    }

    [Fact]
    public void RetainedGraphAndCreateGraphWithATargetGradient()
    {
        // A retained graph's second backward gives the target its gradient again (accumulated); under create_graph the
        // target's gradient is right and differentiating it raises, as for the input's.
        manual_seed(18);
        Tensor x = randn(4, 3, dtype: float64).requires_grad_(), t = randn(4, 3, dtype: float64).requires_grad_();
        Tensor loss = LF.mse_loss(x, t);
        loss.backward(retain_graph: true);
        loss.backward();
        Harness.Close(-4 * (x - t).detach() / 12, t.grad!, 1e-12, "two backward passes, target");
        Harness.Close(4 * (x - t).detach() / 12, x.grad!, 1e-12, "two backward passes, input");

        Tensor q = randn(4, 3, dtype: float64).softmax(1).requires_grad_(), lp = randn(4, 3, dtype: float64).log_softmax(1);
        Tensor g = torch.autograd.grad([LF.kl_div(lp, q, R.Sum)], [q], create_graph: true)[0];
        Harness.Close((q.log() + 1 - lp).detach(), g, 1e-12, "kl_div target gradient under create_graph");
        Assert.ThrowsAny<System.Runtime.InteropServices.ExternalException>(() => g.sum().backward());
    }

    [Fact]
    public void ZeroDimensionalInputWithOnePosWeight()
    {
        // torch refuses a 0-d input with a [1] pos_weight (its in-place forward cannot grow the result to [1]); LossKit
        // takes it, and its gradients are those torch gives for the same numbers as [1] tensors.
        Tensor pw = tensor(new[] { 2.0 });
        Tensor x = tensor(0.3).requires_grad_(), t = tensor(0.6).requires_grad_();
        LF.binary_cross_entropy_with_logits(x, t, null, R.Mean, pw).backward();
        Tensor x1 = tensor(new[] { 0.3 }).requires_grad_(), t1 = tensor(new[] { 0.6 }).requires_grad_();
        F.binary_cross_entropy_with_logits(x1, t1, null, R.Mean, pw).backward();
        Assert.Equal(0, t.grad!.dim());
        Harness.Close(x1.grad!.reshape(), x.grad!, 1e-12, "input gradient");
        Harness.Close(t1.grad!.reshape(), t.grad!, 1e-12, "target gradient");
    }

    [Fact]
    public void EdgeValuesMatchPyTorch()
    {
        // bce at probabilities 0 and 1: ±∞ (−logit(x)); kl_div at target 0 and below: NaN. Both are PyTorch's values.
        Tensor p = tensor(new[] { 0.0, 1.0, 0.3 }), t = tensor(new[] { 0.5, 0.5, 0.5 });
        Tensor mine = Grad(a => LF.binary_cross_entropy(a[0], a[1], reduction: R.Sum), p, t);
        Tensor theirs = Grad(b => F.binary_cross_entropy(b[0], b[1], reduction: R.Sum), p, t);
        Assert.Equal(theirs.data<double>().ToArray(), mine.data<double>().ToArray());
        Assert.True(double.IsPositiveInfinity(mine[0].item<double>()) && double.IsNegativeInfinity(mine[1].item<double>()));

        Tensor lp = tensor(new[] { -1.0, -2.0, -0.5 }), q = tensor(new[] { 0.0, 0.4, 0.6 });
        Tensor kMine = Grad(a => LF.kl_div(a[0], a[1], R.Sum), lp, q), kTheirs = Grad(b => F.kl_div(b[0], b[1], false, R.Sum), lp, q);
        Assert.Equal(kTheirs.isnan().data<bool>().ToArray(), kMine.isnan().data<bool>().ToArray());
        Assert.True(double.IsNaN(kMine[0].item<double>()));
        Harness.Close(kTheirs[1..], kMine[1..], 1e-12, "kl_div target gradient where t > 0");
    }

    private static Tensor Grad(Func<Tensor[], Tensor> loss, Tensor x, Tensor t)
    {
        Tensor tg = t.detach().clone().requires_grad_();
        return torch.autograd.grad([loss([x.detach().clone().requires_grad_(), tg])], [tg])[0];
    }

    [Fact]
    public void OtherTargetsRequiringGradAreRefused()
    {
        // soft_margin: PyTorch refuses a target that requires grad too; class indices never take one.
        var e = Assert.Throws<ArgumentException>(() => LF.soft_margin_loss(randn(3, requires_grad: true), randn(3).sign().requires_grad_()));
        Assert.Equal("target", e.ParamName);
        Assert.Contains("detach", e.Message);
        var f = Assert.Throws<ArgumentException>(() => LossKit.TorchSharp.losskit.ops.siou_loss(
            tensor(new float[] { 0, 0, 2, 2 }).reshape(1, 4).requires_grad_(), tensor(new float[] { 1, 1, 3, 3 }).reshape(1, 4).requires_grad_()));
        Assert.Equal("target", f.ParamName);
    }
}
