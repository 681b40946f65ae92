using Dapper;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;

namespace Moderation.Core.Review;

/// <summary>
/// A decided near-duplicate of an item: the decision that stands on it, and how close it is. The most similar one is
/// the item's suggested decision.
/// </summary>
public sealed record SimilarDecided(string UploadId, string ExternalId, string? Caption, string Action, string ReasonCode, string? Note,
    string DecidedByName, DateTimeOffset DecidedAt, bool ViaAppeal, double Similarity, string Basis);

/// <summary>What the item page shows of an item's near-duplicates (<see cref="NearDuplicates"/>): open ones to decide together, decided ones to learn from.</summary>
public sealed record ItemSimilarity(IReadOnlyList<ClusterMember> Open, IReadOnlyList<SimilarDecided> Decided);

/// <summary>
/// Turns an item's near-duplicates into review terms: which of them wait in a review queue (bulk candidates, like the
/// exact cluster's members) and which carry a standing decision (the suggestion).
/// </summary>
public sealed class ReviewSimilarity(ModerationDatabase database, NearDuplicates nearDuplicates)
{
    private static readonly DialectSql SelectOpen = DialectSql.WithList("""
        SELECT t.upload_id, u.external_id, u.caption, t.state AS task_state, t.lease_holder, t.lease_until_ms
        FROM review_tasks t JOIN uploads u ON u.id = t.upload_id
        WHERE t.upload_id IN @Ids AND t.kind = 'review' AND t.state = 'open'
        """);

    // Newest first per upload: the first row that is not an escalation, an upheld appeal (the decision before it
    // stands) or retracted is the standing decision; an overturn means the item was allowed after all.
    private static readonly DialectSql SelectDecisions = DialectSql.WithList("""
        SELECT d.id, d.upload_id, u.external_id, u.caption, d.kind, d.action, d.reason_code, d.note, d.decided_by_name, d.decided_at_ms, d.retracted_at_ms
        FROM review_decisions d JOIN uploads u ON u.id = d.upload_id
        WHERE d.upload_id IN @Ids AND d.kind IN ('review', 'appeal') AND d.action NOT IN ('escalate', 'uphold')
        ORDER BY d.upload_id, d.decided_at_ms DESC, d.id DESC
        """);

    public async Task<ItemSimilarity> ForItemAsync(string uploadId, CancellationToken ct)
    {
        var similar = await nearDuplicates.FindAsync(uploadId, ct);
        if (similar.Count == 0) return new ItemSimilarity([], []);
        var byId = similar.ToDictionary(s => s.UploadId, StringComparer.Ordinal);
        var ids = similar.Select(s => s.UploadId).ToArray();
        await using var connection = await database.OpenAsync(ct);
        var open = (await connection.QueryAsync<OpenRow>(new CommandDefinition(database.Sql(SelectOpen), new { Ids = ids }, cancellationToken: ct)))
            .Select(r => new ClusterMember(r.UploadId, r.ExternalId, r.Caption, r.TaskState, r.LeaseHolder,
                r.LeaseUntilMs is { } l ? DateTimeOffset.FromUnixTimeMilliseconds(l) : null, null, byId[r.UploadId].Basis, byId[r.UploadId].Similarity))
            .OrderByDescending(m => m.Similarity).ToList();
        var decided = (await connection.QueryAsync<DecisionRow>(new CommandDefinition(database.Sql(SelectDecisions), new { Ids = ids }, cancellationToken: ct)))
            .GroupBy(d => d.UploadId, StringComparer.Ordinal)
            .Select(g => g.FirstOrDefault(d => d.RetractedAtMs is null))
            .OfType<DecisionRow>()
            .Select(d =>
            {
                var overturned = d.Action == ReviewAction.Overturn;
                return new SimilarDecided(d.UploadId, d.ExternalId, d.Caption, overturned ? ReviewAction.Allow : d.Action, d.ReasonCode, d.Note,
                    d.DecidedByName, DateTimeOffset.FromUnixTimeMilliseconds(d.DecidedAtMs), overturned, byId[d.UploadId].Similarity, byId[d.UploadId].Basis);
            })
            .OrderByDescending(d => d.Similarity).ThenByDescending(d => d.DecidedAt).ToList();
        return new ItemSimilarity(open, decided);
    }

    private sealed class OpenRow
    {
        public string UploadId { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? Caption { get; init; }
        public string TaskState { get; init; } = "";
        public string? LeaseHolder { get; init; }
        public long? LeaseUntilMs { get; init; }
    }

    private sealed class DecisionRow
    {
        public string Id { get; init; } = "";
        public string UploadId { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? Caption { get; init; }
        public string Kind { get; init; } = "";
        public string Action { get; init; } = "";
        public string ReasonCode { get; init; } = "";
        public string? Note { get; init; }
        public string DecidedByName { get; init; } = "";
        public long DecidedAtMs { get; init; }
        public long? RetractedAtMs { get; init; }
    }
}
