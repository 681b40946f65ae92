using System.Data.Common;
using Dapper;

namespace Moderation.Core.Storage;

/// <summary>
/// Named exclusive locks held until the transaction ends. The append-only logs (risk signals, audit events)
/// take one before appending so that sequence numbers become visible in the order they were assigned: a
/// reader that resumes after sequence N can then never miss a row committed later with a smaller number.
/// SQLite needs none: a write transaction already excludes every other writer.
/// </summary>
public static class TransactionLock
{
    /// <summary>Serialises appends to the risk-signal feed and the audit chain.</summary>
    public const long AppendLog = 0x4D4F44_0001; // "MOD" + 1

    /// <summary>Serialises schema migrations across processes.</summary>
    public const long Migrations = 0x4D4F44_0002;

    /// <summary>Serialises password sign-in attempts' bookkeeping (<c>sign_in_throttle</c>), so parallel guesses are counted one by one.</summary>
    public const long SignInThrottle = 0x4D4F44_0003;

    private static readonly DialectSql Acquire = new(
        sqlite: "",
        postgres: "SELECT pg_advisory_xact_lock(@Key)",
        sqlServer: """
            DECLARE @result int;
            EXEC @result = sp_getapplock @Resource = @Name, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 60000;
            IF @result < 0 THROW 51000, 'Timed out waiting for an application lock.', 1;
            """);

    public static async Task TakeAsync(DbConnection connection, DbTransaction transaction, SqlDialect dialect, long key, CancellationToken ct)
    {
        var sql = dialect.Sql(Acquire);
        if (sql.Length == 0) return;
        await connection.ExecuteAsync(new CommandDefinition(sql, new { Key = key, Name = $"moderation-{key:x}" }, transaction, cancellationToken: ct));
    }
}
