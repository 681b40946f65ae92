#pragma warning disable DAP241 // database names are generated here, not data; DDL cannot take parameters
using Dapper;
using Microsoft.Data.SqlClient;
using Moderation.Core.Storage;
using Npgsql;

namespace Moderation.Tests.Infrastructure;

/// <summary>
/// A fresh, empty database for one test (or one fixture), dropped afterwards. SQLite always; PostgreSQL when
/// MODERATION_TEST_POSTGRES holds an admin connection string; SQL Server when MODERATION_TEST_SQLSERVER does.
/// A provider that is not configured makes the test report as skipped, never as passed.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string PostgresVariable = "MODERATION_TEST_POSTGRES";
    public const string SqlServerVariable = "MODERATION_TEST_SQLSERVER";

    private readonly Func<Task> drop;

    private TestDatabase(DatabaseProvider provider, string connectionString, string directory, Func<Task> drop)
    {
        Provider = provider;
        ConnectionString = connectionString;
        Directory = directory;
        this.drop = drop;
    }

    public DatabaseProvider Provider { get; }
    public string ConnectionString { get; }

    /// <summary>A scratch directory for this database's data directory (media, Hangfire's SQLite file).</summary>
    public string Directory { get; }

    public ModerationDatabase Database => new(SqlDialect.For(Provider), ConnectionString);

    public static string? SkipReason(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Postgres when string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresVariable)) =>
            $"PostgreSQL is not configured: set {PostgresVariable} to an admin connection string (CI does).",
        DatabaseProvider.SqlServer when string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SqlServerVariable)) =>
            $"SQL Server is not configured: set {SqlServerVariable} to an admin connection string.",
        _ => null,
    };

    /// <summary>Creates the database, or skips the calling test when its server is not configured.</summary>
    public static async Task<TestDatabase> CreateAsync(DatabaseProvider provider)
    {
        var skip = SkipReason(provider);
        Assert.SkipWhen(skip is not null, skip ?? "");
        var directory = Path.Combine(Path.GetTempPath(), "moderation-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var name = "modtest_" + Guid.NewGuid().ToString("N")[..16];
        switch (provider)
        {
            case DatabaseProvider.Sqlite:
                var file = Path.Combine(directory, "moderation.db");
                return new TestDatabase(provider, $"Data Source={file};Pooling=True;Default Timeout=60", directory, () =>
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    TryDelete(directory);
                    return Task.CompletedTask;
                });

            case DatabaseProvider.Postgres:
            {
                var admin = Environment.GetEnvironmentVariable(PostgresVariable)!;
                await using (var connection = new NpgsqlConnection(admin))
                    await connection.ExecuteAsync($"CREATE DATABASE {name}");
                var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 30 };
                return new TestDatabase(provider, builder.ConnectionString, directory, async () =>
                {
                    NpgsqlConnection.ClearAllPools();
                    await using var connection = new NpgsqlConnection(admin);
                    await connection.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    TryDelete(directory);
                });
            }

            case DatabaseProvider.SqlServer:
            {
                var admin = Environment.GetEnvironmentVariable(SqlServerVariable)!;
                await using (var connection = new SqlConnection(admin))
                    await connection.ExecuteAsync($"CREATE DATABASE {name}");
                var builder = new SqlConnectionStringBuilder(admin) { InitialCatalog = name };
                return new TestDatabase(provider, builder.ConnectionString, directory, async () =>
                {
                    SqlConnection.ClearAllPools();
                    await using var connection = new SqlConnection(admin);
                    await connection.ExecuteAsync($"ALTER DATABASE {name} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE {name}");
                    TryDelete(directory);
                });
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(provider));
        }
    }

    public async ValueTask DisposeAsync() => await drop();

    private static void TryDelete(string directory)
    {
        try { System.IO.Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
