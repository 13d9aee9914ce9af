using System.Numerics;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using LossKit.Layouts;
using LossKit.Registry;
using LossKit.Tests.Infrastructure;

namespace LossKit.Tests.Classification;

/// <summary>
/// Cross-entropy and NLL on PyTorch's dense layout, input [N, C, d1, …, dk] and target [N, d1, …, dk], against
/// F.cross_entropy / F.nll_loss with autograd (tests/reference/generate_dense.py → Reference/dense.json): the tensor
/// entry points and the registry's evaluation (what <c>losskit eval</c> runs).
/// </summary>
public class DenseClassIndexTests
{
    private static readonly Lazy<JsonArray> Cases = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "dense.json")))!["cases"]!.AsArray());

    public static TheoryData<string> Names() => [.. Cases.Value.Select(c => c!["name"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(Names))]
    public void TensorEntryPoints_MatchPyTorch_Double(string name) => Check<double>(name);

    [Theory]
    [MemberData(nameof(Names))]
    public void TensorEntryPoints_MatchPyTorch_Float(string name) => Check<float>(name);

    private static void Check<T>(string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        JsonNode c = Cases.Value.First(x => x!["name"]!.GetValue<string>() == name)!;
        LossEntry entry = LossRegistry.Get(c["loss"]!.GetValue<string>());
        LossArguments args = entry.Arguments();
        foreach ((string key, JsonNode? v) in c["params"]!.AsObject())
        {
            args.Set(key, key == "reduction" ? Enum.Parse<Reduction>(v!.GetValue<string>(), true) : key == "ignore_index" ? v!.GetValue<int>() : v!.GetValue<double>());
        }

        if (c["weight"] is JsonNode w)
        {
            args.Set("weight", Data(w));
        }

        var loss = (ClassIndexLoss<T>)entry.Create<T>(args);
        int[] xShape = Shape(c["input"]!), tShape = Shape(c["target"]!);
        T[] x = Array.ConvertAll(Data(c["input"]!), T.CreateTruncating);
        int[] t = Array.ConvertAll(Data(c["target"]!), v => (int)v);
        double[] value = Data(c["value"]!), upstream = Data(c["upstream"]!), expectedGradient = Data(c["grad_input"]!);
        Tensor<T> input = Tensor.Create(x, Lengths(xShape));
        Tensor<int> target = Tensor.Create(t, Lengths(tShape));
        double tolerance = Tolerance.For<T>();
        var gradient = new T[x.Length];
        Tensor<T> g = Tensor.Create(gradient, Lengths(xShape));
        if (loss.Reduction == Reduction.None)
        {
            var values = new T[t.Length];
            loss.ForwardBackward(input, target, g, Tensor.Create(values, Lengths(tShape)));
            Tolerance.AssertClose<T>(values, value, tolerance, $"{name} values");

            // ForwardBackward's gradient is the gradient for an upstream of ones: Backward with ones (its per-value
            // Backward is held to the golden gradient just below) must give it, element by element.
            T[] fused = [.. gradient];
            var ones = new T[x.Length];
            loss.Backward(input, target, Tensor.Create(Enumerable.Repeat(T.One, t.Length).ToArray(), Lengths(tShape)), Tensor.Create(ones, Lengths(xShape)));
            Tolerance.AssertClose<T>(fused, Array.ConvertAll(ones, double.CreateTruncating), tolerance, $"{name} ForwardBackward gradient");
            loss.Backward(input, target, Tensor.Create(Array.ConvertAll(upstream, T.CreateTruncating), Lengths(tShape)), g);
        }
        else
        {
            T v = loss.ForwardBackward(input, target, g);
            Tolerance.AssertClose(v, value[0], tolerance, $"{name} value");
            if (upstream[0] != 0)
            {
                // The golden gradient is for the file's scalar upstream; ForwardBackward's is for 1 (the gradient is linear in it).
                Tolerance.AssertClose<T>(gradient, [.. expectedGradient.Select(e => e / upstream[0])], tolerance, $"{name} ForwardBackward gradient");
            }

            Array.Fill(gradient, T.NaN);
            Tolerance.AssertClose(loss.Forward(input, target), value[0], tolerance, $"{name} Forward");
            loss.Backward(input, target, T.CreateTruncating(upstream[0]), g);
        }

        Tolerance.AssertClose<T>(gradient, expectedGradient, tolerance, $"{name} gradient");

        // The registry's layout (losskit eval's path) gives the same values.
        LossEvaluation<T> e = entry.Evaluate(args, new Dictionary<string, LayoutTensor<T>>
        {
            ["input"] = new("input", xShape, x),
            ["target"] = new("target", tShape, Array.ConvertAll(t, T.CreateTruncating)),
        });
        if (e.Values is { } ev)
        {
            Assert.Equal(tShape, ev.Shape);
            Tolerance.AssertClose<T>(ev.Data, value, tolerance, $"{name} eval values");
        }
        else
        {
            Tolerance.AssertClose(e.Value, value[0], tolerance, $"{name} eval value");
        }
    }

    [Fact]
    public void DenseTarget_OfTheWrongShape_NamesTarget()
    {
        var loss = new LossKit.Classification.CrossEntropyLoss<double>();
        Tensor<double> x = Tensor.Create(new double[2 * 3 * 4], [2, 3, 4]);
        LossChecks.Throws<ArgumentException>("target", () => loss.Forward(x, Tensor.Create(new int[2 * 3], [2, 3])));
        LossChecks.Throws<ArgumentException>("target", () => loss.Forward(x, Tensor.Create(new int[8], [8])));
    }

    private static nint[] Lengths(int[] shape) => Array.ConvertAll(shape, d => (nint)d);

    private static int[] Shape(JsonNode t) => [.. t["shape"]!.AsArray().Select(d => d!.GetValue<int>())];

    private static double[] Data(JsonNode t) =>
        [.. t["data"]!.AsArray().Select(d => d!.GetValueKind() == System.Text.Json.JsonValueKind.String ? double.Parse(d.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : d.GetValue<double>())];

    /// <summary>
    /// The dense shape rule (F.cross_entropy's): target [N, d1, …, dk] for input [N, C, d1, …, dk], C ≥ 1; anything else
    /// names the argument with both shapes, and sizes past int name the input (run N: each condition could go).
    /// </summary>
    [Fact]
    public void Shape_IsPyTorchsRule()
    {
        Assert.Equal((2, 3, 20), DenseClassIndex.Shape([2, 3, 4, 5], [2, 4, 5]));
        Assert.Equal((2, 1, 3), DenseClassIndex.Shape([2, 1, 3], [2, 3])); // one class is a valid (if trivial) problem
        Assert.Equal((0, 3, 4), DenseClassIndex.Shape([0, 3, 4], [0, 4]));
        foreach (nint[] target in new nint[][] { [2, 4, 6], [3, 4, 5], [2, 5, 4], [2, 4, 5, 1], [2, 20] })
        {
            LossChecks.ThrowsNaming("target", () => DenseClassIndex.Shape([2, 3, 4, 5], target),
                "target must have shape [2, 4, 5] to match input [2, 3, 4, 5]", $"got [{string.Join(", ", target)}]");
        }

        LossChecks.Throws<ArgumentOutOfRangeException>("classes", () => DenseClassIndex.Shape([2, 0, 3], [2, 3]));
        Assert.Contains(">= 1, got 0", Assert.ThrowsAny<ArgumentException>(() => DenseClassIndex.Shape([2, 0, 3], [2, 3])).Message);
        LossChecks.ThrowsNaming("input", () => DenseClassIndex.Shape([1, 1, 65536, 65536], [1, 65536, 65536]), "d1 × … × dk = 65536 × 65536 overflows int");
        LossChecks.ThrowsNaming("input", () => DenseClassIndex.Shape([65536, 65536, 2], [65536, 2]), "N × C × d1⋯dk = 65536 × 65536 × 2 overflows int");
    }
}
