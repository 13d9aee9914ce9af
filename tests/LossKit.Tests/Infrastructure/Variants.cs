using System.Globalization;
using LossKit.Registry;

namespace LossKit.Tests.Infrastructure;

/// <summary>
/// A loss configuration without data: loss id, reduction and options (weights, pos_weight, label smoothing, ignored
/// rows, log targets, hyper-parameters). <see cref="Scenarios"/> draws data for it.
/// </summary>
public sealed record Variant(string Loss, Reduction Reduction)
{
    public bool Weight { get; init; }

    public bool PosWeight { get; init; }

    public double LabelSmoothing { get; init; }

    /// <summary>When set, some rows carry this ignore index (cross-entropy, NLL).</summary>
    public int? IgnoreIndex { get; init; }

    public bool LogTarget { get; init; }

    /// <summary>Cross-entropy with probability targets: independent values in [0, 1] instead of normalised rows.</summary>
    public bool SoftTargets { get; init; }

    public int P { get; init; } = 1;

    public double Margin { get; init; } = 1.0;

    public double Beta { get; init; } = 1.0;

    public double Delta { get; init; } = 1.0;

    public double Alpha { get; init; } = 0.5;

    public double Gamma { get; init; } = 1.5;

    public string Name
    {
        get
        {
            var parts = new List<string> { Loss, Reduction.ToString().ToLowerInvariant() };
            if (Weight)
            {
                parts.Add("weight");
            }

            if (PosWeight)
            {
                parts.Add("pos_weight");
            }

            if (LabelSmoothing != 0)
            {
                parts.Add(F($"ls={LabelSmoothing}"));
            }

            if (IgnoreIndex is int ii)
            {
                parts.Add(F($"ignore={ii}"));
            }

            if (LogTarget)
            {
                parts.Add("log_target");
            }

            if (SoftTargets)
            {
                parts.Add("soft_targets");
            }

            // The entry's numeric hyper-parameters, in its schema's order.
            string[] numeric = [.. Entry.Parameters.Where(p => p.Role == ParameterRole.Construction && p.Type is ParameterType.Double or ParameterType.Int)
                .Select(p => p.Name).Where(Hyper.ContainsKey).Select(name => F($"{name}={Hyper[name]:G4}"))];
            if (numeric.Length > 0)
            {
                parts.Add(string.Join(",", numeric));
            }

            return string.Join("/", parts);
        }
    }

    /// <summary>The registry entry (the golden id <c>cross_entropy_prob</c> is cross-entropy's probability form).</summary>
    public LossEntry Entry => LossSetup.EntryOf(Loss);

    /// <summary>The hyper-parameters a variant sets, by their schema names (an entry uses those it has).</summary>
    private Dictionary<string, double> Hyper => new() { ["p"] = P, ["margin"] = Margin, ["alpha"] = Alpha, ["gamma"] = Gamma, ["beta"] = Beta, ["delta"] = Delta };

    /// <summary>
    /// The kink of a regression loss in |x − y| that random data keeps away from: where its quadratic (or logarithmic)
    /// part ends, its beta or delta; 0 for none.
    /// </summary>
    public double Threshold => Entry.Parameter("beta") is not null ? Beta : Entry.Parameter("delta") is not null ? Delta : 0.0;

    public override string ToString() => Name;

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The registry of variants used by the finite-difference and entry-point tests: every loss × every reduction × its options.</summary>
public static class Variants
{
    private static readonly Reduction[] Reductions = [Reduction.None, Reduction.Mean, Reduction.Sum];

    private static readonly Lazy<IReadOnlyDictionary<string, Variant>> s_all = new(() => Build().ToDictionary(v => v.Name, StringComparer.Ordinal));

    public static IEnumerable<Variant> All => s_all.Value.Values;

    public static Variant Get(string name) => s_all.Value[name];

    public static TheoryData<string> Names(string loss)
    {
        var data = new TheoryData<string>();
        foreach (Variant v in All)
        {
            if (v.Loss == loss)
            {
                data.Add(v.Name);
            }
        }

        return data;
    }

    public static TheoryData<string> AllNames()
    {
        var data = new TheoryData<string>();
        foreach (Variant v in All)
        {
            data.Add(v.Name);
        }

        return data;
    }

    private static IEnumerable<Variant> Build()
    {
        bool[] noYes = [false, true];
        foreach (Reduction r in Reductions)
        {
            foreach (bool w in noYes)
            {
                foreach (double ls in new[] { 0.0, 0.2 })
                {
                    yield return new Variant("cross_entropy", r) { Weight = w, LabelSmoothing = ls };
                    yield return new Variant("cross_entropy", r) { Weight = w, LabelSmoothing = ls, IgnoreIndex = -100 };
                    yield return new Variant("cross_entropy", r) { Weight = w, LabelSmoothing = ls, IgnoreIndex = 0 };
                    yield return new Variant("cross_entropy_prob", r) { Weight = w, LabelSmoothing = ls };
                    yield return new Variant("cross_entropy_prob", r) { Weight = w, LabelSmoothing = ls, SoftTargets = true };
                }

                yield return new Variant("cross_entropy", r) { Weight = w, LabelSmoothing = 1.0, IgnoreIndex = -100 };
                yield return new Variant("nll", r) { Weight = w };
                yield return new Variant("nll", r) { Weight = w, IgnoreIndex = -100 };
                yield return new Variant("nll", r) { Weight = w, IgnoreIndex = 1 };
                yield return new Variant("bce", r) { Weight = w };
                foreach (bool pw in noYes)
                {
                    yield return new Variant("bce_with_logits", r) { Weight = w, PosWeight = pw };
                }

                foreach (string loss in new[] { "hinge", "squared_hinge", "exponential", "soft_margin", "l1", "mse" })
                {
                    yield return new Variant(loss, r) { Weight = w };
                }

                foreach (double m in new[] { 1.0, 0.5, 0.0 })
                {
                    yield return new Variant("hinge_embedding", r) { Weight = w, Margin = m };
                }

                foreach (int p in new[] { 1, 2 })
                {
                    foreach (double m in new[] { 1.0, 0.7 })
                    {
                        yield return new Variant("multi_margin", r) { Weight = w, P = p, Margin = m };
                    }
                }

                foreach (double beta in new[] { 1.0, 1.0 / 9.0, 0.0, 2.5 })
                {
                    yield return new Variant("smooth_l1", r) { Weight = w, Beta = beta };
                }

                foreach (double delta in new[] { 1.0, 0.5, 3.0 })
                {
                    yield return new Variant("huber", r) { Weight = w, Delta = delta };
                }

                yield return new Variant("balanced_l1", r) { Weight = w };
                yield return new Variant("balanced_l1", r) { Weight = w, Alpha = 0.3, Gamma = 1.2, Beta = 0.5 };
            }
        }

        foreach (Reduction r in new[] { Reduction.None, Reduction.Mean, Reduction.Sum, Reduction.BatchMean })
        {
            yield return new Variant("kl_div", r);
            yield return new Variant("kl_div", r) { LogTarget = true };
        }
    }
}
