using System.Globalization;
using System.Text;

namespace LossKit.Cli.Svg;

/// <summary>Several charts in a grid, with an optional overall title, as one SVG.</summary>
internal sealed class Figure
{
    public Figure(string title, int columns, params Chart[] panels)
    {
        Title = title;
        Columns = Math.Max(1, columns);
        Panels = [.. panels];
    }

    public string Title { get; }

    public int Columns { get; }

    public List<Chart> Panels { get; }

    /// <summary>A standalone SVG document.</summary>
    public string ToSvg()
    {
        int rows = (Panels.Count + Columns - 1) / Columns;
        double cellW = Panels.Count == 0 ? 0 : Panels.Max(p => p.Width);
        double cellH = Panels.Count == 0 ? 0 : Panels.Max(p => p.Height);
        double header = Title.Length > 0 ? 34 : 0;
        double width = cellW * Math.Min(Columns, Math.Max(1, Panels.Count)), height = header + cellH * rows;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Chart.F(width)}\" height=\"{Chart.F(height)}\" viewBox=\"0 0 {Chart.F(width)} {Chart.F(height)}\" font-family=\"{SvgText.FontFamily}\" role=\"img\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{SvgText.Escape(Title)}</title>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Chart.F(width)}\" height=\"{Chart.F(height)}\" fill=\"#ffffff\"/>\n");
        if (Title.Length > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Chart.F(width / 2)}\" y=\"24\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\" fill=\"#111111\">{SvgText.Escape(Title)}</text>\n");
        }

        for (int i = 0; i < Panels.Count; i++)
        {
            Panels[i].Render(sb, cellW * (i % Columns), header + cellH * (i / Columns));
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }
}
