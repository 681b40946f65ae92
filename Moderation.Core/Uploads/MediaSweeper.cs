using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;

namespace Moderation.Core.Uploads;

/// <summary>
/// Deletes media files that no upload names (see <see cref="MediaStore.SweepAsync"/>): at start-up and as the recurring
/// Hangfire job <c>media-sweep</c> every hour, so a crash between a file's rename and its upload's commit, or a request
/// that died while its file was being written, cannot leave files behind for ever.
/// </summary>
public sealed class MediaSweeper(MediaStore store, ModerationDatabase database, IOptions<UploadLimits> limits, TimeProvider time,
    ILogger<MediaSweeper> logger)
{
    public const string JobId = "media-sweep";

    /// <summary>The job: one sweep of files older than <see cref="UploadLimits.OrphanMediaAfter"/>.</summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task<int> SweepAsync(CancellationToken ct = default)
    {
        var deleted = await store.SweepAsync(database, time.GetUtcNow() - limits.Value.OrphanMediaAfter, ct);
        if (deleted > 0) logger.LogWarning("Deleted {Count} media files that no upload names", deleted);
        return deleted;
    }
}

/// <summary>Schedules <see cref="MediaSweeper"/> and runs it once at start-up.</summary>
public sealed class MediaSweepSchedule(MediaSweeper sweeper, IRecurringJobManager recurring, ILogger<MediaSweepSchedule> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            recurring.AddOrUpdate<MediaSweeper>(MediaSweeper.JobId, "default", s => s.SweepAsync(CancellationToken.None), Cron.Hourly());
            await sweeper.SweepAsync(stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "Could not sweep orphaned media files; the recurring job tries again");
        }
    }
}
