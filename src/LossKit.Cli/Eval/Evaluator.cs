using System.Numerics;
using LossKit.Classification;
using LossKit.Cli.Commands;
using LossKit.Detection;
using LossKit.MetricLearning;
using LossKit.Regression;

namespace LossKit.Cli.Eval;

/// <summary>A named array in the result.</summary>
internal sealed record ResultArray<T>(int[] Shape, T[] Data);

/// <summary>What eval computed: the reduced value (or per-element values for reduction none) and gradients by input.</summary>
internal sealed class EvalResult<T>
{
    public required T Value { get; init; }

    /// <summary>Per-element values (reduction none), else null.</summary>
    public ResultArray<T>? Values { get; init; }

    public required Dictionary<string, ResultArray<T>> Gradients { get; init; }
}

/// <summary>
/// Evaluates one document with the library: builds the loss from the parameters, checks the input shapes, calls the
/// fused <c>ForwardBackward</c> (upstream 1; with reduction none the gradient of the sum of the per-element values).
/// </summary>
internal static class Evaluator
{
    public static EvalResult<T> Run<T>(EvalDocument doc, LossSpec spec)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var p = new ParamReader<T>(spec, doc.Params);
        var inputs = new InputReader<T>(spec, doc.Inputs);
        switch (spec.Name)
        {
            case "cross_entropy":
            {
                var loss = new CrossEntropyLoss<T>(p.Reduction(Reduction.Mean), p.Vector("weight"), p.Int("ignore_index", -100), p.Double("label_smoothing", 0.0));
                double? avgFactor = p.OptionalDouble("avg_factor");
                TensorArg x = inputs.Raw("input"), t = inputs.Raw("target");
                if (t.Rank == 2)
                {
                    (int batch, int classes) = inputs.Matrix(x);
                    inputs.SameShape(t, x);
                    if (avgFactor.HasValue)
                    {
                        throw new CliException("parameter 'avg_factor' of loss 'cross_entropy' is not supported with probability targets");
                    }

                    var grad = new T[x.Data.Length];
                    T[]? values = loss.Reduction == Reduction.None ? new T[batch] : null;
                    T value = loss.ForwardBackward(inputs.Floats(x), inputs.Floats(t), batch, classes, grad, values);
                    return Result(value, values, [batch], ("input", x.Shape, grad));
                }

                return ClassIndex(loss, inputs, avgFactor);
            }

            case "nll":
                return ClassIndex(new NllLoss<T>(p.Reduction(Reduction.Mean), p.Vector("weight"), p.Int("ignore_index", -100)), inputs, p.OptionalDouble("avg_factor"));
            case "multi_margin":
                return ClassIndex(new MultiMarginLoss<T>(p.Reduction(Reduction.Mean), p.Int("p", 1), p.Double("margin", 1.0), p.Vector("weight")), inputs, p.OptionalDouble("avg_factor"));
            case "softmax_focal":
                return ClassIndex(new SoftmaxFocalLoss<T>(p.Reduction(Reduction.Mean), p.Double("gamma", 2.0), p.Double("alpha", 0.25), p.Vector("class_alpha"),
                    p.Vector("weight"), p.Int("ignore_index", -100)), inputs, p.OptionalDouble("avg_factor"));

            case "bce":
                return Elementwise(new BinaryCrossEntropyLoss<T>(p.Reduction(Reduction.Mean)), p, inputs);
            case "bce_with_logits":
                return Elementwise(new BinaryCrossEntropyWithLogitsLoss<T>(p.Reduction(Reduction.Mean), p.Vector("pos_weight")), p, inputs);
            case "hinge":
                return Elementwise(new HingeLoss<T>(p.Reduction(Reduction.Mean)), p, inputs);
            case "squared_hinge":
                return Elementwise(new SquaredHingeLoss<T>(p.Reduction(Reduction.Mean)), p, inputs);
            case "hinge_embedding":
                return Elementwise(new HingeEmbeddingLoss<T>(p.Reduction(Reduction.Mean), p.Double("margin", 1.0)), p, inputs);
            case "exponential":
                return Elementwise(new ExponentialLoss<T>(p.Reduction(Reduction.Mean)), p, inputs);
            case "l1":
                return Elementwise(new L1Loss<T>(p.Reduction(Reduction.Mean)), p, inputs);
            case "mse":
                return Elementwise(new MseLoss<T>(p.Reduction(Reduction.Mean)), p, inputs);
            case "smooth_l1":
                return Elementwise(new SmoothL1Loss<T>(p.Reduction(Reduction.Mean), p.Double("beta", 1.0)), p, inputs);
            case "huber":
                return Elementwise(new HuberLoss<T>(p.Reduction(Reduction.Mean), p.Double("delta", 1.0)), p, inputs);
            case "balanced_l1":
                return Elementwise(new BalancedL1Loss<T>(p.Reduction(Reduction.Mean), p.Double("alpha", 0.5), p.Double("gamma", 1.5), p.Double("beta", 1.0)), p, inputs);
            case "sigmoid_focal":
                return Elementwise(new SigmoidFocalLoss<T>(p.Reduction(Reduction.None), p.Double("alpha", 0.25), p.Double("gamma", 2.0)), p, inputs);
            case "varifocal":
                return Elementwise(new VarifocalLoss<T>(p.Reduction(Reduction.Mean), p.Double("alpha", 0.75), p.Double("gamma", 2.0), p.Bool("iou_weighted", true)), p, inputs);

            case "kl_div":
            {
                var loss = new KLDivergenceLoss<T>(p.Reduction(Reduction.Mean, allowBatchMean: true), p.Bool("log_target", false));
                TensorArg x = inputs.Raw("input"), t = inputs.Raw("target");
                inputs.SameShape(t, x);
                int batch = x.Rank == 0 ? 1 : x.Shape[0];
                var grad = new T[x.Data.Length];
                T[]? values = loss.Reduction == Reduction.None ? new T[x.Data.Length] : null;
                T value = loss.ForwardBackward(inputs.Floats(x), inputs.Floats(t), batch, grad, values);
                return Result(value, values, x.Shape, ("input", x.Shape, grad));
            }

            case "iou":
            {
                IoULossMode mode = p.Choice("mode", "linear", "square", "log") switch
                {
                    "square" => IoULossMode.Square,
                    "log" => IoULossMode.Log,
                    _ => IoULossMode.Linear,
                };
                return Box(new IoULoss<T>(p.Reduction(Reduction.None), mode, p.Double("eps", 1e-7), Format(p), Convention(p)), p, inputs);
            }

            case "giou":
                return Box(new GIoULoss<T>(p.Reduction(Reduction.None), p.Double("eps", 1e-7), Format(p), Convention(p)), p, inputs);
            case "diou":
                return Box(new DIoULoss<T>(p.Reduction(Reduction.None), p.Double("eps", 1e-7), Format(p), Convention(p)), p, inputs);
            case "ciou":
                return Box(new CIoULoss<T>(p.Reduction(Reduction.None), p.Double("eps", 1e-7), Format(p), Convention(p)), p, inputs);
            case "eiou":
                return Box(new EfficientIoULoss<T>(p.Reduction(Reduction.None), p.Double("eps", 1e-7), Format(p)), p, inputs);
            case "siou":
                return Box(new SIoULoss<T>(p.Reduction(Reduction.None), p.Double("eps", 1e-7), p.Bool("neg_gamma", false), Format(p)), p, inputs);
            case "extended_iou":
                return Box(new ExtendedIoULoss<T>(p.Reduction(Reduction.None), p.Double("eps", 1e-7), p.Double("smooth_point", 0.1), Format(p)), p, inputs);

            case "quality_focal":
            {
                var loss = new QualityFocalLoss<T>(p.Reduction(Reduction.Mean), p.Double("beta", 2.0));
                T[] weight = p.Vector("weight");
                double? avgFactor = p.OptionalDouble("avg_factor");
                TensorArg x = inputs.Raw("input"), labels = inputs.Raw("labels"), scores = inputs.Raw("scores");
                (int batch, int classes) = inputs.Matrix(x);
                inputs.RowVector(labels, batch, x);
                inputs.RowVector(scores, batch, x);
                var grad = new T[x.Data.Length];
                T[]? values = loss.Reduction == Reduction.None ? new T[batch] : null;
                T value = loss.ForwardBackward(inputs.Floats(x), inputs.Ints(labels), inputs.Floats(scores), batch, classes, grad, values, weight, avgFactor);
                return Result(value, values, [batch], ("input", x.Shape, grad));
            }

            case "distribution_focal":
            {
                var loss = new DistributionFocalLoss<T>(p.Reduction(Reduction.Mean));
                T[] weight = p.Vector("weight");
                double? avgFactor = p.OptionalDouble("avg_factor");
                TensorArg x = inputs.Raw("input"), t = inputs.Raw("target");
                (int batch, int bins) = inputs.Matrix(x);
                inputs.RowVector(t, batch, x);
                var grad = new T[x.Data.Length];
                T[]? values = loss.Reduction == Reduction.None ? new T[batch] : null;
                T value = loss.ForwardBackward(inputs.Floats(x), inputs.Floats(t), batch, bins, grad, values, weight, avgFactor);
                return Result(value, values, [batch], ("input", x.Shape, grad));
            }

            case "angular_margin":
                return ClassIndex(new AngularMarginLoss<T>(p.Reduction(Reduction.Mean), p.Double("scale", 64), p.Double("m1", 1), p.Double("m2", 0.5), p.Double("m3", 0)), inputs, null);
            case "arcface":
                return ClassIndex(AngularMarginLoss<T>.ArcFace(p.Double("scale", 64), p.Double("margin", 0.5), p.Bool("easy_margin", false), p.Reduction(Reduction.Mean)), inputs, null);
            case "cosface":
                return ClassIndex(AngularMarginLoss<T>.CosFace(p.Double("scale", 64), p.Double("margin", 0.35), p.Reduction(Reduction.Mean)), inputs, null);
            case "sphereface":
                return ClassIndex(AngularMarginLoss<T>.SphereFace(p.Double("margin", 4), p.Double("scale", 64), p.Reduction(Reduction.Mean)), inputs, null);
            case "center":
            {
                var loss = new CenterLoss<T>(p.Reduction(Reduction.Mean),
                    p.Choice("convention", "paper", "kaiyangzhou") == "kaiyangzhou" ? CenterLossConvention.KaiyangZhou : CenterLossConvention.Paper);
                TensorArg x = inputs.Raw("input"), t = inputs.Raw("target"), c = inputs.Raw("centers");
                (int batch, int dim) = inputs.Matrix(x);
                inputs.RowVector(t, batch, x);
                (int classes, int centerDim) = inputs.Matrix(c);
                if (centerDim != dim)
                {
                    throw new CliException($"shape mismatch: centers has shape {c.ShapeText} but loss '{spec.Name}' needs [classes, {dim}] (the feature size of input {x.ShapeText})");
                }

                var gx = new T[x.Data.Length];
                var gc = new T[c.Data.Length];
                T[]? values = loss.Reduction == Reduction.None ? new T[batch] : null;
                T value = loss.ForwardBackward(inputs.Floats(x), inputs.Ints(t), inputs.Floats(c), batch, classes, dim, gx, gc, values);
                return Result(value, values, [batch], ("input", x.Shape, gx), ("centers", c.Shape, gc));
            }

            default:
                throw new CliException($"loss '{spec.Name}' has no eval adapter");
        }
    }

    private static EvalResult<T> Elementwise<T>(ElementwiseLoss<T> loss, ParamReader<T> p, InputReader<T> inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] weight = p.Vector("weight");
        double? avgFactor = p.OptionalDouble("avg_factor");
        TensorArg x = inputs.Raw("input"), t = inputs.Raw("target");
        inputs.SameShape(t, x);
        var grad = new T[x.Data.Length];
        T[]? values = loss.Reduction == Reduction.None ? new T[x.Data.Length] : null;
        T value = loss.ForwardBackward(inputs.Floats(x), inputs.Floats(t), grad, values, weight, avgFactor);
        return Result(value, values, x.Shape, ("input", x.Shape, grad));
    }

    private static EvalResult<T> ClassIndex<T>(ClassIndexLoss<T> loss, InputReader<T> inputs, double? avgFactor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorArg x = inputs.Raw("input"), t = inputs.Raw("target");
        (int batch, int classes) = inputs.Matrix(x);
        inputs.RowVector(t, batch, x);
        var grad = new T[x.Data.Length];
        T[]? values = loss.Reduction == Reduction.None ? new T[batch] : null;
        T value = loss.ForwardBackward(inputs.Floats(x), inputs.Ints(t), batch, classes, grad, values, avgFactor);
        return Result(value, values, [batch], ("input", x.Shape, grad));
    }

    private static EvalResult<T> Box<T>(BoxRegressionLoss<T> loss, ParamReader<T> p, InputReader<T> inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] weight = p.Vector("weight");
        double? avgFactor = p.OptionalDouble("avg_factor");
        TensorArg x = inputs.Raw("input"), t = inputs.Raw("target");
        if (x.Rank != 2 || x.Shape[1] != 4)
        {
            throw new CliException($"shape mismatch: input has shape {x.ShapeText} but loss '{inputs.Loss}' needs [N, 4] boxes");
        }

        inputs.SameShape(t, x);
        int n = x.Shape[0];
        var grad = new T[x.Data.Length];
        T[]? values = loss.Reduction == Reduction.None ? new T[n] : null;
        T value = loss.ForwardBackward(inputs.Floats(x), inputs.Floats(t), grad, values, weight, avgFactor);
        return Result(value, values, [n], ("input", x.Shape, grad));
    }

    private static BoxFormat Format<T>(ParamReader<T> p)
        where T : unmanaged, IFloatingPointIeee754<T> => p.Choice("format", "xyxy", "xywh", "cxcywh") switch
        {
            "xywh" => BoxFormat.Xywh,
            "cxcywh" => BoxFormat.Cxcywh,
            _ => BoxFormat.Xyxy,
        };

    private static BoxLossConvention Convention<T>(ParamReader<T> p)
        where T : unmanaged, IFloatingPointIeee754<T> => p.Choice("convention", "torchvision", "mmdetection", "ultralytics") switch
        {
            "mmdetection" => BoxLossConvention.MMDetection,
            "ultralytics" => BoxLossConvention.Ultralytics,
            _ => BoxLossConvention.Torchvision,
        };

    private static EvalResult<T> Result<T>(T value, T[]? values, int[] valueShape, params (string Name, int[] Shape, T[] Data)[] gradients)
        where T : unmanaged, IFloatingPointIeee754<T> => new()
        {
            Value = value,
            Values = values is null ? null : new ResultArray<T>(valueShape, values),
            Gradients = gradients.ToDictionary(g => g.Name, g => new ResultArray<T>(g.Shape, g.Data)),
        };
}

/// <summary>The document's inputs for one loss: unknown and missing names, shapes and element types are checked here.</summary>
internal sealed class InputReader<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LossSpec _spec;
    private readonly Dictionary<string, TensorArg> _inputs;

    public InputReader(LossSpec spec, Dictionary<string, TensorArg> inputs)
    {
        _spec = spec;
        _inputs = inputs;
        foreach (string name in inputs.Keys)
        {
            if (!spec.Inputs.Any(i => i.Name == name))
            {
                throw new CliException($"unknown input '{name}' for loss '{spec.Name}' (known: {spec.KnownInputs})");
            }
        }

        foreach (InputSpec i in spec.Inputs)
        {
            if (i.Required && !inputs.ContainsKey(i.Name))
            {
                throw new CliException($"missing input '{i.Name}' for loss '{spec.Name}' (expected {i.Shape})");
            }
        }
    }

    public string Loss => _spec.Name;

    public TensorArg Raw(string name) => _inputs[name];

    public T[] Floats(TensorArg t) => [.. t.Data.Select(T.CreateTruncating)];

    /// <summary>Integer values (class indices, labels); anything else is an error naming the first offender.</summary>
    public int[] Ints(TensorArg t)
    {
        var result = new int[t.Data.Length];
        for (int i = 0; i < result.Length; i++)
        {
            double v = t.Data[i];
            if (!(v == Math.Floor(v)) || Math.Abs(v) > int.MaxValue)
            {
                throw new CliException($"inputs.{t.Name} must hold integers (class indices) for loss '{_spec.Name}', got {v} at index {i}");
            }

            result[i] = (int)v;
        }

        return result;
    }

    /// <summary>Checks a [rows, columns] input and returns its dimensions.</summary>
    public (int Rows, int Columns) Matrix(TensorArg x)
    {
        if (x.Rank != 2)
        {
            string expected = _spec.Inputs.First(i => i.Name == x.Name).Shape;
            throw new CliException($"shape mismatch: {x.Name} has shape {x.ShapeText} but loss '{_spec.Name}' needs {expected}");
        }

        return (x.Shape[0], x.Shape[1]);
    }

    /// <summary>Checks that <paramref name="v"/> has shape [rows] (one entry per row of <paramref name="of"/>).</summary>
    public void RowVector(TensorArg v, int rows, TensorArg of)
    {
        if (v.Rank != 1 || v.Shape[0] != rows)
        {
            throw new CliException($"shape mismatch: {v.Name} has shape {v.ShapeText} but loss '{_spec.Name}' needs [{rows}] (one per row of {of.Name} {of.ShapeText})");
        }
    }

    /// <summary>Checks that <paramref name="a"/> has exactly the shape of <paramref name="b"/>.</summary>
    public void SameShape(TensorArg a, TensorArg b)
    {
        if (!a.Shape.SequenceEqual(b.Shape))
        {
            throw new CliException($"shape mismatch: {a.Name} has shape {a.ShapeText} but {b.Name} has shape {b.ShapeText} (loss '{_spec.Name}' needs the same shape)");
        }
    }
}
