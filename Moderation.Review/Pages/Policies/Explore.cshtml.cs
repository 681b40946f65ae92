using System.Globalization;
using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Models;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// The threshold explorer (<see cref="ThresholdExplorer"/>, as <c>POST /v1/policies/explore</c>): for one category over a
/// window, the score histogram with the thresholds marked, the precision/recall curve with 95% intervals, and the review
/// volume a pair of thresholds would send against the reviewers' measured capacity and the queue's SLA.
/// </summary>
public sealed class ThresholdExplorerModel(ThresholdExplorer explorer, PolicyVersions policies, ModelRegistry models, TimeProvider time) : PageModel, IShowsRefusals
{
    public ExplorerResult? Result { get; private set; }
    public IReadOnlyList<string> Categories { get; private set; } = [];
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }

    public string? Category { get; private set; }
    public string From { get; private set; } = "";
    public string To { get; private set; } = "";
    public string? Review { get; private set; }
    public string? Action { get; private set; }
    public string Reviewers { get; private set; } = "10";
    public string HoursPerDay { get; private set; } = "8";

    public async Task<IActionResult> OnGetAsync(string? category, string? from, string? to, string? review, string? action, string? reviewers, string? hoursPerDay, CancellationToken ct)
    {
        await LoadAsync(ct);
        var today = time.GetUtcNow().UtcDateTime.Date;
        (Category, Review, Action) = (category, review, action);
        From = from ?? PolicyFormat.Day(today.AddDays(-6));
        To = to ?? PolicyFormat.Day(today);
        Reviewers = string.IsNullOrWhiteSpace(reviewers) ? "10" : reviewers;
        HoursPerDay = string.IsNullOrWhiteSpace(hoursPerDay) ? "8" : hoursPerDay;
        if (string.IsNullOrWhiteSpace(category)) return Page();
        var start = PolicyFormat.ParseDay(From) ?? throw Refusal.Invalid("from", "must be a date (yyyy-MM-dd)");
        var end = (PolicyFormat.ParseDay(To) ?? throw Refusal.Invalid("to", "must be a date (yyyy-MM-dd)")).AddDays(1);
        Result = await explorer.ExploreAsync(category.Trim(), start, end, Number(review, "review"), Number(action, "action"),
            int.TryParse(Reviewers, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw Refusal.Invalid("reviewers", "must be a whole number"),
            Number(HoursPerDay, "hoursPerDay") ?? 8, ct);
        return Page();
    }

    private static double? Number(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? null
        : double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number
        : throw Refusal.Invalid(field, $"'{value}' is not a number (use a dot for decimals: 0.75)");

    /// <summary>The categories registered models score and the live version names, to pick from (any other may be typed).</summary>
    private async Task LoadAsync(CancellationToken ct)
    {
        var live = await policies.LiveVersionAsync(ct);
        var named = live is null ? [] : live.Document.Categories.Keys.Concat(live.Document.Locales.Values.SelectMany(l => l.Keys));
        Categories = (await models.ListAsync(null, ct)).Select(m => m.Category).Concat(named)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    public Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Result = null;
        return Task.FromResult<IActionResult>(Page());
    }

    /// <summary>Uploads per score bin, with the review and action thresholds drawn where they fall.</summary>
    public IHtmlContent Histogram()
    {
        var r = Result!;
        var labels = r.Histogram.Select(b => PolicyFormat.Threshold(b.From)).ToList();
        return Charts.Bars("histogram", $"Uploads per score of {r.Category} (highest score per upload)", labels,
            [new Charts.Series("uploads", "live", r.Histogram.Select(b => (double)b.Uploads).ToList())],
            [
                new Charts.Marker(r.Load.Review * ThresholdExplorer.Bins, $"review {PolicyFormat.Threshold(r.Load.Review)}", "review"),
                new Charts.Marker(r.Load.Action * ThresholdExplorer.Bins, $"action {PolicyFormat.Threshold(r.Load.Action)}", "action"),
            ]);
    }

    /// <summary>Precision against recall, one point per threshold that has both.</summary>
    public IHtmlContent PrecisionRecall()
    {
        var points = Result!.Curve.Where(p => p.Precision.Value is not null && p.Recall.Value is not null)
            .Select(p => (p.Recall.Value!.Value, p.Precision.Value!.Value,
                $"at {PolicyFormat.Threshold(p.Threshold)}: precision {PolicyFormat.Estimate(p.Precision)}, recall {PolicyFormat.Estimate(p.Recall)}"))
            .ToList();
        return Charts.Lines("pr-curve", $"Precision against recall of 'score at or above t' for {Result.Category}", "recall", "precision",
            [new Charts.Line("at or above t", "draft", points)]);
    }
}
