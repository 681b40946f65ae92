using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Api.Hosting;
using Moderation.Core.Access;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.TestScorers;

namespace Moderation.Tests.Infrastructure;

/// <summary>
/// The real API host on Kestrel (loopback, a free port) over a test database, with the in-process Hangfire
/// server. Tests talk to it over HTTP like any client.
/// </summary>
public sealed class TestApi : IAsyncDisposable
{
    private readonly WebApplication app;

    private TestApi(WebApplication app, string adminKey)
    {
        this.app = app;
        AdminKey = adminKey;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = CreateClient(adminKey);
    }

    public string AdminKey { get; }
    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => app.Services;
    public ModerationDatabase Database => app.Services.GetRequiredService<ModerationDatabase>();

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <param name="withScorer">Register <see cref="MarkupScorer"/>; false leaves the host with no scorer at all.</param>
    public static async Task<TestApi> StartAsync(TestDatabase database, bool withScorer = true, IDictionary<string, string?>? settings = null)
    {
        var adminKey = "test-admin-" + Guid.NewGuid().ToString("N");
        var config = new Dictionary<string, string?>
        {
            ["Moderation:DataDirectory"] = database.Directory,
            ["Moderation:Database:Provider"] = database.Provider.ToString(),
            ["Moderation:Database:ConnectionString"] = database.ConnectionString,
            ["Moderation:Bootstrap:ApiKey"] = adminKey,
            ["Moderation:Bootstrap:AdminPassword"] = "test-admin-password",
            ["Moderation:Worker:QueuePollInterval"] = "00:00:00.050",
            ["Moderation:Worker:WorkerCount"] = "2",
            // The contract tests count MarkupScorer's scores exactly; the text models are tested on their own.
            ["Moderation:Scoring:Text:Enabled"] = "false",
            // Likewise the hash-match scorer: the media tests turn it on.
            ["Moderation:Scoring:Media:Enabled"] = "false",
            // And the image scorer (ResNet18 on every frame): the image tests turn it on.
            ["Moderation:Scoring:Images:Enabled"] = "false",
            // And OCR (a tesseract process per frame): the OCR tests turn it on.
            ["Moderation:Scoring:Ocr:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) config[key] = value;
        var args = config.Select(kv => $"--{kv.Key}={kv.Value}").Append("--urls=http://127.0.0.1:0").ToArray();

        var app = ModerationApi.Build(args, builder =>
        {
            if (withScorer) builder.Services.AddSingleton<IUploadScorer, MarkupScorer>();
        });
        await app.StartAsync();
        return new TestApi(app, adminKey);
    }

    public HttpClient CreateClient(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null) client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    /// <summary>Creates an API key with the given scopes and returns it.</summary>
    public async Task<string> CreateKeyAsync(params string[] scopes)
    {
        var key = ApiKeyStore.Generate();
        var store = Services.GetRequiredService<ApiKeyStore>();
        await Database.InTransactionAsync((c, t) => store.CreateAsync(c, t, "test key", key, scopes, CancellationToken.None));
        return key;
    }

    public async Task<JsonElement> PostUploadAsync(object body, System.Net.HttpStatusCode expected = System.Net.HttpStatusCode.Accepted)
    {
        var response = await Client.PostAsJsonAsync("/v1/uploads", body, Json);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
            throw new Xunit.Sdk.XunitException($"POST /v1/uploads answered {(int)response.StatusCode}, expected {(int)expected}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> GetUploadAsync(string id)
    {
        var response = await Client.GetAsync($"/v1/uploads/{id}");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Polls until the upload has left 'queued' (or the timeout passes) and returns its last state.</summary>
    public async Task<JsonElement> WaitUntilRoutedAsync(string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var upload = await GetUploadAsync(id);
            if (upload.GetProperty("status").GetString() != "queued" || DateTime.UtcNow > deadline) return upload;
            await Task.Delay(50);
        }
    }

    /// <summary>Reads the whole signal feed from the start, page by page, as a consumer would.</summary>
    public Task<List<JsonElement>> ReadAllSignalsAsync(int pageSize = 100) => ReadAllSignalsAsync(Client, pageSize);

    /// <summary>Follows <c>GET /v1/signals</c> from cursor 0 until an empty page, with any client (in-process host or child process).</summary>
    public static async Task<List<JsonElement>> ReadAllSignalsAsync(HttpClient client, int pageSize)
    {
        var all = new List<JsonElement>();
        var cursor = "0";
        while (true)
        {
            var page = await client.GetFromJsonAsync<JsonElement>($"/v1/signals?after={cursor}&limit={pageSize}");
            var signals = page.GetProperty("signals").EnumerateArray().Select(s => s.Clone()).ToList();
            if (signals.Count == 0) return all;
            all.AddRange(signals);
            cursor = page.GetProperty("nextCursor").GetString()!;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
