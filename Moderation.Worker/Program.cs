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
root.Subcommands.Add(TrainDefaultsCommand.Create());
root.Subcommands.Add(ModelCommands.Create());
root.Subcommands.Add(HashCommand.Create());
root.Subcommands.Add(HashBankCommands.Create());
root.Subcommands.Add(HashRobustnessCommand.Create());
root.Subcommands.Add(ImageCommands.TrainImages());
root.TreatUnmatchedTokensAsErrors = false;
root.SetAction((parse, ct) =>
{
    // Only --Key=Value configuration may follow; anything else is a mistyped command, not a reason to start.
    var stray = parse.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith("--", StringComparison.Ordinal));
    if (stray is not null)
    {
        Console.Error.WriteLine($"Unknown command '{stray}'. Commands: run, migrate, verify-audit, train, eval, score, train-defaults, models, hash, hashbank, hash-robustness, train-images (see --help).");
        return Task.FromResult(2);
    }
    return RunCommand.RunAsync(parse.UnmatchedTokens.ToArray(), ct);
});

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Bad input (a missing or invalid option) is a clear message and exit code 2, as for every other input error.
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
    var path = new List<string>();
    for (var command = parsed.CommandResult; command.Parent is System.CommandLine.Parsing.CommandResult parent; command = parent)
        path.Insert(0, command.Command.Name);
    Console.Error.WriteLine($"See '{string.Join(' ', path.Append("--help"))}'.");
    return 2;
}
return await parsed.InvokeAsync(cancellationToken: CancellationToken.None);
