using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Storage;

/// <summary>
/// What every database must do, written once; a one-line subclass per provider runs it. Each test gets a fresh
/// database; a provider whose server is not configured reports its tests as skipped.
/// </summary>
public abstract class StorageContract(DatabaseProvider provider)
{
    private async Task<(TestDatabase Test, ModerationDatabase Db)> MigratedAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        var db = test.Database;
        await new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return (test, db);
    }

    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, caption, hashtags, comments, status, received_at_ms, enqueued_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, @Caption, '[]', '[]', 'queued', 1, 1, 1)
        """);

    private static async Task<string> InsertUploadAsync(ModerationDatabase db, string externalId, string caption = "c")
    {
        var id = Guid.CreateVersion7().ToString();
        await using var connection = await db.OpenAsync();
        await connection.ExecuteAsync(db.Sql(InsertUpload), new { Id = id, ExternalId = externalId, Caption = caption });
        return id;
    }

    [Fact]
    public async Task Migrations_apply_once_and_a_second_run_applies_nothing()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await using var _ = test;
        var migrator = new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance);
        (await migrator.PendingAsync()).Should().NotBeEmpty();
        (await migrator.MigrateAsync()).Should().NotBeEmpty();
        (await migrator.MigrateAsync()).Should().BeEmpty();
        (await migrator.PendingAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Concurrent_migrators_do_not_race()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await using var _ = test;
        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            Task.Run(() => new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync())));
        runs.Sum(r => r.Count).Should().Be(DatabaseMigrator.Load(test.Database.Dialect).Count);
    }

    [Fact]
    public async Task A_duplicate_external_id_is_recognised_as_a_unique_violation()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        await InsertUploadAsync(db, "same");
        var act = () => InsertUploadAsync(db, "same");
        (await act.Should().ThrowAsync<DbException>()).Which.Should().Match<DbException>(e => db.Dialect.IsUniqueViolation(e));
    }

    [Fact]
    public async Task Hostile_strings_are_stored_and_read_back_verbatim()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        const string hostile = "'); DROP TABLE uploads; -- <script>alert(1)</script> ../../etc/passwd \u202e ü 😀";
        var id = await InsertUploadAsync(db, hostile, hostile);
        var details = await new UploadDetailsQuery(db).FindAsync(id, CancellationToken.None);
        details!.ExternalId.Should().Be(hostile);
        await using var connection = await db.OpenAsync();
        (await connection.ExecuteScalarAsync<string>("SELECT caption FROM uploads WHERE id = @id", new { id })).Should().Be(hostile);
    }

    [Fact]
    public async Task The_signal_feed_pages_in_order_and_ignores_a_repeated_idempotency_key()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        var upload = await InsertUploadAsync(db, "ext-1");
        var signals = Enumerable.Range(0, 5).Select(i => Signal(upload, $"k{i}")).ToList();
        (await AppendAsync(db, signals)).Should().Be(5);
        (await AppendAsync(db, signals.Take(2).ToList())).Should().Be(0, "a retried job appends nothing new");

        var first = await SignalFeed.ReadAsync(db, 0, 3, CancellationToken.None);
        first.Signals.Should().HaveCount(3);
        var second = await SignalFeed.ReadAsync(db, first.NextCursor, 3, CancellationToken.None);
        second.Signals.Should().HaveCount(2);
        var end = await SignalFeed.ReadAsync(db, second.NextCursor, 3, CancellationToken.None);
        end.Signals.Should().BeEmpty();
        end.NextCursor.Should().Be(second.NextCursor, "an empty page keeps the cursor");
        first.Signals.Concat(second.Signals).Select(s => s.Seq).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        first.Signals[0].ExternalId.Should().Be("ext");
    }

    [Fact]
    public async Task A_consumer_reading_while_many_writers_append_sees_every_signal_exactly_once()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        var upload = await InsertUploadAsync(db, "ext-c");
        const int writers = 6, batches = 15, perBatch = 4;
        var seen = new ConcurrentBag<long>();
        var keys = new ConcurrentBag<string>();
        using var done = new CancellationTokenSource();

        var reader = Task.Run(async () =>
        {
            long cursor = 0;
            while (true)
            {
                var finished = done.IsCancellationRequested;
                var page = await SignalFeed.ReadAsync(db, cursor, 7, CancellationToken.None);
                foreach (var s in page.Signals) seen.Add(s.Seq);
                cursor = page.NextCursor;
                if (page.Signals.Count == 0 && finished) return;
            }
        });
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < batches; b++)
            {
                var batch = Enumerable.Range(0, perBatch).Select(i => Signal(upload, $"w{w}-b{b}-{i}")).ToList();
                await AppendAsync(db, batch);
                foreach (var s in batch) keys.Add(s.IdempotencyKey);
            }
        })));
        await done.CancelAsync();
        await reader;

        seen.Should().HaveCount(writers * batches * perBatch).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task The_audit_chain_verifies_and_names_the_first_altered_event()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        for (var i = 0; i < 3; i++)
            await db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect,
                [new AuditEntry("tester", "thing.done", "upload", $"u{i}", "because", null, "{\"n\":" + i + "}"),
                 new AuditEntry("tester", "thing.checked", "upload", $"u{i}")], 1000 + i, CancellationToken.None));

        var verified = await AuditLog.VerifyAsync(db, CancellationToken.None);
        verified.Should().Be(new AuditVerification(true, 6, null, null));

        await using (var connection = await db.OpenAsync())
            await connection.ExecuteAsync("UPDATE audit_events SET reason = 'rewritten' WHERE seq = 3");
        var broken = await AuditLog.VerifyAsync(db, CancellationToken.None);
        broken.Intact.Should().BeFalse();
        broken.FirstBrokenSeq.Should().Be(3);
        broken.EventsChecked.Should().Be(2);
    }

    [Fact]
    public async Task Appending_the_golden_events_stores_the_golden_hash_chain()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        foreach (var (entry, _, at, _) in Audit.AuditHashTests.GoldenChain)
            await db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect, [entry], at, CancellationToken.None));

        var stored = await AuditLog.ReadAsync(db, 0, 10, CancellationToken.None);
        stored.Select(e => (e.Seq, e.OccurredAtMs, e.Hash)).Should().Equal(Audit.AuditHashTests.GoldenChain.Select(g => (g.Seq, g.OccurredAtMs, g.Hash)));
        stored.Select(e => e.PrevHash).Should().Equal(new[] { AuditLog.GenesisHash }.Concat(Audit.AuditHashTests.GoldenChain.Take(2).Select(g => g.Hash)));
        (await AuditLog.VerifyAsync(db, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task Deleting_an_audit_event_is_detected()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        await db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect,
            Enumerable.Range(0, 4).Select(i => new AuditEntry("tester", "x", "upload", $"u{i}")), 5, CancellationToken.None));
        await using (var connection = await db.OpenAsync())
            await connection.ExecuteAsync("DELETE FROM audit_events WHERE seq = 2");
        var result = await AuditLog.VerifyAsync(db, CancellationToken.None);
        result.FirstBrokenSeq.Should().Be(2);
        result.Problem.Should().Contain("missing");
    }

    [Fact]
    public async Task Writing_the_same_scoring_outcome_twice_stores_it_once()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        var id = await InsertUploadAsync(db, "ext-w");
        var content = new UploadContent(id, "ext-w", null, "c", [], null, [], null, []);
        var scores = new List<AttributedScore>
        {
            new("s", new CategoryScore("harm", 0.7, "m1", ["window 2"])),
            new("s", new CategoryScore("bias", 0.1, "m1", [])),
        };
        var policy = new RoutingPolicy(new RoutingPolicyOptions());
        var scored = new ScoredUpload(content, scores, policy.Route(scores.Select(s => s.Score).ToList()));
        var writer = new ScoringOutcomeWriter(db, new ReviewTasks(db, Options.Create(new ReviewOptions()), TimeProvider.System), TimeProvider.System);

        (await writer.WriteAsync([scored], CancellationToken.None)).Should().HaveCount(1);
        (await writer.WriteAsync([scored], CancellationToken.None)).Should().BeEmpty("the upload is no longer queued");

        var details = await new UploadDetailsQuery(db).FindAsync(id, CancellationToken.None);
        details!.Status.Should().Be(UploadStatus.InReview);
        details.Scores.Should().HaveCount(2);
        details.Scores.Single(s => s.Category == "harm").Explanations.Should().Equal("window 2");
        details.Routing!.PolicyVersion.Should().Be("config-default");
        details.Routing.Categories.Single(c => c.Category == "harm").Outcome.Should().Be(RouteOutcome.Review);
        (await SignalFeed.ReadAsync(db, 0, 100, CancellationToken.None)).Signals.Should().HaveCount(2);
        (await AuditLog.VerifyAsync(db, CancellationToken.None)).EventsChecked.Should().Be(1);
    }

    [Fact]
    public async Task Appending_a_large_batch_of_signals_keeps_their_order_the_first_of_a_repeated_key_and_skips_stored_keys()
    {
        var (test, db) = await MigratedAsync();
        await using var _ = test;
        var upload = await InsertUploadAsync(db, "bulk");
        (await AppendAsync(db, [Signal(upload, "k-stored")])).Should().Be(1);

        // A scoring batch's worth of signals, one key repeated within it, one stored before.
        var rows = Enumerable.Range(0, 400).Select(i => Signal(upload, $"k-{i:000}") with { Score = i / 1000.0 }).ToList();
        rows.Insert(200, Signal(upload, "k-007") with { Score = 0.999 });
        rows.Add(Signal(upload, "k-stored") with { Score = 0.999 });
        (await AppendAsync(db, rows)).Should().Be(400, "the repeated key and the stored key add nothing");

        var stored = (await SignalFeed.ReadAsync(db, 0, 1000, CancellationToken.None)).Signals;
        stored.Should().HaveCount(401);
        stored.Select(s => s.Seq).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        stored.Skip(1).Select(s => s.Score).Should().Equal(Enumerable.Range(0, 400).Select(i => i / 1000.0), "rows keep their order and the first of a repeated key");
        stored[0].Score.Should().Be(0.5, "a stored key is not overwritten");
        stored.Should().OnlyContain(s => s.ExpiresAt == null && s.Retracts == null && s.ModelVersion == "m1");
    }

    private static NewRiskSignal Signal(string upload, string key) =>
        new(key, upload, "ext", "harm", 0.5, SignalAction.Demote, 0.6, SignalSource.Model, "m1", "p1");

    private static Task<int> AppendAsync(ModerationDatabase db, IReadOnlyCollection<NewRiskSignal> signals) =>
        db.InTransactionAsync((c, t) => SignalFeed.AppendAsync(c, t, db.Dialect, signals, 42, CancellationToken.None));
}

public sealed class SqliteStorageTests() : StorageContract(DatabaseProvider.Sqlite);
public sealed class PostgresStorageTests() : StorageContract(DatabaseProvider.Postgres);
public sealed class SqlServerStorageTests() : StorageContract(DatabaseProvider.SqlServer);
