using System.Text.Json;
using Dapper;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Review;

/// <summary>Everything the item page shows. Every string in it is content or derived from content: render it as text.</summary>
public sealed record ReviewItem(
    UploadDetails Upload,
    string? Caption,
    IReadOnlyList<string> Hashtags,
    string? Transcript,
    IReadOnlyList<string> Comments,
    string? Locale,
    IReadOnlyList<PastDecision> Decisions,
    IReadOnlyList<CreatorUpload> CreatorHistory,
    IReadOnlyList<ClusterMember> Cluster,
    IReadOnlyList<AuditEvent> Timeline,
    string? OpenAppealStatement,
    IReadOnlyList<SimilarDecided> SimilarDecided,
    IReadOnlyList<AutomatedAction> AutomatedActions)
{
    /// <summary>The decision on the most similar decided near-duplicate, if any: what the reviewer is offered.</summary>
    public SimilarDecided? Suggestion => SimilarDecided.Count > 0 ? SimilarDecided[0] : null;
}

/// <summary>
/// What the policy did to the item on its own: a model's or hash match's signal that asked for an action (the automated
/// decision a creator may appeal), and whether a human has since withdrawn it.
/// </summary>
public sealed record AutomatedAction(long Seq, string Category, double Score, string Action, string Source, string? ModelVersion, string? PolicyVersion,
    DateTimeOffset At, bool Retracted);

public sealed record PastDecision(string Id, string Kind, string Action, string ReasonCode, string? Note, string DecidedByName, DateTimeOffset DecidedAt, bool Retracted, string? BulkAnchor);

public sealed record CreatorUpload(string Id, string ExternalId, string Status, DateTimeOffset ReceivedAt, string? LastAction);

/// <param name="Basis">Why it is in the cluster: the same first media file or normalised caption, or a near-duplicate's reason.</param>
/// <param name="Similarity">For a near-duplicate, how close (cosine, or 1 − hash distance / 256); null for an exact cluster member.</param>
public sealed record ClusterMember(string UploadId, string ExternalId, string? Caption, string TaskState, string? LeaseHolder, DateTimeOffset? LeaseUntil,
    string? LastAction, string Basis = ClusterMember.SameKey, double? Similarity = null)
{
    public const string SameKey = "same media file or caption";
}

public sealed class ReviewItemQuery(ModerationDatabase database, UploadDetailsQuery details, ReviewSimilarity similarity)
{
    private static readonly DialectSql SelectText = DialectSql.Portable("""
        SELECT caption, hashtags, transcript, comments, locale, creator_id FROM uploads WHERE id = @Id
        """);

    private static readonly DialectSql SelectDecisions = DialectSql.Portable("""
        SELECT id, kind, action, reason_code, note, decided_by_name, decided_at_ms, retracted_at_ms, bulk_anchor
        FROM review_decisions WHERE upload_id = @Id ORDER BY decided_at_ms, id
        """);

    private static readonly DialectSql SelectAutomated = DialectSql.Portable("""
        SELECT s.seq, s.category, s.score, s.action, s.source, s.model_version, s.policy_version, s.created_at_ms,
               CASE WHEN EXISTS (SELECT 1 FROM risk_signals r WHERE r.retracts_seq = s.seq) THEN 1 ELSE 0 END AS retracted
        FROM risk_signals s
        WHERE s.upload_id = @Id AND s.source IN ('model', 'hash_match') AND s.action <> 'none' AND s.retracts_seq IS NULL
        ORDER BY s.seq
        """);

    private static readonly DialectSql SelectCreatorHistory = new(
        sqlite: """
            SELECT u.id, u.external_id, u.status, u.received_at_ms,
                   (SELECT d.action FROM review_decisions d WHERE d.upload_id = u.id ORDER BY d.decided_at_ms DESC LIMIT 1) AS last_action
            FROM uploads u WHERE u.creator_id = @CreatorId AND u.id <> @Id ORDER BY u.received_at_ms DESC LIMIT 20
            """,
        postgres: """
            SELECT u.id, u.external_id, u.status, u.received_at_ms,
                   (SELECT d.action FROM review_decisions d WHERE d.upload_id = u.id ORDER BY d.decided_at_ms DESC LIMIT 1) AS last_action
            FROM uploads u WHERE u.creator_id = @CreatorId AND u.id <> @Id ORDER BY u.received_at_ms DESC LIMIT 20
            """,
        sqlServer: """
            SELECT TOP (20) u.id, u.external_id, u.status, u.received_at_ms,
                   (SELECT TOP (1) d.action FROM review_decisions d WHERE d.upload_id = u.id ORDER BY d.decided_at_ms DESC) AS last_action
            FROM uploads u WHERE u.creator_id = @CreatorId AND u.id <> @Id ORDER BY u.received_at_ms DESC
            """);

    private static readonly DialectSql SelectCluster = new(
        sqlite: """
            SELECT t.upload_id, u.external_id, u.caption, t.state AS task_state, t.lease_holder, t.lease_until_ms,
                   (SELECT d.action FROM review_decisions d WHERE d.upload_id = t.upload_id ORDER BY d.decided_at_ms DESC LIMIT 1) AS last_action
            FROM review_tasks t JOIN uploads u ON u.id = t.upload_id
            WHERE t.cluster_key = @ClusterKey AND t.kind = 'review' AND t.upload_id <> @Id ORDER BY t.state DESC, t.entered_at_ms LIMIT 200
            """,
        postgres: """
            SELECT t.upload_id, u.external_id, u.caption, t.state AS task_state, t.lease_holder, t.lease_until_ms,
                   (SELECT d.action FROM review_decisions d WHERE d.upload_id = t.upload_id ORDER BY d.decided_at_ms DESC LIMIT 1) AS last_action
            FROM review_tasks t JOIN uploads u ON u.id = t.upload_id
            WHERE t.cluster_key = @ClusterKey AND t.kind = 'review' AND t.upload_id <> @Id ORDER BY t.state DESC, t.entered_at_ms LIMIT 200
            """,
        sqlServer: """
            SELECT TOP (200) t.upload_id, u.external_id, u.caption, t.state AS task_state, t.lease_holder, t.lease_until_ms,
                   (SELECT TOP (1) d.action FROM review_decisions d WHERE d.upload_id = t.upload_id ORDER BY d.decided_at_ms DESC) AS last_action
            FROM review_tasks t JOIN uploads u ON u.id = t.upload_id
            WHERE t.cluster_key = @ClusterKey AND t.kind = 'review' AND t.upload_id <> @Id ORDER BY t.state DESC, t.entered_at_ms
            """);

    private static readonly DialectSql SelectClusterKey = DialectSql.Portable("""
        SELECT cluster_key FROM review_tasks WHERE upload_id = @Id AND kind = 'review'
        """);

    private static readonly DialectSql SelectTimeline = DialectSql.Portable("""
        SELECT seq, occurred_at_ms, actor, action, subject_type, subject_id, reason, before_state, after_state, prev_hash, hash
        FROM audit_events WHERE subject_type = 'upload' AND subject_id = @Id ORDER BY seq
        """);

    private static readonly DialectSql SelectOpenAppeal = DialectSql.Portable("""
        SELECT statement FROM appeals WHERE upload_id = @Id AND state = 'open'
        """);

    public async Task<ReviewItem?> FindAsync(string uploadId, CancellationToken ct)
    {
        var upload = await details.FindAsync(uploadId, ct);
        if (upload is null) return null;
        await using var connection = await database.OpenAsync(ct);
        var text = await connection.QueryFirstAsync<TextRow>(new CommandDefinition(database.Sql(SelectText), new { Id = uploadId }, cancellationToken: ct));
        var decisions = (await connection.QueryAsync<DecisionRow>(new CommandDefinition(database.Sql(SelectDecisions), new { Id = uploadId }, cancellationToken: ct)))
            .Select(d => new PastDecision(d.Id, d.Kind, d.Action, d.ReasonCode, d.Note, d.DecidedByName, DateTimeOffset.FromUnixTimeMilliseconds(d.DecidedAtMs),
                d.RetractedAtMs is not null, d.BulkAnchor)).ToList();
        var history = text.CreatorId is null ? [] : (await connection.QueryAsync<HistoryRow>(new CommandDefinition(database.Sql(SelectCreatorHistory),
                new { text.CreatorId, Id = uploadId }, cancellationToken: ct)))
            .Select(h => new CreatorUpload(h.Id, h.ExternalId, h.Status, DateTimeOffset.FromUnixTimeMilliseconds(h.ReceivedAtMs), h.LastAction)).ToList();
        var clusterKey = await connection.QueryFirstOrDefaultAsync<string?>(new CommandDefinition(database.Sql(SelectClusterKey), new { Id = uploadId }, cancellationToken: ct));
        var cluster = clusterKey is null ? [] : (await connection.QueryAsync<ClusterRow>(new CommandDefinition(database.Sql(SelectCluster),
                new { ClusterKey = clusterKey, Id = uploadId }, cancellationToken: ct)))
            .Select(c => new ClusterMember(c.UploadId, c.ExternalId, c.Caption, c.TaskState, c.LeaseHolder,
                c.LeaseUntilMs is { } l ? DateTimeOffset.FromUnixTimeMilliseconds(l) : null, c.LastAction)).ToList();
        var timeline = (await connection.QueryAsync<AuditLog.AuditEventRow>(new CommandDefinition(database.Sql(SelectTimeline), new { Id = uploadId }, cancellationToken: ct)))
            .Select(e => e.ToEvent())
            .ToList();
        var appeal = await connection.QueryFirstOrDefaultAsync<string?>(new CommandDefinition(database.Sql(SelectOpenAppeal), new { Id = uploadId }, cancellationToken: ct));
        var automated = (await connection.QueryAsync<AutomatedRow>(new CommandDefinition(database.Sql(SelectAutomated), new { Id = uploadId }, cancellationToken: ct)))
            .Select(a => new AutomatedAction(a.Seq, a.Category, a.Score, a.Action, a.Source, a.ModelVersion, a.PolicyVersion,
                DateTimeOffset.FromUnixTimeMilliseconds(a.CreatedAtMs), a.Retracted != 0)).ToList();
        var near = await similarity.ForItemAsync(uploadId, ct);
        var exact = cluster.Select(c => c.UploadId).ToHashSet(StringComparer.Ordinal);
        cluster = [.. cluster, .. near.Open.Where(m => !exact.Contains(m.UploadId))];
        return new ReviewItem(upload, text.Caption, Strings(text.Hashtags), text.Transcript, Strings(text.Comments), text.Locale,
            decisions, history, cluster, timeline, appeal, near.Decided, automated);
    }

    private static IReadOnlyList<string> Strings(string json)
    {
        try { return JsonSerializer.Deserialize<string?[]>(json)?.Where(s => s is not null).Select(s => s!).ToList() ?? []; }
        catch (JsonException) { return []; }
    }

    private sealed class TextRow
    {
        public string? Caption { get; init; }
        public string Hashtags { get; init; } = "[]";
        public string? Transcript { get; init; }
        public string Comments { get; init; } = "[]";
        public string? Locale { get; init; }
        public string? CreatorId { get; init; }
    }

    private sealed class DecisionRow
    {
        public string Id { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Action { get; init; } = "";
        public string ReasonCode { get; init; } = "";
        public string? Note { get; init; }
        public string DecidedByName { get; init; } = "";
        public long DecidedAtMs { get; init; }
        public long? RetractedAtMs { get; init; }
        public string? BulkAnchor { get; init; }
    }

    private sealed class AutomatedRow
    {
        public long Seq { get; init; }
        public string Category { get; init; } = "";
        public double Score { get; init; }
        public string Action { get; init; } = "";
        public string Source { get; init; } = "";
        public string? ModelVersion { get; init; }
        public string? PolicyVersion { get; init; }
        public long CreatedAtMs { get; init; }
        public long Retracted { get; init; }
    }

    private sealed class HistoryRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string Status { get; init; } = "";
        public long ReceivedAtMs { get; init; }
        public string? LastAction { get; init; }
    }

    private sealed class ClusterRow
    {
        public string UploadId { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? Caption { get; init; }
        public string TaskState { get; init; } = "";
        public string? LeaseHolder { get; init; }
        public long? LeaseUntilMs { get; init; }
        public string? LastAction { get; init; }
    }
}
