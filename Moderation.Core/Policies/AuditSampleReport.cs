using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Refusals;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Policies;

/// <summary>
/// One category's estimates from the labels of the audit design: prevalence of violating uploads among those scored for
/// the category, the precision of its automatic action and of its review routing, and the recall of violating uploads
/// (actioned; actioned or sent to review), each weighted by the inverse inclusion probability.
/// </summary>
public sealed record AuditCategoryEstimates(
    string Category,
    long Uploads,
    long Labelled,
    long Audited,
    Estimate Prevalence,
    Estimate ActionPrecision,
    Estimate ReviewPrecision,
    Estimate ActionRecall,
    Estimate Recall);

/// <summary>A stratum of the audit sample in the window: uploads drawn, decided by a person, and still waiting.</summary>
public sealed record AuditStratumCount(string Outcome, string Stratum, double InclusionProbability, long Sampled, long Decided, long Pending);

/// <summary>The audit sample of a window: what was drawn, what is still waiting for a person, and the estimates per category.</summary>
public sealed record AuditSampleSummary(
    DateTimeOffset From,
    DateTimeOffset To,
    bool Enabled,
    long Uploads,
    long Sampled,
    long Decided,
    long Pending,
    bool SelectionBiased,
    IReadOnlyList<AuditStratumCount> Strata,
    IReadOnlyList<AuditCategoryEstimates> Categories);

/// <summary>
/// The audit sample's report for policy staff: per stratum how many uploads were drawn and how many still wait for a
/// person (the items themselves stay blind in the queues: reviewers see ordinary tasks), and per category the
/// estimates of <see cref="AuditEstimator"/> over the design's labels (<see cref="HumanLabels"/>: review-routed uploads
/// weigh 1, audited ones 1 / probability; labels a report or an appeal alone brought are left out). Without an audited
/// label in the window the estimates rest only on what the policy sent to review, and <c>SelectionBiased</c> says so.
/// </summary>
public sealed class AuditSampleReport(ModerationDatabase database, IOptions<AuditSampleOptions> options)
{
    // Each upload of the window with one row per category its routing decided (by the version that routed it).
    private static readonly DialectSql SelectUnits = DialectSql.Portable($"""
        SELECT u.id, u.status, r.category, r.outcome,
               {HumanLabels.Columns}
        FROM uploads u JOIN routing_decisions r ON r.upload_id = u.id AND r.policy_version = u.policy_version
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To AND u.status NOT IN ('queued', 'failed')
        """);

    private static readonly DialectSql SelectSampled = DialectSql.Portable("""
        SELECT a.outcome, a.stratum, a.inclusion_probability,
               CASE WHEN EXISTS (SELECT 1 FROM review_decisions d WHERE d.upload_id = u.id AND d.kind IN ('review', 'appeal') AND d.action <> 'escalate')
                    THEN 1 ELSE 0 END AS decided
        FROM audit_samples a JOIN uploads u ON u.id = a.upload_id
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To
        """);

    private static readonly DialectSql CountUploads = DialectSql.Portable("""
        SELECT COUNT(*) FROM uploads u WHERE u.received_at_ms >= @From AND u.received_at_ms < @To AND u.status NOT IN ('queued', 'failed')
        """);

    public async Task<AuditSampleSummary> ReportAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        if (to <= from) throw Refusal.Invalid("to", "must be after from");
        if (to - from > PolicyBacktest.MaxWindow) throw Refusal.Invalid("from", $"the window may span at most {PolicyBacktest.MaxWindow.TotalDays:0} days");
        var window = new { From = from.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds() };
        await using var connection = await database.OpenAsync(ct);
        var uploads = await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountUploads), window, cancellationToken: ct));
        var sampled = (await connection.QueryAsync<SampledRow>(new CommandDefinition(database.Sql(SelectSampled), window, cancellationToken: ct))).ToList();
        var units = (await connection.QueryAsync<UnitRow>(new CommandDefinition(database.Sql(SelectUnits), window, cancellationToken: ct))).ToList();

        var strata = sampled
            .GroupBy(s => (s.Outcome, s.Stratum, s.InclusionProbability))
            .Select(g => new AuditStratumCount(g.Key.Outcome, g.Key.Stratum, g.Key.InclusionProbability, g.LongCount(), g.LongCount(s => s.Decided == 1), g.LongCount(s => s.Decided == 0)))
            .OrderBy(s => s.Outcome, StringComparer.Ordinal).ThenBy(s => s.Stratum, StringComparer.Ordinal)
            .ToList();

        var categories = units.GroupBy(u => u.Category, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            AuditEstimator prevalence = new(), actionPrecision = new(), reviewPrecision = new(), actionRecall = new(), recall = new();
            long labelled = 0, audited = 0;
            foreach (var unit in g)
            {
                if (unit.Decided != 1 || unit.DesignProbability is not { } p) continue;
                labelled++;
                if (unit.AuditProbability is not null) audited++;
                var violating = unit.Status == UploadStatus.Actioned;
                prevalence.Add(violating, p);
                if (unit.Outcome == RouteOutcome.Action) actionPrecision.Add(violating, p);
                if (unit.Outcome == RouteOutcome.Review) reviewPrecision.Add(violating, p);
                if (violating)
                {
                    actionRecall.Add(unit.Outcome == RouteOutcome.Action, p);
                    recall.Add(unit.Outcome is RouteOutcome.Action or RouteOutcome.Review, p);
                }
            }
            return new AuditCategoryEstimates(g.Key, g.Select(u => u.Id).Distinct(StringComparer.Ordinal).LongCount(), labelled, audited,
                prevalence.Estimate(), actionPrecision.Estimate(), reviewPrecision.Estimate(), actionRecall.Estimate(), recall.Estimate());
        }).ToList();

        return new AuditSampleSummary(from, to, options.Value.Enabled, uploads, sampled.Count, sampled.LongCount(s => s.Decided == 1),
            sampled.LongCount(s => s.Decided == 0), categories.All(c => c.Audited == 0), strata, categories);
    }

    private sealed class SampledRow
    {
        public string Outcome { get; init; } = "";
        public string Stratum { get; init; } = "";
        public double InclusionProbability { get; init; }
        public long Decided { get; init; }
    }

    private sealed class UnitRow
    {
        public string Id { get; init; } = "";
        public string Status { get; init; } = "";
        public string Category { get; init; } = "";
        public string Outcome { get; init; } = "";
        public long Decided { get; init; }
        public long ReviewRouted { get; init; }
        public double? AuditProbability { get; init; }
        public double? DesignProbability => HumanLabels.DesignProbability(ReviewRouted, AuditProbability);
    }
}
