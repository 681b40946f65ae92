using System.CommandLine;
using System.Globalization;
using CsvHelper;
using Moderation.Core.Scoring.Text;

namespace Moderation.Worker.Commands;

/// <summary><c>score</c>: every input column, plus one probability column per head, for each row of a CSV.</summary>
internal static class ScoreCommand
{
    /// <summary>Where the program looks for models when --models is not given: beside itself.</summary>
    public static string DefaultModels => TextScoringOptions.ShippedModelsDirectory;

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Required = true, Description = "CSV with a 'text' column." };
        var output = new Option<FileInfo>("--output") { Required = true, Description = "CSV to write: the input columns plus one column per category." };
        var models = new Option<DirectoryInfo?>("--models") { Description = $"Model directory (default: {DefaultModels})." };
        var command = new Command("score", "Score the 'text' column of a CSV with every head of a model directory.") { input, output, models };
        command.SetAction((parse, ct) =>
        {
            try
            {
                return Task.FromResult(Run(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(models)?.FullName ?? DefaultModels, ct));
            }
            catch (Exception e) when (e is LabelledTextsException or FileNotFoundException or DirectoryNotFoundException or CsvHelperException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return command;
    }

    private static int Run(FileInfo input, FileInfo output, string modelDirectory, CancellationToken ct)
    {
        if (!input.Exists) throw new LabelledTextsException($"{input.FullName} does not exist.");
        var models = TextModels.Load(modelDirectory);
        using var embedder = new TextEmbedder();
        var scorer = new TextScorer(embedder, models);

        using var reader = new StreamReader(input.FullName);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } header)
            throw new LabelledTextsException($"{input.FullName} is empty: it needs a header line with a 'text' column.");
        var textIndex = Array.IndexOf(header, "text");
        if (textIndex < 0) throw new LabelledTextsException($"{input.FullName} has no 'text' column (its columns: {string.Join(", ", header)}).");
        var categories = models.Heads.Select(h => h.Card.Category).ToList();

        using var writer = new StreamWriter(output.FullName);
        using var csvOut = new CsvWriter(writer, CultureInfo.InvariantCulture);
        foreach (var column in header.Concat(categories)) csvOut.WriteField(column);
        csvOut.NextRecord();

        var rows = 0;
        var chunk = new List<string[]>();
        void Flush()
        {
            var scores = scorer.ScoreTextsAsync(chunk.Select(r => r[textIndex]).ToList(), ct).GetAwaiter().GetResult();
            for (var i = 0; i < chunk.Count; i++)
            {
                foreach (var field in chunk[i]) csvOut.WriteField(field);
                var byCategory = scores[i].ToDictionary(s => s.Category, s => s.Score);
                foreach (var category in categories) csvOut.WriteField(byCategory[category].ToString("0.######", CultureInfo.InvariantCulture));
                csvOut.NextRecord();
            }
            rows += chunk.Count;
            Console.Error.WriteLine($"scored {rows} rows");
            chunk.Clear();
        }
        while (csv.Read())
        {
            chunk.Add(Enumerable.Range(0, header.Length).Select(i => csv.GetField(i) ?? "").ToArray());
            if (chunk.Count == 256) Flush();
        }
        if (chunk.Count > 0) Flush();
        Console.Error.WriteLine($"wrote {rows} rows with {string.Join(", ", categories)} to {output.FullName}");
        return 0;
    }
}
