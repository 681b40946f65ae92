using Dapper;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Scoring;

/// <summary>Scoring jobs running at once claim disjoint batches, fill them from the queue, and never score an upload twice.</summary>
public abstract class ScoringClaimContract(DatabaseProvider provider)
{
    // Statements of the test's own, as DialectSql so the SQL Server parse check reads them too.
    private static readonly DialectSql CountScored = DialectSql.Portable("SELECT COUNT(*) FROM uploads WHERE status = 'allowed' AND claim_token IS NULL");
    private static readonly DialectSql HoldElsewhere = DialectSql.Portable("UPDATE uploads SET claim_token = 'other', claimed_until_ms = @until WHERE id = @id");
    private static readonly DialectSql ExpireClaim = DialectSql.Portable("UPDATE uploads SET claimed_until_ms = 1 WHERE id = @id");

    [Fact]
    public async Task Concurrent_jobs_claim_disjoint_full_batches_from_the_queue()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var marker = Path.Combine(database.Directory, "batches");
        await using var api = await TestApi.StartAsync(database, withScorer: true, new Dictionary<string, string?>
        {
            ["Moderation:Worker:InProcess"] = "false",
            ["Moderation:Scoring:MaxBatchSize"] = "10",
            ["TestScorers:StartedMarker"] = marker,
            ["TestScorers:DelayMsPerItem"] = "20",
        });
        for (var i = 0; i < 30; i++)
            await api.PostUploadAsync(new { externalId = $"claim-{i}", caption = "fine" });

        // Three jobs with no uploads of their own: each tops up from the queue.
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
            api.Services.GetRequiredService<ScoringJob>().ScoreAsync([], CancellationToken.None))));

        File.ReadAllLines(marker).Select(int.Parse).Should().Equal(10, 10, 10);
        await using var connection = await api.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<long>(api.Database.Sql(CountScored))).Should().Be(30);
    }

    [Fact]
    public async Task A_job_leaves_uploads_alone_while_another_job_holds_them()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var api = await TestApi.StartAsync(database, withScorer: true, new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });
        var id = (await api.PostUploadAsync(new { externalId = "held-1", caption = "fine" })).GetProperty("id").GetString()!;
        await using (var connection = await api.Database.OpenAsync())
            await connection.ExecuteAsync(api.Database.Sql(HoldElsewhere),
                new { until = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds(), id });

        await api.Services.GetRequiredService<ScoringJob>().ScoreAsync([id], CancellationToken.None);
        (await api.GetUploadAsync(id)).GetProperty("status").GetString().Should().Be("queued");

        await using (var connection = await api.Database.OpenAsync())
            await connection.ExecuteAsync(api.Database.Sql(ExpireClaim), new { id });
        await api.Services.GetRequiredService<ScoringJob>().ScoreAsync([id], CancellationToken.None);
        (await api.GetUploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed", "an expired claim is taken over");
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteScoringClaimTests() : ScoringClaimContract(DatabaseProvider.Sqlite);

[Collection(HostCollection.Name)]
public sealed class PostgresScoringClaimTests() : ScoringClaimContract(DatabaseProvider.Postgres);

[Collection(HostCollection.Name)]
public sealed class SqlServerScoringClaimTests() : ScoringClaimContract(DatabaseProvider.SqlServer);
