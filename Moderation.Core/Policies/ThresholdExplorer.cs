using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Refusals;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Policies;

/// <summary>Uploads whose score falls in [<see cref="From"/>, <see cref="To"/>).</summary>
public sealed record ScoreBin(double From, double To, long Uploads);

/// <summary>Everything at or above <see cref="Threshold"/>: how many a day, and its precision and recall against human labels.</summary>
public sealed record ThresholdPoint(double Threshold, long Uploads, double PerDay, Estimate Precision, Estimate Recall);

/// <summary>
/// The review volume the thresholds would send and whether the reviewers would keep up: capacity is reviewers ×
/// measured decisions per reviewer-hour (from the window's claim-to-decision times) × hours a day.
/// </summary>
public sealed record ReviewLoad(
    double Review,
    double Action,
    double ReviewPerDay,
    double ActionPerDay,
    int Reviewers,
    double HoursPerDay,
    double? DecisionsPerReviewerHour,
    long DecisionsMeasured,
    double? CapacityPerDay,
    double? Utilisation,
    bool? KeepsUp,
    TimeSpan Sla,
    string Note);

/// <summary>One category's scores over a window, for choosing its thresholds.</summary>
public sealed record ExplorerResult(
    string Category,
    DateTimeOffset From,
    DateTimeOffset To,
    long Uploads,
    long Labelled,
    bool SelectionBiased,
    IReadOnlyList<ScoreBin> Histogram,
    IReadOnlyList<ThresholdPoint> Curve,
    ReviewLoad Load);

/// <summary>
/// The threshold explorer: for one category over a window of stored scores, the score histogram, the precision/recall
/// curve against human labels (weighted by the audit sample where the window has audited labels, as the backtest is),
/// and the review volume a pair of thresholds would send against reviewer capacity and the queue's SLA.
/// </summary>
public sealed class ThresholdExplorer(ModerationDatabase database, PolicyVersions policies, IOptions<ReviewOptions> review)
{
    public const int Bins = 20;

    // An upload's highest score of the category, its standing human label and its place in the audit design.
    private static readonly DialectSql SelectScores = DialectSql.Portable($"""
        SELECT u.id, MAX(s.score) AS score, u.status,
               {HumanLabels.Columns}
        FROM scores s JOIN uploads u ON u.id = s.upload_id
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To AND u.status NOT IN ('queued', 'failed')
          AND s.category = @Category AND s.shadow = @NotShadow
        GROUP BY u.id, u.status
        """);

    // How long people took from claiming an item to deciding it, in the window.
    private static readonly DialectSql SelectHandling = DialectSql.Portable("""
        SELECT d.decided_at_ms - d.claimed_at_ms FROM review_decisions d
        WHERE d.decided_at_ms >= @From AND d.decided_at_ms < @To AND d.claimed_at_ms IS NOT NULL AND d.decided_at_ms >= d.claimed_at_ms
          AND d.kind IN ('review', 'appeal')
        """);

    public async Task<ExplorerResult> ExploreAsync(string category, DateTimeOffset from, DateTimeOffset to, double? reviewThreshold, double? actionThreshold,
        int reviewers, double hoursPerDay, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(category) || !ScorerOutput.IsValidCategory(category)) throw Refusal.Invalid("category", "is required: a category name (harm, harm.hate, misinformation, ...)");
        if (to <= from) throw Refusal.Invalid("to", "must be after from");
        if (to - from > PolicyBacktest.MaxWindow) throw Refusal.Invalid("from", $"the window may span at most {PolicyBacktest.MaxWindow.TotalDays:0} days");
        if (reviewers is < 0 or > 100_000) throw Refusal.Invalid("reviewers", "must be between 0 and 100,000");
        if (hoursPerDay is <= 0 or > 24) throw Refusal.Invalid("hoursPerDay", "must be above 0 and at most 24");
        var live = await policies.LiveAsync(ct);
        var thresholds = live.ThresholdsFor(category);
        var reviewAt = reviewThreshold ?? thresholds.Review;
        var actionAt = actionThreshold ?? thresholds.Action;
        if (reviewAt is < 0 or > 1) throw Refusal.Invalid("review", "must be between 0 and 1");
        if (actionAt is < 0 or > 1) throw Refusal.Invalid("action", "must be between 0 and 1");
        if (reviewAt > actionAt) throw Refusal.Invalid("review", "must not be above action");

        var window = new { From = from.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds(), Category = category, NotShadow = false };
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectScores), window, cancellationToken: ct))).ToList();
        if (rows.Count == 0)
            throw Refusal.Invalid("from", $"no upload scored for {category} arrived between {from:u} and {to:u}: nothing to explore");
        var handling = (await connection.QueryAsync<long>(new CommandDefinition(database.Sql(SelectHandling), window, cancellationToken: ct))).ToList();

        var days = Math.Max((to - from).TotalDays, 1.0 / 24);
        var histogram = Enumerable.Range(0, Bins).Select(i =>
        {
            double low = (double)i / Bins, high = (double)(i + 1) / Bins;
            return new ScoreBin(low, high, rows.LongCount(r => r.Score >= low && (r.Score < high || (i == Bins - 1 && r.Score <= 1))));
        }).ToList();

        var labelled = rows.Where(r => r.Decided == 1).ToList();
        var audited = labelled.Any(r => r.AuditProbability is not null);
        var curve = Enumerable.Range(1, Bins - 1).Select(i =>
        {
            var t = (double)i / Bins;
            var precision = new Counter(audited);
            var recall = new Counter(audited);
            foreach (var r in labelled)
            {
                var violating = r.Status == UploadStatus.Actioned;
                if (r.Score >= t) precision.Add(violating, r);
                if (violating) recall.Add(r.Score >= t, r);
            }
            var above = rows.LongCount(r => r.Score >= t);
            return new ThresholdPoint(t, above, Math.Round(above / days, 3), precision.Estimate(), recall.Estimate());
        }).ToList();

        var reviewPerDay = rows.LongCount(r => r.Score >= reviewAt && r.Score < actionAt) / days;
        var actionPerDay = rows.LongCount(r => r.Score >= actionAt) / days;
        double? rate = null, capacity = null, utilisation = null;
        bool? keepsUp = null;
        string note;
        if (handling.Count > 0)
        {
            var median = handling.Order().ElementAt(handling.Count / 2);
            rate = 3_600_000.0 / Math.Max(median, 1000);
            capacity = reviewers * rate * hoursPerDay;
            utilisation = capacity > 0 ? reviewPerDay / capacity : null;
            keepsUp = capacity >= reviewPerDay;
            note = $"{handling.Count} decisions in the window took a median {median / 1000.0:0.#} s from claim to decision";
        }
        else note = "no decision in the window to measure handling time from; capacity unknown";
        var load = new ReviewLoad(reviewAt, actionAt, Math.Round(reviewPerDay, 3), Math.Round(actionPerDay, 3), reviewers, hoursPerDay,
            rate is null ? null : Math.Round(rate.Value, 2), handling.Count, capacity is null ? null : Math.Round(capacity.Value, 1),
            utilisation is null ? null : Math.Round(utilisation.Value, 3), keepsUp, review.Value.SlaFor(category), note);
        return new ExplorerResult(category, from, to, rows.Count, labelled.Count, !audited, histogram, curve, load);
    }

    /// <summary>A proportion from labels: weighted by the audit design when the window has audited labels, else every label weighing 1.</summary>
    private sealed class Counter(bool design)
    {
        private readonly AuditEstimator estimator = new();

        public void Add(bool yes, Row row)
        {
            if (!design) estimator.Add(yes, 1.0);
            else if (row.DesignProbability is { } p) estimator.Add(yes, p);
        }

        public Estimate Estimate() => estimator.Estimate();
    }

    private sealed class Row
    {
        public string Id { get; init; } = "";
        public double Score { get; init; }
        public string Status { get; init; } = "";
        public long Decided { get; init; }
        public long ReviewRouted { get; init; }
        public double? AuditProbability { get; init; }
        public double? DesignProbability => HumanLabels.DesignProbability(ReviewRouted, AuditProbability);
    }
}
