using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Access;

/// <summary>API keys made, listed, expired and revoked over HTTP by an admin key, on SQLite and PostgreSQL.</summary>
public abstract class ApiKeyEndpointTests(ApiFixture fixture)
{
    private TestApi Api => fixture.Api;

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> MakeKeyAsync(object body, HttpStatusCode expected = HttpStatusCode.Created) =>
        await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/apikeys", body), expected);

    [Fact]
    public async Task An_admin_makes_lists_and_revokes_a_scoped_key_and_each_change_is_audited()
    {
        var name = $"signals reader {Guid.NewGuid():N}";
        var created = await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/apikeys", new { name, scopes = new[] { "signals:read" } }), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        var secret = created.GetProperty("key").GetString()!;
        secret.Should().StartWith("mk_");
        created.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()).Should().Equal("signals:read");
        created.GetProperty("state").GetString().Should().Be("active");
        created.GetProperty("prefix").GetString().Should().Be(secret[..ApiKeyStore.PrefixLength]);

        using var reader = Api.CreateClient(secret);
        (await reader.GetAsync("/v1/signals")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await reader.PostAsJsonAsync("/v1/uploads", new { externalId = $"k-{Guid.NewGuid():N}", caption = "x" })).StatusCode
            .Should().Be(HttpStatusCode.Forbidden, "the key holds signals:read only");
        (await reader.GetAsync("/v1/apikeys")).StatusCode.Should().Be(HttpStatusCode.Forbidden, "listing keys needs admin");

        var listText = await Api.Client.GetStringAsync("/v1/apikeys");
        listText.Should().NotContain(secret, "a secret is shown once, in the answer to its creation");
        var listed = JsonDocument.Parse(listText).RootElement.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
        listed.GetProperty("name").GetString().Should().Be(name);
        listed.GetProperty("state").GetString().Should().Be("active");
        listed.GetProperty("createdBy").GetString().Should().Be(AuditActors.ApiKey(AdminKeyId(listText)));
        (await Api.Client.GetAsync($"/v1/apikeys/{id}")).StatusCode.Should().Be(HttpStatusCode.OK);
        JsonDocument.Parse(listText).RootElement.GetProperty("keys").EnumerateArray()
            .Single(k => k.GetProperty("id").GetString() == AdminKeyId(listText)).GetProperty("createdBy").GetString().Should().Be(AuditActors.Bootstrap);

        var revoked = await JsonAsync(await Api.Client.PostAsJsonAsync($"/v1/apikeys/{id}/revoke", new { reason = "rotated" }), HttpStatusCode.OK);
        revoked.GetProperty("state").GetString().Should().Be("revoked");
        (await reader.GetAsync("/v1/signals")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the host that revokes a key forgets it at once");
        // Revoking again changes nothing and records nothing.
        (await Api.Client.PostAsync($"/v1/apikeys/{id}/revoke", null)).StatusCode.Should().Be(HttpStatusCode.OK);

        var events = (await AuditLog.ReadAsync(Api.Database, 0, 100_000, CancellationToken.None)).Where(e => e.SubjectId == id).ToList();
        events.Select(e => e.Action).Should().Equal("api_key.created", "api_key.revoked");
        events.Should().OnlyContain(e => e.Actor == AuditActors.ApiKey(AdminKeyId(listText)));
        events[0].AfterState.Should().Contain("signals:read").And.NotContain(secret);
        events[1].Reason.Should().Be("rotated");
    }

    /// <summary>The bootstrap key's id: the one key named so.</summary>
    private static string AdminKeyId(string listText) =>
        JsonDocument.Parse(listText).RootElement.GetProperty("keys").EnumerateArray()
            .Single(k => k.GetProperty("name").GetString() == "bootstrap admin key").GetProperty("id").GetString()!;

    [Fact]
    public async Task A_key_with_an_expiry_works_until_it_passes()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var created = await MakeKeyAsync(new { name = "short-lived", scopes = new[] { "policy:read" }, expiresAt });
        var id = created.GetProperty("id").GetString()!;
        DateTimeOffset.Parse(created.GetProperty("expiresAt").GetString()!).Should().BeCloseTo(expiresAt, TimeSpan.FromMilliseconds(1));
        using var client = Api.CreateClient(created.GetProperty("key").GetString());
        (await client.GetAsync("/v1/claims")).StatusCode.Should().Be(HttpStatusCode.OK);
        var wait = expiresAt - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait + TimeSpan.FromMilliseconds(200));
        (await client.GetAsync("/v1/claims")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "an expired key does not work, cached or not");
        var listed = await Api.Client.GetFromJsonAsync<JsonElement>($"/v1/apikeys/{id}");
        listed.GetProperty("state").GetString().Should().Be("expired");
    }

    [Fact]
    public async Task A_bad_key_request_is_refused_naming_the_field()
    {
        async Task<string?> Field(object body)
        {
            var problem = await MakeKeyAsync(body, HttpStatusCode.BadRequest);
            return problem.TryGetProperty("field", out var f) ? f.GetString() : problem.GetProperty("errors").EnumerateObject().First().Name;
        }
        (await Field(new { name = "no scopes", scopes = Array.Empty<string>() })).Should().Be("scopes");
        (await Field(new { name = "no scopes" })).Should().Be("scopes");
        (await Field(new { name = "odd", scopes = new[] { "everything" } })).Should().Be("scopes");
        (await Field(new { name = "  ", scopes = new[] { "admin" } })).Should().Be("name");
        (await Field(new { name = "past", scopes = new[] { "admin" }, expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) })).Should().Be("expiresAt");
        (await Api.Client.PostAsJsonAsync($"/v1/apikeys/unknown-{Guid.NewGuid():N}/revoke", new { })).StatusCode.Should().Be(HttpStatusCode.NotFound);
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));
        (await writer.PostAsJsonAsync("/v1/apikeys", new { name = "escalation", scopes = new[] { "admin" } })).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_scoped_admin_key_made_by_the_api_can_itself_make_keys()
    {
        var admin = await MakeKeyAsync(new { name = "second admin", scopes = new[] { "admin" } });
        using var client = Api.CreateClient(admin.GetProperty("key").GetString());
        var made = await JsonAsync(await client.PostAsJsonAsync("/v1/apikeys", new { name = "by the second admin", scopes = new[] { "uploads:write" } }), HttpStatusCode.Created);
        made.GetProperty("createdBy").GetString().Should().Be(AuditActors.ApiKey(admin.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task A_key_revoked_on_one_host_stops_working_on_another_within_seconds()
    {
        await using var database = await TestDatabase.CreateAsync(fixture.Provider);
        await using var first = await TestApi.StartAsync(database, withScorer: false);
        await using var second = await TestApi.StartAsync(database, withScorer: false, new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });
        var created = await JsonAsync(await first.Client.PostAsJsonAsync("/v1/apikeys", new { name = "shared", scopes = new[] { "signals:read" } }), HttpStatusCode.Created);
        using var onSecond = second.CreateClient(created.GetProperty("key").GetString());
        (await onSecond.GetAsync("/v1/signals")).StatusCode.Should().Be(HttpStatusCode.OK, "the second host now remembers the key");

        (await first.Client.PostAsync($"/v1/apikeys/{created.GetProperty("id").GetString()}/revoke", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            status = (await onSecond.GetAsync("/v1/signals")).StatusCode;
            if (status == HttpStatusCode.Unauthorized) break;
            await Task.Delay(100);
        } while (clock.Elapsed < TimeSpan.FromSeconds(30));
        status.Should().Be(HttpStatusCode.Unauthorized);
        clock.Elapsed.Should().BeLessThan(ApiKeyStore.MaxCacheTime + TimeSpan.FromSeconds(2), "another host remembers a key for at most 5 s");
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteApiKeyEndpointTests(SqliteApiFixture fixture) : ApiKeyEndpointTests(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresApiKeyEndpointTests(PostgresApiFixture fixture) : ApiKeyEndpointTests(fixture), IClassFixture<PostgresApiFixture>;
