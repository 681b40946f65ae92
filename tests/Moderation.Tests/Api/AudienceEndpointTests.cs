using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary><c>POST /v1/uploads/{id}/reports</c> and <c>POST /v1/reach</c> over HTTP: answers, dedup and RFC 7807 errors.</summary>
[Collection(HostCollection.Name)]
public sealed class AudienceEndpointTests(SqliteApiFixture fixture) : IClassFixture<SqliteApiFixture>
{
    private TestApi Api => fixture.Api;

    private async Task<string> UploadAsync(string externalId) =>
        (await Api.PostUploadAsync(new { externalId, caption = "a plain caption" })).GetProperty("id").GetString()!;

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response, HttpStatusCode status, string? mediaType = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        if (mediaType is not null) response.Content.Headers.ContentType!.MediaType.Should().Be(mediaType);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static void ShouldName(JsonElement problem, string field) =>
        problem.GetProperty("errors").TryGetProperty(field, out _).Should().BeTrue($"the problem should name '{field}': {problem}");

    [Fact]
    public async Task A_report_is_created_once_per_reporter_and_counted()
    {
        var external = $"aud-{Guid.NewGuid():N}";
        var id = await UploadAsync(external);
        var key = await Api.CreateKeyAsync(ApiScopes.UploadsWrite);
        using var client = Api.CreateClient(key);

        var created = await JsonOf(await client.PostAsJsonAsync($"/v1/uploads/{id}/reports", new { reporterId = "user-17", reason = "spam", detail = "link farm" }), HttpStatusCode.Created);
        created.GetProperty("duplicate").GetBoolean().Should().BeFalse();
        created.GetProperty("reports").GetInt64().Should().Be(1);
        var repeat = await JsonOf(await client.PostAsJsonAsync($"/v1/uploads/{external}/reports", new { reporterId = "user-17", reason = "spam" }), HttpStatusCode.OK);
        repeat.GetProperty("duplicate").GetBoolean().Should().BeTrue();
        repeat.GetProperty("reportId").GetString().Should().Be(created.GetProperty("reportId").GetString());
        var other = await JsonOf(await client.PostAsJsonAsync($"/v1/uploads/{external}/reports", new { reporterId = "user-18", reason = "harassment" }), HttpStatusCode.Created);
        other.GetProperty("reports").GetInt64().Should().Be(2);
        other.GetProperty("uploadId").GetString().Should().Be(id);
    }

    [Fact]
    public async Task Bad_reports_get_problem_details_naming_the_field()
    {
        var id = await UploadAsync($"aud-{Guid.NewGuid():N}");
        var client = Api.Client;
        ShouldName(await JsonOf(await client.PostAsJsonAsync($"/v1/uploads/{id}/reports", new { reason = "spam" }), HttpStatusCode.BadRequest, "application/problem+json"), "reporterId");
        ShouldName(await JsonOf(await client.PostAsJsonAsync($"/v1/uploads/{id}/reports", new { reporterId = "u", reason = "meh" }), HttpStatusCode.BadRequest), "reason");
        ShouldName(await JsonOf(await client.PostAsJsonAsync($"/v1/uploads/{id}/reports", new { reporterId = "u", reason = "spam", detail = new string('d', 1001) }), HttpStatusCode.BadRequest), "detail");
        ShouldName(await JsonOf(await client.PostAsJsonAsync($"/v1/uploads/{id}/reports", new { reporterId = "u", reason = "spam", severity = 3 }), HttpStatusCode.BadRequest), "$.severity");
        await JsonOf(await client.PostAsJsonAsync("/v1/uploads/no-such-upload/reports", new { reporterId = "u", reason = "spam" }), HttpStatusCode.NotFound, "application/problem+json");
        await JsonOf(await client.PostAsync($"/v1/uploads/{id}/reports", new StringContent("reporterId=u", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Reach_batches_raise_view_counts_and_list_unknown_uploads()
    {
        var external = $"aud-{Guid.NewGuid():N}";
        var id = await UploadAsync(external);
        var client = Api.Client;
        var first = await JsonOf(await client.PostAsJsonAsync("/v1/reach", new { items = new object[] { new { uploadId = external, views = 1200 }, new { uploadId = "ghost", views = 5 } } }), HttpStatusCode.OK);
        first.GetProperty("updated").GetInt32().Should().Be(1);
        first.GetProperty("unknown").EnumerateArray().Select(e => e.GetString()).Should().Equal("ghost");
        var stale = await JsonOf(await client.PostAsJsonAsync("/v1/reach", new { items = new[] { new { uploadId = id, views = 1000 } } }), HttpStatusCode.OK);
        stale.GetProperty("unchanged").GetInt32().Should().Be(1);

        ShouldName(await JsonOf(await client.PostAsJsonAsync("/v1/reach", new { items = new[] { new { uploadId = id, views = -1 } } }), HttpStatusCode.BadRequest, "application/problem+json"), "items[0].views");
        ShouldName(await JsonOf(await client.PostAsJsonAsync("/v1/reach", new { items = new object[] { new { uploadId = id, views = 1 }, new { views = 1 } } }), HttpStatusCode.BadRequest), "items[1].uploadId");
        ShouldName(await JsonOf(await client.PostAsJsonAsync("/v1/reach", new { }), HttpStatusCode.BadRequest), "items");
        var tooMany = Enumerable.Range(0, 1001).Select(i => new { uploadId = $"u{i}", views = 1 }).ToArray();
        ShouldName(await JsonOf(await client.PostAsJsonAsync("/v1/reach", new { items = tooMany }), HttpStatusCode.BadRequest), "items");
    }
}
