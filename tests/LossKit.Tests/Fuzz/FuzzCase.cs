using System.Globalization;
using System.Numerics;
using System.Text;
using LossKit.Layouts;
using LossKit.Registry;

namespace LossKit.Tests.Fuzz;

/// <summary>One named array of a fuzz case, in double (converted to the element type under test).</summary>
internal sealed record FuzzArray(string Name, int[] Shape, double[] Data);

/// <summary>
/// One generated evaluation of a registry entry: parameter values by name and the layout's arrays. <see cref="Invalid"/>
/// names the deliberate defect of an invalid case (null: the case is valid and must evaluate without exception).
/// </summary>
internal sealed class FuzzCase
{
    public required LossEntry Entry { get; init; }

    public required List<(string Name, object Value)> Parameters { get; init; }

    public required List<FuzzArray> Arrays { get; init; }

    public ValueMix Mix { get; init; }

    public string? Invalid { get; init; }

    public bool Valid => Invalid is null;

    public FuzzArray this[string name] => Arrays.First(a => a.Name == name);

    /// <summary>The case with every array rounded to float (so a double run sees exactly the float run's inputs).</summary>
    public FuzzCase RoundedToFloat() => new()
    {
        Entry = Entry, Parameters = Parameters, Mix = Mix, Invalid = Invalid,
        Arrays = [.. Arrays.Select(a => a with { Data = Array.ConvertAll(a.Data, d => (double)(float)d) })],
    };

    /// <summary>The case with every value rounded to Half, vector parameters (weights) included; index arrays are small
    /// integers and stay exact.</summary>
    public FuzzCase RoundedToHalf() => new()
    {
        Entry = Entry, Mix = Mix, Invalid = Invalid,
        Parameters = [.. Parameters.Select(p => p.Value is double[] v ? (p.Name, (object)Array.ConvertAll(v, d => (double)(Half)d)) : p)],
        Arrays = [.. Arrays.Select(a => a with { Data = Array.ConvertAll(a.Data, d => (double)(Half)d) })],
    };

    public bool AllFinite => Arrays.All(a => a.Data.All(double.IsFinite)) && Parameters.All(p => p.Value is not double[] v || v.All(double.IsFinite));

    /// <summary>The largest magnitude of the differentiable inputs (0 when empty).</summary>
    public double MaxInput => Arrays.Where(a => Entry.Layout.Inputs.First(i => i.Name == a.Name).Differentiable)
        .SelectMany(a => a.Data).Select(Math.Abs).DefaultIfEmpty(0).Max();

    public LossArguments Arguments()
    {
        LossArguments args = Entry.Arguments();
        foreach ((string name, object value) in Parameters)
        {
            args.Set(name, value);
        }

        return args;
    }

    public Dictionary<string, LayoutTensor<T>> Inputs<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Arrays.ToDictionary(a => a.Name, a => new LayoutTensor<T>(a.Name, a.Shape, Array.ConvertAll(a.Data, T.CreateTruncating)), StringComparer.Ordinal);

    /// <summary>The case as text a test can be rebuilt from: parameters, shapes and (for small arrays) the values.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Entry.Id} ({Mix}{(Invalid is null ? "" : ", invalid: " + Invalid)}) params {{");
        sb.AppendJoin(", ", Parameters.Select(p => $"{p.Name}: {Text(p.Value)}"));
        sb.Append('}');
        foreach (FuzzArray a in Arrays)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n  {a.Name} [{string.Join(", ", a.Shape)}]");
            sb.Append(a.Data.Length <= 48 ? " = [" + string.Join(", ", a.Data.Select(Num)) + "]" : $" ({a.Data.Length} values, first {Num(a.Data[0])})");
        }

        return sb.ToString();
    }

    private static string Text(object v) => v switch
    {
        double d => Num(d),
        double[] xs => "[" + string.Join(", ", xs.Select(Num)) + "]",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Num(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
