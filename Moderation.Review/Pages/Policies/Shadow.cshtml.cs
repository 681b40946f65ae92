using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// What a shadow version did beside live routing (<see cref="ShadowDiff"/>, as <c>GET /v1/policies/{id}/shadow</c> and
/// <c>/shadow/changes</c>): per category the live outcomes against the shadow's, a chart of review and action per day,
/// and the uploads whose outcome it would change, a page at a time, each linked to its item page.
/// </summary>
public sealed class PolicyShadowModel(ShadowDiff diff, PolicyVersions policies, TimeProvider time) : PageModel, IShowsRefusals
{
    public const int ChangesPerPage = 50;

    public PolicyVersion Version { get; private set; } = null!;
    public ShadowDiffSummary? Summary { get; private set; }
    public ShadowChangePage? Changes { get; private set; }
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }

    /// <summary>The form as typed: the window's first and last day of routing (UTC, both included), the chart's category.</summary>
    public string From { get; private set; } = "";
    public string To { get; private set; } = "";
    public string? Chart { get; private set; }
    public string? After { get; private set; }

    public async Task<IActionResult> OnGetAsync(string id, string? from, string? to, string? chart, string? after, CancellationToken ct)
    {
        Version = await policies.FindAsync(id, ct) ?? throw PolicyVersions.NotFound(id);
        var today = time.GetUtcNow().UtcDateTime.Date;
        From = string.IsNullOrEmpty(from) ? PolicyFormat.Day(today.AddDays(-6)) : from;
        To = string.IsNullOrEmpty(to) ? PolicyFormat.Day(today) : to;
        Chart = string.IsNullOrEmpty(chart) ? null : chart;
        After = string.IsNullOrEmpty(after) ? null : after;
        var start = PolicyFormat.ParseDay(From) ?? throw Refusal.Invalid("from", "must be a date (yyyy-MM-dd)");
        var end = (PolicyFormat.ParseDay(To) ?? throw Refusal.Invalid("to", "must be a date (yyyy-MM-dd)")).AddDays(1);
        Summary = await diff.SummaryAsync(id, start, end, ct);
        Changes = await diff.ChangesAsync(id, start, end, null, After, ChangesPerPage, ct);
        return Page();
    }

    public Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        if (Version is null) return Task.FromResult<IActionResult>(NotFound());
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Summary = null;
        Changes = null;
        return Task.FromResult<IActionResult>(Page());
    }

    /// <summary>This page's window with another page of changes (or chart category), as a link.</summary>
    public string Link(string? after = null, string? chart = null) => Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(
        $"/review/policies/shadow/{Uri.EscapeDataString(Version.Version)}",
        new Dictionary<string, string?> { ["from"] = From, ["to"] = To, ["chart"] = chart ?? Chart, ["after"] = after }
            .Where(p => !string.IsNullOrEmpty(p.Value)));

    /// <summary>Per day, the uploads sent to review and actioned live and under the shadow (one category's, or all summed).</summary>
    public IHtmlContent DayChart()
    {
        var summary = Summary!;
        var rows = summary.Days.Where(d => Chart is null || d.Category == Chart)
            .GroupBy(d => d.Day, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Select(d => d.Live).Aggregate((a, b) => a + b), g.Select(d => d.Shadow).Aggregate((a, b) => a + b)))
            .ToList();
        return Charts.ReviewAndActionPerDay("shadow-day-chart", $"Review and action per day ({Chart ?? "all categories"}), live against {summary.Version}",
            "live", summary.Version, rows);
    }
}
