using System.Net;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Review;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>A host drawing every automatic action and half of the allowed uploads for the audit sample.</summary>
public abstract class AuditReportFixture(DatabaseProvider provider) : ApiFixture(provider)
{
    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>(Settings)
    {
        ["Moderation:AuditSample:Enabled"] = "true",
        ["Moderation:AuditSample:Salt"] = "report",
        ["Moderation:AuditSample:Rates:action:0:Below"] = "1.01",
        ["Moderation:AuditSample:Rates:action:0:Rate"] = "1",
        ["Moderation:AuditSample:Rates:allow:0:Below"] = "1.01",
        ["Moderation:AuditSample:Rates:allow:0:Rate"] = "0.5",
    };
}

public sealed class SqliteAuditReportFixture() : AuditReportFixture(DatabaseProvider.Sqlite);
public sealed class PostgresAuditReportFixture() : AuditReportFixture(DatabaseProvider.Postgres);

/// <summary>
/// <c>GET /v1/policies/audit-sample</c> (<c>AuditSampleReport</c>, also the workbench's audit-sample page) over uploads
/// routed, sampled and decided through the real pipeline and review services, on each database: the pending count,
/// and per category estimates weighted by the inverse inclusion probability, exactly.
/// </summary>
public abstract class AuditSampleReportContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    [Fact]
    public async Task The_report_counts_what_waits_and_weighs_each_audited_label_by_its_inclusion_probability()
    {
        var api = fixture.Api;
        var run = Guid.NewGuid().ToString("N")[..8];
        async Task<List<string>> Upload(string caption, int count)
        {
            var ids = new List<string>();
            for (var i = 0; i < count; i++)
                ids.Add((await api.PostUploadAsync(new { externalId = $"ar-{run}-{ids.Count}-{caption.GetHashCode():x}", caption })).GetProperty("id").GetString()!);
            foreach (var id in ids) await api.WaitUntilRoutedAsync(id);
            return ids;
        }
        var actioned = await Upload("[reported=0.95] over the line", 4);   // all audited (probability 1)
        var reviewed = await Upload("[reported=0.7] borderline", 4);       // sent to review by the policy (probability 1)
        var allowed = await Upload("[reported=0.05] fine", 20);            // audited with probability 0.5

        List<string> drawnAllowed;
        await using (var connection = await api.Database.OpenAsync())
            drawnAllowed = (await connection.QueryAsync<string>("SELECT upload_id FROM audit_samples WHERE outcome = 'allow'")).Where(allowed.Contains).ToList();
        var k = drawnAllowed.Count;

        using var reader = api.CreateClient(await api.CreateKeyAsync(ApiScopes.PolicyRead));
        var before = await Json(await reader.GetAsync("/v1/policies/audit-sample"), HttpStatusCode.OK);
        before.GetProperty("enabled").GetBoolean().Should().BeTrue();
        before.GetProperty("sampled").GetInt64().Should().Be(4 + k);
        before.GetProperty("pending").GetInt64().Should().Be(4 + k, "nobody has decided an audited item yet");
        var strata = before.GetProperty("strata").EnumerateArray().ToList();
        strata.Single(s => s.GetProperty("outcome").GetString() == "action").GetProperty("sampled").GetInt64().Should().Be(4);
        if (k > 0) strata.Single(s => s.GetProperty("outcome").GetString() == "allow").GetProperty("inclusionProbability").GetDouble().Should().Be(0.5);

        // People decide, blind: two of the four actions were right, three of the four reviewed violate, one audited allow was wrong.
        var queue = api.Services.GetRequiredService<ReviewQueue>();
        var decisions = api.Services.GetRequiredService<ReviewDecisions>();
        var moderator = new Reviewer("u-report", "reporter", [ReviewRoles.Moderator]);
        async Task Decide(string id, bool violating)
        {
            (await queue.ClaimAsync(moderator, id, "review", CancellationToken.None)).Should().NotBeNull();
            await decisions.DecideAsync(moderator, id, "review", violating ? "remove" : "allow", violating ? "harassment" : "no-violation", null, null, CancellationToken.None);
        }
        for (var i = 0; i < 4; i++) await Decide(actioned[i], i < 2);
        for (var i = 0; i < 4; i++) await Decide(reviewed[i], i < 3);
        for (var i = 0; i < k; i++) await Decide(drawnAllowed[i], i == 0);

        var after = await Json(await reader.GetAsync("/v1/policies/audit-sample"), HttpStatusCode.OK);
        after.GetProperty("pending").GetInt64().Should().Be(0);
        after.GetProperty("decided").GetInt64().Should().Be(4 + k);
        after.GetProperty("selectionBiased").GetBoolean().Should().BeFalse();
        var category = after.GetProperty("categories").EnumerateArray().Single(c => c.GetProperty("category").GetString() == "reported");
        category.GetProperty("uploads").GetInt64().Should().Be(28);
        category.GetProperty("labelled").GetInt64().Should().Be(8 + k);
        category.GetProperty("audited").GetInt64().Should().Be(4 + k);
        var missed = k > 0 ? 1 : 0; // the one audited allow a person removed, weighing 2
        Value(category, "prevalence").Should().BeApproximately((5.0 + 2 * missed) / (8 + 2 * k), 1e-12);
        Value(category, "actionPrecision").Should().Be(0.5);
        Value(category, "reviewPrecision").Should().Be(0.75);
        Value(category, "actionRecall").Should().BeApproximately(2.0 / (5 + 2 * missed), 1e-12);
        Value(category, "recall").Should().BeApproximately(5.0 / (5 + 2 * missed), 1e-12);
        category.GetProperty("actionPrecision").GetProperty("labels").GetInt64().Should().Be(4);
        category.GetProperty("actionPrecision").GetProperty("fewLabels").GetBoolean().Should().BeTrue();

        // Bad windows are refusals naming the parameter.
        (await Json(await reader.GetAsync("/v1/policies/audit-sample?from=yesterday"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("from").EnumerateArray().Should().NotBeEmpty();
        (await Json(await reader.GetAsync("/v1/policies/audit-sample?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("to").EnumerateArray().Should().NotBeEmpty();
        using var uploader = api.CreateClient(await api.CreateKeyAsync(ApiScopes.UploadsWrite));
        (await uploader.GetAsync("/v1/policies/audit-sample")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    private static double Value(JsonElement category, string estimate) => category.GetProperty(estimate).GetProperty("value").GetDouble();

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(expected, body);
            return JsonDocument.Parse(body).RootElement.Clone();
        }
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteAuditSampleReportTests(SqliteAuditReportFixture fixture) : AuditSampleReportContract<SqliteAuditReportFixture>(fixture), IClassFixture<SqliteAuditReportFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresAuditSampleReportTests(PostgresAuditReportFixture fixture) : AuditSampleReportContract<PostgresAuditReportFixture>(fixture), IClassFixture<PostgresAuditReportFixture>;
