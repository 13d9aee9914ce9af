using LossKit.Criteria;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Criteria;

/// <summary>
/// The darknet variant's box scale is 2 − w·h on normalised sizes: a ground truth wider or taller than the image made
/// it negative (w = h = 1.5: scale −0.25, a negative box loss) and the loss unbounded below, so such sizes are rejected
/// like an out-of-image centre. The ultralytics variant has no such term and keeps accepting them.
/// </summary>
public class YoloV3GroundTruthSizeTests
{
    [Theory]
    [InlineData(1.5f, 0.2f)]
    [InlineData(0.2f, 1.5f)]
    [InlineData(1.5f, 1.5f)]
    [InlineData(100f, 100f)]
    [InlineData(1.0001f, 1f)]
    public void Darknet_SizeAboveOne_Throws_NamingGroundTruthBoxes(float w, float h)
    {
        var loss = new YoloV3Loss<float>(3, 64, 64);
        float[] o0 = new float[loss.OutputLength(0, 1)], o1 = new float[loss.OutputLength(1, 1)], o2 = new float[loss.OutputLength(2, 1)];
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => loss.Forward(o0, o1, o2, [0.5f, 0.5f, w, h], [0], [1]));
        LossChecks.Throws<ArgumentException>("groundTruthBoxes", () => loss.ForwardBackward(o0, o1, o2, [0.5f, 0.5f, w, h], [0], [1],
            new float[o0.Length], new float[o1.Length], new float[o2.Length]));
    }

    [Fact]
    public void Darknet_FullImageBox_IsAccepted_WithNonNegativeBoxLoss()
    {
        var loss = new YoloV3Loss<float>(3, 64, 64);
        float[] o0 = new float[loss.OutputLength(0, 1)], o1 = new float[loss.OutputLength(1, 1)], o2 = new float[loss.OutputLength(2, 1)];
        YoloV3LossTerms<float> terms = loss.Forward(o0, o1, o2, [0.5f, 0.5f, 1f, 1f], [0], [1]);
        Assert.True(float.IsFinite(terms.Box) && terms.Box >= 0, $"box loss {terms.Box}");
    }

    [Fact]
    public void Ultralytics_SizeAboveOne_IsAccepted()
    {
        var loss = new YoloV3Loss<float>(3, 64, 64, variant: YoloV3Variant.Ultralytics);
        float[] o0 = new float[loss.OutputLength(0, 1)], o1 = new float[loss.OutputLength(1, 1)], o2 = new float[loss.OutputLength(2, 1)];
        YoloV3LossTerms<float> terms = loss.Forward(o0, o1, o2, [0.5f, 0.5f, 1.5f, 1.5f], [0], [1]);
        Assert.True(float.IsFinite(terms.Total));
    }
}
