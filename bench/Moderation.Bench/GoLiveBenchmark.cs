using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moderation.Core.Hosting;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;

namespace Moderation.Bench;

/// <summary>
/// Going live reaches every worker within 5 s (issue 14's target), measured: an API host that scores nothing and
/// <c>--workers</c> stand-alone worker hosts (3 unless given; one Hangfire worker each) on one database, SQLite and, when
/// MODERATION_BENCH_POSTGRES holds an admin connection string, PostgreSQL. Uploads stream in through the API (one every
/// 10 ms, fixed-cost scorer); <c>--rounds</c> times (20 unless given) a new version goes live, at a random moment, and
/// for each worker the time from the go-live call to the first batch it routes by the new version is recorded (from
/// the call's start, so the commit itself is included). Also counted: batches whose policy read started after the call
/// returned and still routed by an older version ("stale", which must be 0: nothing caches the live version).
/// </summary>
internal static class GoLiveBenchmark
{
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(10);

    private sealed record BatchRead(string Worker, long StartedAt, long ReturnedAt, string Live);

    private sealed class RecordingSource(PolicyVersions inner, string worker, ConcurrentQueue<BatchRead> reads) : IRoutingPolicySource
    {
        public Task<RoutingPolicy> LiveAsync(CancellationToken ct) => inner.LiveAsync(ct);

        public async Task<RoutingPolicies> CurrentAsync(CancellationToken ct)
        {
            var started = Stopwatch.GetTimestamp();
            var current = await inner.CurrentAsync(ct);
            reads.Enqueue(new BatchRead(worker, started, Stopwatch.GetTimestamp(), current.Live.Version));
            return current;
        }
    }

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var workers = options.Workers == new BenchOptions().Workers ? 3 : options.Workers;
        var flips = options.Rounds == new BenchOptions().Rounds ? 20 : options.Rounds;
        Console.WriteLine($"golive: {workers} worker hosts on one database, {flips} versions going live while an upload arrives every {Pace.TotalMilliseconds} ms");
        Console.WriteLine($"{"database",-9} {"flips",5} {"workers",7} {"p50 ms",7} {"p95 ms",7} {"max ms",7} {"commit p50 ms",13} {"stale",5} {"batches",7}");
        var parts = new List<string>();
        var failed = false;
        foreach (var (provider, admin) in BenchDatabase.Providers(parts))
        {
            var r = await MeasureAsync(options, provider, admin, workers, flips);
            var name = provider == DatabaseProvider.Sqlite ? "sqlite" : "postgres";
            Console.WriteLine($"{name,-9} {flips,5} {workers,7} {P(r.Latencies, 50),7} {P(r.Latencies, 95),7} {Measure.F(r.Latencies.Max(), "0"),7} {P(r.Commits, 50),13} {r.Stale,5} {r.Batches,7}");
            parts.Add($"{name}_p50_ms={P(r.Latencies, 50)} {name}_p95_ms={P(r.Latencies, 95)} {name}_max_ms={Measure.F(r.Latencies.Max(), "0")} {name}_stale={r.Stale}");
            failed |= r.Latencies.Max() >= 5000 || r.Stale > 0;
        }
        Console.WriteLine($"golive: workers={workers} flips={flips} {string.Join(" ", parts)} target_5s={(failed ? "missed" : "met")}");
        return failed ? 1 : 0;
    }

    private sealed record Result(List<double> Latencies, List<double> Commits, int Stale, int Batches);

    private static async Task<Result> MeasureAsync(BenchOptions options, DatabaseProvider provider, string? admin, int workerCount, int flips)
    {
        var settings = new Dictionary<string, string> { ["Moderation:Worker:InProcess"] = "false" };
        Func<Task> drop = () => Task.CompletedTask;
        if (provider == DatabaseProvider.Postgres)
        {
            var (database, dropDatabase) = await BenchDatabase.CreateAsync(provider, admin);
            drop = dropDatabase;
            settings["Moderation:Database:Provider"] = "Postgres";
            settings["Moderation:Database:ConnectionString"] = database.ConnectionString;
        }
        var reads = new ConcurrentQueue<BatchRead>();
        var workers = new List<IHost>();
        BenchHost? api = null;
        try
        {
            api = await BenchHost.StartAsync(options, settings);
            for (var w = 0; w < workerCount; w++) workers.Add(await StartWorkerAsync(api.Directory, settings, $"w{w + 1}", reads));
            var policies = api.Services.GetRequiredService<PolicyVersions>();

            using var client = api.CreateClient(4);
            using var stop = new CancellationTokenSource();
            var posted = 0;
            var stream = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var i = Interlocked.Increment(ref posted);
                    using var response = await client.PostAsJsonAsync("/v1/uploads", new { externalId = $"golive-{i}", caption = $"clip {i}", creatorId = $"c{i % 50}" });
                    response.EnsureSuccessStatusCode();
                    try { await Task.Delay(Pace, stop.Token); } catch (OperationCanceledException) { }
                }
            });

            // Every worker has routed a batch before the first flip.
            await WaitAsync(() => reads.Select(r => r.Worker).Distinct().Count() == workerCount, "every worker routing");

            var latencies = new List<double>();
            var commits = new List<double>();
            var stale = 0;
            var random = new Random(options.Seed);
            for (var f = 0; f < flips; f++)
            {
                var version = $"golive-{f}";
                await policies.CreateDraftAsync(version, new RoutingPolicyOptions { Default = new CategoryThresholds { Review = 0.5 + f / 1000.0, Action = 0.95 } },
                    null, null, "cli:bench", CancellationToken.None);
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 500)));
                var calling = Stopwatch.GetTimestamp();
                await policies.SetStateAsync(version, PolicyStates.Live, "cli:bench", "bench golive", CancellationToken.None);
                var committed = Stopwatch.GetTimestamp();
                commits.Add(Stopwatch.GetElapsedTime(calling, committed).TotalMilliseconds);
                await WaitAsync(() => reads.Where(r => r.Live == version).Select(r => r.Worker).Distinct().Count() == workerCount, $"every worker routing by {version}");
                foreach (var worker in workers.Select((_, w) => $"w{w + 1}"))
                {
                    var first = reads.Where(r => r.Worker == worker && r.Live == version).MinBy(r => r.ReturnedAt)!;
                    latencies.Add(Stopwatch.GetElapsedTime(calling, first.ReturnedAt).TotalMilliseconds);
                }
                stale += reads.Count(r => r.StartedAt > committed && r.Live != version && !IsLater(r.Live, version));
            }
            stop.Cancel();
            await stream;
            return new Result(latencies, commits, stale, reads.Count);
        }
        finally
        {
            // The workers first: the API host deletes the data directory they share.
            foreach (var worker in workers)
            {
                await worker.StopAsync();
                worker.Dispose();
            }
            if (api is not null) await api.DisposeAsync();
            await drop();
        }
    }

    /// <summary>Whether <paramref name="read"/> names a version that went live after <paramref name="version"/> (golive-N, by N).</summary>
    private static bool IsLater(string read, string version) =>
        read.StartsWith("golive-", StringComparison.Ordinal) && int.Parse(read["golive-".Length..]) > int.Parse(version["golive-".Length..]);

    private static async Task<IHost> StartWorkerAsync(string dataDirectory, IDictionary<string, string> shared, string name, ConcurrentQueue<BatchRead> reads)
    {
        var settings = new Dictionary<string, string?>(shared.ToDictionary(kv => kv.Key, kv => (string?)kv.Value))
        {
            ["Moderation:DataDirectory"] = dataDirectory,
            ["Moderation:Worker:WorkerCount"] = "1",
            ["Moderation:Worker:QueuePollInterval"] = "00:00:00.100",
            ["Moderation:Scoring:Text:Enabled"] = "false",
            ["Moderation:Scoring:Media:Enabled"] = "false",
            ["Moderation:Scoring:Images:Enabled"] = "false",
            ["Moderation:Scoring:Ocr:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = dataDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddModerationCore(builder.Configuration, bootstrapAccess: false);
        builder.Services.AddModerationJobServer();
        builder.Services.AddSingleton<IUploadScorer>(new FixedCostScorer(1000, 100));
        builder.Services.AddSingleton<IRoutingPolicySource>(sp => new RecordingSource(sp.GetRequiredService<PolicyVersions>(), name, reads));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task WaitAsync(Func<bool> done, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!done())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"waited 60 s for {what}");
            await Task.Delay(5);
        }
    }

    private static string P(List<double> values, int percentile)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1;
        return Measure.F(sorted[Math.Clamp(rank, 0, sorted.Length - 1)], "0");
    }
}
