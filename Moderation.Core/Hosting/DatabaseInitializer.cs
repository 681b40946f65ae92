using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Storage;

namespace Moderation.Core.Hosting;

/// <summary>
/// Registered before every other hosted service, so the schema is current before a job or request touches it.
/// The API host also creates the first credentials here (<paramref name="bootstrap"/>); workers do not.
/// </summary>
public sealed class DatabaseInitializer(DatabaseMigrator migrator, IOptions<DatabaseOptions> options, AccessBootstrap? bootstrap) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.MigrateOnStartup)
            await migrator.MigrateAsync(cancellationToken);
        if (bootstrap is not null)
            await bootstrap.EnsureAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
