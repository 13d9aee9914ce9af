using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using LossKit.Tests.Cli;
using Xunit.Sdk;

namespace LossKit.Tests.Fuzz;

/// <summary>
/// <c>losskit eval</c> on mutated documents (FsCheck, fixed seed): valid eval documents truncated, with characters
/// flipped, keys deleted, values of the wrong type, huge or negative shapes, NaN / Infinity tokens and deep nesting. The
/// tool either evaluates (exit 0, JSON on stdout) or fails with exit ≠ 0 and exactly one stderr line starting
/// "error: "; never an escaping exception or a stack trace.
/// </summary>
public sealed class CliFuzzTests
{
    private const int Cases = 300;

    private static readonly string[] Documents =
    [
        """{"loss": "cross_entropy", "params": {"reduction": "mean", "label_smoothing": 0.1}, "inputs": {"input": {"shape": [2, 3], "data": [1, 2, 3, 0.5, -1, 2]}, "target": {"shape": [2], "data": [0, 2]}}}""",
        """{"loss": "smooth_l1", "params": {"reduction": "none", "beta": 0.5}, "inputs": {"input": [[0.1, 2.0], [-3.0, 0.2]], "target": [[0, 0], [0, 0]]}}""",
        """{"loss": "giou", "params": {"reduction": "sum", "format": "xyxy"}, "inputs": {"input": [[0, 0, 2, 2], [1, 1, 3, 4]], "target": [[0.5, 0.5, 2, 3], [1, 1, 3, 3]]}}""",
        """{"loss": "quality_focal", "params": {"beta": 2}, "inputs": {"input": [[0.2, -1.0, 0.5], [1.5, 0.1, -0.3]], "labels": [1, 3], "scores": [0.8, 0.0]}}""",
        """{"loss": "center", "dtype": "float32", "inputs": {"input": [[1, 2], [3, 4]], "target": [0, 1], "centers": [[0, 0], [1, 1]]}}""",
        """{"loss": "faster_rcnn_roi", "inputs": {"class_logits": [[0.5, 1.0]], "box_regression": [[0, 0, 0, 0, 0.1, 0.2, 0.1, 0.2]], "labels": [1], "regression_targets": [[0.1, 0.1, 0.2, 0.2]]}}""",
    ];

    private static readonly string[] WrongValues =
        ["\"text\"", "true", "null", "{}", "[]", "-1", "1e400", "-1e400", "[[1, 2], [3]]", "{\"shape\": [2], \"data\": [1]}", "\"NaN\"", "2147483648", "0.5"];

    private static readonly string[] Shapes = ["[2147483647, 2147483647]", "[4294967296]", "[-1]", "[1e10]", "[0]", "[1.5]", "[]", "[2147483647, 2, 2147483647, 2]"];

    [Fact]
    public void MutatedEvalDocuments_FailWithOneErrorLine()
    {
        Gen<(string Doc, string Mutation)> cases =
            from doc in Gen.Elements(Documents)
            from m in Gen.Frequency(
                (2, Truncate(doc)), (3, Flip(doc)), (2, DeleteKey(doc)), (3, WrongType(doc)), (2, HugeShape(doc)), (2, NaNToken(doc)), (1, Nest(doc)))
            select m;
        FuzzConfig.Check("cli/eval", cases, Cases, c =>
        {
            CliRunner.Result r;
            try
            {
                r = CliRunner.RunWithInput(c.Doc, "eval", "-");
            }
            catch (Exception e)
            {
                throw new XunitException($"{c.Mutation}: {e.GetType().Name} escaped the tool (a stack trace for the user): {e.Message}\n{c.Doc}");
            }

            Assert.DoesNotContain("   at ", r.Stderr + r.Stdout, StringComparison.Ordinal);
            if (r.ExitCode == 0)
            {
                using JsonDocument output = JsonDocument.Parse(r.Stdout); // a result: the JSON document
                return;
            }

            string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length != 1 || !lines[0].StartsWith("error: ", StringComparison.Ordinal))
            {
                throw new XunitException($"{c.Mutation}: exit {r.ExitCode} with stderr of {lines.Length} lines (expected one 'error: ' line):\n{r.Stderr}\ndocument: {c.Doc}");
            }
        });
    }

    private static Gen<(string, string)> Truncate(string doc) =>
        Gen.Choose(0, doc.Length - 1).Select(k => (doc[..k], $"truncated at {k}"));

    private static Gen<(string, string)> Flip(string doc) =>
        from k in Gen.Choose(0, doc.Length - 1)
        from ch in Gen.Elements("{}[]\",:0123456789-+.eEaxN \\\u00e9\u0000".ToCharArray())
        select (doc[..k] + ch + doc[(k + 1)..], $"character {k} → U+{(int)ch:X4}");

    /// <summary>Every (object, key) of the document, in document order.</summary>
    private static List<(JsonObject Owner, string Key)> Keys(JsonNode node)
    {
        var keys = new List<(JsonObject, string)>();
        void Walk(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach ((string k, JsonNode? v) in o)
                    {
                        keys.Add((o, k));
                        Walk(v);
                    }

                    break;
                case JsonArray a:
                    foreach (JsonNode? v in a)
                    {
                        Walk(v);
                    }

                    break;
            }
        }

        Walk(node);
        return keys;
    }

    private static Gen<(string, string)> DeleteKey(string doc)
    {
        int count = Keys(JsonNode.Parse(doc)!).Count;
        return Gen.Choose(0, count - 1).Select(i =>
        {
            JsonNode root = JsonNode.Parse(doc)!;
            (JsonObject owner, string key) = Keys(root)[i];
            owner.Remove(key);
            return (root.ToJsonString(), $"key '{key}' deleted");
        });
    }

    private static Gen<(string, string)> WrongType(string doc)
    {
        int count = Keys(JsonNode.Parse(doc)!).Count;
        return from i in Gen.Choose(0, count - 1)
               from v in Gen.Elements(WrongValues)
               select Replace(doc, i, v);
    }

    private static (string, string) Replace(string doc, int index, string value)
    {
        JsonNode root = JsonNode.Parse(doc)!;
        (JsonObject owner, string key) = Keys(root)[index];
        owner[key] = JsonNode.Parse(value.Replace("1e400", "1E400", StringComparison.Ordinal) is var text && text.Contains("E400", StringComparison.Ordinal) ? "0" : text);
        string json = root.ToJsonString();
        if (value.Contains("e400", StringComparison.Ordinal))
        {
            // JsonNode cannot hold 1e400: splice the token in as text.
            json = json.Replace($"\"{key}\":0", $"\"{key}\":{value}", StringComparison.Ordinal);
        }

        return (json, $"'{key}' = {value}");
    }

    private static Gen<(string, string)> HugeShape(string doc) =>
        Gen.Elements(Shapes).Select(s =>
        {
            JsonNode root = JsonNode.Parse(doc)!;
            JsonObject inputs = root["inputs"]!.AsObject();
            string name = inputs.First().Key;
            JsonNode? data = inputs[name] is JsonObject o ? o["data"]!.DeepClone() : inputs[name]!.DeepClone();
            inputs[name] = new JsonObject { ["shape"] = JsonNode.Parse(s.Replace("1e10", "10000000000", StringComparison.Ordinal)), ["data"] = data };
            return (root.ToJsonString(), $"inputs.{name}.shape = {s}");
        });

    private static Gen<(string, string)> NaNToken(string doc)
    {
        var numbers = System.Text.RegularExpressions.Regex.Matches(doc, @"(?<=[\[,:]\s*)-?\d+(\.\d+)?").ToList();
        return from i in Gen.Choose(0, numbers.Count - 1)
               from token in Gen.Elements("NaN", "Infinity", "-Infinity", "\"NaN\"", "\"Infinity\"", "nan", "1e999")
               let m = numbers[i]
               select (doc[..m.Index] + token + doc[(m.Index + m.Length)..], $"number {i} → {token}");
    }

    private static Gen<(string, string)> Nest(string doc) =>
        Gen.Elements(65, 200, 5000).Select(depth =>
        {
            int at = doc.IndexOf("\"inputs\"", StringComparison.Ordinal);
            string nested = new string('[', depth) + "1" + new string(']', depth);
            return (doc[..at] + $"\"deep\": {nested}, " + doc[at..], $"{depth} nested arrays");
        });
}
