using System.CommandLine;
using Moderation.Core.Scoring.Text;
using Moderation.Training.Text;

namespace Moderation.Worker.Commands;

/// <summary>
/// <c>train-defaults</c>: retrains every shipped default head, reproducibly (fixed seeds), measures each through the
/// text scorer (held-back rows, test sets, fairness, leave one source out, the functional suite) and rewrites the model card.
/// </summary>
internal static class TrainDefaultsCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Required = true, Description = "The shared training data (../shared/data)." };
        var seed = new Option<DirectoryInfo>("--seed") { Required = true, Description = "The project's seed corpus (training/seed)." };
        var functional = new Option<DirectoryInfo>("--functional") { Description = "The functional suite and fairness templates (default: functional beside the seed directory)." };
        var output = new Option<DirectoryInfo>("--output") { Required = true, Description = "Where to write the heads and MODEL_CARD.md (the repository's models/text)." };
        var category = new Option<string[]>("--category") { Description = "Train only these heads (repeatable); the card then holds only them.", AllowMultipleArgumentsPerToken = true };
        var skipLoso = new Option<bool>("--skip-leave-one-out") { Description = "Skip the leave-one-source-out runs (most of the time taken); the card then has no generalisation figures." };
        var command = new Command("train-defaults", "Train the default heads (harm and its sub-categories, misinformation, bias) from the shared data and the seed corpus, and write the model card.")
        {
            data, seed, functional, output, category, skipLoso,
        };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var seedDirectory = parse.GetValue(seed)!.FullName;
                var functionalDirectory = parse.GetValue(functional)?.FullName ?? Path.Combine(Path.GetDirectoryName(seedDirectory.TrimEnd('/'))!, "functional");
                using var embedder = new TextEmbedder();
                var corpus = new TrainingCorpus(parse.GetValue(data)!.FullName, seedDirectory, functionalDirectory);
                var categories = parse.GetValue(category) is { Length: > 0 } only ? only.ToHashSet(StringComparer.Ordinal) : null;
                var run = new DefaultHeadsRun(corpus, embedder, functionalDirectory,
                    new DefaultHeadsOptions { LeaveOneSourceOut = !parse.GetValue(skipLoso), Categories = categories },
                    message => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {message}"));
                await run.TrainAllAsync(parse.GetValue(output)!.FullName, ct);
                Console.WriteLine($"wrote the default heads and MODEL_CARD.md to {parse.GetValue(output)!.FullName}");
                return 0;
            }
            catch (LabelledTextsException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
