using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

[Collection(HostCollection.Name)]
public sealed class NoScorerTests
{
    [Fact]
    public async Task Without_scorers_uploads_wait_unscored_and_readiness_says_so()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var api = await TestApi.StartAsync(database, withScorer: false);

        var id = (await api.PostUploadAsync(new { externalId = "unscored-1", caption = "hello" })).GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement upload;
        do
        {
            upload = await api.GetUploadAsync(id);
            if (upload.GetProperty("statusDetail").ValueKind == JsonValueKind.String) break;
            await Task.Delay(50);
        } while (DateTime.UtcNow < deadline);

        upload.GetProperty("status").GetString().Should().Be("queued");
        upload.GetProperty("statusDetail").GetString().Should().Be("unscored: no scorers configured");
        upload.GetProperty("scores").GetArrayLength().Should().Be(0);
        (await api.ReadAllSignalsAsync()).Should().BeEmpty("nothing is invented");

        var ready = await api.CreateClient(null).GetFromJsonAsync<JsonElement>("/readyz");
        ready.GetProperty("status").GetString().Should().Be("Degraded");
        ready.GetProperty("checks").GetProperty("scorers").GetProperty("description").GetString().Should().Contain("no scorers configured");
    }

    [Fact]
    public async Task A_generated_bootstrap_key_is_written_once_with_owner_only_permissions()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var api = await TestApi.StartAsync(database, withScorer: false, new Dictionary<string, string?>
        {
            ["Moderation:Bootstrap:ApiKey"] = "",
            ["Moderation:Bootstrap:AdminPassword"] = "",
        });
        var path = Path.Combine(database.Directory, "bootstrap-credentials.json");
        File.Exists(path).Should().BeTrue();
        if (!OperatingSystem.IsWindows())
            File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var credentials = JsonDocument.Parse(await File.ReadAllTextAsync(path)).RootElement;
        using var client = api.CreateClient(credentials.GetProperty("apiKey").GetString());
        (await client.GetAsync("/v1/signals")).IsSuccessStatusCode.Should().BeTrue("the generated key is an admin key");
        credentials.GetProperty("adminPassword").GetString().Should().NotBeNullOrEmpty();
    }
}
