using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using LossKit.Classification;
using LossKit.Detection;
using LossKit.Internal;
using LossKit.Regression;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Internal;

/// <summary>
/// Non-temporal gradient stores (<see cref="LossKitSettings.NonTemporalStoreBytes"/>): which gradients stream (large,
/// 64-byte aligned, on x86), and that streaming changes nothing but the store instruction: the value and every
/// gradient bit are those of ordinary stores, no element past the gradient is written, on one thread or two, through
/// each of the driver's loops (Vector&lt;T&gt; blocks, the staged 512-bit blocks of BCE-with-logits and sigmoid focal,
/// and the scalar tail). CI runs this at each SIMD width.
/// </summary>
[Collection(GlobalSettingsCollection.Name)]
public unsafe class NonTemporalStoreTests
{
    /// <summary>A pinned array and the index of its first 64-byte aligned element (<paramref name="shift"/> elements on).</summary>
    private sealed class Aligned<T> : IDisposable
        where T : unmanaged
    {
        private readonly T[] _array;
        private GCHandle _handle;

        public Aligned(int length, int shift)
        {
            _array = GC.AllocateArray<T>(length + 64 / sizeof(T) + shift, pinned: true);
            _handle = GCHandle.Alloc(_array, GCHandleType.Pinned);
            long address = _handle.AddrOfPinnedObject();
            Start = (int)((64 - address % 64) % 64) / sizeof(T) + shift;
            Length = length;
        }

        public int Start { get; }

        public int Length { get; }

        public T[] Array => _array;

        public Span<T> Span => _array.AsSpan(Start, Length);

        public void* Pointer => (byte*)_handle.AddrOfPinnedObject() + (Start * sizeof(T));

        public void Dispose() => _handle.Free();
    }

    [Fact]
    public void OnlyLargeAlignedGradientsStream()
    {
        long original = LossKitSettings.NonTemporalStoreBytes;
        try
        {
            Assert.Equal(8L << 20, original);
            using var aligned = new Aligned<float>(16, 0);
            using var shifted = new Aligned<float>(16, 1);
            LossKitSettings.NonTemporalStoreBytes = 1000;
            Assert.Equal(Sse.IsSupported, Pointwise.Streams(aligned.Pointer, 1000));
            Assert.False(Pointwise.Streams(aligned.Pointer, 999));
            Assert.False(Pointwise.Streams(shifted.Pointer, 1 << 30));
            LossKitSettings.NonTemporalStoreBytes = 0;
            Assert.Equal(Sse.IsSupported, Pointwise.Streams(aligned.Pointer, 0));
            LossKitSettings.NonTemporalStoreBytes = long.MaxValue;
            Assert.False(Pointwise.Streams(aligned.Pointer, long.MaxValue - 1));
            LossChecks.Throws<ArgumentOutOfRangeException>("value", () => LossKitSettings.NonTemporalStoreBytes = -1, "NonTemporalStoreBytes must be >= 0, got -1.");
        }
        finally
        {
            LossKitSettings.NonTemporalStoreBytes = original;
        }
    }

    public static TheoryData<int> Lengths => new([1, 100, 16_389, 70_001, 200_003]);

    [Theory]
    [MemberData(nameof(Lengths))]
    public void StreamedGradients_AreTheSameBits(int n)
    {
        Check<float>(n, new MseLoss<float>());
        Check<double>(n, new MseLoss<double>());
        Check<float>(n, new L1Loss<float>(Reduction.Sum));
        Check<double>(n, new SmoothL1Loss<double>(Reduction.Mean, 0.5));
        Check<float>(n, new BinaryCrossEntropyWithLogitsLoss<float>());
        Check<double>(n, new BinaryCrossEntropyWithLogitsLoss<double>());
        Check<float>(n, new SigmoidFocalLoss<float>(Reduction.Sum));
    }

    private static void Check<T>(int n, ElementwiseLoss<T> loss)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(n);
        T[] x = [.. Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() * 8 - 4))];
        T[] t = [.. Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() < 0.3 ? 1.0 : 0.0))];
        long originalBytes = LossKitSettings.NonTemporalStoreBytes;
        int originalThreads = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                LossKitSettings.MaxDegreeOfParallelism = threads;
                using var ordinary = new Aligned<T>(n, 0);
                using var streamed = new Aligned<T>(n, 0);
                Array.Fill(streamed.Array, T.NaN);
                LossKitSettings.NonTemporalStoreBytes = long.MaxValue;
                T expected = loss.ForwardBackward(x, t, ordinary.Span);
                LossKitSettings.NonTemporalStoreBytes = 0;
                Assert.Equal(Sse.IsSupported, Pointwise.Streams(streamed.Pointer, (long)n * sizeof(T)));
                T value = loss.ForwardBackward(x, t, streamed.Span);

                string what = $"{loss.GetType().Name} n = {n}, {threads} thread(s)";
                Assert.True(value.Equals(expected), $"{what}: value {value} vs {expected}");
                T[] a = ordinary.Span.ToArray(), b = streamed.Span.ToArray();
                for (int i = 0; i < n; i++)
                {
                    Assert.True(a[i].Equals(b[i]) && !T.IsNaN(b[i]), $"{what}: gradient[{i}] {b[i]} vs {a[i]}");
                }

                for (int i = 0; i < streamed.Array.Length; i++)
                {
                    if (i < streamed.Start || i >= streamed.Start + n)
                    {
                        Assert.True(T.IsNaN(streamed.Array[i]), $"{what}: element {i - streamed.Start} outside the gradient written");
                    }
                }

                // One element off the alignment the gradient is not streamed (an aligned non-temporal store there faults).
                using var shifted = new Aligned<T>(n, 1);
                Assert.False(Pointwise.Streams(shifted.Pointer, (long)n * sizeof(T)));
                Assert.True(loss.ForwardBackward(x, t, shifted.Span).Equals(expected), $"{what}: value, unaligned gradient");
                Assert.True(shifted.Span.SequenceEqual(ordinary.Span), $"{what}: unaligned gradient");
            }
        }
        finally
        {
            LossKitSettings.NonTemporalStoreBytes = originalBytes;
            LossKitSettings.MaxDegreeOfParallelism = originalThreads;
        }
    }
}
