using System.Data;
using System.Data.Common;
using Dapper;

namespace Moderation.Core.Storage;

/// <summary>The application database: a dialect and a connection string. Opens prepared connections.</summary>
public sealed class ModerationDatabase(SqlDialect dialect, string connectionString)
{
    static ModerationDatabase()
    {
        // Columns are snake_case in every dialect; rows are PascalCase records.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    public SqlDialect Dialect { get; } = dialect;
    public string ConnectionString { get; } = connectionString;
    public DatabaseProvider Provider => Dialect.Provider;

    public string Sql(DialectSql statement) => Dialect.Sql(statement);

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        var connection = Dialect.CreateConnection(ConnectionString);
        try
        {
            await connection.OpenAsync(ct);
            await Dialect.PrepareAsync(connection, ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <paramref name="work"/> in one transaction, committed when it returns.</summary>
    public async Task<T> InTransactionAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        // On SQLite, Microsoft.Data.Sqlite begins with BEGIN IMMEDIATE: the write lock is taken up front, so two
        // writers never deadlock upgrading from a read lock.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(ct);
        return result;
    }

    public Task InTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken ct = default) =>
        InTransactionAsync<bool>(async (c, t) => { await work(c, t); return true; }, ct);
}
