using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Review;
using Moderation.Core.Storage;

namespace Moderation.Worker.Commands;

/// <summary>Applies pending migrations, opens missing review tasks, and exits: the release step where hosts run with MigrateOnStartup=false.</summary>
internal static class MigrateCommand
{
    public static Command Create() => WorkerHost.OneShot("migrate", "Apply pending database migrations, then exit.", async (services, ct) =>
    {
        var database = services.GetRequiredService<ModerationDatabase>();
        var applied = await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(ct);
        Console.WriteLine(applied.Count == 0
            ? $"{database.Provider}: the schema is current."
            : $"{database.Provider}: applied {string.Join(", ", applied.Select(m => $"{m.Version:D4}_{m.Name}"))}.");
        // Uploads routed to review before tasks opened at routing get theirs now (idempotent).
        var opened = await services.GetRequiredService<ReviewTasks>().OpenMissingAsync(ct);
        if (opened > 0) Console.WriteLine($"{database.Provider}: opened {opened} review tasks for uploads in review without one.");
        return 0;
    });
}
