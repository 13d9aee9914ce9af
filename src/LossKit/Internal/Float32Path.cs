using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LossKit.Layouts;

namespace LossKit.Internal;

/// <summary>
/// Element types narrower than float32 (<see cref="Half"/>, and any other 16-bit IEEE type) compute through float32, as
/// PyTorch does for <c>half</c>: every public entry point widens its floating-point arguments to float32 copies, runs the
/// float32 instance of the same loss (same parameters) with float accumulators and float intermediate math, and rounds
/// the outputs (values, gradients, the reduced value) to the narrow type once, to nearest even. Integer arguments
/// (class indices, counts) are passed as they are. Results therefore equal the float32 results on the same (exactly
/// widened) inputs, rounded to the narrow type.
/// </summary>
internal static class Float32Path
{
    /// <summary>True for element types narrower than 32 bits (Half): they compute through float32 (a JIT constant).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Applies<T>() => Unsafe.SizeOf<T>() < sizeof(float);

    /// <summary>Widens a few values (a box) element by element, for code generic over any IEEE type.</summary>
    public static void WidenEach<T>(ReadOnlySpan<T> source, Span<float> destination)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = float.CreateTruncating(source[i]);
        }
    }

    /// <summary>Rounds a few values (a box) element by element, for code generic over any IEEE type.</summary>
    public static void NarrowEach<T>(ReadOnlySpan<float> source, Span<T> destination)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = T.CreateTruncating(source[i]);
        }
    }

    /// <summary>Widens <paramref name="source"/> into <paramref name="destination"/> (exact for Half).</summary>
    public static void Widen<T>(ReadOnlySpan<T> source, Span<float> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(Half))
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<T, Half>(source), destination);
            return;
        }

        WidenEach(source, destination);
    }

    /// <summary>Rounds <paramref name="source"/> to <typeparamref name="T"/> (to nearest even; beyond the range: ±∞).</summary>
    public static void Narrow<T>(ReadOnlySpan<float> source, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(Half))
        {
            TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<T, Half>(destination));
            return;
        }

        NarrowEach(source, destination);
    }

    /// <summary>A widened copy held in a new array (for parameters widened once, e.g. class weights of a float32 twin).</summary>
    public static float[] WidenToArray<T>(ReadOnlySpan<T> source)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        float[] result = new float[source.Length];
        Widen(source, result);
        return result;
    }

    /// <summary>A sum of narrow-type values accumulated in double and rounded once (a head's value, the sum of its outputs).</summary>
    public static T Sum<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        foreach (T v in values)
        {
            sum += double.CreateTruncating(v);
        }

        return T.CreateTruncating(sum);
    }

    /// <summary>The float32 scale of a gradient (upstream ÷ the Mean denominator), computed from the widened upstream.</summary>
    public static float GradientScale<T>(Reduction reduction, T upstream, double denominator)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Reductions.GradientScale(reduction, float.CreateTruncating(upstream), denominator);
}

/// <summary>
/// The float32 copies of one call's arguments and outputs, rented from <see cref="ArrayPool{T}.Shared"/> and returned on
/// <see cref="Dispose"/> (no allocation once the pool is warm). Opened with <c>using var wide = WideScope&lt;T&gt;.Start();</c>
/// in the narrow-type branch of an entry point.
/// </summary>
/// <typeparam name="T">The narrow element type of the call.</typeparam>
internal readonly ref struct WideScope<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly WideRentals _rentals;

    private WideScope(WideRentals rentals) => _rentals = rentals;

    /// <summary>Opens a scope (the calling thread's rental list, reused).</summary>
    public static WideScope<T> Start() => new(WideRentals.Take());

    /// <summary>A float32 copy of <paramref name="source"/> (empty stays empty: an omitted optional argument).</summary>
    public ReadOnlySpan<float> Read(ReadOnlySpan<T> source) => Copy(source);

    /// <summary>A float32 copy of <paramref name="source"/> that the float32 code may update in place (empty stays empty).</summary>
    public Span<float> Copy(ReadOnlySpan<T> source)
    {
        if (source.IsEmpty)
        {
            return default;
        }

        Span<float> copy = _rentals.Rent(source.Length);
        Float32Path.Widen(source, copy);
        return copy;
    }

    /// <summary>A zeroed float32 output of <paramref name="length"/> elements (0: none, an output not asked for).</summary>
    public Span<float> Output(int length)
    {
        if (length == 0)
        {
            return default;
        }

        Span<float> buffer = _rentals.Rent(length);
        buffer.Clear();
        return buffer;
    }

    /// <summary>A zeroed float32 output for the first <paramref name="length"/> elements of <paramref name="destination"/>, or none when it is empty.</summary>
    public Span<float> Output(Span<T> destination, int length) => destination.IsEmpty ? default : Output(length);

    /// <summary>Uninitialised float32 scratch memory of <paramref name="length"/> elements.</summary>
    public Span<float> Scratch(int length) => length == 0 ? default : _rentals.Rent(length);

    /// <summary>
    /// Runs the float32 kernel of a layout call: float32 outputs for the wanted <paramref name="values"/> and
    /// <paramref name="gradient"/> (the call's lengths; elements past them are left alone), the per-value upstream
    /// widened, the outputs rounded back; returns the float32 sum.
    /// </summary>
    public double Run<TCall>(ILayoutKernel<float, TCall> kernel, scoped in TCall call, Span<T> values, Span<T> gradient, float scale, ReadOnlySpan<T> upstream)
        where TCall : ILayoutCall, allows ref struct
    {
        Span<float> wideValues = Output(values, call.ValueLength), wideGradient = Output(gradient, call.InputLength);
        double sum = kernel.Run(call, wideValues, wideGradient, scale, Read(upstream));
        Narrow(wideValues, values);
        Narrow(wideGradient, gradient);
        return sum;
    }

    /// <summary>Rounds a float32 output into the start of <paramref name="destination"/>.</summary>
    public static void Narrow(ReadOnlySpan<float> source, Span<T> destination) => Float32Path.Narrow(source, destination[..source.Length]);

    /// <summary>Returns every rented array.</summary>
    public void Dispose() => WideRentals.Give(_rentals);
}

/// <summary>
/// The arrays a <see cref="WideScope{T}"/> has rented. Each thread keeps one list for reuse; a scope opened while
/// another is open on the same thread gets a new one.
/// </summary>
internal sealed class WideRentals
{
    private const int Capacity = 16;

    [ThreadStatic]
    private static WideRentals? t_free;

    private readonly float[]?[] _arrays = new float[Capacity][];
    private int _count;

    /// <summary>The calling thread's free list, or a new one.</summary>
    public static WideRentals Take()
    {
        WideRentals? free = t_free;
        if (free is null)
        {
            return new WideRentals();
        }

        t_free = null;
        return free;
    }

    /// <summary>Returns the arrays of <paramref name="rentals"/> to the pool and keeps the list for the thread's next scope.</summary>
    public static void Give(WideRentals rentals)
    {
        for (int i = 0; i < rentals._count; i++)
        {
            ArrayPool<float>.Shared.Return(rentals._arrays[i]!);
            rentals._arrays[i] = null;
        }

        rentals._count = 0;
        t_free = rentals;
    }

    /// <summary>A pooled array's first <paramref name="length"/> elements.</summary>
    public Span<float> Rent(int length)
    {
        if (_count == Capacity)
        {
            throw new InvalidOperationException("A widened call holds at most " + Capacity + " buffers.");
        }

        float[] array = ArrayPool<float>.Shared.Rent(length);
        _arrays[_count++] = array;
        return array.AsSpan(0, length);
    }
}
