using System.CommandLine;
using Moderation.Core.Scoring.Text;

namespace Moderation.Worker.Commands;

/// <summary><c>train-defaults</c>: retrains every shipped default head, reproducibly, and rewrites the model card.</summary>
internal static class TrainDefaultsCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Required = true, Description = "The shared training data (davidson_train.csv, constraint_*.csv)." };
        var seed = new Option<DirectoryInfo>("--seed") { Required = true, Description = "The project's seed corpus (training/seed)." };
        var output = new Option<DirectoryInfo>("--output") { Required = true, Description = "Where to write the heads and MODEL_CARD.md (the repository's models/text)." };
        var command = new Command("train-defaults", "Train the default heads (harm and its sub-categories, misinformation, bias) from the shared data and the seed corpus.")
        {
            data, seed, output,
        };
        command.SetAction((parse, ct) =>
        {
            try
            {
                using var embedder = new TextEmbedder();
                DefaultHeads.TrainAll(parse.GetValue(data)!.FullName, parse.GetValue(seed)!.FullName, parse.GetValue(output)!.FullName,
                    embedder, message => Console.Error.WriteLine(message), ct);
                Console.WriteLine($"wrote the default heads and MODEL_CARD.md to {parse.GetValue(output)!.FullName}");
                return Task.FromResult(0);
            }
            catch (LabelledTextsException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return command;
    }
}
