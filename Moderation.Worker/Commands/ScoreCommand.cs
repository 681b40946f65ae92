using System.CommandLine;
using System.Globalization;
using CsvHelper;
using Moderation.Core.Scoring.Text;
using Moderation.Training.Text;

namespace Moderation.Worker.Commands;

/// <summary>
/// <c>score</c>: every input column, plus one probability column per head and an <c>unscored</c> column, for each row
/// of a CSV, computed exactly as the pipeline computes an upload's text scores.
/// </summary>
internal static class ScoreCommand
{
    /// <summary>Where the program looks for models when --models is not given: beside itself.</summary>
    public static string DefaultModels => TextScoringOptions.ShippedModelsDirectory;

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Required = true, Description = "CSV with a 'text' column." };
        var output = new Option<FileInfo>("--output") { Required = true, Description = "CSV to write: the input columns, one column per category, and 'unscored' (why a text got no score)." };
        var models = TextScoringRun.ModelsOption();
        var claims = TextScoringRun.ClaimsOption();
        var language = TextScoringRun.LanguageOption();
        var command = new Command("score", "Score the 'text' column of a CSV with every head of a model directory, as the pipeline scores an upload's words.")
        {
            input, output, models, claims, language,
        };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                return await RunAsync(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(models)?.FullName ?? DefaultModels,
                    parse.GetValue(claims), parse.GetValue(language), ct);
            }
            catch (Exception e) when (e is LabelledTextsException or FileNotFoundException or DirectoryNotFoundException or CsvHelperException or InvalidDataException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(FileInfo input, FileInfo output, string modelDirectory, FileInfo? claims, LanguageDetection language, CancellationToken ct)
    {
        if (!input.Exists) throw new LabelledTextsException($"{input.FullName} does not exist.");
        var rows = new List<string[]>();
        string[] header;
        using (var reader = new StreamReader(input.FullName))
        using (var csv = new CsvReader(reader, CultureInfo.InvariantCulture))
        {
            if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } h)
                throw new LabelledTextsException($"{input.FullName} is empty: it needs a header line with a 'text' column.");
            header = h;
            while (csv.Read()) rows.Add(Enumerable.Range(0, header.Length).Select(i => csv.GetField(i) ?? "").ToArray());
        }
        var textIndex = Array.IndexOf(header, "text");
        if (textIndex < 0) throw new LabelledTextsException($"{input.FullName} has no 'text' column (its columns: {string.Join(", ", header)}).");

        using var run = new TextScoringRun(modelDirectory, claims, language);
        var categories = run.Models.Heads.Select(h => h.Card.Category).ToList();
        var verdicts = await run.ScoreAsync(rows.Select(r => r[textIndex]).ToList(), ct);

        using var writer = new StreamWriter(output.FullName);
        using var csvOut = new CsvWriter(writer, CultureInfo.InvariantCulture);
        foreach (var column in header.Concat(categories).Append("unscored")) csvOut.WriteField(column);
        csvOut.NextRecord();
        for (var i = 0; i < rows.Count; i++)
        {
            foreach (var field in rows[i]) csvOut.WriteField(field);
            foreach (var category in categories)
                csvOut.WriteField(TextScoringRun.ScoreOf(verdicts[i], category) is { } score ? TextScoringRun.Format(score) : "");
            csvOut.WriteField(verdicts[i].Abstention is { } a ? $"{a.Code}: {a.Reason}" : "");
            csvOut.NextRecord();
        }
        Console.Error.WriteLine($"wrote {rows.Count} rows with {string.Join(", ", categories)} to {output.FullName} " +
            $"({verdicts.Count(v => v.Abstention is not null)} not scored)");
        return 0;
    }
}
