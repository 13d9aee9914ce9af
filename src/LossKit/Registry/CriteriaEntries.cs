using System.Numerics;
using LossKit.Layouts;

namespace LossKit.Registry;

/// <summary>The registry entries of the detector criteria (Faster R-CNN, RetinaNet, YOLOv3) and their layouts.</summary>
internal static class CriteriaEntries
{
    /// <summary>The criteria's layouts.</summary>
    public static IReadOnlyList<LossLayout> Layouts { get; } = [];

    public static LossEntry[] Build<T>()
        where T : unmanaged, IFloatingPointIeee754<T> => [];
}
