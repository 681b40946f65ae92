using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>The rule <see cref="ReviewTasks.Plan"/> applies, one case per way a task opens.</summary>
public sealed class ReviewTaskRuleTests
{
    private static readonly ReviewOptions Options = new() { QueueSla = { ["harm"] = TimeSpan.FromHours(1) } };
    private const long Now = 1_000_000_000;

    private static TaskSubject Subject(params RoutedCategory[] routes) =>
        new("u1", "Buy followers now at cheap-followers dot example", MediaSha, 1000, 3, Now - 5_000, routes);

    private static readonly string MediaSha = new('a', 64);

    [Fact]
    public void A_routed_item_goes_to_its_highest_scored_review_category_with_that_queues_sla_from_routing()
    {
        var task = ReviewTasks.Plan(TaskOrigin.Routed, "u1", Now, Options, Subject(
            new RoutedCategory("misinformation", RouteOutcome.Review, 0.6),
            new RoutedCategory("harm.violence", RouteOutcome.Review, 0.7),
            new RoutedCategory("bias", RouteOutcome.Allow, 0.95)));

        task.Kind.Should().Be(ReviewTaskKind.Review);
        task.Queue.Should().Be("harm.violence", "the allowed category scored higher but was not sent to review");
        task.BaseScore.Should().Be(0.7);
        task.Priority.Should().Be(QueuePriority.Compute(0.7, 1000, 3, Options.Priority).Total);
        task.EnteredAtMs.Should().Be(Now - 5_000, "the SLA clock starts when the policy routed it");
        task.DueAtMs.Should().Be(Now - 5_000 + (long)TimeSpan.FromHours(1).TotalMilliseconds, "harm's SLA covers harm.violence");
        task.Graphic.Should().Be(1);
        task.ClusterKey.Should().Be(ReviewTasks.ClusterKey(MediaSha, null));
        task.ExcludedUser.Should().BeNull();
        task.RequiredRole.Should().Be(ReviewRoles.Triage, "everyone who decides may take it until someone escalates it");
    }

    [Fact]
    public void A_reported_item_the_model_allowed_goes_to_its_highest_scored_category_from_now()
    {
        var task = ReviewTasks.Plan(TaskOrigin.Reported, "u1", Now, Options, Subject(
            new RoutedCategory("misinformation", RouteOutcome.Allow, 0.3),
            new RoutedCategory("bias", RouteOutcome.Allow, 0.1)));

        task.Queue.Should().Be("misinformation");
        task.EnteredAtMs.Should().Be(Now);
        task.DueAtMs.Should().Be(Now + (long)Options.DefaultSla.TotalMilliseconds);
        task.Graphic.Should().Be(0);
        ReviewTasks.Plan(TaskOrigin.Reported, "u1", Now, Options, Subject()).Queue.Should().Be("reported", "no routing at all");
        ReviewTasks.Plan(TaskOrigin.Routed, "u1", Now, Options, Subject()).Queue.Should().Be("unrouted");
    }

    [Fact]
    public void Appeals_and_quality_samples_keep_the_decisions_queue_and_are_kept_from_the_first_decider()
    {
        var appeal = ReviewTasks.Plan(TaskOrigin.Appealed, "u1", Now, Options, queue: "harm", excludedUser: "u-alice", hasMedia: true);
        appeal.Should().Be(new PlannedTask("u1", ReviewTaskKind.Appeal, "harm", ReviewTasks.AppealPriority, null, ReviewRoles.Moderator, null, 1,
            "u-alice", Now, Now + (long)TimeSpan.FromHours(1).TotalMilliseconds));

        var sample = ReviewTasks.Plan(TaskOrigin.QualitySample, "u1", Now, Options, queue: "misinformation", categories: ["misinformation", "harm"], excludedUser: "u-bob", hasMedia: true);
        sample.Should().Be(new PlannedTask("u1", ReviewTaskKind.Quality, "misinformation", ReviewTasks.QualitySamplePriority, null, ReviewRoles.Moderator,
            null, 1, "u-bob", Now, Now + (long)ReviewTasks.QualitySampleSla.TotalMilliseconds));
    }

    [Fact]
    public void An_upload_without_media_is_never_graphic_whatever_its_category()
    {
        var textOnly = Subject(new RoutedCategory("harm.violence", RouteOutcome.Review, 0.7)) with { FirstMediaSha256 = null };
        ReviewTasks.Plan(TaskOrigin.Routed, "u1", Now, Options, textOnly).Graphic.Should().Be(0);
        ReviewTasks.Plan(TaskOrigin.Reported, "u1", Now, Options, textOnly).Graphic.Should().Be(0);
        ReviewTasks.Plan(TaskOrigin.Routed, "u1", Now, Options, textOnly with { FirstMediaSha256 = MediaSha }).Graphic.Should().Be(1);
        ReviewTasks.Plan(TaskOrigin.Appealed, "u1", Now, Options, queue: "harm", excludedUser: "u-alice").Graphic.Should().Be(0);
        ReviewTasks.Plan(TaskOrigin.QualitySample, "u1", Now, Options, queue: "harm", categories: ["harm"], excludedUser: "u-bob").Graphic.Should().Be(0);
    }
}

/// <summary>Where review tasks open (routing, the start-up backfill) and where they do not (reads), once per database.</summary>
public abstract class ReviewTasksContract(DatabaseProvider provider)
{
    private static readonly Reviewer Alice = new("u-alice", "alice", [ReviewRoles.Moderator]);

    private static readonly DialectSql InsertQueued = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, caption, hashtags, comments, status, received_at_ms, enqueued_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, @Caption, '[]', '[]', 'queued', 1, 1, 1)
        """);

    private static readonly DialectSql SelectTasks = DialectSql.Portable("""
        SELECT t.upload_id, t.kind, t.queue, t.priority, t.base_score, t.graphic, t.cluster_key, t.entered_at_ms, t.due_at_ms, u.routed_at_ms
        FROM review_tasks t JOIN uploads u ON u.id = t.upload_id ORDER BY t.upload_id, t.kind
        """);

    private static async Task<TestDatabase> MigratedAsync(DatabaseProvider provider)
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return test;
    }

    private static async Task<List<TaskRow>> TasksAsync(ModerationDatabase database)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<TaskRow>(database.Sql(SelectTasks))).ToList();
    }

    private static async Task<string> QueuedAsync(ModerationDatabase database, string caption)
    {
        var id = Guid.CreateVersion7().ToString();
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync(database.Sql(InsertQueued), new { Id = id, ExternalId = "ext-" + id, Caption = caption });
        return id;
    }

    private static ScoredUpload Scored(string id, string caption, params (string Category, double Score)[] scores)
    {
        var attributed = scores.Select(s => new AttributedScore("test", new CategoryScore(s.Category, s.Score, "m1", []))).ToList();
        var decision = new RoutingPolicy(new RoutingPolicyOptions()).Route(attributed.Select(a => a.Score).ToList());
        return new ScoredUpload(new UploadContent(id, "ext-" + id, null, caption, [], null, [], null, []), attributed, decision);
    }

    [Fact]
    public async Task Routing_an_upload_to_review_opens_its_task_in_the_routing_write_and_a_retry_opens_nothing_twice()
    {
        await using var test = await MigratedAsync(provider);
        var database = test.Database;
        var options = new ReviewOptions();
        var writer = new ScoringOutcomeWriter(database, new ReviewTasks(database, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System), TimeProvider.System);
        var caption = "Borderline clip with a long enough caption";
        var review = await QueuedAsync(database, caption);
        var allowed = await QueuedAsync(database, "harmless cooking video");
        var batch = new[]
        {
            Scored(review, caption, ("misinformation", 0.6), ("harm", 0.7), ("bias", 0.1)),
            Scored(allowed, "harmless cooking video", ("misinformation", 0.1), ("harm", 0.2)),
        };

        (await writer.WriteAsync(batch, CancellationToken.None)).Should().HaveCount(2);

        var task = (await TasksAsync(database)).Should().ContainSingle("only the upload routed to review gets a task, and no read was needed").Subject;
        task.UploadId.Should().Be(review);
        task.Kind.Should().Be(ReviewTaskKind.Review);
        task.Queue.Should().Be("harm");
        task.BaseScore.Should().Be(0.7);
        task.Priority.Should().Be(QueuePriority.Compute(0.7, 0, 0, options.Priority).Total);
        task.Graphic.Should().Be(0, "harm is a graphic category, but a text-only upload shows nothing graphic");
        task.ClusterKey.Should().Be(ReviewTasks.ClusterKey(null, caption));
        task.EnteredAtMs.Should().Be(task.RoutedAtMs!.Value, "the task is written with the routing, stamped with its time");
        task.DueAtMs.Should().Be(task.RoutedAtMs.Value + (long)options.DefaultSla.TotalMilliseconds);

        (await writer.WriteAsync(batch, CancellationToken.None)).Should().BeEmpty();
        (await TasksAsync(database)).Should().ContainSingle();
    }

    [Fact]
    public async Task Reading_or_claiming_from_the_queues_writes_nothing_and_the_start_up_backfill_opens_what_is_missing()
    {
        await using var test = await MigratedAsync(provider);
        var database = test.Database;
        var wrapped = Microsoft.Extensions.Options.Options.Create(new ReviewOptions());
        var queue = new ReviewQueue(database, wrapped, TimeProvider.System);
        var tasks = new ReviewTasks(database, wrapped, TimeProvider.System);
        var routedAt = DateTimeOffset.UtcNow.AddMinutes(-3).ToUnixTimeMilliseconds();
        var legacy = await ReviewSeed.InReviewWithoutTaskAsync(database, 3, "harm", score: 0.8, routedAtMs: routedAt, withMedia: true);

        (await queue.SummaryAsync(CancellationToken.None)).Should().BeEmpty();
        (await queue.ListAsync(null, null, false, QueueSort.Due, 50, CancellationToken.None)).Should().BeEmpty();
        (await queue.ClaimNextAsync(Alice, null, CancellationToken.None)).Should().BeNull("a claim takes only tasks that exist");
        (await TasksAsync(database)).Should().BeEmpty("reads never write");
        (await AuditLog.ReadAsync(database, 0, 10, CancellationToken.None)).Should().BeEmpty();

        (await tasks.OpenMissingAsync(CancellationToken.None, pageSize: 2)).Should().Be(3, "two pages");
        (await tasks.OpenMissingAsync(CancellationToken.None)).Should().Be(0, "idempotent");
        var opened = await TasksAsync(database);
        opened.Select(t => t.UploadId).Should().BeEquivalentTo(legacy);
        opened.Should().OnlyContain(t => t.Queue == "harm" && t.EnteredAtMs == routedAt && t.BaseScore == 0.8 && t.Graphic == 1,
            "the same rule as at routing, with the SLA clock from the original routing");
        (await queue.ClaimNextAsync(Alice, null, CancellationToken.None)).Should().NotBeNull();
    }

    private sealed class TaskRow
    {
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Queue { get; init; } = "";
        public double Priority { get; init; }
        public double? BaseScore { get; init; }
        public long Graphic { get; init; }
        public string? ClusterKey { get; init; }
        public long EnteredAtMs { get; init; }
        public long DueAtMs { get; init; }
        public long? RoutedAtMs { get; init; }
    }
}

public sealed class SqliteReviewTasksContract() : ReviewTasksContract(DatabaseProvider.Sqlite);
public sealed class PostgresReviewTasksContract() : ReviewTasksContract(DatabaseProvider.Postgres);
public sealed class SqlServerReviewTasksContract() : ReviewTasksContract(DatabaseProvider.SqlServer);
