using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Policies;
using Moderation.Core.Review;
using Moderation.Core.Storage;

namespace Moderation.Core.Hosting;

/// <summary>
/// Registered before every other hosted service, so the schema is current before a job or request touches it.
/// After migrating it opens the review tasks of uploads routed to review before tasks opened at routing
/// (<see cref="ReviewTasks.OpenMissingAsync"/>), and seeds the first policy version from <c>Moderation:Policy</c> when
/// the database has none (<see cref="PolicyVersions.SeedAsync"/>). The API host also creates the first credentials
/// here (<paramref name="bootstrap"/>); workers do not.
/// </summary>
public sealed class DatabaseInitializer(DatabaseMigrator migrator, ReviewTasks reviewTasks, IOptions<DatabaseOptions> options,
    AccessBootstrap? bootstrap, PolicyVersions policies, IOptions<RoutingPolicyOptions> configuredPolicy, ILogger<DatabaseInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.MigrateOnStartup)
        {
            await migrator.MigrateAsync(cancellationToken);
            var opened = await reviewTasks.OpenMissingAsync(cancellationToken);
            if (opened > 0) logger.LogInformation("Opened {Count} review tasks for uploads routed to review without one", opened);
        }
        if (await policies.SeedAsync(configuredPolicy.Value, cancellationToken))
            logger.LogInformation("Seeded policy version {Version} from Moderation:Policy; from now on policy versions live in the database", configuredPolicy.Value.Version);
        else if (await policies.LiveVersionAsync(cancellationToken) is { } live
                 && PolicyVersions.Serialize(live.Document) != PolicyVersions.Serialize(configuredPolicy.Value))
            logger.LogWarning("Moderation:Policy differs from the live policy version {Live}: the configuration only seeds an empty database, and the live version routes. Change policies with /v1/policies", live.Version);
        if (bootstrap is not null)
            await bootstrap.EnsureAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
