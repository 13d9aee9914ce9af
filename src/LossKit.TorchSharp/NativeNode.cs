using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LossKit.TorchSharp;

/// <summary>
/// The autograd node of a bridge call, made directly from LibTorchSharp's custom-node entry points: the ones TorchSharp's
/// <c>autograd.Function</c> is built on, without what that class adds per call and a loss does not use (a managed node
/// object with a finalizer, two delegates marshalled anew for every node, a context with its lists and dictionary, pinned
/// arrays, an empty tensor cached per output, a global list of live nodes). A node calls back into managed code through
/// a <see cref="Slot"/>'s two delegates, which are marshalled once and reused by the next node once libtorch has deleted
/// this one. The entry points are LibTorchSharp's internals, not TorchSharp's public API: they are used only with the
/// TorchSharp versions whose native signatures were checked (<see cref="VerifiedMinor"/>); any other version, or a native
/// library that lacks them, gets <see cref="LossKitFunction"/> (TorchSharp's public custom-function API) instead.
/// </summary>
internal static unsafe class NativeNode
{
    /// <summary>TorchSharp 0.&lt;minor&gt; versions whose LibTorchSharp node entry points were checked against this code.</summary>
    internal const int VerifiedMinor = 107;

    private static int s_unavailable = IsVerified(typeof(torch).Assembly.GetName().Version) ? 0 : 1;

    /// <summary>Whether calls use the native node (false: TorchSharp's <c>autograd.Function</c>).</summary>
    internal static bool Available => !UseTorchSharpFunction && Volatile.Read(ref s_unavailable) == 0;

    /// <summary>Whether <paramref name="torchSharp"/> (TorchSharp's assembly version) is one this code was checked with.</summary>
    internal static bool IsVerified(Version? torchSharp) => torchSharp is { Major: 0, Minor: VerifiedMinor };

    // Slots whose node libtorch has deleted. Every slot ever made is also in All: a live node calls its slot's delegates,
    // which must outlive it, and a slot is reused rather than collected.
    private static readonly ConcurrentStack<Slot> Free = new();
    private static readonly List<Slot> All = [];

    /// <summary>Whether calls go through TorchSharp's <c>autograd.Function</c> instead (for tests of that path).</summary>
    internal static bool UseTorchSharpFunction { get; set; }

    /// <summary>Slots made so far: one per node alive at once, at the most.</summary>
    internal static int SlotCount
    {
        get
        {
            lock (All)
            {
                return All.Count;
            }
        }
    }

    /// <summary>Slots whose node is alive now.</summary>
    internal static int LiveNodes => SlotCount - Free.Count;

    /// <summary>
    /// Runs <paramref name="pending"/>'s forward inside a new node whose inputs are <paramref name="inputs"/>, and returns
    /// its output with the node as its grad_fn.
    /// </summary>
    public static Tensor Apply(PendingCall pending, Tensor[] inputs)
    {
        if (!Available)
        {
            return LossKitFunction.apply([pending, .. inputs]);
        }

        Slot slot = Rent();
        NodePtr node;
        try
        {
            node = THSAutograd_CSharpNode_ctor(slot.ApplyPointer, slot.DeletePointer);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Free.Push(slot);
            Volatile.Write(ref s_unavailable, 1);
            return LossKitFunction.apply([pending, .. inputs]);
        }

        if (node.Shared == 0)
        {
            Free.Push(slot);
            torch.CheckForErrors();
            throw new InvalidOperationException("LibTorchSharp made no autograd node");
        }

        slot.Node = node;
        slot.Pending = pending;
        // From here the node owns the slot: dropping the shared pointer on any failure deletes the node, and its deleter
        // returns the slot.
        try
        {
            Span<nint> handles = inputs.Length <= 8 ? stackalloc nint[inputs.Length] : new nint[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                handles[i] = inputs[i].Handle;
            }

            fixed (nint* h = handles)
            {
                var vars = new ArrayWithSize(h, inputs.Length);
                THSAutograd_CSharpNode_setNextEdges(node, vars, true);
                torch.CheckForErrors();
                THSAutograd_CSharpNode_clearInputMetadata(node);
                torch.CheckForErrors();

                Tensor output;
                using (torch.no_grad())
                {
                    output = pending.Forward();
                }

                nint o = output.Handle;
                nint* wrapped = Results();
                wrapped[0] = 0;
                THSAutograd_Function_wrapOutputs(vars, default, default, new ArrayWithSize(&o, 1), node, &AllocateResult);
                torch.CheckForErrors();
                if (wrapped[0] == 0)
                {
                    throw new InvalidOperationException("LibTorchSharp's wrapOutputs returned no tensor");
                }

                if (!pending.Keeps(output))
                {
                    output.Dispose();
                }

                return Tensor.UnsafeCreateTensor(wrapped[0]);
            }
        }
        finally
        {
            // The output's grad_fn holds the node now (or nothing does, after a failure: then it is deleted here).
            THSAutograd_CSharpNode_disposeSharedPtr(node);
        }
    }

    private static Slot Rent()
    {
        if (Free.TryPop(out Slot? slot))
        {
            return slot;
        }

        slot = new Slot();
        lock (All)
        {
            All.Add(slot);
        }

        return slot;
    }

    // wrapOutputs' result array: libtorch asks for one element per output (one here) and fills it.
    [ThreadStatic]
    private static nint* t_results;

    private const int ResultCapacity = 16;

    private static nint* Results() =>
        t_results != null ? t_results : t_results = (nint*)NativeMemory.AllocZeroed(ResultCapacity, (nuint)sizeof(nint));

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static nint* AllocateResult(nuint length) => length <= ResultCapacity ? Results() : null;

    /// <summary>One node's managed side: the call it runs and the two callbacks libtorch holds.</summary>
    private sealed class Slot
    {
        private readonly ApplyCallback _apply;
        private readonly DeleteCallback _delete;

        // The gradients returned by the last backward, as handles: libtorch copies them after the callback returns.
        private nint* _returned;
        private int _capacity;

        public Slot()
        {
            _apply = OnApply;
            _delete = OnDelete;
            ApplyPointer = Marshal.GetFunctionPointerForDelegate(_apply);
            DeletePointer = Marshal.GetFunctionPointerForDelegate(_delete);
        }

        public nint ApplyPointer { get; }

        public nint DeletePointer { get; }

        public NodePtr Node;

        public PendingCall? Pending;

        /// <summary>The node's backward: the upstream gradients in, one gradient per input out.</summary>
        private ArrayWithSize OnApply(nint* upstream, int count)
        {
            List<Tensor> result;
            Tensor? up = null;
            try
            {
                up = count > 0 && upstream[0] != 0 ? Tensor.UnsafeCreateTensor(upstream[0]) : null;
                for (int i = 1; i < count; i++)
                {
                    if (upstream[i] != 0)
                    {
                        THSTensor_dispose(upstream[i]);
                    }
                }

                PendingCall pending = Pending!;
                result = pending.Backward(up ?? pending.ZeroUpstream());
            }
            catch (Exception e)
            {
                // Nothing may be thrown into libtorch's engine; PendingCall.Backward reports its own failures, so this is
                // a failure around it: the engine then sees no gradients and raises its own error to the caller.
                LossBridge.ReportBackwardError($"LossKit's backward callback failed: {e.GetType().Name}: {e.Message}");
                return default;
            }
            finally
            {
                up?.Dispose();
            }

            // result[0] belongs to the call object of TorchSharp's Function; this node's inputs are the tensors only.
            int n = result.Count - 1;
            if (n > _capacity)
            {
                NativeMemory.Free(_returned);
                _returned = (nint*)NativeMemory.Alloc((nuint)n, (nuint)sizeof(nint));
                _capacity = n;
            }

            try
            {
                for (int i = 0; i < n; i++)
                {
                    _returned[i] = result[i + 1]?.Handle ?? 0;
                }
            }
            catch (Exception e)
            {
                // A returned tensor whose wrapper was disposed: nothing may be thrown into libtorch's engine, which then
                // sees no gradients and raises its own error to the caller.
                LossBridge.ReportBackwardError($"LossKit's backward callback failed: {e.GetType().Name}: {e.Message}");
                return default;
            }

            // libtorch takes its own references after this returns: the wrappers live until this thread's next call.
            PendingCall.HandOver(result);
            return new ArrayWithSize(_returned, n);
        }

        /// <summary>libtorch deleted the node: the slot is free for the next one.</summary>
        private void OnDelete()
        {
            try
            {
                THSAutograd_CSharpNode_disposeWeakPtr(Node);
            }
            catch
            {
                // The deleter runs inside libtorch; nothing may escape it.
            }

            Node = default;
            Pending?.ReleaseLater();
            Pending = null;
            Free.Push(this);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct ArrayWithSize(nint* array, long size)
    {
        public readonly nint* Array = array;
        public readonly long Size = size;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NodePtr
    {
        public nint Shared;
        public nint Weak;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate ArrayWithSize ApplyCallback(nint* upstream, int count);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void DeleteCallback();

    [DllImport("LibTorchSharp")]
    private static extern NodePtr THSAutograd_CSharpNode_ctor(nint apply, nint delete);

    [DllImport("LibTorchSharp")]
    private static extern void THSAutograd_CSharpNode_disposeSharedPtr(NodePtr node);

    [DllImport("LibTorchSharp")]
    private static extern void THSAutograd_CSharpNode_disposeWeakPtr(NodePtr node);

    [DllImport("LibTorchSharp")]
    private static extern void THSAutograd_CSharpNode_setNextEdges(NodePtr node, ArrayWithSize vars, [MarshalAs(UnmanagedType.U1)] bool executable);

    [DllImport("LibTorchSharp")]
    private static extern void THSAutograd_CSharpNode_clearInputMetadata(NodePtr node);

    [DllImport("LibTorchSharp")]
    private static extern void THSAutograd_Function_wrapOutputs(ArrayWithSize vars, ArrayWithSize nonDifferentiable, ArrayWithSize dirty,
        ArrayWithSize outputs, NodePtr node, delegate* unmanaged[Cdecl]<nuint, nint*> allocator);

    [DllImport("LibTorchSharp")]
    private static extern void THSTensor_dispose(nint tensor);
}
