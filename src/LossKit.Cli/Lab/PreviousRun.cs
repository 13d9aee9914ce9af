using System.Text.Json;
using LossKit.Cli.Commands;

namespace LossKit.Cli.Lab;

/// <summary>
/// Another lab run's results.json (--compare): claims whose verdict differs from this run's are flagged in this report and,
/// when that run's index.html sits beside its results.json, in that report too.
/// </summary>
internal sealed class PreviousRun
{
    private readonly Dictionary<(string Experiment, string Claim), string> _verdicts;

    private PreviousRun(string resultsPath, string size, Dictionary<(string, string), string> verdicts)
    {
        ResultsPath = resultsPath;
        Size = size;
        _verdicts = verdicts;
    }

    public string ResultsPath { get; }

    /// <summary>The other run's size name ("default", "full", ...).</summary>
    public string Size { get; }

    public string Description => $"the {Size}-size run in {Path.GetDirectoryName(Path.GetFullPath(ResultsPath))}";

    /// <summary>Reads a results.json (or the one in a report folder); a clear error when it is missing or not a lab result.</summary>
    public static PreviousRun Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "results.json") : path;
        if (!File.Exists(file))
        {
            throw new CliException($"--compare: no lab results at '{file}'");
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            JsonElement root = doc.RootElement;
            string size = root.GetProperty("size").GetString() ?? "?";
            var verdicts = new Dictionary<(string, string), string>();
            foreach (JsonElement e in root.GetProperty("experiments").EnumerateArray())
            {
                string id = e.GetProperty("id").GetString() ?? "";
                foreach (JsonElement c in e.GetProperty("comparisons").EnumerateArray())
                {
                    verdicts[(id, c.GetProperty("claim").GetString() ?? "")] = c.GetProperty("verdict").GetString() ?? "";
                }
            }

            return new PreviousRun(file, size, verdicts);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CliException($"--compare: '{file}' is not a lab results.json with comparisons ({ex.Message.ReplaceLineEndings(" ")})");
        }
    }

    /// <summary>Marks this run's comparisons whose verdict differs; returns the notice for the other report (null if none).</summary>
    public string? MarkFlips(IEnumerable<ExperimentReport> reports, string thisSize)
    {
        var flipped = new List<string>();
        foreach (ExperimentReport r in reports)
        {
            foreach (Comparison c in r.Comparisons)
            {
                if (_verdicts.TryGetValue((r.Id, c.Claim), out string? other) && Enum.TryParse(other, out Verdict v) && v != c.Verdict)
                {
                    c.Flip = $"{HtmlReport.VerdictWord(v)} at size {Size}";
                    flipped.Add($"{r.Id}: \"{c.Claim}\" is {HtmlReport.VerdictWord(v)} here but {HtmlReport.VerdictWord(c.Verdict)} at size {thisSize}");
                }
            }
        }

        return flipped.Count == 0 ? null : $"Verdicts that flip against the {thisSize}-size run: " + string.Join("; ", flipped) + ".";
    }

    /// <summary>Puts the notice into the other run's index.html (atomically), when there is one.</summary>
    public void FlagOtherReport(string notice)
    {
        string html = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ResultsPath))!, "index.html");
        if (!File.Exists(html))
        {
            return;
        }

        string tmp = html + ".tmp";
        File.WriteAllText(tmp, HtmlReport.InsertFlipNotice(File.ReadAllText(html), notice));
        File.Move(tmp, html, overwrite: true);
    }
}
