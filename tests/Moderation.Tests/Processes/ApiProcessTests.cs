using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Processes;

/// <summary>
/// The built API host as its own process (what `dotnet run --project Moderation.Api` starts), with its
/// in-process workers and a scorer loaded as a plug-in: 200 concurrent uploads are stored, scored, routed once
/// and signalled exactly once.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class ApiProcessTests
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task The_api_process_scores_200_concurrent_uploads_exactly_once(DatabaseProvider provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var key = "process-admin-" + Guid.NewGuid().ToString("N");
        var port = ChildProcess.FreePort();
        await using var api = ChildProcess.Start(ChildProcess.BuiltAssembly("Moderation.Api", "Moderation.Api.dll"),
            ProcessEnvironment.For(database, key), "--urls", $"http://127.0.0.1:{port}");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        await WaitForHealthAsync(client, api);

        const int count = 200;
        using var gate = new SemaphoreSlim(32);
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var response = await client.PostAsJsonAsync("/v1/uploads", new { externalId = $"proc-{i}", caption = i % 2 == 0 ? "[harm=0.95]" : "ok" });
                response.StatusCode.Should().Be(System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
                return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            }
            finally { gate.Release(); }
        }));

        var deadline = DateTime.UtcNow.AddSeconds(120);
        foreach (var id in ids)
        {
            string status;
            do
            {
                status = (await client.GetFromJsonAsync<JsonElement>($"/v1/uploads/{id}")).GetProperty("status").GetString()!;
                if (status == "queued") await Task.Delay(50);
            } while (status == "queued" && DateTime.UtcNow < deadline);
            status.Should().BeOneOf(["actioned", "allowed"], api.Output);
        }

        var signals = await TestApi.ReadAllSignalsAsync(client, pageSize: 250);
        signals.Should().HaveCount(count * MarkupScorer.Categories.Length);
        signals.Select(s => (s.GetProperty("uploadId").GetString(), s.GetProperty("category").GetString())).Should().OnlyHaveUniqueItems();
        signals.Select(s => s.GetProperty("uploadId").GetString()).Distinct().Should().BeEquivalentTo(ids);
    }

    internal static async Task WaitForHealthAsync(HttpClient client, ChildProcess process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new Xunit.Sdk.XunitException("The host exited during start-up:\n" + process.Output);
            try
            {
                if ((await client.GetAsync("/healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(200);
        }
        throw new Xunit.Sdk.XunitException("The host did not become healthy:\n" + process.Output);
    }
}
