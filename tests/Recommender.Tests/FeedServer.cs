using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Recommender.Core.Signals;

namespace Recommender.Tests;

/// <summary>How the recorded feed misbehaves.</summary>
internal enum FeedMode { Normal, Down, Garbage, RepeatFromStart, Backwards, Hang }

/// <summary>How the recorded feed signs its pages.</summary>
internal enum PageSigning
{
    /// <summary>Signed by the current key, as the service signs them.</summary>
    Signed,
    /// <summary>No signature headers.</summary>
    Unsigned,
    /// <summary>Signed, then the body altered on the way (every <c>ineligible</c> becomes <c>none</c>).</summary>
    TamperedBody,
    /// <summary>Signed by a key the key set does not publish.</summary>
    UnknownKey,
    /// <summary>A page signed as the answer to another request (<c>after=0</c>), replayed for this one.</summary>
    OtherRequest,
}

/// <summary>
/// A Kestrel server on loopback that serves a recorded signal feed with the service's JSON shape
/// (<c>{"signals":[...],"nextCursor":"41"}</c>), signed as the service signs it (<see cref="FeedSignature"/>) with its
/// keys published at <c>/v1/signals/keys</c>, and can go down, answer garbage, repeat itself, rotate its key, or send
/// pages that are unsigned, altered, or signed by an unknown key.
/// </summary>
internal sealed class FeedServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly List<object> signals = [];
    private readonly List<long> seqs = [];

    private readonly List<(ECDsa Key, bool Published)> previous = [];

    public FeedMode Mode { get; set; }
    public PageSigning Signing { get; set; }
    public List<string> Requests { get; } = [];
    public int KeyRequests;

    /// <summary>The key that signs pages now.</summary>
    public ECDsa SigningKey { get; private set; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The current key's public half, PEM, for a follower that pins it.</summary>
    public string PublicPem(ECDsa? key = null) => PemEncoding.WriteString("PUBLIC KEY", (key ?? SigningKey).ExportSubjectPublicKeyInfo());

    /// <summary>Signs with a new key from now on; the old one stays published (a rotation) unless <paramref name="publishOld"/> is false.</summary>
    public ECDsa Rotate(bool publishOld = true)
    {
        var old = SigningKey;
        previous.Add((old, publishOld));
        SigningKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return old;
    }

    /// <summary>Names the signing key by this id in signatures and in the key set instead of its own (a mislabelled key).</summary>
    public string? KeyIdOverride { get; set; }

    /// <summary>Signs with this (old) key again, as a host not yet rotated would.</summary>
    public ECDsa? SignWith { get; set; }
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
        app.MapGet("/v1/signals/keys", (HttpContext context) => server!.ServeKeys(context));
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
                await WriteSignedAsync(context, "{\"signals\":[{\"seq\":");
                return;
            case FeedMode.Hang:
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                return;
        }
        var from = Mode == FeedMode.RepeatFromStart ? 0 : after;
        var page = Enumerable.Range(0, seqs.Count).Where(i => seqs[i] > from).Take(limit).ToList();
        var next = page.Count > 0 ? seqs[page[^1]] : after;
        if (Mode == FeedMode.Backwards && page.Count > 0) next = seqs[page[0]] - 1;
        await WriteSignedAsync(context, JsonSerializer.Serialize(new
        {
            signals = page.Select(i => signals[i]),
            nextCursor = next.ToString(CultureInfo.InvariantCulture),
        }));
    }

    private async Task WriteSignedAsync(HttpContext context, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var request = context.Request;
        var query = Signing == PageSigning.OtherRequest ? $"?after=0&limit={request.Query["limit"]}" : request.QueryString.Value ?? "";
        var message = new FeedMessage(request.Method, request.Path.ToUriComponent(), query, 200);
        var key = Signing == PageSigning.UnknownKey ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : SignWith ?? SigningKey;
        var headers = FeedSignature.Sign(key, KeyIdOverride ?? FeedKeys.KeyIdOf(key), message, body, DateTimeOffset.UtcNow);
        if (Signing != PageSigning.Unsigned)
        {
            context.Response.Headers[FeedSignature.ContentDigestHeader] = headers.ContentDigest;
            context.Response.Headers[FeedSignature.SignatureInputHeader] = headers.SignatureInput;
            context.Response.Headers[FeedSignature.SignatureHeader] = headers.Signature;
        }
        if (Signing == PageSigning.TamperedBody) body = Encoding.UTF8.GetBytes(json.Replace("\"ineligible\"", "\"none\"", StringComparison.Ordinal));
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body);
    }

    private async Task ServeKeys(HttpContext context)
    {
        Interlocked.Increment(ref KeyRequests);
        var keys = new[] { (Key: SigningKey, Current: true) }.Concat(previous.Where(p => p.Published).Select(p => (p.Key, Current: false)))
            .Select(k => new FeedPublicKey(k.Current && KeyIdOverride is not null ? KeyIdOverride : FeedKeys.KeyIdOf(k.Key), FeedSignature.Algorithm,
                PublicPem(k.Key), null, k.Current, null))
            .ToList();
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new FeedKeySet(keys), JsonSerializerOptions.Web));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
