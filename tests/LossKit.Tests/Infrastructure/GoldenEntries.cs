using System.Text.Json;
using LossKit.Registry;

namespace LossKit.Tests.Infrastructure;

/// <summary>
/// How the golden files' loss ids and parameters map onto registry entries: the reference generators name cases by the
/// reference they reproduce (<c>giou_mmdet</c>, <c>iou_ultra</c>, <c>cross_entropy_prob</c>), and describe the call
/// in the reference's terms (<c>in_fmt</c>, <c>xywh</c>). Ids not listed here and not in the registry are building
/// blocks (box_iou, box_convert, center_update, …), tested by their own classes.
/// </summary>
public static class GoldenEntries
{
    /// <summary>Golden id → registry entry and the parameters the id implies.</summary>
    public static readonly IReadOnlyDictionary<string, (string Entry, (string Name, object Value)[] Parameters)> Aliases =
        new Dictionary<string, (string, (string, object)[])>
        {
            ["cross_entropy_prob"] = ("cross_entropy", []),
            ["iou_mmdet"] = ("iou", [("convention", "mmdetection")]),
            ["giou_mmdet"] = ("giou", [("convention", "mmdetection")]),
            ["diou_mmdet"] = ("diou", [("convention", "mmdetection")]),
            ["ciou_mmdet"] = ("ciou", [("convention", "mmdetection")]),
            ["iou_ultra"] = ("iou", [("convention", "ultralytics")]),
            ["giou_ultra"] = ("giou", [("convention", "ultralytics")]),
            ["diou_ultra"] = ("diou", [("convention", "ultralytics")]),
            ["ciou_ultra"] = ("ciou", [("convention", "ultralytics")]),
            ["eiou_mmdet"] = ("extended_iou", []),
            ["siou_mmdet"] = ("siou", []),
            ["eiou_efficient"] = ("eiou", []),
            ["arcface"] = ("angular_margin", []),
            ["arcface_easy"] = ("angular_margin", []),
            ["cosface"] = ("angular_margin", []),
            ["combined_margin"] = ("angular_margin", []),
            ["sphereface"] = ("angular_margin", []),
            ["insightface"] = ("angular_margin", []),
            ["pml_arcface"] = ("angular_margin", []),
        };

    /// <summary>Golden parameter → entry parameter (null: describes the reference call, not a parameter).</summary>
    private static readonly Dictionary<string, string?> Renames = new() { ["in_fmt"] = "format", ["margin_degrees"] = null, ["xywh"] = null };

    /// <summary>Golden tensors that are vector parameters of an entry (class weights, pos_weight, class_alpha).</summary>
    private static readonly string[] VectorParameters = ["weight", "pos_weight", "class_alpha"];

    /// <summary>The registry entry of golden id <paramref name="loss"/>, or null for a building block.</summary>
    public static LossEntry? Entry(string loss) =>
        Aliases.TryGetValue(loss, out var alias) ? LossRegistry.Get(alias.Entry) : LossRegistry.TryGet(loss, out LossEntry? e) ? e : null;

    /// <summary>
    /// The entry's arguments for a golden case: the alias's parameters, the case's parameters under their entry names
    /// (ultralytics' <c>xywh=true</c> is cxcywh), and the vector tensors (<paramref name="vector"/>) the entry takes,
    /// per-call weights included (a layout passes them with the call; a factory ignores them).
    /// </summary>
    public static LossArguments Arguments(string loss, IReadOnlyDictionary<string, JsonElement> parameters, Func<string, double[]?> vector)
    {
        LossEntry entry = Entry(loss) ?? throw new ArgumentException($"{loss} is not a registry entry", nameof(loss));
        LossArguments args = entry.Arguments();
        if (Aliases.TryGetValue(loss, out var alias))
        {
            foreach ((string name, object value) in alias.Parameters)
            {
                args.Set(name, value);
            }
        }

        foreach ((string name, JsonElement value) in parameters)
        {
            string? target = Renames.TryGetValue(name, out string? renamed) ? renamed : name;
            if (target is not null && value.ValueKind != JsonValueKind.Null)
            {
                args.Set(target, Scalar(entry.Parameter(target) ?? throw new InvalidDataException($"{loss}: no parameter '{target}'"), value));
            }
        }

        if (parameters.TryGetValue("xywh", out JsonElement xywh) && xywh.GetBoolean())
        {
            args.Set("format", "cxcywh"); // ultralytics' xywh is centre, width, height
        }

        foreach (string name in VectorParameters)
        {
            if (entry.Parameter(name) is not null && vector(name) is { } v)
            {
                args.Set(name, v);
            }
        }

        return args;
    }

    /// <summary>A golden parameter value in the schema's type (golden "easy" is the fallback easy_margin).</summary>
    public static object Scalar(LossParameter p, JsonElement v) => p.Type switch
    {
        ParameterType.Reduction => Enum.Parse<Reduction>(v.GetString()!, ignoreCase: true),
        ParameterType.Choice => v.GetString() is "easy" ? "easy_margin" : v.GetString()!,
        ParameterType.Bool => v.GetBoolean(),
        ParameterType.Int => (int)v.GetDouble(),
        _ => v.GetDouble(),
    };
}
