using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Review;

/// <summary>Why a review task opens.</summary>
public enum TaskOrigin
{
    /// <summary>The policy routed the upload to review (in the routing transaction), or the start-up backfill found it without a task.</summary>
    Routed,

    /// <summary>Enough user reports sent an allowed upload, or one the policy actioned with no reviewer's decision, back to review.</summary>
    Reported,

    /// <summary>A creator appealed a reviewer's decision or the policy's automated action.</summary>
    Appealed,

    /// <summary>A final decision was sampled for a blind second opinion.</summary>
    QualitySample,
}

/// <summary>What the rule needs to know of an upload to open a <c>review</c> task for it.</summary>
/// <param name="Routes">The upload's routing outcomes under its policy version.</param>
public sealed record TaskSubject(
    string UploadId, string? Caption, string? FirstMediaSha256, long Views, long Reports, long? RoutedAtMs, IReadOnlyList<RoutedCategory> Routes)
{
    /// <summary>Whether the upload has media at all (its first file): only media is graphic to look at.</summary>
    public bool HasMedia => !string.IsNullOrEmpty(FirstMediaSha256);
}

/// <summary>One category's routing outcome (<c>review</c>, <c>action</c>, <c>allow</c>) and score.</summary>
public sealed record RoutedCategory(string Category, string Outcome, double Score);

/// <summary>A task as the rule plans it, in the shape of a <c>review_tasks</c> row.</summary>
public sealed record PlannedTask(
    string UploadId, string Kind, string Queue, double Priority, double? BaseScore, string RequiredRole, string? ClusterKey,
    int Graphic, string? ExcludedUser, long EnteredAtMs, long DueAtMs);

/// <summary>
/// The one place a review task opens, whatever opens it: routing to review (inside the routing transaction), the
/// start-up backfill of uploads routed before this rule, re-queueing on user reports, appeals and quality samples
/// (and, later, audit samples). <see cref="Plan"/> is the rule for queue, priority, SLA, graphic flag, cluster key
/// and excluded reviewer; the rest reads what the rule needs and writes the rows in the caller's transaction.
/// There is one task per upload and kind (the table's key): a <c>review</c> or <c>appeal</c> task replaces a finished
/// one of its kind, an open one is left as it is, and a quality sample is taken once per upload.
/// Nothing that reads a queue opens tasks.
/// </summary>
public sealed class ReviewTasks(ModerationDatabase database, IOptions<ReviewOptions> options, TimeProvider time)
{
    /// <summary>How long a blind second opinion may wait: it measures agreement and changes nothing on the item.</summary>
    public static readonly TimeSpan QualitySampleSla = TimeSpan.FromDays(7);

    /// <summary>Appeals are taken before routed items of the same deadline: a creator is waiting on the answer.</summary>
    public const double AppealPriority = 1.0;

    public const double QualitySamplePriority = 0.0;

    private ReviewOptions O => options.Value;

    /// <summary>
    /// The rule. A <c>review</c> task goes to the queue of the upload's highest-scored category that the policy sent to
    /// review (of any category when none was, as for an item the model allowed; <c>unrouted</c> or <c>reported</c>
    /// when it has no routing at all), with a priority made of that score, its reach and reports
    /// (<see cref="QueuePriority"/>), the queue's SLA from when it was routed (from now when reports re-queue it), a
    /// cluster key from its first media file or caption, open to everyone who decides (<c>triage</c> and up; an
    /// escalation raises it, <see cref="ReviewAction.EscalatesTo"/>), graphic when it has media and any of those categories is
    /// graphic. An <c>appeal</c> goes to the appealed decision's queue (an automated action's: its top actioned category)
    /// with that queue's SLA, fixed priority 1, kept from the original decider (nobody, for an automated action), for
    /// moderators and up (triage does not decide appeals). A <c>quality</c> sample stays in the decided task's queue,
    /// priority 0, a week to answer, kept from the first reviewer, for moderators and up, graphic when it has media and a
    /// decided category is graphic. A text-only upload is never graphic: the exposure cap is about looking at pictures
    /// and video, and a caption in a graphic category does not count toward it.
    /// </summary>
    /// <param name="subject">For review tasks: the upload's routing, reach and reports.</param>
    /// <param name="queue">For appeals and quality samples: the decision's queue.</param>
    /// <param name="categories">For quality samples: the categories the decision covered.</param>
    /// <param name="excludedUser">For appeals and quality samples: the reviewer who decided first.</param>
    /// <param name="hasMedia">For appeals and quality samples: whether the upload has media (review tasks read it from <paramref name="subject"/>).</param>
    public static PlannedTask Plan(TaskOrigin origin, string uploadId, long nowMs, ReviewOptions o,
        TaskSubject? subject = null, string? queue = null, IReadOnlyCollection<string>? categories = null, string? excludedUser = null,
        bool hasMedia = false)
    {
        switch (origin)
        {
            case TaskOrigin.Routed or TaskOrigin.Reported:
            {
                if (subject is null) throw new ArgumentNullException(nameof(subject), "A review task is planned from its upload's routing.");
                var reviewed = subject.Routes.Where(r => r.Outcome == Policies.RouteOutcome.Review).ToList();
                var candidates = reviewed.Count > 0 ? reviewed : subject.Routes;
                var top = candidates.OrderByDescending(r => r.Score).ThenBy(r => r.Category, StringComparer.Ordinal).FirstOrDefault();
                var reviewQueue = top?.Category ?? (origin == TaskOrigin.Reported ? "reported" : "unrouted");
                var score = top?.Score ?? 0.0;
                var entered = origin == TaskOrigin.Routed ? subject.RoutedAtMs ?? nowMs : nowMs;
                return new PlannedTask(uploadId, ReviewTaskKind.Review, reviewQueue,
                    QueuePriority.Compute(score, subject.Views, subject.Reports, o.Priority).Total, score, Access.ReviewRoles.Triage,
                    ClusterKey(subject.FirstMediaSha256, subject.Caption),
                    subject.HasMedia && (candidates.Any(r => o.IsGraphic(r.Category)) || o.IsGraphic(reviewQueue)) ? 1 : 0, null,
                    entered, entered + (long)o.SlaFor(reviewQueue).TotalMilliseconds);
            }
            case TaskOrigin.Appealed:
            {
                var appealQueue = queue ?? throw new ArgumentNullException(nameof(queue), "An appeal stays in its decision's queue.");
                return new PlannedTask(uploadId, ReviewTaskKind.Appeal, appealQueue, AppealPriority, null, Access.ReviewRoles.Moderator, null,
                    hasMedia && o.IsGraphic(appealQueue) ? 1 : 0, excludedUser, nowMs, nowMs + (long)o.SlaFor(appealQueue).TotalMilliseconds);
            }
            case TaskOrigin.QualitySample:
            {
                var sampleQueue = queue ?? throw new ArgumentNullException(nameof(queue), "A quality sample stays in its decision's queue.");
                return new PlannedTask(uploadId, ReviewTaskKind.Quality, sampleQueue, QualitySamplePriority, null, Access.ReviewRoles.Moderator, null,
                    hasMedia && (categories ?? [sampleQueue]).Any(o.IsGraphic) ? 1 : 0, excludedUser, nowMs, nowMs + (long)QualitySampleSla.TotalMilliseconds);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(origin));
        }
    }

    /// <summary>Items that are the same media (first file's SHA-256) or the same normalised caption are one cluster.</summary>
    public static string? ClusterKey(string? firstMediaSha256, string? caption)
    {
        if (!string.IsNullOrEmpty(firstMediaSha256)) return "media:" + firstMediaSha256;
        var normalised = string.Join(' ', (caption ?? "").ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (normalised.Length < 8) return null; // short captions ("lol") say nothing about being the same item
        return "text:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));
    }

    private static readonly DialectSql SelectSubjects = DialectSql.WithList("""
        SELECT u.id, u.caption, u.policy_version, u.routed_at_ms, u.views, u.report_count,
               (SELECT m.sha256 FROM media m WHERE m.upload_id = u.id AND m.ordinal = 0) AS first_media
        FROM uploads u WHERE u.id IN @Ids
        """);

    private static readonly DialectSql SelectRoutes = DialectSql.WithList("""
        SELECT upload_id, category, policy_version, outcome, score FROM routing_decisions WHERE upload_id IN @Ids
        """);

    private static readonly DialectSql CountMedia = DialectSql.Portable("""
        SELECT COUNT(*) FROM media WHERE upload_id = @Id
        """);

    private static readonly DialectSql DeleteFinished = DialectSql.WithList("""
        DELETE FROM review_tasks WHERE upload_id IN @Ids AND kind = @Kind AND state = 'done'
        """);

    private static readonly DialectSql InsertTask = DialectSql.InsertIfAbsent("review_tasks",
        "upload_id, kind, queue, priority, base_score, required_role, state, cluster_key, graphic, excluded_user, entered_at_ms, due_at_ms",
        "@UploadId, @Kind, @Queue, @Priority, @BaseScore, @RequiredRole, 'open', @ClusterKey, @Graphic, @ExcludedUser, @EnteredAtMs, @DueAtMs",
        ["upload_id", "kind"]);

    private const string Unqueued = """
        u.status = 'in_review' AND NOT EXISTS (SELECT 1 FROM review_tasks t WHERE t.upload_id = u.id AND t.kind = 'review')
        """;

    // Keyset pagination on (routed_at_ms, id) so a pass over a large backlog reads each upload once. SQL Server has
    // no row-value comparison; it spells it out.
    private static readonly DialectSql SelectUnqueued = new(
        sqlite: $"SELECT u.id, u.routed_at_ms FROM uploads u WHERE {Unqueued} AND (COALESCE(u.routed_at_ms, -1), u.id) > (@Since, @AfterId) ORDER BY COALESCE(u.routed_at_ms, -1), u.id LIMIT @Limit",
        postgres: $"SELECT u.id, u.routed_at_ms FROM uploads u WHERE {Unqueued} AND (COALESCE(u.routed_at_ms, -1), u.id) > (@Since, @AfterId) ORDER BY COALESCE(u.routed_at_ms, -1), u.id LIMIT @Limit",
        sqlServer: $"SELECT TOP (@Limit) u.id, u.routed_at_ms FROM uploads u WHERE {Unqueued} AND (COALESCE(u.routed_at_ms, -1) > @Since OR COALESCE(u.routed_at_ms, -1) = @Since AND u.id > @AfterId) ORDER BY COALESCE(u.routed_at_ms, -1), u.id");

    /// <summary>
    /// Opens <c>review</c> tasks for these uploads in the caller's transaction (routing, re-queueing) and returns the
    /// tasks as planned (an upload that already has an open one keeps it). The caller has already moved them to
    /// <c>in_review</c>.
    /// </summary>
    internal async Task<IReadOnlyList<PlannedTask>> OpenForReviewAsync(DbConnection connection, DbTransaction transaction,
        IReadOnlyCollection<string> uploadIds, TaskOrigin origin, long nowMs, CancellationToken ct) =>
        (await OpenReviewCoreAsync(connection, transaction, uploadIds, origin, nowMs, ct)).Planned;

    private async Task<(int Opened, IReadOnlyList<PlannedTask> Planned)> OpenReviewCoreAsync(DbConnection connection, DbTransaction transaction,
        IReadOnlyCollection<string> uploadIds, TaskOrigin origin, long nowMs, CancellationToken ct)
    {
        if (origin is not (TaskOrigin.Routed or TaskOrigin.Reported)) throw new ArgumentOutOfRangeException(nameof(origin));
        if (uploadIds.Count == 0) return (0, []);
        var subjects = await SubjectsAsync(connection, transaction, uploadIds.ToArray(), ct);
        var planned = subjects.Select(s => Plan(origin, s.UploadId, nowMs, O, subject: s)).ToList();
        return (await WriteAsync(connection, transaction, ReviewTaskKind.Review, planned, ct), planned);
    }

    /// <summary>Opens the appeal of a decision (or of an automated action: no decider to keep from it) in the caller's transaction.</summary>
    internal async Task<int> OpenAppealAsync(DbConnection connection, DbTransaction transaction, string uploadId, string decisionQueue, string? decidedBy,
        long nowMs, CancellationToken ct) =>
        await WriteAsync(connection, transaction, ReviewTaskKind.Appeal,
            [Plan(TaskOrigin.Appealed, uploadId, nowMs, O, queue: decisionQueue, excludedUser: decidedBy,
                hasMedia: await HasMediaAsync(connection, transaction, uploadId, ct))], ct);

    /// <summary>Opens a blind second opinion on a final decision in the caller's transaction.</summary>
    internal async Task<int> OpenQualitySampleAsync(DbConnection connection, DbTransaction transaction, string uploadId, string queue,
        IReadOnlyCollection<string> categories, string decidedBy, long nowMs, CancellationToken ct) =>
        await WriteAsync(connection, transaction, ReviewTaskKind.Quality,
            [Plan(TaskOrigin.QualitySample, uploadId, nowMs, O, queue: queue, categories: categories, excludedUser: decidedBy,
                hasMedia: await HasMediaAsync(connection, transaction, uploadId, ct))], ct);

    private async Task<bool> HasMediaAsync(DbConnection connection, DbTransaction transaction, string uploadId, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountMedia), new { Id = uploadId }, transaction, cancellationToken: ct)) > 0;

    /// <summary>
    /// Opens the <c>review</c> tasks missing for uploads in <c>in_review</c>: those routed before tasks opened in the
    /// routing transaction (when reading a queue took them in). Run at start-up after the migrations; idempotent
    /// (insert-if-absent), so several hosts may run it at once. Returns how many it opened.
    /// </summary>
    public async Task<int> OpenMissingAsync(CancellationToken ct, int pageSize = 1000)
    {
        var opened = 0;
        var since = long.MinValue;
        var afterId = "";
        while (true)
        {
            List<UnqueuedRow> page;
            await using (var connection = await database.OpenAsync(ct))
                page = (await connection.QueryAsync<UnqueuedRow>(new CommandDefinition(database.Sql(SelectUnqueued),
                    new { Limit = pageSize, Since = since, AfterId = afterId }, cancellationToken: ct))).ToList();
            if (page.Count == 0) break;
            var ids = page.Select(p => p.Id).ToArray();
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            // One transaction per page: a thousand autocommitted inserts would be a thousand synchronous commits.
            opened += await WriteGate.RunAsync(database, () => database.InTransactionAsync(async (c, t) =>
            {
                var (inserted, _) = await OpenReviewCoreAsync(c, t, ids, TaskOrigin.Routed, now, ct);
                // No row lock orders this against a report or reach batch committing meanwhile (routing holds the upload's
                // row; this pass does not): read the counts again now the tasks exist.
                await QueuePriority.RecomputeAsync(database, c, t, ids, O.Priority, ct);
                return inserted;
            }, ct), ct);
            if (page.Count < pageSize) break;
            since = page[^1].RoutedAtMs ?? -1;
            afterId = page[^1].Id;
        }
        return opened;
    }

    private async Task<IReadOnlyList<TaskSubject>> SubjectsAsync(DbConnection connection, DbTransaction transaction, string[] ids, CancellationToken ct)
    {
        var uploads = (await connection.QueryAsync<SubjectRow>(new CommandDefinition(database.Sql(SelectSubjects), new { Ids = ids }, transaction, cancellationToken: ct))).ToList();
        var routes = (await connection.QueryAsync<RouteRow>(new CommandDefinition(database.Sql(SelectRoutes), new { Ids = ids }, transaction, cancellationToken: ct)))
            .ToLookup(r => r.UploadId, StringComparer.Ordinal);
        return uploads.OrderBy(u => u.Id, StringComparer.Ordinal).Select(u => new TaskSubject(u.Id, u.Caption, u.FirstMedia?.Trim(), u.Views, u.ReportCount, u.RoutedAtMs,
            routes[u.Id].Where(r => r.PolicyVersion == (u.PolicyVersion ?? "")).Select(r => new RoutedCategory(r.Category, r.Outcome, r.Score)).ToList())).ToList();
    }

    private async Task<int> WriteAsync(DbConnection connection, DbTransaction transaction, string kind, IReadOnlyList<PlannedTask> tasks, CancellationToken ct)
    {
        if (tasks.Count == 0) return 0;
        if (kind != ReviewTaskKind.Quality)
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(DeleteFinished),
                new { Ids = tasks.Select(t => t.UploadId).ToArray(), Kind = kind }, transaction, cancellationToken: ct));
        return await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertTask), tasks, transaction, cancellationToken: ct));
    }

    private sealed class UnqueuedRow
    {
        public string Id { get; init; } = "";
        public long? RoutedAtMs { get; init; }
    }

    private sealed class SubjectRow
    {
        public string Id { get; init; } = "";
        public string? Caption { get; init; }
        public string? PolicyVersion { get; init; }
        public long? RoutedAtMs { get; init; }
        public long Views { get; init; }
        public long ReportCount { get; init; }
        public string? FirstMedia { get; init; }
    }

    private sealed class RouteRow
    {
        public string UploadId { get; init; } = "";
        public string Category { get; init; } = "";
        public string PolicyVersion { get; init; } = "";
        public string Outcome { get; init; } = "";
        public double Score { get; init; }
    }
}
