using System.Globalization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Fairness;
using Moderation.Core.Models;

namespace Moderation.Review.Pages;

/// <summary>
/// The fairness report of a model version for the policy team (issue 14, item 7): the template audit per identity group
/// against the floor, and flag and overturn rates on real traffic per group mentioned, against uploads that mention
/// none. The same report as <c>GET /v1/models/{category}/{version}/fairness</c>; bars are server-drawn SVG (no script).
/// </summary>
public sealed class FairnessModel(ModelRegistry registry, FairnessReports reports) : PageModel
{
    public IReadOnlyList<ModelVersionInfo> Versions { get; private set; } = [];

    /// <summary>The chosen version as <c>category@version</c>.</summary>
    public string? Selected { get; private set; }

    public FairnessReport? Report { get; private set; }

    /// <summary>The window as typed (UTC dates, <c>yyyy-MM-dd</c>).</summary>
    public string From { get; private set; } = "";
    public string To { get; private set; } = "";

    public async Task OnGetAsync(string? model, string? from, string? to, CancellationToken ct)
    {
        Versions = await registry.ListAsync(null, ct);
        // A day typed as "to" counts whole; with none the window ends now (and today is shown as its last day).
        var now = DateTimeOffset.UtcNow;
        var lastDay = Date(to, "to");
        var end = lastDay?.AddDays(1) ?? now;
        var start = Date(from, "from") ?? end - reports.Options.DefaultWindow;
        From = start.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        To = (lastDay ?? now).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var chosen = model is { Length: > 0 } && model.IndexOf('@') is var at and > 0
            ? Versions.FirstOrDefault(v => v.Category == model[..at] && v.Version == model[(at + 1)..])
            : Versions.FirstOrDefault(v => v.State == ModelStates.Live && v.Scorer == Core.Scoring.Text.TextScorer.ScorerName) ?? Versions.FirstOrDefault();
        if (chosen is null) return;
        Selected = $"{chosen.Category}@{chosen.Version}";
        Report = await reports.ReportAsync(chosen.Category, chosen.Version, start, end, ct);
    }

    private static DateTimeOffset? Date(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? null
        : DateTime.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day)
            ? new DateTimeOffset(day, TimeSpan.Zero)
            : throw Core.Refusals.Refusal.Invalid(field, $"'{value}' is not a date (yyyy-MM-dd).");

    public static string F(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>A rate with its interval, or n/a when nothing stands behind it.</summary>
    public static string Rate(Core.Policies.Estimate rate) =>
        rate.Value is null ? "n/a" : $"{P(rate.Value)} [{P(rate.Low)} – {P(rate.High)}]{(rate.FewLabels ? " few" : "")}";

    public static string P(double? value) => value is { } v ? v.ToString("0.0%", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>An SVG x coordinate (0–100) for a share, or for an AUC on the 0.5–1 scale the audit's bars use.</summary>
    public static string X(double? value, bool auc = false) =>
        Math.Clamp(value is not { } v ? 0 : auc ? (v - 0.5) * 200 : v * 100, 0, 100).ToString("0.##", CultureInfo.InvariantCulture);
}
