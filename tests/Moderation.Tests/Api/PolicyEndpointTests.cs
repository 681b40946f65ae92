using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Models;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>The claim bank and model registry over HTTP: scopes, problem details, audit actors.</summary>
[Collection(HostCollection.Name)]
public sealed class PolicyEndpointTests(SqliteApiFixture fixture) : IClassFixture<SqliteApiFixture>
{
    private TestApi Api => fixture.Api;

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var problem = await JsonAsync(response, expected);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        return problem;
    }

    private static string Unique(string text) => $"{text} {Guid.NewGuid():N}";

    [Fact]
    public async Task A_policy_writer_adds_lists_and_retires_claims_and_is_the_audited_actor()
    {
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));
        var text = Unique("The moon landing was filmed in a studio");
        var created = await JsonAsync(await writer.PostAsJsonAsync("/v1/claims",
            new { text, sourceUrl = "https://factcheck.example.org/moon", note = "from a viral video" }), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        created.GetProperty("text").GetString().Should().Be(text);
        created.GetProperty("state").GetString().Should().Be("active");
        created.GetProperty("category").GetString().Should().Be("misinformation");
        created.GetProperty("createdBy").GetString().Should().StartWith("api_key:");

        (await writer.GetFromJsonAsync<JsonElement>($"/v1/claims/{id}")).GetProperty("id").GetString().Should().Be(id);
        var active = await writer.GetFromJsonAsync<JsonElement>("/v1/claims");
        active.GetProperty("claims").EnumerateArray().Select(c => c.GetProperty("id").GetString()).Should().Contain(id);

        var retired = await JsonAsync(await writer.PostAsJsonAsync($"/v1/claims/{id}/retire", new { reason = "debunked everywhere" }), HttpStatusCode.OK);
        retired.GetProperty("state").GetString().Should().Be("retired");
        retired.GetProperty("retireReason").GetString().Should().Be("debunked everywhere");
        (await writer.GetFromJsonAsync<JsonElement>("/v1/claims")).GetProperty("claims").EnumerateArray()
            .Select(c => c.GetProperty("id").GetString()).Should().NotContain(id);
        (await writer.GetFromJsonAsync<JsonElement>("/v1/claims?includeRetired=true")).GetProperty("claims").EnumerateArray()
            .Select(c => c.GetProperty("id").GetString()).Should().Contain(id);

        var events = (await AuditLog.ReadAsync(Api.Database, 0, 10_000, CancellationToken.None)).Where(e => e.SubjectId == id).ToList();
        events.Select(e => e.Action).Should().Equal("claim.added", "claim.retired");
        events.Should().OnlyContain(e => e.Actor == created.GetProperty("createdBy").GetString());
    }

    [Fact]
    public async Task Bad_claims_are_400_duplicates_409_and_unknown_ids_404()
    {
        var client = Api.Client;
        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/claims", new { text = "short", sourceUrl = "https://e.org/x" }), HttpStatusCode.BadRequest);
        problem.GetProperty("errors").GetProperty("text")[0].GetString().Should().Contain("at least 10");
        problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/claims", new { text = "a long enough claim", sourceUrl = "javascript:alert(1)" }), HttpStatusCode.BadRequest);
        problem.GetProperty("errors").GetProperty("sourceUrl")[0].GetString().Should().Contain("http or https");
        problem = await ProblemAsync(await client.PostAsync("/v1/claims",
            new StringContent("""{"text":"a long enough claim","sourceUrl":"https://e.org","txet":"typo"}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        problem.GetProperty("errors").GetProperty("$.txet")[0].GetString().Should().Contain("not a known field");
        await ProblemAsync(await client.PostAsync("/v1/claims", new StringContent("""{"text":""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PostAsync("/v1/claims", new StringContent("text=x", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
        await ProblemAsync(await client.GetAsync("/v1/claims?includeRetired=maybe"), HttpStatusCode.BadRequest);

        var text = Unique("Eating garlic prevents every infection");
        var first = await JsonAsync(await client.PostAsJsonAsync("/v1/claims", new { text, sourceUrl = "https://e.org/g" }), HttpStatusCode.Created);
        var duplicate = await ProblemAsync(await client.PostAsJsonAsync("/v1/claims", new { text = text.ToUpperInvariant(), sourceUrl = "https://e.org/g" }), HttpStatusCode.Conflict);
        duplicate.GetProperty("existingId").GetString().Should().Be(first.GetProperty("id").GetString());

        await ProblemAsync(await client.PostAsJsonAsync("/v1/claims/no-such-claim/retire", new { reason = "x" }), HttpStatusCode.NotFound);
        await ProblemAsync(await client.GetAsync("/v1/claims/no-such-claim"), HttpStatusCode.NotFound);
        var noReason = await ProblemAsync(await client.PostAsJsonAsync($"/v1/claims/{first.GetProperty("id").GetString()}/retire", new { reason = "" }), HttpStatusCode.BadRequest);
        noReason.GetProperty("errors").GetProperty("reason")[0].GetString().Should().Contain("required");
    }

    [Fact]
    public async Task Model_versions_are_listed_and_promoted_over_http()
    {
        var registry = Api.Services.GetRequiredService<ModelRegistry>();
        var category = "harm.api" + Guid.NewGuid().ToString("N")[..8];
        await registry.RegisterAsync(category, "v1", "text", """{"modelVersion":"v1"}""", """{"validationRocAuc":0.91}""", [1, 2, 3], ModelStates.Live, "tester", CancellationToken.None);
        await registry.RegisterAsync(category, "v2", "text", """{"modelVersion":"v2"}""", """{"validationRocAuc":0.95}""", [4, 5, 6], ModelStates.Shadow, "tester", CancellationToken.None);
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));

        var list = await JsonAsync(await writer.GetAsync($"/v1/models?category={category}"), HttpStatusCode.OK);
        var models = list.GetProperty("models").EnumerateArray().ToList();
        models.Should().HaveCount(2);
        models.Single(m => m.GetProperty("version").GetString() == "v2").GetProperty("metrics").GetProperty("validationRocAuc").GetDouble().Should().Be(0.95);

        var promoted = await JsonAsync(await writer.PostAsJsonAsync($"/v1/models/{category}/v2/state", new { state = "live", reason = "better ROC-AUC" }), HttpStatusCode.OK);
        promoted.GetProperty("state").GetString().Should().Be("live");
        promoted.GetProperty("card").GetProperty("modelVersion").GetString().Should().Be("v2");
        (await registry.ListAsync(category, CancellationToken.None)).Select(m => $"{m.Version}:{m.State}").Should().BeEquivalentTo("v1:retired", "v2:live");
        var events = (await AuditLog.ReadAsync(Api.Database, 0, 10_000, CancellationToken.None)).Where(e => e.SubjectId == $"{category}@v2").ToList();
        events.Last().Action.Should().Be("model.state_changed");
        events.Last().Actor.Should().StartWith("api_key:");
        events.Last().Reason.Should().Be("better ROC-AUC");

        await ProblemAsync(await writer.PostAsJsonAsync($"/v1/models/{category}/v9/state", new { state = "live" }), HttpStatusCode.NotFound);
        var badState = await ProblemAsync(await writer.PostAsJsonAsync($"/v1/models/{category}/v2/state", new { state = "production" }), HttpStatusCode.BadRequest);
        badState.GetProperty("errors").GetProperty("state")[0].GetString().Should().Contain("live, shadow, retired");
        await ProblemAsync(await writer.PostAsJsonAsync($"/v1/models/{category}/v2/state", new { }), HttpStatusCode.BadRequest);
        await ProblemAsync(await writer.GetAsync("/v1/models?category=Not%20A%20Category"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Reads_need_policy_read_or_write_and_changes_need_policy_write()
    {
        using var reader = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyRead));
        using var uploader = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.UploadsWrite));
        using var anonymous = Api.CreateClient(null);
        var body = new { text = Unique("A claim nobody may add without the scope"), sourceUrl = "https://e.org/x" };

        (await reader.GetAsync("/v1/claims")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await reader.GetAsync("/v1/models")).StatusCode.Should().Be(HttpStatusCode.OK);
        await ProblemAsync(await reader.PostAsJsonAsync("/v1/claims", body), HttpStatusCode.Forbidden);
        await ProblemAsync(await reader.PostAsJsonAsync("/v1/models/harm/v1/state", new { state = "live" }), HttpStatusCode.Forbidden);
        await ProblemAsync(await uploader.GetAsync("/v1/claims"), HttpStatusCode.Forbidden);
        await ProblemAsync(await uploader.PostAsJsonAsync("/v1/claims", body), HttpStatusCode.Forbidden);
        await ProblemAsync(await anonymous.GetAsync("/v1/models"), HttpStatusCode.Unauthorized);
        await ProblemAsync(await anonymous.PostAsJsonAsync("/v1/claims/x/retire", new { reason = "r" }), HttpStatusCode.Unauthorized);
        (await Api.Client.PostAsJsonAsync("/v1/claims", body)).StatusCode.Should().Be(HttpStatusCode.Created, "admin holds every scope");
    }

    [Fact]
    public async Task The_openapi_document_describes_the_policy_endpoints()
    {
        using var client = Api.CreateClient(null);
        var document = await client.GetStringAsync("/openapi/v1.json");
        document.Should().Contain("/v1/claims").And.Contain("/v1/claims/{id}/retire").And.Contain("/v1/models/{category}/{version}/state")
            .And.Contain("ClaimRequest").And.Contain("ModelStateRequest");
    }
}
