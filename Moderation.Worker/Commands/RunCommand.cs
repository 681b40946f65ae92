using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moderation.Core.Hosting;
using Moderation.Core.Telemetry;

namespace Moderation.Worker.Commands;

/// <summary>
/// A stand-alone job server: many of these, on many machines, share one PostgreSQL or SQL Server database
/// (or, on one machine, the embedded SQLite files). Stops gracefully on SIGTERM; a job cut off mid-way is
/// picked up again, and scoring is idempotent.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Run a job server (the default when no command is given).");
        var config = new Argument<string[]>("configuration") { Arity = ArgumentArity.ZeroOrMore, Description = "Optional --Key=Value configuration overrides." };
        command.Arguments.Add(config);
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((parse, ct) => RunAsync(parse.UnmatchedTokens.Concat(parse.GetValue(config) ?? []).ToArray(), ct));
        return command;
    }

    public static async Task<int> RunAsync(string[] configurationArgs, CancellationToken ct)
    {
        var builder = WorkerHost.CreateBuilder(configurationArgs);
        builder.Services.AddModerationJobServer();
        builder.Services.AddHostedService<QueueDepthMonitor>();
        using var host = builder.Build();
        await host.RunAsync(ct);
        return 0;
    }
}
