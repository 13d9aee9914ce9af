using System.Numerics;
using LossKit.Registry;

namespace LossKit.TorchSharp;

/// <summary>
/// An entry's loss objects for each element type, created from the same arguments on first use (float32 → float,
/// float64 → double, float16 → Half). The core's losses are immutable and thread-safe, so one instance serves every
/// call and thread.
/// </summary>
internal sealed class LossInstances(LossArguments arguments)
{
    private object? _float, _double, _half;

    public LossArguments Arguments { get; } = arguments;

    public object Get<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref object? slot = ref typeof(T) == typeof(float) ? ref _float : ref typeof(T) == typeof(double) ? ref _double : ref _half;
        return Volatile.Read(ref slot) ?? Interlocked.CompareExchange(ref slot, Arguments.Entry.Create<T>(Arguments), null) ?? slot!;
    }
}
