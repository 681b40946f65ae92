using System.Collections.Concurrent;
using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Moderation.Core.Scoring.Text;

namespace Moderation.Training.Text;

/// <summary>A row of a labelled file: its text and every column.</summary>
public sealed record CorpusRow(string File, string Text, IReadOnlyDictionary<string, string> Fields)
{
    public string this[string column] => Fields.TryGetValue(column, out var value) ? value : "";
}

/// <summary>Which rows are held back from training: the same rule for <c>train</c>, <c>eval --held-back</c> and <c>train-defaults</c>.</summary>
public static class HeldBack
{
    /// <summary>
    /// One row in ten, chosen by a hash of its text (64-bit FNV-1a of the UTF-8 bytes): stable when a file is
    /// reordered or grows, and the same text is held back in every file it appears in.
    /// </summary>
    public static bool Is(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return hash % 10 == 0;
    }
}

/// <summary>
/// The labelled files the default heads learn from, read once, and the encoder's view of every text in them, encoded
/// once: <c>data/</c> (the shared data sets), <c>seed/</c> (the project's seed corpus) and <c>functional/</c> (the
/// evaluation-only functional suite and fairness templates).
/// </summary>
public sealed class TrainingCorpus(string dataDirectory, string seedDirectory, string? functionalDirectory = null)
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<CorpusRow>> files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TextEncoding> encodings = new(StringComparer.Ordinal);

    public IReadOnlyList<CorpusRow> Rows(string file) => files.GetOrAdd(file, f => Read(f, Resolve(f)));

    public bool Exists(string file) => File.Exists(Resolve(file));

    public string Resolve(string file) =>
        file.StartsWith("data/", StringComparison.Ordinal) ? Path.Combine(dataDirectory, file[5..])
        : file.StartsWith("seed/", StringComparison.Ordinal) ? Path.Combine(seedDirectory, file[5..])
        : file.StartsWith("functional/", StringComparison.Ordinal) && functionalDirectory is not null ? Path.Combine(functionalDirectory, file[11..])
        : throw new ArgumentException($"Source {file} must start with data/, seed/ or functional/ (with a functional directory).");

    /// <summary>Reads a CSV into rows of column → value; a row's text is its <c>text</c> column (empty when there is none).</summary>
    public static IReadOnlyList<CorpusRow> Read(string name, string path)
    {
        if (!File.Exists(path)) throw new LabelledTextsException($"{path} does not exist.");
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { BadDataFound = null, MissingFieldFound = null });
        if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } header)
            throw new LabelledTextsException($"{path} is empty.");
        var rows = new List<CorpusRow>();
        while (csv.Read())
        {
            var fields = header.ToDictionary(h => h, h => csv.GetField(h) ?? "", StringComparer.Ordinal);
            rows.Add(new CorpusRow(name, fields.GetValueOrDefault("text") ?? "", fields));
        }
        return rows;
    }

    /// <summary>
    /// Encodes every text not encoded yet, as the scorer encodes a text that fits the encoder's window: normalised,
    /// tokenised, the encoder's layers pooled (a longer text's first window; a few training texts are longer).
    /// </summary>
    public void Encode(IEnumerable<string> texts, TextEmbedder embedder, Action<string> progress, CancellationToken ct)
    {
        var missing = texts.Distinct(StringComparer.Ordinal).Where(t => !encodings.ContainsKey(t)).ToList();
        for (var start = 0; start < missing.Count; start += 4096)
        {
            var chunk = missing.GetRange(start, Math.Min(4096, missing.Count - start));
            var tokens = chunk.Select(t => embedder.TokenizeNormalized(TextNormalizer.Normalize(t)) is var ids && ids.Length > TextEmbedder.WindowTokens
                ? ids[..TextEmbedder.WindowTokens] : embedder.TokenizeNormalized(TextNormalizer.Normalize(t))).ToList();
            var encoded = embedder.Encode(tokens, layers: true, ct);
            for (var i = 0; i < chunk.Count; i++) encodings[chunk[i]] = encoded[i];
            progress($"encoded {Math.Min(start + chunk.Count, missing.Count)}/{missing.Count} texts");
        }
    }

    /// <summary>The encoder layers of an encoded text (<see cref="Encode"/> first).</summary>
    public float[] Layers(string text) => encodings.TryGetValue(text, out var e) && e.Layers is { } layers
        ? layers : throw new InvalidOperationException($"The text was not encoded: \"{text[..Math.Min(40, text.Length)]}\".");
}
