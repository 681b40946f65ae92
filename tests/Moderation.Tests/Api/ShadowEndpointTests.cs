using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>
/// A shadow version through the real pipeline and over HTTP, on each database: uploads are routed by the live version
/// alone while the shadow's outcomes are stored beside, and <c>GET /v1/policies/{id}/shadow</c> and <c>/shadow/changes</c>
/// count and list them exactly; bad requests are problems naming the field.
/// </summary>
public abstract class ShadowEndpointContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    [Fact]
    public async Task A_shadow_version_is_diffed_against_live_per_day_and_category_and_its_changes_page_while_live_routing_stays_alone()
    {
        var api = fixture.Api;
        var run = Guid.NewGuid().ToString("N")[..8];
        using var writer = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyWrite));
        using var reader = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyRead));
        var live = (await PolicyVersionEndpointTests.JsonAsync(await writer.GetAsync("/v1/policies/live"), HttpStatusCode.OK)).GetProperty("id").GetString()!;
        var name = $"shadow-{run}";
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new
        {
            name, basedOn = live, categories = new Dictionary<string, object> { ["harm"] = new { review = 0.3, action = 0.6 } },
        }), HttpStatusCode.Created);

        // A draft was never in shadow: nothing to diff yet.
        var draft = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow"), HttpStatusCode.Conflict);
        draft.GetProperty("detail").GetString().Should().Contain("never in shadow");
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{name}/state", new { state = "shadow", reason = "compare on traffic" }), HttpStatusCode.OK);

        // Live (0.5 / 0.9): the 0.4s allowed, the 0.7s to review, the 0.95 actioned. The shadow (0.3 / 0.6) would review the
        // 0.4s and action the 0.7s.
        var captions = new[] { "[harm=0.4] a", "[harm=0.4] b", "[harm=0.4] c", "[harm=0.7] d", "[harm=0.7] e", "[harm=0.95] f", "fine g", "fine h" };
        var ids = new List<string>();
        foreach (var (caption, i) in captions.Select((c, i) => (c, i)))
            ids.Add((await api.PostUploadAsync(new { externalId = $"shadow-{run}-{i}", caption })).GetProperty("id").GetString()!);
        var statuses = new List<string>();
        foreach (var id in ids) statuses.Add((await api.WaitUntilRoutedAsync(id)).GetProperty("status").GetString()!);
        statuses.Should().Equal(["allowed", "allowed", "allowed", "in_review", "in_review", "actioned", "allowed", "allowed"], "the live version alone routes");

        var summary = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow"), HttpStatusCode.OK);
        summary.GetProperty("version").GetString().Should().Be(name);
        summary.GetProperty("state").GetString().Should().Be("shadow");
        summary.GetProperty("uploads").GetInt64().Should().Be(8);
        summary.GetProperty("changedUploads").GetInt64().Should().Be(5);
        summary.GetProperty("liveVersions").EnumerateArray().Select(v => v.GetString()).Should().Equal([live]);
        var harm = summary.GetProperty("categories").EnumerateArray().Single(c => c.GetProperty("category").GetString() == "harm");
        Counts(harm.GetProperty("live")).Should().Be((5, 2, 1));
        Counts(harm.GetProperty("shadow")).Should().Be((2, 3, 3));
        harm.GetProperty("changed").GetInt64().Should().Be(5);
        foreach (var other in summary.GetProperty("categories").EnumerateArray().Where(c => c.GetProperty("category").GetString() != "harm"))
        {
            Counts(other.GetProperty("live")).Should().Be((8, 0, 0));
            Counts(other.GetProperty("shadow")).Should().Be((8, 0, 0));
        }
        var days = summary.GetProperty("days").EnumerateArray().Where(d => d.GetProperty("category").GetString() == "harm").ToList();
        days.Should().NotBeEmpty();
        days.Sum(d => d.GetProperty("changed").GetInt64()).Should().Be(5);
        days.Sum(d => d.GetProperty("shadow").GetProperty("action").GetInt64()).Should().Be(3);
        days.Should().OnlyContain(d => System.Text.RegularExpressions.Regex.IsMatch(d.GetProperty("day").GetString()!, @"^\d{4}-\d{2}-\d{2}$"));

        // The changes, two at a time.
        var changes = new List<JsonElement>();
        string? after = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var page = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync(
                $"/v1/policies/{name}/shadow/changes?limit=2{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}"), HttpStatusCode.OK);
            var items = page.GetProperty("changes").EnumerateArray().ToList();
            items.Count.Should().BeLessThanOrEqualTo(2);
            changes.AddRange(items);
            after = page.GetProperty("nextAfter").GetString();
            if (after is null) break;
        }
        changes.Select(c => c.GetProperty("uploadId").GetString()).Should().BeEquivalentTo(ids.Take(5));
        changes.Should().OnlyContain(c => c.GetProperty("category").GetString() == "harm" && c.GetProperty("liveVersion").GetString() == live);
        var reviewed = changes.Single(c => c.GetProperty("uploadId").GetString() == ids[3]);
        reviewed.GetProperty("liveOutcome").GetString().Should().Be("review");
        reviewed.GetProperty("shadowOutcome").GetString().Should().Be("action");
        reviewed.GetProperty("status").GetString().Should().Be("in_review");
        reviewed.GetProperty("externalId").GetString().Should().Be($"shadow-{run}-3");
        var onlyBias = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow/changes?category=bias"), HttpStatusCode.OK);
        onlyBias.GetProperty("changes").GetArrayLength().Should().Be(0);

        // Never acted on: no routing row and no signal names the shadow version.
        var signals = await api.ReadAllSignalsAsync();
        signals.Where(s => ids.Contains(s.GetProperty("uploadId").GetString()!)).Should().OnlyContain(s => s.GetProperty("policyVersion").GetString() == live);
        await using (var connection = await api.Database.OpenAsync())
            (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM routing_decisions WHERE policy_version = @Name", new { Name = name })).Should().Be(0);

        // Bad requests.
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{live}/shadow"), HttpStatusCode.Conflict))
            .GetProperty("detail").GetString().Should().Contain("never in shadow");
        await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync("/v1/policies/no-such-version/shadow"), HttpStatusCode.NotFound);
        await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync("/v1/policies/no-such-version/shadow/changes"), HttpStatusCode.NotFound);
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("to").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow?from=yesterday"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("from").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("from").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow/changes?limit=0"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("limit").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow/changes?limit=many"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("limit").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow/changes?after=garbage"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("after").EnumerateArray().Should().NotBeEmpty();
        using (var anonymous = api.CreateClient(null))
        {
            (await anonymous.GetAsync($"/v1/policies/{name}/shadow")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            var openApi = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json")).RootElement.GetProperty("paths");
            openApi.GetProperty("/v1/policies/{id}/shadow").GetProperty("get").GetProperty("responses").EnumerateObject().Select(r => r.Name)
                .Should().Contain(["200", "400", "404", "409"]);
            openApi.GetProperty("/v1/policies/{id}/shadow/changes").GetProperty("get").GetProperty("parameters").EnumerateArray()
                .Select(p => p.GetProperty("name").GetString()).Should().Contain(["from", "to", "category", "after", "limit"]);
        }
        using (var signalsReader = api.CreateClient(await api.CreateKeyAsync(ApiScopes.SignalsRead)))
            (await signalsReader.GetAsync($"/v1/policies/{name}/shadow")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        using (var uploader = api.CreateClient(await api.CreateKeyAsync(ApiScopes.UploadsWrite)))
            (await uploader.GetAsync($"/v1/policies/{name}/shadow/changes")).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        // Going live ends the shadow and keeps its history.
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{name}/state", new { state = "live", reason = "the diff looked right" }), HttpStatusCode.OK);
        var history = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/policies/{name}/shadow"), HttpStatusCode.OK);
        history.GetProperty("state").GetString().Should().Be("live");
        history.GetProperty("uploads").GetInt64().Should().Be(8);
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies/rollback", new { reason = "leave the fixture as it was" }), HttpStatusCode.OK);
    }

    private static (long Allow, long Review, long Action) Counts(JsonElement counts) =>
        (counts.GetProperty("allow").GetInt64(), counts.GetProperty("review").GetInt64(), counts.GetProperty("action").GetInt64());
}

[Collection(HostCollection.Name)]
public sealed class SqliteShadowEndpointTests(SqliteApiFixture fixture) : ShadowEndpointContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresShadowEndpointTests(PostgresApiFixture fixture) : ShadowEndpointContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;
