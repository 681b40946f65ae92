using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Moderation.Core.Storage;

namespace Moderation.Core.Audit;

/// <summary>An event to append: who did what to which subject, why, and the state before and after (JSON).</summary>
public sealed record AuditEntry(
    string Actor,
    string Action,
    string SubjectType,
    string SubjectId,
    string? Reason = null,
    string? BeforeState = null,
    string? AfterState = null);

/// <summary>A stored event with its place in the chain.</summary>
public sealed record AuditEvent(
    long Seq,
    long OccurredAtMs,
    string Actor,
    string Action,
    string SubjectType,
    string SubjectId,
    string? Reason,
    string? BeforeState,
    string? AfterState,
    string PrevHash,
    string Hash);

/// <summary>
/// Which events to show: each field that is set narrows them. <see cref="Actor"/>, <see cref="Action"/> and
/// <see cref="SubjectId"/> match exactly, or by prefix when they end in <c>*</c> (<c>review.*</c>, <c>user:*</c>);
/// the time range is <see cref="FromMs"/> inclusive to <see cref="ToMs"/> exclusive.
/// </summary>
public sealed record AuditFilter(string? Actor = null, string? Action = null, string? SubjectId = null, long? FromMs = null, long? ToMs = null)
{
    public bool IsEmpty => string.IsNullOrWhiteSpace(Actor) && string.IsNullOrWhiteSpace(Action) && string.IsNullOrWhiteSpace(SubjectId)
        && FromMs is null && ToMs is null;
}

/// <summary>
/// The outcome of checking the chain: intact, or the first event whose link is broken. Checked against signed checkpoints
/// (<see cref="AuditCheckpoints.VerifyAsync"/>), it also says how many held and the latest (<paramref name="CheckpointNote"/>
/// says what was and was not checked).
/// </summary>
public sealed record AuditVerification(bool Intact, long EventsChecked, long? FirstBrokenSeq, string? Problem,
    int CheckpointsChecked = 0, AuditCheckpoint? LastCheckpoint = null, string? CheckpointNote = null);

/// <summary>
/// The append-only, hash-chained audit trail. Each event's hash covers its sequence number, every field and the
/// previous event's hash, so editing, deleting or reordering any event breaks every link after it.
/// Appends take the append-log lock, which also makes sequence numbers gap-free and ordered.
/// </summary>
public static class AuditLog
{
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    private static readonly DialectSql SelectLast = new(
        sqlite: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
        postgres: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
        sqlServer: "SELECT TOP (1) seq, hash FROM audit_events ORDER BY seq DESC");

    private static readonly DialectSql Insert = DialectSql.Portable("""
        INSERT INTO audit_events (seq, occurred_at_ms, actor, action, subject_type, subject_id, reason, before_state, after_state, prev_hash, hash)
        VALUES (@Seq, @OccurredAtMs, @Actor, @Action, @SubjectType, @SubjectId, @Reason, @BeforeState, @AfterState, @PrevHash, @Hash)
        """);

    private const string EventColumns =
        "seq, occurred_at_ms, actor, action, subject_type, subject_id, reason, before_state, after_state, prev_hash, hash";

    private static readonly DialectSql SelectPage = new(
        sqlite: $"SELECT {EventColumns} FROM audit_events WHERE seq > @After ORDER BY seq LIMIT @Limit",
        postgres: $"SELECT {EventColumns} FROM audit_events WHERE seq > @After ORDER BY seq LIMIT @Limit",
        sqlServer: $"SELECT TOP (@Limit) {EventColumns} FROM audit_events WHERE seq > @After ORDER BY seq");

    /// <summary>Appends events inside the caller's transaction (which must roll back with them on failure).</summary>
    public static async Task AppendAsync(DbConnection connection, DbTransaction transaction, SqlDialect dialect,
        IEnumerable<AuditEntry> entries, long occurredAtMs, CancellationToken ct)
    {
        var batch = entries.ToList();
        if (batch.Count == 0) return;
        await TransactionLock.TakeAsync(connection, transaction, dialect, TransactionLock.AppendLog, ct);
        var last = await connection.QueryFirstOrDefaultAsync<LastRow>(
            new CommandDefinition(dialect.Sql(SelectLast), transaction: transaction, cancellationToken: ct));
        var seq = last?.Seq ?? 0;
        var prev = last?.Hash ?? GenesisHash;
        var rows = new List<AuditEvent>(batch.Count);
        foreach (var e in batch)
        {
            seq++;
            var hash = ComputeHash(seq, occurredAtMs, e.Actor, e.Action, e.SubjectType, e.SubjectId, e.Reason, e.BeforeState, e.AfterState, prev);
            rows.Add(new AuditEvent(seq, occurredAtMs, e.Actor, e.Action, e.SubjectType, e.SubjectId, e.Reason, e.BeforeState, e.AfterState, prev, hash));
            prev = hash;
        }
        await connection.ExecuteAsync(new CommandDefinition(dialect.Sql(Insert), rows, transaction, cancellationToken: ct));
    }

    /// <summary>Reads events in order, <paramref name="limit"/> at a time, after <paramref name="afterSeq"/>.</summary>
    public static async Task<IReadOnlyList<AuditEvent>> ReadAsync(ModerationDatabase database, long afterSeq, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<AuditEventRow>(new CommandDefinition(
            database.Sql(SelectPage), new { After = afterSeq, Limit = limit }, cancellationToken: ct));
        return rows.Select(r => r.ToEvent()).ToList();
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DialectSql> SearchStatements = new(StringComparer.Ordinal);

    /// <summary>
    /// A page of events matching <paramref name="filter"/>, newest first: those before <paramref name="beforeSeq"/> (the
    /// next older page), or with <paramref name="afterSeq"/> the oldest ones after it (the next newer page), or else
    /// the newest. Each filter is an index walk in <c>seq</c> order (0016: actor, action, subject and time indexes).
    /// </summary>
    public static async Task<IReadOnlyList<AuditEvent>> SearchAsync(ModerationDatabase database, AuditFilter filter, long? beforeSeq, long? afterSeq,
        int limit, CancellationToken ct)
    {
        var (sql, parameters) = SearchStatement(filter, beforeSeq, afterSeq, limit);
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<AuditEventRow>(new CommandDefinition(database.Sql(sql), parameters, cancellationToken: ct)))
            .Select(r => r.ToEvent()).ToList();
        if (afterSeq is not null) rows.Reverse();
        return rows;
    }

    /// <summary>The statement <see cref="SearchAsync"/> sends for this filter and page, and its parameters.</summary>
    internal static (DialectSql Sql, DynamicParameters Parameters) SearchStatement(AuditFilter filter, long? beforeSeq, long? afterSeq, int limit)
    {
        var where = new List<string>();
        var parameters = new DynamicParameters();
        parameters.Add("Limit", limit);
        if (afterSeq is { } after) { where.Add("seq > @After"); parameters.Add("After", after); }
        else if (beforeSeq is { } before) { where.Add("seq < @Before"); parameters.Add("Before", before); }
        Match("actor", "Actor", filter.Actor);
        Match("action", "Action", filter.Action);
        Match("subject_id", "SubjectId", filter.SubjectId);
        if (filter.FromMs is { } from) { where.Add("occurred_at_ms >= @FromMs"); parameters.Add("FromMs", from); }
        if (filter.ToMs is { } to) { where.Add("occurred_at_ms < @ToMs"); parameters.Add("ToMs", to); }
        // Only these fixed fragments make up the statement; every value is a parameter.
        var condition = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        var order = afterSeq is null ? "seq DESC" : "seq";
        // A few hundred shapes at most (which filters are set, exact or prefix, which direction): each made once, as
        // every DialectSql registers itself for the SQL Server parse check.
        var sql = SearchStatements.GetOrAdd($"{condition} ORDER BY {order}", key => new DialectSql(
            sqlite: $"SELECT {EventColumns} FROM audit_events {key} LIMIT @Limit",
            postgres: $"SELECT {EventColumns} FROM audit_events {key} LIMIT @Limit",
            sqlServer: $"SELECT TOP (@Limit) {EventColumns} FROM audit_events {key}"));
        return (sql, parameters);

        void Match(string column, string name, string? value)
        {
            value = value?.Trim();
            if (string.IsNullOrEmpty(value)) return;
            if (value.EndsWith('*'))
            {
                // A prefix: LIKE with its own wildcards escaped, so "api:key_*" does not match "api:keyX1".
                var prefix = value[..^1].Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");
                where.Add($"{column} LIKE @{name} ESCAPE '\\'");
                parameters.Add(name, prefix + "%");
            }
            else
            {
                where.Add($"{column} = @{name}");
                parameters.Add(name, value);
            }
        }
    }

    /// <summary>Walks the whole chain and reports the first event whose hash or link does not hold.</summary>
    public static async Task<AuditVerification> VerifyAsync(ModerationDatabase database, CancellationToken ct)
    {
        var prev = GenesisHash;
        long expectedSeq = 1, checkedCount = 0;
        while (true)
        {
            var page = await ReadAsync(database, expectedSeq - 1, 1000, ct);
            if (page.Count == 0) return new AuditVerification(true, checkedCount, null, null);
            foreach (var e in page)
            {
                if (e.Seq != expectedSeq)
                    return new AuditVerification(false, checkedCount, expectedSeq, $"event {expectedSeq} is missing (next stored event is {e.Seq})");
                if (!string.Equals(e.PrevHash, prev, StringComparison.Ordinal))
                    return new AuditVerification(false, checkedCount, e.Seq, $"event {e.Seq} does not link to the hash of event {e.Seq - 1}");
                var hash = ComputeHash(e.Seq, e.OccurredAtMs, e.Actor, e.Action, e.SubjectType, e.SubjectId, e.Reason, e.BeforeState, e.AfterState, e.PrevHash);
                if (!string.Equals(e.Hash, hash, StringComparison.Ordinal))
                    return new AuditVerification(false, checkedCount, e.Seq, $"event {e.Seq} was altered: its content does not match its hash");
                prev = e.Hash;
                expectedSeq++;
                checkedCount++;
            }
        }
    }

    /// <summary>
    /// SHA-256 over a version tag and every field, each length-prefixed (so no two different events can
    /// serialise to the same bytes), null distinguished from empty.
    /// </summary>
    public static string ComputeHash(long seq, long occurredAtMs, string actor, string action, string subjectType,
        string subjectId, string? reason, string? before, string? after, string prevHash)
    {
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        AppendField(hasher, "audit-v1");
        BinaryPrimitives.WriteInt64BigEndian(number, seq);
        hasher.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, occurredAtMs);
        hasher.AppendData(number);
        foreach (var field in new[] { actor, action, subjectType, subjectId, reason, before, after, prevHash })
            AppendField(hasher, field);
        return Convert.ToHexStringLower(hasher.GetHashAndReset());
    }

    private static void AppendField(IncrementalHash hasher, string? value)
    {
        Span<byte> length = stackalloc byte[4];
        if (value is null)
        {
            BinaryPrimitives.WriteInt32BigEndian(length, -1);
            hasher.AppendData(length);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(value);
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        hasher.AppendData(length);
        hasher.AppendData(bytes);
    }

    private sealed class LastRow
    {
        public long Seq { get; init; }
        public string Hash { get; init; } = "";
    }

    /// <summary>An audit_events row as Dapper reads it (every column); the review timeline reads the same shape.</summary>
    internal sealed class AuditEventRow
    {
        public long Seq { get; init; }
        public long OccurredAtMs { get; init; }
        public string Actor { get; init; } = "";
        public string Action { get; init; } = "";
        public string SubjectType { get; init; } = "";
        public string SubjectId { get; init; } = "";
        public string? Reason { get; init; }
        public string? BeforeState { get; init; }
        public string? AfterState { get; init; }
        public string PrevHash { get; init; } = "";
        public string Hash { get; init; } = "";

        public AuditEvent ToEvent() => new(Seq, OccurredAtMs, Actor, Action, SubjectType, SubjectId, Reason, BeforeState, AfterState, PrevHash.Trim(), Hash.Trim());
    }
}
