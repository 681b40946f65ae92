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
/// The Hangfire job that scores a batch of uploads (argument: their ids), routes each by the live policy and
/// stores scores, routing, audit events and risk signals in one transaction. Safe to run twice: only uploads
/// still queued are scored, and the final update is guarded on that state, so a retried or duplicated job
/// stores nothing twice. A scorer failure splits the batch in halves (new jobs) until the failing upload is
/// alone; only then does it count as that upload's failed attempt.
/// </summary>
public sealed class ScoringJob(
    ModerationDatabase database,
    IEnumerable<IUploadScorer> scorers,
    RoutingPolicy policy,
    ScoringOutcomeWriter writer,
    IBackgroundJobClient jobs,
    IOptions<ScoringOptions> options,
    TimeProvider time,
    ILogger<ScoringJob> logger)
{
    public const string NoScorersDetail = "unscored: no scorers configured";

    private static readonly DialectSql SelectQueued = DialectSql.WithList("""
        SELECT id, external_id, creator_id, caption, hashtags, transcript, comments, locale, scoring_attempts
        FROM uploads WHERE id IN @Ids AND status = 'queued'
        """);

    private static readonly DialectSql SelectMedia = DialectSql.WithList("""
        SELECT upload_id, ordinal, kind, file_name, content_type, size_bytes, sha256
        FROM media WHERE upload_id IN @Ids ORDER BY upload_id, ordinal
        """);

    private static readonly DialectSql CountAttempt = DialectSql.WithList("""
        UPDATE uploads SET scoring_attempts = scoring_attempts + 1, updated_at_ms = @Now
        WHERE id IN @Ids AND status = 'queued'
        """);

    private static readonly DialectSql MarkUnscored = DialectSql.WithList("""
        UPDATE uploads SET status_detail = @Detail, updated_at_ms = @Now WHERE id IN @Ids AND status = 'queued'
        """);

    private static readonly DialectSql RecordError = DialectSql.Portable("""
        UPDATE uploads SET last_error = @Error, updated_at_ms = @Now WHERE id = @Id AND status = 'queued'
        """);

    private readonly IUploadScorer[] scorers = scorers.ToArray();

    [Queue("scoring")]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 30, 120], OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    [JobDisplayName("Score {0}")]
    public async Task ScoreAsync(string[] uploadIds, CancellationToken ct)
    {
        using var activity = ModerationTelemetry.Source.StartActivity("scoring.batch");
        var batch = await LoadQueuedAsync(uploadIds, ct);
        activity?.SetTag("scoring.batch_size", batch.Count);
        if (batch.Count == 0) return; // already scored by an earlier run
        var ids = batch.Select(b => b.Content.Id).ToArray();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();

        if (scorers.Length == 0)
        {
            await ExecuteAsync(MarkUnscored, new { Detail = NoScorersDetail, Now = now, Ids = ids }, ct);
            return;
        }

        // Counted before scoring so that a worker killed mid-batch still uses up an attempt.
        await ExecuteAsync(CountAttempt, new { Now = now, Ids = ids }, ct);
        ModerationTelemetry.ScoringBatchSize.Record(batch.Count);

        Dictionary<string, List<AttributedScore>> scores;
        try
        {
            scores = await RunScorersAsync(batch.Select(b => b.Content).ToList(), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            ModerationTelemetry.ScoringFailures.Add(1);
            if (batch.Count > 1)
            {
                var half = batch.Count / 2;
                logger.LogWarning(e, "Scoring a batch of {Count} failed; splitting it to isolate the failing upload", batch.Count);
                string[] first = ids[..half], second = ids[half..];
                jobs.Enqueue<ScoringJob>(j => j.ScoreAsync(first, CancellationToken.None));
                jobs.Enqueue<ScoringJob>(j => j.ScoreAsync(second, CancellationToken.None));
                return;
            }
            var upload = batch[0];
            var attempts = upload.Attempts + 1;
            if (attempts >= options.Value.MaxAttempts)
            {
                logger.LogError(e, "Scoring upload {UploadId} failed {Attempts} times; marking it failed", upload.Content.Id, attempts);
                await writer.MarkFailedAsync(upload.Content.Id, attempts, e.Message, ct);
                return;
            }
            await ExecuteAsync(RecordError, new { Error = Truncate(e.Message, 2000), Now = now, Id = upload.Content.Id }, ct);
            throw; // Hangfire retries this single upload later
        }

        var decisions = batch.Select(b =>
        {
            var uploadScores = scores.GetValueOrDefault(b.Content.Id) ?? [];
            return new ScoredUpload(b.Content, uploadScores, policy.Route(uploadScores.Select(a => a.Score).ToList()));
        }).ToList();
        var routed = await writer.WriteAsync(decisions, ct);
        foreach (var group in routed.GroupBy(d => d.Decision.Status))
            ModerationTelemetry.UploadsRouted.Add(group.Count(), new KeyValuePair<string, object?>("status", group.Key));
        activity?.SetTag("scoring.routed", routed.Count);
    }

    private async Task<Dictionary<string, List<AttributedScore>>> RunScorersAsync(IReadOnlyList<UploadContent> contents, CancellationToken ct)
    {
        var ids = contents.Select(c => c.Id).ToHashSet();
        var byUpload = new Dictionary<string, List<AttributedScore>>();
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
            }
        }
        // Two scorers must not claim the same category and model version for one upload.
        foreach (var (id, list) in byUpload)
        {
            var duplicate = list.GroupBy(a => (a.Score.Category, a.Score.ModelVersion)).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new InvalidScorerOutputException("(several)", $"scored {duplicate.Key.Category} with {duplicate.Key.ModelVersion} twice for upload {id}");
        }
        return byUpload;
    }

    private async Task<List<QueuedUpload>> LoadQueuedAsync(string[] uploadIds, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<QueuedRow>(new CommandDefinition(database.Sql(SelectQueued),
            new { Ids = uploadIds }, cancellationToken: ct))).ToList();
        if (rows.Count == 0) return [];
        var media = (await connection.QueryAsync<MediaRow>(new CommandDefinition(database.Sql(SelectMedia),
                new { Ids = rows.Select(r => r.Id).ToArray() }, cancellationToken: ct)))
            .ToLookup(m => m.UploadId);
        // Keep the caller's order, so that splitting a failing batch is deterministic.
        var order = uploadIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        return rows.OrderBy(r => order[r.Id]).Select(r => new QueuedUpload(
            new UploadContent(r.Id, r.ExternalId, r.CreatorId, r.Caption,
                JsonSerializer.Deserialize<string[]>(r.Hashtags) ?? [], r.Transcript,
                JsonSerializer.Deserialize<string[]>(r.Comments) ?? [], r.Locale,
                media[r.Id].Select(m => new MediaItem((int)m.Ordinal, m.Kind, m.FileName, m.ContentType, m.SizeBytes, m.Sha256.Trim())).ToList()),
            (int)r.ScoringAttempts)).ToList();
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

/// <summary>An upload with its scores and the routing they led to.</summary>
public sealed record ScoredUpload(UploadContent Content, IReadOnlyList<AttributedScore> Scores, RoutingDecision Decision);
