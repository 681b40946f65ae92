using Dapper;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;

namespace Moderation.Core.Scoring;

/// <summary>
/// Enqueues scoring jobs of at most <see cref="ScoringOptions.MaxBatchSize"/> uploads each, and records each job's
/// id on its uploads (<c>uploads.scoring_job_id</c>). The app database and Hangfire's store cannot commit together
/// (SQLite keeps Hangfire in a file of its own; PostgreSQL and SQL Server would need a distributed transaction), so
/// intake commits the uploads first and enqueues after: an upload left <c>queued</c> with no job id (the host
/// stopped in between, or the job store was down) is enqueued by <see cref="EnqueueUnenqueuedAsync"/> when a host
/// starts (<see cref="UnenqueuedUploadRecovery"/>) or when the client repeats the upload.
/// </summary>
public sealed class ScoringDispatcher(ModerationDatabase database, IBackgroundJobClient jobs, IOptions<ScoringOptions> options,
    ILogger<ScoringDispatcher> logger)
{
    private static readonly DialectSql RecordJob = DialectSql.WithList("UPDATE uploads SET scoring_job_id = @JobId WHERE id IN @Ids");

    private static readonly DialectSql SelectUnenqueued = new(
        sqlite: "SELECT id FROM uploads WHERE status = 'queued' AND scoring_job_id IS NULL ORDER BY enqueued_at_ms LIMIT @Limit",
        postgres: "SELECT id FROM uploads WHERE status = 'queued' AND scoring_job_id IS NULL ORDER BY enqueued_at_ms LIMIT @Limit",
        sqlServer: "SELECT TOP (@Limit) id FROM uploads WHERE status = 'queued' AND scoring_job_id IS NULL ORDER BY enqueued_at_ms");

    private static readonly DialectSql IsUnenqueued = DialectSql.Portable("SELECT COUNT(*) FROM uploads WHERE id = @Id AND scoring_job_id IS NULL");

    /// <summary>
    /// Enqueues the uploads' jobs and records their ids; throws when a job could not be enqueued. Failing to record
    /// an id only costs a duplicate job at the next start-up (scoring is idempotent), so it is logged, not thrown.
    /// </summary>
    public async Task<IReadOnlyList<string>> EnqueueAsync(IReadOnlyList<string> uploadIds, CancellationToken ct = default)
    {
        var batches = new List<(string[] Ids, string JobId)>();
        foreach (var chunk in uploadIds.Chunk(options.Value.MaxBatchSize))
            batches.Add((chunk, jobs.Enqueue<ScoringJob>(job => job.ScoreAsync(chunk, null, CancellationToken.None))));
        try
        {
            await database.InTransactionAsync(async (connection, transaction) =>
            {
                foreach (var (ids, jobId) in batches)
                    await connection.ExecuteAsync(new CommandDefinition(database.Sql(RecordJob), new { JobId = jobId, Ids = ids }, transaction, cancellationToken: ct));
            }, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Enqueued scoring jobs for {Count} uploads but could not record their ids", uploadIds.Count);
        }
        return batches.Select(b => b.JobId).ToList();
    }

    /// <summary>Enqueues every <c>queued</c> upload that has no job id; returns how many.</summary>
    public async Task<int> EnqueueUnenqueuedAsync(CancellationToken ct)
    {
        var total = 0;
        while (true)
        {
            List<string> ids;
            await using (var connection = await database.OpenAsync(ct))
                ids = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectUnenqueued),
                    new { Limit = 1000 }, cancellationToken: ct))).ToList();
            if (ids.Count == 0) return total;
            await EnqueueAsync(ids, ct);
            total += ids.Count;
            // Recording failed (logged): stop rather than enqueue the same uploads again and again.
            if (await StillUnenqueuedAsync(ids[0], ct)) return total;
        }
    }

    private async Task<bool> StillUnenqueuedAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(IsUnenqueued), new { Id = id }, cancellationToken: ct)) > 0;
    }
}

/// <summary>
/// At start-up, enqueues the uploads that were accepted but never got a scoring job (see <see cref="ScoringDispatcher"/>).
/// Another host enqueueing the same upload at that moment costs a duplicate job, which changes nothing.
/// </summary>
public sealed class UnenqueuedUploadRecovery(ScoringDispatcher dispatcher, ILogger<UnenqueuedUploadRecovery> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var count = await dispatcher.EnqueueUnenqueuedAsync(stoppingToken);
            if (count > 0) logger.LogWarning("Enqueued scoring for {Count} uploads that were stored without a job", count);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "Could not enqueue uploads stored without a scoring job; the next start-up tries again");
        }
    }
}
