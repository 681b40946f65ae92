using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Audit;
using Moderation.Core.Media;
using Moderation.Core.Models;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Storage;
using Moderation.Training.Images;

namespace Moderation.Worker.Commands;

/// <summary><c>train-images</c>: labelled images or moderators' decisions in, one calibrated image head per category and its validation figures out.</summary>
internal static class ImageCommands
{
    public static Command TrainImages()
    {
        var input = new Option<FileInfo?>("--input") { Description = "CSV with path,category,label columns; paths are relative to the CSV; label is 0 or 1." };
        var fromDecisions = new Option<bool>("--from-decisions")
        {
            Description = "Train from moderators' standing decisions in the configured database, on the image embeddings the image scorer stored (instead of --input).",
        };
        var output = new Option<DirectoryInfo>("--output") { Required = true, Description = "Directory to write <category>.zip and <category>.json into, one pair per category." };
        var l2 = new Option<float>("--l2") { DefaultValueFactory = _ => 1f, Description = "L2 regularisation of the logistic regression (default 1)." };
        l2.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<float>();
            if (!float.IsFinite(value) || value < 0) result.AddError($"--l2 must be a non-negative number, not {value}.");
        });
        var since = new Option<string?>("--since") { Description = "With --from-decisions: only uploads whose standing decision was taken on or after this UTC date or time (2026-11-01)." };
        since.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && ParseSince(text) is null)
                result.AddError($"--since must be a date or time such as 2026-11-01 or 2026-11-01T08:00:00Z, not '{text}'.");
        });
        var minExamples = new Option<int>("--min-examples")
        {
            DefaultValueFactory = _ => ImageHeadsFromDecisions.DefaultMinExamples,
            Description = $"With --from-decisions: positive and negative uploads a category needs, each, to get a head (default {ImageHeadsFromDecisions.DefaultMinExamples}, at least 2).",
        };
        minExamples.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is var value and < 2) result.AddError($"--min-examples must be at least 2 (one upload to train on and one to hold back per class), not {value}.");
        });
        var categories = new Option<string[]>("--category")
        {
            Description = "With --from-decisions: train only this category (repeat for several); default: every category a standing decision found violated.",
            AllowMultipleArgumentsPerToken = false,
        };
        categories.Validators.Add(result =>
        {
            foreach (var value in result.GetValueOrDefault<string[]>() ?? [])
                if (value.Length > ModelRegistry.MaxCategoryLength || !ScorerOutput.IsValidCategory(value))
                    result.AddError($"'{value}' is not a category name (lower-case, dotted: harm.violence).");
        });
        var register = new Option<bool>("--register")
        {
            Description = "With --from-decisions: also store each trained head in the model registry as a shadow version (scored beside the live one, never routing); make it live with 'models set-state'.",
        };
        var command = new Command("train-images",
            "Train an image head per category on ResNet18 embeddings, from labelled images (--input) or from moderators' decisions (--from-decisions); holds back every fifth positive and negative (upload) per category and prints ROC-AUC, PR-AUC and calibration error.")
        {
            input, fromDecisions, output, l2, since, minExamples, categories, register,
        };
        command.Validators.Add(result =>
        {
            var csv = result.GetValue(input) is not null;
            var decisions = result.GetValue(fromDecisions);
            if (csv == decisions) result.AddError("Give either --input labels.csv or --from-decisions (one of them).");
            if (csv && (result.GetResult(since) is { Implicit: false } || result.GetResult(minExamples) is { Implicit: false } || result.GetValue(register)
                        || result.GetResult(categories) is { Implicit: false }))
                result.AddError("--since, --min-examples, --category and --register go with --from-decisions, not --input.");
        });
        return WorkerHost.WithService<IServiceProvider>(command, async (parse, services, ct) =>
        {
            if (parse.GetValue(fromDecisions))
                return await FromDecisionsAsync(services, parse.GetValue(output)!.FullName, parse.GetValue(since) is { } text ? ParseSince(text) : null,
                    parse.GetValue(minExamples), parse.GetValue(categories) is { Length: > 0 } only ? only : null, parse.GetValue(l2), parse.GetValue(register), ct);
            try
            {
                var file = parse.GetValue(input)!;
                using var embedder = new ImageEmbedder();
                var reports = ImageHeadTraining.Train(file.FullName, parse.GetValue(output)!.FullName, embedder, parse.GetValue(l2),
                    line => Console.Error.WriteLine(line), ct);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {reports.Count} image head(s) from {file.Name}; validation on held-back rows:"));
                foreach (var report in reports)
                {
                    Console.WriteLine(report.Format());
                    if (report.ValidationRows < 20)
                        Console.WriteLine($"  warning: {report.ValidationRows} validation rows are too few for these figures to mean much");
                }
                return 0;
            }
            catch (Exception e) when (e is LabelledImagesException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        }, e => e switch
        {
            DecisionTrainingException or InvalidDataException or UnauthorizedAccessException or IOException => $"error: {e.Message}",
            DbException => $"error: the database could not be read ({e.Message}); a new database needs 'migrate' first.",
            _ => null,
        });
    }

    /// <summary>A UTC date or time; null when the text is neither.</summary>
    private static DateTimeOffset? ParseSince(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value) ? value : null;

    private static async Task<int> FromDecisionsAsync(IServiceProvider services, string output, DateTimeOffset? since, int minExamples,
        IReadOnlyCollection<string>? only, float l2, bool register, CancellationToken ct)
    {
        var set = await new DecidedImageExamples(services.GetRequiredService<ModerationDatabase>()).LoadAsync(since, ct);
        var outcome = ImageHeadsFromDecisions.Train(set, output, minExamples, l2, only: only);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trained {outcome.Trained.Count} image head(s) from {ImageHeadsFromDecisions.Source} ({set.Uploads.Count} decided uploads with {set.EmbeddingModel} image embeddings); validation on held-back uploads (an upload scores its highest frame):"));
        foreach (var head in outcome.Trained)
        {
            Console.WriteLine(head.Report.Format());
            var d = head.Card.Decisions!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  uploads: {d.PositiveUploads} positive, {d.NegativeUploads} negative, decided {d.FirstDecision.UtcDateTime:yyyy-MM-dd HH:mm} to {d.LastDecision.UtcDateTime:yyyy-MM-dd HH:mm} UTC; frames: {head.TrainingFrames} trained on, {head.ValidationFrames} held back"));
            if (head.Report.ValidationRows < 20)
                Console.WriteLine($"  warning: {head.Report.ValidationRows} validation uploads are too few for these figures to mean much");
        }
        foreach (var skipped in outcome.Skipped) Console.WriteLine($"skipped {skipped}");
        foreach (var note in outcome.Notes) Console.WriteLine($"note: {note}");
        if (!register) return 0;

        var registry = services.GetRequiredService<ModelRegistry>();
        foreach (var head in outcome.Trained)
        {
            // The version names the training set (its decisions and labels) and the day: the same run again finds it
            // registered. ML.NET's zip differs byte for byte between runs, so the registry would call that a conflict.
            if (await registry.FindAsync(head.Card.Category, head.Card.ModelVersion, ct) is { } existing)
            {
                Console.WriteLine($"{head.Card.Category}@{head.Card.ModelVersion} is already registered ({existing.State}), trained today from the same decisions; nothing changed");
                continue;
            }
            var package = HeadFiles.ReadPackage(output, head.Card.Category);
            var created = await registry.RegisterAsync(head.Card.Category, head.Card.ModelVersion, ImageScorer.HeadKind, package.CardJson, package.MetricsJson,
                package.Artifact, ModelStates.Shadow, AuditActors.Cli(), ct);
            Console.WriteLine(created
                ? $"registered {head.Card.Category}@{head.Card.ModelVersion} as shadow (make it live with: models set-state --category {head.Card.Category} --version {head.Card.ModelVersion} --state live)"
                : $"{head.Card.Category}@{head.Card.ModelVersion} is already registered with these bytes; nothing changed");
        }
        return 0;
    }
}
