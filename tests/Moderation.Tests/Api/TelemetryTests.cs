using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using FluentAssertions;
using Moderation.Core.Storage;
using Moderation.Core.Telemetry;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>The pipeline emits the traces and metrics an operator's OpenTelemetry exporter picks up.</summary>
[Collection(HostCollection.Name)]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Scoring_emits_batch_metrics_and_traces()
    {
        var measurements = new ConcurrentDictionary<string, long>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ModerationTelemetry.Name) listener.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<long>((instrument, _, _, _) => measurements.AddOrUpdate(instrument.Name, 1, (_, n) => n + 1));
        meters.SetMeasurementEventCallback<double>((instrument, _, _, _) => measurements.AddOrUpdate(instrument.Name, 1, (_, n) => n + 1));
        meters.Start();
        var spans = new ConcurrentBag<string>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ModerationTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity => spans.Add(activity.OperationName),
        };
        ActivitySource.AddActivityListener(activities);

        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var api = await TestApi.StartAsync(database);
        var id = (await api.PostUploadAsync(new { externalId = "telemetry-1", caption = "[harm=0.6]" })).GetProperty("id").GetString()!;
        (await api.WaitUntilRoutedAsync(id)).GetProperty("status").GetString().Should().Be("in_review");

        measurements.Keys.Should().Contain(["moderation.uploads.accepted", "moderation.uploads.routed", "moderation.scoring.batch_size", "moderation.scoring.duration"]);
        spans.Should().Contain(["upload.accept", "scoring.batch", "scoring.scorer"]);
    }
}
