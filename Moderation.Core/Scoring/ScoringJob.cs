using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Storage;
using Moderation.Core.Telemetry;
using Moderation.Core.Uploads;

namespace Moderation.Core.Scoring;

/// <summary>
/// The Hangfire job that scores a batch of uploads (arguments: their ids), routes each by the live policy and
/// stores scores, routing, audit events and risk signals in one transaction.
/// <para>
/// Batches: a job first claims its own uploads, then tops the batch up to <see cref="ScoringOptions.MaxBatchSize"/>
/// with other queued uploads nobody holds, so a busy worker feeds the model full batches however the uploads
/// arrived; the jobs those uploads came with then find nothing left to do. A claim is a lease
/// (<see cref="ScoringOptions.ClaimLease"/>): a worker that dies mid-batch holds its uploads only until it expires.
/// </para>
/// <para>
/// Idempotent: only queued uploads are scored and the final update is guarded on that state, so a retried or
/// duplicated job stores nothing twice. A scorer failure splits the batch in halves (new jobs, without top-up)
/// until the failing upload is alone; only then does Hangfire retry it, and after
/// <see cref="ScoringOptions.MaxAttempts"/> it is marked failed.
/// </para>
/// </summary>
public sealed class ScoringJob(
    ModerationDatabase database,
    IEnumerable<IUploadScorer> scorers,
    RoutingPolicy policy,
    ScoringOutcomeWriter writer,
    IBackgroundJobClient jobs,
    IOptions<ScoringOptions> options,
    TimeProvider time,
    ILogger<ScoringJob> logger,
    Media.ImageTextReader? imageText = null)
{
    public const string NoScorersDetail = "unscored: no scorers configured";

    private const string Claimable = "status = 'queued' AND (claimed_until_ms IS NULL OR claimed_until_ms < @Now)";
    private const string ClaimSet = "claim_token = @Token, claimed_until_ms = @Until, updated_at_ms = @Now";

    private static readonly DialectSql ClaimOwn = DialectSql.WithList($"UPDATE uploads SET {ClaimSet} WHERE id IN @Ids AND {Claimable}");

    private static readonly DialectSql ClaimMore = new(
        sqlite: $"""
            UPDATE uploads SET {ClaimSet} WHERE id IN (
                SELECT id FROM uploads WHERE {Claimable} AND scoring_attempts < @MaxAttempts ORDER BY enqueued_at_ms LIMIT @Limit)
            """,
        // A CTE runs once; as an IN sub-query the planner may re-run it per row and ignore the LIMIT.
        postgres: $"""
            WITH next AS (
                SELECT id FROM uploads WHERE {Claimable} AND scoring_attempts < @MaxAttempts ORDER BY enqueued_at_ms LIMIT @Limit
                FOR UPDATE SKIP LOCKED)
            UPDATE uploads SET {ClaimSet} FROM next WHERE uploads.id = next.id
            """,
        sqlServer: $"""
            WITH next AS (
                SELECT TOP (@Limit) * FROM uploads WITH (UPDLOCK, READPAST, ROWLOCK)
                WHERE {Claimable} AND scoring_attempts < @MaxAttempts ORDER BY enqueued_at_ms)
            UPDATE next SET {ClaimSet}
            """);

    private static readonly DialectSql SelectClaimed = DialectSql.Portable("""
        SELECT id, external_id, creator_id, caption, hashtags, transcript, comments, locale, scoring_attempts, enqueued_at_ms
        FROM uploads WHERE claim_token = @Token AND status = 'queued'
        """);

    private static readonly DialectSql SelectMedia = DialectSql.WithList("""
        SELECT upload_id, ordinal, kind, file_name, content_type, size_bytes, sha256
        FROM media WHERE upload_id IN @Ids ORDER BY upload_id, ordinal
        """);

    private static readonly DialectSql Release = DialectSql.Portable("""
        UPDATE uploads SET claim_token = NULL, claimed_until_ms = NULL WHERE claim_token = @Token AND status = 'queued'
        """);

    private static readonly DialectSql MarkUnscored = DialectSql.WithList("""
        UPDATE uploads SET status_detail = @Detail, updated_at_ms = @Now WHERE id IN @Ids AND status = 'queued'
        """);

    private static readonly DialectSql RecordError = DialectSql.Portable("""
        UPDATE uploads SET last_error = @Error, scoring_attempts = scoring_attempts + 1, claim_token = NULL, claimed_until_ms = NULL,
               updated_at_ms = @Now
        WHERE id = @Id AND status = 'queued'
        """);

    private readonly IUploadScorer[] scorers = scorers.ToArray();

    /// <summary>Scores these uploads, and tops the batch up with other queued uploads.</summary>
    [Queue("scoring")]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 30, 120], OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    [JobDisplayName("Score {0}")]
    public Task ScoreAsync(string[] uploadIds, CancellationToken ct) => RunAsync(uploadIds, topUp: true, ct);

    /// <summary>Scores exactly these uploads (the halves of a batch that failed).</summary>
    [Queue("scoring")]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 30, 120], OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    [JobDisplayName("Score exactly {0}")]
    public Task ScoreExactlyAsync(string[] uploadIds, CancellationToken ct) => RunAsync(uploadIds, topUp: false, ct);

    private async Task RunAsync(string[] uploadIds, bool topUp, CancellationToken ct)
    {
        using var activity = ModerationTelemetry.Source.StartActivity("scoring.batch");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();

        if (scorers.Length == 0)
        {
            await ExecuteAsync(MarkUnscored, new { Detail = NoScorersDetail, Now = now, Ids = uploadIds }, ct);
            return;
        }

        var token = Guid.NewGuid().ToString("N");
        var batch = await ClaimAsync(token, uploadIds, topUp, now, ct);
        activity?.SetTag("scoring.batch_size", batch.Count);
        if (batch.Count == 0) return; // scored already, or held by another live job
        ModerationTelemetry.ScoringBatchSize.Record(batch.Count);

        Dictionary<string, List<AttributedScore>> scores;
        Dictionary<string, List<UploadEmbedding>> embeddings;
        Dictionary<string, List<AttributedAbstention>> abstentions;
        try
        {
            (scores, embeddings, abstentions) = await RunScorersAsync(batch.Select(b => b.Content).ToList(), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The server is stopping: hand the uploads back now rather than when the lease runs out.
            await ReleaseQuietlyAsync(token);
            throw;
        }
        catch (Exception e)
        {
            ModerationTelemetry.ScoringFailures.Add(1);
            if (batch.Count > 1)
            {
                var ids = batch.Select(b => b.Content.Id).ToArray();
                var half = ids.Length / 2;
                string[] first = ids[..half], second = ids[half..];
                logger.LogWarning(e, "Scoring a batch of {Count} failed; splitting it to isolate the failing upload", batch.Count);
                await ExecuteAsync(Release, new { Token = token }, ct);
                jobs.Enqueue<ScoringJob>(j => j.ScoreExactlyAsync(first, CancellationToken.None));
                jobs.Enqueue<ScoringJob>(j => j.ScoreExactlyAsync(second, CancellationToken.None));
                return;
            }
            // Only a failure of the upload alone counts as its attempt: a batch that failed says nothing yet.
            var upload = batch[0];
            var attempts = upload.Attempts + 1;
            if (attempts >= options.Value.MaxAttempts)
            {
                logger.LogError(e, "Scoring upload {UploadId} failed {Attempts} times; marking it failed", upload.Content.Id, attempts);
                await writer.MarkFailedAsync(upload.Content.Id, attempts, e.Message, ct);
                return;
            }
            await ExecuteAsync(RecordError, new { Error = Truncate(e.Message, 2000), Now = now, Id = upload.Content.Id }, ct);
            throw; // Hangfire retries the job; the upload, released, is claimed again by it or by any other job
        }

        var decisions = batch.Select(b =>
        {
            var uploadScores = scores.GetValueOrDefault(b.Content.Id) ?? [];
            var declined = abstentions.GetValueOrDefault(b.Content.Id) ?? [];
            return new ScoredUpload(b.Content, uploadScores, policy.Route(uploadScores.Select(a => a.Score).ToList(), declined),
                embeddings.GetValueOrDefault(b.Content.Id), declined);
        }).ToList();
        IReadOnlyList<ScoredUpload> routed;
        try
        {
            routed = await writer.WriteAsync(decisions, ct);
        }
        catch
        {
            await ReleaseQuietlyAsync(token);
            throw;
        }
        foreach (var group in routed.GroupBy(d => d.Decision.Status))
            ModerationTelemetry.UploadsRouted.Add(group.Count(), new KeyValuePair<string, object?>("status", group.Key));
        activity?.SetTag("scoring.routed", routed.Count);
    }

    private async Task<(Dictionary<string, List<AttributedScore>>, Dictionary<string, List<UploadEmbedding>>, Dictionary<string, List<AttributedAbstention>>)>
        RunScorersAsync(IReadOnlyList<UploadContent> contents, CancellationToken ct)
    {
        var ids = contents.Select(c => c.Id).ToHashSet();
        // Text in pictures is read first, so the text scorer scores it with the rest of the upload's words.
        if (imageText is not null) contents = await imageText.ReadAsync(contents, ct);
        var byUpload = new Dictionary<string, List<AttributedScore>>();
        var vectors = new Dictionary<string, List<UploadEmbedding>>();
        var declined = new Dictionary<string, List<AttributedAbstention>>();
        foreach (var scorer in scorers)
        {
            using var activity = ModerationTelemetry.Source.StartActivity("scoring.scorer");
            activity?.SetTag("scorer.name", scorer.Name);
            var started = Stopwatch.GetTimestamp();
            var output = await scorer.ScoreAsync(contents, ct);
            ModerationTelemetry.ScoringDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("scorer", scorer.Name));
            ScorerOutput.Validate(scorer.Name, output, ids);
            foreach (var upload in output)
            {
                if (!byUpload.TryGetValue(upload.UploadId, out var list)) byUpload[upload.UploadId] = list = [];
                list.AddRange(upload.Scores.Select(s => new AttributedScore(scorer.Name, s with { Explanations = s.Explanations ?? [] })));
                if (upload.Abstentions is { Count: > 0 })
                {
                    if (!declined.TryGetValue(upload.UploadId, out var notes)) declined[upload.UploadId] = notes = [];
                    notes.AddRange(upload.Abstentions.Select(a => new AttributedAbstention(scorer.Name, a)));
                }
                if (upload.Embeddings is not { Count: > 0 }) continue;
                if (!vectors.TryGetValue(upload.UploadId, out var own)) vectors[upload.UploadId] = own = [];
                own.AddRange(upload.Embeddings);
            }
        }
        // Two scorers must not claim the same category and model version for one upload.
        foreach (var (id, list) in byUpload)
        {
            var duplicate = list.GroupBy(a => (a.Score.Category, a.Score.ModelVersion)).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new InvalidScorerOutputException("(several)", $"scored {duplicate.Key.Category} with {duplicate.Key.ModelVersion} twice for upload {id}");
        }
        foreach (var (id, list) in vectors)
        {
            var duplicate = list.GroupBy(e => (e.Kind, e.Model, e.MediaOrdinal, e.Frame)).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new InvalidScorerOutputException("(several)", $"returned the {duplicate.Key.Kind} embedding of {duplicate.Key.Model} twice for upload {id}");
        }
        return (byUpload, vectors, declined);
    }

    private async Task<List<QueuedUpload>> ClaimAsync(string token, string[] uploadIds, bool topUp, long now, CancellationToken ct)
    {
        var o = options.Value;
        var claim = new { Token = token, Until = now + (long)o.ClaimLease.TotalMilliseconds, Now = now };
        await using var connection = await database.OpenAsync(ct);
        var claimed = uploadIds.Length == 0 ? 0 : await connection.ExecuteAsync(new CommandDefinition(database.Sql(ClaimOwn),
            new { claim.Token, claim.Until, claim.Now, Ids = uploadIds }, cancellationToken: ct));
        if (topUp && claimed < o.MaxBatchSize)
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(ClaimMore),
                new { claim.Token, claim.Until, claim.Now, MaxAttempts = o.MaxAttempts, Limit = o.MaxBatchSize - claimed }, cancellationToken: ct));

        var rows = (await connection.QueryAsync<QueuedRow>(new CommandDefinition(database.Sql(SelectClaimed),
            new { Token = token }, cancellationToken: ct))).ToList();
        if (rows.Count == 0) return [];
        var media = (await connection.QueryAsync<MediaRow>(new CommandDefinition(database.Sql(SelectMedia),
                new { Ids = rows.Select(r => r.Id).ToArray() }, cancellationToken: ct)))
            .ToLookup(m => m.UploadId);
        // Oldest first, so that splitting a failing batch is deterministic.
        return rows.OrderBy(r => r.EnqueuedAtMs).ThenBy(r => r.Id, StringComparer.Ordinal).Select(r => new QueuedUpload(
            new UploadContent(r.Id, r.ExternalId, r.CreatorId, r.Caption,
                JsonSerializer.Deserialize<string[]>(r.Hashtags) ?? [], r.Transcript,
                JsonSerializer.Deserialize<string[]>(r.Comments) ?? [], r.Locale,
                media[r.Id].Select(m => new MediaItem((int)m.Ordinal, m.Kind, m.FileName, m.ContentType, m.SizeBytes, m.Sha256.Trim())).ToList()),
            (int)r.ScoringAttempts)).ToList();
    }

    /// <summary>Gives the batch's claims back so another job can take the uploads at once; a failure here only delays them to the lease's end.</summary>
    private async Task ReleaseQuietlyAsync(string token)
    {
        try
        {
            await ExecuteAsync(Release, new { Token = token }, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not release scoring claims; they expire with their lease");
        }
    }

    private async Task ExecuteAsync(DialectSql sql, object parameters, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(sql), parameters, cancellationToken: ct));
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    private sealed record QueuedUpload(UploadContent Content, int Attempts);

    private sealed class QueuedRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? CreatorId { get; init; }
        public string? Caption { get; init; }
        public string Hashtags { get; init; } = "[]";
        public string? Transcript { get; init; }
        public string Comments { get; init; } = "[]";
        public string? Locale { get; init; }
        public long ScoringAttempts { get; init; }
        public long EnqueuedAtMs { get; init; }
    }

    private sealed class MediaRow
    {
        public string UploadId { get; init; } = "";
        public long Ordinal { get; init; }
        public string Kind { get; init; } = "";
        public string FileName { get; init; } = "";
        public string ContentType { get; init; } = "";
        public long SizeBytes { get; init; }
        public string Sha256 { get; init; } = "";
    }
}

/// <summary>A score and the scorer that produced it.</summary>
public sealed record AttributedScore(string Scorer, CategoryScore Score);

/// <summary>An abstention and the scorer that declined.</summary>
public sealed record AttributedAbstention(string Scorer, Abstention Abstention);

/// <summary>
/// An upload with its scores, the routing they led to, the vectors the scorers computed for near-duplicate search,
/// and what the scorers declined to score.
/// </summary>
public sealed record ScoredUpload(UploadContent Content, IReadOnlyList<AttributedScore> Scores, RoutingDecision Decision,
    IReadOnlyList<UploadEmbedding>? Embeddings = null, IReadOnlyList<AttributedAbstention>? Abstentions = null);
