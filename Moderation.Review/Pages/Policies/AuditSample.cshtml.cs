using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// The audit sample for policy staff (<see cref="AuditSampleReport"/>, as <c>GET /v1/policies/audit-sample</c>): how
/// many uploads each stratum drew and how many still wait for a person, and per category the prevalence, precision and
/// recall the design's labels estimate. The audited items are not listed: in the queues they stay ordinary, blind tasks.
/// </summary>
public sealed class AuditSampleModel(AuditSampleReport report, TimeProvider time) : PageModel, IShowsRefusals
{
    public AuditSampleSummary? Result { get; private set; }
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }
    public string From { get; private set; } = "";
    public string To { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(string? from, string? to, CancellationToken ct)
    {
        var today = time.GetUtcNow().UtcDateTime.Date;
        From = from ?? PolicyFormat.Day(today.AddDays(-6));
        To = to ?? PolicyFormat.Day(today);
        var start = PolicyFormat.ParseDay(From) ?? throw Refusal.Invalid("from", "must be a date (yyyy-MM-dd)");
        var end = (PolicyFormat.ParseDay(To) ?? throw Refusal.Invalid("to", "must be a date (yyyy-MM-dd)")).AddDays(1);
        Result = await report.ReportAsync(start, end, ct);
        return Page();
    }

    public Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Result = null;
        return Task.FromResult<IActionResult>(Page());
    }
}
