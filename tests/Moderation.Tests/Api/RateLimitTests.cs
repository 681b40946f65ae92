using System.Net;
using System.Net.Http.Json;
using Dapper;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

[Collection(HostCollection.Name)]
public sealed class RateLimitTests
{
    [Fact]
    public async Task A_key_over_its_upload_rate_gets_429_with_retry_after_and_other_keys_are_unaffected()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var api = await TestApi.StartAsync(database, withScorer: false, new Dictionary<string, string?>
        {
            ["Moderation:RateLimits:UploadsPerSecondPerKey"] = "1",
            ["Moderation:RateLimits:Burst"] = "3",
        });
        using var noisy = api.CreateClient(await api.CreateKeyAsync(ApiScopes.UploadsWrite));
        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
            answers.Add(await noisy.PostAsJsonAsync("/v1/uploads", new { externalId = $"noisy-{i}", caption = "x" }));

        answers.Take(3).Should().OnlyContain(r => r.StatusCode == HttpStatusCode.Accepted);
        var rejected = answers[4];
        rejected.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        rejected.Headers.RetryAfter.Should().NotBeNull();
        rejected.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        await using (var connection = await api.Database.OpenAsync())
            (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM uploads WHERE external_id = 'noisy-4'")).Should().Be(0);

        using var quiet = api.CreateClient(await api.CreateKeyAsync(ApiScopes.UploadsWrite));
        (await quiet.PostAsJsonAsync("/v1/uploads", new { externalId = "quiet-1", caption = "x" })).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }
}
