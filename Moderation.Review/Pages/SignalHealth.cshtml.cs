using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;
using Moderation.Core.Signals;
using Moderation.Review.Edge;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>
/// Signal health for policy users: per source (model head and version, hash bank, claim) over a window of days, volume,
/// precision against human decisions with its interval, drift (PSI) and the flags, and a quarantine or a release in one
/// step (a reason required, audited with the user as the actor), as <c>/v1/signal-health</c> does.
/// </summary>
public sealed class SignalHealthModel(SignalHealth health, SignalQuarantines quarantines, TimeProvider time) : PageModel, IShowsRefusals
{
    public SignalHealthReport Report { get; private set; } = null!;
    public string From { get; private set; } = "";
    public string To { get; private set; } = "";
    public string? Message { get; private set; }
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }

    public async Task OnGetAsync(string? from, string? to, string? message, CancellationToken ct)
    {
        Message = message;
        await LoadAsync(from, to, ct);
    }

    public async Task<IActionResult> OnPostQuarantineAsync(string? source, string? reason, CancellationToken ct)
    {
        var result = await quarantines.QuarantineAsync(source ?? "", Actor, reason, ct);
        return Redirect("/review/signalhealth?message=" + Uri.EscapeDataString(
            $"Quarantined {result.Quarantine.Source}; {result.RetractedSignals.Count} acting signal(s) retracted."));
    }

    public async Task<IActionResult> OnPostReleaseAsync(string? source, string? reason, CancellationToken ct)
    {
        var released = await quarantines.ReleaseAsync(source ?? "", Actor, reason, ct);
        return Redirect("/review/signalhealth?message=" + Uri.EscapeDataString($"Released {released.Source}: it acts on new uploads again."));
    }

    public async Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        Error = refusal.Message;
        ErrorField = refusal.Field;
        await LoadAsync(null, null, ct);
        return Page();
    }

    private async Task LoadAsync(string? from, string? to, CancellationToken ct)
    {
        // Whole UTC days: to is the end of its day (today by default), from the start of its day.
        var end = Day("to", to) is { } toDay ? toDay.AddDays(1) : time.GetUtcNow().UtcDateTime.Date.AddDays(1);
        var start = Day("from", from);
        Report = await health.ReadAsync(start is null ? null : new DateTimeOffset(start.Value, TimeSpan.Zero), new DateTimeOffset(end, TimeSpan.Zero), ct);
        From = Report.From.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        To = Report.To.UtcDateTime.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    private static DateTime? Day(string name, string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        return DateTime.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day)
            ? day.Date
            : throw Refusal.Invalid(name, "must be a date, yyyy-MM-dd");
    }

    private string Actor => AuditActors.User(User.ToReviewer().Name);
}
