using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;

namespace Moderation.Core.Scoring;

/// <summary>
/// Re-enqueues uploads whose scoring job was lost: stored but never enqueued (the host stopped in between), or
/// enqueued on a worker that died. Runs beside every Hangfire server. Claiming a stale upload moves its
/// <c>enqueued_at_ms</c> forward first, so several sweepers do not enqueue it together; a duplicate job would be
/// harmless anyway, because scoring is idempotent.
/// </summary>
public sealed class StalledUploadSweeper(
    ModerationDatabase database,
    ScoringDispatcher dispatcher,
    IEnumerable<IUploadScorer> scorers,
    IOptions<ScoringOptions> options,
    TimeProvider time,
    ILogger<StalledUploadSweeper> logger) : BackgroundService
{
    private static readonly DialectSql SelectStale = new(
        sqlite: """
            SELECT id FROM uploads WHERE status = 'queued' AND enqueued_at_ms < @Cutoff AND scoring_attempts < @MaxAttempts
            ORDER BY enqueued_at_ms LIMIT @Limit
            """,
        postgres: """
            SELECT id FROM uploads WHERE status = 'queued' AND enqueued_at_ms < @Cutoff AND scoring_attempts < @MaxAttempts
            ORDER BY enqueued_at_ms LIMIT @Limit
            """,
        sqlServer: """
            SELECT TOP (@Limit) id FROM uploads WHERE status = 'queued' AND enqueued_at_ms < @Cutoff AND scoring_attempts < @MaxAttempts
            ORDER BY enqueued_at_ms
            """);

    private static readonly DialectSql Claim = DialectSql.Portable("""
        UPDATE uploads SET enqueued_at_ms = @Now WHERE id = @Id AND status = 'queued' AND enqueued_at_ms < @Cutoff
        """);

    private readonly bool hasScorers = scorers.Any();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!hasScorers)
        {
            logger.LogWarning("No scorers are configured: uploads are stored but not scored");
            return;
        }
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        do
        {
            try
            {
                var count = await SweepOnceAsync(stoppingToken);
                if (count > 0) logger.LogWarning("Re-enqueued {Count} uploads whose scoring job was lost", count);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(e, "Sweeping stalled uploads failed; will try again");
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One pass; returns how many uploads were enqueued again.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var cutoff = now - (long)options.Value.StaleAfter.TotalMilliseconds;
        var claimed = new List<string>();
        await using (var connection = await database.OpenAsync(ct))
        {
            var stale = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectStale),
                new { Cutoff = cutoff, MaxAttempts = options.Value.MaxAttempts, Limit = 1000 }, cancellationToken: ct))).ToList();
            foreach (var id in stale)
            {
                var won = await connection.ExecuteAsync(new CommandDefinition(database.Sql(Claim),
                    new { Now = now, Id = id, Cutoff = cutoff }, cancellationToken: ct));
                if (won == 1) claimed.Add(id);
            }
        }
        if (claimed.Count > 0) dispatcher.EnqueueBatches(claimed);
        return claimed.Count;
    }
}
