using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Review;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>Policy versions over HTTP: the lifecycle, scopes, problem details, audit actors.</summary>
[Collection(HostCollection.Name)]
public sealed class PolicyVersionEndpointTests(SqliteApiFixture fixture) : IClassFixture<SqliteApiFixture>
{
    private TestApi Api => fixture.Api;

    internal static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task A_policy_writer_drafts_edits_shadows_and_takes_a_version_live_then_rolls_back()
    {
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));
        var live = await JsonAsync(await writer.GetAsync("/v1/policies/live"), HttpStatusCode.OK);
        var before = live.GetProperty("id").GetString()!;
        live.GetProperty("document").GetProperty("default").GetProperty("review").GetDouble().Should().Be(0.5);

        var name = Name("tight");
        var created = await JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new
        {
            name, basedOn = before, note = "tighter harm",
            categories = new Dictionary<string, object> { ["harm"] = new { review = 0.35, action = 0.85, onAction = "Interstitial" } },
        }), HttpStatusCode.Created);
        created.GetProperty("id").GetString().Should().Be(name);
        created.GetProperty("state").GetString().Should().Be("draft");
        created.GetProperty("basedOn").GetString().Should().Be(before);
        var copied = created.GetProperty("document");
        copied.GetProperty("categories").GetProperty("harm").GetProperty("onAction").GetString().Should().Be("Interstitial");
        copied.GetProperty("default").GetProperty("review").GetDouble().Should().Be(0.5, "the copy keeps what was not given");
        copied.GetProperty("demotionFloor").GetDouble().Should().Be(0.2);
        created.GetProperty("createdBy").GetString().Should().StartWith("api_key:");

        var document = """
            {"note":"per-locale harm","default":{"review":0.4,"action":0.85,"onAction":"Ineligible"},
             "categories":{"harm.self_harm":{"review":0.2,"action":0.7,"onReview":"None"}},
             "locales":{"pt-BR":{"harm":{"review":0.45,"action":0.9,"demotionFloor":0.5}}}}
            """;
        var edited = await JsonAsync(await writer.PutAsync($"/v1/policies/{name}", new StringContent(document, Encoding.UTF8, "application/json")), HttpStatusCode.OK);
        edited.GetProperty("note").GetString().Should().Be("per-locale harm");
        edited.GetProperty("document").GetProperty("categories").EnumerateObject().Select(c => c.Name).Should().Equal(["harm.self_harm"], "a PUT replaces the whole document");
        edited.GetProperty("document").GetProperty("locales").GetProperty("pt-BR").GetProperty("harm").GetProperty("demotionFloor").GetDouble().Should().Be(0.5);
        edited.GetProperty("document").GetProperty("categories").GetProperty("harm.self_harm").GetProperty("onReview").GetString().Should().Be("None");

        (await JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{name}/state", new { state = "shadow", reason = "compare first" }), HttpStatusCode.OK))
            .GetProperty("state").GetString().Should().Be("shadow");
        var frozen = await JsonAsync(await writer.PutAsync($"/v1/policies/{name}", new StringContent(document, Encoding.UTF8, "application/json")), HttpStatusCode.Conflict);
        frozen.GetProperty("detail").GetString().Should().Contain("only a draft");

        (await JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{name}/state", new { state = "live", reason = "backtest looked right" }), HttpStatusCode.OK))
            .GetProperty("state").GetString().Should().Be("live");
        (await JsonAsync(await writer.GetAsync("/v1/policies/live"), HttpStatusCode.OK)).GetProperty("id").GetString().Should().Be(name);
        var list = await JsonAsync(await writer.GetAsync("/v1/policies"), HttpStatusCode.OK);
        list.GetProperty("policies").EnumerateArray().Single(p => p.GetProperty("id").GetString() == before).GetProperty("state").GetString().Should().Be("retired");

        var rolledBack = await JsonAsync(await writer.PostAsJsonAsync("/v1/policies/rollback", new { reason = "appeals doubled" }), HttpStatusCode.OK);
        rolledBack.GetProperty("id").GetString().Should().Be(before);
        rolledBack.GetProperty("state").GetString().Should().Be("live");

        var events = (await AuditLog.ReadAsync(Api.Database, 0, 10_000, CancellationToken.None)).Where(e => e.SubjectType == "policy" && e.Actor.StartsWith("api_key:")).ToList();
        events.Select(e => e.Action).Should().Contain(["policy.created", "policy.draft_updated", "policy.state_changed", "policy.rolled_back"]);
        events.Single(e => e.Action == "policy.rolled_back").Reason.Should().Be("appeals doubled");
    }

    [Fact]
    public async Task Bad_policy_requests_are_problems_naming_the_field_and_reads_cannot_write()
    {
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));
        using var reader = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyRead));
        var inverted = await JsonAsync(await writer.PostAsJsonAsync("/v1/policies",
            new { name = Name("bad"), categories = new Dictionary<string, object> { ["harm"] = new { review = 0.9, action = 0.2 } } }), HttpStatusCode.BadRequest);
        inverted.GetProperty("errors").GetProperty("categories")[0].GetString().Should().Contain("0 <= Review <= Action <= 1");
        var outside = await JsonAsync(await writer.PostAsJsonAsync("/v1/policies",
            new { name = Name("bad"), @default = new { review = -0.1, action = 1.5 } }), HttpStatusCode.BadRequest);
        outside.GetProperty("errors").EnumerateObject().Should().NotBeEmpty();
        var typo = await JsonAsync(await writer.PostAsync("/v1/policies", new StringContent(
            "{\"name\":\"" + Name("typo") + "\",\"categores\":{}}", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        typo.GetProperty("errors").GetProperty("categores")[0].GetString().Should().Contain("not part of a policy document");
        var noName = await JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new { name = "no spaces allowed", basedOn = "x" }), HttpStatusCode.BadRequest);
        noName.GetProperty("errors").GetProperty("version").EnumerateArray().Should().NotBeEmpty();
        await JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new { name = Name("nobase"), basedOn = "no-such-version" }), HttpStatusCode.NotFound);
        var empty = await JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new { name = Name("empty") }), HttpStatusCode.BadRequest);
        empty.GetProperty("errors").GetProperty("categories").EnumerateArray().Should().NotBeEmpty();
        await JsonAsync(await writer.GetAsync("/v1/policies/no-such-version"), HttpStatusCode.NotFound);
        await JsonAsync(await writer.PostAsJsonAsync("/v1/policies/no-such-version/state", new { state = "live", reason = "x" }), HttpStatusCode.NotFound);
        var noState = await JsonAsync(await writer.PostAsJsonAsync("/v1/policies/no-such-version/state", new { reason = "x" }), HttpStatusCode.BadRequest);
        noState.GetProperty("errors").GetProperty("state").EnumerateArray().Should().NotBeEmpty();

        (await reader.GetAsync("/v1/policies")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await reader.PostAsJsonAsync("/v1/policies", new { name = Name("r"), basedOn = "x" })).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await reader.PostAsJsonAsync("/v1/policies/rollback", new { reason = "x" })).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        using var anonymous = Api.CreateClient(null);
        (await anonymous.GetAsync("/v1/policies")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}

/// <summary>
/// Going live is atomic: versions flip while uploads stream in, and every upload is routed (every routing row and
/// every signal of it) by exactly one version, one that was live.
/// </summary>
public abstract class PolicyFlipContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    private TestApi Api => fixture.Api;

    [Fact]
    public async Task Versions_flipping_while_uploads_stream_in_route_each_upload_by_exactly_one_live_version()
    {
        var api = Api;
        using var writer = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyWrite));
        var seed = (await PolicyVersionEndpointTests.JsonAsync(await writer.GetAsync("/v1/policies/live"), HttpStatusCode.OK)).GetProperty("id").GetString()!;
        var run = Guid.NewGuid().ToString("N")[..8];
        // Alternately strict (0.6 goes to review) and lenient (0.6 is allowed), so a status also shows the version.
        var flips = Enumerable.Range(0, 8).Select(i => (Version: $"flip-{run}-{i}", Review: i % 2 == 0 ? 0.7 : 0.5)).ToList();
        foreach (var (version, review) in flips)
            await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new
            {
                name = version, @default = new { review, action = 0.95 },
            }), HttpStatusCode.Created);
        var reviewOf = flips.ToDictionary(f => f.Version, f => f.Review);
        reviewOf[seed] = 0.5;

        async Task<List<string>> PostAsync(string wave, int count)
        {
            using var gate = new SemaphoreSlim(8);
            return (await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync();
                try { return (await api.PostUploadAsync(new { externalId = $"{wave}-{run}-{i}", caption = "[harm=0.6] a borderline post" })).GetProperty("id").GetString()!; }
                finally { gate.Release(); }
            }))).ToList();
        }

        // Before any flip: routed by the seeded version.
        var first = await PostAsync("before", 20);
        foreach (var id in first) await api.WaitUntilRoutedAsync(id);

        // The stream and the flips at once.
        var streaming = PostAsync("during", 240);
        foreach (var (version, _) in flips)
        {
            await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{version}/state", new { state = "live", reason = "flip" }), HttpStatusCode.OK);
            await Task.Delay(40);
        }
        var during = await streaming;

        // After the last flip: routed by it.
        var after = await PostAsync("after", 20);
        var all = first.Concat(during).Concat(after).ToList();
        foreach (var id in all)
            (await api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(120))).GetProperty("status").GetString().Should().NotBe("queued");

        await using var connection = await api.Database.OpenAsync();
        var routes = (await connection.QueryAsync<(string UploadId, string PolicyVersion)>(
            "SELECT upload_id AS UploadId, policy_version AS PolicyVersion FROM routing_decisions")).Where(r => all.Contains(r.UploadId)).ToList();
        var signals = (await connection.QueryAsync<(string UploadId, string PolicyVersion)>(
            "SELECT upload_id AS UploadId, policy_version AS PolicyVersion FROM risk_signals")).Where(r => all.Contains(r.UploadId)).ToList();
        var statuses = (await connection.QueryAsync<(string Id, string Status)>("SELECT id AS Id, status AS Status FROM uploads"))
            .Where(u => all.Contains(u.Id)).ToDictionary(u => u.Id, u => u.Status);

        var versionOf = new Dictionary<string, string>();
        foreach (var id in all)
        {
            var versions = routes.Where(r => r.UploadId == id).Select(r => r.PolicyVersion).Distinct().ToList();
            versions.Should().ContainSingle($"upload {id} is routed by one version");
            var version = versionOf[id] = versions[0];
            reviewOf.Should().ContainKey(version, "only versions that went live route");
            signals.Where(s => s.UploadId == id).Select(s => s.PolicyVersion).Distinct().Should().Equal([version], "its signals name the same version");
            statuses[id].Should().Be(reviewOf[version] <= 0.6 ? "in_review" : "allowed", $"{version} routes a 0.6 that way");
        }
        first.Select(id => versionOf[id]).Should().OnlyContain(v => v == seed);
        var last = flips[^1].Version;
        after.Select(id => versionOf[id]).Should().OnlyContain(v => v == last);
    }
}

[Collection(HostCollection.Name)]
public sealed class SqlitePolicyFlipTests(SqliteApiFixture fixture) : PolicyFlipContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresPolicyFlipTests(PostgresApiFixture fixture) : PolicyFlipContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;

/// <summary>A backtest over uploads scored and decided through the real pipeline and review services, on each database.</summary>
public abstract class PolicyBacktestContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    private TestApi Api => fixture.Api;

    [Fact]
    public async Task A_backtest_counts_outcomes_lists_the_changes_and_estimates_precision_from_decisions_with_intervals()
    {
        var api = Api;
        var run = Guid.NewGuid().ToString("N")[..8];
        var captions = new[] { "[harm=0.95] over the line", "[harm=0.7] borderline, violating", "[harm=0.55] borderline, fine", "fine" };
        var ids = new Dictionary<string, int>();
        for (var kind = 0; kind < captions.Length; kind++)
            for (var i = 0; i < 10; i++)
                ids[(await api.PostUploadAsync(new { externalId = $"bt-{run}-{kind}-{i}", caption = captions[kind] })).GetProperty("id").GetString()!] = kind;
        foreach (var id in ids.Keys) await api.WaitUntilRoutedAsync(id);

        // A moderator decides the twenty sent to review: the 0.7s are removed, the 0.55s allowed.
        var queue = api.Services.GetRequiredService<ReviewQueue>();
        var decisions = api.Services.GetRequiredService<ReviewDecisions>();
        var moderator = new Reviewer("u-backtest", "backtester", [ReviewRoles.Moderator]);
        foreach (var (id, kind) in ids.Where(p => p.Value is 1 or 2))
        {
            (await queue.ClaimAsync(moderator, id, "review", CancellationToken.None)).Should().NotBeNull();
            await decisions.DecideAsync(moderator, id, "review", kind == 1 ? "remove" : "allow", kind == 1 ? "harassment" : "no-violation", null, null, CancellationToken.None);
        }

        using var writer = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyWrite));
        var name = $"bt-{run}";
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new
        {
            name, basedOn = "config-default", categories = new Dictionary<string, object> { ["harm"] = new { review = 0.6, action = 0.9 } },
        }), HttpStatusCode.Created);

        var result = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{name}/backtest", new { changesLimit = 4 }), HttpStatusCode.OK);
        result.GetProperty("against").GetString().Should().Be("config-default");
        result.GetProperty("uploads").GetInt64().Should().Be(40);
        result.GetProperty("labelled").GetInt64().Should().Be(20);
        result.GetProperty("selectionBiased").GetBoolean().Should().BeTrue();
        result.GetProperty("changedUploads").GetInt64().Should().Be(10, "the 0.55s leave review");
        Counts(result.GetProperty("againstUploads")).Should().Be((10, 20, 10));
        Counts(result.GetProperty("candidateUploads")).Should().Be((20, 10, 10));

        var harm = result.GetProperty("categories").EnumerateArray().Single(c => c.GetProperty("category").GetString() == "harm");
        Counts(harm.GetProperty("against")).Should().Be((10, 20, 10));
        Counts(harm.GetProperty("candidate")).Should().Be((20, 10, 10));
        harm.GetProperty("changed").GetInt64().Should().Be(10);
        var before = harm.GetProperty("againstReviewPrecision");
        before.GetProperty("value").GetDouble().Should().Be(0.5);
        before.GetProperty("labels").GetInt64().Should().Be(20);
        before.GetProperty("fewLabels").GetBoolean().Should().BeTrue("20 labels are fewer than 30");
        before.GetProperty("low").GetDouble().Should().BeApproximately(0.2993, 0.001, "Wilson's 95% interval for 10 of 20");
        before.GetProperty("high").GetDouble().Should().BeApproximately(0.7007, 0.001);
        harm.GetProperty("candidateReviewPrecision").GetProperty("value").GetDouble().Should().Be(1.0);
        harm.GetProperty("candidateActionPrecision").GetProperty("value").ValueKind.Should().Be(JsonValueKind.Null, "no one decided the automatic actions");
        result.GetProperty("candidateRecall").GetProperty("value").GetDouble().Should().Be(1.0);
        result.GetProperty("candidateActionRecall").GetProperty("value").GetDouble().Should().Be(0.0);
        result.GetProperty("days").EnumerateArray().Where(d => d.GetProperty("category").GetString() == "harm")
            .Sum(d => d.GetProperty("against").GetProperty("review").GetInt64()).Should().Be(20);

        var changes = result.GetProperty("changes").EnumerateArray().ToList();
        changes.Should().HaveCount(4);
        changes.Should().OnlyContain(c => c.GetProperty("againstOutcome").GetString() == "review" && c.GetProperty("candidateOutcome").GetString() == "allow"
            && c.GetProperty("label").GetString() == "allowed" && ids[c.GetProperty("uploadId").GetString()!] == 2);
        var cursor = result.GetProperty("nextChangesAfter").GetString();
        var next = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{name}/backtest", new { changesLimit = 100, changesAfter = cursor }), HttpStatusCode.OK);
        var rest = next.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("uploadId").GetString()).ToList();
        rest.Should().HaveCount(6).And.NotIntersectWith(changes.Select(c => c.GetProperty("uploadId").GetString()));
        next.GetProperty("nextChangesAfter").ValueKind.Should().Be(JsonValueKind.Null);

        var empty = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/{name}/backtest",
            new { from = "2001-01-01T00:00:00Z", to = "2001-01-02T00:00:00Z" }), HttpStatusCode.BadRequest);
        empty.GetProperty("errors").GetProperty("from")[0].GetString().Should().Contain("nothing to backtest");
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies/no-such-version/backtest", new { }), HttpStatusCode.NotFound);

        // The threshold explorer over the same window, for harm.
        var explored = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies/explore", new { category = "harm", reviewers = 2 }), HttpStatusCode.OK);
        explored.GetProperty("uploads").GetInt64().Should().Be(40);
        explored.GetProperty("labelled").GetInt64().Should().Be(20);
        explored.GetProperty("selectionBiased").GetBoolean().Should().BeTrue();
        var bins = explored.GetProperty("histogram").EnumerateArray().ToList();
        bins.Should().HaveCount(20);
        bins.Sum(b => b.GetProperty("uploads").GetInt64()).Should().Be(40);
        bins[1].GetProperty("uploads").GetInt64().Should().Be(10, "the fine ones score 0.05");
        bins[14].GetProperty("uploads").GetInt64().Should().Be(10, "0.7");
        bins[19].GetProperty("uploads").GetInt64().Should().Be(10, "0.95");
        JsonElement At(double t) => explored.GetProperty("curve").EnumerateArray().Single(p => Math.Abs(p.GetProperty("threshold").GetDouble() - t) < 1e-9);
        At(0.6).GetProperty("uploads").GetInt64().Should().Be(20);
        At(0.6).GetProperty("precision").GetProperty("value").GetDouble().Should().Be(1.0);
        At(0.6).GetProperty("recall").GetProperty("value").GetDouble().Should().Be(1.0);
        At(0.5).GetProperty("precision").GetProperty("value").GetDouble().Should().Be(0.5);
        At(0.75).GetProperty("recall").GetProperty("value").GetDouble().Should().Be(0.0);
        var load = explored.GetProperty("load");
        load.GetProperty("review").GetDouble().Should().Be(0.5, "the live version's thresholds by default");
        load.GetProperty("reviewPerDay").GetDouble().Should().BeApproximately(20 / 7.0, 0.01);
        load.GetProperty("actionPerDay").GetDouble().Should().BeApproximately(10 / 7.0, 0.01);
        load.GetProperty("decisionsMeasured").GetInt64().Should().Be(20);
        load.GetProperty("keepsUp").GetBoolean().Should().BeTrue();
        var tight = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies/explore",
            new { category = "harm", review = 0.01, action = 0.99, reviewers = 0 }), HttpStatusCode.OK);
        tight.GetProperty("load").GetProperty("keepsUp").GetBoolean().Should().BeFalse("no reviewers cannot keep up with 40 items a week");
        (await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies/explore", new { category = "harm", review = 0.9, action = 0.5 }), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("review").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies/explore", new { }), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("category").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies/explore", new { category = "no.such.category" }), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("from").EnumerateArray().Should().NotBeEmpty();
    }

    private static (long Allow, long Review, long Action) Counts(JsonElement counts) =>
        (counts.GetProperty("allow").GetInt64(), counts.GetProperty("review").GetInt64(), counts.GetProperty("action").GetInt64());
}

[Collection(HostCollection.Name)]
public sealed class SqlitePolicyBacktestTests(SqliteApiFixture fixture) : PolicyBacktestContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresPolicyBacktestTests(PostgresApiFixture fixture) : PolicyBacktestContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;

/// <summary>A host drawing the audit sample: every actioned upload and none of the allowed ones (rates 1 and 0).</summary>
public sealed class AuditSampleApiFixture() : ApiFixture(Moderation.Core.Storage.DatabaseProvider.Sqlite)
{
    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>(Settings)
    {
        ["Moderation:AuditSample:Enabled"] = "true",
        ["Moderation:AuditSample:Salt"] = "test",
        ["Moderation:AuditSample:Rates:action:0:Below"] = "1.01",
        ["Moderation:AuditSample:Rates:action:0:Rate"] = "1",
        ["Moderation:AuditSample:Rates:allow:0:Below"] = "1.01",
        ["Moderation:AuditSample:Rates:allow:0:Rate"] = "0",
    };
}

/// <summary>The audit sample end to end: drawn at routing, reviewed blind, and the backtest's estimates weighted by it.</summary>
[Collection(HostCollection.Name)]
public sealed class AuditSampleEndToEndTests(AuditSampleApiFixture fixture) : IClassFixture<AuditSampleApiFixture>
{
    [Fact]
    public async Task Audited_automatic_actions_go_to_review_blind_and_the_backtest_estimates_their_precision_without_selection_bias()
    {
        var api = fixture.Api;
        var run = Guid.NewGuid().ToString("N")[..8];
        var actioned = new List<string>();
        for (var i = 0; i < 6; i++)
            actioned.Add((await api.PostUploadAsync(new { externalId = $"audit-{run}-a{i}", caption = "[harm=0.95] over the line" })).GetProperty("id").GetString()!);
        var allowed = (await api.PostUploadAsync(new { externalId = $"audit-{run}-ok", caption = "fine" })).GetProperty("id").GetString()!;
        foreach (var id in actioned)
            (await api.WaitUntilRoutedAsync(id)).GetProperty("status").GetString().Should().Be("in_review", "the audit sample takes every actioned upload here");
        (await api.WaitUntilRoutedAsync(allowed)).GetProperty("status").GetString().Should().Be("allowed", "and no allowed one");

        await using (var connection = await api.Database.OpenAsync())
        {
            var rows = (await connection.QueryAsync<(string UploadId, string Outcome, double InclusionProbability)>(
                "SELECT upload_id AS UploadId, outcome AS Outcome, inclusion_probability AS InclusionProbability FROM audit_samples")).ToList();
            rows.Select(r => r.UploadId).Should().BeEquivalentTo(actioned);
            rows.Should().OnlyContain(r => r.Outcome == "action" && r.InclusionProbability == 1.0);
            (await connection.QueryAsync<string>("SELECT outcome FROM routing_decisions WHERE upload_id = @Id AND category = 'harm'", new { Id = actioned[0] }))
                .Should().Equal(["action"], "the policy's own routing is kept");
        }
        var signals = await api.ReadAllSignalsAsync();
        signals.Should().Contain(s => s.GetProperty("uploadId").GetString() == actioned[0] && s.GetProperty("action").GetString() == "ineligible",
            "the action stands while the audit waits");

        // Blind: a plain review task, decided as any other; half were right.
        var queue = api.Services.GetRequiredService<ReviewQueue>();
        var decisions = api.Services.GetRequiredService<ReviewDecisions>();
        var moderator = new Reviewer("u-auditor", "auditor", [ReviewRoles.Moderator]);
        for (var i = 0; i < actioned.Count; i++)
        {
            var lease = await queue.ClaimAsync(moderator, actioned[i], "review", CancellationToken.None);
            lease.Should().NotBeNull();
            lease!.Kind.Should().Be("review");
            await decisions.DecideAsync(moderator, actioned[i], "review", i % 2 == 0 ? "remove" : "allow", i % 2 == 0 ? "harassment" : "no-violation", null, null, CancellationToken.None);
        }

        using var writer = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyWrite));
        await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync("/v1/policies", new { name = $"same-{run}", basedOn = "config-default" }), HttpStatusCode.Created);
        var result = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/policies/same-{run}/backtest", new { }), HttpStatusCode.OK);
        result.GetProperty("selectionBiased").GetBoolean().Should().BeFalse();
        result.GetProperty("labelSource").GetString().Should().Contain("6 audited");
        var precision = result.GetProperty("categories").EnumerateArray().Single(c => c.GetProperty("category").GetString() == "harm").GetProperty("againstActionPrecision");
        precision.GetProperty("value").GetDouble().Should().Be(0.5);
        precision.GetProperty("labels").GetInt64().Should().Be(6);
    }
}

/// <summary><c>GET /v1/verdicts</c>: the signal feed folded per upload, on each database.</summary>
public abstract class VerdictFeedContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    [Fact]
    public async Task Verdicts_fold_each_uploads_signals_and_a_decision_brings_the_upload_back_with_its_new_verdict()
    {
        var api = fixture.Api;
        var run = Guid.NewGuid().ToString("N")[..8];
        var start = (await api.ReadAllSignalsAsync()).Select(s => s.GetProperty("seq").GetInt64()).DefaultIfEmpty(0).Max();
        string Id(JsonElement e) => e.GetProperty("id").GetString()!;
        var removed = Id(await api.PostUploadAsync(new { externalId = $"v-{run}-x", creatorId = "creator-v", caption = "[bias=0.95] over the line" }));
        var borderline = Id(await api.PostUploadAsync(new { externalId = $"v-{run}-b", caption = "[harm=0.7] borderline" }));
        var fine = Id(await api.PostUploadAsync(new { externalId = $"v-{run}-f", caption = "fine" }));
        foreach (var id in new[] { removed, borderline, fine }) await api.WaitUntilRoutedAsync(id);

        var page = await PolicyVersionEndpointTests.JsonAsync(await api.Client.GetAsync($"/v1/verdicts?after={start}&limit=1000"), HttpStatusCode.OK);
        var verdicts = page.GetProperty("verdicts").EnumerateArray().ToDictionary(v => v.GetProperty("uploadId").GetString()!);
        verdicts.Should().ContainKeys(removed, borderline, fine);
        verdicts[removed].GetProperty("action").GetString().Should().Be("ineligible");
        verdicts[removed].GetProperty("multiplier").GetDouble().Should().Be(0);
        verdicts[removed].GetProperty("creatorId").GetString().Should().Be("creator-v");
        verdicts[removed].GetProperty("policyVersion").GetString().Should().Be("config-default");
        verdicts[removed].GetProperty("categories").EnumerateArray().Select(c => c.GetProperty("category").GetString()).Should().Contain(["bias", "harm", "misinformation"]);
        verdicts[borderline].GetProperty("action").GetString().Should().Be("demote");
        verdicts[borderline].GetProperty("multiplier").GetDouble().Should().BeApproximately(1 - 0.8 * (0.7 - 0.5) / (0.9 - 0.5), 1e-6, "the provisional demotion of a 0.7 between 0.5 and 0.9");
        verdicts[fine].GetProperty("action").GetString().Should().Be("none");
        verdicts[fine].GetProperty("multiplier").GetDouble().Should().Be(1);
        var cursor = page.GetProperty("nextCursor").GetString();

        // A moderator allows the borderline one: it comes back, cleared, and only it.
        var queue = api.Services.GetRequiredService<ReviewQueue>();
        var moderator = new Reviewer("u-verdict", "verdicts", [ReviewRoles.Moderator]);
        (await queue.ClaimAsync(moderator, borderline, "review", CancellationToken.None)).Should().NotBeNull();
        await api.Services.GetRequiredService<ReviewDecisions>().DecideAsync(moderator, borderline, "review", "allow", "no-violation", null, null, CancellationToken.None);
        var next = await PolicyVersionEndpointTests.JsonAsync(await api.Client.GetAsync($"/v1/verdicts?after={cursor}"), HttpStatusCode.OK);
        var again = next.GetProperty("verdicts").EnumerateArray().ToList();
        again.Select(v => v.GetProperty("uploadId").GetString()).Should().Equal([borderline]);
        again[0].GetProperty("action").GetString().Should().Be("none");
        again[0].GetProperty("multiplier").GetDouble().Should().Be(1);
        again[0].GetProperty("categories").EnumerateArray().Single(c => c.GetProperty("category").GetString() == "harm")
            .GetProperty("source").GetString().Should().Be("human");
        var empty = await PolicyVersionEndpointTests.JsonAsync(await api.Client.GetAsync($"/v1/verdicts?after={next.GetProperty("nextCursor").GetString()}"), HttpStatusCode.OK);
        empty.GetProperty("verdicts").GetArrayLength().Should().Be(0);
        empty.GetProperty("nextCursor").GetString().Should().Be(next.GetProperty("nextCursor").GetString());

        (await PolicyVersionEndpointTests.JsonAsync(await api.Client.GetAsync("/v1/verdicts?after=-1"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("after").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await api.Client.GetAsync("/v1/verdicts?limit=5000"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("limit").EnumerateArray().Should().NotBeEmpty();
        using var anonymous = api.CreateClient(null);
        (await anonymous.GetAsync("/v1/verdicts")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteVerdictFeedTests(SqliteApiFixture fixture) : VerdictFeedContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresVerdictFeedTests(PostgresApiFixture fixture) : VerdictFeedContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;
