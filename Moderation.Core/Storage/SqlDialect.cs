using System.Data.Common;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Moderation.Core.Storage;

/// <summary>
/// What differs between the databases beyond SQL text: how to connect, how to recognise a unique-key
/// violation, and how a transaction takes a named exclusive lock.
/// </summary>
public abstract class SqlDialect
{
    public abstract DatabaseProvider Provider { get; }

    /// <summary>The folder under <c>db/migrations</c> holding this dialect's scripts.</summary>
    public abstract string MigrationFolder { get; }

    public abstract DbConnection CreateConnection(string connectionString);

    /// <summary>Per-connection settings that the connection string cannot carry.</summary>
    public virtual Task PrepareAsync(DbConnection connection, CancellationToken ct) => Task.CompletedTask;

    public abstract bool IsUniqueViolation(Exception exception);

    public string Sql(DialectSql statement) => statement.For(Provider);

    public static SqlDialect For(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Sqlite => new SqliteDialect(),
        DatabaseProvider.Postgres => new PostgresDialect(),
        DatabaseProvider.SqlServer => new SqlServerDialect(),
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, null),
    };
}

public sealed class SqliteDialect : SqlDialect
{
    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;
    public override string MigrationFolder => "sqlite";

    public override DbConnection CreateConnection(string connectionString) => new SqliteConnection(connectionString);

    public override async Task PrepareAsync(DbConnection connection, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        // synchronous=FULL: in WAL mode every commit is fsynced, so an answered 202 survives a power cut.
        command.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;";
        await command.ExecuteNonQueryAsync(ct);
    }

    // SQLITE_CONSTRAINT_UNIQUE (2067) and SQLITE_CONSTRAINT_PRIMARYKEY (1555).
    public override bool IsUniqueViolation(Exception exception) =>
        exception is SqliteException { SqliteExtendedErrorCode: 2067 or 1555 };
}

public sealed class PostgresDialect : SqlDialect
{
    public override DatabaseProvider Provider => DatabaseProvider.Postgres;
    public override string MigrationFolder => "postgres";

    public override DbConnection CreateConnection(string connectionString) => new NpgsqlConnection(connectionString);

    public override bool IsUniqueViolation(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}

public sealed class SqlServerDialect : SqlDialect
{
    public override DatabaseProvider Provider => DatabaseProvider.SqlServer;
    public override string MigrationFolder => "sqlserver";

    public override DbConnection CreateConnection(string connectionString) => new SqlConnection(connectionString);

    // 2627: unique constraint; 2601: unique index.
    public override bool IsUniqueViolation(Exception exception) =>
        exception is SqlException { Number: 2627 or 2601 };
}
