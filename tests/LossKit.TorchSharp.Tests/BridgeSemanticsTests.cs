using LossKit.Registry;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using R = TorchSharp.torch.nn.Reduction;
using LF = LossKit.TorchSharp.losskit.functional;

namespace LossKit.TorchSharp.Tests;

/// <summary>The bridge's contract: when gradients are made, dtypes, devices, layouts of memory, upstream scaling, errors, threads.</summary>
public class BridgeSemanticsTests
{
    [Fact]
    public void NoGradOrNoRequiresGradRunsForwardOnly()
    {
        Tensor x = randn(10, 4), t = randn(10, 4);
        Tensor v = LF.mse_loss(x, t);
        Assert.False(v.requires_grad);
        Tensor xg = x.clone().requires_grad_();
        using (no_grad())
        {
            Tensor w = LF.mse_loss(xg, t);
            Assert.False(w.requires_grad);
        }

        Assert.Equal(F.mse_loss(x, t).item<float>(), v.item<float>(), 5);
    }

    [Fact]
    public void ScalarUpstreamScalesGradient()
    {
        Tensor x = randn(10, 4, dtype: float64).requires_grad_(), t = randn(10, 4, dtype: float64);
        (LF.l1_loss(x, t) * 3.0).backward();
        Tensor y = x.detach().clone().requires_grad_();
        (F.l1_loss(y, t) * 3.0).backward();
        Harness.Close(y.grad!, x.grad!, 1e-12, "3 × l1");
    }

    [Fact]
    public void NonLeafInputGetsGradientThroughTheGraph()
    {
        var lin = torch.nn.Linear(4, 3, dtype: float64);
        Tensor x = randn(8, 4, dtype: float64), y = randint(0, 3, [8]);
        LF.cross_entropy(lin.forward(x), y).backward();
        Tensor mine = lin.weight!.grad!.clone();
        lin.zero_grad();
        F.cross_entropy(lin.forward(x), y).backward();
        Harness.Close(lin.weight!.grad!, mine, 1e-12, "linear weight gradient");
    }

    [Fact]
    public void NonContiguousInputIsCopiedOnce()
    {
        Tensor x = randn(5, 7).t(), t = randn(7, 5);
        Assert.False(x.is_contiguous());
        Harness.Compare(a => LF.smooth_l1_loss(a[0], a[1]), b => F.smooth_l1_loss(b[0], b[1]), [x, t], [0], 2e-6, "transposed input");
        Tensor xn = randn(7, 5).t().requires_grad_();
        LF.mse_loss(xn, t.t()).backward();
        Assert.Equal(new long[] { 5, 7 }, xn.grad!.shape);
    }

    [Fact]
    public void HalfDispatchesToTheHalfInstantiation()
    {
        Tensor x = randn(64, dtype: float16), t = randn(64, dtype: float16);
        Tensor v = LF.mse_loss(x, t);
        Assert.Equal(ScalarType.Float16, v.dtype);
        double expected = F.mse_loss(x.to_type(float32), t.to_type(float32)).item<float>();
        Assert.Equal(expected, (double)v.to_type(float32).item<float>(), 2);
        Tensor xg = x.clone().requires_grad_();
        LF.l1_loss(xg, t).backward();
        Assert.Equal(ScalarType.Float16, xg.grad!.dtype);
    }

    /// <summary>
    /// Half runs LossKit's float32 path: the value and the gradient are torch's float32 results on the same Half
    /// inputs, rounded to Half (one Half step apart at most), over sums where Half accumulation would lose the result.
    /// </summary>
    [Fact]
    public void Half_IsTorchFloat32RoundedToHalf()
    {
        Tensor x = (randn(10000) * 3).to_type(float16), t = randn(10000).to_type(float16);
        Tensor logits = (randn(4, 4096) * 2).to_type(float16), labels = randint(0, 4096, 4, dtype: int64);
        foreach ((string what, Func<Tensor, Tensor> mine, Func<Tensor, Tensor> theirs, Tensor input) in new (string, Func<Tensor, Tensor>, Func<Tensor, Tensor>, Tensor)[]
        {
            ("mse", a => LF.mse_loss(a, t), a => F.mse_loss(a, t.to_type(float32)), x),
            ("cross_entropy", a => LF.cross_entropy(a, labels), a => F.cross_entropy(a, labels), logits),
        })
        {
            Tensor h = input.clone().requires_grad_();
            Tensor value = mine(h);
            value.backward();
            Tensor f = input.to_type(float32).requires_grad_();
            Tensor reference = theirs(f);
            reference.backward();
            Assert.Equal(ScalarType.Float16, value.dtype);
            Assert.Equal(ScalarType.Float16, h.grad!.dtype);
            double step = Math.Pow(2, -10);
            Assert.True(value.to_type(float32).allclose(reference.to_type(float16).to_type(float32), rtol: step, atol: 0), $"{what} value");
            Assert.True(h.grad.to_type(float32).allclose(f.grad!.to_type(float16).to_type(float32), rtol: step, atol: 6e-8), $"{what} gradient");
        }
    }

    [Fact]
    public void OtherDeviceIsNotSupported()
    {
        Tensor x = empty(3, 4, device: torch.META), t = empty(3, 4, device: torch.META);
        var e = Assert.Throws<NotSupportedException>(() => LF.mse_loss(x, t));
        Assert.Contains("meta", e.Message);
        Assert.Contains("input", e.Message);
    }

    [Fact]
    public void MixedDtypesNameTheParameter()
    {
        var e = Assert.Throws<ArgumentException>(() => LF.mse_loss(randn(3, dtype: float32), randn(3, dtype: float64)));
        Assert.Equal("target", e.ParamName);
        Assert.Contains("float64", e.Message);
        var f = Assert.Throws<ArgumentException>(() => LF.cross_entropy(randn(3, 4), randn(3)));
        Assert.Equal("target", f.ParamName);
        var g = Assert.Throws<ArgumentException>(() => LF.mse_loss(randint(0, 3, [3]), randint(0, 3, [3])));
        Assert.Equal("input", g.ParamName);
        Assert.Contains("int64", g.Message);
    }

    [Fact]
    public void IntegerTargetsArePromotedNotReadAsFloatBits()
    {
        // torch promotes an integer target of an element-wise loss to the input's dtype (l1, smooth_l1, ±1 labels of the
        // margin losses); LossKit converts it the same way, for every float-valued input, instead of reading its bytes.
        manual_seed(31);
        Tensor x = randn(5, 4, dtype: float64), xf = randn(5, 4);
        Tensor ints = randint(-3, 4, [5, 4]), signs = randn(5, 4).sign().to_type(ScalarType.Int32);
        Harness.Compare(a => LF.l1_loss(a[0], a[1]), b => F.l1_loss(b[0], b[1].to_type(float64)), [x, ints], [0], 1e-12, "l1, int64 target");
        Harness.Compare(a => LF.smooth_l1_loss(a[0], a[1]), b => F.smooth_l1_loss(b[0], b[1].to_type(float32)), [xf, signs], [0], 2e-6, "smooth_l1, int32 target");
        Harness.Compare(a => LF.mse_loss(a[0], a[1]), b => F.mse_loss(b[0], b[1].to_type(float64)), [x, ints], [0], 1e-12, "mse, int64 target");
        Harness.Compare(a => LF.soft_margin_loss(a[0], a[1]), b => F.soft_margin_loss(b[0], b[1].to_type(float32)), [xf, signs], [0], 2e-6, "soft_margin, int32 ±1");
        Harness.Compare(a => LF.hinge_embedding_loss(a[0], a[1], 1.0), b => F.hinge_embedding_loss(b[0], b[1].to_type(float64), 1.0), [x, signs.to_type(ScalarType.Int64)], [0], 1e-12,
            "hinge_embedding, int64 ±1");
        Tensor bits = rand(5, 4) > 0.5;
        Harness.Compare(a => LF.binary_cross_entropy_with_logits(a[0], a[1]), b => F.binary_cross_entropy_with_logits(b[0], b[1].to_type(float32)), [xf, bits], [0], 2e-6,
            "bce_with_logits, bool target");
        Tensor boxes = tensor(new float[] { 0, 0, 4, 4, 1, 1, 3, 5 }).reshape(2, 4);
        Harness.Compare(a => losskit.ops.generalized_box_iou_loss(a[0], a[1], R.Sum), b => torchvision.ops.generalized_box_iou_loss(b[0], b[1].to_type(float32), R.Sum),
            [boxes, tensor(new int[] { 1, 0, 5, 3, 0, 2, 2, 6 }).reshape(2, 4)], [0], 2e-6, "giou, int32 target boxes");
    }

    [Fact]
    public void EmptyDenseClassInputMatchesTorch()
    {
        // A dense input with no positions (a zero-size N or d): Mean NaN, Sum 0, None an empty [N, d...], as torch gives.
        Tensor x = randn(2, 5, 0, dtype: float64).requires_grad_(), y = zeros(new long[] { 2, 0 }, dtype: int64);
        Assert.True(double.IsNaN(LF.cross_entropy(x, y).item<double>()));
        Assert.True(double.IsNaN(F.cross_entropy(x, y).item<double>()));
        Assert.Equal(0.0, LF.nll_loss(x, y, reduction: R.Sum).item<double>());
        Tensor none = LF.cross_entropy(randn(0, 5, 3, dtype: float64), zeros(new long[] { 0, 3 }, dtype: int64), reduction: R.None);
        Assert.Equal(new long[] { 0, 3 }, none.shape);
        LF.cross_entropy(x, y, reduction: R.Sum).backward();
        Assert.Equal(x.shape, x.grad!.shape);
        var e = Assert.Throws<ArgumentException>(() => LF.cross_entropy(randn(2, 5, 0), zeros(new long[] { 2, 1 }, dtype: int64)));
        Assert.Equal("target", e.ParamName);
    }

    [Fact]
    public void WeightsThatRequireGradAndOtherTorchRefusalsAreRefused()
    {
        Tensor x = randn(4, 3), y = randint(0, 3, [4]), w = rand(3).requires_grad_();
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => LF.cross_entropy(x, y, w)).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => LF.multi_margin_loss(x, y, weight: w)).ParamName);
        Assert.Equal("pos_weight", Assert.Throws<ArgumentException>(() => LF.binary_cross_entropy_with_logits(x, rand(4, 3), pos_weight: w)).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => losskit.nn.BCELoss(rand(4, 3).requires_grad_())).ParamName);
        using (no_grad())
        {
            Assert.True(LF.cross_entropy(x, y, w).dim() == 0, "inside no_grad a weight that requires grad is only data");
        }

        // Probability targets take no ignore_index (torch: "not supported for floating point target").
        var e = Assert.Throws<ArgumentException>(() => LF.cross_entropy(x, randn(4, 3).softmax(1), ignore_index: 2));
        Assert.Equal("ignore_index", e.ParamName);

        // pos_weight runs along the input's last dimension, as torch broadcasts it.
        var f = Assert.Throws<ArgumentException>(() => LF.binary_cross_entropy_with_logits(randn(6), rand(6), pos_weight: tensor(new float[] { 1, 2, 3 })));
        Assert.Equal("pos_weight", f.ParamName);
        Assert.Contains("last dimension", f.Message);
    }

    [Fact]
    public void MeanOverZeroTargetWeightIsNaNWithLabelSmoothing()
    {
        // Every target's class has weight 0: torch's mean divides both terms by 0 and gives NaN (not +∞).
        Tensor x = randn(4, 5, dtype: float64), y = tensor(new long[] { 1, 3, 3, 0 }), w = tensor(new[] { 0.0, 0, 0, 0, 1 });
        Assert.True(double.IsNaN(F.cross_entropy(x, y, w, label_smoothing: 0.1).item<double>()));
        Assert.True(double.IsNaN(LF.cross_entropy(x, y, w, label_smoothing: 0.1).item<double>()));
        Assert.True(double.IsNaN(LF.cross_entropy(x, y, w).item<double>()));
    }

    [Fact]
    public void Int64IndicesPastInt32AreOutOfRangeNotIgnored()
    {
        // int64 indices narrow to int32 saturating; an ignore_index can never be a saturated value, so 5·10⁹ is reported.
        Tensor x = randn(2, 3), y = tensor(new long[] { 5_000_000_000, 1 });
        var e = Assert.ThrowsAny<ArgumentException>(() => LF.cross_entropy(x, y, ignore_index: 2_000_000_000));
        Assert.Equal("target", e.ParamName);
        Assert.Equal("ignore_index", Assert.ThrowsAny<ArgumentException>(() => LF.cross_entropy(x, y, ignore_index: int.MaxValue)).ParamName);
    }

    [Fact]
    public void ParameterErrorsUseTheFacadesNames()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LF.cross_entropy(randn(4, 3), randint(0, 3, [4]), label_smoothing: 1.5));
        Assert.Equal("label_smoothing", e.ParamName);
        Assert.Contains("1.5", e.Message);
        var f = Assert.Throws<ArgumentOutOfRangeException>(() => LF.mse_loss(randn(3), randn(3), (R)7));
        Assert.Equal("reduction", f.ParamName);
    }

    [Fact]
    public void ModuleWeightIsABufferAndFollowsTheInputsDtype()
    {
        Tensor w = rand(3) + 0.5;
        Loss bce = losskit.nn.BCELoss(w);
        Assert.Single(bce.named_buffers());
        Tensor p = rand(4, 3, dtype: float64) * 0.9 + 0.05, t = rand(4, 3, dtype: float64);
        // A float32 weight with float64 inputs is promoted, as torch does.
        Harness.Compare(a => bce.forward(a[0], a[1]), b => F.binary_cross_entropy(b[0], b[1], w.to_type(float64).expand_as(b[0])), [p, t], [0], 1e-7, "float32 weight, float64 input");
        bce.to(float64);
        Assert.Equal(float64, bce.get_buffer("weight")!.dtype);
        Harness.Compare(a => bce.forward(a[0], a[1]), b => F.binary_cross_entropy(b[0], b[1], w.to_type(float64).expand_as(b[0])), [p, t], [0], 1e-7, "after .to(float64)");
    }

    [Fact]
    public void WeightThatDoesNotBroadcastNamesTheParameter()
    {
        var e = Assert.Throws<ArgumentException>(() => LF.binary_cross_entropy(rand(4, 3), rand(4, 3), rand(4)));
        Assert.Equal("weight", e.ParamName);
        Assert.Contains("[4]", e.Message);
        var f = Assert.Throws<ArgumentException>(() => losskit.nn.BCEWithLogitsLoss(rand(2, 4, 3)).forward(randn(4, 3), rand(4, 3)));
        Assert.Equal("weight", f.ParamName);
    }

    [Fact]
    public void ShapeMismatchNamesTheParameter()
    {
        var e = Assert.Throws<ArgumentException>(() => LF.l1_loss(randn(3, 4), randn(4, 3)));
        Assert.Equal("target", e.ParamName);
        var f = Assert.Throws<ArgumentException>(() => LF.cross_entropy(randn(3, 4), randint(0, 4, [5])));
        Assert.Equal("target", f.ParamName);
    }

    [Theory]
    [InlineData(R.None)]
    [InlineData(R.Mean)]
    [InlineData(R.Sum)]
    public void UnbatchedClassInputIsOneRow(R r)
    {
        // PyTorch's unbatched form: input [classes] with a 0-d class index, or probabilities [classes].
        manual_seed(21);
        Tensor x = randn(6, dtype: float64), y = tensor(4L), p = randn(6, dtype: float64).softmax(0), w = rand(6, dtype: float64) + 0.5;
        Harness.Compare(a => LF.cross_entropy(a[0], a[1], reduction: r), b => F.cross_entropy(b[0], b[1], reduction: r), [x, y], [0], 1e-12, $"cross_entropy unbatched {r}");
        Harness.Compare(a => LF.cross_entropy(a[0], a[1], w, reduction: r, label_smoothing: 0.1), b => F.cross_entropy(b[0], b[1], w, reduction: r, label_smoothing: 0.1),
            [x, y], [0], 1e-12, $"cross_entropy unbatched, weight, smoothing {r}");
        Harness.Compare(a => LF.cross_entropy(a[0], a[1], reduction: r), b => F.cross_entropy(b[0], b[1], reduction: r), [x, p], [0, 1], 1e-12, $"cross_entropy unbatched probabilities {r}");
        Assert.Equal(0, LF.cross_entropy(x, y, reduction: r).dim());
        var e = Assert.Throws<ArgumentException>(() => LF.cross_entropy(x, tensor(new long[] { 4 })));
        Assert.Equal("target", e.ParamName);
        var f = Assert.Throws<ArgumentException>(() => LF.cross_entropy(tensor(1.0), y));
        Assert.Equal("input", f.ParamName);
    }

    [Theory]
    [InlineData(R.None)]
    [InlineData(R.Mean)]
    [InlineData(R.Sum)]
    public void UnbatchedCosineEmbeddingIsOnePair(R r)
    {
        manual_seed(22);
        Tensor a = randn(7, dtype: float64), b = randn(7, dtype: float64);
        foreach (long y in new long[] { 1, -1 })
        {
            Harness.Compare(v => LF.cosine_embedding_loss(v[0], v[1], tensor(y), 0.2, r), w => F.cosine_embedding_loss(w[0], w[1], tensor((double)y), 0.2, r), [a, b], [0, 1], 1e-12,
                $"cosine_embedding unbatched, y = {y}, {r}");
        }

        Assert.Equal(0, LF.cosine_embedding_loss(a, b, tensor(1.0), 0.0, r).dim());
    }

    [Fact]
    public void DoubleBackwardThrowsFromTheCallersBackward()
    {
        Tensor x = randn(5, 3, dtype: float64).requires_grad_(), t = randn(5, 3, dtype: float64);
        Tensor g = torch.autograd.grad([LF.mse_loss(x, t)], [x], create_graph: true)[0];
        Harness.Close(2 * (x - t) / 15, g, 1e-12, "first derivative under create_graph");
        Harness.Close(torch.autograd.grad([LF.mse_loss(x, t)], [x])[0], g, 0, "create_graph changes no value");
        Assert.True(g.requires_grad);
        var e = Assert.ThrowsAny<System.Runtime.InteropServices.ExternalException>(() => g.sum().backward());
        Assert.Contains("nextafter", e.Message);
        Assert.Contains("'mse' has no double backward", losskit.last_backward_error);

        // Per-element upstream and a two-input loss (both inputs differentiable): the same, and the process lives on.
        Tensor a = randn(4, 3, dtype: float64).requires_grad_(), b = randn(4, 3, dtype: float64).requires_grad_();
        Tensor v = LF.cosine_embedding_loss(a, b, ones(4, dtype: float64), reduction: nn.Reduction.None);
        IList<Tensor> gs = torch.autograd.grad([v], [a, b], [full(4, 0.5, dtype: float64)], create_graph: true);
        Assert.ThrowsAny<System.Runtime.InteropServices.ExternalException>(() => (gs[0].sum() + gs[1].sum()).backward());
        Assert.Contains("'cosine_embedding' has no double backward", losskit.last_backward_error);

        // create_graph without differentiating the gradient is fine.
        Tensor y = randn(5, 3, dtype: float64).requires_grad_();
        Tensor h = torch.autograd.grad([LF.mse_loss(y, t)], [y], create_graph: true)[0];
        Harness.Close(2 * (y - t) / 15, h, 1e-12, "first derivative, create_graph, not differentiated");
    }

    [Fact]
    public void RetainGraphBackwardTwiceAccumulates()
    {
        Tensor x = randn(6, 5, dtype: float64).requires_grad_(), y = randint(0, 5, [6]);
        Tensor v = LF.cross_entropy(x, y);
        v.backward(retain_graph: true);
        v.backward();
        Tensor z = x.detach().clone().requires_grad_();
        (2 * F.cross_entropy(z, y)).backward();
        Harness.Close(z.grad!, x.grad!, 1e-12, "two backward passes");
    }

    [Theory]
    [InlineData("mse")]
    [InlineData("cross_entropy")]
    [InlineData("giou")]
    public void LeafGradTakesTheGradientWithoutACopy(string id)
    {
        // What Module.zero_grad() leaves (set_to_none): autograd may move the gradient into .grad. It does only when
        // nothing else references the tensor it is given; the bridge's leaf view makes that so, and .grad is then
        // LossKit's gradient buffer itself.
        (LossArguments args, Tensor[] inputs, _) = Inputs.For(LossRegistry.Get(id), ScalarType.Float32, 3);
        args.Set("reduction", Reduction.Mean);
        Tensor x = inputs[0].detach().clone().requires_grad_();
        Tensor[] call = [x, .. inputs[1..]];
        var losses = new LossInstances(args);
        var torchCall = new Bindings.TorchCall(args, losses.Get<float>(), call, null, null);
        LossBridge.Node(new PendingCall<float>(LossBridge.For(args.Entry.Layout), torchCall, []), torchCall).backward();
        Assert.Equal(Address(torchCall.Gradients![0]), Address(x.grad!));
        Tensor y = inputs[0].detach().clone().requires_grad_();
        new Loss(args).forward([y, .. inputs[1..]]).backward();
        Harness.Close(y.grad!, x.grad!, 0, "the gradient .grad took");

        // A defined .grad accumulates.
        new Loss(args).forward([y, .. inputs[1..]]).backward();
        Harness.Close(2 * x.grad!, y.grad!, 1e-6, "two steps accumulated");
    }

    [Fact]
    public void GradientMemoryIsReusedOnceAutogradLetsGo()
    {
        // Step after step, the bridge's gradient goes back to its pool when the last reference goes, and the next step of
        // the same size writes there; memory still referenced (a leaf's .grad) is never handed out again.
        Tensor x = randn(300, 7, dtype: float64).requires_grad_(), t = randn(300, 7, dtype: float64);
        Tensor expected = 2 * (x.detach() - t) / 2100;
        var seen = new List<long>();
        for (int step = 0; step < 4; step++)
        {
            x.grad = null;
            using (Tensor loss = LF.mse_loss(x, t))
            {
                loss.backward();
            }

            // Each read of .grad is a new TorchSharp reference to the buffer: disposed, as a training loop's would be.
            // (Harness.Close is not used here: its detach() would be one more reference, held until a collection.)
            using Tensor g = x.grad!;
            seen.Add(Address(g));
            Assert.True((g - expected).abs().max().item<double>() < 1e-17, $"step {step}");
        }

        // .grad let go of step k's buffer before step k + 1 (set to none), so every step wrote the same memory.
        Assert.Single(seen.Distinct());

        // A gradient kept beyond its step stays intact while later steps run.
        Tensor kept = x.grad!;
        Tensor copy = kept.clone();
        x.grad = null;
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            torch.autograd.grad([LF.mse_loss(x, t * 2)], [x]);
        }

        Assert.True((kept - copy).abs().max().item<double>() == 0, "a gradient still referenced");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True((kept - copy).abs().max().item<double>() == 0, "after a collection");

        losskit.empty_gradient_pool();
        Assert.Equal(0, losskit.pooled_gradient_bytes);
        kept.Dispose();
        Assert.Equal(300 * 7 * 8, losskit.pooled_gradient_bytes);
        losskit.empty_gradient_pool();
        Assert.Equal(0, losskit.pooled_gradient_bytes);
    }

    [Fact]
    public void ReducedLossIsItsOwn0dTensor_KeptIntactByLaterCalls()
    {
        // A reduced call returns a 0-d tensor over pooled memory: of the input's dtype, differentiable, and never handed
        // out again while referenced, so a loss kept for logging reads the same after later steps.
        foreach (ScalarType dtype in new[] { float32, float64 })
        {
            Tensor x = randn(50, 3, dtype: dtype).requires_grad_(), t = randn(50, 3, dtype: dtype);
            Tensor kept = LF.mse_loss(x, t);
            Assert.Equal(0, kept.dim());
            Assert.Equal(dtype, kept.dtype);
            Assert.True(kept.requires_grad);
            double expected = Item(F.mse_loss(x.detach(), t));
            Assert.Equal(expected, Item(kept), dtype == float32 ? 5 : 14);
            for (int step = 0; step < 4; step++)
            {
                using var scope = NewDisposeScope();
                Tensor later = LF.mse_loss(x, t * (step + 2));
                Assert.Equal(Item(F.mse_loss(x.detach(), t * (step + 2))), Item(later), dtype == float32 ? 4 : 12);
                later.backward();
            }

            Assert.Equal(expected, Item(kept), dtype == float32 ? 5 : 14);
            kept.backward();
            x.grad = null;

            // Once the last reference goes, its block is pooled like a gradient's (8 or 4 bytes).
            GC.Collect();
            GC.WaitForPendingFinalizers();
            losskit.empty_gradient_pool();
            kept.Dispose();
            Assert.Equal(dtype == float32 ? 4 : 8, losskit.pooled_gradient_bytes);
            losskit.empty_gradient_pool();
        }

        static double Item(Tensor v) => v.to_type(float64).item<double>();
    }

    [Fact]
    public void RetainedGraphAfterTheOptimizerChangedGrad()
    {
        // .grad holds LossKit's buffer after the first backward; TorchSharp's optimizer zeroes it in place (zero_grad)
        // and gradient clipping scales it in place. A second backward through the retained graph must not read it.
        Tensor x = randn(7, 4, dtype: float64).requires_grad_(), t = randn(7, 4, dtype: float64);
        Tensor expected = 2 * (x.detach() - t) / 28;
        Tensor v = LF.mse_loss(x, t);
        v.backward(retain_graph: true);
        x.grad!.zero_();
        v.backward(retain_graph: true);
        Harness.Close(expected, x.grad!, 1e-15, "backward after zero_grad");
        x.grad!.mul_(0.5);
        v.backward(retain_graph: true);
        Harness.Close(1.5 * expected, x.grad!, 1e-15, "backward after clipping by 0.5");
        (v * 2).backward();
        Harness.Close(3.5 * expected, x.grad!, 1e-15, "a scaled upstream after the given gradient");
    }

    [Fact]
    public void Sizes_AreTorchSharpsShape()
    {
        long[][] shapes = [[], [0], [7], [3, 0], [2, 3], [2, 3, 4], [1, 1, 1, 5, 1], [65537, 2]];
        foreach (long[] shape in shapes)
        {
            using Tensor t = empty(shape);
            Assert.Equal(t.shape, TensorArgs.Sizes(t));
            Assert.Equal("[" + string.Join(", ", t.shape) + "]", TensorArgs.Shape(t));
            foreach (long[] other in shapes)
            {
                using Tensor u = empty(other);
                Assert.Equal(t.shape.AsSpan().SequenceEqual(u.shape), TensorArgs.SameSizes(t, u));
            }
        }

        // A view's own sizes, not its storage's.
        using Tensor big = empty(4, 6);
        using Tensor slice = big.narrow(1, 1, 3).t();
        Assert.Equal([3L, 4L], TensorArgs.Sizes(slice));
    }

    [Fact]
    public void Int64ClassIndicesSaturateIntoTheIndexCheck()
    {
        var rng = new Random(5);
        long[] edges = [0, 1, -1, int.MaxValue, int.MinValue, (long)int.MaxValue + 1, (long)int.MinValue - 1, long.MaxValue, long.MinValue, 1L << 32, (1L << 32) + 3];
        // Lengths under one chunk (vector body and tail), and chunked ones run on the worker threads (8192 per chunk).
        foreach (int n in Enumerable.Range(0, 68).Concat([8192, 16384, 2 * 8192 + 13, 40000]))
        {
            long[] src = [.. Enumerable.Range(0, n).Select(i => (i % 8192) < edges.Length && n % 2 == 0 ? edges[i % 8192] : rng.NextInt64(long.MinValue, long.MaxValue) >> rng.Next(0, 63))];
            int[] dst = new int[n + 1];
            dst[n] = 12345;
            TensorArgs.Narrow(src, dst.AsSpan(0, n));
            for (int i = 0; i < n; i++)
            {
                Assert.Equal((int)Math.Clamp(src[i], int.MinValue, int.MaxValue), dst[i]);
            }

            Assert.Equal(12345, dst[n]);
        }

        // 2^32 + 1 would wrap to the valid class 1; saturated, it is out of range and named.
        Tensor target = tensor(new long[] { 0, (1L << 32) + 1, 2 });
        var e = Assert.ThrowsAny<ArgumentException>(() => LF.cross_entropy(randn(3, 4), target));
        Assert.Equal("target", e.ParamName);
    }

    private static unsafe long Address(Tensor t) => (long)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(t.bytes));

    [Fact]
    public void SpecModuleAndThreads()
    {
        var loss = new Loss("smooth_l1 beta=0.5 reduction=sum");
        Tensor[] xs = [.. Enumerable.Range(0, 8).Select(i => randn(1000, dtype: float64))];
        Tensor t = randn(1000, dtype: float64);
        double[] serial = [.. xs.Select(x => loss.forward(x, t).item<double>())];
        double[] parallel = new double[xs.Length];
        Parallel.For(0, xs.Length, i => parallel[i] = loss.forward(xs[i], t).item<double>());
        Assert.Equal(serial, parallel);
        Assert.Equal(F.smooth_l1_loss(xs[0], t, torch.nn.Reduction.Sum, 0.5).item<double>(), serial[0], 10);
    }

    [Fact]
    public void EveryRegistryEntryHasAFacade()
    {
        foreach (LossEntry e in LossRegistry.Entries)
        {
            Assert.True(TorchNames.ById.TryGetValue(e.Id, out var names), $"registry entry '{e.Id}' has no row in TorchNames");
            string[] parts = names.Functional.Split('.');
            Type holder = typeof(losskit).GetNestedType(parts[0])!;
            Assert.True(holder?.GetMethod(parts[1]) is not null, $"{e.Id}: losskit.{names.Functional} is missing");
            Assert.True(typeof(losskit.nn).GetMethod(names.Module) is not null, $"{e.Id}: losskit.nn.{names.Module} is missing");
        }
    }

    [Fact]
    public void CriteriaTakePerImageTensors()
    {
        (LossArguments args, Tensor[] inputs, _) = Inputs.For(LossRegistry.Get("retinanet"), ScalarType.Float32, 1);
        Tensor batched = new Loss(args).forward(inputs);
        Tensor[] boxes = [inputs[3][..2], inputs[3][2..]];
        Tensor[] labels = [inputs[4][..2], inputs[4][2..]];
        Tensor perImage = losskit.criteria.retinanet_loss(inputs[0], inputs[1], inputs[2], boxes, labels);
        Assert.Equal(batched.item<float>(), perImage.item<float>());
        Tensor viaModule = losskit.nn.RetinaNetLoss().forward_images([inputs[0], inputs[1], inputs[2]], boxes, labels);
        Assert.Equal(batched.item<float>(), viaModule.item<float>());
    }

    [Fact]
    public void CriteriaEdgesGiveClearAnswers()
    {
        (LossArguments args, Tensor[] inputs, _) = Inputs.For(LossRegistry.Get("retinanet"), ScalarType.Float32, 1);
        Tensor[] boxes = [inputs[3][..2], inputs[3][2..]];
        Tensor[] labels = [inputs[4][..2], inputs[4][2..]];

        // Nulls: ArgumentNullException naming the list or the image.
        Assert.Equal("gt_boxes", Assert.Throws<ArgumentNullException>(() => losskit.criteria.retinanet_loss(inputs[0], inputs[1], inputs[2], null!, labels)).ParamName);
        Assert.Equal("gt_labels", Assert.Throws<ArgumentNullException>(() => losskit.criteria.retinanet_loss(inputs[0], inputs[1], inputs[2], boxes, [labels[0], null!])).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentNullException>(() => losskit.apply("smooth_l1", (Tensor[])null!)).ParamName);

        // Class indices as floats or bools are refused, as torch refuses them.
        var e = Assert.Throws<ArgumentException>(() => losskit.criteria.retinanet_loss(inputs[0], inputs[1], inputs[2], boxes, [.. labels.Select(l => l.to_type(ScalarType.Float32))]));
        Assert.Equal("gt_labels", e.ParamName);
        Assert.Contains("class indices", e.Message);

        // No images at all: both terms 0 (docs/CRITERIA.md), no dtype or shape error.
        Tensor none = losskit.criteria.retinanet_loss(inputs[0][..0], inputs[1][..0], inputs[2], [], []);
        Assert.Equal(0f, none.item<float>());
    }

    [Fact]
    public void AvgFactorInASpecIsHonoured()
    {
        Tensor b1 = tensor(new float[] { 0, 0, 2, 2 }).reshape(1, 4), b2 = tensor(new float[] { 0, 0, 1, 1 }).reshape(1, 4);
        float perCall = losskit.ops.iou_loss(b1, b2, reduction: R.Mean, avg_factor: 2).item<float>();
        Assert.Equal(perCall, new Loss("iou reduction=mean avg_factor=2").forward(b1, b2).item<float>());
        Assert.NotEqual(perCall, new Loss("iou reduction=mean").forward(b1, b2).item<float>());
        // Its checks name it as the spec does.
        Assert.Equal("avg_factor", Assert.ThrowsAny<ArgumentException>(() => new Loss("smooth_l1 avg_factor=2 reduction=sum").forward(randn(3), randn(3))).ParamName);
        Assert.Equal("avg_factor", Assert.ThrowsAny<ArgumentException>(() => losskit.ops.iou_loss(b1, b2, reduction: R.Mean, avg_factor: -1)).ParamName);
    }

    [Fact]
    public void AngularMarginTakesItsFallbackAndGradientChoices()
    {
        // m1 ≠ 1 has no threshold fallback: the facade now takes the registry's fallback (and gradient) choices.
        manual_seed(23);
        Tensor cos = rand(6, 5, dtype: float64) * 1.8 - 0.9, y = randint(0, 5, [6]);
        double viaFacade = LF.angular_margin_loss(cos, y, 64, m1: 2, m2: 0.2, m3: 0.1, fallback: "monotonic").item<double>();
        double viaSpec = new Loss("angular_margin m1=2 m2=0.2 m3=0.1 fallback=monotonic").forward(cos, y).item<double>();
        Assert.Equal(viaSpec, viaFacade);
        Assert.Equal("fallback", Assert.ThrowsAny<ArgumentException>(() => LF.angular_margin_loss(cos, y, 64, m1: 2)).ParamName);
        Assert.Equal(viaSpec, losskit.nn.AngularMarginLoss(64, 2, 0.2, 0.1, fallback: "monotonic").forward(cos, y).item<double>());
    }

    [Fact]
    public void RpnModuleSamplesAfreshEachCall()
    {
        // 1,200 anchors, 256 sampled per image: which ones depends on the seed. The module's call k uses seed + k.
        manual_seed(24);
        Tensor xy = rand(1200, 2, dtype: float64) * 80, anchors = cat([xy, xy + rand(1200, 2, dtype: float64) * 30 + 4], 1);
        Tensor objectness = randn(1200, dtype: float64), deltas = randn(1200, 4, dtype: float64) * 0.1;
        Tensor[] gt = [tensor(new double[] { 10, 10, 40, 40, 50, 20, 90, 70 }).reshape(2, 4)];
        double Functional(int seed) => losskit.criteria.faster_rcnn_rpn_loss(objectness, deltas, anchors, gt, seed: seed).item<double>();
        Assert.NotEqual(Functional(5), Functional(6));

        Loss module = losskit.nn.FasterRcnnRpnLoss(seed: 5);
        double first = module.forward_images([objectness, deltas, anchors], gt).item<double>();
        double second = module.forward_images([objectness, deltas, anchors], gt).item<double>();
        Assert.Equal(Functional(5), first);
        Assert.Equal(Functional(6), second);
        Assert.Equal(first, losskit.nn.FasterRcnnRpnLoss(seed: 5).forward_images([objectness, deltas, anchors], gt).item<double>());
    }

    [Fact]
    public void BackwardAfterTheLossLeftItsDisposeScope()
    {
        // A loss made inside a DisposeScope and moved out of it, backwarded after the scope disposed what was made in it
        // (the prediction, LossKit's gradient and per-value tensors): the node keeps its own handles.
        Tensor x = randn(8, 4, dtype: float64).requires_grad_(), t = randn(8, 4, dtype: float64), y = randint(0, 4, [8]);
        Tensor reference;
        var cases = new (string Name, Func<Tensor> Loss, Func<Tensor> Theirs)[]
        {
            ("mse, non-leaf", () => LF.mse_loss(x * 2, t), () => F.mse_loss(x * 2, t)),
            ("mse, leaf", () => LF.mse_loss(x, t), () => F.mse_loss(x, t)),
            ("cross_entropy Sum", () => LF.cross_entropy(x * 2, y, reduction: R.Sum), () => F.cross_entropy(x * 2, y, reduction: R.Sum)),
            ("huber None", () => (LF.huber_loss(x * 2, t, R.None) * arange(4, dtype: float64)).sum(), () => (F.huber_loss(x * 2, t, 1.0, R.None) * arange(4, dtype: float64)).sum()),
            ("mse, target requires grad", () => LF.mse_loss(x, t.requires_grad_(false) * 1 + 0 * x), () => F.mse_loss(x, t * 1 + 0 * x)),
            ("bce_with_logits, weight broadcast", () => LF.binary_cross_entropy_with_logits(x * 2, t.sigmoid(), arange(1, 5, dtype: float64)),
                () => F.binary_cross_entropy_with_logits(x * 2, t.sigmoid(), arange(1, 5, dtype: float64).expand(8, 4))),
        };
        foreach (var c in cases)
        {
            x.grad = null;
            Tensor loss;
            using (NewDisposeScope())
            {
                loss = c.Loss().MoveToOuterDisposeScope();
            }

            loss.backward(retain_graph: true);
            loss.backward();
            Tensor mine = x.grad!.clone();
            x.grad = null;
            c.Theirs().backward();
            reference = 2 * x.grad!;
            Harness.Close(reference, mine, 1e-12, c.Name);
            Assert.Null(losskit.last_backward_error is { } m && m.Contains("failed") ? m : null);
        }
    }
}
