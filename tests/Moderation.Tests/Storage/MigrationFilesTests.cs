using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.SqlServer.TransactSql.ScriptDom;
using Moderation.Core.Storage;

namespace Moderation.Tests.Storage;

public sealed partial class MigrationFilesTests
{
    [Fact]
    public void The_three_dialects_hold_the_same_migration_numbers_and_names()
    {
        var sqlite = MigrationsOf(DatabaseProvider.Sqlite);
        var postgres = MigrationsOf(DatabaseProvider.Postgres);
        var sqlServer = MigrationsOf(DatabaseProvider.SqlServer);
        sqlite.Should().NotBeEmpty();
        postgres.Should().Equal(sqlite);
        sqlServer.Should().Equal(sqlite);
    }

    [Fact]
    public void Migration_numbers_start_at_one_and_have_no_gaps()
    {
        var versions = DatabaseMigrator.Load(SqlDialect.For(DatabaseProvider.Sqlite)).Select(m => m.Version).ToList();
        versions.Should().Equal(Enumerable.Range(1, versions.Count));
    }

    [Fact]
    public void Every_embedded_migration_comes_from_the_db_folder()
    {
        var folder = Path.Combine(RepositoryRoot(), "db", "migrations");
        foreach (var provider in Enum.GetValues<DatabaseProvider>())
        {
            var dialect = SqlDialect.For(provider);
            var files = Directory.GetFiles(Path.Combine(folder, dialect.MigrationFolder), "*.sql").Select(Path.GetFileName).Order().ToList();
            DatabaseMigrator.Load(dialect).Select(m => $"{m.Version:D4}_{m.Name}.sql").Should().Equal(files);
        }
    }

    [Fact]
    public void Every_SQL_Server_migration_parses()
    {
        foreach (var migration in DatabaseMigrator.Load(SqlDialect.For(DatabaseProvider.SqlServer)))
            ParseErrors(migration.Sql).Should().BeEmpty($"migration {migration.Version:D4}_{migration.Name} must be valid T-SQL");
    }

    [Fact]
    public void Every_SQL_Server_statement_the_product_sends_parses()
    {
        // Statements are static fields: run every type initialiser of the product assemblies so each registers.
        foreach (var assembly in new[] { typeof(DialectSql).Assembly, typeof(Moderation.Api.Hosting.ModerationApi).Assembly })
            foreach (var type in assembly.GetTypes().Where(t => !t.ContainsGenericParameters))
                System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(type.TypeHandle);

        var statements = DialectSql.All;
        statements.Should().HaveCountGreaterThan(20);
        foreach (var statement in statements)
        {
            var sql = DapperListParameter().Replace(statement.SqlServer, "IN (${name}0, ${name}1)");
            ParseErrors(sql).Should().BeEmpty($"the statement at {statement.Origin} must be valid T-SQL:\n{sql}");
        }
    }

    [Fact]
    public void Every_SQL_Server_statement_the_database_contract_tests_send_parses()
    {
        // The contracts' own statements (seeding, checks) run on SQL Server where MODERATION_TEST_SQLSERVER is set;
        // here they are parsed, like the product's.
        foreach (var type in typeof(MigrationFilesTests).Assembly.GetTypes()
                     .Where(t => !t.ContainsGenericParameters && (t.Name.EndsWith("Contract", StringComparison.Ordinal) || t == typeof(Review.ReviewSeed))))
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(type.TypeHandle);

        var origins = DialectSql.All.Select(s => s.Origin.Split(':')[0]).ToHashSet(StringComparer.Ordinal);
        origins.Should().Contain(["ReviewSeed.cs", "ReviewQueueContract.cs", "ScoringQueueContract.cs", "ReviewTasksContract.cs", "UploadLifecycleTests.cs"]);
        foreach (var statement in DialectSql.All)
        {
            var sql = DapperListParameter().Replace(statement.SqlServer, "IN (${name}0, ${name}1)");
            ParseErrors(sql).Should().BeEmpty($"the statement at {statement.Origin} must be valid T-SQL:\n{sql}");
        }
    }

    /// <summary>Dapper expands <c>IN @Ids</c> into a parameter list before SQL Server sees it.</summary>
    [GeneratedRegex(@"IN\s+(?<name>@\w+)")]
    private static partial Regex DapperListParameter();

    private static List<string> ParseErrors(string sql)
    {
        var parser = new TSql170Parser(initialQuotedIdentifiers: true);
        parser.Parse(new StringReader(sql), out var errors);
        return errors.Select(e => $"line {e.Line}: {e.Message}").ToList();
    }

    private static List<string> MigrationsOf(DatabaseProvider provider) =>
        DatabaseMigrator.Load(SqlDialect.For(provider)).Select(m => $"{m.Version:D4}_{m.Name}").ToList();

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Moderation.sln"))) return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root from " + AppContext.BaseDirectory);
    }
}
