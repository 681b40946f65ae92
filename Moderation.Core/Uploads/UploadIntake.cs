using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Core.Telemetry;

namespace Moderation.Core.Uploads;

/// <summary>A validated upload, ready to store.</summary>
public sealed record NewUpload(
    string ExternalId,
    string? CreatorId,
    string? Caption,
    IReadOnlyList<string> Hashtags,
    string? Transcript,
    IReadOnlyList<string> Comments,
    string? Locale,
    IReadOnlyList<NewMedia> Media);

/// <summary>A media file whose bytes were already recognised as <paramref name="Kind"/>, staged on disk (<see cref="MediaStore.StageAsync"/>).</summary>
public sealed record NewMedia(string Kind, string FileName, string ContentType, StagedMedia Content);

/// <param name="Created">False when the external id was already known: nothing new was stored.</param>
public sealed record IntakeResult(string Id, string Status, bool Created);

/// <summary>
/// Stores uploads durably and enqueues their scoring. Uploads that arrive while a commit is in flight are
/// stored together in the next transaction (group commit: one disk flush for many uploads) and handed to one
/// scoring job, whose batch they are (with more uploads while workers are busy); each caller's task completes when
/// its upload is committed. At low traffic a group is one upload and nothing waits. The job is enqueued after the
/// commit by <see cref="ScoringDispatcher"/> (the two stores cannot commit together): an upload stored without one
/// is enqueued at the next start-up, or when the client repeats it.
/// <para>
/// The external id is the idempotency key: the insert is conditional on it, so a repeat, even a concurrent one
/// on another host, returns the upload already stored and creates nothing.
/// </para>
/// <para>
/// Media arrive staged under a temporary name; each file is moved to its content address inside the transaction that
/// inserts its upload, so a repeat (or a refused upload) leaves no file behind: the caller disposes what was not moved.
/// A crash after a move and before the commit leaves a file no upload names, which <see cref="MediaSweeper"/> deletes.
/// </para>
/// </summary>
public sealed class UploadIntake(
    ModerationDatabase database,
    MediaStore mediaStore,
    ScoringDispatcher dispatcher,
    IOptions<ScoringOptions> options,
    TimeProvider time,
    ILogger<UploadIntake> logger) : BackgroundService
{
    private const string UploadColumns =
        "id, external_id, creator_id, caption, hashtags, transcript, comments, locale, status, scoring_attempts, received_at_ms, enqueued_at_ms, updated_at_ms";
    private const string UploadValues =
        "@Id, @ExternalId, @CreatorId, @Caption, @Hashtags, @Transcript, @Comments, @Locale, 'queued', 0, @Now, @Now, @Now";

    private static readonly DialectSql InsertUpload = DialectSql.InsertIfAbsent("uploads", UploadColumns, UploadValues, ["external_id"]);

    private static readonly DialectSql InsertMedia = DialectSql.Portable("""
        INSERT INTO media (upload_id, ordinal, kind, file_name, content_type, size_bytes, sha256)
        VALUES (@UploadId, @Ordinal, @Kind, @FileName, @ContentType, @SizeBytes, @Sha256)
        """);

    private static readonly DialectSql FindByExternalId =
        DialectSql.Portable("SELECT id, status, scoring_job_id FROM uploads WHERE external_id = @ExternalId");

    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    private sealed record Pending(NewUpload Upload, TaskCompletionSource<IntakeResult> Done);

    public async Task<IntakeResult> AcceptAsync(NewUpload upload, CancellationToken ct)
    {
        using var activity = ModerationTelemetry.Source.StartActivity("upload.accept");
        var item = new Pending(upload, new TaskCompletionSource<IntakeResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!pending.Writer.TryWrite(item))
            throw new IntakeUnavailableException("The host is stopping; nothing was stored. Retry with the same externalId.");
        // A caller that goes away does not undo a commit in flight; its retry finds the stored upload.
        return await item.Done.Task.WaitAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>();
        try
        {
            while (await pending.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < options.Value.MaxBatchSize && pending.Reader.TryRead(out var item)) batch.Add(item);
                await CommitAsync(batch);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Stop taking uploads, and store what was already handed over before the host goes.
            pending.Writer.TryComplete();
            while (pending.Reader.TryRead(out var left)) batch.Add(left);
            foreach (var chunk in batch.Chunk(options.Value.MaxBatchSize))
                await CommitAsync(chunk);
        }
    }

    private async Task CommitAsync(IReadOnlyList<Pending> group)
    {
        using var activity = ModerationTelemetry.Source.StartActivity("upload.commit");
        activity?.SetTag("intake.group_size", group.Count);
        Dictionary<Pending, Stored> stored;
        try
        {
            stored = await StoreAsync(group);
        }
        catch (Exception e) when (group.Count > 1)
        {
            // One bad row must not fail its neighbours: store each on its own.
            logger.LogWarning(e, "Storing a group of {Count} uploads failed; storing them one by one", group.Count);
            stored = [];
            foreach (var item in group)
            {
                try { stored[item] = (await StoreAsync([item]))[item]; }
                catch (Exception one) { item.Done.TrySetException(one); }
            }
        }
        catch (Exception e)
        {
            group[0].Done.TrySetException(e);
            return;
        }

        // New uploads, and repeats of uploads stored earlier whose job was never enqueued, go to the dispatcher, which
        // enqueues their job at once or, while scoring jobs wait anyway, with more uploads in its batch.
        var toEnqueue = stored.Values.Where(s => s.NeedsJob).Select(s => s.Result.Id).Distinct().ToList();
        if (toEnqueue.Count > 0)
        {
            try
            {
                await dispatcher.SubmitAsync(toEnqueue);
            }
            catch (Exception e)
            {
                // Only when the host is stopping and the job store is down: the next start-up enqueues them.
                logger.LogError(e, "Could not enqueue scoring for {Count} stored uploads; the next start-up will", toEnqueue.Count);
            }
        }
        var created = stored.Values.Count(s => s.Result.Created);
        if (created > 0) ModerationTelemetry.UploadsAccepted.Add(created);
        foreach (var (item, result) in stored) item.Done.TrySetResult(result.Result);
    }

    /// <param name="NeedsJob">Its scoring job is to be enqueued now: a new upload, or a queued one stored without a job.</param>
    private sealed record Stored(IntakeResult Result, bool NeedsJob);

    private async Task<Dictionary<Pending, Stored>> StoreAsync(IReadOnlyList<Pending> group)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await database.InTransactionAsync(async (connection, transaction) =>
        {
            var results = new Dictionary<Pending, Stored>(group.Count);
            foreach (var item in group)
            {
                var u = item.Upload;
                var id = Guid.CreateVersion7().ToString();
                var inserted = await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertUpload), new
                {
                    Id = id, u.ExternalId, u.CreatorId, u.Caption, Hashtags = JsonSerializer.Serialize(u.Hashtags), u.Transcript,
                    Comments = JsonSerializer.Serialize(u.Comments), u.Locale, Now = now,
                }, transaction));
                if (inserted == 1)
                {
                    // Only a new upload's files reach their address; a repeat's stay staged and are deleted by the caller.
                    foreach (var m in u.Media) mediaStore.Commit(m.Content);
                    if (u.Media.Count > 0)
                        await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertMedia), u.Media.Select((m, i) => new
                        {
                            UploadId = id, Ordinal = i, m.Kind, m.FileName, m.ContentType, SizeBytes = m.Content.Length, Sha256 = m.Content.Sha256,
                        }), transaction));
                    results[item] = new Stored(new IntakeResult(id, UploadStatus.Queued, Created: true), NeedsJob: true);
                }
                else
                {
                    results[item] = await FindAsync(connection, transaction, u.ExternalId)
                        ?? throw new InvalidOperationException($"Upload '{u.ExternalId}' conflicted but cannot be found.");
                }
            }
            return results;
        });
    }

    private async Task<Stored?> FindAsync(DbConnection connection, DbTransaction transaction, string externalId)
    {
        var row = await connection.QueryFirstOrDefaultAsync<IdStatusRow>(
            new CommandDefinition(database.Sql(FindByExternalId), new { ExternalId = externalId }, transaction));
        return row is null ? null : new Stored(new IntakeResult(row.Id, row.Status, Created: false),
            NeedsJob: row.Status == UploadStatus.Queued && row.ScoringJobId is null);
    }

    private sealed class IdStatusRow
    {
        public string Id { get; init; } = "";
        public string Status { get; init; } = "";
        public string? ScoringJobId { get; init; }
    }
}

/// <summary>The host is stopping and took nothing: the client should retry (with the same external id).</summary>
public sealed class IntakeUnavailableException(string message) : Exception(message);
