namespace LossKit.Detection;

/// <summary>
/// The box-regression losses by kind: the one name the IoU-type losses, their kernels and the detector criteria
/// (<see cref="Criteria.RetinaNetLoss{T}"/>, <see cref="Criteria.YoloV3UltralyticsOptions"/>) use for them.
/// </summary>
/// <remarks>A criterion accepts the kinds its reference library offers and throws
/// <see cref="ArgumentOutOfRangeException"/> for the others.</remarks>
public enum BoxLossKind
{
    /// <summary>L1 between predicted and target box deltas (<see cref="Regression.L1Loss{T}"/>).</summary>
    L1 = 0,

    /// <summary>Smooth L1 between box deltas (<see cref="Regression.SmoothL1Loss{T}"/>).</summary>
    SmoothL1 = 1,

    /// <summary>Generalized IoU, 1 − GIoU (<see cref="GIoULoss{T}"/>).</summary>
    GIoU = 2,

    /// <summary>Distance IoU, 1 − DIoU (<see cref="DIoULoss{T}"/>).</summary>
    DIoU = 3,

    /// <summary>Complete IoU, 1 − CIoU (<see cref="CIoULoss{T}"/>).</summary>
    CIoU = 4,

    /// <summary>IoU in one of its <see cref="IoULossMode"/>s (<see cref="IoULoss{T}"/>).</summary>
    IoU = 5,

    /// <summary>Efficient IoU of Zhang et al. 2022 (<see cref="EfficientIoULoss{T}"/>).</summary>
    EfficientIoU = 6,

    /// <summary>SIoU of Gevorgyan 2022 (<see cref="SIoULoss{T}"/>).</summary>
    SIoU = 7,

    /// <summary>mmdetection's extended IoU, its class <c>EIoULoss</c> (<see cref="ExtendedIoULoss{T}"/>).</summary>
    ExtendedIoU = 8,
}
