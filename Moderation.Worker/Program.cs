using System.CommandLine;
using Moderation.Worker.Commands;

// `Moderation.Worker` with no command runs a job server; the other commands do one thing and exit.
var root = new RootCommand("Moderation workbench worker: runs scoring jobs, and the operator commands.");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(MigrateCommand.Create());
root.Subcommands.Add(VerifyAuditCommand.Create());
root.Subcommands.Add(HeadCommands.Train());
root.Subcommands.Add(HeadCommands.Eval());
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(ModelCommands.Create());
root.TreatUnmatchedTokensAsErrors = false;
root.SetAction((parse, ct) =>
{
    // Only --Key=Value configuration may follow; anything else is a mistyped command, not a reason to start.
    var stray = parse.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith("--", StringComparison.Ordinal));
    if (stray is not null)
    {
        Console.Error.WriteLine($"Unknown command '{stray}'. Commands: run, migrate, verify-audit, train, eval, score, models (see --help).");
        return Task.FromResult(2);
    }
    return RunCommand.RunAsync(parse.UnmatchedTokens.ToArray(), ct);
});

return await root.Parse(args).InvokeAsync(cancellationToken: CancellationToken.None);
