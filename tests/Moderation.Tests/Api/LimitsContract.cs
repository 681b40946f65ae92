using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>
/// Limits and errors at the API's edge (issue 16, items 14–16, 19, 20), through the real host on each database: input
/// PostgreSQL cannot store is refused the same everywhere, a broken multipart body is a 400, media of a repeated
/// externalId leave no file, orphaned files are swept, bytes in flight are capped per key and per host, uploads are
/// found by external id, and the feed's bodies name the field at fault.
/// </summary>
public abstract class LimitsContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    private TestApi Api => fixture.Api;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static readonly byte[] Png = Convert.FromHexString("89504E470D0A1A0A0000000D4948445200000001");

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static void ShouldName(JsonElement problem, string field, string reasonFragment)
    {
        problem.GetProperty("errors").TryGetProperty(field, out var reasons).Should().BeTrue($"the problem should name '{field}': {problem}");
        reasons.EnumerateArray().Select(r => r.GetString()).Should().Contain(r => r!.Contains(reasonFragment), problem.ToString());
    }

    private async Task<long> CountAsync(string sql, object parameters)
    {
        await using var connection = await Api.Database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, parameters);
    }

    private MediaStore Store => Api.Services.GetRequiredService<MediaStore>();

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A PNG signature followed by bytes unique to this call: a file no other test stores.</summary>
    private static byte[] UniquePng() => [.. Png, .. Guid.NewGuid().ToByteArray()];

    // Item 14: a NUL is refused with 400 naming the field on every database (PostgreSQL failed the statement: 500).

    [Fact]
    public async Task A_nul_in_a_report_is_refused_naming_the_field_and_stores_nothing()
    {
        var externalId = NewId("nul-report");
        var id = (await Api.PostUploadAsync(new { externalId, caption = "reported" })).GetProperty("id").GetString()!;

        ShouldName(await ProblemAsync(await Api.Client.PostAsJsonAsync($"/v1/uploads/{id}/reports",
            new { reporterId = "user\0one", reason = "spam" }), HttpStatusCode.BadRequest), "reporterId", "NUL");
        ShouldName(await ProblemAsync(await Api.Client.PostAsJsonAsync($"/v1/uploads/{externalId}/reports",
            new { reporterId = "user-2", reason = "spam", detail = "see\0this" }), HttpStatusCode.BadRequest), "detail", "NUL");

        (await CountAsync("SELECT COUNT(*) FROM upload_reports WHERE upload_id = @id", new { id })).Should().Be(0);
    }

    [Fact]
    public async Task A_nul_in_a_reach_or_appeal_upload_id_is_refused_naming_the_field()
    {
        var problem = await ProblemAsync(await Api.Client.PostAsJsonAsync("/v1/reach",
            new { items = new object[] { new { uploadId = NewId("fine"), views = 3 }, new { uploadId = "bad\0id", views = 5 } } }), HttpStatusCode.BadRequest);
        ShouldName(problem, "items[1].uploadId", "NUL");
        problem.GetProperty("field").GetString().Should().Be("items[1].uploadId");

        ShouldName(await ProblemAsync(await Api.Client.PostAsJsonAsync("/v1/appeals",
            new { uploadId = "bad\0id", statement = "please look again" }), HttpStatusCode.BadRequest), "uploadId", "NUL");
        ShouldName(await ProblemAsync(await Api.Client.PostAsJsonAsync("/v1/appeals",
            new { uploadId = NewId("any"), statement = "please\0look again" }), HttpStatusCode.BadRequest), "statement", "NUL");
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=expected-boundary", "--another-boundary\r\nContent-Disposition: form-data; name=\"upload\"\r\n\r\n{}\r\n--another-boundary--\r\n")]
    [InlineData("multipart/form-data; boundary=cut", "--cut\r\nContent-Disposition: form-data; name=\"upload\"\r\n\r\n{\"externalId\":\"x\",\"caption\":\"c\"}\r\n--cut\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\u0089PNG")]
    [InlineData("multipart/form-data", "--x\r\n\r\n--x--\r\n")]
    [InlineData("multipart/form-data; boundary=nodisposition", "--nodisposition\r\nContent-Type: text/plain\r\n\r\nhello\r\n--nodisposition--\r\n")]
    public async Task A_broken_or_truncated_multipart_body_is_a_400_naming_the_body(string contentType, string body)
    {
        var content = new ByteArrayContent(Encoding.Latin1.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var problem = await ProblemAsync(await Api.Client.PostAsync("/v1/uploads", content), HttpStatusCode.BadRequest);
        problem.GetProperty("field").GetString().Should().Be("$");
        if (Directory.Exists(Store.IncomingRoot))
            Directory.EnumerateFiles(Store.IncomingRoot).Should().BeEmpty("a refused upload leaves no staged file");
    }

    // Item 15: files are streamed to disk; the cap itself is tested with a host of small caps (LimitsBudgetTests).

    [Fact]
    public async Task A_multipart_file_over_the_limit_is_refused_and_leaves_nothing_on_disk()
    {
        var externalId = NewId("big-part");
        using var form = new MultipartFormDataContent
        {
            { new StringContent(JsonSerializer.Serialize(new { externalId, caption = "c" })), "upload" },
            { new ByteArrayContent([.. Png, .. new byte[5000]]), "image", "big.png" },
        };
        ShouldName(await ProblemAsync(await Api.Client.PostAsync("/v1/uploads", form), HttpStatusCode.BadRequest), "files[0].content", "larger than the limit of 4096");
        Directory.EnumerateFiles(Store.IncomingRoot).Should().BeEmpty();
        (await CountAsync("SELECT COUNT(*) FROM uploads WHERE external_id = @externalId", new { externalId })).Should().Be(0);
    }

    [Fact]
    public async Task Multipart_and_inline_media_are_stored_at_their_content_address()
    {
        var inline = UniquePng();
        var accepted = await Api.PostUploadAsync(new { externalId = NewId("inline"), media = new[] { new { kind = "image", fileName = "a.png", contentBase64 = Convert.ToBase64String(inline) } } });
        File.ReadAllBytes(Store.PathFor(Sha(inline))).Should().Equal(inline);
        var media = (await Api.GetUploadAsync(accepted.GetProperty("id").GetString()!)).GetProperty("media").EnumerateArray().Single();
        media.GetProperty("sha256").GetString().Should().Be(Sha(inline));
        media.GetProperty("sizeBytes").GetInt64().Should().Be(inline.Length);

        var part = UniquePng();
        using var form = new MultipartFormDataContent
        {
            { new StringContent(JsonSerializer.Serialize(new { externalId = NewId("parts"), caption = "c" })), "upload" },
            { new ByteArrayContent(part), "image", "b.png" },
        };
        (await Api.Client.PostAsync("/v1/uploads", form)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        File.ReadAllBytes(Store.PathFor(Sha(part))).Should().Equal(part);
        Directory.EnumerateFiles(Store.IncomingRoot).Should().BeEmpty();
    }

    // Item 16: a repeated externalId stores no new media.

    [Fact]
    public async Task A_repeated_external_id_leaves_no_file_of_its_new_media()
    {
        var externalId = NewId("repeat-media");
        var first = UniquePng();
        var id = (await Api.PostUploadAsync(new { externalId, media = new[] { new { kind = "image", fileName = "a.png", contentBase64 = Convert.ToBase64String(first) } } }))
            .GetProperty("id").GetString()!;

        var second = UniquePng();
        var repeat = await Api.PostUploadAsync(new { externalId, media = new[] { new { kind = "image", fileName = "b.png", contentBase64 = Convert.ToBase64String(second) } } },
            HttpStatusCode.OK);
        repeat.GetProperty("id").GetString().Should().Be(id);

        var third = UniquePng();
        using var form = new MultipartFormDataContent
        {
            { new StringContent(JsonSerializer.Serialize(new { externalId, caption = "again" })), "upload" },
            { new ByteArrayContent(third), "image", "c.png" },
        };
        (await Api.Client.PostAsync("/v1/uploads", form)).StatusCode.Should().Be(HttpStatusCode.OK);

        Store.Contains(Sha(first)).Should().BeTrue();
        Store.Contains(Sha(second)).Should().BeFalse("the repeat's media were not stored");
        Store.Contains(Sha(third)).Should().BeFalse("the repeat's media were not stored");
        Directory.EnumerateFiles(Store.IncomingRoot).Should().BeEmpty("nothing staged is left behind");
    }

    [Fact]
    public async Task The_sweep_deletes_old_files_no_upload_names_and_keeps_the_rest()
    {
        var kept = UniquePng();
        await Api.PostUploadAsync(new { externalId = NewId("swept"), media = new[] { new { kind = "image", fileName = "a.png", contentBase64 = Convert.ToBase64String(kept) } } });
        // What a crash between a file's rename and its upload's commit leaves: a stored file no upload names, and a staged one.
        var orphan = UniquePng();
        using (var staged = await Store.StageAsync(new MemoryStream(orphan), 4096, CancellationToken.None)) Store.Commit(staged);
        var young = UniquePng();
        using (var staged = await Store.StageAsync(new MemoryStream(young), 4096, CancellationToken.None)) Store.Commit(staged);
        var stale = await Store.StageAsync(new MemoryStream(UniquePng()), 4096, CancellationToken.None);
        var old = DateTime.UtcNow.AddHours(-2);
        File.SetLastWriteTimeUtc(Store.PathFor(Sha(orphan)), old);
        File.SetLastWriteTimeUtc(Store.PathFor(Sha(kept)), old);
        File.SetLastWriteTimeUtc(stale.TempPath, old);

        var deleted = await Store.SweepAsync(Api.Database, DateTimeOffset.UtcNow.AddHours(-1), CancellationToken.None);

        deleted.Should().BeGreaterThanOrEqualTo(2);
        Store.Contains(Sha(orphan)).Should().BeFalse("no upload names it and it is old");
        File.Exists(stale.TempPath).Should().BeFalse("a staged file that old belongs to no request");
        Store.Contains(Sha(kept)).Should().BeTrue("an upload names it");
        Store.Contains(Sha(young)).Should().BeTrue("it may belong to an upload whose transaction has not committed yet");
    }

    // Item 19: an upload is found by its external id as reports, appeals and reach find it.

    [Fact]
    public async Task An_upload_is_found_by_its_external_id()
    {
        var externalId = NewId("by-external");
        var id = (await Api.PostUploadAsync(new { externalId, caption = "find me" })).GetProperty("id").GetString()!;

        var byExternal = await Api.GetUploadAsync(Uri.EscapeDataString(externalId));
        byExternal.GetProperty("id").GetString().Should().Be(id);
        byExternal.GetProperty("externalId").GetString().Should().Be(externalId);
        (await Api.GetUploadAsync(id)).GetProperty("externalId").GetString().Should().Be(externalId);

        var spaced = $"with space and ü {Guid.NewGuid():N}";
        var other = (await Api.PostUploadAsync(new { externalId = spaced, caption = "x" })).GetProperty("id").GetString()!;
        (await Api.GetUploadAsync(Uri.EscapeDataString(spaced))).GetProperty("id").GetString().Should().Be(other);

        (await ProblemAsync(await Api.Client.GetAsync($"/v1/uploads/{NewId("unknown")}"), HttpStatusCode.NotFound))
            .GetProperty("field").GetString().Should().Be("id");
    }

    // Item 20: the feed's bodies name the field at fault.

    [Theory]
    [InlineData("POST", "/v1/interactions", """{"userId":"u","itemId":"i","kind":"like","watchTimeMs":"long"}""", "$.watchTimeMs")]
    [InlineData("POST", "/v1/interactions", """{"userId":"u","itemId":"i","kind":"like","at":"yesterday"}""", "$.at")]
    [InlineData("POST", "/v1/interactions", """{"userId":"u","itemId":"i","knd":"like"}""", "$.knd")]
    [InlineData("PUT", "/v1/feed/u-20/controls", """{"isMinor":"yes"}""", "$.isMinor")]
    [InlineData("PUT", "/v1/feed/u-20/controls", """{"keywordFilters":["ok",7]}""", "$.keywordFilters[1]")]
    [InlineData("PUT", "/v1/feed/u-20/controls", """{"keywordFilters":["ok"," "]}""", "keywordFilters[1]")]
    [InlineData("PUT", "/v1/feed/u-20/controls", """{"keywordFilters":["ok",null]}""", "keywordFilters[1]")]
    [InlineData("PUT", "/v1/feed/u-20/controls", """{"keywordFilters":["ok","?!"]}""", "keywordFilters[1]")]
    [InlineData("POST", "/v1/feed/u-20/not-interested", """{"kind":"creator","value":{"id":1}}""", "$.value")]
    [InlineData("POST", "/v1/feed/u-20/not-interested", """{"kind":"creator","value":"c",""", "$")]
    public async Task Bad_feed_bodies_name_the_field(string method, string path, string json, string field)
    {
        using var client = Api.CreateClient(await Api.CreateKeyAsync(Moderation.Core.Access.ApiScopes.FeedDemo));
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        var problem = await ProblemAsync(await client.SendAsync(request), HttpStatusCode.BadRequest);
        problem.GetProperty("errors").TryGetProperty(field, out _).Should().BeTrue(problem.ToString());
        problem.GetProperty("field").GetString().Should().Be(field);
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteLimitsTests(SqliteApiFixture fixture) : LimitsContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresLimitsTests(PostgresApiFixture fixture) : LimitsContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;

/// <summary>Item 15: upload bytes in flight are capped per API key (429) and per host (503), with Retry-After; nothing of a refused request is stored.</summary>
[Collection(HostCollection.Name)]
public sealed class LimitsBudgetTests : IAsyncLifetime
{
    private TestDatabase? database;
    private TestApi? api;
    private TestApi Api => api!;

    public async ValueTask InitializeAsync()
    {
        database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        api = await TestApi.StartAsync(database, settings: new Dictionary<string, string?>(ApiFixture.Settings)
        {
            ["Moderation:Limits:MaxConcurrentBytesPerKey"] = "60000",
            ["Moderation:Limits:MaxConcurrentBytesPerHost"] = "100000",
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (api is not null) await api.DisposeAsync();
        if (database is not null) await database.DisposeAsync();
    }

    /// <summary>A multipart body whose first half is sent at once and whose rest waits for <see cref="Finish"/>: a request in flight.</summary>
    private sealed class HeldContent(byte[] body) : HttpContent
    {
        private readonly TaskCompletionSource finish = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Finish() => finish.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, body.Length / 2));
            await stream.FlushAsync();
            Started.TrySetResult();
            await finish.Task;
            await stream.WriteAsync(body.AsMemory(body.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    private static async Task<(HeldContent Content, string ContentType)> HeldUploadAsync(string externalId, int padding)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(JsonSerializer.Serialize(new { externalId, caption = "held", transcript = new string('x', padding) })), "upload" },
        };
        var bytes = await form.ReadAsByteArrayAsync();
        var held = new HeldContent(bytes);
        held.Headers.ContentType = form.Headers.ContentType;
        return (held, form.Headers.ContentType!.ToString());
    }

    private async Task<HttpResponseMessage> PostAsync(HttpClient client, string externalId, int padding)
    {
        var json = JsonSerializer.Serialize(new { externalId, caption = "c", transcript = new string('y', padding) });
        return await client.PostAsync("/v1/uploads", new StringContent(json, Encoding.UTF8, "application/json"));
    }

    [Fact]
    public async Task Bytes_in_flight_are_capped_per_key_with_429_and_per_host_with_503()
    {
        var key = await Api.CreateKeyAsync(Moderation.Core.Access.ApiScopes.UploadsWrite);
        using var client = Api.CreateClient(key);
        var budget = Api.Services.GetRequiredService<MediaBudget>();

        // One request of about 40 KB in flight for this key.
        var (held, _) = await HeldUploadAsync("held-" + Guid.NewGuid().ToString("N"), 40_000);
        var inFlight = client.PostAsync("/v1/uploads", held);
        await held.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitUntil(() => budget.InFlight > 0);

        // Another 30 KB from the same key: over its 60,000 bytes.
        var perKey = "per-key-" + Guid.NewGuid().ToString("N");
        using (var refused = await PostAsync(client, perKey, 30_000))
        {
            var text = await refused.Content.ReadAsStringAsync();
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, text);
            refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            refused.Headers.RetryAfter!.Delta.Should().BeGreaterThan(TimeSpan.Zero);
            text.Should().Contain("in flight");
        }

        // A body of unknown length (chunked, as PostAsJsonAsync sends it) is counted as it is read, and refused the same way.
        using (var chunked = await client.PostAsJsonAsync("/v1/uploads", new { externalId = perKey, caption = "c", transcript = new string('z', 30_000) }))
        {
            chunked.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, await chunked.Content.ReadAsStringAsync());
        }
        await WaitUntil(() => budget.InFlight < 50_000);

        // 30 KB from another key fits that key, but not the host's 100,000 bytes with a further 40 KB held.
        using var other = Api.CreateClient(await Api.CreateKeyAsync(Moderation.Core.Access.ApiScopes.UploadsWrite));
        var (held2, _) = await HeldUploadAsync("held2-" + Guid.NewGuid().ToString("N"), 40_000);
        var inFlight2 = other.PostAsync("/v1/uploads", held2);
        await held2.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitUntil(() => budget.InFlight > 80_000);
        using var third = Api.CreateClient(await Api.CreateKeyAsync(Moderation.Core.Access.ApiScopes.UploadsWrite));
        var perHost = "per-host-" + Guid.NewGuid().ToString("N");
        using (var refused = await PostAsync(third, perHost, 30_000))
        {
            refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await refused.Content.ReadAsStringAsync());
            refused.Headers.RetryAfter!.Delta.Should().BeGreaterThan(TimeSpan.Zero);
        }

        held.Finish();
        held2.Finish();
        (await inFlight).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await inFlight2).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await WaitUntil(() => budget.InFlight == 0);

        // Once answered, the bytes are free again: the refused uploads go through, and nothing of them was stored before.
        await using (var connection = await Api.Database.OpenAsync())
            (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM uploads WHERE external_id IN (@perKey, @perHost)", new { perKey, perHost })).Should().Be(0);
        (await PostAsync(client, perKey, 30_000)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await client.PostAsJsonAsync("/v1/uploads", new { externalId = "chunked-" + Guid.NewGuid().ToString("N"), caption = "c", transcript = new string('z', 50_000) }))
            .StatusCode.Should().Be(HttpStatusCode.Accepted, "one request alone may grow to the largest request");
        (await PostAsync(third, perHost, 30_000)).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The condition did not hold in time.");
            await Task.Delay(20);
        }
    }
}
