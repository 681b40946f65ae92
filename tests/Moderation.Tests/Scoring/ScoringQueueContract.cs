using System.Text.Json;
using Dapper;
using FluentAssertions;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Scoring;

/// <summary>
/// Hangfire is the one scoring queue: a job's uploads are its batch, a job run twice stores nothing twice, a failing
/// job is retried by Hangfire and, after its last attempt, stays Failed in the dashboard with its uploads
/// <c>failed</c> and re-runnable by requeueing it; an upload stored without a job is enqueued by the recovery.
/// </summary>
public abstract class ScoringQueueContract(DatabaseProvider provider)
{
    // Statements of the test's own, as DialectSql so the SQL Server parse check reads them too.
    private static readonly DialectSql JobIdOf = DialectSql.Portable("SELECT scoring_job_id FROM uploads WHERE id = @id");
    private static readonly DialectSql ForgetJob = DialectSql.Portable("UPDATE uploads SET scoring_job_id = NULL WHERE id = @id");
    private static readonly DialectSql Backdate = DialectSql.Portable("UPDATE uploads SET enqueued_at_ms = enqueued_at_ms - @ms WHERE id = @id");
    private static readonly DialectSql Heal = DialectSql.Portable("UPDATE uploads SET caption = 'healed' WHERE id = @id");
    private static readonly DialectSql CountRows = DialectSql.Portable("""
        SELECT (SELECT COUNT(*) FROM scores WHERE upload_id = @id) AS scores,
               (SELECT COUNT(*) FROM routing_decisions WHERE upload_id = @id) AS routes,
               (SELECT COUNT(*) FROM risk_signals WHERE upload_id = @id) AS signals,
               (SELECT COUNT(*) FROM audit_events WHERE subject_id = @id AND action = 'upload.routed') AS routed
        """);

    private static int Categories => MarkupScorer.Categories.Length;

    private static async Task<T?> ScalarAsync<T>(TestApi api, DialectSql sql, object args)
    {
        await using var connection = await api.Database.OpenAsync();
        return await connection.ExecuteScalarAsync<T>(api.Database.Sql(sql), args);
    }

    /// <summary>Scores, routing decisions, signals and routing events stored for the upload.</summary>
    private static async Task<string> RowsOfAsync(TestApi api, string id)
    {
        await using var connection = await api.Database.OpenAsync();
        var row = (IDictionary<string, object>)await connection.QuerySingleAsync(api.Database.Sql(CountRows), new { id });
        return string.Join(' ', new[] { "scores", "routes", "signals", "routed" }.Select(k => $"{k}={Convert.ToInt64(row[k])}"));
    }

    private static string OnceEach => $"scores={Categories} routes={Categories} signals={Categories} routed=1";

    private static async Task ExecuteAsync(TestApi api, DialectSql sql, object args)
    {
        await using var connection = await api.Database.OpenAsync();
        await connection.ExecuteAsync(api.Database.Sql(sql), args);
    }

    [Fact]
    public async Task A_job_run_twice_or_twice_at_once_stores_nothing_twice()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var api = await TestApi.StartAsync(database, withScorer: true, new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
            ids.Add((await api.PostUploadAsync(new { externalId = $"twice-{i}", caption = "[harm=0.7]" })).GetProperty("id").GetString()!);

        var job = api.Services.GetRequiredService<ScoringJob>();
        var batch = ids.ToArray();
        await Task.WhenAll(Task.Run(() => job.ScoreAsync(batch, 1, 0, CancellationToken.None)), Task.Run(() => job.ScoreAsync(batch, 1, 0, CancellationToken.None)));
        await job.ScoreAsync(batch, 2, 0, CancellationToken.None);

        foreach (var id in ids)
        {
            (await api.GetUploadAsync(id)).GetProperty("status").GetString().Should().Be("in_review");
            (await RowsOfAsync(api, id)).Should().Be(OnceEach, "one score, routing decision and signal per category and one routing event per upload");
        }
    }

    [Fact]
    public async Task A_failing_job_is_retried_by_Hangfire_then_stays_Failed_with_its_upload_failed_and_a_requeue_scores_it()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var api = await TestApi.StartAsync(database, withScorer: true);
        var id = (await api.PostUploadAsync(new { externalId = "poison", caption = "[fail]" })).GetProperty("id").GetString()!;
        var jobId = await JobIdAsync(api, id);

        var storage = api.Services.GetRequiredService<JobStorage>();
        var client = api.Services.GetRequiredService<IBackgroundJobClient>();
        string State() => storage.GetMonitoringApi().JobDetails(jobId!).History[0].StateName;
        int Retries() { using var c = storage.GetConnection(); return int.TryParse(c.GetJobParameter(jobId!, "RetryCount"), out var n) ? n : 0; }

        // Each failure is a retry Hangfire schedules (with its back-off); the test does not wait it out, it requeues.
        for (var retry = 1; retry <= ScoringJob.Retries; retry++)
        {
            await WaitForAsync(() => State() == ScheduledState.StateName && Retries() == retry, $"retry {retry} scheduled");
            var upload = await api.GetUploadAsync(id);
            upload.GetProperty("status").GetString().Should().Be("queued", "an upload is only given up on after the last attempt");
            upload.GetProperty("lastError").GetString().Should().Contain("told to fail");
            upload.GetProperty("scoringAttempts").GetInt32().Should().Be(retry);
            client.Requeue(jobId!).Should().BeTrue();
        }
        await WaitForAsync(() => State() == FailedState.StateName, "the job failed for good");

        var failed = await api.GetUploadAsync(id);
        failed.GetProperty("status").GetString().Should().Be("failed");
        failed.GetProperty("scoringAttempts").GetInt32().Should().Be(ScoringJob.Retries + 1);
        failed.GetProperty("lastError").GetString().Should().Contain("told to fail");
        storage.GetMonitoringApi().FailedCount().Should().Be(1, "the dashboard shows the failed job; nothing deleted it");

        // Fixed (here: the caption no longer makes the scorer throw), the failed job is requeued and scores the upload.
        await ExecuteAsync(api, Heal, new { id });
        client.Requeue(jobId!).Should().BeTrue();
        await WaitForAsync(() => State() == SucceededState.StateName, "the requeued job succeeded");
        (await api.GetUploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");
        (await RowsOfAsync(api, id)).Should().Be(OnceEach);
    }

    [Fact]
    public async Task After_a_run_lost_with_its_worker_uploads_are_scored_one_at_a_time_and_after_three_the_rest_are_given_up()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var marker = Path.Combine(database.Directory, "batches");
        await using var api = await TestApi.StartAsync(database, withScorer: true, new Dictionary<string, string?>
        {
            ["Moderation:Worker:InProcess"] = "false",
            ["TestScorers:StartedMarker"] = marker,
        });
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
            ids.Add((await api.PostUploadAsync(new { externalId = $"lost-run-{i}", caption = "fine" })).GetProperty("id").GetString()!);
        var job = api.Services.GetRequiredService<ScoringJob>();

        // One lost run: the first three uploads are scored and stored each on its own.
        await job.ScoreAsync(ids.Take(3).ToArray(), 1, lostRuns: 1, CancellationToken.None);
        File.ReadAllLines(marker).Should().Equal("1", "1", "1");
        foreach (var id in ids.Take(3)) (await api.GetUploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");

        // Three lost runs: the job gives up on what is left, and Hangfire is told not to retry.
        var act = () => job.ScoreAsync(ids.ToArray(), 1, lostRuns: ScoringJob.MaxLostRuns, CancellationToken.None);
        (await act.Should().ThrowAsync<ScoringAbandonedException>()).Which.UploadIds.Should().BeEquivalentTo(ids.Skip(3));
        foreach (var id in ids.Skip(3))
        {
            var upload = await api.GetUploadAsync(id);
            upload.GetProperty("status").GetString().Should().Be("failed");
            upload.GetProperty("lastError").GetString().Should().Contain("worker stopped");
        }
        File.ReadAllLines(marker).Should().HaveCount(3, "nothing was scored in the run that gave up");
    }

    [Fact]
    public async Task An_upload_stored_without_a_job_is_enqueued_by_the_recovery_or_by_its_repeat()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var api = await TestApi.StartAsync(database, withScorer: true, new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });
        var lost = (await api.PostUploadAsync(new { externalId = "lost", caption = "fine" })).GetProperty("id").GetString()!;
        var repeated = (await api.PostUploadAsync(new { externalId = "repeated", caption = "fine" })).GetProperty("id").GetString()!;
        await JobIdAsync(api, lost);
        await JobIdAsync(api, repeated);
        // As if the host had stopped between the commit and the enqueue.
        await ExecuteAsync(api, ForgetJob, new { id = lost });
        await ExecuteAsync(api, ForgetJob, new { id = repeated });

        (await api.PostUploadAsync(new { externalId = "repeated", caption = "fine" }, System.Net.HttpStatusCode.OK))
            .GetProperty("id").GetString().Should().Be(repeated);
        await JobIdAsync(api, repeated); // the client's repeat enqueued it
        (await ScalarAsync<string>(api, JobIdOf, new { id = lost })).Should().BeNull();

        var dispatcher = api.Services.GetRequiredService<ScoringDispatcher>();
        (await dispatcher.EnqueueUnenqueuedAsync(CancellationToken.None)).Should().Be(1);
        (await dispatcher.EnqueueUnenqueuedAsync(CancellationToken.None)).Should().Be(0, "the recovered upload has its job now");
        var jobId = await ScalarAsync<string>(api, JobIdOf, new { id = lost });
        var job = api.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(jobId!);
        job.History[0].StateName.Should().Be(EnqueuedState.StateName);
        ((string[])job.Job.Args[0]).Should().Equal([lost]);
    }

    [Fact]
    public async Task The_recurring_job_enqueues_uploads_stranded_for_over_a_minute_and_leaves_fresh_ones_to_the_dispatcher()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var api = await TestApi.StartAsync(database, withScorer: true, new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });
        var stranded = (await api.PostUploadAsync(new { externalId = "stranded", caption = "fine" })).GetProperty("id").GetString()!;
        await JobIdAsync(api, stranded);
        await ExecuteAsync(api, ForgetJob, new { id = stranded });

        var dispatcher = api.Services.GetRequiredService<ScoringDispatcher>();
        await dispatcher.EnqueueStrandedAsync();
        (await ScalarAsync<string>(api, JobIdOf, new { id = stranded })).Should().BeNull("an upload stored moments ago may still be on its way to the dispatcher");

        await ExecuteAsync(api, Backdate, new { id = stranded, ms = (long)ScoringDispatcher.StrandedAfter.TotalMilliseconds + 1000 });
        await dispatcher.EnqueueStrandedAsync();
        (await ScalarAsync<string>(api, JobIdOf, new { id = stranded })).Should().NotBeNull("stranded for over a minute: enqueued");

        // Every host schedules the recurring job at start-up (one schedule, whichever host wrote it last).
        using var connection = api.Services.GetRequiredService<JobStorage>().GetConnection();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection).Any(j => j.Id == ScoringDispatcher.StrandedJobId) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection).Should().Contain(j => j.Id == ScoringDispatcher.StrandedJobId && j.Cron == Cron.Minutely());
    }

    [Fact]
    public async Task While_scoring_jobs_wait_for_a_worker_uploads_gather_into_one_job_and_an_idle_queue_gets_one_at_once()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        // No job server: the first job stays waiting, as behind a busy worker.
        await using var api = await TestApi.StartAsync(database, withScorer: true, new Dictionary<string, string?>
        {
            ["Moderation:Worker:InProcess"] = "false",
            ["Moderation:Scoring:DispatchDelay"] = "00:00:05",
        });
        var first = (await api.PostUploadAsync(new { externalId = "gather-first", caption = "fine" })).GetProperty("id").GetString()!;
        var started = DateTime.UtcNow;
        var firstJob = await JobIdAsync(api, first);
        (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(4), "nothing waited: the upload's job was enqueued at once");

        var ids = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
            (await api.PostUploadAsync(new { externalId = $"gather-{i}", caption = "fine" })).GetProperty("id").GetString()!));
        var jobIds = new HashSet<string>();
        foreach (var id in ids) jobIds.Add(await JobIdAsync(api, id));
        jobIds.Should().ContainSingle("uploads that arrive while a job waits join one batch").Which.Should().NotBe(firstJob);
        var job = api.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(jobIds.Single());
        ((string[])job.Job.Args[0]).Should().BeEquivalentTo(ids);
    }

    /// <summary>The id of the job the dispatcher enqueued for the upload, once it has.</summary>
    private static async Task<string> JobIdAsync(TestApi api, string id)
    {
        string? jobId = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((jobId = await ScalarAsync<string>(api, JobIdOf, new { id })) is null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"upload {id} got no scoring job");
            await Task.Delay(20);
        }
        return jobId;
    }

    private static async Task WaitForAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteScoringQueueTests() : ScoringQueueContract(DatabaseProvider.Sqlite);

[Collection(HostCollection.Name)]
public sealed class PostgresScoringQueueTests() : ScoringQueueContract(DatabaseProvider.Postgres);

[Collection(HostCollection.Name)]
public sealed class SqlServerScoringQueueTests() : ScoringQueueContract(DatabaseProvider.SqlServer);
