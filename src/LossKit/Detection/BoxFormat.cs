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
        if (Float32Path.Applies<T>())
        {
            unsafe
            {
                PerBoxInFloat32(boxes, from, to, destination, &Convert<float>);
            }

            return;
        }

        for (int i = 0; i < boxes.Length; i += 4)
        {
            T a = boxes[i], b = boxes[i + 1], c = boxes[i + 2], d = boxes[i + 3];
            ToXyxy<T, ScalarArithmetic<T>>(from, ref a, ref b, ref c, ref d);
            FromXyxy<T, ScalarArithmetic<T>>(to, ref a, ref b, ref c, ref d);
            (destination[i], destination[i + 1], destination[i + 2], destination[i + 3]) = (a, b, c, d);
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
        if (Float32Path.Applies<T>())
        {
            unsafe
            {
                PerBoxInFloat32(gradient, from, to, destination, &ConvertGradient<float>);
            }

            return;
        }

        for (int i = 0; i < gradient.Length; i += 4)
        {
            // Seed a unit box in the source format; the duals of the converted coordinates are the Jacobian's rows.
            Dual<T> a = Dual<T>.Seed(T.Zero, 0), b = Dual<T>.Seed(T.Zero, 1), c = Dual<T>.Seed(T.Zero, 2), d = Dual<T>.Seed(T.Zero, 3);
            ToXyxy<Dual<T>, DualArithmetic<T>>(from, ref a, ref b, ref c, ref d);
            FromXyxy<Dual<T>, DualArithmetic<T>>(to, ref a, ref b, ref c, ref d);
            T g0 = gradient[i], g1 = gradient[i + 1], g2 = gradient[i + 2], g3 = gradient[i + 3];
            destination[i] = g0 * a.D0 + g1 * b.D0 + g2 * c.D0 + g3 * d.D0;
            destination[i + 1] = g0 * a.D1 + g1 * b.D1 + g2 * c.D1 + g3 * d.D1;
            destination[i + 2] = g0 * a.D2 + g1 * b.D2 + g2 * c.D2 + g3 * d.D2;
            destination[i + 3] = g0 * a.D3 + g1 * b.D3 + g2 * c.D3 + g3 * d.D3;
        }
    }

    /// <summary>Narrow types: each box widened, run through the float32 form of <paramref name="op"/> (in place), rounded once.</summary>
    private static unsafe void PerBoxInFloat32<T>(ReadOnlySpan<T> source, BoxFormat from, BoxFormat to, Span<T> destination,
        delegate*<ReadOnlySpan<float>, BoxFormat, BoxFormat, Span<float>, void> op)
        where T : IFloatingPointIeee754<T>
    {
        Span<float> box = stackalloc float[4];
        for (int i = 0; i < source.Length; i += 4)
        {
            Float32Path.WidenEach(source.Slice(i, 4), box);
            op(box, from, to, box);
            Float32Path.NarrowEach<T>(box, destination.Slice(i, 4));
        }
    }

    /// <summary>Scalar form of <see cref="ToXyxy{TNum, TArithmetic}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ToXyxy<T>(T a, T b, T c, T d, BoxFormat format, out T x1, out T y1, out T x2, out T y2)
        where T : IFloatingPointIeee754<T>
    {
        (x1, y1, x2, y2) = (a, b, c, d);
        ToXyxy<T, ScalarArithmetic<T>>(format, ref x1, ref y1, ref x2, ref y2);
    }

    /// <summary>
    /// The conversion of one box (or one <see cref="Vector{T}"/> of boxes, or a box of dual numbers) from
    /// <paramref name="format"/> to xyxy, in place: xywh (x, y, x + w, y + h); cxcywh (cx − w/2, cy − h/2, cx + w/2,
    /// cy + h/2) with w/2 taken as ½·w. The exact (dual-number) and the fast box kernels both convert with it, so both
    /// see the same xyxy bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ToXyxy<TNum, TArithmetic>(BoxFormat format, ref TNum a, ref TNum b, ref TNum c, ref TNum d)
        where TArithmetic : IBoxArithmetic<TNum>
    {
        switch (format)
        {
            case BoxFormat.Xywh:
                (c, d) = (TArithmetic.Add(a, c), TArithmetic.Add(b, d));
                break;
            case BoxFormat.Cxcywh:
                TNum halfW = TArithmetic.Half(c), halfH = TArithmetic.Half(d);
                (a, b, c, d) = (TArithmetic.Subtract(a, halfW), TArithmetic.Subtract(b, halfH), TArithmetic.Add(a, halfW), TArithmetic.Add(b, halfH));
                break;
        }
    }

    /// <summary>The inverse of <see cref="ToXyxy{TNum, TArithmetic}"/>, in place: xywh (x1, y1, x2 − x1, y2 − y1);
    /// cxcywh (½·(x1 + x2), ½·(y1 + y2), x2 − x1, y2 − y1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void FromXyxy<TNum, TArithmetic>(BoxFormat format, ref TNum x1, ref TNum y1, ref TNum x2, ref TNum y2)
        where TArithmetic : IBoxArithmetic<TNum>
    {
        switch (format)
        {
            case BoxFormat.Xywh:
                (x2, y2) = (TArithmetic.Subtract(x2, x1), TArithmetic.Subtract(y2, y1));
                break;
            case BoxFormat.Cxcywh:
                (x1, y1, x2, y2) = (TArithmetic.Half(TArithmetic.Add(x1, x2)), TArithmetic.Half(TArithmetic.Add(y1, y2)),
                    TArithmetic.Subtract(x2, x1), TArithmetic.Subtract(y2, y1));
                break;
        }
    }

    /// <summary>
    /// The chain rule through <see cref="ToXyxy{TNum, TArithmetic}"/>, in place: a gradient with respect to xyxy
    /// becomes the gradient with respect to the box in <paramref name="format"/> (xywh: ∂x = g_x1 + g_x2, ∂w = g_x2;
    /// cxcywh: ∂cx = g_x1 + g_x2, ∂w = ½·(g_x2 − g_x1); y alike).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void XyxyGradientToFormat<TNum, TArithmetic>(BoxFormat format, ref TNum g0, ref TNum g1, ref TNum g2, ref TNum g3)
        where TArithmetic : IBoxArithmetic<TNum>
    {
        switch (format)
        {
            case BoxFormat.Xywh:
                (g0, g1) = (TArithmetic.Add(g0, g2), TArithmetic.Add(g1, g3));
                break;
            case BoxFormat.Cxcywh:
                (g0, g1, g2, g3) = (TArithmetic.Add(g0, g2), TArithmetic.Add(g1, g3), TArithmetic.Half(TArithmetic.Subtract(g2, g0)),
                    TArithmetic.Half(TArithmetic.Subtract(g3, g1)));
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

/// <summary>The arithmetic the box-format conversions of <see cref="BoxConvert"/> run on, so one conversion serves scalars,
/// dual numbers (the exact path) and vectors of boxes (the fast kernels).</summary>
internal interface IBoxArithmetic<TNum>
{
    static abstract TNum Add(TNum a, TNum b);

    static abstract TNum Subtract(TNum a, TNum b);

    /// <summary>½·a.</summary>
    static abstract TNum Half(TNum a);
}

/// <summary>Box arithmetic on scalars.</summary>
internal readonly struct ScalarArithmetic<T> : IBoxArithmetic<T>
    where T : IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Add(T a, T b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Subtract(T a, T b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Half(T a) => T.CreateTruncating(0.5) * a;
}

/// <summary>Box arithmetic on dual numbers (value and derivatives).</summary>
internal readonly struct DualArithmetic<T> : IBoxArithmetic<Dual<T>>
    where T : IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual<T> Add(Dual<T> a, Dual<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual<T> Subtract(Dual<T> a, Dual<T> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual<T> Half(Dual<T> a) => T.CreateTruncating(0.5) * a;
}

/// <summary>Box arithmetic on vectors of boxes, one box per lane.</summary>
internal readonly struct VectorArithmetic<T> : IBoxArithmetic<Vector<T>>
    where T : IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Add(Vector<T> a, Vector<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Subtract(Vector<T> a, Vector<T> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Half(Vector<T> a) => new Vector<T>(T.CreateTruncating(0.5)) * a;
}
