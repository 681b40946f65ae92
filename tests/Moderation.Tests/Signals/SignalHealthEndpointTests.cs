using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Tests.Api;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Signals;

/// <summary>
/// Quarantine over HTTP, on each database, through the real pipeline (the markup scorer, Hangfire, routing): a
/// quarantined model stops acting on the next routed upload and its acting signals are retracted; a release restores it.
/// </summary>
public abstract class SignalQuarantineContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    private const string Source = $"model:harm:{MarkupScorer.ModelVersion}";

    private TestApi Api => fixture.Api;

    private async Task<(string Id, string Status)> RouteAsync(string caption)
    {
        var id = (await Api.PostUploadAsync(new { externalId = $"health-{Guid.NewGuid():N}", caption })).GetProperty("id").GetString()!;
        var routed = await Api.WaitUntilRoutedAsync(id);
        return (id, routed.GetProperty("status").GetString()!);
    }

    private async Task<List<JsonElement>> HarmSignalsOfAsync(string uploadId) =>
        (await Api.ReadAllSignalsAsync()).Where(s => s.GetProperty("uploadId").GetString() == uploadId && s.GetProperty("category").GetString() == "harm").ToList();

    [Fact]
    public async Task A_quarantined_model_stops_acting_on_the_next_upload_its_acting_signals_are_retracted_and_a_release_restores_it()
    {
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));
        var (before, beforeStatus) = await RouteAsync("[harm=0.97] before the quarantine");
        beforeStatus.Should().Be("actioned");
        var acting = (await HarmSignalsOfAsync(before)).Single();
        acting.GetProperty("action").GetString().Should().NotBe("none");
        acting.GetProperty("modelVersion").GetString().Should().Be(MarkupScorer.ModelVersion);

        var quarantined = await PolicyVersionEndpointTests.JsonAsync(
            await writer.PostAsJsonAsync($"/v1/signal-health/{Source}/quarantine", new { reason = "harm scores look off since the last deploy" }), HttpStatusCode.OK);
        quarantined.GetProperty("quarantine").GetProperty("source").GetString().Should().Be(Source);
        quarantined.GetProperty("retractedSignals").EnumerateArray().Select(s => s.GetInt64()).Should().Contain(acting.GetProperty("seq").GetInt64());
        var retraction = (await HarmSignalsOfAsync(before)).Single(s => s.GetProperty("retracts").ValueKind == JsonValueKind.Number);
        retraction.GetProperty("retracts").GetInt64().Should().Be(acting.GetProperty("seq").GetInt64());
        retraction.GetProperty("action").GetString().Should().Be("none");

        // The next upload: the harm score is stored but routes nothing; the other categories (0.05) allow it.
        var (during, duringStatus) = await RouteAsync("[harm=0.97] during the quarantine");
        duringStatus.Should().Be("allowed");
        (await HarmSignalsOfAsync(during)).Should().BeEmpty("a quarantined source sends no signal");
        var upload = await Api.GetUploadAsync(during);
        upload.GetProperty("statusDetail").GetString().Should().Contain($"ignored, its source quarantined: harm 0.97 by {MarkupScorer.ModelVersion}");
        upload.GetProperty("scores").EnumerateArray().Should().Contain(s => s.GetProperty("category").GetString() == "harm",
            "the score is still stored, so signal health keeps measuring the source");

        var report = await PolicyVersionEndpointTests.JsonAsync(await writer.GetAsync("/v1/signal-health"), HttpStatusCode.OK);
        var source = report.GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("source").GetString() == Source);
        source.GetProperty("quarantine").GetProperty("reason").GetString().Should().Be("harm scores look off since the last deploy");
        source.GetProperty("volume").GetInt64().Should().BeGreaterThanOrEqualTo(2);
        source.GetProperty("actioned").GetInt64().Should().BeGreaterThanOrEqualTo(1);

        await PolicyVersionEndpointTests.JsonAsync(
            await writer.PostAsJsonAsync($"/v1/signal-health/{Source}/release", new { reason = "fixed in the next deploy" }), HttpStatusCode.OK);
        var (after, afterStatus) = await RouteAsync("[harm=0.97] after the release");
        afterStatus.Should().Be("actioned");
        (await HarmSignalsOfAsync(after)).Single().GetProperty("action").GetString().Should().NotBe("none");
        (await HarmSignalsOfAsync(before)).Should().HaveCount(2, "the retraction stands after the release; nothing is re-sent");

        var events = (await AuditLog.ReadAsync(Api.Database, 0, 100_000, CancellationToken.None))
            .Where(e => e.SubjectType == "signal_source" && e.SubjectId == Source).ToList();
        events.Select(e => e.Action).Should().Equal("signal_source.quarantined", "signal_source.released");
        events.Should().OnlyContain(e => e.Actor.StartsWith("api_key:"));
        events[1].Reason.Should().Be("fixed in the next deploy");
    }

    [Fact]
    public async Task Unknown_sources_missing_reasons_and_bad_times_are_problems_naming_the_field()
    {
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));
        using var reader = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyRead));
        await RouteAsync("[harm=0.2] a known source");
        (await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/signal-health/model:harm:no-such-model/quarantine", new { reason = "x" }),
            HttpStatusCode.NotFound)).GetProperty("detail").GetString().Should().Contain("model:harm:no-such-model");
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/signal-health/nonsense/quarantine", new { reason = "x" }), HttpStatusCode.NotFound);
        var noReason = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/signal-health/{Source}/quarantine", new { }), HttpStatusCode.BadRequest);
        noReason.GetProperty("errors").GetProperty("reason").EnumerateArray().Should().NotBeEmpty();
        var noReleaseReason = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/signal-health/{Source}/release", new { reason = "" }), HttpStatusCode.BadRequest);
        noReleaseReason.GetProperty("errors").GetProperty("reason").EnumerateArray().Should().NotBeEmpty();
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/signal-health/{Source}/release", new { reason = "not quarantined" }), HttpStatusCode.Conflict);
        var badTime = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync("/v1/signal-health?from=yesterday"), HttpStatusCode.BadRequest);
        badTime.GetProperty("errors").GetProperty("from").EnumerateArray().Should().NotBeEmpty();
        var inverted = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync("/v1/signal-health?from=2026-12-02&to=2026-12-01"), HttpStatusCode.BadRequest);
        inverted.GetProperty("errors").GetProperty("to").EnumerateArray().Should().NotBeEmpty();
        (await reader.PostAsJsonAsync($"/v1/signal-health/{Source}/quarantine", new { reason = "x" })).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync("/v1/signal-health/quarantined"), HttpStatusCode.OK))
            .GetProperty("quarantined").EnumerateArray().Should().BeEmpty();
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteSignalQuarantineTests(SqliteApiFixture fixture) : SignalQuarantineContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresSignalQuarantineTests(PostgresApiFixture fixture) : SignalQuarantineContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;
