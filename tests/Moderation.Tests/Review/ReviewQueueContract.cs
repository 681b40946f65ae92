using System.Text.Json;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Review;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Tests.Infrastructure;
using Moderation.Core.Refusals;

namespace Moderation.Tests.Review;

/// <summary>Queues, leases, decisions, appeals and bulk decisions against a real database, once per provider.</summary>
public abstract class ReviewQueueContract(DatabaseProvider provider)
{
    private static readonly Reviewer Alice = new("u-alice", "alice", [ReviewRoles.Moderator]);
    private static readonly Reviewer Bob = new("u-bob", "bob", [ReviewRoles.Moderator]);
    private static readonly Reviewer Sam = new("u-sam", "sam", [ReviewRoles.Senior]);
    private static readonly Reviewer Tess = new("u-tess", "tess", [ReviewRoles.Triage]);

    // Statements of the test's own, as DialectSql so the SQL Server parse check reads them too.
    internal static readonly DialectSql SelectStatus = DialectSql.Portable("SELECT status FROM uploads WHERE id = @Id");
    private static readonly DialectSql CountHolders = DialectSql.Portable("SELECT COUNT(DISTINCT lease_holder) FROM review_tasks WHERE lease_holder IS NOT NULL");
    private static readonly DialectSql SelectDecided = DialectSql.Portable("SELECT upload_id FROM review_decisions");
    private static readonly DialectSql SelectHumanSignals = DialectSql.Portable("SELECT upload_id FROM risk_signals WHERE source = 'human'");
    private static readonly DialectSql SelectGraphic = DialectSql.Portable("SELECT graphic FROM review_tasks WHERE upload_id = @Id AND kind = @Kind");

    private sealed record Setup(TestDatabase Test, ReviewQueue Queue, ReviewDecisions Decisions, ManualClock Clock, ReviewOptions Options) : IAsyncDisposable
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
        return new Setup(test, new ReviewQueue(test.Database, wrapped, clock), new ReviewDecisions(test.Database, wrapped, new ReviewTasks(test.Database, wrapped, clock), clock), clock, options);
    }

    [Fact]
    public async Task Concurrent_claims_never_hand_one_item_to_two_reviewers()
    {
        await using var s = await MigratedAsync();
        var items = await ReviewSeed.InReviewAsync(s.Database, 6, options: s.Options);
        var reviewers = Enumerable.Range(0, 16).Select(i => new Reviewer($"u-{i}", $"mod{i}", [ReviewRoles.Moderator])).ToList();

        var leases = await Task.WhenAll(reviewers.Select(r => Task.Run(() => s.Queue.ClaimNextAsync(r, null, CancellationToken.None))));

        var granted = leases.Where(l => l is not null).Select(l => l!.UploadId).ToList();
        granted.Should().HaveCount(6, "six items, sixteen reviewers");
        granted.Should().OnlyHaveUniqueItems();
        granted.Should().BeEquivalentTo(items);
        await using var connection = await s.Database.OpenAsync();
        var holders = await connection.ExecuteScalarAsync<long>(s.Database.Sql(CountHolders));
        holders.Should().Be(6);
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task Many_reviewers_claiming_and_deciding_decide_every_item_exactly_once()
    {
        await using var s = await MigratedAsync();
        var items = await ReviewSeed.InReviewAsync(s.Database, 30, options: s.Options);
        var reviewers = Enumerable.Range(0, 8).Select(i => new Reviewer($"u-{i}", $"mod{i}", [ReviewRoles.Moderator])).ToList();

        await Task.WhenAll(reviewers.Select(r => Task.Run(async () =>
        {
            while (await s.Queue.ClaimNextAsync(r, null, CancellationToken.None) is { } lease)
                await s.Decisions.DecideAsync(r, lease.UploadId, lease.Kind, ReviewAction.Remove, "spam-scam", null, null, CancellationToken.None);
        })));

        await using var connection = await s.Database.OpenAsync();
        var decided = (await connection.QueryAsync<string>(s.Database.Sql(SelectDecided))).ToList();
        decided.Should().BeEquivalentTo(items, "each item decided once, by whoever claimed it");
        var human = (await connection.QueryAsync<string>(s.Database.Sql(SelectHumanSignals))).ToList();
        human.Should().BeEquivalentTo(items);
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task An_abandoned_lease_expires_back_to_the_queue_and_its_holder_can_no_longer_decide()
    {
        await using var s = await MigratedAsync();
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();

        var lease = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        lease!.UploadId.Should().Be(item);
        (await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None)).Should().BeNull("alice holds the only item");
        (await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None))!.UploadId.Should().Be(item, "asking again returns what she holds");
        (await s.Queue.RenewAsync(Alice, item, lease.Kind, CancellationToken.None)).Should().NotBeNull();

        s.Clock.Now += s.Options.LeaseDuration + TimeSpan.FromSeconds(1);
        (await s.Queue.RenewAsync(Alice, item, lease.Kind, CancellationToken.None)).Should().BeNull("the lease lapsed");
        (await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None))!.UploadId.Should().Be(item);

        var late = () => s.Decisions.DecideAsync(Alice, item, lease.Kind, ReviewAction.Allow, "no-violation", null, null, CancellationToken.None);
        (await late.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict);
        await s.Decisions.DecideAsync(Bob, item, lease.Kind, ReviewAction.Allow, "no-violation", null, null, CancellationToken.None);
        (await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task A_decision_sets_the_state_sends_a_human_signal_and_is_audited()
    {
        await using var s = await MigratedAsync();
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, "harm", options: s.Options)).Single();
        var lease = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);

        var outcome = await s.Decisions.DecideAsync(Alice, item, lease!.Kind, ReviewAction.AgeRestrict, "mature-themes", "  context: fight scene ", null, CancellationToken.None);

        outcome.DecisionIds.Should().HaveCount(1);
        await using var connection = await s.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = item }))
            .Should().Be(UploadStatus.Actioned);
        var signals = (await SignalFeed.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Signals;
        signals.Should().ContainSingle().Which.Should().Match<RiskSignal>(r =>
            r.Source == SignalSource.Human && r.Action == SignalAction.Interstitial && r.Category == "harm" && r.UploadId == item);
        var events = await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None);
        events.Select(e => e.Action).Should().Equal("review.claimed", "review.decided");
        events[1].Actor.Should().Be("user:alice");
        events[1].Reason.Should().Be("mature-themes");
        events[1].AfterState.Should().Contain("context: fight scene");
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task Demote_sends_a_demotion_with_the_policy_multiplier_and_a_misinformation_label_reduces_reach()
    {
        await using var s = await MigratedAsync(o => o.LabelMultipliers["harm.hate"] = 0.7);
        var demoted = (await ReviewSeed.InReviewAsync(s.Database, 1, "harm", options: s.Options)).Single();
        var misinformation = (await ReviewSeed.InReviewAsync(s.Database, 1, "misinformation.health", options: s.Options)).Single();
        var hate = (await ReviewSeed.InReviewAsync(s.Database, 1, "harm.hate", options: s.Options)).Single();
        var other = (await ReviewSeed.InReviewAsync(s.Database, 1, "harm", options: s.Options)).Single();

        foreach (var (item, action, reason) in new[]
        {
            (demoted, ReviewAction.Demote, "borderline-harm"), (misinformation, ReviewAction.Label, "disputed-claim"),
            (hate, ReviewAction.Label, "sensitive-content"), (other, ReviewAction.Label, "sensitive-content"),
        })
        {
            var lease = await s.Queue.ClaimAsync(Alice, item, ReviewTaskKind.Review, CancellationToken.None);
            await s.Decisions.DecideAsync(Alice, item, lease!.Kind, action, reason, null, null, CancellationToken.None);
        }

        var signals = (await SignalFeed.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Signals.Where(r => r.Source == SignalSource.Human).ToList();
        signals.Single(r => r.UploadId == demoted).Should().Match<RiskSignal>(r =>
            r.Action == SignalAction.Demote && r.DemotionMultiplier == s.Options.DemoteMultiplier, "a demotion is not a removal");
        s.Options.DemoteMultiplier.Should().BeInRange(0.01, 0.99);
        signals.Single(r => r.UploadId == misinformation).Should().Match<RiskSignal>(r =>
            r.Action == SignalAction.Label && r.Category == "misinformation.health" && r.DemotionMultiplier == 0.5, "the policy's misinformation label halves reach");
        signals.Single(r => r.UploadId == hate).DemotionMultiplier.Should().Be(0.7, "configured per category");
        signals.Single(r => r.UploadId == other).DemotionMultiplier.Should().Be(1.0, "a label alone keeps full reach");
        await using var connection = await s.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = demoted })).Should().Be(UploadStatus.Actioned);
    }

    [Fact]
    public void The_demote_and_label_multipliers_are_validated()
    {
        var options = new ReviewOptions { DemoteMultiplier = 0 };
        options.LabelMultipliers["misinformation"] = 1.5;
        var problems = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).Select(p => p.ErrorMessage).ToList();
        problems.Should().Contain(p => p!.Contains("DemoteMultiplier")).And.Contain(p => p!.Contains("LabelMultipliers:misinformation"));
    }

    [Fact]
    public async Task Roles_limit_decisions_and_escalation_goes_one_step_up_from_triage_to_moderators_then_seniors()
    {
        await using var s = await MigratedAsync();
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();
        var lease = await s.Queue.ClaimNextAsync(Tess, null, CancellationToken.None);
        lease.Should().NotBeNull();

        var remove = () => s.Decisions.DecideAsync(Tess, item, lease!.Kind, ReviewAction.Remove, "spam-scam", null, null, CancellationToken.None);
        (await remove.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Forbidden);
        var badReason = () => s.Decisions.DecideAsync(Tess, item, lease!.Kind, ReviewAction.Escalate, "spam-scam", null, null, CancellationToken.None);
        (await badReason.Should().ThrowAsync<Refusal>()).Which.Field.Should().Be("reasonCode");

        // Triage passes it to moderators: they can do what triage cannot (restrict it).
        await s.Decisions.DecideAsync(Tess, item, lease!.Kind, ReviewAction.Escalate, "unsure", null, null, CancellationToken.None);
        (await s.Queue.ClaimNextAsync(Tess, null, CancellationToken.None)).Should().BeNull("triage does not get back what it escalated");
        var moderator = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        moderator!.UploadId.Should().Be(item, "a triage escalation reaches the moderators");
        ReviewAction.AllowedFor(Alice.Roles, moderator.Kind, ReviewRoles.Moderator).Should().Contain([ReviewAction.Remove, ReviewAction.Escalate]);

        // A moderator's escalation goes to seniors only.
        await s.Decisions.DecideAsync(Alice, item, moderator.Kind, ReviewAction.Escalate, "needs-policy-call", null, null, CancellationToken.None);
        (await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None)).Should().BeNull("escalated by a moderator: seniors only");
        var senior = await s.Queue.ClaimNextAsync(Sam, null, CancellationToken.None);
        senior!.UploadId.Should().Be(item);
        var again = () => s.Decisions.DecideAsync(Sam, item, senior.Kind, ReviewAction.Escalate, "unsure", null, null, CancellationToken.None);
        (await again.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Forbidden, "seniors are the top of the path");
        await s.Decisions.DecideAsync(Sam, item, senior.Kind, ReviewAction.Remove, "hate-speech", null, null, CancellationToken.None);

        var escalations = (await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Where(e => e.Action == "review.escalated").ToList();
        escalations.Select(e => JsonDocument.Parse(e.AfterState!).RootElement.GetProperty("requiredRole").GetString())
            .Should().Equal(ReviewRoles.Moderator, ReviewRoles.Senior);
    }

    [Fact]
    public async Task Triage_cannot_take_appeals_or_quality_samples_it_could_not_decide()
    {
        await using var s = await MigratedAsync(o => o.QualitySampleRate = 1.0);
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();
        var lease = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        await s.Decisions.DecideAsync(Alice, item, lease!.Kind, ReviewAction.Remove, "spam-scam", null, null, CancellationToken.None);
        await s.Decisions.SubmitAppealAsync("key-1", item, "please look again", CancellationToken.None);

        (await s.Queue.ClaimNextAsync(Tess, null, CancellationToken.None)).Should().BeNull("an appeal and a quality sample wait, neither for triage");
        (await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None)).Should().NotBeNull();
    }

    [Fact]
    public async Task An_appeal_goes_to_someone_else_and_an_overturn_retracts_the_human_signal()
    {
        await using var s = await MigratedAsync();
        var item = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();
        var lease = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        await s.Decisions.DecideAsync(Alice, item, lease!.Kind, ReviewAction.Remove, "dangerous-misinformation", null, null, CancellationToken.None);
        var removal = (await SignalFeed.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Signals.Single();

        var (appealId, uploadId) = await s.Decisions.SubmitAppealAsync("key-1", "seed-" + item, "It is satire, see the channel name.", CancellationToken.None);
        uploadId.Should().Be(item);
        appealId.Should().NotBeNullOrEmpty();
        var twice = () => s.Decisions.SubmitAppealAsync("key-1", item, "again", CancellationToken.None);
        (await twice.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict);

        (await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None)).Should().BeNull("the original decider never gets the appeal");
        var appeal = await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None);
        appeal!.Kind.Should().Be(ReviewTaskKind.Appeal);
        var wrong = () => s.Decisions.DecideAsync(Bob, item, appeal.Kind, ReviewAction.Allow, "no-violation", null, null, CancellationToken.None);
        (await wrong.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Forbidden, "appeals are upheld or overturned");
        await s.Decisions.DecideAsync(Bob, item, appeal.Kind, ReviewAction.Overturn, "new-context", null, null, CancellationToken.None);

        var signals = (await SignalFeed.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Signals;
        signals.Should().Contain(r => r.Retracts == removal.Seq && r.Source == SignalSource.Human);
        signals.Last().Action.Should().Be(SignalAction.None);
        await using var connection = await s.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = item }))
            .Should().Be(UploadStatus.Allowed);
        var actions = (await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Select(e => e.Action).ToList();
        actions.Should().ContainInOrder("review.decided", "appeal.submitted", "review.claimed", "appeal.overturned");
        var none = () => s.Decisions.SubmitAppealAsync("key-1", item, "appeal the overturn", CancellationToken.None);
        (await none.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict, "nothing restricts the item any more");
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    private static readonly DialectSql SelectTasks = DialectSql.Portable("SELECT kind FROM review_tasks WHERE upload_id = @Id AND state = 'open'");

    [Fact]
    public async Task An_automated_action_is_appealed_to_a_human_who_overturns_it_and_its_signals_are_retracted()
    {
        await using var s = await MigratedAsync();
        var (item, acting) = (await ReviewSeed.ActionedAutomaticallyAsync(s.Database, 1, "harm.self_harm")).Single();

        var (appealId, uploadId) = await s.Decisions.SubmitAppealAsync("key-1", "seed-" + item, "It is a recovery story.", CancellationToken.None);
        uploadId.Should().Be(item);
        appealId.Should().NotBeNullOrEmpty();
        var twice = () => s.Decisions.SubmitAppealAsync("key-1", item, "again", CancellationToken.None);
        (await twice.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict, "one appeal per automated action");
        await using (var connection = await s.Database.OpenAsync())
        {
            (await connection.QueryAsync<string>(s.Database.Sql(SelectTasks), new { Id = item })).Should().Equal(ReviewTaskKind.Appeal);
            (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = item }))
                .Should().Be(UploadStatus.Actioned, "the restriction stands while the appeal waits");
        }

        // Nobody decided it, so nobody is kept from it.
        var appeal = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        appeal!.UploadId.Should().Be(item);
        appeal.Kind.Should().Be(ReviewTaskKind.Appeal);
        (await s.Queue.FindOpenAsync(item, appeal.Kind, CancellationToken.None))!.Queue.Should().Be("harm.self_harm", "the category acted on");
        await s.Decisions.DecideAsync(Alice, item, appeal.Kind, ReviewAction.Overturn, "misapplied-policy", null, null, CancellationToken.None);

        var signals = (await SignalFeed.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Signals.Where(r => r.UploadId == item).ToList();
        var retraction = signals.Should().ContainSingle(r => r.Retracts != null).Subject;
        retraction.Retracts.Should().Be(acting, "the model's ineligible signal is withdrawn; its clean bias score is not");
        retraction.Source.Should().Be(SignalSource.Human);
        signals.Should().Contain(r => r.Source == SignalSource.Human && r.Category == "harm.self_harm" && r.Action == SignalAction.None && r.Retracts == null);
        await using (var connection = await s.Database.OpenAsync())
        {
            (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = item })).Should().Be(UploadStatus.Allowed);
            (await connection.QueryAsync<string>(s.Database.Sql(SelectTasks), new { Id = item })).Should().BeEmpty();
        }
        var events = await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None);
        events.Select(e => e.Action).Should().ContainInOrder("appeal.submitted", "review.claimed", "appeal.overturned");
        events.Single(e => e.Action == "appeal.submitted").AfterState.Should().Contain("\"automated\":true");
        events.Single(e => e.Action == "appeal.overturned").AfterState.Should().Contain($"\"signals\":[{acting}]");
        var none = () => s.Decisions.SubmitAppealAsync("key-1", item, "appeal the overturn", CancellationToken.None);
        (await none.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict, "nothing restricts the item any more");
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task An_upheld_automated_action_stands_with_its_signals_and_is_not_appealed_again()
    {
        await using var s = await MigratedAsync();
        var (item, _) = (await ReviewSeed.ActionedAutomaticallyAsync(s.Database, 1)).Single();
        await s.Decisions.SubmitAppealAsync("key-1", item, "Please look again.", CancellationToken.None);
        var appeal = await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None);
        await s.Decisions.DecideAsync(Bob, item, appeal!.Kind, ReviewAction.Uphold, "decision-correct", null, null, CancellationToken.None);

        (await SignalFeed.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Signals.Should().NotContain(r => r.Retracts != null);
        await using var connection = await s.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = item })).Should().Be(UploadStatus.Actioned);
        var again = () => s.Decisions.SubmitAppealAsync("key-1", item, "again", CancellationToken.None);
        (await again.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict);
    }

    [Fact]
    public async Task Reports_send_an_automated_action_back_to_review_and_a_reviewer_who_allows_it_retracts_its_signals()
    {
        await using var s = await MigratedAsync();
        var reports = new UserReports(s.Database, Options.Create(s.Options), new ReviewTasks(s.Database, Options.Create(s.Options), s.Clock), s.Clock);
        var (item, acting) = (await ReviewSeed.ActionedAutomaticallyAsync(s.Database, 1, "harm.violence")).Single();
        // A reviewer's removal is contested by appeal, not re-queued by reports.
        var decided = (await ReviewSeed.InReviewAsync(s.Database, 1, options: s.Options)).Single();
        var lease = await s.Queue.ClaimAsync(Alice, decided, ReviewTaskKind.Review, CancellationToken.None);
        await s.Decisions.DecideAsync(Alice, decided, lease!.Kind, ReviewAction.Remove, "spam-scam", null, null, CancellationToken.None);
        s.Clock.Now += TimeSpan.FromSeconds(1);

        var threshold = s.Options.Priority.RequeueAfterReports;
        ReportOutcome? last = null, lastDecided = null;
        for (var i = 0; i < threshold; i++)
        {
            last = await reports.ReportAsync("key-1", item, $"reporter-{i}", "other", "this is fine, it is news footage", CancellationToken.None);
            lastDecided = await reports.ReportAsync("key-1", decided, $"reporter-{i}", "other", null, CancellationToken.None);
            if (i < threshold - 1) last.Requeued.Should().BeFalse();
        }
        last!.Requeued.Should().BeTrue("the policy actioned it and no reviewer has decided it");
        lastDecided!.Requeued.Should().BeFalse("a reviewer removed it");
        await using (var connection = await s.Database.OpenAsync())
        {
            (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = item })).Should().Be(UploadStatus.InReview);
            (await connection.QueryAsync<string>(s.Database.Sql(SelectTasks), new { Id = item })).Should().Equal(ReviewTaskKind.Review);
            (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = decided })).Should().Be(UploadStatus.Actioned);
        }
        var appealMeanwhile = () => s.Decisions.SubmitAppealAsync("key-1", item, "appeal", CancellationToken.None);
        (await appealMeanwhile.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict, "it is already before a reviewer");

        var review = await s.Queue.ClaimAsync(Bob, item, ReviewTaskKind.Review, CancellationToken.None);
        (await s.Queue.FindOpenAsync(item, review!.Kind, CancellationToken.None))!.Queue.Should().Be("harm.violence");
        await s.Decisions.DecideAsync(Bob, item, review.Kind, ReviewAction.Allow, "newsworthy", null, null, CancellationToken.None);

        var signals = (await SignalFeed.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Signals.Where(r => r.UploadId == item).ToList();
        signals.Should().ContainSingle(r => r.Retracts != null).Which.Retracts.Should().Be(acting);
        signals.Should().Contain(r => r.Source == SignalSource.Human && r.Category == "harm.violence" && r.Action == SignalAction.None && r.Retracts == null);
        await using (var connection = await s.Database.OpenAsync())
            (await connection.ExecuteScalarAsync<string>(s.Database.Sql(SelectStatus), new { Id = item })).Should().Be(UploadStatus.Allowed);
        var events = await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None);
        events.Single(e => e.Action == "review.requeued").BeforeState.Should().Contain(UploadStatus.Actioned);
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task A_bulk_decision_decides_each_free_cluster_member_and_audits_each()
    {
        await using var s = await MigratedAsync();
        var cluster = await ReviewSeed.InReviewAsync(s.Database, 4, caption: "Buy followers now at cheap-followers dot example", options: s.Options);
        var other = (await ReviewSeed.InReviewAsync(s.Database, 1, caption: "a different caption entirely, nothing alike", options: s.Options)).Single();
        var held = await s.Queue.ClaimAsync(Bob, cluster[3], ReviewTaskKind.Review, CancellationToken.None);
        held.Should().NotBeNull();
        var lease = await s.Queue.ClaimAsync(Alice, cluster[0], ReviewTaskKind.Review, CancellationToken.None);

        var outcome = await s.Decisions.DecideAsync(Alice, cluster[0], lease!.Kind, ReviewAction.Remove, "spam-scam", null,
            [cluster[1], cluster[2], cluster[3], other], CancellationToken.None);

        outcome.DecisionIds.Should().HaveCount(3);
        outcome.Skipped.Should().BeEquivalentTo([cluster[3], other], "bob holds one; the other is not in the cluster");
        var decided = (await AuditLog.ReadAsync(s.Database, 0, 100, CancellationToken.None)).Where(e => e.Action == "review.decided").Select(e => e.SubjectId);
        decided.Should().BeEquivalentTo(cluster.Take(3));
        (await AuditLog.VerifyAsync(s.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task Past_the_exposure_cap_graphic_items_go_to_others()
    {
        await using var s = await MigratedAsync(o => o.ExposureCapPerDay = 1);
        var graphic = await ReviewSeed.InReviewAsync(s.Database, 2, "harm", score: 0.8, options: s.Options, withMedia: true);
        var plain = (await ReviewSeed.InReviewAsync(s.Database, 1, "misinformation", score: 0.6, options: s.Options)).Single();

        var first = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
        graphic.Should().Contain(first!.UploadId, "higher priority first");
        await s.Queue.RecordExposureAsync(Alice, first.UploadId, CancellationToken.None);
        await s.Decisions.DecideAsync(Alice, first.UploadId, first.Kind, ReviewAction.Remove, "graphic-violence", null, null, CancellationToken.None);

        (await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None))!.UploadId.Should().Be(plain, "alice reached her cap for today");
        (await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None))!.UploadId.Should().Be(graphic.Single(g => g != first.UploadId));
    }

    [Fact]
    public async Task A_text_only_item_in_a_graphic_category_is_not_graphic_and_never_counts_toward_the_cap()
    {
        await using var s = await MigratedAsync(o => { o.ExposureCapPerDay = 1; o.QualitySampleRate = 1.0; });
        var pictured = (await ReviewSeed.InReviewAsync(s.Database, 1, "harm", score: 0.9, options: s.Options, withMedia: true)).Single();
        var texts = await ReviewSeed.InReviewAsync(s.Database, 2, "harm", score: 0.8, options: s.Options);
        await using (var connection = await s.Database.OpenAsync())
        {
            (await connection.ExecuteScalarAsync<long>(s.Database.Sql(SelectGraphic), new { Id = pictured, Kind = ReviewTaskKind.Review })).Should().Be(1);
            foreach (var text in texts)
                (await connection.ExecuteScalarAsync<long>(s.Database.Sql(SelectGraphic), new { Id = text, Kind = ReviewTaskKind.Review }))
                    .Should().Be(0, "a caption in a graphic category is not graphic to look at");
        }

        // Alice is at her cap: text-only harm items still come to her, the pictured one goes to others.
        var first = await s.Queue.ClaimAsync(Alice, pictured, ReviewTaskKind.Review, CancellationToken.None);
        await s.Queue.RecordExposureAsync(Alice, first!.UploadId, CancellationToken.None);
        await s.Decisions.DecideAsync(Alice, pictured, first.Kind, ReviewAction.Remove, "graphic-violence", null, null, CancellationToken.None);
        foreach (var _ in texts)
        {
            var next = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
            texts.Should().Contain(next!.UploadId);
            await s.Decisions.DecideAsync(Alice, next.UploadId, next.Kind, ReviewAction.Remove, "graphic-violence", null, null, CancellationToken.None);
        }
        (await s.Queue.ExposureTodayAsync(Alice.Id, CancellationToken.None)).Should().Be(1);

        // Their quality samples (and appeals) follow the same rule.
        await using (var connection = await s.Database.OpenAsync())
        {
            (await connection.ExecuteScalarAsync<long>(s.Database.Sql(SelectGraphic), new { Id = pictured, Kind = ReviewTaskKind.Quality })).Should().Be(1);
            (await connection.ExecuteScalarAsync<long>(s.Database.Sql(SelectGraphic), new { Id = texts[0], Kind = ReviewTaskKind.Quality })).Should().Be(0);
        }
        await s.Decisions.SubmitAppealAsync("key-1", texts[1], "it is news", CancellationToken.None);
        await using (var connection = await s.Database.OpenAsync())
            (await connection.ExecuteScalarAsync<long>(s.Database.Sql(SelectGraphic), new { Id = texts[1], Kind = ReviewTaskKind.Appeal })).Should().Be(0);
    }

    [Fact]
    public async Task Sampled_decisions_get_a_blind_second_review_and_agreement_is_reported()
    {
        await using var s = await MigratedAsync(o => o.QualitySampleRate = 1.0);
        var items = await ReviewSeed.InReviewAsync(s.Database, 2, options: s.Options);
        foreach (var _ in items)
        {
            var lease = await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None);
            lease!.Kind.Should().Be(ReviewTaskKind.Review);
            await s.Decisions.DecideAsync(Alice, lease.UploadId, lease.Kind, ReviewAction.Remove, "spam-scam", null, null, CancellationToken.None);
        }
        (await s.Queue.ClaimNextAsync(Alice, null, CancellationToken.None)).Should().BeNull("samples never go back to their first reviewer");
        var actions = new Queue<string>([ReviewAction.Remove, ReviewAction.Allow]);
        while (await s.Queue.ClaimNextAsync(Bob, null, CancellationToken.None) is { } sample)
        {
            sample.Kind.Should().Be(ReviewTaskKind.Quality);
            var action = actions.Dequeue();
            await s.Decisions.DecideAsync(Bob, sample.UploadId, sample.Kind, action, action == ReviewAction.Allow ? "no-violation" : "spam-scam", null, null, CancellationToken.None);
        }
        var report = await new QualityStats(s.Database).ReportAsync(CancellationToken.None);
        var alice = report.ByModerator.Single();
        alice.Group.Should().Be("alice");
        alice.Pairs.Should().Be(2);
        alice.ObservedAgreement.Should().Be(0.5);
        report.OpenSamples.Should().Be(0);
    }
}

public sealed class SqliteReviewQueueContract() : ReviewQueueContract(DatabaseProvider.Sqlite);
public sealed class PostgresReviewQueueContract() : ReviewQueueContract(DatabaseProvider.Postgres);
public sealed class SqlServerReviewQueueContract() : ReviewQueueContract(DatabaseProvider.SqlServer);
