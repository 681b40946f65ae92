using Dapper;
using Moderation.Core.Storage;

namespace Moderation.Core.Review;

/// <summary>Agreement between first decisions and their blind second reviews, for one group (a moderator, queue or category).</summary>
public sealed record AgreementRow(string Group, int Pairs, double ObservedAgreement, double? Kappa, double? MedianHandlingSeconds);

public sealed record QualityReport(IReadOnlyList<AgreementRow> ByModerator, IReadOnlyList<AgreementRow> ByQueue, IReadOnlyList<AgreementRow> ByCategory, int OpenSamples);

/// <summary>
/// Cohen's kappa between the first reviewer and the blind second reviewer over the sampled items:
/// κ = (p_o − p_e) / (1 − p_e), with p_e from each rater's own marginal distribution of decisions. Undefined
/// (null) when chance agreement is total (both raters used one and the same label throughout).
/// </summary>
public static class CohenKappa
{
    public static double? Compute(IReadOnlyList<(string First, string Second)> pairs)
    {
        if (pairs.Count == 0) return null;
        double n = pairs.Count;
        var observed = pairs.Count(p => p.First == p.Second) / n;
        var labels = pairs.SelectMany(p => new[] { p.First, p.Second }).Distinct(StringComparer.Ordinal);
        var expected = labels.Sum(l => pairs.Count(p => p.First == l) / n * (pairs.Count(p => p.Second == l) / n));
        if (1 - expected < 1e-12) return null;
        return (observed - expected) / (1 - expected);
    }
}

public sealed class QualityStats(ModerationDatabase database)
{
    // The first decision (kind review, not an escalation) paired with the quality decision on the same item.
    private static readonly DialectSql SelectPairs = DialectSql.Portable("""
        SELECT f.decided_by_name AS first_by, f.queue, f.action AS first_action, q.action AS second_action,
               f.claimed_at_ms, f.decided_at_ms
        FROM review_decisions q
        JOIN review_decisions f ON f.upload_id = q.upload_id AND f.kind = 'review' AND f.action <> 'escalate'
        WHERE q.kind = 'quality'
        """);

    private static readonly DialectSql CountOpenSamples = DialectSql.Portable("""
        SELECT COUNT(*) FROM review_tasks WHERE kind = 'quality' AND state = 'open'
        """);

    public async Task<QualityReport> ReportAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var pairs = (await connection.QueryAsync<PairRow>(new CommandDefinition(database.Sql(SelectPairs), cancellationToken: ct))).ToList();
        var open = await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountOpenSamples), cancellationToken: ct));
        return new QualityReport(
            Group(pairs, p => p.FirstBy),
            Group(pairs, p => p.Queue),
            Group(pairs, p => p.Queue.Split('.')[0]),
            (int)open);
    }

    private static List<AgreementRow> Group(List<PairRow> pairs, Func<PairRow, string> key) =>
        pairs.GroupBy(key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var list = g.Select(p => (p.FirstAction, p.SecondAction)).ToList();
            var handling = g.Where(p => p.ClaimedAtMs is not null).Select(p => (p.DecidedAtMs - p.ClaimedAtMs!.Value) / 1000.0).Order().ToList();
            return new AgreementRow(g.Key, list.Count, list.Count(p => p.FirstAction == p.SecondAction) / (double)list.Count,
                CohenKappa.Compute(list), handling.Count == 0 ? null : handling[handling.Count / 2]);
        }).ToList();

    private sealed class PairRow
    {
        public string FirstBy { get; init; } = "";
        public string Queue { get; init; } = "";
        public string FirstAction { get; init; } = "";
        public string SecondAction { get; init; } = "";
        public long? ClaimedAtMs { get; init; }
        public long DecidedAtMs { get; init; }
    }
}
