using System.Data.Common;
using Moderation.Core.Storage;

namespace Moderation.Core.Audit;

/// <summary>
/// One audited change in progress: the connection and transaction the store writes through, the time of the change,
/// who makes it, and the audit events it records. Made by <see cref="RunAsync{T}"/>, the one way the audited stores
/// (claims, hash banks, models, workbench users, review leases, the first-start bootstrap) change anything.
/// </summary>
public sealed class AuditedChange
{
    private readonly List<AuditEntry> entries = [];

    private AuditedChange(DbConnection connection, DbTransaction transaction, string actor, long nowMs)
    {
        Connection = connection;
        Transaction = transaction;
        Actor = actor;
        NowMs = nowMs;
    }

    public DbConnection Connection { get; }
    public DbTransaction Transaction { get; }

    /// <summary>Who makes the change (checked by <see cref="AuditActors.Check"/>): the actor of every event recorded with <see cref="Record(string,string,string,string?,string?,string?)"/>.</summary>
    public string Actor { get; }

    /// <summary>The time of the change in Unix milliseconds, read once the append-log lock is held; every event carries it.</summary>
    public long NowMs { get; }

    public DateTimeOffset Now => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);

    /// <summary>Records an event by this change's actor; it is appended when the change's work has succeeded, in the same transaction.</summary>
    public void Record(string action, string subjectType, string subjectId, string? reason = null, string? beforeState = null, string? afterState = null) =>
        entries.Add(new AuditEntry(Actor, action, subjectType, subjectId, reason, beforeState, afterState));

    /// <summary>Records events built elsewhere (a different actor only where the service itself acts, e.g. a superseded live model).</summary>
    public void Record(IEnumerable<AuditEntry> events) => entries.AddRange(events);

    /// <summary>
    /// Runs <paramref name="work"/> as one audited change: in one transaction, the append-log lock taken first (which
    /// also serialises the store's own checks, e.g. a duplicate name or two promotions), the clock read under it, the
    /// work, then the events it recorded appended to the hash chain. If anything throws, nothing is written: neither the
    /// change nor its events. A change that records no event (nothing to change) appends nothing.
    /// </summary>
    public static Task<T> RunAsync<T>(ModerationDatabase database, TimeProvider time, string actor, Func<AuditedChange, Task<T>> work, CancellationToken ct)
    {
        AuditActors.Check(actor);
        return database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);
            var change = new AuditedChange(connection, transaction, actor, time.GetUtcNow().ToUnixTimeMilliseconds());
            var result = await work(change);
            await AuditLog.AppendAsync(connection, transaction, database.Dialect, change.entries, change.NowMs, ct);
            return result;
        }, ct);
    }
}
