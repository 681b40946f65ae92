using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Review;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Tests.Infrastructure;
using Moderation.Core.Refusals;

namespace Moderation.Tests.Review;

/// <summary>The formula alone (pure logic).</summary>
public sealed class QueuePriorityTests
{
    private static readonly QueuePriorityOptions Defaults = new();

    [Fact]
    public void Without_reach_or_reports_the_priority_is_the_weighted_score()
    {
        QueuePriority.Compute(0.7, 0, 0, Defaults).Total.Should().Be(0.7);
        QueuePriority.Compute(0.7, 0, 0, new QueuePriorityOptions { ScoreWeight = 2 }).Total.Should().Be(1.4);
    }

    [Fact]
    public void Reach_grows_with_the_logarithm_of_views_and_stops_at_ReachFullAt()
    {
        var thousand = QueuePriority.Compute(0, 1_000, 0, Defaults);
        thousand.Reach.Should().BeApproximately(0.5, 0.001, "1,000 views are half way to 1,000,000 on a log scale");
        QueuePriority.Compute(0, 1_000_000, 0, Defaults).Reach.Should().BeApproximately(1.0, 1e-9);
        QueuePriority.Compute(0, 50_000_000, 0, Defaults).Reach.Should().Be(1.0);
        thousand.Total.Should().BeApproximately(0.25, 0.001, "ReachWeight 0.5");
    }

    [Fact]
    public void Reports_count_most_at_first_and_ReportsHalfAt_reports_give_one_half()
    {
        QueuePriority.Compute(0, 0, 1, Defaults).Reports.Should().Be(0.25);
        QueuePriority.Compute(0, 0, 3, Defaults).Reports.Should().Be(0.5);
        QueuePriority.Compute(0, 0, 9, Defaults).Reports.Should().Be(0.75);
        QueuePriority.Compute(0.5, 0, 3, Defaults).Total.Should().Be(0.75);
    }

    [Fact]
    public void Bad_weights_are_named_at_start_up()
    {
        var options = new ReviewOptions { Priority = new QueuePriorityOptions { ReachWeight = -1, ReportsHalfAt = 0, ReportReasons = [] } };
        var problems = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).Select(r => r.ErrorMessage).ToList();
        problems.Should().Contain(p => p!.Contains("weights")).And.Contain(p => p!.Contains("ReportsHalfAt")).And.Contain(p => p!.Contains("ReportReasons"));
    }
}

/// <summary>Reach and reports in the queue priority, the re-queue of reported items, and provider accounts, once per database.</summary>
public abstract class QueuePriorityContract(DatabaseProvider provider)
{
    private static readonly Reviewer Alice = new("u-alice", "alice", [ReviewRoles.Moderator]);

    private sealed record Setup(TestDatabase Test, ReviewQueue Queue, ReviewDecisions Decisions, UserReports Reports, UploadReach Reach,
        WorkbenchUsers Users, ManualClock Clock, ReviewOptions Options) : IAsyncDisposable
    {
        public ModerationDatabase Database => Test.Database;
        public ValueTask DisposeAsync() => Test.DisposeAsync();
    }

    private async Task<Setup> MigratedAsync(Action<ReviewOptions>? configure = null)
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var options = new ReviewOptions { QualitySampleRate = 0 };
        configure?.Invoke(options);
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var wrapped = Options.Create(options);
        var tasks = new ReviewTasks(test.Database, wrapped, clock);
        return new Setup(test, new ReviewQueue(test.Database, wrapped, clock), new ReviewDecisions(test.Database, wrapped, tasks, clock),
            new UserReports(test.Database, wrapped, tasks, clock), new UploadReach(test.Database, wrapped, clock), new WorkbenchUsers(test.Database, clock),
            clock, options);
    }

    private static async Task<QueuedTask> TaskOfAsync(Setup s, string id) =>
        (await s.Queue.FindOpenAsync(id, ReviewTaskKind.Review, CancellationToken.None))!;

    [Fact]
    public async Task Reports_and_reach_raise_an_items_priority_past_a_higher_scored_one()
    {
        await using var s = await MigratedAsync();
        var high = (await ReviewSeed.InReviewAsync(s.Database, 1, score: 0.8, options: s.Options)).Single();
        var viral = (await ReviewSeed.InReviewAsync(s.Database, 1, score: 0.6, options: s.Options)).Single();
        (await TaskOfAsync(s, viral)).Priority.Should().Be(0.6);

        var reach = await s.Reach.RecordAsync([new ReachUpdate(viral, 250_000), new ReachUpdate("seed-" + high, 10), new ReachUpdate("nope", 5)], CancellationToken.None);
        reach.Updated.Should().Be(2, "the upload by id and the other by its external id");
        reach.Unknown.Should().Equal("nope");
        var afterReach = await TaskOfAsync(s, viral);
        afterReach.Views.Should().Be(250_000);
        afterReach.BaseScore.Should().Be(0.6);
        afterReach.Priority.Should().BeApproximately(QueuePriority.Compute(0.6, 250_000, 0, s.Options.Priority).Total, 1e-9);

        for (var i = 0; i < 3; i++)
            (await s.Reports.ReportAsync("key-1", viral, $"reporter-{i}", "harassment", null, CancellationToken.None)).Created.Should().BeTrue();
        var reported = await TaskOfAsync(s, viral);
        reported.Reports.Should().Be(3);
        reported.Priority.Should().BeGreaterThan((await TaskOfAsync(s, high)).Priority);

        var listed = await s.Queue.ListAsync(null, null, false, QueueSort.Priority, 10, CancellationToken.None);
        listed.Select(t => t.UploadId).Should().Equal(viral, high);
        (await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None))!.UploadId.Should().Be(viral, "the claim orders by the same stored priority");
    }

    [Fact]
    public async Task A_reporter_counts_once_per_upload_and_bad_reports_name_the_field()
    {
        await using var s = await MigratedAsync();
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();
        var first = await s.Reports.ReportAsync("key-1", item, "reporter-1", "spam", "  buy now  ", CancellationToken.None);
        var again = await s.Reports.ReportAsync("key-1", "seed-" + item, "reporter-1", "hate", null, CancellationToken.None);

        first.Created.Should().BeTrue();
        again.Created.Should().BeFalse();
        again.ReportId.Should().Be(first.ReportId);
        again.Reports.Should().Be(1);
        (await s.Reports.ReasonsAsync(item, CancellationToken.None)).Should().Equal(("spam", 1L));

        var unknownReason = () => s.Reports.ReportAsync("key-1", item, "reporter-2", "boring", null, CancellationToken.None);
        (await unknownReason.Should().ThrowAsync<Refusal>()).Which.Field.Should().Be("reason");
        var noUpload = () => s.Reports.ReportAsync("key-1", "missing", "reporter-2", "spam", null, CancellationToken.None);
        (await noUpload.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.NotFound);
        var longDetail = () => s.Reports.ReportAsync("key-1", item, "reporter-2", "spam", new string('x', 1001), CancellationToken.None);
        (await longDetail.Should().ThrowAsync<Refusal>()).Which.Field.Should().Be("detail");
    }

    [Fact]
    public async Task Reach_only_rises_and_a_stale_batch_changes_nothing()
    {
        await using var s = await MigratedAsync();
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();
        (await s.Reach.RecordAsync([new ReachUpdate(item, 500), new ReachUpdate(item, 900)], CancellationToken.None)).Updated.Should().Be(1);
        var stale = await s.Reach.RecordAsync([new ReachUpdate(item, 300)], CancellationToken.None);
        stale.Updated.Should().Be(0);
        stale.Unchanged.Should().Be(1);
        var task = await TaskOfAsync(s, item);
        task.Views.Should().Be(900, "the highest count in the batch, and a later lower one is ignored");
        task.Priority.Should().BeApproximately(QueuePriority.Compute(0.7, 900, 0, s.Options.Priority).Total, 1e-9, "intake computes it from reach known before routing");
    }

    [Fact]
    public async Task Enough_reports_send_an_allowed_item_back_to_review_once_and_it_is_audited()
    {
        await using var s = await MigratedAsync(o => o.Priority.RequeueAfterReports = 3);
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, "harm", score: 0.6, options: s.Options, withMedia: true)).Single();
        var lease = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        s.Clock.Now += TimeSpan.FromSeconds(1);
        await s.Decisions.DecideAsync(Alice, item, lease!.Kind, ReviewAction.Allow, "no-violation", null, null, CancellationToken.None);
        s.Clock.Now += TimeSpan.FromSeconds(1);

        (await s.Reports.ReportAsync("key-1", item, "r1", "violence", null, CancellationToken.None)).Requeued.Should().BeFalse();
        (await s.Reports.ReportAsync("key-1", item, "r2", "violence", null, CancellationToken.None)).Requeued.Should().BeFalse();
        (await s.Reports.ReportAsync("key-1", item, "r2", "violence", null, CancellationToken.None)).Requeued.Should().BeFalse("a repeat is no new report");
        var third = await s.Reports.ReportAsync("key-1", item, "r3", "violence", null, CancellationToken.None);
        third.Requeued.Should().BeTrue();

        await using (var connection = await s.Database.OpenAsync())
            (await connection.ExecuteScalarAsync<string>(s.Database.Sql(ReviewQueueContract.SelectStatus), new { Id = item }))
                .Should().Be(UploadStatus.InReview);
        var task = await TaskOfAsync(s, item);
        task.Queue.Should().Be("harm");
        task.Graphic.Should().BeTrue();
        task.Reports.Should().Be(3);
        task.Priority.Should().BeApproximately(QueuePriority.Compute(0.6, 0, 3, s.Options.Priority).Total, 1e-9);
        var requeued = (await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Single(e => e.Action == "review.requeued");
        requeued.Actor.Should().Be("api:key-1");
        requeued.SubjectId.Should().Be(item);
        requeued.AfterState.Should().Contain("\"reportsSinceDecision\":3");

        (await s.Reports.ReportAsync("key-1", item, "r4", "violence", null, CancellationToken.None)).Requeued.Should().BeFalse("it is in review already");

        // Allowed again by a reviewer: only reports after that decision count toward the next re-queue.
        var again = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        again!.UploadId.Should().Be(item);
        s.Clock.Now += TimeSpan.FromSeconds(1);
        await s.Decisions.DecideAsync(Alice, item, again.Kind, ReviewAction.Allow, "no-violation", null, null, CancellationToken.None);
        s.Clock.Now += TimeSpan.FromSeconds(1);
        (await s.Reports.ReportAsync("key-1", item, "r5", "violence", null, CancellationToken.None)).Requeued.Should().BeFalse();
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task With_RequeueAfterReports_zero_reports_never_reopen_an_item()
    {
        await using var s = await MigratedAsync(o => o.Priority.RequeueAfterReports = 0);
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();
        var lease = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        await s.Decisions.DecideAsync(Alice, item, lease!.Kind, ReviewAction.Allow, "no-violation", null, null, CancellationToken.None);
        s.Clock.Now += TimeSpan.FromSeconds(1);
        for (var i = 0; i < 10; i++)
            (await s.Reports.ReportAsync("key-1", item, $"r{i}", "spam", null, CancellationToken.None)).Requeued.Should().BeFalse();
        (await s.Queue.OpenKindsAsync(item, CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_provider_account_is_made_once_keeps_admin_roles_when_the_provider_manages_none_and_never_signs_in_by_password()
    {
        await using var s = await MigratedAsync();
        var first = await s.Users.SignInExternalAsync(new ExternalSignIn("corp", "sub-9", "dana@example.org", null), [ReviewRoles.Triage], CancellationToken.None);
        first.UserName.Should().Be("dana@example.org");
        first.Roles.Should().Equal(ReviewRoles.Triage);
        first.SignsInWith.Should().Be("corp");

        await s.Users.SetRolesAsync("admin-id", "user:admin", first.Id, [ReviewRoles.Senior], CancellationToken.None);
        var second = await s.Users.SignInExternalAsync(new ExternalSignIn("corp", "sub-9", "dana@example.org", null), [ReviewRoles.Triage], CancellationToken.None);
        second.Id.Should().Be(first.Id);
        second.Roles.Should().Equal([ReviewRoles.Senior], "an admin assigns roles when the provider sends none");

        (await s.Users.SignInAsync("dana@example.org", "", CancellationToken.None)).Should().BeNull();
        (await s.Users.SignInAsync("dana@example.org", "any password at all", CancellationToken.None)).Should().BeNull();

        var odd = await s.Users.SignInExternalAsync(new ExternalSignIn("corp", "sub-10", "Ünïcode name!", []), [], CancellationToken.None);
        odd.UserName.Should().MatchRegex("^[A-Za-z0-9._@-]+$");
        odd.Roles.Should().BeEmpty("the provider manages roles and maps none for this user");

        var actions = (await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Select(e => e.Action).ToList();
        actions.Should().Equal("user.created", "user.signed_in", "user.roles_changed", "user.signed_in", "user.created", "user.signed_in");
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }
}

public sealed class SqliteQueuePriorityContract() : QueuePriorityContract(DatabaseProvider.Sqlite);
public sealed class PostgresQueuePriorityContract() : QueuePriorityContract(DatabaseProvider.Postgres);
public sealed class SqlServerQueuePriorityContract() : QueuePriorityContract(DatabaseProvider.SqlServer);
