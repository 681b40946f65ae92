using Dapper;
using FluentAssertions;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>
/// Migration 0015 (appeals of automated actions) on a database that already holds appeals: they are kept, a decision
/// is still appealed once, an automated action once per upload and policy version, and an appeal names one of them.
/// </summary>
public abstract class AutomatedAppealMigrationContract(DatabaseProvider provider)
{
    private const int Version = 15;

    private static readonly DialectSql InsertDecision = DialectSql.Portable("""
        INSERT INTO review_decisions (id, upload_id, kind, queue, decided_by, decided_by_name, action, reason_code, decided_at_ms)
        VALUES (@Id, @UploadId, 'review', 'misinformation', 'u-alice', 'alice', 'remove', 'spam-scam', 1)
        """);

    private static readonly DialectSql InsertAppeal = DialectSql.Portable("""
        INSERT INTO appeals (id, upload_id, decision_id, statement, submitted_by, state, created_at_ms)
        VALUES (@Id, @UploadId, @DecisionId, 'satire', 'key-1', 'upheld', 2)
        """);

    private static readonly DialectSql InsertAutomatedAppeal = DialectSql.Portable("""
        INSERT INTO appeals (id, upload_id, decision_id, policy_version, statement, submitted_by, state, created_at_ms)
        VALUES (@Id, @UploadId, @DecisionId, @PolicyVersion, 'mine', 'key-1', 'open', 3)
        """);

    private static readonly DialectSql SelectAppeal = DialectSql.Portable("""
        SELECT decision_id, policy_version, statement, state FROM appeals WHERE id = @Id
        """);

    [Fact]
    public async Task Existing_appeals_are_kept_and_each_decision_or_automated_action_is_appealed_once()
    {
        await using var test = await TestDatabase.CreateAsync(provider);
        var database = test.Database;
        var migrations = DatabaseMigrator.Load(database.Dialect);
        migrations.Should().Contain(m => m.Version == Version);
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            foreach (var m in migrations.Where(m => m.Version < Version)) await connection.ExecuteAsync(m.Sql, transaction: transaction);
            return 0;
        }, CancellationToken.None);
        var upload = (await ReviewSeed.InReviewWithoutTaskAsync(database, 1)).Single();
        var other = (await ReviewSeed.InReviewWithoutTaskAsync(database, 1)).Single();
        await using (var connection = await database.OpenAsync())
        {
            await connection.ExecuteAsync(database.Sql(InsertDecision), new { Id = "d-1", UploadId = upload });
            await connection.ExecuteAsync(database.Sql(InsertAppeal), new { Id = "a-1", UploadId = upload, DecisionId = "d-1" });
        }

        await database.InTransactionAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(migrations.Single(m => m.Version == Version).Sql, transaction: transaction), CancellationToken.None);

        await using var after = await database.OpenAsync();
        var kept = await after.QuerySingleAsync<(string? DecisionId, string? PolicyVersion, string Statement, string State)>(
            database.Sql(SelectAppeal), new { Id = "a-1" });
        kept.Should().Be(("d-1", (string?)null, "satire", "upheld"));

        await after.ExecuteAsync(database.Sql(InsertAutomatedAppeal), new { Id = "a-2", UploadId = upload, DecisionId = (string?)null, PolicyVersion = "p-1" });
        await after.ExecuteAsync(database.Sql(InsertAutomatedAppeal), new { Id = "a-3", UploadId = upload, DecisionId = (string?)null, PolicyVersion = "p-2" });
        await after.ExecuteAsync(database.Sql(InsertAutomatedAppeal), new { Id = "a-4", UploadId = other, DecisionId = (string?)null, PolicyVersion = "p-1" });
        (await after.QuerySingleAsync<(string? DecisionId, string? PolicyVersion, string Statement, string State)>(database.Sql(SelectAppeal), new { Id = "a-2" }))
            .PolicyVersion.Should().Be("p-1");

        var sameAction = () => after.ExecuteAsync(database.Sql(InsertAutomatedAppeal), new { Id = "a-5", UploadId = upload, DecisionId = (string?)null, PolicyVersion = "p-1" });
        (await sameAction.Should().ThrowAsync<Exception>()).Which.Should().Match<Exception>(e => database.Dialect.IsUniqueViolation(e),
            "an automated action is appealed once");
        var sameDecision = () => after.ExecuteAsync(database.Sql(InsertAutomatedAppeal), new { Id = "a-6", UploadId = upload, DecisionId = (string?)"d-1", PolicyVersion = (string?)null });
        (await sameDecision.Should().ThrowAsync<Exception>()).Which.Should().Match<Exception>(e => database.Dialect.IsUniqueViolation(e),
            "a decision is still appealed once");
        var neither = () => after.ExecuteAsync(database.Sql(InsertAutomatedAppeal), new { Id = "a-7", UploadId = upload, DecisionId = (string?)null, PolicyVersion = (string?)null });
        await neither.Should().ThrowAsync<Exception>("an appeal names a decision or an automated action");
    }
}

public sealed class SqliteAutomatedAppealMigrationContract() : AutomatedAppealMigrationContract(DatabaseProvider.Sqlite);
public sealed class PostgresAutomatedAppealMigrationContract() : AutomatedAppealMigrationContract(DatabaseProvider.Postgres);
public sealed class SqlServerAutomatedAppealMigrationContract() : AutomatedAppealMigrationContract(DatabaseProvider.SqlServer);
