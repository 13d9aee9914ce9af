using LossKit.Classification;
using LossKit.Registry;

namespace LossKit.Tests.Infrastructure;

/// <summary>A variant with drawn data: the setup (targets, weights), an input and upstream gradients.</summary>
public sealed class Scenario
{
    public required Variant Variant { get; init; }

    public required LossSetup Setup { get; init; }

    public required double[] Input { get; init; }

    /// <summary>Per-value upstream gradient (length <see cref="LossSetup.ValueLength"/>), for Reduction.None.</summary>
    public required double[] Upstream { get; init; }

    /// <summary>Scalar upstream gradient for the reducing losses.</summary>
    public required double ScalarUpstream { get; init; }

    public override string ToString() => $"{Variant.Name} [{string.Join("x", Setup.Shape)}]";
}

/// <summary>
/// Draws random data for a <see cref="Variant"/>: input shape [rows, cols] (batch × classes for the row losses, batch ×
/// features for KL, any 2-D shape for the element-wise losses), valid targets, weights in [0.1, 2], and inputs kept at
/// least 0.01 away from every kink so that finite differences are meaningful. All numbers are float-representable.
/// </summary>
public static class Scenarios
{
    public const double KinkGap = 0.01;

    public static Scenario Random(Variant v, int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        int n = rows * cols;
        int[] shape = [rows, cols];
        double[] input = new double[n];
        double[] target = [];
        int[]? index = null;
        double[]? weight = null, posWeight = null;
        bool rowLoss = LossSetup.IsRowLoss(v.Loss);

        if (v.Weight)
        {
            weight = Uniform(rng, rowLoss ? cols : n, 0.1, 2.0);
        }

        // The data follow the loss's type: its input and target domains and where its kinks are.
        Type type = v.Entry.ImplementationType;
        bool Is(Type t) => type == t;
        if (LossSetup.IsProbabilityForm(v.Loss))
        {
            input = Normal(rng, n, 2.0);
            target = v.SoftTargets ? Uniform(rng, n, 0.0, 1.0) : ProbabilityRows(rng, rows, cols);
        }
        else if (Is(typeof(CrossEntropyLoss<>)) || Is(typeof(NllLoss<>)))
        {
            index = IndexTargets(rng, rows, cols, v.IgnoreIndex);
            input = Is(typeof(NllLoss<>)) ? LogSoftmaxRows(Normal(rng, n, 2.0), cols) : Normal(rng, n, 2.0);
        }
        else if (Is(typeof(MultiMarginLoss<>)))
        {
            index = IndexTargets(rng, rows, cols, null);
            for (int r = 0; r < rows; r++)
            {
                int y = index[r];
                Span<double> row = input.AsSpan(r * cols, cols);
                bool kink;
                do
                {
                    for (int i = 0; i < cols; i++)
                    {
                        row[i] = F(NormalOne(rng) * 2.0);
                    }

                    kink = false;
                    for (int i = 0; i < cols && !kink; i++)
                    {
                        kink = i != y && Math.Abs(v.Margin - row[y] + row[i]) < KinkGap;
                    }
                }
                while (kink);
            }
        }
        else if (Is(typeof(BinaryCrossEntropyLoss<>)))
        {
            input = Uniform(rng, n, 0.02, 0.98);
            target = BinaryTargets(rng, n);
        }
        else if (Is(typeof(BinaryCrossEntropyWithLogitsLoss<>)))
        {
            input = Normal(rng, n, 3.0);
            target = BinaryTargets(rng, n);
            if (v.PosWeight)
            {
                posWeight = Uniform(rng, cols, 0.1, 4.0);
            }
        }
        else if (Is(typeof(KLDivergenceLoss<>)))
        {
            input = LogSoftmaxRows(Normal(rng, n, 2.0), cols);
            target = v.LogTarget ? LogSoftmaxRows(Normal(rng, n, 2.0), cols) : ProbabilityRows(rng, rows, cols);
        }
        else if (Is(typeof(HingeLoss<>)) || Is(typeof(SquaredHingeLoss<>)) || Is(typeof(ExponentialLoss<>)) || Is(typeof(SoftMarginLoss<>)))
        {
            target = Signs(rng, n);
            for (int i = 0; i < n; i++)
            {
                do
                {
                    input[i] = F(NormalOne(rng) * 2.0);
                }
                while ((Is(typeof(HingeLoss<>)) || Is(typeof(SquaredHingeLoss<>))) && Math.Abs(1 - target[i] * input[i]) < KinkGap);
            }
        }
        else if (Is(typeof(HingeEmbeddingLoss<>)))
        {
            target = Signs(rng, n);
            for (int i = 0; i < n; i++)
            {
                do
                {
                    input[i] = F(NormalOne(rng) * 2.0);
                }
                while (Math.Abs(v.Margin - input[i]) < KinkGap);
            }
        }
        else if (v.Entry.Family == LossFamily.Regression)
        {
            target = Normal(rng, n, 2.0);
            double thr = v.Threshold, scale = Math.Max(thr, 1.0);
            for (int i = 0; i < n; i++)
            {
                double d;
                do
                {
                    double diff = rng.NextDouble() < 0.5 ? (rng.NextDouble() * 4 - 2) * scale : NormalOne(rng) * 3 * scale;
                    input[i] = F(target[i] + diff);
                    d = Math.Abs(input[i] - target[i]);
                }
                while (d < KinkGap || (thr > 0 && Math.Abs(d - thr) < KinkGap));
            }
        }
        else
        {
            throw new ArgumentException($"no scenario data for {v.Loss} ({type.Name})", nameof(v));
        }

        var setup = new LossSetup
        {
            Loss = v.Loss,
            Reduction = v.Reduction,
            Shape = shape,
            Target = target,
            IndexTarget = index,
            Weight = weight,
            PosWeight = posWeight,
            IgnoreIndex = v.IgnoreIndex ?? -100,
            LabelSmoothing = v.LabelSmoothing,
            LogTarget = v.LogTarget,
            P = v.P,
            Margin = v.Margin,
            Beta = v.Beta,
            Delta = v.Delta,
            Alpha = v.Alpha,
            Gamma = v.Gamma,
        };
        return new Scenario
        {
            Variant = v,
            Setup = setup,
            Input = input,
            Upstream = Normal(rng, setup.ValueLength, 1.0),
            ScalarUpstream = F(0.25 + 1.75 * rng.NextDouble()),
        };
    }

    /// <summary>Rounds to float and back, so the value is exact in both types.</summary>
    public static double F(double v) => (float)v;

    public static double NormalOne(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public static double[] Normal(Random rng, int n, double scale)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = F(NormalOne(rng) * scale);
        }

        return r;
    }

    public static double[] Uniform(Random rng, int n, double lo, double hi)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = F(lo + (hi - lo) * rng.NextDouble());
        }

        return r;
    }

    public static double[] Signs(Random rng, int n)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = rng.Next(2) == 0 ? -1.0 : 1.0;
        }

        return r;
    }

    /// <summary>Half hard 0/1 labels, half soft labels in [0, 1].</summary>
    public static double[] BinaryTargets(Random rng, int n)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = rng.NextDouble() < 0.5 ? rng.Next(2) : F(rng.NextDouble());
        }

        return r;
    }

    /// <summary>Class indices; with an ignore index, row 0 and about 30% of the others are ignored, the last row never.</summary>
    public static int[] IndexTargets(Random rng, int rows, int cols, int? ignoreIndex)
    {
        var t = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            bool ignore = ignoreIndex.HasValue && r < rows - 1 && (r == 0 || rng.NextDouble() < 0.3);
            if (ignore)
            {
                t[r] = ignoreIndex!.Value;
                continue;
            }

            int c;
            do
            {
                c = rng.Next(cols);
            }
            while (ignoreIndex is int ii && c == ii && cols > 1);
            t[r] = c;
        }

        return t;
    }

    /// <summary>Rows of a softmax with about 30% exact zeros (column 0 kept), float-representable.</summary>
    public static double[] ProbabilityRows(Random rng, int rows, int cols)
    {
        var p = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++)
            {
                double e = c > 0 && rng.NextDouble() < 0.3 ? 0.0 : Math.Exp(NormalOne(rng) * 1.5);
                p[r * cols + c] = e;
                sum += e;
            }

            for (int c = 0; c < cols; c++)
            {
                p[r * cols + c] = F(p[r * cols + c] / sum);
            }
        }

        return p;
    }

    public static double[] LogSoftmaxRows(double[] x, int cols)
    {
        var r = new double[x.Length];
        for (int row = 0; row < x.Length / Math.Max(cols, 1); row++)
        {
            double m = double.NegativeInfinity;
            for (int c = 0; c < cols; c++)
            {
                m = Math.Max(m, x[row * cols + c]);
            }

            double s = 0;
            for (int c = 0; c < cols; c++)
            {
                s += Math.Exp(x[row * cols + c] - m);
            }

            for (int c = 0; c < cols; c++)
            {
                r[row * cols + c] = F(x[row * cols + c] - m - Math.Log(s));
            }
        }

        return r;
    }
}
