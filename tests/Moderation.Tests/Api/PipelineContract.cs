using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Moderation.Core.Audit;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Api;

/// <summary>
/// The pipeline end to end through the real HTTP host: ingest, batched Hangfire scoring, routing, the signal
/// feed and the audit chain, on each database.
/// </summary>
public abstract class PipelineContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    private TestApi Api => fixture.Api;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private async Task<long> CountUploadsAsync(string externalId)
    {
        await using var connection = await Api.Database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM uploads WHERE external_id = @externalId", new { externalId });
    }

    [Fact]
    public async Task Two_hundred_concurrent_uploads_are_each_stored_scored_routed_and_signalled_exactly_once()
    {
        var api = Api;
        const int count = 200;
        var run = NewId("bulk");
        // A third each: allowed, sent to review, actioned.
        string CaptionFor(int i) => (i % 3) switch { 0 => "fine", 1 => "[harm=0.7] borderline", _ => "[bias=0.95] over the line" };

        using var gate = new SemaphoreSlim(32);
        var accepted = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try { return (i, body: await api.PostUploadAsync(new { externalId = $"{run}-{i}", caption = CaptionFor(i) })); }
            finally { gate.Release(); }
        }));
        var ids = accepted.ToDictionary(a => a.body.GetProperty("id").GetString()!, a => a.i);
        ids.Should().HaveCount(count);

        foreach (var (id, i) in ids)
        {
            var upload = await api.WaitUntilRoutedAsync(id);
            upload.GetProperty("status").GetString().Should().Be((i % 3) switch { 0 => "allowed", 1 => "in_review", _ => "actioned" });
            upload.GetProperty("scores").GetArrayLength().Should().Be(MarkupScorer.Categories.Length);
        }

        var signals = (await api.ReadAllSignalsAsync(pageSize: 97))
            .Where(s => ids.ContainsKey(s.GetProperty("uploadId").GetString()!)).ToList();
        signals.Should().HaveCount(count * MarkupScorer.Categories.Length);
        signals.Select(s => (s.GetProperty("uploadId").GetString(), s.GetProperty("category").GetString()))
            .Should().OnlyHaveUniqueItems("each upload and category is signalled exactly once");

        await using var connection = await api.Database.OpenAsync();
        var routedEvents = (await connection.QueryAsync<string>("SELECT subject_id FROM audit_events WHERE action = 'upload.routed'"))
            .Where(ids.ContainsKey).ToList();
        routedEvents.Should().HaveCount(count).And.OnlyHaveUniqueItems("each upload is routed once");
        (await AuditLog.VerifyAsync(api.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task The_same_external_id_again_answers_200_with_the_same_id_and_creates_nothing()
    {
        var externalId = NewId("idem");
        var first = await Api.PostUploadAsync(new { externalId, caption = "one" });
        var again = await Api.PostUploadAsync(new { externalId, caption = "a different caption" }, HttpStatusCode.OK);
        again.GetProperty("id").GetString().Should().Be(first.GetProperty("id").GetString());
        (await CountUploadsAsync(externalId)).Should().Be(1);
    }

    [Fact]
    public async Task Concurrent_requests_with_one_external_id_create_one_upload()
    {
        var externalId = NewId("race");
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Api.Client.PostAsJsonAsync("/v1/uploads", new { externalId, caption = "same" })));
        responses.Count(r => r.StatusCode == HttpStatusCode.Accepted).Should().Be(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(7);
        var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()));
        ids.Distinct().Should().ContainSingle();
        (await CountUploadsAsync(externalId)).Should().Be(1);
    }

    [Fact]
    public async Task The_status_shows_scores_with_model_versions_and_the_routing_reason()
    {
        var id = (await Api.PostUploadAsync(new { externalId = NewId("status"), caption = "[harm=0.93] bad", hashtags = new[] { "#x" } }))
            .GetProperty("id").GetString()!;
        var upload = await Api.WaitUntilRoutedAsync(id);

        upload.GetProperty("status").GetString().Should().Be("actioned");
        var harm = upload.GetProperty("scores").EnumerateArray().Single(s => s.GetProperty("category").GetString() == "harm");
        harm.GetProperty("score").GetDouble().Should().Be(0.93);
        harm.GetProperty("modelVersion").GetString().Should().Be(MarkupScorer.ModelVersion);
        harm.GetProperty("scorer").GetString().Should().Be("markup-test");
        harm.GetProperty("explanations").EnumerateArray().Should().ContainSingle();
        var routing = upload.GetProperty("routing");
        routing.GetProperty("policyVersion").GetString().Should().Be("config-default");
        routing.GetProperty("reason").GetString().Should().Be("harm scored 0.93 >= action threshold 0.90 (policy config-default)");
        var harmRoute = routing.GetProperty("categories").EnumerateArray().Single(c => c.GetProperty("category").GetString() == "harm");
        harmRoute.GetProperty("outcome").GetString().Should().Be("action");
        harmRoute.GetProperty("actionThreshold").GetDouble().Should().Be(0.9);
    }

    [Fact]
    public async Task Hostile_text_and_file_names_are_stored_verbatim_and_harm_nothing()
    {
        const string injection = "x'); DELETE FROM uploads; --";
        const string traversal = "../../../../etc/passwd";
        const string script = "<script>alert(1)</script><img src=x onerror=alert(1)>";
        var externalId = NewId(injection);
        var png = Convert.FromHexString("89504E470D0A1A0A0000000D4948445200000001000000010806000000");
        var id = (await Api.PostUploadAsync(new
        {
            externalId,
            creatorId = traversal,
            caption = script,
            hashtags = new[] { injection, traversal },
            transcript = injection,
            comments = new[] { script, "\"; DROP TABLE risk_signals; --" },
            locale = "en",
            media = new[] { new { kind = "image", fileName = traversal, contentBase64 = Convert.ToBase64String(png) } },
        })).GetProperty("id").GetString()!;

        var upload = await Api.WaitUntilRoutedAsync(id);
        upload.GetProperty("externalId").GetString().Should().Be(externalId);
        upload.GetProperty("creatorId").GetString().Should().Be(traversal);
        var media = upload.GetProperty("media").EnumerateArray().Single();
        media.GetProperty("fileName").GetString().Should().Be(traversal);
        media.GetProperty("contentType").GetString().Should().Be("image/png");
        File.Exists("/etc/passwd.tmp").Should().BeFalse();
        (await CountUploadsAsync(externalId)).Should().Be(1);
        await using var connection = await Api.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<string>("SELECT caption FROM uploads WHERE id = @id", new { id })).Should().Be(script);
    }

    [Fact]
    public async Task A_multipart_upload_stores_its_files()
    {
        var externalId = NewId("multipart");
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(JsonSerializer.Serialize(new { externalId, caption = "with a file" }), Encoding.UTF8, "application/json"), "upload");
        var jpeg = new ByteArrayContent(Convert.FromHexString("FFD8FFE000104A46494600010100000100010000FFD9"));
        jpeg.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(jpeg, "image", "holiday.jpg");
        var response = await Api.Client.PostAsync("/v1/uploads", form);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var media = (await Api.GetUploadAsync(id)).GetProperty("media").EnumerateArray().Single();
        media.GetProperty("contentType").GetString().Should().Be("image/jpeg");
        media.GetProperty("fileName").GetString().Should().Be("holiday.jpg");
    }

    [Fact]
    public async Task A_failing_upload_does_not_hold_back_the_rest_of_its_batch()
    {
        var run = NewId("poison");
        var bodies = Enumerable.Range(0, 6).Select(i => new { externalId = $"{run}-{i}", caption = i == 3 ? "[fail]" : "[harm=0.6]" }).ToList();
        var ids = await Task.WhenAll(bodies.Select(async b => (await Api.PostUploadAsync(b)).GetProperty("id").GetString()!));

        for (var i = 0; i < ids.Length; i++)
        {
            if (i == 3) continue;
            (await Api.WaitUntilRoutedAsync(ids[i])).GetProperty("status").GetString().Should().Be("in_review");
        }
        var poisoned = await WaitForAsync(() => Api.GetUploadAsync(ids[3]), u => u.GetProperty("lastError").ValueKind == JsonValueKind.String);
        poisoned.GetProperty("status").GetString().Should().Be("queued");
        poisoned.GetProperty("lastError").GetString().Should().Contain("told to fail");
        poisoned.GetProperty("scoringAttempts").GetInt32().Should().BeGreaterThan(0);
    }

    private static async Task<JsonElement> WaitForAsync(Func<Task<JsonElement>> read, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(100);
        }
    }
}

[Collection(HostCollection.Name)]
public sealed class SqlitePipelineTests(SqliteApiFixture fixture) : PipelineContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresPipelineTests(PostgresApiFixture fixture) : PipelineContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;
