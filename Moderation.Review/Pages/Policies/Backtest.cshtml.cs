using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// The backtest of a version over a window (<see cref="PolicyBacktest"/>, as <c>POST /v1/policies/{id}/backtest</c>):
/// per category the outcomes under it and under the version it is compared with, a chart of the review and action
/// volumes per day, precision and recall with their 95% intervals (flagged under 30 effective labels), and the
/// uploads whose routing would change, a page at a time, each linked to its item page.
/// </summary>
public sealed class PolicyBacktestModel(PolicyBacktest backtest, PolicyVersions policies, TimeProvider time) : PageModel, IShowsRefusals
{
    public const int ChangesPerPage = 50;

    public PolicyVersion Version { get; private set; } = null!;
    public IReadOnlyList<PolicyVersion> Others { get; private set; } = [];
    public BacktestResult? Result { get; private set; }
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }

    /// <summary>The form as typed: the window's first and last day (UTC, both included), the version to compare with, the chart's category.</summary>
    public string From { get; private set; } = "";
    public string To { get; private set; } = "";
    public string? Against { get; private set; }
    public string? Chart { get; private set; }
    public string? After { get; private set; }

    public async Task<IActionResult> OnGetAsync(string id, string? from, string? to, string? against, string? chart, string? after, CancellationToken ct)
    {
        await LoadAsync(id, ct);
        var today = time.GetUtcNow().UtcDateTime.Date;
        From = from ?? PolicyFormat.Day(today.AddDays(-6));
        To = to ?? PolicyFormat.Day(today);
        Against = string.IsNullOrEmpty(against) ? null : against;
        Chart = string.IsNullOrEmpty(chart) ? null : chart;
        After = string.IsNullOrEmpty(after) ? null : after;
        if (from is null && to is null) return Page(); // the form first; a backtest reads every score of the window
        var start = PolicyFormat.ParseDay(From) ?? throw Refusal.Invalid("from", "must be a date (yyyy-MM-dd)");
        var end = (PolicyFormat.ParseDay(To) ?? throw Refusal.Invalid("to", "must be a date (yyyy-MM-dd)")).AddDays(1);
        Result = await backtest.RunAsync(id, Against, start, end, After, ChangesPerPage, ct);
        return Page();
    }

    private async Task LoadAsync(string id, CancellationToken ct)
    {
        Version = await policies.FindAsync(id, ct) ?? throw PolicyVersions.NotFound(id);
        Others = (await policies.ListAsync(ct)).Where(v => v.Version != id).ToList();
    }

    public async Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        if (Version is null) return NotFound();
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Result = null;
        await Task.CompletedTask;
        return Page();
    }

    /// <summary>This backtest's form values with another page of changes (or chart category), as a link.</summary>
    public string Link(string? after = null, string? chart = null) => Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(
        $"/review/policies/backtest/{Uri.EscapeDataString(Version.Version)}",
        new Dictionary<string, string?> { ["from"] = From, ["to"] = To, ["against"] = Against, ["chart"] = chart ?? Chart, ["after"] = after }
            .Where(p => !string.IsNullOrEmpty(p.Value)));

    /// <summary>Per day, the uploads sent to review and actioned under each version (one category's, or all categories' routings summed).</summary>
    public IHtmlContent DayChart()
    {
        var result = Result!;
        var rows = result.Days.Where(d => Chart is null || d.Category == Chart)
            .GroupBy(d => d.Day, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Select(d => d.Against).Aggregate((a, b) => a + b), g.Select(d => d.Candidate).Aggregate((a, b) => a + b)))
            .ToList();
        return Charts.ReviewAndActionPerDay("day-chart", $"Review and action per day ({Chart ?? "all categories"}), {result.Against} against {result.Candidate}",
            result.Against, result.Candidate, rows);
    }
}
