using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Moderation.Core.Storage;

namespace Moderation.Core.Telemetry;

/// <summary>Publishes the number of uploads waiting to be scored as the <c>moderation.queue.depth</c> gauge.</summary>
public sealed class QueueDepthMonitor(ModerationDatabase database, ILogger<QueueDepthMonitor> logger) : BackgroundService
{
    private static readonly DialectSql CountQueued = DialectSql.Portable("SELECT COUNT(*) FROM uploads WHERE status = 'queued'");
    private long depth;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ModerationTelemetry.Meter.CreateObservableGauge("moderation.queue.depth", () => Interlocked.Read(ref depth), "{upload}",
            "Uploads stored and not yet scored.");
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(15));
        do
        {
            try
            {
                await using var connection = await database.OpenAsync(stoppingToken);
                Interlocked.Exchange(ref depth, await connection.ExecuteScalarAsync<long>(
                    new CommandDefinition(database.Sql(CountQueued), cancellationToken: stoppingToken)));
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogDebug(e, "Could not read the queue depth");
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
