using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using Moderation.Core.Media;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Evaluation;
using Moderation.Training.Text;

namespace Moderation.Training.Images;

/// <summary>One row of a labelled-images CSV: the image (resolved against the CSV's folder), its category and 0/1 label.</summary>
public sealed record LabelledImage(int Line, string Path, string FullPath, string Category, bool Label);

/// <summary>A labelled-images CSV that cannot be used, with every reason a person can act on (line by line).</summary>
public sealed class LabelledImagesException(string message) : Exception(message);

/// <summary>What <c>train-images</c> measured for one category on its held-back rows.</summary>
public sealed record ImageHeadReport(string Category, string ModelVersion, int TrainingRows, int ValidationRows, int ValidationPositives,
    double RocAuc, double PrAuc, double ExpectedCalibrationError)
{
    public string Format()
    {
        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.0000", CultureInfo.InvariantCulture);
        return $"{Category} {ModelVersion}: train={TrainingRows} validation={ValidationRows} (positives {ValidationPositives}) " +
               $"roc_auc={F(RocAuc)} pr_auc={F(PrAuc)} ece={F(ExpectedCalibrationError)}";
    }
}

/// <summary>
/// <c>train-images</c>: a CSV of <c>path,category,label</c> (paths relative to the CSV) in, one calibrated
/// <see cref="ImageHead"/> per category out, written as <c>{category}.zip</c> with its card <c>{category}.json</c> (the
/// layout of text heads, so <c>models register</c> stores either in the model registry). Every image is decoded and
/// embedded once, whatever number of categories label it. Per category, every fifth positive and every fifth negative
/// row (from the first) is held back for validation.
/// </summary>
public static class ImageHeadTraining
{
    /// <summary>Problems listed before giving up: enough to fix a file in one go, not a wall of text.</summary>
    public const int MaxProblems = 20;

    public static List<LabelledImage> Read(string csvPath)
    {
        if (!File.Exists(csvPath)) throw new LabelledImagesException($"{csvPath} does not exist.");
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(csvPath))!;
        using var reader = new StreamReader(csvPath);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { BadDataFound = null, MissingFieldFound = null });
        if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } header)
            throw new LabelledImagesException($"{csvPath} is empty: it needs a header line 'path,category,label'.");
        var missing = new[] { "path", "category", "label" }.Where(c => !header.Contains(c, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0)
            throw new LabelledImagesException($"{csvPath} has no {string.Join(", ", missing.Select(m => $"'{m}'"))} column (its columns: {string.Join(", ", header)}).");

        var rows = new List<LabelledImage>();
        var problems = new List<string>();
        var seen = new HashSet<(string, string)>();
        while (csv.Read())
        {
            var line = csv.Parser.Row;
            var path = (csv.GetField("path") ?? "").Trim();
            var category = (csv.GetField("category") ?? "").Trim();
            var label = (csv.GetField("label") ?? "").Trim();
            var before = problems.Count;
            if (label is not ("0" or "1")) problems.Add($"line {line}: label '{label}' is not 0 or 1");
            if (!ScorerOutput.IsValidCategory(category)) problems.Add($"line {line}: '{category}' is not a category name (lower-case, dotted: harm.violence)");
            string? full = null;
            if (path.Length == 0) problems.Add($"line {line}: the path is empty");
            else
            {
                full = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, path));
                if (!File.Exists(full)) problems.Add($"line {line}: {path} does not exist (looked for {full})");
            }
            if (problems.Count == before && !seen.Add((full!, category)))
                problems.Add($"line {line}: {path} is labelled for {category} twice");
            if (problems.Count == before) rows.Add(new LabelledImage(line, path, full!, category, label == "1"));
        }
        if (problems.Count > 0) throw Refuse(csvPath, problems);
        if (rows.Count == 0) throw new LabelledImagesException($"{csvPath} has a header but no rows.");
        var oneClass = rows.GroupBy(r => r.Category).Where(g => g.Select(r => r.Label).Distinct().Count() < 2)
            .Select(g => $"category {g.Key} has only label {(g.First().Label ? 1 : 0)} rows ({g.Count()}): a head needs examples of both 0 and 1").ToList();
        if (oneClass.Count > 0) throw Refuse(csvPath, oneClass);
        return rows;
    }

    /// <summary>Held back per category: every fifth positive and every fifth negative, from the first.</summary>
    public static (List<LabelledImage> Train, List<LabelledImage> Validation) Split(IEnumerable<LabelledImage> categoryRows)
    {
        var train = new List<LabelledImage>();
        var validation = new List<LabelledImage>();
        foreach (var byLabel in categoryRows.GroupBy(r => r.Label))
        {
            var i = 0;
            foreach (var row in byLabel) (i++ % 5 == 0 ? validation : train).Add(row);
        }
        return (train.OrderBy(r => r.Line).ToList(), validation.OrderBy(r => r.Line).ToList());
    }

    /// <summary>Trains a head per category and writes them to <paramref name="outputDirectory"/>; returns the validation figures.</summary>
    /// <param name="progress">Lines for a person watching (embedding progress).</param>
    public static IReadOnlyList<ImageHeadReport> Train(string csvPath, string outputDirectory, ImageEmbedder embedder, float l2 = 1f,
        Action<string>? progress = null, CancellationToken ct = default)
    {
        var rows = Read(csvPath);
        var images = rows.Select(r => r.FullPath).Distinct(StringComparer.Ordinal).ToList();
        var embeddings = Embed(csvPath, rows, images, embedder, progress, ct);

        var sha = HeadFiles.Sha256Of(csvPath);
        var reports = new List<ImageHeadReport>();
        foreach (var category in rows.Select(r => r.Category).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var (train, validation) = Split(rows.Where(r => r.Category == category));
            if (train.Select(r => r.Label).Distinct().Count() < 2)
                throw new LabelledImagesException($"{csvPath}: category {category} has too few rows of one label to train on after holding back every fifth for validation; add more.");
            var head = ImageHead.Train(train.Select(r => embeddings[r.FullPath]).ToList(), train.Select(r => r.Label).ToList(), l2);
            var scores = validation.Select(r => head.Predict(embeddings[r.FullPath])).ToList();
            var labels = validation.Select(r => r.Label).ToList();
            var report = new ImageHeadReport(category, $"{category}-image-{DateTime.UtcNow:yyyyMMdd}-{sha[..8]}", train.Count, validation.Count, labels.Count(l => l),
                ClassificationMetrics.RocAuc(scores, labels), ClassificationMetrics.PrAuc(scores, labels),
                ClassificationMetrics.ExpectedCalibrationError(scores, labels));
            var card = new HeadCard(category, report.ModelVersion, ImageEmbedder.ModelName, DateTimeOffset.UtcNow, System.IO.Path.GetFileName(csvPath), sha,
                train.Count, validation.Count, report.RocAuc, report.PrAuc, report.ExpectedCalibrationError, l2);
            Directory.CreateDirectory(outputDirectory);
            using (var file = File.Create(HeadFiles.ModelPath(outputDirectory, category))) head.Save(file);
            File.WriteAllText(HeadFiles.CardPath(outputDirectory, category), HeadFiles.SerializeCard(card));
            reports.Add(report);
        }
        return reports;
    }

    /// <summary>Each image once; an image that cannot be decoded is named with every line that uses it.</summary>
    private static Dictionary<string, float[]> Embed(string csvPath, IReadOnlyList<LabelledImage> rows, IReadOnlyList<string> images, ImageEmbedder embedder,
        Action<string>? progress, CancellationToken ct)
    {
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var problems = new List<string>();
        const int chunk = 256;
        for (var start = 0; start < images.Count; start += chunk)
        {
            var part = images.Skip(start).Take(chunk).ToList();
            var pixels = new float[part.Count][];
            var refused = new string?[part.Count];
            Parallel.For(0, part.Count, new ParallelOptions { MaxDegreeOfParallelism = embedder.Parallelism, CancellationToken = ct }, i =>
            {
                try
                {
                    pixels[i] = ImageDecoder.DecodeRgbSquare(File.ReadAllBytes(part[i]), ImageEmbedder.Side);
                }
                catch (Exception e) when (e is MediaRejectedException or IOException or UnauthorizedAccessException)
                {
                    refused[i] = e.Message;
                }
            });
            for (var i = 0; i < part.Count; i++)
                if (refused[i] is { } reason)
                {
                    var row = rows.First(r => r.FullPath == part[i]);
                    problems.Add($"line {row.Line}: {row.Path} cannot be used as an image: {reason}");
                }
            if (problems.Count > 0) continue;
            var vectors = embedder.Embed(pixels, ct);
            for (var i = 0; i < part.Count; i++) result[part[i]] = vectors[i];
            progress?.Invoke($"embedded {result.Count}/{images.Count} images");
        }
        if (problems.Count > 0) throw Refuse(csvPath, problems);
        return result;
    }

    private static LabelledImagesException Refuse(string csvPath, IReadOnlyList<string> problems)
    {
        var text = new StringBuilder($"{csvPath} cannot be used ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):");
        foreach (var p in problems.Take(MaxProblems)) text.Append("\n  ").Append(p);
        if (problems.Count > MaxProblems) text.Append($"\n  … and {problems.Count - MaxProblems} more");
        return new LabelledImagesException(text.ToString());
    }
}
