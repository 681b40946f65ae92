using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Api.Hosting;
using Moderation.Core.Storage;

namespace Moderation.Bench;

/// <summary>The real API host on the embedded default (SQLite, in-process workers) in a scratch data directory.</summary>
public sealed class BenchHost : IAsyncDisposable
{
    public const string AdminKey = "bench-admin-key-0123456789abcdef";

    private readonly WebApplication app;
    private readonly string directory;
    private readonly bool keep;

    private BenchHost(WebApplication app, string directory, bool keep)
    {
        this.app = app;
        this.directory = directory;
        this.keep = keep;
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public Uri BaseAddress { get; }
    public IServiceProvider Services => app.Services;
    public ModerationDatabase Database => app.Services.GetRequiredService<ModerationDatabase>();
    public string Directory => directory;

    public static async Task<BenchHost> StartAsync(BenchOptions options, IDictionary<string, string> settings,
        Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? map = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "moderation-bench", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var config = new Dictionary<string, string>
        {
            ["Moderation:DataDirectory"] = directory,
            ["Moderation:Bootstrap:ApiKey"] = AdminKey,
            ["Moderation:Bootstrap:AdminPassword"] = "bench-admin-password",
            ["Logging:LogLevel:Default"] = "Warning",
            // The benchmarks measure throughput from one key; the per-key limit would measure itself.
            ["Moderation:RateLimits:UploadsPerSecondPerKey"] = "0",
            // Benchmarks choose their scorer; the pipeline benchmark turns the text scorer on when it measures it.
            ["Moderation:Scoring:Text:Enabled"] = "false",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        };
        foreach (var (k, v) in settings) config[k] = v;
        var app = ModerationApi.Build(config.Select(kv => $"--{kv.Key}={kv.Value}").Append("--urls=http://127.0.0.1:0").ToArray(), configure);
        map?.Invoke(app);
        await app.StartAsync();
        return new BenchHost(app, directory, options.Keep);
    }

    public HttpClient CreateClient(int connections)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromMinutes(2),
        };
        client.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!keep)
        {
            try { System.IO.Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        }
    }
}
