using System.Numerics;
using System.Numerics.Tensors;

namespace LossKit.Internal;

/// <summary>Validation of data values (not only shapes) at the public entry points, vectorised where it is a scan.</summary>
internal static class DataChecks
{
    /// <summary>Throws unless every element is in [0, 1] (NaN passes and propagates, documented per loss).</summary>
    public static void UnitInterval<T>(ReadOnlySpan<T> values, string paramName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (values.IsEmpty)
        {
            return;
        }

        if (TensorPrimitives.MinNumber(values) >= T.Zero && TensorPrimitives.MaxNumber(values) <= T.One)
        {
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] < T.Zero || values[i] > T.One)
            {
                ThrowHelper.OutOfRange(paramName, values[i], $"{paramName}[{i}] = {values[i]} is outside [0, 1].");
            }
        }
    }

    /// <summary>Throws unless every element is exactly −1 or +1.</summary>
    public static void PlusMinusOne<T>(ReadOnlySpan<T> values, string paramName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (VMath.IsVectorized<T>())
        {
            ref T r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
            for (; i <= values.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                if (!Vector.EqualsAll(Vector.Abs(Vector.LoadUnsafe(ref r, (nuint)i)), Vector<T>.One))
                {
                    break;
                }
            }
        }

        for (; i < values.Length; i++)
        {
            if (values[i] != T.One && values[i] != -T.One)
            {
                ThrowHelper.OutOfRange(paramName, values[i], $"{paramName}[{i}] = {values[i]}: labels must be -1 or +1.");
            }
        }
    }

    /// <summary>Throws unless every class index is in [0, classes) or equals <paramref name="ignoreIndex"/>; returns how many are not ignored.</summary>
    public static int ClassIndices(ReadOnlySpan<int> target, int classes, int ignoreIndex, bool allowIgnore, string paramName = "target")
    {
        int kept = 0;
        for (int i = 0; i < target.Length; i++)
        {
            int t = target[i];
            if (allowIgnore && t == ignoreIndex)
            {
                continue;
            }

            if ((uint)t < (uint)classes)
            {
                kept++;
            }
            else
            {
                ThrowHelper.OutOfRange(paramName, t,
                    $"{paramName}[{i}] = {t} is not a class index in [0, {classes})" + (allowIgnore ? $" nor ignoreIndex ({ignoreIndex})." : "."));
            }
        }

        return kept;
    }
}
