using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Review;

/// <summary>One queue (category and task kind) on the queue list.</summary>
public sealed record QueueSummary(string Queue, string Kind, int Open, int Held, int Breached, DateTimeOffset? Oldest, DateTimeOffset? NextDue);

/// <summary>
/// An open task as a queue lists it. <see cref="Priority"/> is what the claim orders by; for review tasks it is made
/// of <see cref="BaseScore"/> (the routed score), <see cref="Views"/> and <see cref="Reports"/> (<see cref="QueuePriority"/>).
/// </summary>
public sealed record QueuedTask(
    string UploadId, string Kind, string Queue, double Priority, string RequiredRole, bool Graphic,
    DateTimeOffset EnteredAt, DateTimeOffset DueAt, string? LeaseHolder, DateTimeOffset? LeaseUntil, string ExternalId, string? Caption,
    long Views = 0, long Reports = 0, double? BaseScore = null);

/// <summary>Who is asking: the user's id, name and roles.</summary>
public sealed record Reviewer(string Id, string Name, IReadOnlyCollection<string> Roles)
{
    public bool IsSenior => Roles.Contains(Access.ReviewRoles.Senior) || Roles.Contains(Access.ReviewRoles.Admin);

    /// <summary>A moderator or above: may take what triage escalated, appeals and quality samples.</summary>
    public bool IsModerator => IsSenior || Roles.Contains(Access.ReviewRoles.Moderator);
}

/// <summary>A task held by a reviewer until <see cref="Until"/>.</summary>
public sealed record ReviewLease(string UploadId, string Kind, DateTimeOffset Until);

public enum QueueSort { Due, Priority, Oldest }

/// <summary>
/// The review queues: reading them and claiming from them. Tasks are opened elsewhere, by <see cref="ReviewTasks"/>
/// only (nothing here writes a task but its lease); a reviewer claims the next one with a lease. A claim is one conditional UPDATE on a row whose lease is free or expired, so two
/// reviewers can never hold the same task whatever the interleaving (PostgreSQL adds SKIP LOCKED, SQL Server
/// READPAST, so concurrent claimers move on to other rows instead of queueing behind one; the PostgreSQL pick is a
/// materialised CTE because a LIMIT 1 subquery joined in UPDATE ... FROM can be rescanned per row and lease them
/// all, which the PostgreSQL contract test caught). An abandoned lease
/// simply expires and the task is claimable again.
/// </summary>
public sealed class ReviewQueue(ModerationDatabase database, IOptions<ReviewOptions> options, TimeProvider time)
{
    private ReviewOptions O => options.Value;

    private static readonly DialectSql SelectSummary = DialectSql.Portable("""
        SELECT queue, kind, COUNT(*) AS open_count,
               SUM(CASE WHEN lease_until_ms >= @Now THEN 1 ELSE 0 END) AS held,
               SUM(CASE WHEN due_at_ms < @Now THEN 1 ELSE 0 END) AS breached,
               MIN(entered_at_ms) AS oldest_ms, MIN(due_at_ms) AS next_due_ms
        FROM review_tasks WHERE state = 'open' GROUP BY queue, kind ORDER BY queue, kind
        """);

    private const string ListColumns = """
        t.upload_id, t.kind, t.queue, t.priority, t.required_role, t.graphic, t.entered_at_ms, t.due_at_ms, t.lease_holder, t.lease_until_ms,
        u.external_id, u.caption, u.views, u.report_count AS reports, t.base_score
        """;
    private const string ListFilter = """
        t.state = 'open' AND (@Queue = '' OR t.queue = @Queue) AND (@Kind = '' OR t.kind = @Kind)
        AND (@BreachedOnly = 0 OR t.due_at_ms < @Now)
        """;

    private static DialectSql ListSql(string orderBy) => new(
        sqlite: $"SELECT {ListColumns} FROM review_tasks t JOIN uploads u ON u.id = t.upload_id WHERE {ListFilter} ORDER BY {orderBy} LIMIT @Limit",
        postgres: $"SELECT {ListColumns} FROM review_tasks t JOIN uploads u ON u.id = t.upload_id WHERE {ListFilter} ORDER BY {orderBy} LIMIT @Limit",
        sqlServer: $"SELECT TOP (@Limit) {ListColumns} FROM review_tasks t JOIN uploads u ON u.id = t.upload_id WHERE {ListFilter} ORDER BY {orderBy}");

    private static readonly DialectSql ListByDue = ListSql("t.due_at_ms, t.priority DESC, t.upload_id");
    private static readonly DialectSql ListByPriority = ListSql("t.priority DESC, t.due_at_ms, t.upload_id");
    private static readonly DialectSql ListByOldest = ListSql("t.entered_at_ms, t.upload_id");

    // Who may take a task: open, lease free or expired, the right role, not the person it must be kept from, and
    // not graphic once the reviewer has reached the day's exposure cap.
    private const string Claimable = """
        state = 'open' AND (lease_until_ms IS NULL OR lease_until_ms < @Now)
        AND (required_role = 'triage' OR required_role = 'moderator' AND @Moderator = 1 OR @Senior = 1)
        AND (excluded_user IS NULL OR excluded_user <> @User)
        AND (@Queue = '' OR queue = @Queue)
        AND (@AllowGraphic = 1 OR graphic = 0)
        """;

    // Two index-backed picks instead of one sort over the whole backlog: first the item nearest its deadline among
    // those within NearBreach of it (or past it), else the highest priority (earliest deadline among equals).
    private static DialectSql ClaimNextSql(string extraFilter, string orderBy) => new(
        sqlite: $"""
            UPDATE review_tasks SET lease_holder = @User, lease_until_ms = @Until, claimed_at_ms = @Now
            WHERE (upload_id, kind) = (SELECT upload_id, kind FROM review_tasks WHERE {Claimable} {extraFilter} ORDER BY {orderBy} LIMIT 1)
              AND {Claimable}
            RETURNING upload_id, kind
            """,
        postgres: $"""
            WITH n AS MATERIALIZED (SELECT upload_id, kind FROM review_tasks WHERE {Claimable} {extraFilter} ORDER BY {orderBy} LIMIT 1 FOR UPDATE SKIP LOCKED)
            UPDATE review_tasks t SET lease_holder = @User, lease_until_ms = @Until, claimed_at_ms = @Now
            FROM n
            WHERE t.upload_id = n.upload_id AND t.kind = n.kind
              AND t.state = 'open' AND (t.lease_until_ms IS NULL OR t.lease_until_ms < @Now)
            RETURNING t.upload_id, t.kind
            """,
        sqlServer: $"""
            WITH n AS (SELECT TOP (1) * FROM review_tasks WITH (UPDLOCK, READPAST, ROWLOCK) WHERE {Claimable} {extraFilter} ORDER BY {orderBy})
            UPDATE n SET lease_holder = @User, lease_until_ms = @Until, claimed_at_ms = @Now
            OUTPUT inserted.upload_id, inserted.kind
            """);

    private static readonly DialectSql ClaimNextUrgent = ClaimNextSql("AND due_at_ms <= @NearBreach", "due_at_ms, upload_id");
    private static readonly DialectSql ClaimNextByPriority = ClaimNextSql("", "priority DESC, due_at_ms, upload_id");

    private static readonly DialectSql ClaimOne = new(
        sqlite: $"""
            UPDATE review_tasks SET lease_holder = @User, lease_until_ms = @Until, claimed_at_ms = @Now
            WHERE upload_id = @UploadId AND kind = @Kind AND {Claimable}
            RETURNING upload_id, kind
            """,
        postgres: $"""
            UPDATE review_tasks SET lease_holder = @User, lease_until_ms = @Until, claimed_at_ms = @Now
            WHERE upload_id = @UploadId AND kind = @Kind AND {Claimable}
            RETURNING upload_id, kind
            """,
        sqlServer: $"""
            UPDATE review_tasks SET lease_holder = @User, lease_until_ms = @Until, claimed_at_ms = @Now
            OUTPUT inserted.upload_id, inserted.kind
            WHERE upload_id = @UploadId AND kind = @Kind AND {Claimable}
            """);

    private static readonly DialectSql SelectHeld = new(
        sqlite: "SELECT upload_id, kind, lease_until_ms FROM review_tasks WHERE lease_holder = @User AND state = 'open' AND lease_until_ms >= @Now ORDER BY claimed_at_ms LIMIT 1",
        postgres: "SELECT upload_id, kind, lease_until_ms FROM review_tasks WHERE lease_holder = @User AND state = 'open' AND lease_until_ms >= @Now ORDER BY claimed_at_ms LIMIT 1",
        sqlServer: "SELECT TOP (1) upload_id, kind, lease_until_ms FROM review_tasks WHERE lease_holder = @User AND state = 'open' AND lease_until_ms >= @Now ORDER BY claimed_at_ms");

    private static readonly DialectSql Renew = DialectSql.Portable("""
        UPDATE review_tasks SET lease_until_ms = @Until
        WHERE upload_id = @UploadId AND kind = @Kind AND state = 'open' AND lease_holder = @User AND lease_until_ms >= @Now
        """);

    private static readonly DialectSql Release = DialectSql.Portable("""
        UPDATE review_tasks SET lease_holder = NULL, lease_until_ms = NULL
        WHERE upload_id = @UploadId AND kind = @Kind AND state = 'open' AND lease_holder = @User
        """);

    private static readonly DialectSql SelectTask = DialectSql.Portable("""
        SELECT t.upload_id, t.kind, t.queue, t.priority, t.required_role, t.graphic, t.entered_at_ms, t.due_at_ms, t.lease_holder, t.lease_until_ms,
               u.external_id, u.caption, u.views, u.report_count AS reports, t.base_score
        FROM review_tasks t JOIN uploads u ON u.id = t.upload_id WHERE t.upload_id = @UploadId AND t.kind = @Kind AND t.state = 'open'
        """);

    private static readonly DialectSql SelectOpenKinds = DialectSql.Portable("""
        SELECT kind FROM review_tasks WHERE upload_id = @UploadId AND state = 'open' ORDER BY kind
        """);

    private static readonly DialectSql CountExposure = DialectSql.Portable("""
        SELECT COUNT(*) FROM exposure_views WHERE user_id = @User AND day = @Day
        """);

    private static readonly DialectSql InsertExposure = DialectSql.InsertIfAbsent("exposure_views",
        "user_id, day, upload_id, viewed_at_ms", "@UserId, @Day, @UploadId, @Now", ["user_id", "day", "upload_id"]);

    public async Task<IReadOnlyList<QueueSummary>> SummaryAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<SummaryRow>(new CommandDefinition(database.Sql(SelectSummary), new { Now = now }, cancellationToken: ct));
        return rows.Select(r => new QueueSummary(r.Queue, r.Kind, (int)r.OpenCount, (int)(r.Held ?? 0), (int)(r.Breached ?? 0),
            r.OldestMs is { } o ? DateTimeOffset.FromUnixTimeMilliseconds(o) : null,
            r.NextDueMs is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null)).ToList();
    }

    public async Task<IReadOnlyList<QueuedTask>> ListAsync(string? queue, string? kind, bool breachedOnly, QueueSort sort, int limit, CancellationToken ct)
    {
        var statement = sort switch { QueueSort.Priority => ListByPriority, QueueSort.Oldest => ListByOldest, _ => ListByDue };
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<TaskRow>(new CommandDefinition(database.Sql(statement), new
        {
            Queue = queue ?? "", Kind = kind ?? "", BreachedOnly = breachedOnly ? 1 : 0, Now = time.GetUtcNow().ToUnixTimeMilliseconds(),
            Limit = Math.Clamp(limit, 1, 500),
        }, cancellationToken: ct));
        return rows.Select(r => r.ToTask()).ToList();
    }

    public async Task<QueuedTask?> FindOpenAsync(string uploadId, string kind, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QueryFirstOrDefaultAsync<TaskRow>(new CommandDefinition(database.Sql(SelectTask), new { UploadId = uploadId, Kind = kind }, cancellationToken: ct));
        return row?.ToTask();
    }

    public async Task<IReadOnlyList<string>> OpenKindsAsync(string uploadId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectOpenKinds), new { UploadId = uploadId }, cancellationToken: ct))).ToList();
    }

    /// <summary>
    /// The task the reviewer already holds, else the next claimable one (optionally from one queue), leased to
    /// them; null when nothing is claimable. Each new claim is an audit event.
    /// </summary>
    public Task<ReviewLease?> ClaimNextAsync(Reviewer reviewer, string? queue, CancellationToken ct) =>
        ClaimAsync(reviewer, queue, null, null, ct);

    /// <summary>Claims one given task if it is free and the reviewer may take it.</summary>
    public Task<ReviewLease?> ClaimAsync(Reviewer reviewer, string uploadId, string kind, CancellationToken ct) =>
        ClaimAsync(reviewer, null, uploadId, kind, ct);

    private async Task<ReviewLease?> ClaimAsync(Reviewer reviewer, string? queue, string? uploadId, string? kind, CancellationToken ct) =>
        await WriteGate.RunAsync(database, () => AuditedChange.RunAsync<ReviewLease?>(database, time, AuditActors.User(reviewer.Name), async change =>
        {
            var (connection, transaction, now, nowMs) = (change.Connection, change.Transaction, change.Now, change.NowMs);
            var until = now + O.LeaseDuration;
            if (uploadId is null)
            {
                var held = await connection.QueryFirstOrDefaultAsync<HeldRow>(new CommandDefinition(database.Sql(SelectHeld),
                    new { User = reviewer.Id, Now = nowMs }, transaction, cancellationToken: ct));
                if (held is not null) return new ReviewLease(held.UploadId, held.Kind, DateTimeOffset.FromUnixTimeMilliseconds(held.LeaseUntilMs));
            }
            var allowGraphic = O.ExposureCapPerDay == 0 || await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountExposure),
                new { User = reviewer.Id, Day = Day(now) }, transaction, cancellationToken: ct)) < O.ExposureCapPerDay;
            var parameters = new
            {
                User = reviewer.Id, Now = nowMs, Until = until.ToUnixTimeMilliseconds(), Senior = reviewer.IsSenior ? 1 : 0, Moderator = reviewer.IsModerator ? 1 : 0,
                Queue = queue ?? "", AllowGraphic = allowGraphic ? 1 : 0, NearBreach = nowMs + (long)O.NearBreach.TotalMilliseconds,
                UploadId = uploadId ?? "", Kind = kind ?? "",
            };
            ClaimedRow? claimed;
            if (uploadId is not null)
                claimed = await connection.QueryFirstOrDefaultAsync<ClaimedRow>(new CommandDefinition(database.Sql(ClaimOne), parameters, transaction, cancellationToken: ct));
            else
                claimed = await connection.QueryFirstOrDefaultAsync<ClaimedRow>(new CommandDefinition(database.Sql(ClaimNextUrgent), parameters, transaction, cancellationToken: ct))
                    ?? await connection.QueryFirstOrDefaultAsync<ClaimedRow>(new CommandDefinition(database.Sql(ClaimNextByPriority), parameters, transaction, cancellationToken: ct));
            if (claimed is null) return null;
            change.Record("review.claimed", "upload", claimed.UploadId,
                afterState: JsonSerializer.Serialize(new { kind = claimed.Kind, holder = reviewer.Id, leaseUntil = until }));
            return new ReviewLease(claimed.UploadId, claimed.Kind, until);
        }, ct), ct);

    /// <summary>Extends a lease the reviewer still holds; false when it expired or was never theirs.</summary>
    public async Task<ReviewLease?> RenewAsync(Reviewer reviewer, string uploadId, string kind, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var until = now + O.LeaseDuration;
        await using var connection = await database.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(database.Sql(Renew), new
        {
            UploadId = uploadId, Kind = kind, User = reviewer.Id, Now = now.ToUnixTimeMilliseconds(), Until = until.ToUnixTimeMilliseconds(),
        }, cancellationToken: ct));
        return changed == 1 ? new ReviewLease(uploadId, kind, until) : null;
    }

    /// <summary>Gives a held task back to its queue.</summary>
    public Task<bool> ReleaseAsync(Reviewer reviewer, string uploadId, string kind, CancellationToken ct) =>
        AuditedChange.RunAsync(database, time, AuditActors.User(reviewer.Name), async change =>
        {
            var changed = await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Release),
                new { UploadId = uploadId, Kind = kind, User = reviewer.Id }, change.Transaction, cancellationToken: ct));
            if (changed == 0) return false;
            change.Record("review.released", "upload", uploadId, afterState: JsonSerializer.Serialize(new { kind }));
            return true;
        }, ct);

    /// <summary>Counts a graphic item toward the reviewer's exposure today (once per item per day).</summary>
    public async Task RecordExposureAsync(Reviewer reviewer, string uploadId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertExposure), new
        {
            UserId = reviewer.Id, Day = Day(now), UploadId = uploadId, Now = now.ToUnixTimeMilliseconds(),
        }, cancellationToken: ct));
    }

    public async Task<int> ExposureTodayAsync(string userId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountExposure),
            new { User = userId, Day = Day(time.GetUtcNow()) }, cancellationToken: ct));
    }

    private static int Day(DateTimeOffset at) => (int)(at.ToUnixTimeMilliseconds() / 86_400_000);

    private sealed class SummaryRow
    {
        public string Queue { get; init; } = "";
        public string Kind { get; init; } = "";
        public long OpenCount { get; init; }
        public long? Held { get; init; }
        public long? Breached { get; init; }
        public long? OldestMs { get; init; }
        public long? NextDueMs { get; init; }
    }

    private sealed class HeldRow
    {
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
        public long LeaseUntilMs { get; init; }
    }

    private sealed class ClaimedRow
    {
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
    }

    internal sealed class TaskRow
    {
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Queue { get; init; } = "";
        public double Priority { get; init; }
        public string RequiredRole { get; init; } = "";
        public long Graphic { get; init; }
        public long EnteredAtMs { get; init; }
        public long DueAtMs { get; init; }
        public string? LeaseHolder { get; init; }
        public long? LeaseUntilMs { get; init; }
        public string ExternalId { get; init; } = "";
        public string? Caption { get; init; }
        public long Views { get; init; }
        public long Reports { get; init; }
        public double? BaseScore { get; init; }

        public QueuedTask ToTask() => new(UploadId, Kind, Queue, Priority, RequiredRole, Graphic != 0,
            DateTimeOffset.FromUnixTimeMilliseconds(EnteredAtMs), DateTimeOffset.FromUnixTimeMilliseconds(DueAtMs), LeaseHolder,
            LeaseUntilMs is { } l ? DateTimeOffset.FromUnixTimeMilliseconds(l) : null, ExternalId, Caption, Views, Reports, BaseScore);
    }
}
