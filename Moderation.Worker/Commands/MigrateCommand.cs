using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Storage;

namespace Moderation.Worker.Commands;

/// <summary>Applies pending migrations and exits: the release step where hosts run with MigrateOnStartup=false.</summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var command = new Command("migrate", "Apply pending database migrations, then exit.");
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            using var host = WorkerHost.CreateBuilder(parse.UnmatchedTokens.ToArray()).Build();
            var database = host.Services.GetRequiredService<ModerationDatabase>();
            var applied = await host.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(ct);
            Console.WriteLine(applied.Count == 0
                ? $"{database.Provider}: the schema is current."
                : $"{database.Provider}: applied {string.Join(", ", applied.Select(m => $"{m.Version:D4}_{m.Name}"))}.");
            return 0;
        });
        return command;
    }
}
