using System.Collections.Concurrent;
using System.Diagnostics;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moderation.Core.Hosting;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Policies;

/// <summary>
/// Going live reaches every worker with its next batch: an API host that scores nothing and two stand-alone worker
/// hosts on one database; after the flip commits, every batch any worker starts routes by the new version, and each
/// worker routes one. Correctness only: how long that takes is measured by <c>bench golive</c>, not asserted here.
/// </summary>
public abstract class GoLivePropagationContract(DatabaseProvider provider)
{
    /// <summary>The policy read of one scoring batch on one worker: when it started and which version it routed by.</summary>
    public sealed record BatchRead(string Worker, long StartedAt, string Live, IReadOnlyList<string> Shadows);

    /// <summary>The worker's policy source, recording each batch's read (one per batch).</summary>
    private sealed class RecordingSource(PolicyVersions inner, string worker, ConcurrentQueue<BatchRead> reads) : IRoutingPolicySource
    {
        public Task<RoutingPolicy> LiveAsync(CancellationToken ct) => inner.LiveAsync(ct);

        public async Task<RoutingPolicies> CurrentAsync(CancellationToken ct)
        {
            var started = Stopwatch.GetTimestamp();
            var current = await inner.CurrentAsync(ct);
            reads.Enqueue(new BatchRead(worker, started, current.Live.Version, current.Shadows.Select(s => s.Version).ToList()));
            return current;
        }
    }

    private static async Task<IHost> StartWorkerAsync(TestDatabase database, string name, ConcurrentQueue<BatchRead> reads)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Moderation:DataDirectory"] = database.Directory,
            ["Moderation:Database:Provider"] = database.Provider.ToString(),
            ["Moderation:Database:ConnectionString"] = database.ConnectionString,
            ["Moderation:Worker:QueuePollInterval"] = "00:00:00.050",
            ["Moderation:Worker:WorkerCount"] = "1",
            ["Moderation:Scoring:Text:Enabled"] = "false",
            ["Moderation:Scoring:Media:Enabled"] = "false",
            ["Moderation:Scoring:Images:Enabled"] = "false",
            ["Moderation:Scoring:Ocr:Enabled"] = "false",
            // A batch takes a moment, so the other worker takes the next job.
            ["TestScorers:DelayMsPerItem"] = "20",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = database.Directory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddModerationCore(builder.Configuration, bootstrapAccess: false);
        builder.Services.AddModerationJobServer();
        builder.Services.AddSingleton<IUploadScorer, MarkupScorer>();
        builder.Services.AddSingleton<IRoutingPolicySource>(sp => new RecordingSource(sp.GetRequiredService<PolicyVersions>(), name, reads));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    [Fact]
    public async Task After_going_live_commits_every_batch_on_every_worker_routes_by_the_new_version_and_the_shadow_leaves_with_it()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var api = await TestApi.StartAsync(database, withScorer: false, new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });
        var reads = new ConcurrentQueue<BatchRead>();
        var workers = new List<IHost>();
        try
        {
            workers.Add(await StartWorkerAsync(database, "w1", reads));
            workers.Add(await StartWorkerAsync(database, "w2", reads));
            var policies = api.Services.GetRequiredService<PolicyVersions>();
            var seed = (await policies.LiveVersionAsync(CancellationToken.None))!.Version;
            await policies.CreateDraftAsync("next", new RoutingPolicyOptions { Default = new CategoryThresholds { Review = 0.3, Action = 0.95 } }, null, null, "user:alice", CancellationToken.None);
            await policies.SetStateAsync("next", PolicyStates.Shadow, "user:alice", "compare first", CancellationToken.None);

            var posted = new List<string>();
            var run = Guid.NewGuid().ToString("N")[..8];
            async Task StreamUntilAsync(Func<bool> done, string wave)
            {
                var deadline = Stopwatch.StartNew();
                for (var i = 0; !done(); i++)
                {
                    deadline.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(90), $"both workers should route batches ({wave})");
                    posted.Add((await api.PostUploadAsync(new { externalId = $"{wave}-{run}-{i}", caption = "[harm=0.4] borderline" })).GetProperty("id").GetString()!);
                    await Task.Delay(25);
                }
            }

            // Before: both workers route by the seed, with 'next' in shadow.
            await StreamUntilAsync(() => reads.Select(r => r.Worker).Distinct().Count() == 2, "before");
            reads.Should().OnlyContain(r => r.Live == seed && r.Shadows.SequenceEqual(new[] { "next" }));

            await policies.SetStateAsync("next", PolicyStates.Live, "user:bob", "go", CancellationToken.None);
            var committed = Stopwatch.GetTimestamp();
            await StreamUntilAsync(() => reads.Where(r => r.StartedAt > committed).Select(r => r.Worker).Distinct().Count() == 2, "after");

            var afterFlip = reads.Where(r => r.StartedAt > committed).ToList();
            afterFlip.Select(r => r.Worker).Distinct().Should().BeEquivalentTo(["w1", "w2"], "each worker routed a batch after the flip");
            afterFlip.Should().OnlyContain(r => r.Live == "next" && r.Shadows.Count == 0, "nothing keeps the old live version (or the old shadow) past the commit");

            foreach (var id in posted) await api.WaitUntilRoutedAsync(id);
            await using var connection = await api.Database.OpenAsync();
            var versions = (await connection.QueryAsync<string>("SELECT DISTINCT policy_version FROM routing_decisions")).ToList();
            versions.Should().BeSubsetOf([seed, "next"]);
            var shadowVersions = (await connection.QueryAsync<string>("SELECT DISTINCT live_policy_version FROM shadow_routing_decisions")).ToList();
            shadowVersions.Should().Equal([seed], "shadow rows were written only while 'next' was in shadow");
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.StopAsync();
                worker.Dispose();
            }
        }
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteGoLivePropagationTests() : GoLivePropagationContract(DatabaseProvider.Sqlite);

[Collection(HostCollection.Name)]
public sealed class PostgresGoLivePropagationTests() : GoLivePropagationContract(DatabaseProvider.Postgres);
