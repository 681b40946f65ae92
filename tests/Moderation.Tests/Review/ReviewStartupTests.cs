using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Moderation.Core.Hosting;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>The review services come from Core, and a host starting on an older database opens the tasks it lacks.</summary>
public abstract class ReviewStartupContract(DatabaseProvider provider)
{
    private static readonly DialectSql CountReviewTasks = DialectSql.Portable("SELECT COUNT(*) FROM review_tasks WHERE kind = 'review' AND state = 'open'");

    [Fact]
    public async Task Core_alone_registers_what_routing_appeals_reports_and_reach_need()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Moderation:DataDirectory"] = database.Directory,
            ["Moderation:Database:Provider"] = database.Provider.ToString(),
            ["Moderation:Database:ConnectionString"] = database.ConnectionString,
            ["Moderation:Scoring:Text:Enabled"] = "false",
            ["Moderation:Scoring:Media:Enabled"] = "false",
            ["Moderation:Scoring:Images:Enabled"] = "false",
            ["Moderation:Scoring:Ocr:Enabled"] = "false",
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddModerationCore(configuration, bootstrapAccess: false)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });

        // No Moderation.Review (the workbench UI) in this container: the API's endpoints and the workers need only Core.
        services.GetRequiredService<ReviewTasks>().Should().NotBeNull();
        services.GetRequiredService<ScoringOutcomeWriter>().Should().NotBeNull();
        services.GetRequiredService<ReviewDecisions>().Should().NotBeNull();
        services.GetRequiredService<UserReports>().Should().NotBeNull();
        services.GetRequiredService<UploadReach>().Should().NotBeNull();
        services.GetRequiredService<ReviewQueue>().Should().NotBeNull();
    }

    [Fact]
    public async Task A_host_starting_on_uploads_in_review_without_tasks_opens_them()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(database.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var legacy = await ReviewSeed.InReviewWithoutTaskAsync(database.Database, 3);

        await using var api = await TestApi.StartAsync(database, withScorer: false);

        await using var connection = await api.Database.OpenAsync();
        (await connection.ExecuteScalarAsync<long>(api.Database.Sql(CountReviewTasks))).Should().Be(legacy.Count);
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteReviewStartupContract() : ReviewStartupContract(DatabaseProvider.Sqlite);

[Collection(HostCollection.Name)]
public sealed class PostgresReviewStartupContract() : ReviewStartupContract(DatabaseProvider.Postgres);

[Collection(HostCollection.Name)]
public sealed class SqlServerReviewStartupContract() : ReviewStartupContract(DatabaseProvider.SqlServer);
