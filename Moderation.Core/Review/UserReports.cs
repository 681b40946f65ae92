using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Core.Refusals;

namespace Moderation.Core.Review;

/// <summary>What a report did: its id (the stored one for a repeat), whether it was new, the upload's report count, whether it re-queued the item.</summary>
public sealed record ReportOutcome(string ReportId, string UploadId, bool Created, long Reports, bool Requeued);

/// <summary>
/// Reports (flags) that the platform's users file on uploads. Each reporter counts once per upload (a repeat is
/// answered with the stored report). A report raises the priority of the item's open review task; enough reports on
/// an item that is allowed (by the model, or by a reviewer before them), or actioned by the policy with no reviewer's
/// decision (an automated action), send it back to review, audited. A reviewer's restriction is contested by appeal.
/// Reports themselves are platform input, stored with the key that sent them, not audit events: they can come in
/// by the thousand and every audit append passes one lock.
/// </summary>
public sealed class UserReports(ModerationDatabase database, IOptions<ReviewOptions> options, ReviewTasks reviewTasks, TimeProvider time)
{
    public const int MaxReporterIdLength = 256;
    public const int MaxDetailLength = 1000;

    private QueuePriorityOptions O => options.Value.Priority;

    private static readonly DialectSql SelectUpload = DialectSql.Portable("""
        SELECT id, status, report_count FROM uploads WHERE id = @Id OR external_id = @Id
        """);

    private static readonly DialectSql InsertReport = DialectSql.InsertIfAbsent("upload_reports",
        "id, upload_id, reporter_id, reason, detail, submitted_by, created_at_ms",
        "@Id, @UploadId, @ReporterId, @Reason, @Detail, @SubmittedBy, @Now", ["upload_id", "reporter_id"]);

    private static readonly DialectSql SelectReport = DialectSql.Portable("""
        SELECT id FROM upload_reports WHERE upload_id = @UploadId AND reporter_id = @ReporterId
        """);

    private static readonly DialectSql CountReport = DialectSql.Portable("""
        UPDATE uploads SET report_count = report_count + 1 WHERE id = @UploadId
        """);

    // Reports since the latest human decision on the item (all of them when no one has decided it).
    private static readonly DialectSql CountSinceDecision = DialectSql.Portable("""
        SELECT COUNT(*) FROM upload_reports r
        WHERE r.upload_id = @UploadId
          AND r.created_at_ms > COALESCE((SELECT MAX(d.decided_at_ms) FROM review_decisions d WHERE d.upload_id = @UploadId AND d.kind IN ('review', 'appeal')), -1)
        """);

    private static readonly DialectSql SelectStatus = DialectSql.Portable("""
        SELECT status FROM uploads WHERE id = @UploadId
        """);

    // An open review or appeal task: a human is already on it.
    private static readonly DialectSql SelectOpenReviewTask = DialectSql.Portable("""
        SELECT COUNT(*) FROM review_tasks WHERE upload_id = @UploadId AND kind IN ('review', 'appeal') AND state = 'open'
        """);

    // A reviewer's decision that stands (an actioned upload without one was actioned by the policy alone).
    private static readonly DialectSql SelectStandingDecisions = DialectSql.Portable("""
        SELECT COUNT(*) FROM review_decisions
        WHERE upload_id = @UploadId AND kind IN ('review', 'appeal') AND action <> 'escalate' AND retracted_at_ms IS NULL
        """);


    private static readonly DialectSql SelectReasons = DialectSql.Portable("""
        SELECT reason, COUNT(*) AS reports FROM upload_reports WHERE upload_id = @UploadId GROUP BY reason ORDER BY COUNT(*) DESC, reason
        """);

    /// <summary>How many reports an upload has, per reason (most first).</summary>
    public async Task<IReadOnlyList<(string Reason, long Reports)>> ReasonsAsync(string uploadId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<(string, long)>(new CommandDefinition(database.Sql(SelectReasons), new { UploadId = uploadId }, cancellationToken: ct))).ToList();
    }

    /// <summary>Files one user's report of an upload (by id or external id).</summary>
    public async Task<ReportOutcome> ReportAsync(string submittedBy, string upload, string reporterId, string reason, string? detail, CancellationToken ct)
    {
        TextInput.NoNul(upload, "id");
        TextInput.NoNul(reporterId, "reporterId");
        TextInput.NoNul(reason, "reason");
        TextInput.NoNul(detail, "detail");
        reporterId = reporterId.Trim();
        if (reporterId.Length == 0) throw Refusal.Invalid("reporterId", "is required: the platform's id of the person reporting");
        if (reporterId.Length > MaxReporterIdLength) throw Refusal.Invalid("reporterId", $"is at most {MaxReporterIdLength} characters");
        if (!O.ReportReasons.Contains(reason, StringComparer.Ordinal))
            throw Refusal.Invalid("reason", $"must be one of: {string.Join(", ", O.ReportReasons)}");
        detail = string.IsNullOrWhiteSpace(detail) ? null : detail.Trim();
        if (detail is { Length: > MaxDetailLength }) throw Refusal.Invalid("detail", $"is at most {MaxDetailLength} characters");

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var (outcome, status, sinceDecision) = await WriteGate.RunAsync(database, () => database.InTransactionAsync(async (connection, transaction) =>
        {
            var row = await connection.QueryFirstOrDefaultAsync<UploadRow>(new CommandDefinition(database.Sql(SelectUpload), new { Id = upload }, transaction, cancellationToken: ct))
                ?? throw Refusal.NotFound("No upload has this id or external id.", "uploadId");
            var id = Guid.CreateVersion7().ToString();
            var inserted = await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertReport), new
            {
                Id = id, UploadId = row.Id, ReporterId = reporterId, Reason = reason, Detail = detail, SubmittedBy = submittedBy, Now = now,
            }, transaction, cancellationToken: ct));
            if (inserted == 0)
            {
                var existing = await connection.ExecuteScalarAsync<string>(new CommandDefinition(database.Sql(SelectReport),
                    new { UploadId = row.Id, ReporterId = reporterId }, transaction, cancellationToken: ct));
                return (new ReportOutcome(existing!, row.Id, false, row.ReportCount, false), row.Status, 0L);
            }
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(CountReport), new { UploadId = row.Id }, transaction, cancellationToken: ct));
            await QueuePriority.RecomputeAsync(database, connection, transaction, [row.Id], O, ct);
            var since = await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountSinceDecision), new { UploadId = row.Id }, transaction, cancellationToken: ct));
            return (new ReportOutcome(id, row.Id, true, row.ReportCount + 1, false), row.Status, since);
        }, ct), ct);

        if (outcome.Created && O.RequeueAfterReports > 0 && status is UploadStatus.Allowed or UploadStatus.Actioned && sinceDecision >= O.RequeueAfterReports)
            outcome = outcome with { Requeued = await RequeueAsync(submittedBy, outcome.UploadId, ct) };
        return outcome;
    }

    /// <summary>
    /// Sends an allowed item back to review because of reports, unless someone did so (or decided it) meanwhile.
    /// The append lock first, like every audited writer, then the conditions again.
    /// </summary>
    private Task<bool> RequeueAsync(string submittedBy, string uploadId, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return WriteGate.RunAsync(database, () => database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);
            var status = await connection.ExecuteScalarAsync<string>(new CommandDefinition(database.Sql(SelectStatus), new { UploadId = uploadId }, transaction, cancellationToken: ct));
            if (status is not (UploadStatus.Allowed or UploadStatus.Actioned)) return false;
            // An actioned item goes back only when the policy actioned it: a reviewer's restriction is contested by appeal.
            if (status == UploadStatus.Actioned && await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectStandingDecisions),
                    new { UploadId = uploadId }, transaction, cancellationToken: ct)) > 0)
                return false;
            var since = await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountSinceDecision), new { UploadId = uploadId }, transaction, cancellationToken: ct));
            if (since < O.RequeueAfterReports) return false;
            if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectOpenReviewTask), new { UploadId = uploadId }, transaction, cancellationToken: ct)) > 0)
                return false;

            var detail = status == UploadStatus.Actioned ? $"automated action re-queued after {since} user reports" : $"re-queued after {since} user reports";
            if (!await UploadLifecycle.MoveAsync(database, connection, transaction, uploadId, status, UploadStatus.InReview, detail, now, ct))
                return false;
            var queue = (await reviewTasks.OpenForReviewAsync(connection, transaction, [uploadId], TaskOrigin.Reported, now, ct)).Single().Queue;
            await AuditLog.AppendAsync(connection, transaction, database.Dialect,
                [new AuditEntry($"api:{submittedBy}", "review.requeued", "upload", uploadId, detail,
                    BeforeState: JsonSerializer.Serialize(new { status }),
                    AfterState: JsonSerializer.Serialize(new { status = UploadStatus.InReview, queue, reportsSinceDecision = since, threshold = O.RequeueAfterReports }))], now, ct);
            return true;
        }, ct), ct);
    }

    private sealed class UploadRow
    {
        public string Id { get; init; } = "";
        public string Status { get; init; } = "";
        public long ReportCount { get; init; }
    }
}
