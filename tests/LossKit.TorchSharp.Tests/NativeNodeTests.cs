using LossKit.Registry;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using LF = LossKit.TorchSharp.losskit.functional;

namespace LossKit.TorchSharp.Tests;

/// <summary>
/// The bridge's autograd node, made from LibTorchSharp's custom-node entry points (<see cref="NativeNode"/>): the same
/// values and gradients as through TorchSharp's <c>autograd.Function</c>, nodes deleted when their graph goes, the
/// callbacks' slots reused, failures in forward leaving nothing behind, an undefined upstream taken as zeros.
/// </summary>
public class NativeNodeTests
{
    public static TheoryData<string> AllIds() => Inputs.Ids();

    [Theory]
    [MemberData(nameof(AllIds))]
    public void TorchSharpsFunctionGivesTheSameBits(string id)
    {
        LossEntry entry = LossRegistry.Get(id);
        (LossArguments args, Tensor[] inputs, _) = Inputs.For(entry, ScalarType.Float64, seed: 5);
        var loss = new Loss(args);
        int[] diff = [.. entry.Layout.Inputs.Select((s, i) => (s, i)).Where(p => p.s.Differentiable).Select(p => p.i)];

        (Tensor Value, Tensor[] Grads) Run(bool torchSharpFunction)
        {
            NativeNode.UseTorchSharpFunction = torchSharpFunction;
            try
            {
                Tensor[] leaves = Harness.Leaves(inputs, diff);
                Tensor value = loss.forward(leaves);
                Assert.True(value.requires_grad, $"{id}: the output is in the graph");
                // A per-value output gets a non-uniform upstream: the node's broadcast path, not only the scalar one.
                Tensor scalar = value.dim() == 0 ? value * 1.5 : (value * Inputs.Weights(value)).sum();
                scalar.backward();
                return (value.detach(), [.. diff.Select(i => leaves[i].grad!)]);
            }
            finally
            {
                NativeNode.UseTorchSharpFunction = false;
            }
        }

        int slots = NativeNode.SlotCount;
        (Tensor v1, Tensor[] g1) = Run(torchSharpFunction: true);
        Assert.Equal(slots, NativeNode.SlotCount);
        (Tensor v2, Tensor[] g2) = Run(torchSharpFunction: false);
        Assert.True(NativeNode.SlotCount >= 1, "the native node was used");
        Harness.Close(v1, v2, 0, $"{id}: value");
        for (int k = 0; k < diff.Length; k++)
        {
            Assert.NotNull(g2[k]);
            Harness.Close(g1[k], g2[k], 0, $"{id}: gradient of {entry.Layout.Inputs[diff[k]].Name}");
        }
    }

    [Fact]
    public void UsedOnlyWithTheCheckedTorchSharp()
    {
        Assert.Equal($"0.{NativeNode.VerifiedMinor}.0", typeof(torch).Assembly.GetName().Version!.ToString(3));
        Assert.True(NativeNode.Available);
        Assert.True(NativeNode.IsVerified(new Version(0, NativeNode.VerifiedMinor, 3)));
        Assert.False(NativeNode.IsVerified(new Version(0, NativeNode.VerifiedMinor + 1, 0)));
        Assert.False(NativeNode.IsVerified(new Version(1, NativeNode.VerifiedMinor, 0)));
        Assert.False(NativeNode.IsVerified(null));
    }

    [Fact]
    public void NodesGoWithTheirGraphAndSlotsAreReused()
    {
        Tensor x = randn(50, 3, dtype: float64).requires_grad_(), t = randn(50, 3, dtype: float64);
        Tensor expected = 2 * (x.detach() - t) / 150;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int live = NativeNode.LiveNodes, slots = NativeNode.SlotCount;
        for (int step = 0; step < 20; step++)
        {
            x.grad = null;
            using Tensor loss = LF.mse_loss(x, t);
            Assert.Equal(live + 1, NativeNode.LiveNodes);
            loss.backward();
            Harness.Close(expected, x.grad!, 1e-17, $"step {step}");
        }

        // Each step's node went with its output, and the next step's node took its slot.
        Assert.Equal(live, NativeNode.LiveNodes);
        Assert.True(NativeNode.SlotCount <= slots + 1, $"{NativeNode.SlotCount} slots after 20 steps, {slots} before");

        // A graph dropped without a backward, and one kept while the next is built.
        using (Tensor unused = LF.mse_loss(x, t))
        {
            using Tensor second = LF.l1_loss(x, t);
            Assert.Equal(live + 2, NativeNode.LiveNodes);
        }

        Assert.Equal(live, NativeNode.LiveNodes);
    }

    [Fact]
    public void NodesOfOutputsLeftToTheCollectorGoOnTheFinalizerThread()
    {
        Tensor x = randn(30, dtype: float64).requires_grad_(), t = randn(30, dtype: float64);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int live = NativeNode.LiveNodes;
        MakeGraphs(x, t, 50);
        Assert.True(NativeNode.LiveNodes > live, "the graphs are alive until a collection");
        for (int i = 0; i < 3 && NativeNode.LiveNodes > live; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.Equal(live, NativeNode.LiveNodes);

        // The slots freed there serve the next nodes.
        int slots = NativeNode.SlotCount;
        MakeGraphs(x, t, 20);
        Assert.Equal(slots, NativeNode.SlotCount);
    }

    // Outputs not disposed and not referenced after return: only their finalizers release the nodes.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MakeGraphs(Tensor x, Tensor t, int count)
    {
        for (int i = 0; i < count; i++)
        {
            _ = LF.smooth_l1_loss(x, t);
        }
    }

    [Fact]
    public void AFailingForwardLeavesNoNode()
    {
        Tensor x = randn(4, 3, dtype: float64).requires_grad_();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int live = NativeNode.LiveNodes;
        var e = Assert.ThrowsAny<ArgumentException>(() => LF.cross_entropy(x, tensor(new long[] { 0, 1, 3, 2 })));
        Assert.Contains("3", e.Message);
        Assert.Equal(live, NativeNode.LiveNodes);
        Assert.Null(x.grad);

        // The next call is unaffected.
        Tensor y = tensor(new long[] { 0, 1, 2, 2 });
        LF.cross_entropy(x, y).backward();
        Tensor z = x.detach().clone().requires_grad_();
        F.cross_entropy(z, y).backward();
        Harness.Close(z.grad!, x.grad!, 1e-15, "after the failed call");
    }

    [Fact]
    public void AnUndefinedUpstreamIsZero()
    {
        // DropGradient's backward gives no gradient for the loss, so autograd reaches the bridge's node with an undefined
        // upstream; x's gradient is then the other term's alone (ones), as through TorchSharp's own Function.
        foreach (bool torchSharpFunction in new[] { false, true })
        {
            NativeNode.UseTorchSharpFunction = torchSharpFunction;
            try
            {
                Tensor x = randn(5, 2, dtype: float64).requires_grad_(), t = randn(5, 2, dtype: float64);
                Tensor total = DropGradient.apply(LF.mse_loss(x, t)) + x.sum();
                total.backward();
                Harness.Close(ones(5, 2, dtype: float64), x.grad!, 0, $"x.grad (TorchSharp's Function: {torchSharpFunction})");
            }
            finally
            {
                NativeNode.UseTorchSharpFunction = false;
            }
        }
    }

    [Fact]
    public void ManyThreadsAtOnce()
    {
        var loss = new Loss("cross_entropy label_smoothing=0.1");
        Tensor[] xs = [.. Enumerable.Range(0, 16).Select(i => randn(40, 7, dtype: float64))];
        Tensor y = randint(0, 7, [40]);
        Tensor[] expected = [.. xs.Select(x =>
        {
            Tensor z = x.clone().requires_grad_();
            F.cross_entropy(z, y, label_smoothing: 0.1).backward();
            return z.grad!;
        })];
        var got = new Tensor[xs.Length];
        Parallel.For(0, xs.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            for (int r = 0; r < 10; r++)
            {
                Tensor z = xs[i].clone().requires_grad_();
                using Tensor v = loss.forward(z, y);
                got[i] = torch.autograd.grad([v], [z])[0];
            }
        });
        for (int i = 0; i < xs.Length; i++)
        {
            Harness.Close(expected[i], got[i], 1e-15, $"call {i}");
        }
    }

    /// <summary>Identity forward whose backward returns no gradient (an undefined tensor) for its input.</summary>
    private sealed class DropGradient : autograd.SingleTensorFunction<DropGradient>
    {
        public override string Name => "DropGradient";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).clone();

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [null!];
    }
}
