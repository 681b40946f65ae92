using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Moderation.Core.Scoring.Text;

namespace Moderation.Training.Text;

/// <summary>A labelled text; <see cref="Groups"/> are the identity groups it mentions (for the fairness audit).</summary>
public sealed record LabelledText(string Text, bool Label, IReadOnlySet<string> Groups);

/// <summary>A CSV that cannot be used, with the reason a person can act on.</summary>
public sealed class LabelledTextsException(string message) : Exception(message);

/// <summary>Reads a team's labelled CSV: a text column, a 0/1 label column, optionally a group column.</summary>
public static class LabelledTexts
{
    /// <param name="groupColumn">Groups separated by <c>;</c> or <c>|</c>; empty or <c>none</c> for no group.</param>
    public static List<LabelledText> Read(string path, string textColumn = "text", string labelColumn = "label", string? groupColumn = null)
    {
        if (!File.Exists(path)) throw new LabelledTextsException($"{path} does not exist.");
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { BadDataFound = null, MissingFieldFound = null });
        if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } header)
            throw new LabelledTextsException($"{path} is empty: it needs a header line with '{textColumn}' and '{labelColumn}' columns.");
        foreach (var column in new[] { textColumn, labelColumn }.Concat(groupColumn is null ? [] : [groupColumn]))
            if (!header.Contains(column, StringComparer.Ordinal))
                throw new LabelledTextsException($"{path} has no '{column}' column (its columns: {string.Join(", ", header)}).");

        var rows = new List<LabelledText>();
        while (csv.Read())
        {
            var line = csv.Parser.Row;
            var label = (csv.GetField(labelColumn) ?? "").Trim();
            if (label is not ("0" or "1"))
                throw new LabelledTextsException($"{path} line {line}: label '{label}' is not 0 or 1.");
            var groups = groupColumn is null ? [] : (csv.GetField(groupColumn) ?? "")
                .Split([';', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(g => !g.Equals("none", StringComparison.OrdinalIgnoreCase))
                .ToHashSet(StringComparer.Ordinal);
            rows.Add(new LabelledText(csv.GetField(textColumn) ?? "", label == "1", groups));
        }
        if (rows.Count == 0) throw new LabelledTextsException($"{path} has a header but no rows.");
        return rows;
    }

    /// <summary>
    /// One row in ten is held back for validation, chosen by a hash of its text (<see cref="Training.HeldBack"/>), the
    /// rule <c>train-defaults</c> uses too: deterministic, and the same rows whatever their order in the file.
    /// </summary>
    public static (List<LabelledText> Train, List<LabelledText> Validation) Split(IReadOnlyList<LabelledText> rows)
    {
        var train = new List<LabelledText>();
        var validation = new List<LabelledText>();
        foreach (var row in rows) (HeldBack.Is(row.Text) ? validation : train).Add(row);
        return (train, validation);
    }
}
