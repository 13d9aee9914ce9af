using LossKit.Criteria;
using LossKit.Detection;

namespace LossKit.Tests.Detection;

/// <summary>
/// The obsolete names kept for existing callers (see CHANGELOG.md) forward to their replacements: the same values and
/// gradients, the same settings. The only test that uses them.
/// </summary>
public class ObsoleteNamesTests
{
#pragma warning disable CS0618 // The obsolete names are what this test checks.
    [Fact]
    public void ObsoleteNames_ForwardToTheirReplacements()
    {
        double[] p = [0, 0, 2, 3, 1, 1, 4, 5, 2, 0, 3, 1, 0.5, 0.5, 0.5, 0.5, -1, -2, 3, 1];
        double[] t = [0.5, 0.2, 2.5, 2.5, 1, 1.5, 3.5, 5.5, 2, 0, 3, 1, 0, 0, 1, 1, -1.5, -2, 2, 2];
        double[] w = [1, 0.5, 2, 1, 0.25];
        foreach (BoxFormat format in Enum.GetValues<BoxFormat>())
        {
            foreach (Reduction reduction in new[] { Reduction.None, Reduction.Mean, Reduction.Sum })
            {
                var old = new EIoULoss<double>(reduction, 1e-6, format);
                var current = new EfficientIoULoss<double>(reduction, 1e-6, format);
                double[] oldValues = new double[5], newValues = new double[5], oldGradient = new double[20], newGradient = new double[20];
                Assert.Equal(current.ForwardBackward(p, t, newGradient, newValues, w), old.ForwardBackward(p, t, oldGradient, oldValues, w));
                Assert.Equal(newValues, oldValues);
                Assert.Equal(newGradient, oldGradient);
                Assert.Equal(current.Eps, old.Eps);
                Assert.Equal(current.Format, old.Format);
            }
        }

        foreach (RetinaNetBoxLoss kind in Enum.GetValues<RetinaNetBoxLoss>())
        {
            var retina = new RetinaNetLoss<double>(kind, beta: 0.5);
            Assert.Equal(kind.ToString(), retina.BoxLossKind.ToString());
            Assert.Equal(kind, retina.BoxLoss);
            Assert.Equal(0.5, retina.Beta);
        }

        Assert.Equal(BoxLossKind.CIoU, new YoloV3UltralyticsOptions { BoxLoss = YoloV3BoxLoss.CIoU }.BoxLossKind);
        Assert.Equal(YoloV3BoxLoss.GIoU, new YoloV3UltralyticsOptions { BoxLossKind = BoxLossKind.GIoU }.BoxLoss);
        Assert.Equal(BoxLossKind.GIoU, YoloV3UltralyticsOptions.Default.BoxLossKind);
        Assert.Throws<ArgumentOutOfRangeException>(() => new YoloV3Loss<double>(3, variant: YoloV3Variant.Ultralytics,
            ultralytics: new YoloV3UltralyticsOptions { BoxLoss = (YoloV3BoxLoss)7 }));
    }
#pragma warning restore CS0618
}
