using Dapper;
using FluentAssertions;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Processes;

/// <summary>
/// A stand-alone worker is killed (SIGKILL) in the middle of a scoring batch and started again: Hangfire hands the
/// job it held to the new worker, no upload is lost and no score, routing, signal or audit event is stored twice.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class WorkerKillTests
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Killing_a_worker_mid_batch_loses_nothing_and_duplicates_nothing(DatabaseProvider provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        // The API only takes uploads; the stand-alone worker does all the scoring.
        await using var api = await TestApi.StartAsync(database, withScorer: false,
            new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });

        const int count = 40;
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            (await api.PostUploadAsync(new { externalId = $"kill-{i}", caption = i % 4 == 0 ? "[harm=0.7]" : "fine" })).GetProperty("id").GetString()!));

        var marker = Path.Combine(database.Directory, "batch-started");
        var environment = ProcessEnvironment.For(database, api.AdminKey,
            ("TestScorers__DelayMsPerItem", "150"),
            ("TestScorers__StartedMarker", marker),
            ("Moderation__Worker__WorkerCount", "1"),
            // Hangfire makes the dead worker's job visible again after this long, and the next worker runs it.
            ("Moderation__Worker__InvisibilityTimeout", "00:00:05"));
        var worker = ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll");

        await using (var first = ChildProcess.Start(worker, environment))
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (!File.Exists(marker) && DateTime.UtcNow < deadline && !first.HasExited) await Task.Delay(20);
            File.Exists(marker).Should().BeTrue("the worker should have started a batch:\n" + first.Output);
            first.Kill();
        }
        var routedBeforeRestart = await CountAsync(database, "SELECT COUNT(*) FROM uploads WHERE status <> 'queued'");
        routedBeforeRestart.Should().BeLessThan(count, "the batch in flight was cut off before it could commit");

        await using (var second = ChildProcess.Start(worker, environment))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (await CountAsync(database, "SELECT COUNT(*) FROM uploads WHERE status = 'queued'") > 0 && DateTime.UtcNow < deadline)
            {
                second.HasExited.Should().BeFalse(second.Output);
                await Task.Delay(200);
            }
            (await CountAsync(database, "SELECT COUNT(*) FROM uploads WHERE status = 'queued'")).Should().Be(0, second.Output);
        }

        var categories = MarkupScorer.Categories.Length;
        (await CountAsync(database, "SELECT COUNT(*) FROM uploads")).Should().Be(count);
        (await CountAsync(database, "SELECT COUNT(*) FROM scores")).Should().Be(count * categories);
        (await CountAsync(database, "SELECT COUNT(*) FROM routing_decisions")).Should().Be(count * categories);
        (await CountAsync(database, "SELECT COUNT(*) FROM risk_signals")).Should().Be(count * categories);
        (await CountAsync(database, "SELECT COUNT(*) FROM audit_events WHERE action = 'upload.routed'")).Should().Be(count);
        (await api.ReadAllSignalsAsync()).Select(s => s.GetProperty("uploadId").GetString()).Distinct().Should().BeEquivalentTo(ids);
        File.ReadAllLines(marker).Length.Should().BeGreaterThan(1, "the cut-off batch was scored again after the restart");
    }

    private static async Task<long> CountAsync(TestDatabase database, string sql)
    {
        await using var connection = await database.Database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql);
    }
}
