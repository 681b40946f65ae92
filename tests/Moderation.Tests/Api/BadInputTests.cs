using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>Every kind of bad request gets a problem-details answer naming the field and the reason, and stores nothing.</summary>
[Collection(HostCollection.Name)]
public sealed class BadInputTests(SqliteApiFixture fixture) : IClassFixture<SqliteApiFixture>
{
    private TestApi Api => fixture.Api;

    private static readonly string Png = Convert.ToBase64String(Convert.FromHexString("89504E470D0A1A0A0000000D4948445200000001"));

    private async Task<JsonElement> ExpectProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> PostRawAsync(string json, string externalId, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var problem = await ExpectProblemAsync(
            await Api.Client.PostAsync("/v1/uploads", new StringContent(json, Encoding.UTF8, "application/json")), status);
        await using var connection = await Api.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM uploads WHERE external_id = @externalId", new { externalId }))
            .Should().Be(0, "a refused upload stores nothing");
        return problem;
    }

    private static void ShouldName(JsonElement problem, string field, string reasonFragment)
    {
        problem.GetProperty("errors").TryGetProperty(field, out var reasons).Should().BeTrue($"the problem should name '{field}': {problem}");
        reasons.EnumerateArray().Select(r => r.GetString()).Should().Contain(r => r!.Contains(reasonFragment), problem.ToString());
    }

    [Fact]
    public async Task Malformed_json_names_where_it_broke()
    {
        var problem = await PostRawAsync("""{"externalId":"bad-json","caption":""", "bad-json");
        problem.GetProperty("errors").EnumerateObject().Single().Value[0].GetString().Should().Contain("not valid JSON");
    }

    [Fact]
    public async Task A_missing_external_id_is_named()
    {
        ShouldName(await PostRawAsync("""{"caption":"no id"}""", ""), "externalId", "is required");
    }

    [Fact]
    public async Task Unknown_fields_are_refused_not_dropped()
    {
        ShouldName(await PostRawAsync("""{"externalId":"unknown-field","caption":"x","captoin":"typo"}""", "unknown-field"), "$.captoin", "not a known field");
    }

    [Fact]
    public async Task A_caption_over_its_limit_is_refused()
    {
        var json = JsonSerializer.Serialize(new { externalId = "long-caption", caption = new string('x', 10_001) });
        ShouldName(await PostRawAsync(json, "long-caption"), "caption", "the limit is 10000");
    }

    [Fact]
    public async Task More_than_a_hundred_hashtags_are_refused()
    {
        var json = JsonSerializer.Serialize(new { externalId = "many-tags", caption = "x", hashtags = Enumerable.Range(0, 101).Select(i => $"#t{i}") });
        ShouldName(await PostRawAsync(json, "many-tags"), "hashtags", "at most 100");
    }

    [Fact]
    public async Task Media_over_the_size_limit_is_refused()
    {
        var big = Convert.ToBase64String(Convert.FromHexString("89504E470D0A1A0A").Concat(new byte[5000]).ToArray());
        var json = JsonSerializer.Serialize(new { externalId = "big-media", media = new[] { new { kind = "image", fileName = "a.png", contentBase64 = big } } });
        ShouldName(await PostRawAsync(json, "big-media"), "media[0].content", "larger than the limit of 4096 bytes");
    }

    [Fact]
    public async Task A_body_over_the_request_limit_is_refused_with_413()
    {
        var json = JsonSerializer.Serialize(new { externalId = "huge-body", transcript = new string('x', 70_000) });
        var problem = await PostRawAsync(json, "huge-body", HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("65536");
    }

    [Fact]
    public async Task Media_whose_bytes_are_not_the_declared_kind_is_refused()
    {
        var json = JsonSerializer.Serialize(new { externalId = "wrong-kind", media = new[] { new { kind = "video", fileName = "a.mp4", contentBase64 = Png } } });
        ShouldName(await PostRawAsync(json, "wrong-kind"), "media[0].content", "not of the declared kind 'video'");
    }

    [Fact]
    public async Task An_html_file_named_jpg_is_refused()
    {
        var html = Convert.ToBase64String("<html><script>alert(1)</script></html>"u8.ToArray());
        var json = JsonSerializer.Serialize(new { externalId = "html-jpg", media = new[] { new { kind = "image", fileName = "cat.jpg", contentBase64 = html } } });
        ShouldName(await PostRawAsync(json, "html-jpg"), "media[0].content", "not a recognised image");
    }

    [Fact]
    public async Task Base64_that_is_not_base64_is_refused()
    {
        var json = JsonSerializer.Serialize(new { externalId = "bad-b64", media = new[] { new { kind = "image", fileName = "a.png", contentBase64 = "%%% not base64 %%%" } } });
        ShouldName(await PostRawAsync(json, "bad-b64"), "media[0].contentBase64", "valid base64");
    }

    [Fact]
    public async Task A_wrong_type_for_a_field_is_named()
    {
        ShouldName(await PostRawAsync("""{"externalId":"wrong-type","hashtags":"#not-a-list"}""", "wrong-type"), "$.hashtags", "not valid JSON for this field");
    }

    [Fact]
    public async Task An_unsupported_content_type_is_refused_with_415()
    {
        await ExpectProblemAsync(await Api.Client.PostAsync("/v1/uploads", new StringContent("externalId=x", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task A_multipart_request_without_the_upload_field_is_refused()
    {
        using var form = new MultipartFormDataContent { { new StringContent("x"), "caption" } };
        var problem = await ExpectProblemAsync(await Api.Client.PostAsync("/v1/uploads", form), HttpStatusCode.BadRequest);
        ShouldName(problem, "upload", "exactly one 'upload' field");
    }

    [Fact]
    public async Task A_multipart_file_part_with_an_unknown_name_is_refused()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("""{"externalId":"bad-part"}"""), "upload" },
            { new ByteArrayContent([1, 2, 3]), "document", "x.pdf" },
        };
        ShouldName(await ExpectProblemAsync(await Api.Client.PostAsync("/v1/uploads", form), HttpStatusCode.BadRequest), "files[0]", "'image' or 'video'");
    }

    [Fact]
    public async Task A_wrong_api_key_is_refused_with_401()
    {
        using var client = Api.CreateClient("mk_this-key-does-not-exist-anywhere");
        var problem = await ExpectProblemAsync(await client.PostAsJsonAsync("/v1/uploads", new { externalId = "wrong-key", caption = "x" }), HttpStatusCode.Unauthorized);
        problem.GetProperty("detail").GetString().Should().Contain("not valid");
    }

    [Fact]
    public async Task A_key_without_the_scope_is_refused_with_403()
    {
        using var client = Api.CreateClient(await Api.CreateKeyAsync("signals:read"));
        await ExpectProblemAsync(await client.PostAsJsonAsync("/v1/uploads", new { externalId = "wrong-scope", caption = "x" }), HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("after=-1", "after")]
    [InlineData("after=abc", "after")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    public async Task Bad_signal_feed_parameters_are_named(string query, string field)
    {
        ShouldName(await ExpectProblemAsync(await Api.Client.GetAsync($"/v1/signals?{query}"), HttpStatusCode.BadRequest), field, "must be");
    }

    [Fact]
    public async Task An_unknown_upload_id_is_a_404_problem()
    {
        await ExpectProblemAsync(await Api.Client.GetAsync($"/v1/uploads/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await ExpectProblemAsync(await Api.Client.GetAsync("/v1/uploads/..%2F..%2Fetc%2Fpasswd"), HttpStatusCode.NotFound);
    }
}
