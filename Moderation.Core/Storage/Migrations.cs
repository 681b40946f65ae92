using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.Logging;

namespace Moderation.Core.Storage;

/// <summary>One numbered script from <c>db/migrations/{dialect}/NNNN_name.sql</c>.</summary>
public sealed record Migration(int Version, string Name, string Sql)
{
    public string Checksum { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));
}

/// <summary>
/// Applies the embedded migrations in order, each once, under a lock so that several hosts starting together
/// do not race. A script that was already applied but has since changed is refused: migrations are immutable.
/// </summary>
public sealed partial class DatabaseMigrator(ModerationDatabase database, ILogger<DatabaseMigrator> logger)
{
    [GeneratedRegex(@"^migrations/(?<dialect>[a-z]+)/(?<version>\d{4})_(?<name>[a-z0-9_]+)\.sql$")]
    private static partial Regex ResourceName();

    private static readonly DialectSql CreateHistory = new(
        sqlite: """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)
            """,
        postgres: """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at_ms bigint NOT NULL)
            """,
        sqlServer: """
            IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NULL
            CREATE TABLE dbo.schema_migrations (
                version int NOT NULL PRIMARY KEY, name nvarchar(200) NOT NULL, checksum varchar(64) NOT NULL, applied_at_ms bigint NOT NULL)
            """);

    private static readonly DialectSql SelectHistory =
        DialectSql.Portable("SELECT version AS Version, checksum AS Checksum FROM schema_migrations ORDER BY version");

    private static readonly DialectSql InsertHistory = DialectSql.Portable(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at_ms) VALUES (@Version, @Name, @Checksum, @AppliedAtMs)");

    /// <summary>The scripts for one dialect, ordered by number.</summary>
    public static IReadOnlyList<Migration> Load(SqlDialect dialect)
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = ResourceName().Match(resource);
            if (!match.Success || match.Groups["dialect"].Value != dialect.MigrationFolder) continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(new Migration(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                reader.ReadToEnd()));
        }
        return migrations.OrderBy(m => m.Version).ToList();
    }

    /// <summary>Applies every pending migration; returns those it applied.</summary>
    public async Task<IReadOnlyList<Migration>> MigrateAsync(CancellationToken ct = default)
    {
        var all = Load(database.Dialect);
        if (all.Count == 0)
            throw new InvalidOperationException($"No migrations are embedded for {database.Provider}.");

        if (database.Provider == DatabaseProvider.Sqlite)
            await EnableWriteAheadLogAsync(ct);

        var applied = await database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.Migrations, ct);
            await Execute(connection, transaction, database.Sql(CreateHistory), ct);
            var history = (await connection.QueryAsync<HistoryRow>(
                new CommandDefinition(database.Sql(SelectHistory), transaction: transaction, cancellationToken: ct))).ToDictionary(h => (int)h.Version, h => h.Checksum);

            var done = new List<Migration>();
            foreach (var migration in all)
            {
                if (history.TryGetValue(migration.Version, out var checksum))
                {
                    if (!string.Equals(checksum, migration.Checksum, StringComparison.Ordinal))
                        throw new InvalidOperationException(
                            $"Migration {migration.Version:D4}_{migration.Name} was changed after it was applied. Add a new migration instead.");
                    continue;
                }
                await Execute(connection, transaction, migration.Sql, ct);
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertHistory), new
                {
                    migration.Version,
                    migration.Name,
                    migration.Checksum,
                    AppliedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                }, transaction, cancellationToken: ct));
                done.Add(migration);
            }
            return done;
        }, ct);

        foreach (var migration in applied)
            logger.LogInformation("Applied migration {Version:D4}_{Name} on {Provider}", migration.Version, migration.Name, database.Provider);
        return applied;
    }

    /// <summary>The numbers of the migrations not yet applied (for readiness checks).</summary>
    public async Task<IReadOnlyList<int>> PendingAsync(CancellationToken ct = default)
    {
        await using var connection = await database.OpenAsync(ct);
        IEnumerable<HistoryRow> history;
        try
        {
            history = await connection.QueryAsync<HistoryRow>(
                new CommandDefinition(database.Sql(SelectHistory), cancellationToken: ct));
        }
        catch (DbException)
        {
            history = [];
        }
        var done = history.Select(h => (int)h.Version).ToHashSet();
        return Load(database.Dialect).Select(m => m.Version).Where(v => !done.Contains(v)).ToList();
    }

    private async Task EnableWriteAheadLogAsync(CancellationToken ct)
    {
        // WAL lets readers work while one writer commits; the setting persists in the file.
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL", cancellationToken: ct));
    }

    private static Task Execute(DbConnection connection, DbTransaction transaction, string sql, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, commandTimeout: 300, cancellationToken: ct));

    private sealed class HistoryRow
    {
        public long Version { get; init; }
        public string Checksum { get; init; } = "";
    }
}
