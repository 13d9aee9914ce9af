using System.Numerics;
using LossKit.Internal;

namespace LossKit.Tests.Internal;

/// <summary>
/// The record ↔ component transposes of the box kernels: the active width's path (unpack/shuffle on x86 at 128 and
/// 256 bits) and the element-by-element path every other width uses, for float and double.
/// </summary>
public unsafe class QuadsTests
{
    [Fact]
    public void Load_PutsRecordIInLaneI_AndStoreInvertsIt()
    {
        Check<float>();
        Check<double>();

        static void Check<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            int n = Vector<T>.Count;
            T[] records = Enumerable.Range(0, 4 * n).Select(i => T.CreateTruncating(i + 1)).ToArray();
            T[] fast = new T[4 * n], slow = new T[4 * n];
            fixed (T* p = records, f = fast, s = slow)
            {
                Quads.Load(p, out Vector<T> a0, out Vector<T> a1, out Vector<T> a2, out Vector<T> a3);
                Quads.LoadByElement(p, out Vector<T> b0, out Vector<T> b1, out Vector<T> b2, out Vector<T> b3);
                Vector<T>[] a = [a0, a1, a2, a3], b = [b0, b1, b2, b3];
                for (int k = 0; k < 4; k++)
                {
                    for (int i = 0; i < n; i++)
                    {
                        Assert.Equal(records[4 * i + k], a[k][i]);
                        Assert.Equal(records[4 * i + k], b[k][i]);
                    }
                }

                Quads.Store(f, a0, a1, a2, a3);
                Quads.StoreByElement(s, b0, b1, b2, b3);
            }

            Assert.Equal(records, fast);
            Assert.Equal(records, slow);
        }
    }
}
