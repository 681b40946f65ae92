using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Audit;

/// <summary>
/// The one audited-change helper every audited store writes through: the change and its events in one transaction,
/// at one time, by one checked actor; nothing of either when the work fails.
/// </summary>
public abstract class AuditedChangeContract(DatabaseProvider provider)
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000);

    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, caption, hashtags, comments, status, received_at_ms, enqueued_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, 'c', '[]', '[]', 'queued', @Now, @Now, @Now)
        """);

    private async Task<TestDatabase> MigratedAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return test;
    }

    private static Task<string> AddUploadAsync(ModerationDatabase db, string actor, string externalId, Action<AuditedChange>? then = null) =>
        AuditedChange.RunAsync(db, new FixedClock(At), actor, async change =>
        {
            var id = Guid.CreateVersion7().ToString();
            await change.Connection.ExecuteAsync(db.Sql(InsertUpload), new { Id = id, ExternalId = externalId, Now = change.NowMs }, change.Transaction);
            change.Record("test.added", "upload", id, "why", null, """{"status":"queued"}""");
            then?.Invoke(change);
            return id;
        }, CancellationToken.None);

    private static async Task<long> CountAsync(ModerationDatabase db, string sql, object? args = null)
    {
        await using var connection = await db.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, args);
    }

    [Fact]
    public async Task The_change_and_its_events_are_written_together_at_one_time_by_the_actor()
    {
        var test = await MigratedAsync();
        await using var _ = test;
        var db = test.Database;

        var id = await AddUploadAsync(db, AuditActors.ApiKey("k1"), "audited-1",
            change => change.Record([new AuditEntry(AuditActors.System("test"), "test.followed", "upload", "other")]));

        (await CountAsync(db, "SELECT COUNT(*) FROM uploads WHERE external_id = 'audited-1'")).Should().Be(1);
        var events = await AuditLog.ReadAsync(db, 0, 100, CancellationToken.None);
        events.Should().HaveCount(2);
        events[0].Should().Match<AuditEvent>(e => e.Actor == "api_key:k1" && e.Action == "test.added" && e.SubjectId == id && e.Reason == "why"
            && e.AfterState == """{"status":"queued"}""" && e.OccurredAtMs == At.ToUnixTimeMilliseconds());
        events[1].Actor.Should().Be("system:test");
        events[1].OccurredAtMs.Should().Be(At.ToUnixTimeMilliseconds(), "every event of one change carries its one time");
        (await AuditLog.VerifyAsync(db, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task A_change_that_fails_writes_neither_the_change_nor_its_events()
    {
        var test = await MigratedAsync();
        await using var _ = test;
        var db = test.Database;

        var act = () => AddUploadAsync(db, AuditActors.User("alice"), "audited-2", _ => throw Refusal.Conflict("changed meanwhile"));

        await act.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Conflict);
        (await CountAsync(db, "SELECT COUNT(*) FROM uploads WHERE external_id = 'audited-2'")).Should().Be(0);
        (await CountAsync(db, "SELECT COUNT(*) FROM audit_events")).Should().Be(0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("user:eve\nsystem:forged")]
    [InlineData(" user:padded")]
    public async Task An_unacceptable_actor_is_refused_before_anything_is_written(string actor)
    {
        var test = await MigratedAsync();
        await using var _ = test;
        var db = test.Database;

        var act = () => AddUploadAsync(db, actor, "audited-3");

        (await act.Should().ThrowAsync<Refusal>()).Which.Should().Match<Refusal>(r => r.Kind == RefusalKind.Invalid && r.Field == "actor");
        (await CountAsync(db, "SELECT COUNT(*) FROM uploads")).Should().Be(0);
        (await CountAsync(db, "SELECT COUNT(*) FROM audit_events")).Should().Be(0);
    }

    [Fact]
    public async Task A_change_that_records_nothing_appends_nothing()
    {
        var test = await MigratedAsync();
        await using var _ = test;

        var result = await AuditedChange.RunAsync(test.Database, new FixedClock(At), AuditActors.Cli(), _ => Task.FromResult(42), CancellationToken.None);

        result.Should().Be(42);
        (await CountAsync(test.Database, "SELECT COUNT(*) FROM audit_events")).Should().Be(0);
    }

    [Fact]
    public void Actor_names_come_from_one_place()
    {
        AuditActors.ApiKey("k").Should().Be("api_key:k");
        AuditActors.User("alice").Should().Be("user:alice");
        AuditActors.Provider("corp").Should().Be("oidc:corp");
        AuditActors.System("scoring").Should().Be(AuditActors.Scoring);
        AuditActors.Cli().Should().Be($"cli:{Environment.UserName}@{Environment.MachineName}");
        AuditActors.Check(new string('a', AuditActors.MaxLength)).Should().HaveLength(AuditActors.MaxLength);
        FluentActions.Invoking(() => AuditActors.Check(new string('a', AuditActors.MaxLength + 1))).Should().Throw<Refusal>();
    }
}

public sealed class SqliteAuditedChangeTests() : AuditedChangeContract(DatabaseProvider.Sqlite);
public sealed class PostgresAuditedChangeTests() : AuditedChangeContract(DatabaseProvider.Postgres);
public sealed class SqlServerAuditedChangeTests() : AuditedChangeContract(DatabaseProvider.SqlServer);
