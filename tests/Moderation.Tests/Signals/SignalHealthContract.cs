using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Claims;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Signals;

/// <summary>
/// Signal health on each database, over a seeded fixture whose numbers are worked out by hand: volume, precision
/// against human decisions, PSI, the flooding flag; and quarantine: audited, refusals, retraction of acting signals.
/// </summary>
public abstract class SignalHealthContract(DatabaseProvider provider)
{
    // The window ends at midnight UTC; the current week is the 7 days before, the baseline the 4 weeks before that.
    private static readonly DateTimeOffset To = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static readonly RoutingPolicyOptions Seed = new() { Version = "seed-v1", Default = new CategoryThresholds { Review = 0.5, Action = 0.9 } };

    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, caption, hashtags, comments, status, received_at_ms, enqueued_at_ms, updated_at_ms)
        VALUES (@Id, @Id, 'c', '[]', '[]', @Status, @At, @At, @At)
        """);

    private static readonly DialectSql InsertScore = DialectSql.Portable("""
        INSERT INTO scores (upload_id, category, model_version, score, scorer, explanation, shadow, match_source, match_action, review_only, created_at_ms)
        VALUES (@Id, @Category, @Version, @Score, 'test', @Explanation, @Shadow, @MatchSource, NULL, @ReviewOnly, @At)
        """);

    private static readonly DialectSql InsertRoute = DialectSql.Portable("""
        INSERT INTO routing_decisions (upload_id, category, policy_version, outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms)
        VALUES (@Id, @Category, 'seed-v1', @Outcome, @Score, @Version, 'seeded', 0.5, 0.9, @At)
        """);

    private static readonly DialectSql InsertDecision = DialectSql.Portable("""
        INSERT INTO review_decisions (id, upload_id, kind, queue, decided_by, decided_by_name, action, reason_code, decided_at_ms)
        VALUES (@DecisionId, @Id, 'review', @Category, 'u1', 'Reviewer', @Action, 'seeded', @At)
        """);

    private static readonly DialectSql InsertTask = DialectSql.Portable("""
        INSERT INTO review_tasks (upload_id, kind, queue, priority, required_role, state, entered_at_ms, due_at_ms)
        VALUES (@Id, 'review', @Category, @Score, 'triage', 'open', @At, @At)
        """);

    private static readonly DialectSql InsertSignal = DialectSql.Portable("""
        INSERT INTO risk_signals (idempotency_key, upload_id, external_id, category, score, action, demotion_multiplier, source, model_version, policy_version, created_at_ms)
        VALUES (@Key, @Id, @Id, @Category, @Score, @Action, @Multiplier, @Source, @Version, 'seed-v1', @At)
        """);

    private static readonly DialectSql InsertBank = DialectSql.Portable("""
        INSERT INTO hash_banks (name, category, action, created_by, created_at_ms, updated_at_ms) VALUES (@Name, 'harm.sexual', 'none', 'seed', 1, 1)
        """);

    private static readonly DialectSql InsertClaim = DialectSql.Portable("""
        INSERT INTO claims (id, text, text_key, source_url, category, state, created_by, created_at_ms)
        VALUES (@Id, 'the moon is made of cheese', @Id, 'https://factcheck.example.org/moon', 'misinformation', 'active', 'seed', 1)
        """);

    private sealed record Upload(string Id, string Category, string Version, double Score, string? Outcome, string Status, DateTimeOffset At,
        string? Decision = null, bool Task = false, string? MatchSource = null, string? Explanation = null, bool Shadow = false);

    private async Task<(TestDatabase Test, SignalHealth Health, SignalQuarantines Quarantines)> StartAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var policies = new PolicyVersions(test.Database, TimeProvider.System, Options.Create(new PolicyVersionOptions()));
        await policies.SeedAsync(Seed, Ct);
        var quarantines = new SignalQuarantines(test.Database, TimeProvider.System);
        var health = new SignalHealth(test.Database, policies, quarantines, Options.Create(new SignalHealthOptions { DriftMinScores = 50 }));
        return (test, health, quarantines);
    }

    private static async Task SeedAsync(ModerationDatabase db, IEnumerable<Upload> uploads)
    {
        await using var connection = await db.OpenAsync();
        foreach (var u in uploads)
        {
            var at = u.At.ToUnixTimeMilliseconds();
            var p = new
            {
                u.Id, u.Category, u.Version, u.Score, u.Outcome, u.Status, At = at, Explanation = u.Explanation ?? "[]", u.Shadow, u.MatchSource,
                ReviewOnly = false, DecisionId = "d-" + u.Id, Action = u.Decision,
            };
            await connection.ExecuteAsync(db.Sql(InsertUpload), p);
            await connection.ExecuteAsync(db.Sql(InsertScore), p);
            if (u.Outcome is not null) await connection.ExecuteAsync(db.Sql(InsertRoute), p);
            if (u.Decision is not null) await connection.ExecuteAsync(db.Sql(InsertDecision), p);
            if (u.Task) await connection.ExecuteAsync(db.Sql(InsertTask), p);
        }
    }

    /// <summary>
    /// Model harm-v1: 100 scores in the baseline (half at 0.05, half at 0.55 routed to review) and 100 this week (20 at
    /// 0.05, 80 at 0.55 routed to review, 10 of them decided: 7 removed, 3 allowed). Hash bank flood-bank: 60 matches in
    /// the last day, each a review task in queue harm.sexual; model sexual-v1: 10 more tasks there and 4 actions.
    /// A claim raised one misinformation score.
    /// </summary>
    private static List<Upload> Fixture(string claimId)
    {
        var uploads = new List<Upload>();
        var baseline = To.AddDays(-14);
        for (var i = 0; i < 100; i++)
            uploads.Add(i < 50
                ? new Upload($"a-b-{i:000}", "harm", "harm-v1", 0.05, "allow", "allowed", baseline.AddMinutes(i))
                : new Upload($"a-b-{i:000}", "harm", "harm-v1", 0.55, "review", "in_review", baseline.AddMinutes(i)));
        var week = To.AddDays(-3);
        for (var i = 0; i < 100; i++)
        {
            if (i < 20) { uploads.Add(new Upload($"a-c-{i:000}", "harm", "harm-v1", 0.05, "allow", "allowed", week.AddMinutes(i))); continue; }
            var decided = i < 30;
            var removed = i < 27;
            uploads.Add(new Upload($"a-c-{i:000}", "harm", "harm-v1", 0.55, "review",
                decided ? (removed ? "actioned" : "allowed") : "in_review", week.AddMinutes(i), decided ? (removed ? "remove" : "allow") : null));
        }
        var lastDay = To.AddHours(-6);
        for (var i = 0; i < 60; i++)
            uploads.Add(new Upload($"b-{i:000}", "harm.sexual", "hash-bank:flood-bank", 1.0, "review", "in_review", lastDay.AddSeconds(i),
                Task: true, MatchSource: "hash_match"));
        for (var i = 0; i < 10; i++)
            uploads.Add(new Upload($"c-r-{i:000}", "harm.sexual", "sexual-v1", 0.7, "review", "in_review", lastDay.AddMinutes(5).AddSeconds(i), Task: true));
        for (var i = 0; i < 4; i++)
            uploads.Add(new Upload($"c-a-{i:000}", "harm.sexual", "sexual-v1", 0.95, "action", "actioned", lastDay.AddMinutes(6).AddSeconds(i)));
        uploads.Add(new Upload("m-0", "misinformation", "misinfo-v1", 0.9, "action", "actioned", To.AddDays(-2),
            Explanation: $"[\"matches known false claim {claimId} \\u0022the moon is made of cheese\\u0022 (similarity 0.91; source: https://factcheck.example.org/moon)\"]"));
        uploads.Add(new Upload("m-1", "misinformation", "misinfo-v1", 0.2, "allow", "allowed", To.AddDays(-2),
            Explanation: $"[\"debunks known false claim {claimId} \\u0022the moon is made of cheese\\u0022: says it is false\"]"));
        return uploads;
    }

    [Fact]
    public async Task Volume_precision_drift_and_flooding_come_out_as_worked_by_hand()
    {
        var (test, health, _) = await StartAsync();
        await using var _ = test;
        var claimId = Guid.CreateVersion7().ToString();
        await SeedAsync(test.Database, Fixture(claimId));

        var report = await health.ReadAsync(To.AddDays(-28), To, Ct);
        report.DriftBins.Should().HaveCount(11);
        report.Sources.Select(s => s.Source).Should().BeEquivalentTo(
            ["model:harm:harm-v1", "hash-bank:flood-bank", "model:harm.sexual:sexual-v1", "model:misinformation:misinfo-v1", $"claim:{claimId}"]);

        var harm = report.Sources.Single(s => s.Source == "model:harm:harm-v1");
        harm.Kind.Should().Be(SignalSourceKinds.Model);
        harm.Volume.Should().Be(200);
        harm.Reviewed.Should().Be(130);
        harm.Actioned.Should().Be(0);
        harm.Precision.Value.Should().Be(0.7);
        harm.Precision.Labels.Should().Be(10);
        // Wilson at 95% for 7 of 10: (0.3968, 0.8922).
        harm.Precision.Low.Should().BeApproximately(0.3968, 0.0001);
        harm.Precision.High.Should().BeApproximately(0.8922, 0.0001);
        harm.Precision.FewLabels.Should().BeTrue();
        harm.Days.Should().HaveCount(28);
        harm.Days.Sum(d => d.Volume).Should().Be(200);
        harm.Days.Single(d => d.Day == "2026-11-27").Volume.Should().Be(100);
        harm.Days.Single(d => d.Day == "2026-11-27").Precision.Value.Should().Be(0.7);
        harm.Days.Single(d => d.Day == "2026-11-16").Volume.Should().Be(100);
        harm.Days.Single(d => d.Day == "2026-11-16").Precision.Value.Should().BeNull("no upload of that day was decided");
        // Baseline: half in bin 0, half in bin 5; this week 20% and 80%. PSI = 0.3 ln 2.5 + 0.3 ln 1.6 = 0.3 ln 4 = 0.415888.
        harm.Drift.Current.Should().Be(100);
        harm.Drift.Baseline.Should().Be(100);
        harm.Drift.Psi.Should().BeApproximately(0.3 * Math.Log(4), 0.000001);
        harm.Drift.Psi.Should().BeApproximately(0.415888, 0.000001);
        harm.Flags.Should().Equal(SignalHealthFlags.Drifting);
        harm.Quarantine.Should().BeNull();

        var bank = report.Sources.Single(s => s.Source == "hash-bank:flood-bank");
        bank.Kind.Should().Be(SignalSourceKinds.HashBank);
        bank.Category.Should().Be("harm.sexual");
        bank.Volume.Should().Be(60);
        bank.Reviewed.Should().Be(60);
        bank.LastDayVolume.Should().Be(60);
        bank.Queues.Should().ContainSingle().Which.Should().Be(new QueueShare("harm.sexual", 60, 70, Math.Round(60 / 70.0, 6)));
        bank.Flags.Should().Equal(SignalHealthFlags.Flooding);
        bank.Drift.Psi.Should().BeNull("the bank has no baseline");
        bank.Precision.Value.Should().BeNull("no match was decided");

        var sexual = report.Sources.Single(s => s.Source == "model:harm.sexual:sexual-v1");
        sexual.Volume.Should().Be(14);
        sexual.Reviewed.Should().Be(10);
        sexual.Actioned.Should().Be(4);
        sexual.Queues.Single().Share.Should().Be(Math.Round(10 / 70.0, 6));
        sexual.Flags.Should().BeEmpty("10 of 70 is below both the share and the minimum");

        var claim = report.Sources.Single(s => s.Source == $"claim:{claimId}");
        claim.Kind.Should().Be(SignalSourceKinds.Claim);
        claim.Volume.Should().Be(1, "only the text that asserts the claim counts; the one that debunks it does not");
        claim.Actioned.Should().Be(1);

        // A window that misses the current week still measures drift at its own end.
        var early = await health.ReadAsync(To.AddDays(-28), To.AddDays(-10), Ct);
        early.Sources.Single(s => s.Source == "model:harm:harm-v1").Volume.Should().Be(100);
    }

    [Fact]
    public async Task Bad_windows_are_refused()
    {
        var (test, health, _) = await StartAsync();
        await using var _ = test;
        (await health.Invoking(h => h.ReadAsync(To, To.AddDays(-1), Ct)).Should().ThrowAsync<Refusal>()).Which.Field.Should().Be("to");
        (await health.Invoking(h => h.ReadAsync(To.AddDays(-500), To, Ct)).Should().ThrowAsync<Refusal>()).Which.Field.Should().Be("from");
    }

    [Fact]
    public async Task Quarantine_retracts_acting_signals_except_where_a_person_decided_is_audited_and_is_released()
    {
        var (test, _, quarantines) = await StartAsync();
        await using var _ = test;
        var db = test.Database;
        var claimId = Guid.CreateVersion7().ToString();
        await SeedAsync(db, Fixture(claimId));
        await using (var connection = await db.OpenAsync())
        {
            await connection.ExecuteAsync(db.Sql(InsertBank), new { Name = "flood-bank" });
            await connection.ExecuteAsync(db.Sql(InsertClaim), new { Id = claimId });
            var at = To.ToUnixTimeMilliseconds();
            object Signal(string key, string id, string category, string action, string source, string? version) =>
                new { Key = key, Id = id, Category = category, Score = 0.95, Action = action, Multiplier = action == "ineligible" ? 0.0 : 1.0, Source = source, Version = version, At = at };
            // sexual-v1's four actions; a reviewer already decided the last one (a human signal), and one says none.
            foreach (var i in Enumerable.Range(0, 4))
                await connection.ExecuteAsync(db.Sql(InsertSignal), Signal($"s-{i}", $"c-a-{i:000}", "harm.sexual", "ineligible", "model", "sexual-v1"));
            await connection.ExecuteAsync(db.Sql(InsertSignal), Signal("s-human", "c-a-003", "harm.sexual", "ineligible", "human", null));
            await connection.ExecuteAsync(db.Sql(InsertSignal), Signal("s-none", "c-r-000", "harm.sexual", "none", "model", "sexual-v1"));
            // Another model's signal in the same category is not this source's.
            await connection.ExecuteAsync(db.Sql(InsertSignal), Signal("s-other", "b-000", "harm.sexual", "demote", "model", "sexual-v2"));
            await connection.ExecuteAsync(db.Sql(InsertSignal), Signal("s-claim", "m-0", "misinformation", "label", "model", "misinfo-v1"));
        }
        var seqs = (await SignalFeed.ReadAsync(db, 0, 100, Ct)).Signals.ToDictionary(s => s.UploadId + "/" + s.Source + "/" + s.ModelVersion, s => s.Seq);

        async Task<Refusal> Refused(Func<Task> act) => (await act.Should().ThrowAsync<Refusal>()).Which;
        (await Refused(() => quarantines.QuarantineAsync("model:harm:no-such-version", "user:policy", "why", Ct))).Kind.Should().Be(RefusalKind.NotFound);
        (await Refused(() => quarantines.QuarantineAsync("not-a-source", "user:policy", "why", Ct))).Kind.Should().Be(RefusalKind.NotFound);
        (await Refused(() => quarantines.QuarantineAsync("hash-bank:no-such-bank", "user:policy", "why", Ct))).Kind.Should().Be(RefusalKind.NotFound);
        var noReason = await Refused(() => quarantines.QuarantineAsync("model:harm.sexual:sexual-v1", "user:policy", "  ", Ct));
        noReason.Kind.Should().Be(RefusalKind.Invalid);
        noReason.Field.Should().Be("reason");
        (await Refused(() => quarantines.ReleaseAsync("model:harm.sexual:sexual-v1", "user:policy", "nothing to release", Ct))).Kind.Should().Be(RefusalKind.Conflict);

        var result = await quarantines.QuarantineAsync("model:harm.sexual:sexual-v1", "user:policy", "floods harm.sexual with false positives", Ct);
        result.RetractedSignals.Should().Equal(seqs["c-a-000/model/sexual-v1"], seqs["c-a-001/model/sexual-v1"], seqs["c-a-002/model/sexual-v1"]);
        result.Quarantine.QuarantinedBy.Should().Be("user:policy");
        (await quarantines.CurrentAsync(Ct)).Should().BeEquivalentTo(["model:harm.sexual:sexual-v1"]);
        (await Refused(() => quarantines.QuarantineAsync("model:harm.sexual:sexual-v1", "user:policy", "again", Ct))).Kind.Should().Be(RefusalKind.Conflict);

        var feed = (await SignalFeed.ReadAsync(db, 0, 100, Ct)).Signals;
        var retractions = feed.Where(s => s.Retracts is not null).ToList();
        retractions.Select(s => s.Retracts!.Value).Should().Equal(result.RetractedSignals);
        retractions.Should().AllSatisfy(s =>
        {
            s.Action.Should().Be("none");
            s.Source.Should().Be("human");
            s.Category.Should().Be("harm.sexual");
        });

        var claim = await quarantines.QuarantineAsync($"claim:{claimId}", "user:policy", "the claim is matched too widely", Ct);
        claim.RetractedSignals.Should().Equal(seqs["m-0/model/misinfo-v1"]);
        var bank = await quarantines.QuarantineAsync("hash-bank:flood-bank", "user:policy", "a bad entry", Ct);
        bank.RetractedSignals.Should().BeEmpty("the bank sent no signal that acts");

        var released = await quarantines.ReleaseAsync("model:harm.sexual:sexual-v1", "user:lead", "the flood was a bad import, fixed", Ct);
        released.Reason.Should().Be("floods harm.sexual with false positives");
        (await quarantines.CurrentAsync(Ct)).Should().BeEquivalentTo([$"claim:{claimId}", "hash-bank:flood-bank"]);
        (await SignalFeed.ReadAsync(db, 0, 100, Ct)).Signals.Count(s => s.Retracts is not null).Should().Be(4, "a release re-sends nothing");

        var events = (await AuditLog.ReadAsync(db, 0, 1000, Ct)).Where(e => e.SubjectType == SignalQuarantines.SubjectType).ToList();
        events.Select(e => (e.Action, e.SubjectId, e.Actor)).Should().Equal(
            ("signal_source.quarantined", "model:harm.sexual:sexual-v1", "user:policy"),
            ("signal_source.quarantined", $"claim:{claimId}", "user:policy"),
            ("signal_source.quarantined", "hash-bank:flood-bank", "user:policy"),
            ("signal_source.released", "model:harm.sexual:sexual-v1", "user:lead"));
        events[0].Reason.Should().Be("floods harm.sexual with false positives");
        events[0].AfterState.Should().Contain("retractedSignals");
        events[3].Reason.Should().Be("the flood was a bad import, fixed");
    }

    [Fact]
    public async Task A_quarantined_claim_is_left_out_of_the_claims_the_text_scorer_matches_until_it_is_released()
    {
        var (test, _, quarantines) = await StartAsync();
        await using var _ = test;
        var bank = new ClaimBank(test.Database, TimeProvider.System);
        var moon = await bank.AddAsync("The moon landing was filmed in a studio.", "https://factcheck.example.org/moon", null, "user:policy", Ct);
        var water = await bank.AddAsync("Drinking bleach cures the flu.", "https://factcheck.example.org/bleach", null, "user:policy", Ct);
        using var embedder = new TextEmbedder();
        var source = new ClaimBankSource(bank, embedder, Options.Create(new TextScoringOptions()), TimeProvider.System, quarantines);
        (await source.CurrentAsync(Ct)).Select(c => c.Id).Should().BeEquivalentTo([moon.Id, water.Id]);

        await quarantines.QuarantineAsync($"claim:{moon.Id}", "user:policy", "matches too many posts about films", Ct);
        (await source.CurrentAsync(Ct)).Select(c => c.Id).Should().Equal([water.Id], "the quarantine applies on the next batch, not after a refresh");

        await quarantines.ReleaseAsync($"claim:{moon.Id}", "user:policy", "threshold raised", Ct);
        (await source.CurrentAsync(Ct)).Select(c => c.Id).Should().BeEquivalentTo([moon.Id, water.Id]);
    }
}

public sealed class SqliteSignalHealthTests() : SignalHealthContract(DatabaseProvider.Sqlite);
public sealed class PostgresSignalHealthTests() : SignalHealthContract(DatabaseProvider.Postgres);
public sealed class SqlServerSignalHealthTests() : SignalHealthContract(DatabaseProvider.SqlServer);
