using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Moderation.Core.Storage;

/// <summary>
/// One statement in the three dialects. Most statements are identical everywhere and use <see cref="Portable"/>;
/// the few that differ (upserts, paging, locks) spell each dialect out. Every instance registers itself so that
/// a test can parse every SQL Server statement the product can send.
/// </summary>
public sealed partial class DialectSql
{
    private static readonly ConcurrentQueue<DialectSql> Registry = new();

    public DialectSql(string sqlite, string postgres, string sqlServer,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        Sqlite = sqlite;
        Postgres = postgres;
        SqlServer = sqlServer;
        Origin = $"{Path.GetFileName(file)}:{line}";
        Registry.Enqueue(this);
    }

    public string Sqlite { get; }
    public string Postgres { get; }
    public string SqlServer { get; }

    /// <summary>Where the statement is declared, for error messages in the parse-check test.</summary>
    public string Origin { get; }

    public static DialectSql Portable(string sql, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        new(sql, sql, sql, file, line);

    /// <summary>
    /// A statement with Dapper list parameters (<c>IN @Ids</c>). Dapper expands the list into parameters for
    /// SQLite and SQL Server but sends an array to PostgreSQL, which takes it as <c>= ANY(@Ids)</c>.
    /// </summary>
    public static DialectSql WithList(string sql, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        new(sql, ListParameter().Replace(sql, "= ANY($1)"), sql, file, line);

    /// <summary>
    /// An insert that does nothing when a row with the same <paramref name="key"/> exists: <c>ON CONFLICT DO
    /// NOTHING</c> on SQLite and PostgreSQL, a locked <c>NOT EXISTS</c> on SQL Server. Parameters are the key
    /// columns in PascalCase (<c>upload_id</c> → <c>@UploadId</c>).
    /// </summary>
    public static DialectSql InsertIfAbsent(string table, string columns, string values, string[] key,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        var conflict = $"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({string.Join(", ", key)}) DO NOTHING";
        var match = string.Join(" AND ", key.Select(k => $"{k} = @{string.Concat(k.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]))}"));
        var sqlServer = $"INSERT INTO {table} ({columns}) SELECT {values} WHERE NOT EXISTS (SELECT 1 FROM {table} WITH (UPDLOCK, HOLDLOCK) WHERE {match})";
        return new DialectSql(conflict, conflict, sqlServer, file, line);
    }

    [GeneratedRegex(@"\bIN\s+(@\w+)")]
    private static partial Regex ListParameter();

    public string For(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Sqlite => Sqlite,
        DatabaseProvider.Postgres => Postgres,
        DatabaseProvider.SqlServer => SqlServer,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, null),
    };

    /// <summary>Every statement declared so far (static fields register when their type is first used).</summary>
    public static IReadOnlyCollection<DialectSql> All => Registry.ToArray();

    public override string ToString() => Origin;
}
