using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Policies;

/// <summary>Policy versions in the database, on each database: seeding, the lifecycle, one live version, rollback, the two-person rule.</summary>
public abstract class PolicyVersionsContract(DatabaseProvider provider)
{
    private static readonly RoutingPolicyOptions Seed = new() { Version = "seed-v1", Default = new CategoryThresholds { Review = 0.5, Action = 0.9 } };

    private static RoutingPolicyOptions Stricter(double review = 0.3) => new()
    {
        Default = new CategoryThresholds { Review = review, Action = 0.8 },
        Categories = { ["harm.self_harm"] = new CategoryThresholds { Review = 0.2, Action = 0.7, OnReview = ReviewBandSetting.None } },
        Locales = { ["pt-BR"] = new() { ["harm"] = new CategoryThresholds { Review = 0.4, Action = 0.95, DemotionFloor = 0.5 } } },
    };

    private async Task<(TestDatabase Test, PolicyVersions Policies)> StartAsync(bool twoPerson = false)
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var policies = new PolicyVersions(test.Database, TimeProvider.System, Options.Create(new PolicyVersionOptions { RequireSecondApprover = twoPerson }));
        (await policies.SeedAsync(Seed, CancellationToken.None)).Should().BeTrue();
        return (test, policies);
    }

    private static CategoryScore Score(string category, double score) => new(category, score, "m1", []);

    [Fact]
    public async Task The_configuration_seeds_one_live_version_once_and_routing_reads_it()
    {
        var (test, policies) = await StartAsync();
        await using var _ = test;
        (await policies.SeedAsync(new RoutingPolicyOptions { Version = "other" }, CancellationToken.None)).Should().BeFalse("a database with versions is never seeded again");

        var live = await policies.LiveAsync(CancellationToken.None);
        live.Version.Should().Be("seed-v1");
        live.Route([Score("harm", 0.6)]).Status.Should().Be("in_review");
        (await policies.ListAsync(CancellationToken.None)).Should().ContainSingle().Which.State.Should().Be(PolicyStates.Live);
        var events = await AuditLog.ReadAsync(test.Database, 0, 100, CancellationToken.None);
        events.Should().ContainSingle(e => e.Action == "policy.seeded").Which.Actor.Should().Be(AuditActors.PolicySeed);
    }

    [Fact]
    public async Task A_draft_goes_through_shadow_to_live_retiring_the_old_one_and_rollback_restores_it_in_one_step()
    {
        var (test, policies) = await StartAsync();
        await using var _ = test;
        var draft = await policies.CreateDraftAsync("v2", null, "seed-v1", "copy to edit", "user:alice", CancellationToken.None);
        draft.State.Should().Be(PolicyStates.Draft);
        draft.Document.Default.Review.Should().Be(0.5, "a copy of seed-v1");
        draft = await policies.UpdateDraftAsync("v2", Stricter(), "tighter self-harm band", "user:alice", CancellationToken.None);
        draft.Document.Categories["harm.self_harm"].Review.Should().Be(0.2);

        (await policies.SetStateAsync("v2", PolicyStates.Shadow, "user:alice", "compare on real traffic", CancellationToken.None)).State.Should().Be(PolicyStates.Shadow);
        var frozen = async () => await policies.UpdateDraftAsync("v2", Stricter(0.1), null, "user:alice", CancellationToken.None);
        (await frozen.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict);
        (await policies.LiveAsync(CancellationToken.None)).Version.Should().Be("seed-v1", "a shadow never routes");

        var live = await policies.SetStateAsync("v2", PolicyStates.Live, "user:bob", "reviewed the backtest", CancellationToken.None);
        live.State.Should().Be(PolicyStates.Live);
        live.WentLiveAt.Should().NotBeNull();
        var routing = await policies.LiveAsync(CancellationToken.None);
        routing.Version.Should().Be("v2");
        routing.Route([Score("harm", 0.35)]).Status.Should().Be("in_review", "v2's review threshold is 0.3");
        var selfHarm = routing.Route([Score("harm.self_harm", 0.5)]);
        selfHarm.Categories.Single().SignalAction.Should().Be("none", "v2 tells the recommender nothing in this band");
        routing.Route([Score("harm", 0.35)], locale: "pt-BR").Status.Should().Be("allowed", "pt-BR's own harm thresholds apply");
        routing.Route([Score("harm", 0.35)], locale: "pt-br").Status.Should().Be("allowed", "locale tags match whatever their case");
        var demoted = routing.Route([Score("harm", 0.9)], locale: "pt-BR").Categories.Single();
        demoted.DemotionMultiplier.Should().BeApproximately(1 - 0.5 * (0.9 - 0.4) / (0.95 - 0.4), 1e-6, "pt-BR's harm floor is 0.5");
        (await policies.ListAsync(CancellationToken.None)).Select(p => $"{p.Version}:{p.State}").Should().BeEquivalentTo("seed-v1:retired", "v2:live");

        var retireLive = async () => await policies.SetStateAsync("v2", PolicyStates.Retired, "user:bob", "oops", CancellationToken.None);
        (await retireLive.Should().ThrowAsync<Refusal>()).Which.Message.Should().Contain("always live");
        var reviveRetired = async () => await policies.SetStateAsync("seed-v1", PolicyStates.Shadow, "user:bob", "again", CancellationToken.None);
        (await reviveRetired.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Conflict);

        var rolledBack = await policies.RollbackAsync("user:carol", "appeals spiked", CancellationToken.None);
        rolledBack.Version.Should().Be("seed-v1");
        rolledBack.State.Should().Be(PolicyStates.Live);
        (await policies.LiveAsync(CancellationToken.None)).Version.Should().Be("seed-v1");
        (await policies.ListAsync(CancellationToken.None)).Select(p => $"{p.Version}:{p.State}").Should().BeEquivalentTo("seed-v1:live", "v2:retired");
        (await policies.RollbackAsync("user:carol", "and back", CancellationToken.None)).Version.Should().Be("v2", "a second rollback undoes the first");

        var events = (await AuditLog.ReadAsync(test.Database, 0, 1000, CancellationToken.None)).Where(e => e.SubjectType == PolicyVersions.SubjectType).ToList();
        events.Select(e => $"{e.Action} {e.SubjectId} {e.Actor}").Should().Equal(
            "policy.seeded seed-v1 system:policy-seed",
            "policy.created v2 user:alice",
            "policy.draft_updated v2 user:alice",
            "policy.state_changed v2 user:alice",
            "policy.state_changed seed-v1 user:bob",
            "policy.state_changed v2 user:bob",
            "policy.rolled_back seed-v1 user:carol",
            "policy.state_changed v2 user:carol",
            "policy.state_changed seed-v1 user:carol",
            "policy.rolled_back v2 user:carol",
            "policy.state_changed seed-v1 user:carol",
            "policy.state_changed v2 user:carol");
        events.Single(e => e.Action == "policy.state_changed" && e.SubjectId == "v2" && e.Actor == "user:bob").Reason.Should().Be("reviewed the backtest");
        (await AuditLog.VerifyAsync(test.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task Under_the_two_person_rule_a_second_policy_user_approves_going_live()
    {
        var (test, policies) = await StartAsync(twoPerson: true);
        await using var _ = test;
        await policies.CreateDraftAsync("v2", Stricter(), null, null, "user:alice", CancellationToken.None);

        var requested = await policies.SetStateAsync("v2", PolicyStates.Live, "user:alice", "ready", CancellationToken.None);
        requested.State.Should().Be(PolicyStates.Draft, "a request alone changes nothing");
        requested.LiveRequestedBy.Should().Be("user:alice");
        (await policies.LiveAsync(CancellationToken.None)).Version.Should().Be("seed-v1");

        var self = async () => await policies.SetStateAsync("v2", PolicyStates.Live, "user:alice", "approving my own", CancellationToken.None);
        (await self.Should().ThrowAsync<Refusal>()).Which.Kind.Should().Be(RefusalKind.Forbidden);

        var approved = await policies.SetStateAsync("v2", PolicyStates.Live, "user:bob", "checked", CancellationToken.None);
        approved.State.Should().Be(PolicyStates.Live);
        approved.LiveRequestedBy.Should().BeNull();
        var events = (await AuditLog.ReadAsync(test.Database, 0, 1000, CancellationToken.None)).Where(e => e.SubjectId == "v2").ToList();
        events.Select(e => e.Action).Should().Equal("policy.created", "policy.live_requested", "policy.state_changed");
        events[^1].AfterState.Should().Contain("\"requestedBy\":\"user:alice\"").And.Contain("\"approvedBy\":\"user:bob\"");

        (await policies.RollbackAsync("user:alice", "emergency", CancellationToken.None)).Version.Should().Be("seed-v1", "a rollback is never held by the rule");
    }

    [Fact]
    public async Task Two_versions_going_live_at_once_leave_exactly_one_live()
    {
        var (test, policies) = await StartAsync();
        await using var _ = test;
        for (var i = 0; i < 6; i++) await policies.CreateDraftAsync($"race-{i}", Stricter(0.1 + i / 100.0), null, null, "user:alice", CancellationToken.None);
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() =>
            policies.SetStateAsync($"race-{i}", PolicyStates.Live, $"user:u{i}", "race", CancellationToken.None))));
        var all = await policies.ListAsync(CancellationToken.None);
        all.Should().ContainSingle(p => p.State == PolicyStates.Live);
        all.Count(p => p.State == PolicyStates.Retired).Should().Be(6);
        (await AuditLog.VerifyAsync(test.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task Bad_names_documents_and_transitions_are_refused_naming_the_field()
    {
        var (test, policies) = await StartAsync();
        await using var _ = test;
        async Task<Refusal> Refused(Func<Task> act) => (await act.Should().ThrowAsync<Refusal>()).Which;

        (await Refused(() => policies.CreateDraftAsync("has space", Stricter(), null, null, "user:a", CancellationToken.None))).Field.Should().Be("version");
        (await Refused(() => policies.CreateDraftAsync("seed-v1", Stricter(), null, null, "user:a", CancellationToken.None))).Kind.Should().Be(RefusalKind.Conflict);
        (await Refused(() => policies.CreateDraftAsync("v3", (RoutingPolicyOptions?)null, null, null, "user:a", CancellationToken.None))).Field.Should().Be("document");
        (await Refused(() => policies.CreateDraftAsync("v3", null, "nope", null, "user:a", CancellationToken.None))).Kind.Should().Be(RefusalKind.NotFound);
        var inverted = new RoutingPolicyOptions { Categories = { ["harm"] = new CategoryThresholds { Review = 0.9, Action = 0.5 } } };
        (await Refused(() => policies.CreateDraftAsync("v3", inverted, null, null, "user:a", CancellationToken.None))).Message.Should().Contain("0 <= Review <= Action <= 1");
        var badLocale = new RoutingPolicyOptions { Locales = { ["not a locale"] = new() { ["harm"] = new CategoryThresholds() } } };
        (await Refused(() => policies.CreateDraftAsync("v3", badLocale, null, null, "user:a", CancellationToken.None))).Message.Should().Contain("language tag");
        (await Refused(() => policies.SetStateAsync("seed-v1", "production", "user:a", "x", CancellationToken.None))).Field.Should().Be("state");
        (await Refused(() => policies.SetStateAsync("nope", PolicyStates.Live, "user:a", "x", CancellationToken.None))).Kind.Should().Be(RefusalKind.NotFound);
        await policies.CreateDraftAsync("v3", Stricter(), null, null, "user:a", CancellationToken.None);
        (await Refused(() => policies.SetStateAsync("v3", PolicyStates.Live, "user:a", " ", CancellationToken.None))).Field.Should().Be("reason");
        (await Refused(() => policies.RollbackAsync("user:a", "nothing before", CancellationToken.None))).Kind.Should().Be(RefusalKind.Conflict);

        var typo = System.Text.Json.JsonDocument.Parse("""{"categores":{"harm":{"review":0.1,"action":0.2}}}""").RootElement;
        var parse = () => PolicyVersions.ParseDocument(typo);
        parse.Should().Throw<Refusal>().Which.Field.Should().Be("categores");
        (await policies.ListAsync(CancellationToken.None)).Select(p => p.Version).Should().BeEquivalentTo("seed-v1", "v3");
    }
}

public sealed class SqlitePolicyVersionsTests() : PolicyVersionsContract(DatabaseProvider.Sqlite);
public sealed class PostgresPolicyVersionsTests() : PolicyVersionsContract(DatabaseProvider.Postgres);
public sealed class SqlServerPolicyVersionsTests() : PolicyVersionsContract(DatabaseProvider.SqlServer);
