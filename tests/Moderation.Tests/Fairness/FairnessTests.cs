using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Fairness;
using Moderation.Core.Models;
using Moderation.Core.Refusals;
using Moderation.Core.Review;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Storage;
using Moderation.Tests.Api;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Fairness;

/// <summary>The identity-term list and the template set (pure).</summary>
public sealed class IdentityGroupsTests
{
    private static IReadOnlySet<string> Mentioned(string text) => IdentityGroups.Shipped.Mentioned(text);

    [Fact]
    public void Terms_match_whole_words_on_normalised_text_and_ambiguous_adjectives_only_before_a_word_for_people()
    {
        Mentioned("Muslims are welcome here").Should().BeEquivalentTo(["muslim"]);
        Mentioned("so proud of my gay muslim friends").Should().BeEquivalentTo(["gay", "muslim"]);
        Mentioned("m u s l i m s out").Should().Contain("muslim", "the normaliser joins spelled-out letters");
        Mentioned("MUSLIMS").Should().Contain("muslim", "case does not matter");
        Mentioned("black coffee and an old car").Should().BeEmpty("'black' and 'old' alone are ordinary words");
        Mentioned("black people and old folks").Should().BeEquivalentTo(["black", "old"]);
        Mentioned("gayety and muslimsville").Should().BeEmpty("terms match whole words only");
        Mentioned("refugees\nwelcome").Should().Contain("refugee");
        Mentioned("asylum   seekers arrived").Should().Contain("asylum_seeker", "any white space between a term's words");
        Mentioned("").Should().BeEmpty();
        Mentioned(null!).Should().BeEmpty();
        IdentityGroups.Shipped.Sha256.Should().MatchRegex("^[0-9a-f]{64}$");
    }

    [Fact]
    public void The_term_list_covers_the_template_audits_groups_and_the_template_set_renders_60_by_55()
    {
        var sentences = FairnessTemplates.Sentences;
        sentences.Should().HaveCount(3300);
        sentences.Count(s => s.Harmful).Should().Be(1650);
        sentences.Select(s => s.Group).Distinct().Should().BeEquivalentTo(IdentityGroups.Shipped.Groups, "a group's traffic rates sit beside its template AUCs");
        sentences.Should().Contain(s => s.Text == "Muslims are welcome here." && !s.Harmful && s.Group == "muslim");
        sentences.Should().NotContain(s => s.Text.Contains('{'), "every placeholder is filled");
    }
}

/// <summary><c>Moderation:Fairness</c> as configuration binds it.</summary>
public sealed class FairnessOptionsTests
{
    private static FairnessOptions Bind(Dictionary<string, string?> settings)
    {
        var options = new FairnessOptions();
        new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(FairnessOptions.Section).Bind(options);
        return options;
    }

    [Fact]
    public void Configured_categories_replace_the_defaults_and_an_empty_floor_is_no_floor()
    {
        Bind([]).FlooredCategories.Should().Equal("harm", "harm.hate", "bias");
        Bind(new() { ["Moderation:Fairness:Categories:0"] = "bias" }).FlooredCategories.Should().Equal("bias");
        var none = Bind(new() { ["Moderation:Fairness:MinBpsnMean"] = "", ["Moderation:Fairness:MinGroupBpsn"] = "0.8" });
        none.MinBpsnMean.Should().BeNull();
        none.MinGroupBpsn.Should().Be(0.8);
    }
}

/// <summary>
/// The fairness floor on going live, on each database: the shipped <c>harm</c> head is audited on the templates (its
/// figures are the model card's), refused below a floor naming the failing groups, and made live with an override that
/// is audited with its author and reason in the promotion's transaction.
/// </summary>
public abstract class FairnessGateContract(DatabaseProvider provider)
{
    private static (FairnessReports Reports, FairnessGate Gate) Services(ModerationDatabase database, ModelRegistry registry, FairnessOptions options)
    {
        var reports = new FairnessReports(database, registry, Options.Create(options), Options.Create(new TextScoringOptions()), TimeProvider.System,
            new ServiceCollection().BuildServiceProvider());
        return (reports, new FairnessGate(registry, reports));
    }

    internal static async Task<string> RegisterShippedHarmAsync(ModelRegistry registry)
    {
        var package = HeadFiles.ReadPackage(TextScoringOptions.ShippedModelsDirectory, "harm");
        await registry.RegisterAsync("harm", package.Card.ModelVersion, TextScorer.ScorerName, package.CardJson, package.MetricsJson, package.Artifact,
            ModelStates.Shadow, "user:trainer", CancellationToken.None);
        return package.Card.ModelVersion;
    }

    [Fact]
    public async Task A_head_below_the_floor_is_refused_naming_the_groups_and_goes_live_with_an_audited_override()
    {
        await using var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var registry = new ModelRegistry(test.Database, TimeProvider.System);
        var version = await RegisterShippedHarmAsync(registry);
        var info = (await registry.FindAsync("harm", version, CancellationToken.None))!;

        // The audit reproduces the model card's figures for this head (BPSN mean 0.983, lowest muslim 0.962).
        var (strictReports, strict) = Services(test.Database, registry, new FairnessOptions { MinBpsnMean = 0.95, MinGroupBpsn = 0.97 });
        var audit = (await strictReports.TemplateAuditAsync(info, CancellationToken.None)).Audit!;
        audit.Source.Should().Be("scored");
        audit.Sentences.Should().Be(3300);
        audit.Scored.Should().Be(3300);
        audit.MeanBpsnAuc.Should().BeApproximately(0.983, 0.003);
        audit.Groups.Should().HaveCount(55);
        var lowest = audit.Groups.MinBy(g => g.BpsnAuc)!;
        lowest.Group.Should().Be("muslim");
        lowest.BpsnAuc.Should().BeApproximately(0.962, 0.003);
        audit.TemplatesSha256.Should().Be(FairnessTemplates.Sha256);
        audit.ArtifactSha256.Should().Be(info.ArtifactSha256);

        var seqBefore = (await AuditLog.ReadAsync(test.Database, 0, 1000, CancellationToken.None)).Max(e => e.Seq);
        var refused = (await strict.Invoking(g => g.SetStateAsync("harm", version, ModelStates.Live, "user:carol", "better recall", null, CancellationToken.None))
            .Should().ThrowAsync<Refusal>()).Which;
        refused.Kind.Should().Be(RefusalKind.Conflict);
        refused.Field.Should().Be(FairnessGate.OverrideField);
        refused.Message.Should().Contain("muslim").And.Contain("below a BPSN AUC of 0.970");
        var failing = (IReadOnlyList<string>)refused.Details["failingGroups"]!;
        failing.Should().StartWith("muslim").And.OnlyContain(g => audit.Groups.Single(x => x.Group == g).BpsnAuc < 0.97);
        (await registry.FindAsync("harm", version, CancellationToken.None))!.State.Should().Be(ModelStates.Shadow, "nothing changed");
        (await AuditLog.ReadAsync(test.Database, seqBefore, 100, CancellationToken.None)).Should().BeEmpty("a refusal records nothing");

        (await strict.Invoking(g => g.SetStateAsync("harm", version, ModelStates.Live, "user:carol", null, "  ", CancellationToken.None))
            .Should().ThrowAsync<Refusal>()).Which.Field.Should().Be(FairnessGate.OverrideField, "an override needs its reason");

        var live = await strict.SetStateAsync("harm", version, ModelStates.Live, "user:carol", "better recall", "muslim 0.962 reviewed by the policy board; ship", CancellationToken.None);
        live.State.Should().Be(ModelStates.Live);
        var events = await AuditLog.ReadAsync(test.Database, seqBefore, 100, CancellationToken.None);
        events.Select(e => e.Action).Should().Equal("model.state_changed", FairnessGate.OverrideAction);
        var overridden = events[1];
        overridden.Actor.Should().Be("user:carol");
        overridden.Reason.Should().Be("muslim 0.962 reviewed by the policy board; ship");
        overridden.SubjectId.Should().Be($"harm@{version}");
        using (var evidence = JsonDocument.Parse(overridden.AfterState!))
        {
            evidence.RootElement.GetProperty("failingGroups")[0].GetProperty("group").GetString().Should().Be("muslim");
            evidence.RootElement.GetProperty("floor").GetProperty("minGroupBpsn").GetDouble().Should().Be(0.97);
            evidence.RootElement.GetProperty("templatesSha256").GetString().Should().Be(FairnessTemplates.Sha256);
        }

        // Under the default floor (mean 0.95, each group 0.9) the shipped head goes live without an override, and a
        // category the floor does not cover is never held.
        await registry.SetStateAsync("harm", version, ModelStates.Shadow, "user:carol", "again", CancellationToken.None);
        var (_, lenient) = Services(test.Database, registry, new FairnessOptions());
        var seqLenient = (await AuditLog.ReadAsync(test.Database, 0, 1000, CancellationToken.None)).Max(e => e.Seq);
        (await lenient.SetStateAsync("harm", version, ModelStates.Live, "user:carol", "meets the floor", null, CancellationToken.None)).State.Should().Be(ModelStates.Live);
        (await AuditLog.ReadAsync(test.Database, seqLenient, 100, CancellationToken.None)).Select(e => e.Action).Should().Equal("model.state_changed");
        var (_, elsewhere) = Services(test.Database, registry, new FairnessOptions { Categories = ["bias"], MinGroupBpsn = 0.999 });
        await registry.SetStateAsync("harm", version, ModelStates.Shadow, "user:carol", "again", CancellationToken.None);
        (await elsewhere.SetStateAsync("harm", version, ModelStates.Live, "user:carol", "not floored", null, CancellationToken.None)).State.Should().Be(ModelStates.Live);
    }
}

public sealed class SqliteFairnessGateTests() : FairnessGateContract(DatabaseProvider.Sqlite);
public sealed class PostgresFairnessGateTests() : FairnessGateContract(DatabaseProvider.Postgres);
public sealed class SqlServerFairnessGateTests() : FairnessGateContract(DatabaseProvider.SqlServer);

/// <summary>An API host whose fairness floor the shipped harm head fails (its lowest groups are under 0.97).</summary>
public abstract class FairnessApiFixture(DatabaseProvider provider) : ApiFixture(provider)
{
    protected override IDictionary<string, string?> HostSettings { get; } = new Dictionary<string, string?>(Settings)
    {
        ["Moderation:Fairness:MinGroupBpsn"] = "0.97",
    };
}

public sealed class SqliteFairnessApiFixture() : FairnessApiFixture(DatabaseProvider.Sqlite);
public sealed class PostgresFairnessApiFixture() : FairnessApiFixture(DatabaseProvider.Postgres);

/// <summary>
/// The fairness report over HTTP on each database: uploads scored and routed through the real pipeline, decided by the
/// real review services (a review allowed, a removal, an automated action overturned on appeal), counted exactly per
/// identity group; and going live below the floor refused (409) and accepted with an override.
/// </summary>
public abstract class FairnessReportContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    private TestApi Api => fixture.Api;

    [Fact]
    public async Task The_report_counts_flags_and_overturns_per_group_mentioned_with_wilson_intervals()
    {
        var api = Api;
        var run = Guid.NewGuid().ToString("N")[..8];
        var uploads = new (string Key, string Caption, string[] Tags)[]
        {
            ("m-action", "[harm=0.95] muslims are the worst", []),
            ("m-review-allowed", "[harm=0.7] what muslims eat at iftar", []),
            ("m-review-removed", "[harm=0.7] muslims should leave", []),
            ("m-allowed", "[harm=0.1] Muslims are welcome here", []),
            ("gay-muslims", "[harm=0.7] my gay muslim friends", []),
            ("cat-removed", "[harm=0.7] just a cat", []),
            ("cat-undecided", "[harm=0.7] another cat", []),
            ("sunset-1", "[harm=0.1] sunset", []),
            ("sunset-2", "[harm=0.1] sunrise", []),
            ("coffee", "[harm=0.1] black coffee on an old car", []),
            ("tagged", "[harm=0.1] new video", ["refugees"]),
        };
        var ids = new Dictionary<string, string>();
        foreach (var (key, caption, tags) in uploads)
            ids[key] = (await api.PostUploadAsync(new { externalId = $"fair-{run}-{key}", caption, hashtags = tags })).GetProperty("id").GetString()!;
        foreach (var id in ids.Values) await api.WaitUntilRoutedAsync(id);

        var queue = api.Services.GetRequiredService<ReviewQueue>();
        var decisions = api.Services.GetRequiredService<ReviewDecisions>();
        var moderator = new Reviewer("u-fair", "fairness-moderator", [ReviewRoles.Moderator]);
        async Task Decide(string key, string kind, string action, string reasonCode)
        {
            (await queue.ClaimAsync(moderator, ids[key], kind, CancellationToken.None)).Should().NotBeNull();
            await decisions.DecideAsync(moderator, ids[key], kind, action, reasonCode, null, null, CancellationToken.None);
        }
        await Decide("m-review-allowed", "review", "allow", "no-violation");
        await Decide("m-review-removed", "review", "remove", "harassment");
        await Decide("gay-muslims", "review", "allow", "no-violation");
        await Decide("cat-removed", "review", "remove", "harassment");
        var appeal = await api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = ids["m-action"], statement = "I was quoting someone." });
        appeal.StatusCode.Should().Be(HttpStatusCode.Created, await appeal.Content.ReadAsStringAsync());
        await Decide("m-action", "appeal", "overturn", "misapplied-policy");

        // The scorer outside the registry is registered so its report can be asked for; it reads no text.
        var registry = api.Services.GetRequiredService<ModelRegistry>();
        await registry.RegisterAsync("harm", Moderation.TestScorers.MarkupScorer.ModelVersion, "markup-test", "{}", "{}", [1, 2, 3], ModelStates.Shadow, "user:test", CancellationToken.None);

        using var reader = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyRead));
        var report = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/models/harm/{Moderation.TestScorers.MarkupScorer.ModelVersion}/fairness"), HttpStatusCode.OK);
        report.GetProperty("scorer").GetString().Should().Be("markup-test");
        report.GetProperty("templateAudit").ValueKind.Should().Be(JsonValueKind.Null);
        report.GetProperty("templateAuditNote").GetString().Should().Contain("reads no text");
        report.GetProperty("floor").GetProperty("applies").GetBoolean().Should().BeFalse();
        var traffic = report.GetProperty("traffic");
        JsonElement Group(string name) => traffic.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == name);
        static (long, long, long, long) Counts(JsonElement g) =>
            (g.GetProperty("uploads").GetInt64(), g.GetProperty("flagged").GetInt64(), g.GetProperty("decided").GetInt64(), g.GetProperty("overturned").GetInt64());

        Counts(traffic.GetProperty("all")).Should().Be((11L, 6L, 5L, 3L));
        Counts(traffic.GetProperty("noGroup")).Should().Be((5L, 2L, 1L, 0L), "the cats, the sunset and sunrise, and black coffee on an old car");
        Counts(Group("muslim")).Should().Be((5L, 4L, 4L, 3L), "the appeal overturned the action, two reviews allowed, one removed");
        Counts(Group("gay")).Should().Be((1L, 1L, 1L, 1L));
        Counts(Group("refugee")).Should().Be((1L, 0L, 0L, 0L), "mentioned in a hashtag");
        Counts(Group("black")).Should().Be((0L, 0L, 0L, 0L));

        var flag = Group("muslim").GetProperty("flagRate");
        flag.GetProperty("value").GetDouble().Should().Be(0.8);
        flag.GetProperty("low").GetDouble().Should().BeApproximately(0.3755, 0.0005, "Wilson's 95% interval for 4 of 5");
        flag.GetProperty("high").GetDouble().Should().BeApproximately(0.9638, 0.0005);
        flag.GetProperty("fewLabels").GetBoolean().Should().BeTrue();
        var overturn = Group("muslim").GetProperty("overturnRate");
        overturn.GetProperty("value").GetDouble().Should().Be(0.75);
        overturn.GetProperty("low").GetDouble().Should().BeApproximately(0.3006, 0.0005, "3 of 4");
        overturn.GetProperty("high").GetDouble().Should().BeApproximately(0.9544, 0.0005);
        var none = traffic.GetProperty("noGroup");
        none.GetProperty("flagRate").GetProperty("value").GetDouble().Should().Be(0.4);
        none.GetProperty("overturnRate").GetProperty("value").GetDouble().Should().Be(0.0);
        Group("refugee").GetProperty("flagRate").GetProperty("high").GetDouble().Should().BeApproximately(0.7935, 0.0005, "0 of 1");
        Group("black").GetProperty("flagRate").GetProperty("value").ValueKind.Should().Be(JsonValueKind.Null, "no uploads, no rate");

        var empty = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync(
            $"/v1/models/harm/{Moderation.TestScorers.MarkupScorer.ModelVersion}/fairness?from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z"), HttpStatusCode.OK);
        Counts(empty.GetProperty("traffic").GetProperty("all")).Should().Be((0L, 0L, 0L, 0L));
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/models/harm/{Moderation.TestScorers.MarkupScorer.ModelVersion}/fairness?from=yesterday"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("from").EnumerateArray().Should().NotBeEmpty();
        (await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/models/harm/{Moderation.TestScorers.MarkupScorer.ModelVersion}/fairness?from=2001-02-01T00:00:00Z&to=2001-01-01T00:00:00Z"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("from").EnumerateArray().Should().NotBeEmpty();
        await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync("/v1/models/harm/no-such-version/fairness"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Going_live_below_the_floor_is_a_409_naming_the_groups_and_an_override_makes_it_live_audited()
    {
        var api = Api;
        var registry = api.Services.GetRequiredService<ModelRegistry>();
        var version = await FairnessGateContract.RegisterShippedHarmAsync(registry);
        using var reader = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyRead));
        using var writer = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyWrite));

        var report = await PolicyVersionEndpointTests.JsonAsync(await reader.GetAsync($"/v1/models/harm/{version}/fairness"), HttpStatusCode.OK);
        var audit = report.GetProperty("templateAudit");
        audit.GetProperty("source").GetString().Should().Be("scored");
        audit.GetProperty("meanBpsnAuc").GetDouble().Should().BeApproximately(0.983, 0.003);
        audit.GetProperty("groups").GetArrayLength().Should().Be(55);
        report.GetProperty("floor").GetProperty("applies").GetBoolean().Should().BeTrue();
        report.GetProperty("floor").GetProperty("passes").GetBoolean().Should().BeFalse();
        report.GetProperty("floor").GetProperty("failingGroups").EnumerateArray().Select(g => g.GetString()).Should().Contain("muslim");

        var refused = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/models/harm/{version}/state", new { state = "live", reason = "ship it" }), HttpStatusCode.Conflict);
        refused.GetProperty("field").GetString().Should().Be("fairnessOverride");
        refused.GetProperty("detail").GetString().Should().Contain("muslim");
        refused.GetProperty("failingGroups").EnumerateArray().Select(g => g.GetString()).Should().Contain("muslim");
        (await registry.FindAsync("harm", version, CancellationToken.None))!.State.Should().Be(ModelStates.Shadow);

        var live = await PolicyVersionEndpointTests.JsonAsync(await writer.PostAsJsonAsync($"/v1/models/harm/{version}/state",
            new { state = "live", reason = "ship it", fairnessOverride = "reviewed by the policy board" }), HttpStatusCode.OK);
        live.GetProperty("state").GetString().Should().Be("live");
        var events = await AuditLog.ReadAsync(api.Database, 0, 10_000, CancellationToken.None);
        var overridden = events.Single(e => e.Action == FairnessGate.OverrideAction && e.SubjectId == $"harm@{version}");
        overridden.Reason.Should().Be("reviewed by the policy board");
        overridden.Actor.Should().StartWith("api_key:");
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteFairnessReportTests(SqliteFairnessApiFixture fixture) : FairnessReportContract<SqliteFairnessApiFixture>(fixture), IClassFixture<SqliteFairnessApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresFairnessReportTests(PostgresFairnessApiFixture fixture) : FairnessReportContract<PostgresFairnessApiFixture>(fixture), IClassFixture<PostgresFairnessApiFixture>;
