using System.Text.Json;
using System.Xml;
using System.Xml.Linq;

namespace LossKit.Tests.Cli;

public class LabCommandTests
{
    private static readonly XNamespace Xhtml = "http://www.w3.org/1999/xhtml";
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly string[] Sections = ["imbalance", "outliers", "saturation", "boxes", "embeddings"];

    [Fact]
    public void TinyLab_WritesAParsableReportWithEverySection()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--out", dir.Path, "--quiet");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("Loss lab", r.Stdout);

        string html = File.ReadAllText(Path.Combine(dir.Path, "index.html"));
        XDocument doc = XDocument.Parse(html, LoadOptions.None);
        Assert.Equal(Xhtml + "html", doc.Root!.Name);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);

        var sections = doc.Descendants(Xhtml + "section").ToList();
        Assert.Equal(Sections, sections.Select(s => (string)s.Attribute("id")!));
        foreach (XElement section in sections)
        {
            // Claim, computed verdict, setup, at least one table and one chart.
            Assert.Single(section.Elements(Xhtml + "h2"));
            Assert.Contains(section.Descendants(Xhtml + "div"), d => ((string?)d.Attribute("class"))?.StartsWith("claim", StringComparison.Ordinal) == true);
            XElement verdict = section.Descendants(Xhtml + "div").Single(d => ((string?)d.Attribute("class"))?.StartsWith("verdict", StringComparison.Ordinal) == true);
            Assert.Matches("^(Confirmed|Partly reproduced|Not reproduced): .*[0-9]", verdict.Value);
            Assert.NotEmpty(section.Descendants(Xhtml + "table"));
            Assert.NotEmpty(section.Descendants(Svg + "svg"));
        }

        using JsonDocument results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "results.json")));
        Assert.Equal(Sections, results.RootElement.GetProperty("experiments").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public void Lab_OnlyAndOptionErrors()
    {
        using var dir = new CliRunner.TempDir();
        CliRunner.Result r = CliRunner.Run("lab", "--tiny", "--only", "3,outliers", "--out", dir.Path, "-q");
        Assert.True(r.ExitCode == 0, r.Stderr);
        XDocument doc = XDocument.Load(Path.Combine(dir.Path, "index.html"));
        Assert.Equal(["outliers", "saturation"], doc.Descendants(Xhtml + "section").Select(s => (string)s.Attribute("id")!));

        r = CliRunner.Run("lab", "--only", "9", "--out", dir.Path, "-q");
        Assert.Contains("unknown experiment '9'", Assert.Single(r.ErrorLines));
        r = CliRunner.Run("lab", "--tiny", "--full", "--out", dir.Path, "-q");
        Assert.Contains("only one of", Assert.Single(r.ErrorLines));
        r = CliRunner.Run("lab", "--scale", "-1", "--out", dir.Path, "-q");
        Assert.Equal(1, r.ExitCode);
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
