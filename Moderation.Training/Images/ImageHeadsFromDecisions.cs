using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Moderation.Core.Media;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Evaluation;
using Moderation.Training.Text;

namespace Moderation.Training.Images;

/// <summary>Nothing could be trained from the decisions, with every reason (exit code 2 on the command line).</summary>
public sealed class DecisionTrainingException(string message) : Exception(message);

/// <summary>A head trained from decisions: its figures, the uploads on each side of the split and where it was written.</summary>
public sealed record DecisionHeadResult(ImageHeadReport Report, HeadCard Card, IReadOnlyList<string> TrainingUploads, IReadOnlyList<string> ValidationUploads,
    int TrainingFrames, int ValidationFrames);

/// <summary>What one run trained, and why each other category was not trained.</summary>
public sealed record DecisionTrainingOutcome(IReadOnlyList<DecisionHeadResult> Trained, IReadOnlyList<string> Skipped, IReadOnlyList<string> Notes);

/// <summary>
/// <c>train-images --from-decisions</c>: one calibrated <see cref="ImageHead"/> per category from moderators' standing
/// decisions (<see cref="StandingVerdicts"/>) over the image embeddings the image scorer stored, written as
/// <c>{category}.zip</c> and <c>{category}.json</c> like the CSV path. An upload is one example however many images or
/// frames it has: every frame is trained on with the upload's label, weighted 1/frames so a long video counts as much
/// as a photo (which frame of a removed video broke the rule is not recorded, so none is singled out); validation
/// scores an upload by its highest frame, as the image scorer does. The split is by upload: every fifth positive and
/// every fifth negative upload in decision order (from the first) is held back, with all its frames.
/// </summary>
public static class ImageHeadsFromDecisions
{
    public const int DefaultMinExamples = 20;

    /// <summary>What a card names as its training source.</summary>
    public const string Source = "moderator decisions";

    /// <summary>Held back: every fifth positive and every fifth negative upload in decision order, from the first.</summary>
    public static (List<(DecidedUpload Upload, bool Label)> Train, List<(DecidedUpload Upload, bool Label)> Validation) SplitByUpload(
        IEnumerable<(DecidedUpload Upload, bool Label)> examples)
    {
        var train = new List<(DecidedUpload, bool)>();
        var validation = new List<(DecidedUpload, bool)>();
        foreach (var byLabel in examples.GroupBy(e => e.Label))
        {
            var i = 0;
            foreach (var example in byLabel.OrderBy(e => e.Upload.Verdict.DecidedAt).ThenBy(e => e.Upload.Verdict.UploadId, StringComparer.Ordinal))
                (i++ % 5 == 0 ? validation : train).Add(example);
        }
        return (train, validation);
    }

    /// <summary>The examples of one category: its positives, then allowed uploads as negatives (<see cref="StandingVerdicts.Label"/>).</summary>
    public static List<(DecidedUpload Upload, bool Label)> Examples(DecidedImageSet set, string category) =>
        set.Uploads.Select(u => (Upload: u, Label: StandingVerdicts.Label(u.Verdict, category)))
            .Where(e => e.Label is not null).Select(e => (e.Upload, e.Label!.Value)).ToList();

    /// <summary>Trains every category with at least <paramref name="minExamples"/> positive and negative uploads.</summary>
    /// <param name="only">The categories to train (others are not considered); null: every category a decision found violated.</param>
    /// <exception cref="DecisionTrainingException">No category could be trained; the message says why for each.</exception>
    public static DecisionTrainingOutcome Train(DecidedImageSet set, string outputDirectory, int minExamples = DefaultMinExamples, float l2 = 1f,
        DateTimeOffset? now = null, IReadOnlyCollection<string>? only = null)
    {
        if (minExamples < 2) throw new ArgumentOutOfRangeException(nameof(minExamples), "At least 2 uploads per class: one to train on, one to hold back.");
        var at = now ?? DateTimeOffset.UtcNow;
        var notes = Notes(set);
        var window = set.Since is { } since ? $" decided since {since:yyyy-MM-dd HH:mm:ss}Z" : "";
        if (set.DecidedUploads == 0)
            throw Refuse($"There are no moderator decisions{window} to train on (allow, remove, age-restrict, demote or label; escalations and quality samples do not count).", notes);
        if (set.Uploads.Count == 0)
            throw Refuse($"None of the {set.DecidedUploads} uploads with a standing decision{window} has {set.EmbeddingModel} image embeddings.", notes);

        var categories = StandingVerdicts.Categories(set.Uploads.Select(u => u.Verdict));
        if (categories.Count == 0)
            throw Refuse($"All {set.Uploads.Count} decided uploads with images were allowed: no decision found a violation, so there is no category to train a head for.", notes);

        var trained = new List<DecisionHeadResult>();
        var skipped = new List<string>();
        foreach (var category in only?.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal) ?? categories.AsEnumerable())
        {
            var examples = Examples(set, category);
            if (examples.All(e => !e.Label))
            {
                skipped.Add($"{category}: no standing decision on an upload with images found a violation of it");
                continue;
            }
            int positives = examples.Count(e => e.Label), negatives = examples.Count - positives;
            var excluded = set.Uploads.Count - examples.Count;
            var counts = $"{positives} positive and {negatives} negative uploads" + (excluded > 0 ? $" ({excluded} actioned for other categories only, left out)" : "");
            if (negatives == 0)
            {
                skipped.Add($"{category}: {counts}: a head needs both classes, and no decided upload with images was allowed");
                continue;
            }
            if (positives < minExamples || negatives < minExamples)
            {
                skipped.Add($"{category}: {counts}: needs at least {minExamples} of each (--min-examples)");
                continue;
            }
            trained.Add(TrainOne(set, category, examples, outputDirectory, l2, at));
        }
        if (trained.Count == 0)
            throw Refuse($"No image head was trained from {set.Uploads.Count} decided uploads with images:\n  " + string.Join("\n  ", skipped), notes);
        return new DecisionTrainingOutcome(trained, skipped, notes);
    }

    private static DecisionHeadResult TrainOne(DecidedImageSet set, string category, List<(DecidedUpload Upload, bool Label)> examples,
        string outputDirectory, float l2, DateTimeOffset at)
    {
        var (train, validation) = SplitByUpload(examples);
        var vectors = new List<float[]>();
        var labels = new List<bool>();
        var weights = new List<float>();
        foreach (var (upload, label) in train)
            foreach (var frame in upload.Frames)
            {
                vectors.Add(frame);
                labels.Add(label);
                weights.Add(1f / upload.Frames.Count);
            }
        var head = ImageHead.Train(vectors, labels, l2, weights: weights);
        var scores = validation.Select(e => e.Upload.Frames.Max(head.Predict)).ToList();
        var truth = validation.Select(e => e.Label).ToList();

        var sha = Fingerprint(set.EmbeddingModel, category, examples);
        var version = $"{category}-image-{at.UtcDateTime:yyyyMMdd}-{sha[..8]}";
        var report = new ImageHeadReport(category, version, train.Count, validation.Count, truth.Count(l => l),
            ClassificationMetrics.RocAuc(scores, truth), ClassificationMetrics.PrAuc(scores, truth), ClassificationMetrics.ExpectedCalibrationError(scores, truth));
        var decided = examples.Select(e => e.Upload.Verdict.DecidedAt).ToList();
        int trainingFrames = train.Sum(e => e.Upload.Frames.Count), validationFrames = validation.Sum(e => e.Upload.Frames.Count);
        var card = new HeadCard(category, version, ImageEmbedder.ModelName, at, Source, sha, train.Count, validation.Count,
            report.RocAuc, report.PrAuc, report.ExpectedCalibrationError, l2,
            Decisions: new DecisionTrainingSet(set.Since, decided.Min(), decided.Max(), examples.Count(e => e.Label), examples.Count(e => !e.Label),
                trainingFrames, validationFrames, set.EmbeddingModel));
        Directory.CreateDirectory(outputDirectory);
        using (var file = File.Create(HeadFiles.ModelPath(outputDirectory, category))) head.Save(file);
        File.WriteAllText(HeadFiles.CardPath(outputDirectory, category), HeadFiles.SerializeCard(card));
        return new DecisionHeadResult(report, card, train.Select(e => e.Upload.Verdict.UploadId).ToList(),
            validation.Select(e => e.Upload.Verdict.UploadId).ToList(), trainingFrames, validationFrames);
    }

    /// <summary>The training set's identity (model, uploads, their deciding decisions and labels): part of the version, as a CSV's hash is.</summary>
    private static string Fingerprint(string model, string category, IEnumerable<(DecidedUpload Upload, bool Label)> examples)
    {
        var text = new StringBuilder(model).Append('\n').Append(category).Append('\n');
        foreach (var (upload, label) in examples.OrderBy(e => e.Upload.Verdict.UploadId, StringComparer.Ordinal))
            text.Append(CultureInfo.InvariantCulture, $"{upload.Verdict.UploadId},{upload.Verdict.DecisionId},{(label ? 1 : 0)},{upload.Frames.Count}\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static List<string> Notes(DecidedImageSet set)
    {
        var notes = new List<string>();
        if (set.WithoutImages > 0)
            notes.Add($"{set.WithoutImages} decided upload(s) have no image embeddings (no images, or not scored by the image scorer): left out");
        foreach (var (model, count) in set.OnlyOtherModels.OrderBy(p => p.Key, StringComparer.Ordinal))
            notes.Add($"{count} decided upload(s) have image embeddings only from model '{model}', not '{set.EmbeddingModel}' (the running embedder): "
                + "left out, since vectors of different models are never mixed; rescore them to use them");
        return notes;
    }

    private static DecisionTrainingException Refuse(string message, IReadOnlyList<string> notes) =>
        new(notes.Count == 0 ? message : message + "\n  " + string.Join("\n  ", notes));
}
