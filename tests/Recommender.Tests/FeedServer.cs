using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Recommender.Tests;

/// <summary>How the recorded feed misbehaves.</summary>
internal enum FeedMode { Normal, Down, Garbage, RepeatFromStart, Backwards, Hang }

/// <summary>
/// A Kestrel server on loopback that serves a recorded signal feed with the service's JSON shape
/// (<c>{"signals":[...],"nextCursor":"41"}</c>), and can go down, answer garbage, or repeat itself.
/// </summary>
internal sealed class FeedServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly List<object> signals = [];
    private readonly List<long> seqs = [];

    public FeedMode Mode { get; set; }
    public List<string> Requests { get; } = [];
    public Uri BaseAddress { get; }

    private FeedServer(WebApplication app)
    {
        this.app = app;
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    }

    public static async Task<FeedServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FeedServer? server = null;
        app.MapGet("/v1/signals", (HttpContext context) => server!.Serve(context));
        await app.StartAsync();
        server = new FeedServer(app);
        return server;
    }

    /// <summary>Appends a signal as the service would serve it.</summary>
    public void Append(long seq, string externalId, string category = "harm", double score = 0.95, string action = "ineligible",
        double multiplier = 0, string source = "model", long? retracts = null)
    {
        seqs.Add(seq);
        signals.Add(new
        {
            seq,
            uploadId = "0196-" + externalId,
            externalId,
            category,
            score,
            action,
            demotionMultiplier = multiplier,
            source,
            modelVersion = "minilm-harm-1",
            policyVersion = "config-default",
            createdAt = "2026-11-29T02:00:00+00:00",
            expiresAt = (string?)null,
            retracts,
        });
    }

    /// <summary>
    /// A client whose timeout is what a <see cref="FeedMode.Hang"/> poll waits for. 2 s was too short for a local answer
    /// at load average 20 (two polls timed out and a test saw their signals applied by the next one).
    /// </summary>
    public HttpClient Client() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

    private async Task Serve(HttpContext context)
    {
        var after = long.Parse(context.Request.Query["after"].FirstOrDefault() ?? "0", CultureInfo.InvariantCulture);
        var limit = int.Parse(context.Request.Query["limit"].FirstOrDefault() ?? "100", CultureInfo.InvariantCulture);
        lock (Requests) Requests.Add(context.Request.QueryString.Value ?? "");
        switch (Mode)
        {
            case FeedMode.Down:
                context.Response.StatusCode = 503;
                return;
            case FeedMode.Garbage:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"signals\":[{\"seq\":");
                return;
            case FeedMode.Hang:
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                return;
        }
        var from = Mode == FeedMode.RepeatFromStart ? 0 : after;
        var page = Enumerable.Range(0, seqs.Count).Where(i => seqs[i] > from).Take(limit).ToList();
        var next = page.Count > 0 ? seqs[page[^1]] : after;
        if (Mode == FeedMode.Backwards && page.Count > 0) next = seqs[page[0]] - 1;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            signals = page.Select(i => signals[i]),
            nextCursor = next.ToString(CultureInfo.InvariantCulture),
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
