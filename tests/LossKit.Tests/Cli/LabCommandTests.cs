using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using LossKit.Cli.Commands;

namespace LossKit.Tests.Cli;

// The tests in this class share LabCommand.TestHook (static); a class is one xUnit collection, so they never overlap.
public class LabCommandTests
{
    private static readonly XNamespace Xhtml = "http://www.w3.org/1999/xhtml";
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly string[] Sections = ["imbalance", "outliers", "saturation", "boxes", "embeddings"];
    private static readonly string[] Verdicts = ["Confirmed", "Inconclusive", "NotReproduced"];

    [Fact]
    public void TinyLab_WritesAParsableReportWithEverySection()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--out", dir.Path, "--quiet");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("Loss lab, size tiny", r.Stdout);

        string html = File.ReadAllText(Path.Combine(dir.Path, "index.html"));
        XDocument doc = XDocument.Parse(html, LoadOptions.None);
        Assert.Equal(Xhtml + "html", doc.Root!.Name);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);

        // The size that produced it and the rule, stated once at the top.
        Assert.Contains("produced at size <strong>tiny</strong>", html);
        Assert.Contains("Confirmed when both intervals lie above 0", html);

        var sections = doc.Descendants(Xhtml + "section").ToList();
        Assert.Equal(Sections, sections.Select(s => (string)s.Attribute("id")!));
        foreach (XElement section in sections)
        {
            // Claim, computed verdict, the claims table with intervals, setup, at least one table and the strip plot.
            Assert.Single(section.Elements(Xhtml + "h2"));
            Assert.Contains(section.Descendants(Xhtml + "div"), d => ((string?)d.Attribute("class"))?.StartsWith("claim", StringComparison.Ordinal) == true);
            XElement verdict = section.Descendants(Xhtml + "div").Single(d => ((string?)d.Attribute("class"))?.StartsWith("verdict", StringComparison.Ordinal) == true);
            Assert.Matches("^(Confirmed|Inconclusive|Not reproduced): .*[0-9]", verdict.Value);
            Assert.Contains(section.Descendants(Xhtml + "caption"), c => c.Value.StartsWith("Paired differences", StringComparison.Ordinal));
            Assert.Contains(section.Descendants(Xhtml + "th"), th => th.Value == "t-interval");
            Assert.Contains(section.Descendants(Xhtml + "p"), p => p.Value.StartsWith("Rule: paired over ", StringComparison.Ordinal));
            Assert.Contains(section.Descendants(Svg + "title"), t => t.Value.StartsWith("Claimed differences: ", StringComparison.Ordinal));
            Assert.True(section.Descendants(Svg + "circle").Count() >= 4, "per-unit dots");
        }

        using JsonDocument results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "results.json")));
        JsonElement root = results.RootElement;
        Assert.Equal("tiny", root.GetProperty("size").GetString());
        Assert.True(root.GetProperty("complete").GetBoolean());
        Assert.Equal(10_000, root.GetProperty("rule").GetProperty("bootstrap_resamples").GetInt32());
        Assert.Equal(Sections, root.GetProperty("experiments").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public void ResultsJson_CarriesIntervalsAndPerUnitValues_SoVerdictsCanBeRecomputed()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--only", "2,3", "--out", dir.Path, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using JsonDocument results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "results.json")));
        int comparisons = 0;
        foreach (JsonElement e in results.RootElement.GetProperty("experiments").EnumerateArray())
        {
            var claims = e.GetProperty("comparisons").EnumerateArray().ToList();
            Assert.NotEmpty(claims);
            var verdicts = new List<string>();
            foreach (JsonElement c in claims)
            {
                comparisons++;
                double[] claimed = [.. c.GetProperty("claimed_values").EnumerateArray().Select(v => v.GetDouble())];
                double[] other = [.. c.GetProperty("other_values").EnumerateArray().Select(v => v.GetDouble())];
                double[] d = [.. c.GetProperty("differences").EnumerateArray().Select(v => v.GetDouble())];
                bool higher = c.GetProperty("higher_is_better").GetBoolean();
                Assert.Equal(c.GetProperty("n").GetInt32(), d.Length);
                Assert.True(d.Length >= 2);

                // Recompute outside the tool: orientation, mean, the t-interval (df = n − 1) and the rule.
                for (int i = 0; i < d.Length; i++)
                {
                    Assert.Equal(higher ? claimed[i] - other[i] : other[i] - claimed[i], d[i], 1e-12);
                }

                double mean = d.Average(), sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1));
                double half = LossKit.Cli.Lab.PairedStats.StudentTQuantile(0.975, d.Length - 1) * sd / Math.Sqrt(d.Length);
                double[] t = [.. c.GetProperty("t_interval").EnumerateArray().Select(v => v.GetDouble())];
                double[] boot = [.. c.GetProperty("bootstrap_interval").EnumerateArray().Select(v => v.GetDouble())];
                Assert.Equal(mean, c.GetProperty("mean_difference").GetDouble(), 1e-12);
                Assert.Equal(mean - half, t[0], 1e-9);
                Assert.Equal(mean + half, t[1], 1e-9);
                string expected = t[0] > 0 && boot[0] > 0 ? "Confirmed" : t[1] < 0 && boot[1] < 0 ? "NotReproduced" : "Inconclusive";
                Assert.Equal(expected, c.GetProperty("verdict").GetString());
                verdicts.Add(expected);
            }

            string section = verdicts.All(v => v == "Confirmed") ? "Confirmed" : verdicts.Contains("NotReproduced") ? "NotReproduced" : "Inconclusive";
            Assert.Equal(section, e.GetProperty("verdict").GetString());
            Assert.Contains(section, Verdicts);
        }

        Assert.True(comparisons >= 5, $"{comparisons} comparisons");
    }

    [Fact]
    public void Lab_OnlyAtAnySize_AndOptionErrors()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--only", "3,outliers", "--out", dir.Path, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        XDocument doc = XDocument.Load(Path.Combine(dir.Path, "index.html"));
        Assert.Equal(["outliers", "saturation"], doc.Descendants(Xhtml + "section").Select(s => (string)s.Attribute("id")!));

        // --only with another size: the report says which size produced it.
        r = CliRunner.Run("lab", "--scale", "0.05", "--only", "3", "--out", dir.Path, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using (JsonDocument results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "results.json"))))
        {
            Assert.Equal("scale 0.05", results.RootElement.GetProperty("size").GetString());
            Assert.Equal(["saturation"], results.RootElement.GetProperty("experiments").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        }

        Assert.Contains("produced at size <strong>scale 0.05</strong>", File.ReadAllText(Path.Combine(dir.Path, "index.html")));

        r = CliRunner.Run("lab", "--only", "9", "--out", dir.Path, "-q");
        Assert.Contains("unknown experiment '9'", Assert.Single(r.ErrorLines));
        r = CliRunner.Run("lab", "--tiny", "--full", "--out", dir.Path, "-q");
        Assert.Contains("only one of", Assert.Single(r.ErrorLines));
        r = CliRunner.Run("lab", "--scale", "-1", "--out", dir.Path, "-q");
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public void Lab_PrintsAProgressLinePerExperimentWithTimeLeft()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--only", "2,3", "--out", dir.Path);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches(@"lab \[1/2\] outliers \(tiny\): running; about .* left", r.Stderr);
        Assert.Matches(@"lab \[2/2\] saturation: (Confirmed|Inconclusive|Not reproduced) in [0-9.]+ s; about .* left", r.Stderr);

        r = CliRunner.Run("lab", "--tiny", "--only", "2", "--out", dir.Path, "-q");
        Assert.DoesNotContain("lab [", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Lab_OutIsAnExistingFile_FailsBeforeRunningAnything()
    {
        using var dir = new CliRunner.TempDir();
        string file = dir.File("report.html");
        File.WriteAllText(file, "not a folder");
        var ran = new List<string>();
        LabCommand.TestHook = ran.Add;
        try
        {
            CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--out", file, "-q");
            Assert.Equal(1, r.ExitCode);
            Assert.Matches("^error: --out: '.*report.html' is an existing file", Assert.Single(r.ErrorLines));
            Assert.Empty(ran);
            Assert.Equal("not a folder", File.ReadAllText(file));

            // A report folder whose index.html is a folder cannot be written either: also refused up front.
            Directory.CreateDirectory(Path.Combine(dir.Path, "out", "index.html"));
            r = CliRunner.Run("lab", "--tiny", "--out", Path.Combine(dir.Path, "out"), "-q");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("is a folder", Assert.Single(r.ErrorLines));
            Assert.Empty(ran);
        }
        finally
        {
            LabCommand.TestHook = null;
        }
    }

    [Fact]
    public void Lab_InterruptedRun_LeavesNoPartialReport()
    {
        using var dir = new CliRunner.TempDir();
        string out1 = Path.Combine(dir.Path, "fresh");
        try
        {
            // Failing after the first of two experiments: no report at all.
            LabCommand.TestHook = stage =>
            {
                if (stage == "after:outliers")
                {
                    throw new IOException("injected failure");
                }
            };
            CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--only", "2,3", "--out", out1, "-q");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("injected failure", Assert.Single(r.ErrorLines));
            Assert.Empty(Directory.GetFiles(out1));

            // Failing while writing over an earlier report: the earlier report stays whole, no temporary files remain.
            LabCommand.TestHook = null;
            string out2 = Path.Combine(dir.Path, "earlier");
            Assert.Equal(0, CliRunner.Run("lab", "--tiny", "--only", "2", "--out", out2, "-q").ExitCode);
            string html = File.ReadAllText(Path.Combine(out2, "index.html")), json = File.ReadAllText(Path.Combine(out2, "results.json"));
            LabCommand.TestHook = stage =>
            {
                if (stage == "write")
                {
                    throw new IOException("injected failure while writing");
                }
            };
            r = CliRunner.Run("lab", "--tiny", "--only", "3", "--out", out2, "-q");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal(html, File.ReadAllText(Path.Combine(out2, "index.html")));
            Assert.Equal(json, File.ReadAllText(Path.Combine(out2, "results.json")));
            Assert.Equal(["index.html", "results.json"], Directory.GetFiles(out2).Select(Path.GetFileName).Order());
        }
        finally
        {
            LabCommand.TestHook = null;
        }
    }

    [Fact]
    public void Lab_Compare_FlagsFlippedVerdictsInBothReports()
    {
        using var dir = new CliRunner.TempDir();
        string first = Path.Combine(dir.Path, "first"), second = Path.Combine(dir.Path, "second"), third = Path.Combine(dir.Path, "third");
        Assert.Equal(0, CliRunner.Run("lab", "--tiny", "--only", "2", "--out", first, "-q").ExitCode);

        // The same run compared with itself: nothing flips.
        CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--only", "2", "--out", second, "--compare", first, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.DoesNotContain("Flipped", File.ReadAllText(Path.Combine(second, "index.html")), StringComparison.Ordinal);
        Assert.DoesNotContain("flip against", File.ReadAllText(Path.Combine(first, "index.html")), StringComparison.Ordinal);

        // A run whose first claim had the other verdict (as a run at another size might): flagged here and there.
        string json = File.ReadAllText(Path.Combine(first, "results.json"));
        using (JsonDocument doc = JsonDocument.Parse(json))
        {
            JsonElement c = doc.RootElement.GetProperty("experiments")[0].GetProperty("comparisons")[0];
            string verdict = c.GetProperty("verdict").GetString()!;
            string claim = c.GetProperty("claim").GetString()!;
            string other = verdict == "Confirmed" ? "NotReproduced" : "Confirmed";
            int at = json.IndexOf("\"verdict\": \"" + verdict + "\"", json.IndexOf(JsonSerializer.Serialize(claim), StringComparison.Ordinal), StringComparison.Ordinal);
            json = json.Remove(at, ("\"verdict\": \"" + verdict + "\"").Length).Insert(at, "\"verdict\": \"" + other + "\"");
            json = json.Replace("\"size\": \"tiny\"", "\"size\": \"full\"", StringComparison.Ordinal);
        }

        File.WriteAllText(Path.Combine(first, "results.json"), json);
        r = CliRunner.Run("lab", "--tiny", "--only", "2", "--out", third, "--compare", Path.Combine(first, "results.json"), "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("(flipped)", r.Stdout);
        string thisReport = File.ReadAllText(Path.Combine(third, "index.html"));
        Assert.Contains("Flipped:", thisReport);
        Assert.Contains("at size full", thisReport);
        XDocument.Parse(File.ReadAllText(Path.Combine(first, "index.html")));
        Assert.Contains("Verdicts that flip against the tiny-size run", File.ReadAllText(Path.Combine(first, "index.html")));
        using JsonDocument results = JsonDocument.Parse(File.ReadAllText(Path.Combine(third, "results.json")));
        Assert.Single(results.RootElement.GetProperty("experiments")[0].GetProperty("comparisons").EnumerateArray(), c => c.TryGetProperty("flipped", out _));

        // A missing or foreign comparison file is an error before any work.
        r = CliRunner.Run("lab", "--tiny", "--out", third, "--compare", Path.Combine(dir.Path, "nowhere"), "-q");
        Assert.Contains("--compare: no lab results", Assert.Single(r.ErrorLines));
    }

    [Fact]
    public void HtmlWithDoctype_ParsesAsXml()
    {
        // The report starts with <!DOCTYPE html>; XDocument must accept it without fetching anything.
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Parse, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><body/></html>"), settings);
        Assert.Equal(Xhtml + "html", XDocument.Load(reader).Root!.Name);
    }
}
