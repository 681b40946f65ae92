using Microsoft.Extensions.Options;
using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Training.Text;

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
        var command = new Command("train", "Train a category head on labelled texts as the default heads are trained (linear part and network over the encoder's layers, calibrated together); holds back one row in ten and prints validation metrics.")
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
            if (validation.Select(r => r.Label).Distinct().Count() < 2)
                throw new LabelledTextsException($"{file.FullName}: the held-back rows (one in ten) need both labels to calibrate the head; add rows.");

            using var embedder = new TextEmbedder();
            var trainVectors = EncodeWithProgress(embedder, train, "train");
            var validationVectors = EncodeWithProgress(embedder, validation, "validation");
            Console.Error.WriteLine($"training {name} on {train.Count} rows");
            var head = TextHeadTraining.Train(train.Select(r => r.Text).ToList(), trainVectors, train.Select(r => r.Label).ToList(), features: parse.GetValue(features),
                l2: 0.1f);
            var network = MlpTraining.Train(trainVectors, train.Select(r => r.Label).ToList(), train.Select(_ => 1f).ToList(), ct: ct);
            var linear = head.Predict(validation.Select(r => r.Text).ToList(), validationVectors);
            var z = validationVectors.Select((v, i) => (float)((PassageAggregation.Logit(linear[i]) + network.Logit(v)) / 2)).ToList();
            var (slope, offset) = HeadTrainer.Platt(z, validation.Select(r => r.Label).ToList(), validation.Select(_ => 1f).ToList());
            head = head.WithNetwork(network, slope, offset);

            var scores = head.Predict(validation.Select(r => r.Text).ToList(), validationVectors);
            var evaluation = HeadEvaluation.Measure(scores, validation, ThresholdsFor(name), withBias: false);
            var sha = HeadFiles.Sha256Of(file.FullName);
            var card = new HeadCard(name, $"{name}-{DateTime.UtcNow:yyyyMMdd}-{sha[..8]}", embedder.Name + "-layers", DateTimeOffset.UtcNow,
                file.Name, sha, train.Count, validation.Count, evaluation.RocAuc, evaluation.PrAuc, evaluation.ExpectedCalibrationError, 0.1);
            HeadFiles.Save(parse.GetValue(output)!.FullName, head, card);
            Console.WriteLine($"{name} {card.ModelVersion} validation ({validation.Count} held-back rows):");
            Console.Write(evaluation.Format());
            return Task.FromResult(0);
        }));
        return command;
    }

    public static Command Eval()
    {
        var category = CategoryOption();
        var input = new Option<FileInfo>("--input") { Required = true, Description = "CSV with a text column and a 0/1 label column." };
        var models = TextScoringRun.ModelsOption();
        var claims = TextScoringRun.ClaimsOption();
        var language = TextScoringRun.LanguageOption();
        var textColumn = new Option<string>("--text-column") { DefaultValueFactory = _ => "text" };
        var labelColumn = new Option<string>("--label-column") { DefaultValueFactory = _ => "label" };
        var groupColumn = new Option<string?>("--group-column") { Description = "Identity groups per row (';'-separated) for the fairness audit." };
        var heldBack = new Option<bool>("--held-back") { Description = "Measure only the rows 'train' holds back (one in ten, by a hash of the text): the validation part of a training file." };
        var command = new Command("eval", "Measure a head on labelled texts through the text scorer, exactly as production scores them: ROC-AUC, PR-AUC, F1 at the policy thresholds, calibration error, and with --group-column the unintended-bias audit. Texts the scorer declines (no words, another language) are counted, not scored.")
        {
            category, input, models, claims, language, textColumn, labelColumn, groupColumn, heldBack,
        };
        command.SetAction((parse, ct) => Guard(async () =>
        {
            var name = parse.GetValue(category)!;
            var group = parse.GetValue(groupColumn);
            var rows = LabelledTexts.Read(parse.GetValue(input)!.FullName, parse.GetValue(textColumn)!, parse.GetValue(labelColumn)!, group);
            if (parse.GetValue(heldBack)) rows = LabelledTexts.Split(rows).Validation;
            using var run = new TextScoringRun(parse.GetValue(models)?.FullName ?? ScoreCommand.DefaultModels, parse.GetValue(claims), parse.GetValue(language));
            var head = run.Models.Heads.FirstOrDefault(h => h.Card.Category == name).Card
                ?? throw new FileNotFoundException($"No '{name}' head in {run.Models.Directory}.");
            var verdicts = await run.ScoreAsync(rows.Select(r => r.Text).ToList(), ct);
            var scored = Enumerable.Range(0, rows.Count).Where(i => TextScoringRun.ScoreOf(verdicts[i], name) is not null).ToList();
            Console.WriteLine($"{name} {head.ModelVersion} on {parse.GetValue(input)!.Name}{(parse.GetValue(heldBack) ? " (held-back rows)" : "")}:");
            foreach (var code in verdicts.Where(v => v.Abstention is not null).GroupBy(v => v.Abstention!.Code))
                Console.WriteLine($"unscored={code.Key} rows={code.Count()}");
            Console.Write(HeadEvaluation.Measure(scored.Select(i => TextScoringRun.ScoreOf(verdicts[i], name)!.Value).ToList(),
                scored.Select(i => rows[i]).ToList(), ThresholdsFor(name), withBias: group is not null).Format());
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

    /// <summary>
    /// F1 is reported at the live policy version's review and action thresholds for the category; where the database has
    /// no policy version yet (a fresh machine), at those of the configuration that will seed it.
    /// </summary>
    private static double[] ThresholdsFor(string category)
    {
        using var host = WorkerHost.CreateBuilder([]).Build();
        RoutingPolicy policy;
        try
        {
            policy = host.Services.GetRequiredService<PolicyVersions>().LiveAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is InvalidOperationException or System.Data.Common.DbException)
        {
            policy = new RoutingPolicy(host.Services.GetRequiredService<IOptions<RoutingPolicyOptions>>().Value);
        }
        var thresholds = policy.ThresholdsFor(category);
        return [thresholds.Review, thresholds.Action];
    }

    /// <summary>The encoder layers of each row's text, as the scorer computes them for a text that fits the window.</summary>
    private static List<float[]> EncodeWithProgress(TextEmbedder embedder, IReadOnlyList<LabelledText> rows, string what)
    {
        var result = new List<float[]>(rows.Count);
        const int chunk = 512;
        for (var start = 0; start < rows.Count; start += chunk)
        {
            var tokens = rows.Skip(start).Take(chunk).Select(r => embedder.Tokenize(r.Text) is var ids && ids.Length > TextEmbedder.WindowTokens ? ids[..TextEmbedder.WindowTokens] : ids).ToList();
            result.AddRange(embedder.Encode(tokens, layers: true).Select(e => e.Layers!));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"encoded {result.Count}/{rows.Count} {what} texts"));
        }
        return result;
    }

    /// <summary>Bad input is a clear message and exit code 2, never a stack trace.</summary>
    private static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is LabelledTextsException or FileNotFoundException or InvalidDataException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
