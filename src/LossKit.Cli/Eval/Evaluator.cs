using System.Numerics;
using LossKit.Layouts;
using LossKit.Registry;

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
/// Evaluates one document with the library: the entry's factory builds the loss from the parameters, its layout checks
/// the input shapes and calls the fused <c>ForwardBackward</c> (upstream 1; with reduction none the gradient of the sum
/// of the per-element values).
/// </summary>
internal static class Evaluator
{
    public static EvalResult<T> Run<T>(EvalDocument doc, LossEntry entry)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossArguments args = ParamReader.Read(entry, doc.Params);
        var inputs = new Dictionary<string, LayoutTensor<T>>();
        foreach ((string name, TensorArg t) in doc.Inputs)
        {
            LayoutInput? spec = entry.Layout.Inputs.FirstOrDefault(i => i.Name == name);
            inputs[name] = new LayoutTensor<T>(name, t.Shape, [.. t.Data.Select(T.CreateTruncating)])
            {
                IndexData = spec is { Indices: true } ? Ints(entry, t) : null,
            };
        }

        LossEvaluation<T> e = entry.Evaluate(args, inputs);
        return new EvalResult<T>
        {
            Value = e.Value,
            Values = e.Values is { } v ? new ResultArray<T>(v.Shape, v.Data) : null,
            Gradients = e.Gradients.ToDictionary(g => g.Name, g => new ResultArray<T>(g.Shape, g.Data)),
        };
    }

    /// <summary>
    /// Class indices and labels read exactly from the document's numbers (beyond float32's integers), or null when some
    /// value is not a whole number: the layout then reports it (or, for cross-entropy, reads probability targets).
    /// </summary>
    private static int[]? Ints(LossEntry entry, TensorArg t)
    {
        var result = new int[t.Data.Length];
        for (int i = 0; i < result.Length; i++)
        {
            double v = t.Data[i];
            if (!(v == Math.Floor(v)) || Math.Abs(v) > int.MaxValue)
            {
                return null;
            }

            result[i] = (int)v;
        }

        return result;
    }
}
