using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Policies;

/// <summary>
/// Shadow policy versions on each database: the scoring job evaluates every version in shadow on the batch's scores and
/// stores the outcomes beside live routing, in their own table, once, acting on none of them; the daily diff reads them.
/// </summary>
public abstract class ShadowRoutingContract(DatabaseProvider provider)
{
    private static readonly RoutingPolicyOptions Seed = new() { Version = "seed-v1", Default = new CategoryThresholds { Review = 0.5, Action = 0.9 } };

    // Stricter for harm only: a 0.4 goes to review, a 0.7 is actioned.
    private static readonly RoutingPolicyOptions Strict = new()
    {
        Default = new CategoryThresholds { Review = 0.5, Action = 0.9 },
        Categories = { ["harm"] = new CategoryThresholds { Review = 0.3, Action = 0.6, OnAction = SignalActionSetting.Label } },
    };

    private static readonly string[] Captions = ["[harm=0.4] borderline", "[harm=0.7] worse", "[harm=0.95] over the line", "fine"];

    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, caption, hashtags, comments, status, received_at_ms, enqueued_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, @Caption, '[]', '[]', 'queued', @Now, @Now, @Now)
        """);

    private sealed record Setup(TestDatabase Test, ModerationDatabase Db, PolicyVersions Policies, ScoringOutcomeWriter Writer, ScoringJob Job) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Test.DisposeAsync();
    }

    private async Task<Setup> StartAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        var db = test.Database;
        await new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var policies = new PolicyVersions(db, TimeProvider.System, Options.Create(new PolicyVersionOptions()));
        await policies.SeedAsync(Seed, CancellationToken.None);
        var writer = new ScoringOutcomeWriter(db, new ReviewTasks(db, Options.Create(new ReviewOptions()), TimeProvider.System), TimeProvider.System);
        var job = new ScoringJob(db, [new MarkupScorer(new ConfigurationBuilder().Build())], policies, writer, TimeProvider.System, NullLogger<ScoringJob>.Instance);
        return new Setup(test, db, policies, writer, job);
    }

    /// <summary>Stores the four captions as queued uploads and runs the scoring job on them; returns their ids in caption order.</summary>
    private static async Task<string[]> ScoreBatchAsync(Setup s, string wave)
    {
        var ids = new string[Captions.Length];
        await using (var connection = await s.Db.OpenAsync())
            for (var i = 0; i < Captions.Length; i++)
            {
                ids[i] = Guid.CreateVersion7().ToString();
                await connection.ExecuteAsync(s.Db.Sql(InsertUpload), new { Id = ids[i], ExternalId = $"{wave}-{i}", Caption = Captions[i], Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
            }
        await s.Job.ScoreAsync(ids, 1, 0, CancellationToken.None);
        return ids;
    }

    private static async Task<List<ShadowRow>> ShadowRowsAsync(ModerationDatabase db)
    {
        await using var connection = await db.OpenAsync();
        return (await connection.QueryAsync<ShadowRow>(
            "SELECT upload_id, category, policy_version, outcome, live_policy_version, live_outcome, signal_action FROM shadow_routing_decisions")).ToList();
    }

    private sealed class ShadowRow
    {
        public string UploadId { get; init; } = "";
        public string Category { get; init; } = "";
        public string PolicyVersion { get; init; } = "";
        public string Outcome { get; init; } = "";
        public string LivePolicyVersion { get; init; } = "";
        public string LiveOutcome { get; init; } = "";
        public string SignalAction { get; init; } = "";
    }

    /// <summary>What routing did to an upload that anyone acting on it can see: status, tasks, signals, routing rows, audit.</summary>
    private static async Task<string> EffectsAsync(ModerationDatabase db, string id)
    {
        await using var connection = await db.OpenAsync();
        var status = await connection.ExecuteScalarAsync<string>("SELECT status FROM uploads WHERE id = @Id", new { Id = id });
        var tasks = await connection.QueryAsync<(string, string, string)>("SELECT kind, queue, state FROM review_tasks WHERE upload_id = @Id ORDER BY kind", new { Id = id });
        var signals = await connection.QueryAsync<(string, string, double, string)>(
            "SELECT category, action, demotion_multiplier, policy_version FROM risk_signals WHERE upload_id = @Id ORDER BY category", new { Id = id });
        var routes = await connection.QueryAsync<(string, string, string)>(
            "SELECT category, policy_version, outcome FROM routing_decisions WHERE upload_id = @Id ORDER BY category", new { Id = id });
        var audit = await connection.QueryAsync<(string, string)>("SELECT action, after_state FROM audit_events WHERE subject_id = @Id ORDER BY seq", new { Id = id });
        var sampled = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_samples WHERE upload_id = @Id", new { Id = id });
        return $"{status} | {string.Join(",", tasks)} | {string.Join(",", signals)} | {string.Join(",", routes)} | {string.Join(",", audit)} | sampled {sampled}";
    }

    [Fact]
    public async Task Shadow_outcomes_are_stored_beside_live_routing_once_and_change_nothing_that_live_routing_does()
    {
        await using var s = await StartAsync();

        // No version in shadow: no shadow rows.
        var plain = await ScoreBatchAsync(s, "plain");
        (await ShadowRowsAsync(s.Db)).Should().BeEmpty("no version is in shadow");

        await s.Policies.CreateDraftAsync("strict", Strict, null, "harm stricter", "user:alice", CancellationToken.None);
        await s.Policies.SetStateAsync("strict", PolicyStates.Shadow, "user:alice", "compare on live traffic", CancellationToken.None);
        var shadowed = await ScoreBatchAsync(s, "shadowed");

        var rows = await ShadowRowsAsync(s.Db);
        rows.Should().HaveCount(Captions.Length * MarkupScorer.Categories.Length, "one row per upload and routed category");
        rows.Should().OnlyContain(r => r.PolicyVersion == "strict" && r.LivePolicyVersion == "seed-v1" && shadowed.Contains(r.UploadId));
        string Harm(string id) { var row = rows.Single(r => r.UploadId == id && r.Category == "harm"); return $"{row.LiveOutcome}->{row.Outcome}"; }
        Harm(shadowed[0]).Should().Be("allow->review");
        Harm(shadowed[1]).Should().Be("review->action");
        Harm(shadowed[2]).Should().Be("action->action");
        Harm(shadowed[3]).Should().Be("allow->allow");
        rows.Single(r => r.UploadId == shadowed[1] && r.Category == "harm").SignalAction.Should().Be("label", "what strict would have told the recommender");
        rows.Where(r => r.Category != "harm").Should().OnlyContain(r => r.Outcome == "allow" && r.LiveOutcome == "allow");

        // Not acted on: the same content routed with and without a shadow has the same status, tasks, signals, routing
        // rows, audit events and audit draws; no routing row or signal names the shadow version.
        for (var i = 0; i < Captions.Length; i++)
            (await EffectsAsync(s.Db, shadowed[i])).Should().Be(await EffectsAsync(s.Db, plain[i]), $"'{Captions[i]}' is routed by the live version alone");
        await using (var connection = await s.Db.OpenAsync())
        {
            (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM routing_decisions WHERE policy_version = 'strict'")).Should().Be(0);
            (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM risk_signals WHERE policy_version = 'strict'")).Should().Be(0);
        }

        // A retried or repeated job writes nothing twice: the job again, the writer again, the rows again.
        await s.Job.ScoreAsync(shadowed, 2, 0, CancellationToken.None);
        var current = await s.Policies.CurrentAsync(CancellationToken.None);
        current.Shadows.Select(p => p.Version).Should().Equal("strict");
        var content = new UploadContent(shadowed[0], "shadowed-0", null, Captions[0], [], null, [], null, []);
        var scores = new List<AttributedScore> { new("markup-test", new CategoryScore("harm", 0.4, MarkupScorer.ModelVersion, [])) };
        var again = new ScoredUpload(content, scores, current.Live.Route(scores.Select(a => a.Score).ToList()), Shadows: [current.Shadows[0].Route(scores.Select(a => a.Score).ToList())]);
        (await s.Writer.WriteAsync([again], CancellationToken.None)).Should().BeEmpty("the upload was routed already");
        await s.Db.InTransactionAsync((c, t) => ShadowRouting.WriteAsync(c, t, s.Db.Dialect, [(again.Content.Id, again.Decision, again.Shadows!)], 1, CancellationToken.None));
        (await ShadowRowsAsync(s.Db)).Should().HaveCount(rows.Count, "shadow rows are insert-if-absent on upload, category and version");
    }

    [Fact]
    public async Task The_daily_diff_counts_live_against_shadow_exactly_pages_the_changes_and_outlives_the_shadow_state()
    {
        await using var s = await StartAsync();
        var diff = new ShadowDiff(s.Db, s.Policies);
        await s.Policies.CreateDraftAsync("strict", Strict, null, null, "user:alice", CancellationToken.None);
        await s.Policies.SetStateAsync("strict", PolicyStates.Shadow, "user:alice", "compare", CancellationToken.None);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        var first = await ScoreBatchAsync(s, "a");
        var second = await ScoreBatchAsync(s, "b");
        var to = DateTimeOffset.UtcNow.AddMinutes(1);

        var summary = await diff.SummaryAsync("strict", from, to, CancellationToken.None);
        summary.State.Should().Be(PolicyStates.Shadow);
        summary.Uploads.Should().Be(8);
        summary.ChangedUploads.Should().Be(4, "the 0.4s and the 0.7s");
        summary.LiveVersions.Should().Equal("seed-v1");
        var harm = summary.Categories.Single(c => c.Category == "harm");
        harm.Live.Should().Be(new OutcomeCounts(4, 2, 2));
        harm.Shadow.Should().Be(new OutcomeCounts(2, 2, 4));
        harm.Changed.Should().Be(4);
        summary.Categories.Where(c => c.Category != "harm").Should().OnlyContain(c => c.Live == new OutcomeCounts(8, 0, 0) && c.Shadow == c.Live && c.Changed == 0);
        summary.Days.Sum(d => d.Live.Allow + d.Live.Review + d.Live.Action).Should().Be(24, "8 uploads x 3 categories, by day");
        summary.Days.Where(d => d.Category == "harm").Sum(d => d.Changed).Should().Be(4);
        summary.Days.Select(d => d.Day).Should().OnlyContain(d => d == DateTime.UtcNow.ToString("yyyy-MM-dd") || d == DateTime.UtcNow.AddMinutes(-2).ToString("yyyy-MM-dd"));

        var page = await diff.ChangesAsync("strict", from, to, null, null, 3, CancellationToken.None);
        page.Changes.Should().HaveCount(3);
        page.NextAfter.Should().NotBeNull();
        var rest = await diff.ChangesAsync("strict", from, to, null, page.NextAfter, 3, CancellationToken.None);
        rest.Changes.Should().HaveCount(1);
        rest.NextAfter.Should().BeNull();
        var all = page.Changes.Concat(rest.Changes).ToList();
        all.Select(c => c.UploadId).Should().BeEquivalentTo([first[0], first[1], second[0], second[1]]);
        all.Should().OnlyContain(c => c.Category == "harm" && c.LiveVersion == "seed-v1");
        all.Single(c => c.UploadId == first[1]).Should().Match<ShadowChange>(c => c.LiveOutcome == "review" && c.ShadowOutcome == "action" && c.Status == "in_review" && c.ExternalId == "a-1");
        (await diff.ChangesAsync("strict", from, to, "bias", null, 10, CancellationToken.None)).Changes.Should().BeEmpty();

        // Going live ends the shadow but keeps its rows: the diff still reads; the next batch adds no shadow rows.
        await s.Policies.SetStateAsync("strict", PolicyStates.Live, "user:bob", "looked right", CancellationToken.None);
        await ScoreBatchAsync(s, "c");
        var after = await diff.SummaryAsync("strict", from, DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None);
        after.State.Should().Be(PolicyStates.Live);
        after.Uploads.Should().Be(8, "nothing is in shadow any more");

        // Refusals.
        async Task<Refusal> Refused(Func<Task> act) => (await act.Should().ThrowAsync<Refusal>()).Which;
        (await Refused(() => diff.SummaryAsync("seed-v1", from, to, CancellationToken.None))).Kind.Should().Be(RefusalKind.Conflict, "seed-v1 was never in shadow");
        await s.Policies.CreateDraftAsync("draft-only", Strict, null, null, "user:alice", CancellationToken.None);
        (await Refused(() => diff.SummaryAsync("draft-only", from, to, CancellationToken.None))).Message.Should().Contain("never in shadow");
        (await Refused(() => diff.SummaryAsync("nope", from, to, CancellationToken.None))).Kind.Should().Be(RefusalKind.NotFound);
        (await Refused(() => diff.SummaryAsync("strict", to, from, CancellationToken.None))).Field.Should().Be("to");
        (await Refused(() => diff.SummaryAsync("strict", from.AddDays(-500), to, CancellationToken.None))).Field.Should().Be("from");
        (await Refused(() => diff.ChangesAsync("strict", from, to, null, null, 0, CancellationToken.None))).Field.Should().Be("limit");
        (await Refused(() => diff.ChangesAsync("strict", from, to, null, "no-bar", 10, CancellationToken.None))).Field.Should().Be("after");
    }
}

public sealed class SqliteShadowRoutingTests() : ShadowRoutingContract(DatabaseProvider.Sqlite);
public sealed class PostgresShadowRoutingTests() : ShadowRoutingContract(DatabaseProvider.Postgres);
public sealed class SqlServerShadowRoutingTests() : ShadowRoutingContract(DatabaseProvider.SqlServer);
