using System.Data.Common;
using Dapper;
using Moderation.Core.Storage;

namespace Moderation.Core.Uploads;

/// <summary>A change of <c>uploads.status</c> that <see cref="UploadLifecycle"/> does not allow.</summary>
public sealed class IllegalStatusTransitionException(string from, string to)
    : InvalidOperationException($"An upload's status cannot go from '{from}' to '{to}'.")
{
    public string From { get; } = from;
    public string To { get; } = to;
}

/// <summary>
/// The one writer of <c>uploads.status</c> after intake stores an upload as <c>queued</c>, and the transitions it allows:
/// <code>
/// queued    → scored | in_review | actioned | allowed   routing (ScoringOutcomeWriter)
/// queued    → failed                                    scoring failed on every attempt of its job
/// failed    → queued                                    its failed job requeued (ScoringJob)
/// in_review → allowed | actioned                        a reviewer's decision (ReviewDecisions)
/// actioned  → allowed                                   an overturned appeal (ReviewDecisions)
/// actioned  → in_review                                 an automated action re-queued by user reports (UserReports)
/// allowed   → in_review                                 re-queued by user reports (UserReports)
/// </code>
/// Every move names the status it expects to find and changes nothing when the row has another (a retried job, a
/// concurrent writer); a move the table does not list is refused before any SQL runs. Callers hold the append
/// lock, as every writer that changes routing state does.
/// </summary>
public static class UploadLifecycle
{
    private static readonly Dictionary<string, string[]> Transitions = new(StringComparer.Ordinal)
    {
        [UploadStatus.Queued] = [UploadStatus.Scored, UploadStatus.InReview, UploadStatus.Actioned, UploadStatus.Allowed, UploadStatus.Failed],
        [UploadStatus.InReview] = [UploadStatus.Allowed, UploadStatus.Actioned],
        [UploadStatus.Actioned] = [UploadStatus.Allowed, UploadStatus.InReview],
        [UploadStatus.Allowed] = [UploadStatus.InReview],
        [UploadStatus.Failed] = [UploadStatus.Queued],
    };

    /// <summary>What routing may set: every outcome of the policy.</summary>
    private static readonly string[] Routed = [UploadStatus.Scored, UploadStatus.InReview, UploadStatus.Actioned, UploadStatus.Allowed];

    public static bool Allows(string from, string to) =>
        Transitions.TryGetValue(from, out var next) && next.Contains(to, StringComparer.Ordinal);

    /// <summary>The statuses an upload may move to from <paramref name="from"/>.</summary>
    public static IReadOnlyList<string> From(string from) => Transitions.TryGetValue(from, out var next) ? next : [];

    private static void Ensure(string from, string to)
    {
        if (!Allows(from, to)) throw new IllegalStatusTransitionException(from, to);
    }

    private static readonly DialectSql Route = DialectSql.Portable("""
        UPDATE uploads SET status = @Status, status_detail = @Reason, policy_version = @PolicyVersion,
               routed_at_ms = @Now, updated_at_ms = @Now, last_error = NULL
        WHERE id = @Id AND status = 'queued'
        """);

    private static readonly DialectSql Fail = DialectSql.Portable("""
        UPDATE uploads SET status = 'failed', status_detail = @Detail, last_error = COALESCE(@Error, last_error),
               scoring_attempts = @Attempts, updated_at_ms = @Now
        WHERE id = @Id AND status = 'queued'
        """);

    private static readonly DialectSql Move = DialectSql.Portable("""
        UPDATE uploads SET status = @To, status_detail = @Detail, updated_at_ms = @Now WHERE id = @Id AND status = @From
        """);

    /// <summary>A queued upload takes the status its routing decided, with the policy version and routing time; false when it was not queued.</summary>
    public static async Task<bool> RouteAsync(ModerationDatabase database, DbConnection connection, DbTransaction transaction,
        string uploadId, string status, string reason, string policyVersion, long nowMs, CancellationToken ct)
    {
        if (!Routed.Contains(status, StringComparer.Ordinal)) throw new IllegalStatusTransitionException(UploadStatus.Queued, status);
        return await connection.ExecuteAsync(new CommandDefinition(database.Sql(Route), new
        {
            Status = status, Reason = reason, PolicyVersion = policyVersion, Now = nowMs, Id = uploadId,
        }, transaction, cancellationToken: ct)) == 1;
    }

    /// <summary>A queued upload whose scoring failed on every attempt becomes <c>failed</c>; false when it was not queued.</summary>
    public static async Task<bool> FailAsync(ModerationDatabase database, DbConnection connection, DbTransaction transaction,
        string uploadId, string detail, string? error, int attempts, long nowMs, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(Fail), new
        {
            Detail = detail, Error = error, Attempts = attempts, Now = nowMs, Id = uploadId,
        }, transaction, cancellationToken: ct)) == 1;

    /// <summary>
    /// Moves an upload from <paramref name="from"/> to <paramref name="to"/> with a detail saying why; false when its
    /// status is no longer <paramref name="from"/>. Throws <see cref="IllegalStatusTransitionException"/> for a move
    /// the lifecycle does not allow.
    /// </summary>
    public static async Task<bool> MoveAsync(ModerationDatabase database, DbConnection connection, DbTransaction transaction,
        string uploadId, string from, string to, string detail, long nowMs, CancellationToken ct)
    {
        Ensure(from, to);
        return await connection.ExecuteAsync(new CommandDefinition(database.Sql(Move), new
        {
            Id = uploadId, From = from, To = to, Detail = detail, Now = nowMs,
        }, transaction, cancellationToken: ct)) == 1;
    }
}
