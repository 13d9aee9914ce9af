using LossKit.Classification;
using LossKit.Detection;
using LossKit.MetricLearning;
using LossKit.Regression;

namespace LossKit.Cli.Bench;

/// <summary>
/// The scaling sweep of <c>losskit bench --scaling</c>: one or two losses per family, each timed (fused forward +
/// backward, float32) at 1K, 16K, 256K and 4M input elements, to show the cost per element has no cliff and small
/// calls stay cheap (inputs below the library's parallel threshold never leave the calling thread).
/// </summary>
internal static class ScalingCases
{
    /// <summary>Input sizes in elements.</summary>
    public static IReadOnlyList<int> Sizes { get; } = [1024, 16384, 262144, 4_194_304];

    /// <summary>The losses swept, with their family and input layout.</summary>
    public static IReadOnlyList<(string Family, string Loss)> Losses { get; } =
    [
        ("Classification", "cross_entropy (rows × 64 classes)"),
        ("Classification", "bce_with_logits"),
        ("Regression", "l1"),
        ("Regression", "smooth_l1 (β 1/9)"),
        ("Detection", "sigmoid_focal"),
        ("Detection", "giou (elements / 4 boxes)"),
        ("MetricLearning", "arcface (rows × 1024 classes)"),
        ("MetricLearning", "center (rows × 64, 100 centers)"),
    ];

    /// <summary>Builds the fused forward + backward call of loss <paramref name="index"/> on <paramref name="n"/> input elements.</summary>
    public static Func<float> Create(int index, int n, int seed = 1234)
    {
        var rng = new Random(seed);
        switch (index)
        {
            case 0:
            {
                const int c = 64;
                int rows = n / c;
                var loss = new CrossEntropyLoss<float>();
                float[] x = BenchCases.Uniform(rng, n, -2, 2), g = new float[n];
                int[] y = Labels(rng, rows, c);
                return () => loss.ForwardBackward(x, y, rows, c, g);
            }

            case 1:
                return Elementwise(new BinaryCrossEntropyWithLogitsLoss<float>(), BenchCases.Uniform(rng, n, -3, 3), BenchCases.Bernoulli(rng, n, 0.1f));
            case 2:
                return Elementwise(new L1Loss<float>(), BenchCases.Uniform(rng, n, -1, 1), BenchCases.Uniform(rng, n, -1, 1));
            case 3:
                return Elementwise(new SmoothL1Loss<float>(beta: 1.0 / 9), BenchCases.Uniform(rng, n, -1, 1), BenchCases.Uniform(rng, n, -1, 1));
            case 4:
                return Elementwise(new SigmoidFocalLoss<float>(Reduction.Sum), BenchCases.Uniform(rng, n, -3, 3), BenchCases.Bernoulli(rng, n, 0.1f));
            case 5:
            {
                var loss = new GIoULoss<float>(Reduction.Mean);
                float[] p = BenchCases.RandomBoxes(rng, n / 4), t = BenchCases.RandomBoxes(rng, n / 4), g = new float[n];
                return () => loss.ForwardBackward(p, t, g);
            }

            case 6:
            {
                const int c = 1024;
                int rows = n / c;
                var loss = AngularMarginLoss<float>.ArcFace();
                float[] cos = BenchCases.Uniform(rng, n, -1, 1), g = new float[n];
                int[] y = Labels(rng, rows, c);
                return () => loss.ForwardBackward(cos, y, rows, c, g);
            }

            case 7:
            {
                const int d = 64, k = 100;
                int rows = n / d;
                var loss = new CenterLoss<float>();
                float[] x = BenchCases.Uniform(rng, n, -1, 1), centers = BenchCases.Uniform(rng, k * d, -1, 1), gx = new float[n], gc = new float[k * d];
                int[] y = Labels(rng, rows, k);
                return () => loss.ForwardBackward(x, y, centers, rows, k, d, gx, gc);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(index), index, "no such scaling loss");
        }
    }

    private static Func<float> Elementwise(ElementwiseLoss<float> loss, float[] x, float[] y)
    {
        var g = new float[x.Length];
        return () => loss.ForwardBackward(x, y, g);
    }

    private static int[] Labels(Random rng, int n, int classes)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = rng.Next(classes);
        }

        return a;
    }
}
