using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Moderation.Core.Telemetry;

/// <summary>The traces and metrics the workbench emits; the hosts export them with OpenTelemetry.</summary>
public static class ModerationTelemetry
{
    public const string Name = "Moderation";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> UploadsAccepted =
        Meter.CreateCounter<long>("moderation.uploads.accepted", "{upload}", "Uploads stored and handed to scoring.");

    public static readonly Counter<long> UploadsRouted =
        Meter.CreateCounter<long>("moderation.uploads.routed", "{upload}", "Uploads routed, by outcome status.");

    public static readonly Histogram<double> ScoringDuration =
        Meter.CreateHistogram<double>("moderation.scoring.duration", "s", "Time one scorer took for one batch.");

    public static readonly Histogram<double> ScoringStoreDuration =
        Meter.CreateHistogram<double>("moderation.scoring.store_duration", "s",
            "Time storing one scored batch took (scores, routing, status, review tasks, signals, audit: one transaction).");

    public static readonly Histogram<long> ScoringBatchSize =
        Meter.CreateHistogram<long>("moderation.scoring.batch_size", "{upload}", "Uploads per scoring job.");

    public static readonly Counter<long> ScoringFailures =
        Meter.CreateCounter<long>("moderation.scoring.failures", "{batch}", "Scoring batches that threw.");
}
