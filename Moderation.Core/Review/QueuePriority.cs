using System.Data.Common;
using Dapper;
using Moderation.Core.Storage;

namespace Moderation.Core.Review;

/// <summary>
/// Bound from <c>Moderation:Review:Priority</c>: how a review item's priority weighs its routed score, its reach
/// (views the platform reports) and user reports, and when reports send an allowed item back to review.
/// </summary>
public sealed class QueuePriorityOptions
{
    public double ScoreWeight { get; set; } = 1.0;
    public double ReachWeight { get; set; } = 0.5;
    public double ReportsWeight { get; set; } = 0.5;

    /// <summary>Views at which the reach term reaches 1 (it grows with the logarithm of views: 1,000 views are half of 1,000,000).</summary>
    public long ReachFullAt { get; set; } = 1_000_000;

    /// <summary>Reports at which the report term is one half (n / (n + this)): the first few reports count most.</summary>
    public double ReportsHalfAt { get; set; } = 3;

    /// <summary>
    /// Reports since the last human decision (all reports, for an item the model allowed or actioned) that send an
    /// allowed item, or one the policy actioned with no reviewer's decision, back to review; 0: reports never re-queue.
    /// </summary>
    public int RequeueAfterReports { get; set; } = 5;

    /// <summary>Why a user may report an upload; a report with another reason is refused.</summary>
    public string[] ReportReasons { get; set; } =
        ["spam", "harassment", "hate", "violence", "self_harm", "sexual", "misinformation", "dangerous", "copyright", "other"];

    public IEnumerable<string> Problems()
    {
        if (new[] { ScoreWeight, ReachWeight, ReportsWeight }.Any(w => w < 0 || double.IsNaN(w) || double.IsInfinity(w)))
            yield return "Moderation:Review:Priority weights must be finite and not negative.";
        if (ReachFullAt < 10) yield return "Moderation:Review:Priority:ReachFullAt must be at least 10 views.";
        if (!(ReportsHalfAt > 0) || double.IsInfinity(ReportsHalfAt)) yield return "Moderation:Review:Priority:ReportsHalfAt must be positive.";
        if (RequeueAfterReports < 0) yield return "Moderation:Review:Priority:RequeueAfterReports must be 0 (off) or more.";
        if (ReportReasons.Length == 0 || ReportReasons.Any(r => string.IsNullOrWhiteSpace(r) || r.Length > 64))
            yield return "Moderation:Review:Priority:ReportReasons needs at least one reason of 1 to 64 characters.";
    }
}

/// <summary>A review item's priority and the parts it is made of (each term 0..1 before its weight).</summary>
public sealed record PriorityParts(double Score, double Reach, double Reports, double Total);

/// <summary>
/// The priority a review task is claimed by (highest first, after items near their SLA breach):
/// <c>ScoreWeight·score + ReachWeight·min(1, log10(1+views)/log10(1+ReachFullAt)) + ReportsWeight·reports/(reports+ReportsHalfAt)</c>.
/// Time waiting is not a term: a stored priority cannot grow by itself, so waiting works through the SLA clock
/// (items within NearBreach of their deadline are claimed first, earliest deadline first). The priority is stored
/// on the task and recomputed when reach or reports change, so the claim stays an index walk.
/// </summary>
public static class QueuePriority
{
    public static PriorityParts Compute(double score, long views, long reports, QueuePriorityOptions o)
    {
        var reach = views <= 0 ? 0.0 : Math.Min(1.0, Math.Log10(1.0 + views) / Math.Log10(1.0 + o.ReachFullAt));
        var reported = reports <= 0 ? 0.0 : reports / (reports + o.ReportsHalfAt);
        var total = o.ScoreWeight * score + o.ReachWeight * reach + o.ReportsWeight * reported;
        return new PriorityParts(score, reach, reported, Math.Round(total, 6));
    }

    private static readonly DialectSql SelectOpenReviewTasks = DialectSql.WithList("""
        SELECT t.upload_id, t.priority, t.base_score, u.views, u.report_count
        FROM review_tasks t JOIN uploads u ON u.id = t.upload_id
        WHERE t.upload_id IN @Ids AND t.kind = 'review' AND t.state = 'open'
        """);

    private static readonly DialectSql UpdatePriority = DialectSql.Portable("""
        UPDATE review_tasks SET priority = @Priority, base_score = @BaseScore WHERE upload_id = @UploadId AND kind = 'review' AND state = 'open'
        """);

    /// <summary>Recomputes the priority of the open review tasks of these uploads, inside the caller's transaction.</summary>
    internal static async Task<int> RecomputeAsync(ModerationDatabase database, DbConnection connection, DbTransaction transaction,
        IReadOnlyCollection<string> uploadIds, QueuePriorityOptions options, CancellationToken ct)
    {
        if (uploadIds.Count == 0) return 0;
        var rows = (await connection.QueryAsync<TaskRow>(new CommandDefinition(database.Sql(SelectOpenReviewTasks),
            new { Ids = uploadIds.ToArray() }, transaction, cancellationToken: ct))).ToList();
        var changes = new List<PriorityChange>();
        foreach (var r in rows)
        {
            // Tasks queued before 0008 have no base score: their priority was the routed score.
            var score = r.BaseScore ?? r.Priority;
            var priority = Compute(score, r.Views, r.ReportCount, options).Total;
            if (priority != r.Priority || r.BaseScore is null) changes.Add(new PriorityChange(r.UploadId, score, priority));
        }
        if (changes.Count > 0)
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdatePriority), changes, transaction, cancellationToken: ct));
        return changes.Count;
    }

    private sealed record PriorityChange(string UploadId, double BaseScore, double Priority);

    private sealed class TaskRow
    {
        public string UploadId { get; init; } = "";
        public double Priority { get; init; }
        public double? BaseScore { get; init; }
        public long Views { get; init; }
        public long ReportCount { get; init; }
    }
}
