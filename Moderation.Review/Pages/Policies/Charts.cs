using System.Globalization;
using System.Xml.Linq;
using Microsoft.AspNetCore.Html;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// Charts drawn on the server as inline SVG, built with <see cref="XElement"/> (so every text is escaped): geometry in
/// SVG attributes, colours from classes in review.css. No script and no <c>style</c> attribute, so the workbench's
/// Content-Security-Policy (<c>script-src 'self'; style-src 'self'</c>, no <c>'unsafe-inline'</c>) holds.
/// </summary>
public static class Charts
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private const double Width = 760, Height = 240, Left = 48, Right = 12, Top = 12, Bottom = 40;

    /// <summary>Values of one series; <see cref="CssClass"/> picks its colour (<c>live</c>, <c>draft</c>, <c>review</c>, ...).</summary>
    public sealed record Series(string Name, string CssClass, IReadOnlyList<double> Values);

    /// <summary>A vertical line at <see cref="X"/> (a position in the bars' domain, 0 to the number of groups).</summary>
    public sealed record Marker(double X, string Label, string CssClass);

    /// <summary>A line through points in [0, 1] × [0, 1].</summary>
    public sealed record Line(string Name, string CssClass, IReadOnlyList<(double X, double Y, string Title)> Points);

    /// <summary>Grouped bars: one group per label, one bar per series, from zero up to the largest value.</summary>
    public static IHtmlContent Bars(string id, string title, IReadOnlyList<string> labels, IReadOnlyList<Series> series, IReadOnlyList<Marker>? markers = null)
    {
        var max = Math.Max(1, series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max());
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        var group = labels.Count == 0 ? plotWidth : plotWidth / labels.Count;
        var bar = group * 0.8 / Math.Max(1, series.Count);
        var svg = Frame(id, title);
        svg.Add(YAxis(max, plotHeight));
        for (var i = 0; i < labels.Count; i++)
        {
            var x0 = Left + i * group + group * 0.1;
            for (var s = 0; s < series.Count; s++)
            {
                var value = i < series[s].Values.Count ? series[s].Values[i] : 0;
                var h = value / max * plotHeight;
                svg.Add(new XElement(Svg + "rect",
                    new XAttribute("class", "bar " + series[s].CssClass),
                    Attr("x", x0 + s * bar), Attr("y", Top + plotHeight - h), Attr("width", Math.Max(bar - 1, 1)), Attr("height", h),
                    new XElement(Svg + "title", $"{labels[i]} · {series[s].Name}: {Number(value)}")));
            }
            // Label every group while they fit, else every n-th.
            var every = Math.Max(1, (int)Math.Ceiling(labels.Count / 12.0));
            if (i % every == 0)
                svg.Add(Text(Left + i * group + group / 2, Height - Bottom + 16, labels[i], "axis-label", "middle"));
        }
        foreach (var m in markers ?? [])
        {
            var x = Left + m.X * group;
            svg.Add(new XElement(Svg + "line", new XAttribute("class", "marker " + m.CssClass),
                Attr("x1", x), Attr("x2", x), Attr("y1", Top), Attr("y2", Top + plotHeight), new XElement(Svg + "title", m.Label)));
            svg.Add(Text(x + 3, Top + 10, m.Label, "marker-label " + m.CssClass, "start"));
        }
        return Html(svg, series.Select(s => (s.Name, s.CssClass)));
    }

    /// <summary>
    /// Per day, the uploads two versions sent to review and actioned, side by side (the backtest's and the shadow diff's
    /// chart): <paramref name="rows"/> hold each day (<c>yyyy-MM-dd</c>) with the outcomes under the first and the second.
    /// </summary>
    public static IHtmlContent ReviewAndActionPerDay(string id, string title, string first, string second,
        IReadOnlyList<(string Day, Moderation.Core.Policies.OutcomeCounts First, Moderation.Core.Policies.OutcomeCounts Second)> rows) =>
        Bars(id, title, rows.Select(r => r.Day[5..]).ToList(),
        [
            new Series($"review · {first}", "live-review", rows.Select(r => (double)r.First.Review).ToList()),
            new Series($"review · {second}", "draft-review", rows.Select(r => (double)r.Second.Review).ToList()),
            new Series($"action · {first}", "live-action", rows.Select(r => (double)r.First.Action).ToList()),
            new Series($"action · {second}", "draft-action", rows.Select(r => (double)r.Second.Action).ToList()),
        ]);

    /// <summary>Lines in the unit square (precision and recall, say), with axes from 0 to 1.</summary>
    public static IHtmlContent Lines(string id, string title, string xLabel, string yLabel, IReadOnlyList<Line> lines)
    {
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        var svg = Frame(id, title);
        svg.Add(YAxis(1, plotHeight, fraction: true));
        for (var t = 0; t <= 10; t += 2)
            svg.Add(Text(Left + t / 10.0 * plotWidth, Height - Bottom + 16, Number(t / 10.0), "axis-label", "middle"));
        svg.Add(Text(Left + plotWidth / 2, Height - 4, xLabel, "axis-title", "middle"));
        svg.Add(Text(4, Top + 8, yLabel, "axis-title", "start"));
        foreach (var line in lines)
        {
            var points = line.Points.Select(p => (X: Left + p.X * plotWidth, Y: Top + (1 - p.Y) * plotHeight, p.Title)).ToList();
            if (points.Count > 1)
                svg.Add(new XElement(Svg + "polyline", new XAttribute("class", "line " + line.CssClass),
                    new XAttribute("points", string.Join(" ", points.Select(p => $"{Coordinate(p.X)},{Coordinate(p.Y)}")))));
            foreach (var p in points)
                svg.Add(new XElement(Svg + "circle", new XAttribute("class", "point " + line.CssClass), Attr("cx", p.X), Attr("cy", p.Y), Attr("r", 3),
                    new XElement(Svg + "title", $"{line.Name}: {p.Title}")));
        }
        return Html(svg, lines.Select(l => (l.Name, l.CssClass)));
    }

    private static XElement Frame(string id, string title) => new(Svg + "svg",
        new XAttribute("id", id), new XAttribute("class", "chart"), new XAttribute("role", "img"), new XAttribute("aria-label", title),
        new XAttribute("viewBox", $"0 0 {Coordinate(Width)} {Coordinate(Height)}"), new XAttribute("preserveAspectRatio", "xMinYMin meet"),
        new XElement(Svg + "title", title));

    private static IEnumerable<XElement> YAxis(double max, double plotHeight, bool fraction = false)
    {
        yield return new XElement(Svg + "line", new XAttribute("class", "axis"), Attr("x1", Left), Attr("x2", Left), Attr("y1", Top), Attr("y2", Top + plotHeight));
        yield return new XElement(Svg + "line", new XAttribute("class", "axis"), Attr("x1", Left), Attr("x2", Width - Right), Attr("y1", Top + plotHeight), Attr("y2", Top + plotHeight));
        foreach (var step in new[] { 0, 0.5, 1 })
        {
            var y = Top + (1 - step) * plotHeight;
            yield return new XElement(Svg + "line", new XAttribute("class", "grid-line"), Attr("x1", Left), Attr("x2", Width - Right), Attr("y1", y), Attr("y2", y));
            yield return Text(Left - 4, y + 4, fraction ? Number(step) : Number(Math.Round(max * step, max * step < 10 ? 1 : 0)), "axis-label", "end");
        }
    }

    private static XElement Text(double x, double y, string text, string cssClass, string anchor) =>
        new(Svg + "text", new XAttribute("class", cssClass), Attr("x", x), Attr("y", y), new XAttribute("text-anchor", anchor), text);

    private static XAttribute Attr(string name, double value) => new(name, Coordinate(value));

    private static string Coordinate(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("#,0.##", CultureInfo.InvariantCulture);

    /// <summary>The chart and its legend; the swatches are SVG too, so no colour needs a style attribute.</summary>
    private static HtmlString Html(XElement svg, IEnumerable<(string Name, string CssClass)> legend)
    {
        var items = legend.Select(l => new XElement("li",
            new XElement(Svg + "svg", new XAttribute("class", "swatch"), new XAttribute("viewBox", "0 0 10 10"), new XAttribute("aria-hidden", "true"),
                new XElement(Svg + "rect", new XAttribute("class", "bar " + l.CssClass), new XAttribute("width", "10"), new XAttribute("height", "10"))),
            " " + l.Name));
        var figure = new XElement("figure", new XAttribute("class", "chart-figure"), svg, new XElement("ul", new XAttribute("class", "legend"), items));
        return new HtmlString(figure.ToString(SaveOptions.DisableFormatting));
    }
}
