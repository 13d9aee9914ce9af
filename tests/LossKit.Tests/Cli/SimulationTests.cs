using System.Globalization;
using System.Text.Json;
using LossKit.Cli.Simulation;

namespace LossKit.Tests.Cli;

/// <summary>The simulation's fused update step, its blocking, and the machine-readable outputs bench/compare reads.</summary>
// In the global-settings collection: a test here sets LossKitSettings.MaxDegreeOfParallelism.
[Collection(LossKit.Tests.Internal.GlobalSettingsCollection.Name)]
public class SimulationTests
{
    /// <summary>Boxes around the target: overlapping, disjoint, touching, identical, zero-size and a few non-finite.</summary>
    private static (double[] Boxes, double[] Target, double[] Gradient) Cases(int n, int seed)
    {
        var rng = new Random(seed);
        var boxes = new double[4 * n];
        var target = new double[4 * n];
        var gradient = new double[4 * n];
        for (int i = 0; i < n; i++)
        {
            target[4 * i] = 10;
            target[4 * i + 1] = 10;
            target[4 * i + 2] = 0.5 + rng.NextDouble();
            target[4 * i + 3] = 0.5 + rng.NextDouble();
            boxes[4 * i] = 10 + 6 * (rng.NextDouble() - 0.5);
            boxes[4 * i + 1] = 10 + 6 * (rng.NextDouble() - 0.5);
            boxes[4 * i + 2] = 0.2 + 2 * rng.NextDouble();
            boxes[4 * i + 3] = 0.2 + 2 * rng.NextDouble();
            for (int k = 0; k < 4; k++)
            {
                gradient[4 * i + k] = rng.NextDouble() - 0.5;
            }

            switch (i % 23)
            {
                case 3: // identical to the target
                    Array.Copy(target, 4 * i, boxes, 4 * i, 4);
                    break;
                case 7: // touching on the right edge
                    boxes[4 * i] = 10 + 0.5 * (target[4 * i + 2] + boxes[4 * i + 2]);
                    boxes[4 * i + 1] = 10;
                    break;
                case 11: // zero width
                    boxes[4 * i + 2] = 0;
                    break;
                case 13:
                    boxes[4 * i + 1] = double.NaN;
                    break;
                case 17:
                    boxes[4 * i + 3] = double.PositiveInfinity;
                    break;
                case 19:
                    gradient[4 * i + 2] = double.NaN;
                    break;
            }
        }

        return (boxes, target, gradient);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(1000)]
    public void VectorStep_GivesTheScalarStepsBoxes_AndError(int n)
    {
        (double[] boxes, double[] target, double[] gradient) = Cases(n, n);
        double[] scalar = (double[])boxes.Clone();
        double[] fast = (double[])boxes.Clone();
        double expected = RegressionStep.Scalar(scalar, target, gradient, 0, 0.1);
        double actual = RegressionStep.Apply(fast, target, gradient, 0.1);
        for (int i = 0; i < n; i++)
        {
            bool finite = Enumerable.Range(4 * i, 4).All(k => double.IsFinite(scalar[k]));
            for (int k = 4 * i; k < 4 * i + 4; k++)
            {
                // The same operations in the same order: identical boxes (non-finite boxes stay non-finite in both).
                if (finite)
                {
                    Assert.Equal(scalar[k], fast[k]);
                }
                else
                {
                    Assert.False(Enumerable.Range(4 * i, 4).All(j => double.IsFinite(fast[j])), $"case {i}");
                }
            }
        }

        Assert.True(double.IsFinite(expected));
        Assert.Equal(expected, actual, Math.Abs(expected) * 1e-13);
    }

    [Fact]
    public void Step_FollowsTheUpdateRule()
    {
        // Box (10.5, 10, 1, 1) against target (10, 10, 1, 1): inter 0.5, union 1.5, IoU 1/3, step η(2 − 1/3).
        double[] box = [10.5, 10, 1, 1], target = [10, 10, 1, 1], gradient = [1, -2, 0.5, 0];
        double error = RegressionStep.Scalar(box, target, gradient, 0, 0.1);
        double step = 0.1 * (2 - 1.0 / 3);
        Assert.Equal(10.5 - step, box[0], 1e-15);
        Assert.Equal(10 + 2 * step, box[1], 1e-15);
        Assert.Equal(1 - 0.5 * step, box[2], 1e-15);
        Assert.Equal(1, box[3]);
        Assert.Equal(Math.Abs(0.5 - step) + 2 * step + 0.5 * step, error, 1e-14);

        // Disjoint: IoU counts as 0, so the step is 2η.
        double[] far = [20, 10, 1, 1];
        RegressionStep.Scalar(far, target, [1, 0, 0, 0], 0, 0.1);
        Assert.Equal(20 - 0.2, far[0], 1e-14);
    }

    [Fact]
    public void Run_DoesNotDependOnTheThreadCount_AndBlocksAddUp()
    {
        int saved = LossKitSettings.MaxDegreeOfParallelism;
        try
        {
            // 7 centres = 2,401 cases: one full block of 2,048 and a partial one.
            var config = new SimulationConfig { Points = 7, Iterations = 30, Losses = ["giou", "ciou"], Seed = 5 };
            LossKitSettings.MaxDegreeOfParallelism = 1;
            SimulationResult one = DiouSimulation.Run(config);
            LossKitSettings.MaxDegreeOfParallelism = 2;
            double progress = 0;
            var gate = new object();
            // The callback runs on the workers, several at once: the sum needs a lock (an exchange of a value read
            // before it loses updates).
            SimulationResult two = DiouSimulation.Run(config, (_, amount) =>
            {
                lock (gate)
                {
                    progress += amount;
                }
            });
            Assert.Equal(one.Error[0], two.Error[0]);
            Assert.Equal(one.Error[1], two.Error[1]);
            Assert.Equal(one.FinalErrorPerPoint[1], two.FinalErrorPerPoint[1]);
            Assert.Equal(2 * 30, progress, 1e-9);

            // The per-centre final errors add up to E(T).
            Assert.Equal(one.Error[1][^1], one.FinalErrorPerPoint[1].Sum(), one.Error[1][^1] * 1e-12);
        }
        finally
        {
            LossKitSettings.MaxDegreeOfParallelism = saved;
        }
    }

    [Fact]
    public void Simulate_WritesCentresAndJson()
    {
        using var dir = new CliRunner.TempDir();
        string centres = dir.File("c.csv"), json = dir.File("r.json");
        CliRunner.Result r = CliRunner.Run("simulate", "--points", "3", "--iterations", "12", "--losses", "iou,diou", "--seed", "9",
            "--csv", dir.File("s.csv"), "--svg", dir.File("s.svg"), "--centers", centres, "--json", json, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("wall time", r.Stdout);

        string[] lines = File.ReadAllLines(centres);
        Assert.Equal("x,y", lines[0]);
        Assert.Equal(4, lines.Length);
        (double[] _, double[] _, double[] px, double[] py) = DiouSimulation.BuildCases(3, 9);
        for (int p = 0; p < 3; p++)
        {
            string[] xy = lines[p + 1].Split(',');
            Assert.Equal(px[p], double.Parse(xy[0], CultureInfo.InvariantCulture));
            Assert.Equal(py[p], double.Parse(xy[1], CultureInfo.InvariantCulture));
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = doc.RootElement;
        Assert.Equal(3 * 343, root.GetProperty("cases").GetInt32());
        Assert.Equal(12, root.GetProperty("iterations").GetInt32());
        Assert.Equal("float64", root.GetProperty("dtype").GetString());
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
        JsonElement diou = root.GetProperty("losses").GetProperty("diou");
        Assert.Equal(13, diou.GetProperty("error").GetArrayLength());

        // The JSON curve is the CSV's column.
        string[] csv = File.ReadAllLines(dir.File("s.csv"));
        double last = double.Parse(csv[^1].Split(',')[3], CultureInfo.InvariantCulture);
        Assert.Equal(last, diou.GetProperty("error")[12].GetDouble());
    }
}
