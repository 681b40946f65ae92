using System.Diagnostics;
using System.Threading.Channels;
using Dapper;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;

namespace Moderation.Core.Scoring;

/// <summary>
/// Turns stored uploads into Hangfire scoring jobs of at most <see cref="ScoringOptions.MaxBatchSize"/> uploads each, and
/// records each job's id on its uploads (<c>uploads.scoring_job_id</c>).
/// <para>
/// Batches follow the load: intake hands over each group it committed (<see cref="Submit"/>); a job is enqueued at once
/// when no scoring job is waiting in Hangfire (a worker is free or about to be), otherwise the uploads gather until a
/// job is full, the waiting jobs are taken, or <see cref="ScoringOptions.DispatchDelay"/> passes. A busy worker so gets
/// full batches, and an idle one gets each upload at once.
/// </para>
/// <para>
/// The app database and Hangfire's store cannot commit together (SQLite keeps Hangfire in a file of its own; PostgreSQL
/// and SQL Server would need a distributed transaction), so an upload is committed first and its job enqueued after.
/// An upload left <c>queued</c> with no job id (the host stopped in between, the job store was down) is enqueued by
/// <see cref="EnqueueUnenqueuedAsync"/> when a host starts (<see cref="UnenqueuedUploadRecovery"/>) and when the client
/// repeats it. A duplicate job that this allows changes nothing: scoring is idempotent.
/// </para>
/// </summary>
public sealed class ScoringDispatcher(ModerationDatabase database, IBackgroundJobClient jobs, JobStorage storage, IOptions<ScoringOptions> options,
    ILogger<ScoringDispatcher> logger) : BackgroundService
{
    public const string Queue = "scoring";

    // How often a gathering batch asks Hangfire whether scoring jobs still wait (a COUNT on its queue table).
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    private static readonly DialectSql RecordJob = DialectSql.WithList("UPDATE uploads SET scoring_job_id = @JobId WHERE id IN @Ids");

    private static readonly DialectSql SelectUnenqueued = new(
        sqlite: "SELECT id FROM uploads WHERE status = 'queued' AND scoring_job_id IS NULL AND enqueued_at_ms <= @Before ORDER BY enqueued_at_ms LIMIT @Limit",
        postgres: "SELECT id FROM uploads WHERE status = 'queued' AND scoring_job_id IS NULL AND enqueued_at_ms <= @Before ORDER BY enqueued_at_ms LIMIT @Limit",
        sqlServer: "SELECT TOP (@Limit) id FROM uploads WHERE status = 'queued' AND scoring_job_id IS NULL AND enqueued_at_ms <= @Before ORDER BY enqueued_at_ms");

    /// <summary>The recurring Hangfire job that enqueues uploads stranded without a job (<see cref="EnqueueStrandedAsync"/>).</summary>
    public const string StrandedJobId = "scoring:enqueue-stranded-uploads";

    /// <summary>
    /// How long an upload may sit <c>queued</c> without a job before the recurring job enqueues it: far beyond
    /// <see cref="ScoringOptions.DispatchDelay"/>, so it only finds uploads whose host stopped before enqueueing them.
    /// </summary>
    public static readonly TimeSpan StrandedAfter = TimeSpan.FromMinutes(1);

    private static readonly DialectSql IsUnenqueued = DialectSql.Portable("SELECT COUNT(*) FROM uploads WHERE id = @Id AND scoring_job_id IS NULL");

    private readonly Channel<string> pending = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Hands over committed uploads; their job is enqueued by the dispatch loop (or at once once the host is stopping).</summary>
    public async Task SubmitAsync(IReadOnlyList<string> uploadIds, CancellationToken ct = default)
    {
        var taken = 0;
        while (taken < uploadIds.Count && pending.Writer.TryWrite(uploadIds[taken])) taken++;
        if (taken < uploadIds.Count) await EnqueueAsync(uploadIds.Skip(taken).ToList(), ct); // the loop has stopped
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<string>();
        try
        {
            while (await pending.Reader.WaitToReadAsync(stoppingToken))
            {
                var started = Stopwatch.GetTimestamp();
                while (true)
                {
                    while (batch.Count < options.Value.MaxBatchSize && pending.Reader.TryRead(out var id)) batch.Add(id);
                    if (batch.Count >= options.Value.MaxBatchSize || Stopwatch.GetElapsedTime(started) >= options.Value.DispatchDelay
                        || !JobsWaiting()) break;
                    await Task.Delay(PollInterval, stoppingToken);
                }
                await EnqueueRetryingAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Enqueue what was handed over before the host goes; what fails here is enqueued at the next start-up.
            pending.Writer.TryComplete();
            while (pending.Reader.TryRead(out var left)) batch.Add(left);
            if (batch.Count > 0)
            {
                try { await EnqueueAsync(batch, CancellationToken.None); }
                catch (Exception e) { logger.LogError(e, "Could not enqueue scoring for {Count} stored uploads; the next start-up will", batch.Count); }
            }
        }
    }

    /// <summary>Whether scoring jobs wait in Hangfire for a worker; if the store cannot say, no (enqueue now).</summary>
    private bool JobsWaiting()
    {
        try
        {
            return storage.GetMonitoringApi().EnqueuedCount(Queue) > 0;
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Could not read the scoring queue's length");
            return false;
        }
    }

    private async Task EnqueueRetryingAsync(List<string> batch, CancellationToken stoppingToken)
    {
        for (var delay = TimeSpan.FromMilliseconds(100); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks)))
        {
            try
            {
                await EnqueueAsync(batch, stoppingToken);
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Could not enqueue scoring for {Count} stored uploads; trying again in {Delay}", batch.Count, delay);
                await Task.Delay(delay, stoppingToken); // cancelled: the caller's finally enqueues, or the next start-up does
            }
        }
    }

    /// <summary>
    /// Enqueues the uploads' jobs now and records their ids; throws when a job could not be enqueued. Failing to record
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

    /// <summary>
    /// Run every minute by Hangfire on any host (<see cref="StrandedJobId"/>): enqueues the uploads left <c>queued</c>
    /// without a job for longer than <see cref="StrandedAfter"/> (their host stopped between commit and enqueue), so they
    /// do not wait for some host's next start-up.
    /// </summary>
    [Queue(Queue)]
    [AutomaticRetry(Attempts = 0)]
    public async Task EnqueueStrandedAsync()
    {
        var before = DateTimeOffset.UtcNow.Subtract(StrandedAfter).ToUnixTimeMilliseconds();
        var count = await EnqueueUnenqueuedAsync(CancellationToken.None, before);
        if (count > 0) logger.LogWarning("Enqueued scoring for {Count} uploads stored without a job for over {Minutes} min", count, StrandedAfter.TotalMinutes);
    }

    /// <summary>Enqueues every <c>queued</c> upload that has no job id (stored at or before <paramref name="beforeMs"/>); returns how many.</summary>
    public async Task<int> EnqueueUnenqueuedAsync(CancellationToken ct, long beforeMs = long.MaxValue)
    {
        var total = 0;
        while (true)
        {
            List<string> ids;
            await using (var connection = await database.OpenAsync(ct))
                ids = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectUnenqueued),
                    new { Limit = 1000, Before = beforeMs }, cancellationToken: ct))).ToList();
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
/// At start-up, enqueues the uploads that were accepted but never got a scoring job (see <see cref="ScoringDispatcher"/>),
/// and schedules the recurring job that does the same every minute for uploads stranded longer than
/// <see cref="ScoringDispatcher.StrandedAfter"/> (a host that stopped between commit and enqueue while the others run on).
/// Another host enqueueing the same upload at that moment costs a duplicate job, which changes nothing.
/// </summary>
public sealed class UnenqueuedUploadRecovery(ScoringDispatcher dispatcher, IRecurringJobManager recurring, ILogger<UnenqueuedUploadRecovery> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            recurring.AddOrUpdate<ScoringDispatcher>(ScoringDispatcher.StrandedJobId, ScoringDispatcher.Queue, d => d.EnqueueStrandedAsync(), Cron.Minutely());
            var count = await dispatcher.EnqueueUnenqueuedAsync(stoppingToken);
            if (count > 0) logger.LogWarning("Enqueued scoring for {Count} uploads that were stored without a job", count);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "Could not enqueue uploads stored without a scoring job; the next start-up tries again");
        }
    }
}
