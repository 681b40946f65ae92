using System.Text.Json;
using Dapper;
using Moderation.Core.Media;
using Moderation.Core.Storage;

namespace Moderation.Core.Uploads;

public sealed record UploadDetails(
    string Id,
    string ExternalId,
    string? CreatorId,
    string Status,
    string? StatusDetail,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? RoutedAt,
    int ScoringAttempts,
    string? LastError,
    IReadOnlyList<MediaDetails> Media,
    IReadOnlyList<ScoreDetails> Scores,
    RoutingDetails? Routing,
    IReadOnlyList<UnscoredDetails> Unscored);

/// <summary>What a scorer declined to score for the upload and why (no words, an unsupported language).</summary>
public sealed record UnscoredDetails(string Scorer, string Code, string Reason, string ModelVersion, double Confidence, DateTimeOffset At);

/// <param name="Frames">
/// What the media scorers saw, frame by frame: the hash, its quality and bank matches (hash-match scorer), every image
/// model's score (image scorer), or why an item could not be read. Frame -1 is about the whole item.
/// </param>
public sealed record MediaDetails(int Ordinal, string Kind, string FileName, string ContentType, long SizeBytes, string Sha256,
    IReadOnlyList<FrameDetails> Frames);

/// <summary>One frame of a media item as the media scorers saw it (frame -1: the whole item, e.g. it could not be read at all).</summary>
/// <param name="Problem">Why the hash-match scorer could not (fully) read it.</param>
/// <param name="Scores">Each image model's probability for its category in this frame.</param>
/// <param name="ScoringProblem">Why the image scorer could not (fully) score it, or which categories have no image model.</param>
/// <param name="Hash">The crop-robust hash (near-duplicate search), with its <paramref name="Quality"/>.</param>
/// <param name="Pdq">The PDQ hash (what exchanged PDQ banks match), with its <paramref name="PdqQuality"/>.</param>
/// <param name="Text">What OCR read in the frame (null: not read), with Tesseract's mean word confidence and any problem.</param>
public sealed record FrameDetails(int Frame, long? PositionMs, string? Hash, int? Quality, IReadOnlyList<FrameMatch> Matches, string? Problem,
    IReadOnlyList<FrameScore> Scores, string? ScoringProblem, string? Pdq = null, int? PdqQuality = null, string? Text = null,
    double? TextConfidence = null, string? TextProblem = null);

/// <param name="Shadow">From a shadow model: recorded for comparison, not routed on.</param>
public sealed record ScoreDetails(string Category, double Score, string ModelVersion, string Scorer, IReadOnlyList<string> Explanations, DateTimeOffset ScoredAt, bool Shadow);

public sealed record RoutingDetails(string PolicyVersion, string Outcome, string Reason, IReadOnlyList<CategoryRoutingDetails> Categories);

public sealed record CategoryRoutingDetails(string Category, string Outcome, double Score, string ModelVersion, double ReviewThreshold, double ActionThreshold, string Reason);

/// <summary>Everything <c>GET /v1/uploads/{id}</c> shows about one upload.</summary>
public sealed class UploadDetailsQuery(ModerationDatabase database)
{
    private static readonly DialectSql SelectUpload = DialectSql.Portable("""
        SELECT id, external_id, creator_id, status, status_detail, policy_version, scoring_attempts, last_error,
               received_at_ms, routed_at_ms
        FROM uploads WHERE id = @Id
        """);

    private static readonly DialectSql SelectMedia = DialectSql.Portable("""
        SELECT ordinal, kind, file_name, content_type, size_bytes, sha256 FROM media WHERE upload_id = @Id ORDER BY ordinal
        """);

    private static readonly DialectSql SelectScores = DialectSql.Portable("""
        SELECT category, score, model_version, scorer, explanation, shadow, created_at_ms
        FROM scores WHERE upload_id = @Id ORDER BY category, model_version
        """);

    private static readonly DialectSql SelectAbstentions = DialectSql.Portable("""
        SELECT scorer, code, reason, model_version, confidence, created_at_ms FROM abstentions WHERE upload_id = @Id ORDER BY scorer, code
        """);

    private static readonly DialectSql SelectRoutes = DialectSql.Portable("""
        SELECT category, outcome, score, model_version, review_threshold, action_threshold, reason
        FROM routing_decisions WHERE upload_id = @Id AND policy_version = @PolicyVersion ORDER BY category
        """);

    private static readonly DialectSql SelectIdByExternalId = DialectSql.Portable("SELECT id FROM uploads WHERE external_id = @ExternalId");

    /// <summary>
    /// The upload with this id or, failing that, this external id (as reports, appeals and reach accept either): an id
    /// wins over another upload's external id that happens to equal it. A NUL in it is refused (field <paramref name="field"/>).
    /// </summary>
    public async Task<UploadDetails?> FindByAnyIdAsync(string idOrExternalId, string field, CancellationToken ct)
    {
        Refusals.TextInput.NoNul(idOrExternalId, field);
        if (Guid.TryParse(idOrExternalId, out _) && await FindAsync(idOrExternalId, ct) is { } byId) return byId;
        string? id;
        await using (var connection = await database.OpenAsync(ct))
            id = await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(database.Sql(SelectIdByExternalId),
                new { ExternalId = idOrExternalId }, cancellationToken: ct));
        return id is null ? null : await FindAsync(id, ct);
    }

    public async Task<UploadDetails?> FindAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var upload = await connection.QueryFirstOrDefaultAsync<UploadRow>(new CommandDefinition(database.Sql(SelectUpload), new { Id = id }, cancellationToken: ct));
        if (upload is null) return null;

        var media = (await connection.QueryAsync<MediaRow>(new CommandDefinition(database.Sql(SelectMedia), new { Id = id }, cancellationToken: ct)))
            .Select(m => new MediaDetails((int)m.Ordinal, m.Kind, m.FileName, m.ContentType, m.SizeBytes, m.Sha256.Trim(), [])).ToList();
        var hashed = (await MediaFrameLog.ReadAsync(connection, database.Dialect, id, ct)).ToDictionary(f => (f.Ordinal, f.Frame));
        var scored = (await MediaFrameLog.ReadScoresAsync(connection, database.Dialect, id, ct)).ToDictionary(f => (f.Ordinal, f.Frame));
        var read = (await MediaFrameLog.ReadTextAsync(connection, database.Dialect, id, ct)).ToDictionary(f => (f.Ordinal, f.Frame));
        // Every scorer numbers frames the same way (one reader, one sampling), so their evidence joins on (item, frame).
        var frames = hashed.Keys.Union(scored.Keys).Union(read.Keys).Order().Select(key =>
        {
            var h = hashed.GetValueOrDefault(key);
            var s = scored.GetValueOrDefault(key);
            var t = read.GetValueOrDefault(key);
            return (key.Ordinal, Details: new FrameDetails(key.Frame, h?.PositionMs ?? s?.PositionMs ?? t?.PositionMs, h?.Hash, h?.Quality, h?.Matches ?? [], h?.Problem,
                s?.Scores ?? [], s?.Problem, h?.Pdq, h?.PdqQuality, t?.Text, t?.Confidence, t?.Problem));
        }).ToLookup(f => f.Ordinal, f => f.Details);
        media = media.Select(m => m with { Frames = frames[m.Ordinal].ToList() }).ToList();
        var scores = (await connection.QueryAsync<ScoreRow>(new CommandDefinition(database.Sql(SelectScores), new { Id = id }, cancellationToken: ct)))
            .Select(s => new ScoreDetails(s.Category, s.Score, s.ModelVersion, s.Scorer,
                JsonSerializer.Deserialize<string[]>(s.Explanation) ?? [], DateTimeOffset.FromUnixTimeMilliseconds(s.CreatedAtMs), s.Shadow)).ToList();

        var unscored = (await connection.QueryAsync<AbstentionRow>(new CommandDefinition(database.Sql(SelectAbstentions), new { Id = id }, cancellationToken: ct)))
            .Select(a => new UnscoredDetails(a.Scorer, a.Code, a.Reason, a.ModelVersion, a.Confidence, DateTimeOffset.FromUnixTimeMilliseconds(a.CreatedAtMs)))
            .ToList();

        RoutingDetails? routing = null;
        if (upload.PolicyVersion is not null && upload.RoutedAtMs is not null)
        {
            var routes = (await connection.QueryAsync<RouteRow>(new CommandDefinition(database.Sql(SelectRoutes),
                    new { Id = id, upload.PolicyVersion }, cancellationToken: ct)))
                .Select(r => new CategoryRoutingDetails(r.Category, r.Outcome, r.Score, r.ModelVersion, r.ReviewThreshold, r.ActionThreshold, r.Reason))
                .ToList();
            routing = new RoutingDetails(upload.PolicyVersion, upload.Status, upload.StatusDetail ?? "", routes);
        }

        return new UploadDetails(upload.Id, upload.ExternalId, upload.CreatorId, upload.Status, upload.StatusDetail,
            DateTimeOffset.FromUnixTimeMilliseconds(upload.ReceivedAtMs),
            upload.RoutedAtMs is { } routed ? DateTimeOffset.FromUnixTimeMilliseconds(routed) : null,
            (int)upload.ScoringAttempts, upload.LastError, media, scores, routing, unscored);
    }

    private sealed class UploadRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? CreatorId { get; init; }
        public string Status { get; init; } = "";
        public string? StatusDetail { get; init; }
        public string? PolicyVersion { get; init; }
        public long ScoringAttempts { get; init; }
        public string? LastError { get; init; }
        public long ReceivedAtMs { get; init; }
        public long? RoutedAtMs { get; init; }
    }

    private sealed class MediaRow
    {
        public long Ordinal { get; init; }
        public string Kind { get; init; } = "";
        public string FileName { get; init; } = "";
        public string ContentType { get; init; } = "";
        public long SizeBytes { get; init; }
        public string Sha256 { get; init; } = "";
    }

    private sealed class ScoreRow
    {
        public string Category { get; init; } = "";
        public double Score { get; init; }
        public string ModelVersion { get; init; } = "";
        public string Scorer { get; init; } = "";
        public string Explanation { get; init; } = "[]";
        public bool Shadow { get; init; }
        public long CreatedAtMs { get; init; }
    }

    private sealed class AbstentionRow
    {
        public string Scorer { get; init; } = "";
        public string Code { get; init; } = "";
        public string Reason { get; init; } = "";
        public string ModelVersion { get; init; } = "";
        public double Confidence { get; init; }
        public long CreatedAtMs { get; init; }
    }

    private sealed class RouteRow
    {
        public string Category { get; init; } = "";
        public string Outcome { get; init; } = "";
        public double Score { get; init; }
        public string ModelVersion { get; init; } = "";
        public double ReviewThreshold { get; init; }
        public double ActionThreshold { get; init; }
        public string Reason { get; init; } = "";
    }
}
