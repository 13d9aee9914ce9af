using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Internal;

namespace LossKit.Detection;

/// <summary>Box layouts, as torchvision's <c>box_convert</c> names them.</summary>
public enum BoxFormat
{
    /// <summary>(x1, y1, x2, y2): corners; width x2 − x1, height y2 − y1.</summary>
    Xyxy = 0,

    /// <summary>(x, y, w, h): top-left corner and size.</summary>
    Xywh = 1,

    /// <summary>(cx, cy, w, h): centre and size (ultralytics' "xywh").</summary>
    Cxcywh = 2,
}

/// <summary>
/// Conversions between box formats (torchvision's <c>box_convert</c>, which goes through xyxy) and the matching
/// gradient conversion. Boxes are rows of four values.
/// </summary>
public static class BoxConvert
{
    /// <summary>Converts <paramref name="boxes"/> from one format to another (in place allowed).</summary>
    public static void Convert<T>(ReadOnlySpan<T> boxes, BoxFormat from, BoxFormat to, Span<T> destination)
        where T : IFloatingPointIeee754<T>
    {
        CheckBoxes(boxes.Length, nameof(boxes));
        CheckFormat(from, nameof(from));
        CheckFormat(to, nameof(to));
        ThrowHelper.CheckDestination(destination.Length, boxes.Length, nameof(destination));
        for (int i = 0; i < boxes.Length; i += 4)
        {
            ToXyxy(boxes[i], boxes[i + 1], boxes[i + 2], boxes[i + 3], from, out T x1, out T y1, out T x2, out T y2);
            FromXyxy(x1, y1, x2, y2, to, out destination[i], out destination[i + 1], out destination[i + 2], out destination[i + 3]);
        }
    }

    /// <summary>
    /// Given d L / d(boxes in format <paramref name="to"/>), writes d L / d(the same boxes in format <paramref name="from"/>)
    /// — the chain rule through <see cref="Convert{T}"/> (its Jacobian is constant).
    /// </summary>
    public static void ConvertGradient<T>(ReadOnlySpan<T> gradient, BoxFormat from, BoxFormat to, Span<T> destination)
        where T : IFloatingPointIeee754<T>
    {
        CheckBoxes(gradient.Length, nameof(gradient));
        CheckFormat(from, nameof(from));
        CheckFormat(to, nameof(to));
        ThrowHelper.CheckDestination(destination.Length, gradient.Length, nameof(destination));
        for (int i = 0; i < gradient.Length; i += 4)
        {
            // Seed a unit box in the source format; the duals of the converted coordinates are the Jacobian's rows.
            ToXyxy(Dual<T>.Seed(T.Zero, 0), Dual<T>.Seed(T.Zero, 1), Dual<T>.Seed(T.Zero, 2), Dual<T>.Seed(T.Zero, 3), from,
                out Dual<T> x1, out Dual<T> y1, out Dual<T> x2, out Dual<T> y2);
            FromXyxy(x1, y1, x2, y2, to, out Dual<T> a, out Dual<T> b, out Dual<T> c, out Dual<T> d);
            T g0 = gradient[i], g1 = gradient[i + 1], g2 = gradient[i + 2], g3 = gradient[i + 3];
            destination[i] = g0 * a.D0 + g1 * b.D0 + g2 * c.D0 + g3 * d.D0;
            destination[i + 1] = g0 * a.D1 + g1 * b.D1 + g2 * c.D1 + g3 * d.D1;
            destination[i + 2] = g0 * a.D2 + g1 * b.D2 + g2 * c.D2 + g3 * d.D2;
            destination[i + 3] = g0 * a.D3 + g1 * b.D3 + g2 * c.D3 + g3 * d.D3;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ToXyxy<T>(T a, T b, T c, T d, BoxFormat format, out T x1, out T y1, out T x2, out T y2)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5);
        switch (format)
        {
            case BoxFormat.Xywh:
                (x1, y1, x2, y2) = (a, b, a + c, b + d);
                break;
            case BoxFormat.Cxcywh:
                (x1, y1, x2, y2) = (a - half * c, b - half * d, a + half * c, b + half * d);
                break;
            default:
                (x1, y1, x2, y2) = (a, b, c, d);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void FromXyxy<T>(T x1, T y1, T x2, T y2, BoxFormat format, out T a, out T b, out T c, out T d)
        where T : IFloatingPointIeee754<T>
    {
        switch (format)
        {
            case BoxFormat.Xywh:
                (a, b, c, d) = (x1, y1, x2 - x1, y2 - y1);
                break;
            case BoxFormat.Cxcywh:
                T two = T.CreateTruncating(2);
                (a, b, c, d) = ((x1 + x2) / two, (y1 + y2) / two, x2 - x1, y2 - y1);
                break;
            default:
                (a, b, c, d) = (x1, y1, x2, y2);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ToXyxy<T>(Dual<T> a, Dual<T> b, Dual<T> c, Dual<T> d, BoxFormat format, out Dual<T> x1, out Dual<T> y1, out Dual<T> x2, out Dual<T> y2)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5);
        switch (format)
        {
            case BoxFormat.Xywh:
                (x1, y1, x2, y2) = (a, b, a + c, b + d);
                break;
            case BoxFormat.Cxcywh:
                (x1, y1, x2, y2) = (a - half * c, b - half * d, a + half * c, b + half * d);
                break;
            default:
                (x1, y1, x2, y2) = (a, b, c, d);
                break;
        }
    }

    internal static void FromXyxy<T>(Dual<T> x1, Dual<T> y1, Dual<T> x2, Dual<T> y2, BoxFormat format, out Dual<T> a, out Dual<T> b, out Dual<T> c, out Dual<T> d)
        where T : IFloatingPointIeee754<T>
    {
        switch (format)
        {
            case BoxFormat.Xywh:
                (a, b, c, d) = (x1, y1, x2 - x1, y2 - y1);
                break;
            case BoxFormat.Cxcywh:
                T two = T.CreateTruncating(2);
                (a, b, c, d) = ((x1 + x2) / two, (y1 + y2) / two, x2 - x1, y2 - y1);
                break;
            default:
                (a, b, c, d) = (x1, y1, x2, y2);
                break;
        }
    }

    internal static void CheckBoxes(int length, string paramName)
    {
        if (length % 4 != 0)
        {
            ThrowHelper.Argument(paramName, $"{paramName} must hold boxes of 4 values; its length {length} is not a multiple of 4.");
        }
    }

    internal static BoxFormat CheckFormat(BoxFormat format, string paramName)
    {
        if (format is not (BoxFormat.Xyxy or BoxFormat.Xywh or BoxFormat.Cxcywh))
        {
            ThrowHelper.OutOfRange(paramName, format, "Box format must be Xyxy, Xywh or Cxcywh.");
        }

        return format;
    }
}
