using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace LossKit.Internal;

/// <summary>
/// Throw helpers for argument validation. They are never inlined and never return, so the checks at the public entry
/// points stay a compare and a branch (the ImageSharp Guard split).
/// </summary>
internal static class ThrowHelper
{
    /// <summary>
    /// <paramref name="e"/> again (same type, same actual value) naming <paramref name="name"/> instead of its parameter,
    /// in the message too: a constructor's C# name (labelSmoothing) as the registry or a facade calls it (label_smoothing).
    /// </summary>
    public static ArgumentException Renamed(ArgumentException e, string name)
    {
        // The exception's own text, without what Message appends (the parameter, and the actual value of an
        // ArgumentOutOfRangeException), which the new exception appends again under the new name.
        string message = e.Message.Split('\n')[0].Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(e.ParamName))
        {
            message = message.Replace(e.ParamName, name, StringComparison.Ordinal);
        }

        return e is ArgumentOutOfRangeException r ? new ArgumentOutOfRangeException(name, r.ActualValue, message) : new ArgumentException(message, name, e);
    }

    /// <summary>camelCase → snake_case (labelSmoothing → label_smoothing).</summary>
    public static string SnakeCase(string camel)
    {
        var snake = new System.Text.StringBuilder(camel.Length + 4);
        foreach (char c in camel)
        {
            if (char.IsUpper(c))
            {
                snake.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                snake.Append(c);
            }
        }

        return snake.ToString();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Argument(string paramName, string message) => throw new ArgumentException(message, paramName);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void OutOfRange(string paramName, object? actualValue, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actualValue, message);

    /// <summary>Throws unless <paramref name="actual"/> equals <paramref name="expected"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CheckLength(int actual, int expected, string paramName, string what)
    {
        if (actual != expected)
        {
            LengthMismatch(actual, expected, paramName, what);
        }
    }

    /// <summary>Throws unless <paramref name="actual"/> equals rows × columns (the message is built only when throwing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CheckMatrix(int actual, int rows, int columns, string paramName, string rowsName, string columnsName)
    {
        if (actual != (long)rows * columns)
        {
            MatrixMismatch(actual, rows, columns, paramName, rowsName, columnsName);
        }
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void MatrixMismatch(int actual, int rows, int columns, string paramName, string rowsName, string columnsName) =>
        throw new ArgumentException(
            $"Expected {paramName} to have {(long)rows * columns} elements ({rowsName} × {columnsName} = {rows} × {columns}) but it has {actual}.", paramName);

    /// <summary>Throws unless the destination span can hold <paramref name="required"/> elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CheckDestination(int actual, int required, string paramName)
    {
        if (actual < required)
        {
            DestinationTooShort(actual, required, paramName);
        }
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void LengthMismatch(int actual, int expected, string paramName, string what) =>
        throw new ArgumentException($"Expected {paramName} to have {expected} elements ({what}) but it has {actual}.", paramName);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void DestinationTooShort(int actual, int required, string paramName) =>
        throw new ArgumentException($"Destination {paramName} is too short: it needs {required} elements but has {actual}.", paramName);

    /// <summary>Validates a hyper-parameter: finite (or NaN-free) and not below <paramref name="min"/>.</summary>
    public static double CheckAtLeast(double value, double min, string paramName)
    {
        if (double.IsNaN(value) || value < min || double.IsInfinity(value))
        {
            OutOfRange(paramName, value, $"{paramName} must be a finite number >= {min}, got {value}.");
        }

        return value;
    }

    /// <summary>Validates a hyper-parameter: finite and strictly above <paramref name="min"/>.</summary>
    public static double CheckAbove(double value, double min, string paramName)
    {
        if (double.IsNaN(value) || value <= min || double.IsInfinity(value))
        {
            OutOfRange(paramName, value, $"{paramName} must be a finite number > {min}, got {value}.");
        }

        return value;
    }

    /// <summary>Validates a hyper-parameter: finite and within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static double CheckInRange(double value, double min, double max, string paramName)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            OutOfRange(paramName, value, $"{paramName} must be in [{min}, {max}], got {value}.");
        }

        return value;
    }

    /// <summary>Validates a hyper-parameter that may take any finite value.</summary>
    public static double CheckFinite(double value, string paramName)
    {
        if (!double.IsFinite(value))
        {
            OutOfRange(paramName, value, $"{paramName} must be finite, got {value}.");
        }

        return value;
    }

    /// <summary>
    /// The product of non-negative dimensions as an int, or an <see cref="ArgumentException"/> naming
    /// <paramref name="paramName"/> with the factors when it does not fit (e.g. "classes × dim = 65536 × 65536 overflows
    /// int"), never an <see cref="OverflowException"/>. A zero factor gives 0 whatever the others.
    /// </summary>
    /// <param name="paramName">The argument the product belongs to.</param>
    /// <param name="names">The factors' names for the message, e.g. "batch × classes".</param>
    /// <param name="factors">The factors (each ≥ 0).</param>
    public static int Product(string paramName, string names, params ReadOnlySpan<long> factors)
    {
        long product = 1;
        foreach (long f in factors)
        {
            if (f == 0)
            {
                return 0;
            }
        }

        foreach (long f in factors)
        {
            // Both operands are at most int.MaxValue here, so the long product cannot wrap.
            if (f < 0 || f > int.MaxValue || (product *= f) > int.MaxValue)
            {
                ProductOverflow(paramName, names, factors);
            }
        }

        return (int)product;
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ProductOverflow(string paramName, string names, ReadOnlySpan<long> factors)
    {
        var values = new string[factors.Length];
        for (int i = 0; i < factors.Length; i++)
        {
            values[i] = factors[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        throw new ArgumentException($"{names} = {string.Join(" × ", values)} overflows int (at most {int.MaxValue} elements).", paramName);
    }

    /// <summary>Validates a dimension argument (non-negative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CheckDimension(int value, string paramName)
    {
        if (value < 0)
        {
            OutOfRange(paramName, value, $"{paramName} must be >= 0, got {value}.");
        }
    }
}
