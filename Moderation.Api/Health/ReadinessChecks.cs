using Hangfire;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Moderation.Core.Media;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;

namespace Moderation.Api.Health;

/// <summary>The database answers and its schema is current.</summary>
public sealed class DatabaseReadyCheck(DatabaseMigrator migrator) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            var pending = await migrator.PendingAsync(ct);
            return pending.Count == 0
                ? HealthCheckResult.Healthy("schema is current")
                : HealthCheckResult.Unhealthy($"migrations not applied: {string.Join(", ", pending)}; run 'migrate'");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("the database does not answer", e);
        }
    }
}

/// <summary>The Hangfire job store answers.</summary>
public sealed class JobStorageReadyCheck(JobStorage storage) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            var servers = storage.GetMonitoringApi().Servers().Count;
            return Task.FromResult(HealthCheckResult.Healthy($"{servers} job servers registered"));
        }
        catch (Exception e)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the job store does not answer", e));
        }
    }
}

/// <summary>Degraded (still ready to accept uploads) when no scorer is registered: uploads wait unscored.</summary>
public sealed class ScorersReadyCheck(IEnumerable<IUploadScorer> scorers) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var names = scorers.Select(s => s.Name).ToList();
        return Task.FromResult(names.Count == 0
            ? HealthCheckResult.Degraded($"{ScoringJob.NoScorersDetail}: uploads are accepted and wait unscored")
            : HealthCheckResult.Healthy($"scorers: {string.Join(", ", names)}"));
    }
}

/// <summary>
/// Degraded when OCR is on but Tesseract is not installed and not required: media is scored without its text being
/// read (each item records why). Healthy when OCR is off or Tesseract is there.
/// </summary>
public sealed class OcrReadyCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (services.GetService<TesseractRunner>() is not { } tesseract) return Task.FromResult(HealthCheckResult.Healthy("OCR off"));
        return Task.FromResult(tesseract.Locate() is (null, var missing)
            ? HealthCheckResult.Degraded($"text in images is not read: {missing}")
            : HealthCheckResult.Healthy("tesseract found"));
    }
}
