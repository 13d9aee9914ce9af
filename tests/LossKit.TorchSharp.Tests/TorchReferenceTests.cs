using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using R = TorchSharp.torch.nn.Reduction;
using LF = LossKit.TorchSharp.losskit.functional;
using LO = LossKit.TorchSharp.losskit.ops;

namespace LossKit.TorchSharp.Tests;

/// <summary>Every bridged loss with a TorchSharp / TorchVision equivalent: values and backward() gradients, float32 and float64, each reduction.</summary>
public class TorchReferenceTests
{
    public static TheoryData<ScalarType, R> Grid()
    {
        var d = new TheoryData<ScalarType, R>();
        foreach (ScalarType t in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            foreach (R r in new[] { R.None, R.Mean, R.Sum })
            {
                d.Add(t, r);
            }
        }

        return d;
    }

    internal static double Tol(ScalarType t) => t == ScalarType.Float64 ? 1e-10 : 2e-5;

    private static (Tensor X, Tensor T) Pair(ScalarType t, long n = 37, bool unit = false, bool sign = false)
    {
        manual_seed(n);
        Tensor x = randn(n, 3, dtype: t);
        Tensor y = unit ? rand(n, 3, dtype: t) : sign ? sign_(randn(n, 3, dtype: t)) : randn(n, 3, dtype: t);
        return (unit && false ? x : x, y);
    }

    private static Tensor sign_(Tensor t) => t.sign();

    [Theory]
    [MemberData(nameof(Grid))]
    public void Regression(ScalarType t, R r)
    {
        var (x, y) = Pair(t);
        Harness.Compare(a => LF.l1_loss(a[0], a[1], r), b => F.l1_loss(b[0], b[1], r), [x, y], [0], Tol(t), "l1");
        Harness.Compare(a => LF.mse_loss(a[0], a[1], r), b => F.mse_loss(b[0], b[1], r), [x, y], [0], Tol(t), "mse");
        Harness.Compare(a => LF.smooth_l1_loss(a[0], a[1], r, 0.3), b => F.smooth_l1_loss(b[0], b[1], r, 0.3), [x, y], [0], Tol(t), "smooth_l1");
        Harness.Compare(a => LF.huber_loss(a[0], a[1], r, 0.7), b => F.huber_loss(b[0], b[1], 0.7, r), [x, y], [0], Tol(t), "huber");
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void BinaryAndMargins(ScalarType t, R r)
    {
        var (x, y) = Pair(t, unit: true);
        Tensor p = rand_like(x) * 0.9 + 0.05, w = rand_like(x), pw = rand(3, dtype: t) + 0.5;
        Harness.Compare(a => LF.binary_cross_entropy(a[0], a[1], a[2], r), b => F.binary_cross_entropy(b[0], b[1], b[2], r), [p, y, w], [0], Tol(t), "bce");
        Harness.Compare(a => LF.binary_cross_entropy_with_logits(a[0], a[1], a[2], r, pw), b => F.binary_cross_entropy_with_logits(b[0], b[1], b[2], r, pw),
            [x, y, w], [0], Tol(t), "bce_with_logits");
        // A weight that broadcasts (one per class) and the module forms, whose weight comes first as in torch.nn.
        Tensor wc = rand(3, dtype: t) + 0.5;
        Harness.Compare(a => LF.binary_cross_entropy(a[0], a[1], wc, r), b => F.binary_cross_entropy(b[0], b[1], wc.expand_as(b[0]), r), [p, y], [0], Tol(t), "bce, weight [3]");
        Harness.Compare(a => losskit.nn.BCELoss(wc, r).forward(a[0], a[1]), b => torch.nn.BCELoss(wc.expand_as(b[0]), r).forward(b[0], b[1]), [p, y], [0], Tol(t), "BCELoss(weight)");
        Harness.Compare(a => losskit.nn.BCEWithLogitsLoss(wc, r, pw).forward(a[0], a[1]), b => torch.nn.BCEWithLogitsLoss(wc.expand_as(b[0]), r, pw).forward(b[0], b[1]),
            [x, y], [0], Tol(t), "BCEWithLogitsLoss(weight, pos_weight)");
        Tensor s = randn_like(x).sign();
        Harness.Compare(a => LF.soft_margin_loss(a[0], a[1], r), b => F.soft_margin_loss(b[0], b[1], r), [x, s], [0], Tol(t), "soft_margin");
        Harness.Compare(a => LF.hinge_embedding_loss(a[0], a[1], 0.8, r), b => F.hinge_embedding_loss(b[0], b[1], 0.8, r), [x, s], [0], Tol(t), "hinge_embedding");
        Harness.Compare(a => LF.hinge_loss(a[0], a[1], r), b => Reduce((1 - b[1] * b[0]).clamp_min(0), r), [x, s], [0], Tol(t), "hinge (clamp composition)");
        Harness.Compare(a => LF.squared_hinge_loss(a[0], a[1], r), b => Reduce((1 - b[1] * b[0]).clamp_min(0).pow(2), r), [x, s], [0], Tol(t), "squared_hinge (composition)");
        Harness.Compare(a => LF.exponential_loss(a[0], a[1], r), b => Reduce((-b[1] * b[0]).exp(), r), [x, s], [0], Tol(t), "exponential (composition)");
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void ClassIndex(ScalarType t, R r)
    {
        manual_seed(5);
        Tensor x = randn(33, 7, dtype: t), y = randint(0, 7, [33]), w = rand(7, dtype: t) + 0.2;
        y[3] = tensor(-100L);
        Harness.Compare(a => LF.cross_entropy(a[0], a[1], w, -100, r, 0.1), b => F.cross_entropy(b[0], b[1], w, -100, r, 0.1), [x, y], [0], Tol(t), "cross_entropy");
        Harness.Compare(a => LF.cross_entropy(a[0], a[1].to_type(ScalarType.Int32), null, -100, r), b => F.cross_entropy(b[0], b[1], null, -100, r), [x, y], [0], Tol(t),
            "cross_entropy int32 target");
        Tensor probs = softmax(randn(33, 7, dtype: t), 1);
        Harness.Compare(a => LF.cross_entropy(a[0], a[1], w, reduction: r), b => F.cross_entropy(b[0], b[1], w, reduction: r), [x, probs], [0], Tol(t), "cross_entropy probabilities");
        Tensor logp = x.log_softmax(1), yy = randint(0, 7, [33]);
        Harness.Compare(a => LF.nll_loss(a[0], a[1], w, reduction: r), b => F.nll_loss(b[0], b[1], w, r), [logp, yy], [0], Tol(t), "nll");
        foreach (int p in new[] { 1, 2 })
        {
            Harness.Compare(a => LF.multi_margin_loss(a[0], a[1], p, 0.7, w, r), b => F.multi_margin_loss(b[0], b[1], p, 0.7, w, r), [x, yy], [0], Tol(t), $"multi_margin p={p}");
        }

        Tensor dense = randn(4, 5, 3, 2, dtype: t), dy = randint(0, 5, [4, 3, 2]);
        Harness.Compare(a => LF.cross_entropy(a[0], a[1], reduction: r), b => F.cross_entropy(b[0], b[1], reduction: r), [dense, dy], [0], Tol(t), "cross_entropy dense [N, C, d1, d2]");
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void KlAndCosineEmbedding(ScalarType t, R r)
    {
        manual_seed(9);
        Tensor x = randn(6, 5, dtype: t).log_softmax(1), p = softmax(randn(6, 5, dtype: t), 1);
        Harness.Compare(a => LF.kl_div(a[0], a[1], r), b => F.kl_div(b[0], b[1], false, r), [x, p], [0], Tol(t), "kl_div");
        Harness.Compare(a => LF.kl_div(a[0], a[1], r, log_target: true), b => F.kl_div(b[0], b[1], true, r), [x, p.log()], [0], Tol(t), "kl_div log_target");
        Tensor u = randn(9, 4, dtype: t), v = randn(9, 4, dtype: t), s = tensor(new long[] { 1, -1, 1, 1, -1, -1, 1, -1, 1 });
        Harness.Compare(a => LF.cosine_embedding_loss(a[0], a[1], a[2], 0.2, r), b => F.cosine_embedding_loss(b[0], b[1], b[2], 0.2, r), [u, v, s], [0, 1], Tol(t),
            "cosine_embedding");
    }

    [Fact]
    public void KlBatchMean()
    {
        manual_seed(3);
        Tensor x = randn(6, 5, dtype: float64).log_softmax(1), p = softmax(randn(6, 5, dtype: float64), 1);
        Harness.Compare(a => LF.kl_div(a[0], a[1], R.Mean, batchmean: true), b => F.kl_div(b[0], b[1], false, R.Sum) / 6, [x, p], [0], 1e-12, "kl_div batchmean");
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void TorchVisionOps(ScalarType t, R r)
    {
        manual_seed(11);
        Tensor x = randn(40, 6, dtype: t), y = (rand(40, 6, dtype: t) > 0.7).to_type(t);
        // TorchVision's double overload (the float one applies the reduction to the inner BCE term).
        Harness.Compare(a => LO.sigmoid_focal_loss(a[0], a[1], 0.25, 2.0, r), b => torchvision.ops.sigmoid_focal_loss(b[0], b[1], 0.25d, 2.0d, r), [x, y], [0], Tol(t), "sigmoid_focal");
        Tensor b1 = Boxes(50, t), b2 = Boxes(50, t);
        Harness.Compare(a => LO.generalized_box_iou_loss(a[0], a[1], r), b => torchvision.ops.generalized_box_iou_loss(b[0], b[1], r), [b1, b2], [0], Tol(t) * 10, "giou");
        Harness.Compare(a => LO.distance_box_iou_loss(a[0], a[1], r), b => torchvision.ops.distance_box_iou_loss(b[0], b[1], r), [b1, b2], [0], Tol(t) * 10, "diou");
        Harness.Compare(a => LO.complete_box_iou_loss(a[0], a[1], r), b => torchvision.ops.complete_box_iou_loss(b[0], b[1], r), [b1, b2], [0], Tol(t) * 10, "ciou");

        // Boxes of any leading shape, as torchvision takes them: one box [4], a batch [B, N, 4].
        Tensor c1 = Boxes(12, t).reshape(2, 6, 4), c2 = Boxes(12, t).reshape(2, 6, 4);
        Harness.Compare(a => LO.generalized_box_iou_loss(a[0], a[1], r), b => torchvision.ops.generalized_box_iou_loss(b[0], b[1], r), [c1, c2], [0], Tol(t) * 10, "giou [2, 6, 4]");
        Harness.Compare(a => LO.complete_box_iou_loss(a[0], a[1], r), b => torchvision.ops.complete_box_iou_loss(b[0], b[1], r), [c1, c2], [0], Tol(t) * 10, "ciou [2, 6, 4]");
        Harness.Compare(a => LO.distance_box_iou_loss(a[0], a[1], r), b => torchvision.ops.distance_box_iou_loss(b[0], b[1], r), [c1[0, 0], c2[0, 0]], [0], Tol(t) * 10, "diou [4]");
    }

    internal static Tensor Boxes(long n, ScalarType t)
    {
        Tensor xy = rand(n, 2, dtype: t) * 10, wh = rand(n, 2, dtype: t) * 5 + 0.5;
        return cat([xy, xy + wh], 1);
    }

    private static Tensor Reduce(Tensor v, R r) => r switch { R.None => v, R.Sum => v.sum(), _ => v.mean() };
}
