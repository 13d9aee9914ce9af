namespace LossKit.Tests.Regression;

/// <summary>
/// The worked example used across regression-loss tutorials: y_pred (3 × 4) against one-hot y_true; mean L1 0.275,
/// mean MSE 0.0925, mean Smooth L1 (β = 1) 0.04625.
/// </summary>
internal static class RegressionData
{
    public static readonly double[] Prediction = [0.5, 0.2, 0.1, 0.3, 0.1, 0.6, 0.2, 0.4, 0.3, 0.4, 0.7, 0.1];

    public static readonly double[] OneHot = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];

    public static float[] PredictionF => Array.ConvertAll(Prediction, v => (float)v);

    public static float[] OneHotF => Array.ConvertAll(OneHot, v => (float)v);
}
