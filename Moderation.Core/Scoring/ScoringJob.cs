using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;
using Moderation.Core.Policies;
using Moderation.Core.Storage;
using Moderation.Core.Telemetry;
using Moderation.Core.Uploads;

namespace Moderation.Core.Scoring;

/// <summary>
/// The Hangfire job that scores a batch of uploads (arguments: their ids, the uploads intake stored together),
/// routes each by the live policy and stores scores, routing, audit events and risk signals in one transaction.
/// Hangfire is the one queue: a job's upload ids are its batch, Hangfire retries a failed job
/// (<see cref="Retries"/> times, backing off), and a job that exhausts them stays in the dashboard as Failed.
/// <para>
/// Idempotent: only queued uploads are scored and the routing update is guarded on that state (scores and the
/// rest are insert-if-absent), so a retried, duplicated or re-fetched job stores nothing twice.
/// </para>
/// <para>
/// A scorer failure does not sink the batch: it is split in halves, in this run, until the failing uploads are
/// alone; the others are routed, the failing ones keep their error (<c>last_error</c>, <c>scoring_attempts</c>) and
/// the job throws, so Hangfire retries it; a retry finds only the uploads still queued. On the last attempt they
/// become <c>failed</c> (<see cref="UploadLifecycle"/>) before the job fails. Requeueing the failed job in the
/// dashboard scores them again: a run takes its <c>failed</c> uploads back to <c>queued</c> first.
/// </para>
/// <para>
/// A worker that dies mid-run (killed, out of memory) is not a retry to Hangfire: the job simply runs again on another
/// worker once its invisibility timeout passes. The job counts such lost runs in its own job parameters and, after
/// one, scores its uploads one at a time so an upload that takes its worker down cannot hold back the others, and
/// gives up on it after <see cref="MaxLostRuns"/>.
/// </para>
/// </summary>
public sealed class ScoringJob(
    ModerationDatabase database,
    IEnumerable<IUploadScorer> scorers,
    IRoutingPolicySource policies,
    ScoringOutcomeWriter writer,
    TimeProvider time,
    ILogger<ScoringJob> logger,
    Media.ImageTextReader? imageText = null,
    Signals.SignalQuarantines? quarantines = null)
{
    public const string NoScorersDetail = "unscored: no scorers configured";

    /// <summary>Hangfire's retries of a failed job after its first run: five runs in all, over about 21 minutes.</summary>
    public const int Retries = 4;

    /// <summary>Runs of one job that may end with their worker (killed, out of memory) before its uploads are given up on.</summary>
    public const int MaxLostRuns = 3;

    private const string RunningParameter = "ScoringRunning";
    private const string LostRunsParameter = "ScoringLostRuns";

    private static readonly DialectSql SelectUploads = DialectSql.WithList("""
        SELECT id, external_id, creator_id, caption, hashtags, transcript, comments, locale, status, enqueued_at_ms
        FROM uploads WHERE id IN @Ids AND status IN ('queued', 'failed')
        """);

    private static readonly DialectSql SelectMedia = DialectSql.WithList("""
        SELECT upload_id, ordinal, kind, file_name, content_type, size_bytes, sha256
        FROM media WHERE upload_id IN @Ids ORDER BY upload_id, ordinal
        """);

    private static readonly DialectSql MarkUnscored = DialectSql.WithList("""
        UPDATE uploads SET status_detail = @Detail, updated_at_ms = @Now WHERE id IN @Ids AND status = 'queued'
        """);

    private static readonly DialectSql RecordError = DialectSql.Portable("""
        UPDATE uploads SET last_error = @Error, scoring_attempts = @Attempts, updated_at_ms = @Now WHERE id = @Id AND status = 'queued'
        """);

    private readonly IUploadScorer[] scorers = scorers.ToArray();

    /// <summary>Scores these uploads: the job intake enqueues. <paramref name="context"/> is Hangfire's (null when called directly).</summary>
    [Queue(ScoringDispatcher.Queue)]
    [AutomaticRetry(Attempts = Retries, DelaysInSeconds = [10, 60, 300, 900], OnAttemptsExceeded = AttemptsExceededAction.Fail,
        ExceptOn = [typeof(ScoringAbandonedException)])]
    [JobDisplayName("Score {0}")]
    public async Task ScoreAsync(string[] uploadIds, PerformContext? context, CancellationToken ct)
    {
        if (context is null)
        {
            await ScoreAsync(uploadIds, attempt: 1, lostRuns: 0, ct);
            return;
        }
        // A run still marked running when the next one starts ended with its worker (killed, out of memory): Hangfire
        // runs the job again without counting a retry, so the job counts such runs itself.
        var lost = context.GetJobParameter<int>(LostRunsParameter);
        if (context.GetJobParameter<bool>(RunningParameter)) context.SetJobParameter(LostRunsParameter, ++lost);
        context.SetJobParameter(RunningParameter, true);
        try
        {
            await ScoreAsync(uploadIds, context.GetJobParameter<int>("RetryCount") + 1, lost, ct);
        }
        catch (ScoringAbandonedException)
        {
            context.SetJobParameter(LostRunsParameter, 0); // a requeue from the dashboard starts afresh
            throw;
        }
        finally
        {
            context.SetJobParameter(RunningParameter, false);
        }
    }

    /// <summary>
    /// Scores these uploads as attempt <paramref name="attempt"/> (1 to <see cref="Retries"/> + 1) of their job, after
    /// <paramref name="lostRuns"/> runs of it that ended with their worker. After one, the uploads are scored and stored
    /// one at a time, forwards, then backwards after a second, so every upload but one that stops its worker gets
    /// routed; after <see cref="MaxLostRuns"/> those left are marked failed and the job fails without a retry.
    /// </summary>
    public async Task ScoreAsync(string[] uploadIds, int attempt, int lostRuns, CancellationToken ct)
    {
        using var activity = ModerationTelemetry.Source.StartActivity("scoring.batch");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        activity?.SetTag("scoring.attempt", attempt);

        if (scorers.Length == 0)
        {
            await ExecuteAsync(MarkUnscored, new { Detail = NoScorersDetail, Now = now, Ids = uploadIds }, ct);
            return;
        }

        var batch = await LoadAsync(uploadIds, ct);
        activity?.SetTag("scoring.batch_size", batch.Count);
        if (batch.Count == 0) return; // scored already (a retry, a duplicate job)
        ModerationTelemetry.ScoringBatchSize.Record(batch.Count);

        if (lostRuns >= MaxLostRuns)
        {
            var reason = $"the worker stopped during {lostRuns} runs of its scoring job, the last two scoring one upload at a time";
            logger.LogError("Giving up on {Count} uploads: {Reason}", batch.Count, reason);
            foreach (var upload in batch) await writer.MarkFailedAsync(upload.Id, attempt, reason, ct);
            throw new ScoringAbandonedException(batch.Select(b => b.Id).ToList(), reason);
        }

        var failures = new List<(UploadContent Upload, Exception Error)>();
        if (lostRuns == 0)
            await ScoreAndStoreAsync(batch, failures, activity, ct);
        else
            foreach (var upload in lostRuns % 2 == 1 ? batch : Enumerable.Reverse(batch))
                await ScoreAndStoreAsync([upload], failures, activity, ct);
        if (failures.Count == 0) return;

        ModerationTelemetry.ScoringFailures.Add(failures.Count);
        var last = attempt > Retries;
        foreach (var (upload, error) in failures)
        {
            if (last) await writer.MarkFailedAsync(upload.Id, attempt, error.Message, ct);
            else await ExecuteAsync(RecordError, new { Error = Truncate(error.Message, 2000), Attempts = attempt, Now = now, upload.Id }, ct);
        }
        if (last)
            logger.LogError(failures[0].Error, "Scoring {Count} uploads failed on every attempt ({Attempts}); marked failed", failures.Count, attempt);
        // Hangfire retries the job (only these uploads are still queued), or shows it as Failed after the last attempt.
        throw new ScoringFailedException(failures.Select(f => f.Upload.Id).ToList(), attempt, failures[0].Error);
    }

    /// <summary>Scores the uploads and stores the outcome of those that did not fail; the others land in <paramref name="failures"/>.</summary>
    private async Task ScoreAndStoreAsync(IReadOnlyList<UploadContent> batch, List<(UploadContent Upload, Exception Error)> failures,
        System.Diagnostics.Activity? activity, CancellationToken ct)
    {
        var failedBefore = failures.Count;
        var output = await ScoreIsolatingAsync(batch, failures, ct);
        var failed = failures.Skip(failedBefore).Select(f => f.Upload.Id).ToHashSet(StringComparer.Ordinal);
        var scored = batch.Where(b => !failed.Contains(b.Id)).ToList();
        if (scored.Count == 0) return;
        // One policy version routes the whole batch: the one live now (a version going live meanwhile routes the next).
        // The versions in shadow at the same moment are evaluated on the same scores, only to be stored beside it.
        var current = await policies.CurrentAsync(ct);
        var policy = current.Live;
        // The sources in quarantine, read once per batch: their scores are stored but do not route (SignalQuarantines).
        IReadOnlySet<string> quarantined = quarantines is null ? new HashSet<string>() : await quarantines.CurrentAsync(ct);
        var decisions = scored.Select(b =>
        {
            var uploadScores = output.Scores.GetValueOrDefault(b.Id) ?? [];
            var declined = output.Abstentions.GetValueOrDefault(b.Id) ?? [];
            var routing = uploadScores.Select(a => a.Score).Where(s => !Signals.SignalSourceId.Quarantined(s, quarantined)).ToList();
            var decision = policy.Route(routing, declined, b.Locale);
            if (routing.Count < uploadScores.Count)
            {
                // Say so where a person reads the routing (the upload's status detail and its audit event).
                var ignored = uploadScores.Select(a => a.Score).Where(s => Signals.SignalSourceId.Quarantined(s, quarantined))
                    .Select(s => FormattableString.Invariant($"{s.Category} {s.Score:0.00} by {s.ModelVersion}"));
                decision = decision with { Reason = $"{decision.Reason}; ignored, its source quarantined: {string.Join(", ", ignored)}" };
            }
            return new ScoredUpload(b, uploadScores, decision, output.Embeddings.GetValueOrDefault(b.Id), declined,
                current.Shadows.Select(shadow => shadow.Route(routing, declined, b.Locale)).ToList());
        }).ToList();
        var storing = Stopwatch.GetTimestamp();
        var routed = await writer.WriteAsync(decisions, ct);
        ModerationTelemetry.ScoringStoreDuration.Record(Stopwatch.GetElapsedTime(storing).TotalSeconds);
        foreach (var group in routed.GroupBy(d => d.Decision.Status))
            ModerationTelemetry.UploadsRouted.Add(group.Count(), new KeyValuePair<string, object?>("status", group.Key));
        activity?.SetTag("scoring.routed", routed.Count);
    }

    /// <summary>
    /// Runs the scorers on the batch; when they fail, on each half, down to single uploads, so one bad upload costs
    /// its neighbours a few more model calls instead of their routing. Failing uploads land in <paramref name="failures"/>.
    /// </summary>
    private async Task<BatchOutput> ScoreIsolatingAsync(IReadOnlyList<UploadContent> contents, List<(UploadContent, Exception)> failures, CancellationToken ct)
    {
        try
        {
            return await RunScorersAsync(contents, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw; // the server is stopping: Hangfire runs the job again
        }
        catch (Exception e) when (contents.Count > 1)
        {
            logger.LogWarning(e, "Scoring a batch of {Count} failed; scoring its halves to isolate the failing uploads", contents.Count);
            var half = contents.Count / 2;
            var first = await ScoreIsolatingAsync(contents.Take(half).ToList(), failures, ct);
            var second = await ScoreIsolatingAsync(contents.Skip(half).ToList(), failures, ct);
            return first.Merge(second);
        }
        catch (Exception e)
        {
            failures.Add((contents[0], e));
            return BatchOutput.Empty;
        }
    }

    private async Task<BatchOutput> RunScorersAsync(IReadOnlyList<UploadContent> contents, CancellationToken ct)
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
        return new BatchOutput(byUpload, vectors, declined);
    }

    /// <summary>The batch's uploads still to score, oldest first; <c>failed</c> ones (a requeued job) are queued again first.</summary>
    private async Task<List<UploadContent>> LoadAsync(string[] uploadIds, CancellationToken ct)
    {
        if (uploadIds.Length == 0) return [];
        List<QueuedRow> rows;
        ILookup<string, MediaRow> media;
        await using (var connection = await database.OpenAsync(ct))
        {
            rows = (await connection.QueryAsync<QueuedRow>(new CommandDefinition(database.Sql(SelectUploads),
                new { Ids = uploadIds }, cancellationToken: ct))).ToList();
            if (rows.Count == 0) return [];
            media = (await connection.QueryAsync<MediaRow>(new CommandDefinition(database.Sql(SelectMedia),
                    new { Ids = rows.Select(r => r.Id).ToArray() }, cancellationToken: ct)))
                .ToLookup(m => m.UploadId);
        }
        var failed = rows.Where(r => r.Status == UploadStatus.Failed).Select(r => r.Id).ToList();
        if (failed.Count > 0)
        {
            var requeued = await writer.RequeueFailedAsync(failed, ct);
            logger.LogInformation("Scoring {Count} failed uploads again (their job was requeued)", requeued.Count);
            rows.RemoveAll(r => r.Status == UploadStatus.Failed && !requeued.Contains(r.Id));
        }
        // Oldest first, so that splitting a failing batch is deterministic.
        return rows.OrderBy(r => r.EnqueuedAtMs).ThenBy(r => r.Id, StringComparer.Ordinal).Select(r =>
            new UploadContent(r.Id, r.ExternalId, r.CreatorId, r.Caption,
                JsonSerializer.Deserialize<string[]>(r.Hashtags) ?? [], r.Transcript,
                JsonSerializer.Deserialize<string[]>(r.Comments) ?? [], r.Locale,
                media[r.Id].Select(m => new MediaItem((int)m.Ordinal, m.Kind, m.FileName, m.ContentType, m.SizeBytes, m.Sha256.Trim())).ToList()))
            .ToList();
    }

    private async Task ExecuteAsync(DialectSql sql, object parameters, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(sql), parameters, cancellationToken: ct));
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    /// <summary>What the scorers returned for a batch, per upload id.</summary>
    private sealed record BatchOutput(
        Dictionary<string, List<AttributedScore>> Scores,
        Dictionary<string, List<UploadEmbedding>> Embeddings,
        Dictionary<string, List<AttributedAbstention>> Abstentions)
    {
        public static BatchOutput Empty => new([], [], []);

        public BatchOutput Merge(BatchOutput other) => new(
            Scores.Concat(other.Scores).ToDictionary(), Embeddings.Concat(other.Embeddings).ToDictionary(),
            Abstentions.Concat(other.Abstentions).ToDictionary());
    }

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
        public string Status { get; init; } = "";
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

/// <summary>
/// Scoring failed for these uploads in this run of their job; thrown so Hangfire retries the job, or, after the
/// last attempt (the uploads are then <c>failed</c>), keeps it as Failed in the dashboard.
/// </summary>
public sealed class ScoringFailedException(IReadOnlyList<string> uploadIds, int attempt, Exception first)
    : Exception($"Scoring failed for {uploadIds.Count} upload(s) on attempt {attempt}: {string.Join(", ", uploadIds)}. First error: {first.Message}", first)
{
    public IReadOnlyList<string> UploadIds { get; } = uploadIds;
    public int Attempt { get; } = attempt;
}

/// <summary>
/// The job's runs kept ending with their worker: its uploads are marked failed and the job fails at once (Hangfire
/// does not retry this exception); requeueing it in the dashboard tries again.
/// </summary>
public sealed class ScoringAbandonedException(IReadOnlyList<string> uploadIds, string reason)
    : Exception($"Gave up scoring {uploadIds.Count} upload(s): {reason}: {string.Join(", ", uploadIds)}")
{
    public IReadOnlyList<string> UploadIds { get; } = uploadIds;
}

/// <summary>A score and the scorer that produced it.</summary>
public sealed record AttributedScore(string Scorer, CategoryScore Score);

/// <summary>An abstention and the scorer that declined.</summary>
public sealed record AttributedAbstention(string Scorer, Abstention Abstention);

/// <summary>
/// An upload with its scores, the routing they led to, the vectors the scorers computed for near-duplicate search,
/// and what the scorers declined to score; <see cref="Shadows"/>: the same scores routed by each policy version in
/// shadow, stored beside the decision and never acted on (<see cref="ShadowRouting"/>).
/// </summary>
public sealed record ScoredUpload(UploadContent Content, IReadOnlyList<AttributedScore> Scores, RoutingDecision Decision,
    IReadOnlyList<UploadEmbedding>? Embeddings = null, IReadOnlyList<AttributedAbstention>? Abstentions = null,
    IReadOnlyList<RoutingDecision>? Shadows = null);
