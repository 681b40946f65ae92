using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;

namespace Moderation.Worker.Commands;

/// <summary><c>train</c> and <c>eval</c>: a team's own labels in, a calibrated head and its metrics out.</summary>
internal static class HeadCommands
{
    public static Command Train()
    {
        var category = CategoryOption();
        var input = new Option<FileInfo>("--input") { Required = true, Description = "CSV with a text column and a 0/1 label column." };
        var output = new Option<DirectoryInfo>("--output") { Required = true, Description = "Model directory to write <category>.zip and <category>.json into." };
        var textColumn = new Option<string>("--text-column") { DefaultValueFactory = _ => "text" };
        var labelColumn = new Option<string>("--label-column") { DefaultValueFactory = _ => "label" };
        var features = new Option<TextFeatures>("--features")
        {
            DefaultValueFactory = _ => TextFeatures.Standard,
            Description = "Standard (word and character n-grams) or WithStyle (plus case and punctuation: how a post is written; helps misinformation, can hurt fairness).",
        };
        var command = new Command("train", "Train a category head on labelled texts; holds back every tenth row and prints validation metrics.")
        {
            category, input, output, textColumn, labelColumn, features,
        };
        command.SetAction((parse, ct) => Guard(() =>
        {
            var name = parse.GetValue(category)!;
            var file = parse.GetValue(input)!;
            var rows = LabelledTexts.Read(file.FullName, parse.GetValue(textColumn)!, parse.GetValue(labelColumn)!);
            var (train, validation) = LabelledTexts.Split(rows);
            if (train.Select(r => r.Label).Distinct().Count() < 2)
                throw new LabelledTextsException($"{file.FullName} needs both labels (0 and 1) to train on.");

            using var embedder = new TextEmbedder();
            var trainEmbeddings = EmbedWithProgress(embedder, train, "train");
            var validationEmbeddings = EmbedWithProgress(embedder, validation, "validation");
            Console.Error.WriteLine($"training {name} on {train.Count} rows");
            var head = TextHead.Train(train.Select(r => r.Text).ToList(), trainEmbeddings, train.Select(r => r.Label).ToList(),
                features: parse.GetValue(features));

            var scores = head.Predict(validation.Select(r => r.Text).ToList(), validationEmbeddings);
            var evaluation = HeadEvaluation.Measure(scores, validation, ThresholdsFor(name), withBias: false);
            var sha = HeadFiles.Sha256Of(file.FullName);
            var card = new HeadCard(name, $"{name}-{DateTime.UtcNow:yyyyMMdd}-{sha[..8]}", embedder.Name, DateTimeOffset.UtcNow,
                file.Name, sha, train.Count, validation.Count, evaluation.RocAuc, evaluation.PrAuc, evaluation.ExpectedCalibrationError);
            HeadFiles.Save(parse.GetValue(output)!.FullName, head, card);
            Console.WriteLine($"{name} {card.ModelVersion} validation ({validation.Count} held-back rows):");
            Console.Write(evaluation.Format());
            return 0;
        }));
        return command;
    }

    public static Command Eval()
    {
        var category = CategoryOption();
        var input = new Option<FileInfo>("--input") { Required = true, Description = "CSV with a text column and a 0/1 label column." };
        var models = new Option<DirectoryInfo?>("--models") { Description = $"Model directory holding <category>.zip and <category>.json (default: the shipped heads, {ScoreCommand.DefaultModels})." };
        var textColumn = new Option<string>("--text-column") { DefaultValueFactory = _ => "text" };
        var labelColumn = new Option<string>("--label-column") { DefaultValueFactory = _ => "label" };
        var groupColumn = new Option<string?>("--group-column") { Description = "Identity groups per row (';'-separated) for the fairness audit." };
        var heldBack = new Option<bool>("--held-back") { Description = "Measure only the rows 'train' holds back (every tenth, from the first): the validation part of a training file." };
        var command = new Command("eval", "Measure a head on labelled texts: ROC-AUC, PR-AUC, F1 at the policy thresholds, calibration error, and with --group-column the unintended-bias audit.")
        {
            category, input, models, textColumn, labelColumn, groupColumn, heldBack,
        };
        command.SetAction((parse, ct) => Guard(() =>
        {
            var name = parse.GetValue(category)!;
            var group = parse.GetValue(groupColumn);
            var rows = LabelledTexts.Read(parse.GetValue(input)!.FullName, parse.GetValue(textColumn)!, parse.GetValue(labelColumn)!, group);
            if (parse.GetValue(heldBack)) rows = LabelledTexts.Split(rows).Validation;
            var (head, card) = HeadFiles.Load((parse.GetValue(models)?.FullName) ?? ScoreCommand.DefaultModels, name);
            using var embedder = new TextEmbedder();
            var scores = head.Predict(rows.Select(r => r.Text).ToList(), EmbedWithProgress(embedder, rows, "eval"));
            Console.WriteLine($"{name} {card.ModelVersion} on {parse.GetValue(input)!.Name}{(parse.GetValue(heldBack) ? " (held-back rows)" : "")}:");
            Console.Write(HeadEvaluation.Measure(scores, rows, ThresholdsFor(name), withBias: group is not null).Format());
            return 0;
        }));
        return command;
    }

    private static Option<string> CategoryOption()
    {
        var option = new Option<string>("--category") { Required = true, Description = "harm, misinformation, bias, or a sub-category such as harm.hate." };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value is null || !ScorerOutput.IsValidCategory(value))
                result.AddError($"'{value}' is not a category name (lower-case, dotted: harm, harm.hate, misinformation, bias).");
        });
        return option;
    }

    /// <summary>F1 is reported at the live policy's review and action thresholds for the category.</summary>
    private static double[] ThresholdsFor(string category)
    {
        using var host = WorkerHost.CreateBuilder([]).Build();
        var thresholds = host.Services.GetRequiredService<RoutingPolicy>().ThresholdsFor(category);
        return [thresholds.Review, thresholds.Action];
    }

    private static List<float[]> EmbedWithProgress(TextEmbedder embedder, IReadOnlyList<LabelledText> rows, string what)
    {
        var result = new List<float[]>(rows.Count);
        const int chunk = 512;
        for (var start = 0; start < rows.Count; start += chunk)
        {
            result.AddRange(embedder.Embed(rows.Skip(start).Take(chunk).Select(r => r.Text).ToList()));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"embedded {result.Count}/{rows.Count} {what} texts"));
        }
        return result;
    }

    /// <summary>Bad input is a clear message and exit code 2, never a stack trace.</summary>
    private static Task<int> Guard(Func<int> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (Exception e) when (e is LabelledTextsException or FileNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return Task.FromResult(2);
        }
    }
}
