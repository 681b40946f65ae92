using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.SqlServer.TransactSql.ScriptDom;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Audit;

/// <summary>The audit page's search (<see cref="AuditLog.SearchAsync"/>): newest first, paged both ways, each filter, once per database.</summary>
public abstract class AuditSearchContract(DatabaseProvider provider)
{
    private const long T0 = 1_767_225_600_000;

    private async Task<TestDatabase> SeededAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        // seq 1..6, a minute apart.
        AuditEntry[] entries =
        [
            new("user:alice", "user.created", "user", "u-bob"),
            new("user:bob", "review.claimed", "upload", "up-1"),
            new("user:bob", "review.decided", "upload", "up-1", "spam-scam"),
            new("api:key_1", "appeal.submitted", "upload", "up-1"),
            new("api:keyX1", "review.requeued", "upload", "up-2"),
            new("user:alice", "review.claimed", "upload", "up-2"),
        ];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            await test.Database.InTransactionAsync(async (connection, transaction) =>
            {
                await AuditLog.AppendAsync(connection, transaction, test.Database.Dialect, [entry], T0 + i * 60_000, CancellationToken.None);
                return 0;
            }, CancellationToken.None);
        }
        return test;
    }

    private static async Task<List<long>> Seqs(TestDatabase test, AuditFilter filter, long? before = null, long? after = null, int limit = 100) =>
        (await AuditLog.SearchAsync(test.Database, filter, before, after, limit, CancellationToken.None)).Select(e => e.Seq).ToList();

    [Fact]
    public async Task Events_come_newest_first_and_page_older_and_newer()
    {
        await using var test = await SeededAsync();
        (await Seqs(test, new AuditFilter())).Should().Equal(6, 5, 4, 3, 2, 1);
        (await Seqs(test, new AuditFilter(), limit: 2)).Should().Equal(6, 5);
        (await Seqs(test, new AuditFilter(), before: 5, limit: 2)).Should().Equal(new long[] { 4, 3 }, "the next older page");
        (await Seqs(test, new AuditFilter(), after: 2, limit: 2)).Should().Equal(new long[] { 4, 3 }, "the next newer page, still newest first");
        (await Seqs(test, new AuditFilter(), after: 6)).Should().BeEmpty();
    }

    [Fact]
    public async Task Each_filter_narrows_by_exact_value_prefix_or_time_and_they_combine()
    {
        await using var test = await SeededAsync();
        (await Seqs(test, new AuditFilter(Actor: "user:bob"))).Should().Equal(3, 2);
        (await Seqs(test, new AuditFilter(Actor: "user:*"))).Should().Equal(6, 3, 2, 1);
        (await Seqs(test, new AuditFilter(Actor: "api:key_*"))).Should().Equal(new long[] { 4 }, "an underscore in a prefix is itself, not any character");
        (await Seqs(test, new AuditFilter(Action: "review.claimed"))).Should().Equal(6, 2);
        (await Seqs(test, new AuditFilter(Action: "review.*"))).Should().Equal(6, 5, 3, 2);
        (await Seqs(test, new AuditFilter(SubjectId: "up-1"))).Should().Equal(4, 3, 2);
        (await Seqs(test, new AuditFilter(SubjectId: "up-1", Action: "review.*"))).Should().Equal(3, 2);
        (await Seqs(test, new AuditFilter(FromMs: T0 + 2 * 60_000, ToMs: T0 + 4 * 60_000))).Should().Equal(new long[] { 4, 3 }, "from inclusive, to exclusive");
        (await Seqs(test, new AuditFilter(Actor: "user:alice", FromMs: T0 + 60_000))).Should().Equal(6);
        (await Seqs(test, new AuditFilter(Actor: "nobody"))).Should().BeEmpty();
        (await Seqs(test, new AuditFilter(Actor: "user:*"), before: 6, limit: 2)).Should().Equal(3, 2);
    }
}

public sealed class SqliteAuditSearchContract() : AuditSearchContract(DatabaseProvider.Sqlite);
public sealed class PostgresAuditSearchContract() : AuditSearchContract(DatabaseProvider.Postgres);
public sealed class SqlServerAuditSearchContract() : AuditSearchContract(DatabaseProvider.SqlServer);

/// <summary>The search's statements are built from the filters set, so the SQL Server parse check of static statements does not see them: parse each shape here.</summary>
public sealed class AuditSearchStatementTests
{
    [Fact]
    public void Every_shape_of_the_search_statement_parses_as_T_SQL()
    {
        string?[] values = [null, "user:bob", "user:*"];
        foreach (var actor in values)
            foreach (var action in values)
                foreach (var subject in values)
                    foreach (var (from, to) in new (long?, long?)[] { (null, null), (1, null), (null, 2), (1, 2) })
                        foreach (var (before, after) in new (long?, long?)[] { (null, null), (5, null), (null, 5) })
                        {
                            var (sql, _) = AuditLog.SearchStatement(new AuditFilter(actor, action, subject, from, to), before, after, 100);
                            new TSql170Parser(initialQuotedIdentifiers: true).Parse(new StringReader(sql.SqlServer), out var errors);
                            errors.Should().BeEmpty(sql.SqlServer);
                        }
    }
}

