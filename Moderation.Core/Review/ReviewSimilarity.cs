using Dapper;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;

namespace Moderation.Core.Review;

/// <summary>
/// A decided twin of an item (the same first media file or normalised caption, or a near-duplicate): the decision that
/// stands on it, and how close it is. The most similar one is the item's suggested decision.
/// </summary>
/// <param name="Action">The standing decision: after an overturned appeal, <c>allow</c> (what the overturn left).</param>
/// <param name="ReasonCode">Its reason code; after an overturned appeal, the overturn's (an appeal reason, not an allow reason).</param>
/// <param name="ViaAppeal">The standing decision is an overturned appeal.</param>
/// <param name="Overturned">For an overturned appeal, the decision it overturned (e.g. <c>remove</c>).</param>
/// <param name="Similarity">1 for the same media file or caption; the near-duplicate's closeness otherwise.</param>
public sealed record SimilarDecided(string UploadId, string ExternalId, string? Caption, string Action, string ReasonCode, string? Note,
    string DecidedByName, DateTimeOffset DecidedAt, bool ViaAppeal, double Similarity, string Basis, string? Overturned = null)
{
    /// <summary>The basis of a twin in the exact cluster (<see cref="ReviewTasks.ClusterKey"/>).</summary>
    public static string ExactBasis(string clusterKey) =>
        clusterKey.StartsWith("media:", StringComparison.Ordinal) ? "same media file" : "same caption (normalised)";
}

/// <summary>What the item page shows of an item's near-duplicates (<see cref="NearDuplicates"/>): open ones to decide together, decided ones to learn from.</summary>
public sealed record ItemSimilarity(IReadOnlyList<ClusterMember> Open, IReadOnlyList<SimilarDecided> Decided);

/// <summary>
/// Turns an item's near-duplicates into review terms: which of them wait in a review queue (bulk candidates, like the
/// exact cluster's members) and which carry a standing decision (the suggestion). Decided twins come from the exact
/// cluster (same first media file or normalised caption, similarity 1) as well as from the near-duplicates.
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

    // The item's exact twins: the other review tasks with its cluster key (the newest 200).
    private static readonly DialectSql SelectExactTwins = new(
        sqlite: """
            SELECT t.upload_id, t.cluster_key FROM review_tasks t
            WHERE t.kind = 'review' AND t.upload_id <> @Id
              AND t.cluster_key = (SELECT k.cluster_key FROM review_tasks k WHERE k.upload_id = @Id AND k.kind = 'review')
            ORDER BY t.entered_at_ms DESC LIMIT 200
            """,
        postgres: """
            SELECT t.upload_id, t.cluster_key FROM review_tasks t
            WHERE t.kind = 'review' AND t.upload_id <> @Id
              AND t.cluster_key = (SELECT k.cluster_key FROM review_tasks k WHERE k.upload_id = @Id AND k.kind = 'review')
            ORDER BY t.entered_at_ms DESC LIMIT 200
            """,
        sqlServer: """
            SELECT TOP (200) t.upload_id, t.cluster_key FROM review_tasks t
            WHERE t.kind = 'review' AND t.upload_id <> @Id
              AND t.cluster_key = (SELECT k.cluster_key FROM review_tasks k WHERE k.upload_id = @Id AND k.kind = 'review')
            ORDER BY t.entered_at_ms DESC
            """);

    public async Task<ItemSimilarity> ForItemAsync(string uploadId, CancellationToken ct)
    {
        var similar = await nearDuplicates.FindAsync(uploadId, ct);
        await using var connection = await database.OpenAsync(ct);
        var exact = (await connection.QueryAsync<TwinRow>(new CommandDefinition(database.Sql(SelectExactTwins), new { Id = uploadId }, cancellationToken: ct))).ToList();
        if (similar.Count == 0 && exact.Count == 0) return new ItemSimilarity([], []);
        var byId = similar.ToDictionary(s => s.UploadId, StringComparer.Ordinal);
        // How close each decided candidate is: an exact twin is the same item to a reviewer (1), over any near-duplicate basis.
        var closeness = similar.ToDictionary(s => s.UploadId, s => (s.Similarity, s.Basis), StringComparer.Ordinal);
        foreach (var twin in exact) closeness[twin.UploadId] = (1.0, SimilarDecided.ExactBasis(twin.ClusterKey));
        IReadOnlyList<ClusterMember> open = [];
        if (similar.Count > 0)
            open = (await connection.QueryAsync<OpenRow>(new CommandDefinition(database.Sql(SelectOpen), new { Ids = similar.Select(s => s.UploadId).ToArray() }, cancellationToken: ct)))
                .Select(r => new ClusterMember(r.UploadId, r.ExternalId, r.Caption, r.TaskState, r.LeaseHolder,
                    r.LeaseUntilMs is { } l ? DateTimeOffset.FromUnixTimeMilliseconds(l) : null, null, byId[r.UploadId].Basis, byId[r.UploadId].Similarity))
                .OrderByDescending(m => m.Similarity).ToList();
        var decided = (await connection.QueryAsync<DecisionRow>(new CommandDefinition(database.Sql(SelectDecisions), new { Ids = closeness.Keys.ToArray() }, cancellationToken: ct)))
            .GroupBy(d => d.UploadId, StringComparer.Ordinal)
            .Select(Standing)
            .OfType<SimilarDecided>()
            .OrderByDescending(d => d.Similarity).ThenByDescending(d => d.DecidedAt).ToList();
        return new ItemSimilarity(open, decided);

        // Newest first: the first decision not retracted stands. An overturn stands as allow, naming what it overturned
        // (the newest retracted decision before it).
        SimilarDecided? Standing(IGrouping<string, DecisionRow> decisions)
        {
            var rows = decisions.ToList();
            var standing = rows.FindIndex(d => d.RetractedAtMs is null);
            if (standing < 0) return null;
            var d = rows[standing];
            var overturned = d.Action == ReviewAction.Overturn;
            var (similarity, basis) = closeness[d.UploadId];
            return new SimilarDecided(d.UploadId, d.ExternalId, d.Caption, overturned ? ReviewAction.Allow : d.Action, d.ReasonCode, d.Note,
                d.DecidedByName, DateTimeOffset.FromUnixTimeMilliseconds(d.DecidedAtMs), overturned, similarity, basis,
                overturned ? rows.Skip(standing + 1).FirstOrDefault(r => r.RetractedAtMs is not null)?.Action : null);
        }
    }

    private sealed class TwinRow
    {
        public string UploadId { get; init; } = "";
        public string ClusterKey { get; init; } = "";
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
