using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Moderation.Core.Storage;
using Npgsql;

namespace Moderation.Bench;

/// <summary>A migrated, throwaway database for one benchmark run: a SQLite file, or a PostgreSQL database made from an admin connection string.</summary>
internal static class BenchDatabase
{
    /// <summary>
    /// The databases a benchmark runs on, each with its admin connection string: SQLite always, PostgreSQL where
    /// <see cref="ClaimBenchmark.PostgresVariable"/> names a server (otherwise it says so and adds <c>postgres=skipped</c> to <paramref name="parts"/>).
    /// </summary>
    public static IEnumerable<(DatabaseProvider Provider, string? Admin)> Providers(List<string> parts)
    {
        yield return (DatabaseProvider.Sqlite, null);
        var admin = Environment.GetEnvironmentVariable(ClaimBenchmark.PostgresVariable);
        if (string.IsNullOrEmpty(admin))
        {
            Console.WriteLine($"postgres: skipped (set {ClaimBenchmark.PostgresVariable} to an admin connection string)");
            parts.Add("postgres=skipped");
        }
        else yield return (DatabaseProvider.Postgres, admin);
    }

    /// <param name="timeoutSeconds">Command timeout (seeding a million rows takes minutes).</param>
    public static async Task<(ModerationDatabase Database, Func<Task> Drop)> CreateAsync(DatabaseProvider provider, string? admin, int timeoutSeconds = 60)
    {
        var directory = Path.Combine(Path.GetTempPath(), "moderation-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        ModerationDatabase database;
        Func<Task> drop;
        if (provider == DatabaseProvider.Sqlite)
        {
            database = new ModerationDatabase(SqlDialect.For(provider),
                $"Data Source={Path.Combine(directory, "moderation.db")};Pooling=True;Default Timeout={timeoutSeconds}");
            drop = () => { SqliteConnection.ClearAllPools(); Directory.Delete(directory, true); return Task.CompletedTask; };
        }
        else
        {
            var name = "modbench_" + Guid.NewGuid().ToString("N")[..12];
            await using (var connection = new NpgsqlConnection(admin)) await connection.ExecuteAsync($"CREATE DATABASE {name}");
            database = new ModerationDatabase(SqlDialect.For(provider),
                new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 100, CommandTimeout = timeoutSeconds }.ConnectionString);
            drop = async () =>
            {
                NpgsqlConnection.ClearAllPools();
                await using var connection = new NpgsqlConnection(admin);
                await connection.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                Directory.Delete(directory, true);
            };
        }
        await new DatabaseMigrator(database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return (database, drop);
    }
}
