using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;

namespace Moderation.Core.Scoring;

/// <summary>
/// Re-enqueues uploads whose scoring job was lost: stored but never enqueued (the host stopped in between), or
/// claimed by a worker that died (its claim expired: that counts as one of the upload's attempts, so an upload
/// that kills its worker every time ends up failed instead of looping). Runs beside every Hangfire server. Claiming a stale upload moves its
/// <c>enqueued_at_ms</c> forward first, so several sweepers do not enqueue it together; a duplicate job would be
/// harmless anyway, because scoring is idempotent.
/// </summary>
public sealed class StalledUploadSweeper(
    ModerationDatabase database,
    ScoringDispatcher dispatcher,
    ScoringOutcomeWriter writer,
    IEnumerable<IUploadScorer> scorers,
    IOptions<ScoringOptions> options,
    TimeProvider time,
    ILogger<StalledUploadSweeper> logger) : BackgroundService
{
    // Stale: queued, enqueued long ago, and not held by a live claim.
    private const string Stale = "status = 'queued' AND enqueued_at_ms < @Cutoff AND (claimed_until_ms IS NULL OR claimed_until_ms < @Now)";

    private static readonly DialectSql SelectStale = new(
        sqlite: $"SELECT id, scoring_attempts FROM uploads WHERE {Stale} ORDER BY enqueued_at_ms LIMIT @Limit",
        postgres: $"SELECT id, scoring_attempts FROM uploads WHERE {Stale} ORDER BY enqueued_at_ms LIMIT @Limit",
        sqlServer: $"SELECT TOP (@Limit) id, scoring_attempts FROM uploads WHERE {Stale} ORDER BY enqueued_at_ms");

    private static readonly DialectSql Claim = DialectSql.Portable("""
        UPDATE uploads SET enqueued_at_ms = @Now, claim_token = NULL, claimed_until_ms = NULL,
               scoring_attempts = scoring_attempts + CASE WHEN claimed_until_ms IS NULL THEN 0 ELSE 1 END
        WHERE id = @Id AND status = 'queued' AND enqueued_at_ms < @Cutoff
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
        var exhausted = new List<(string Id, int Attempts)>();
        await using (var connection = await database.OpenAsync(ct))
        {
            var stale = (await connection.QueryAsync<StaleRow>(new CommandDefinition(database.Sql(SelectStale),
                new { Cutoff = cutoff, Now = now, Limit = 1000 }, cancellationToken: ct))).ToList();
            foreach (var row in stale)
            {
                // Attempts ran out without a recorded failure: the worker died (or was killed) on every try.
                if (row.ScoringAttempts >= options.Value.MaxAttempts)
                {
                    exhausted.Add((row.Id, (int)row.ScoringAttempts));
                    continue;
                }
                var won = await connection.ExecuteAsync(new CommandDefinition(database.Sql(Claim),
                    new { Now = now, row.Id, Cutoff = cutoff }, cancellationToken: ct));
                if (won == 1) claimed.Add(row.Id);
            }
        }
        foreach (var (id, attempts) in exhausted)
            await writer.MarkFailedAsync(id, attempts, null, ct);
        if (claimed.Count > 0) dispatcher.EnqueueBatches(claimed);
        return claimed.Count;
    }

    private sealed class StaleRow
    {
        public string Id { get; init; } = "";
        public long ScoringAttempts { get; init; }
    }
}
