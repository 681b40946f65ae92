using System.Globalization;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;

namespace Moderation.Core.Media;

/// <summary>
/// One row of a hash list that passed every check, with the line it came from: the value in its canonical text (for
/// vPDQ the digest of its frames, which are in <see cref="Frames"/>), and metadata columns as a JSON object.
/// </summary>
public sealed record HashCsvRow(int Line, string Hash, int? Quality, string? Source, string? Frames = null, string? Metadata = null);

/// <summary>A row (or the header) that cannot be imported: the line, the column and why.</summary>
public sealed record HashCsvError(int Line, string Column, string Reason)
{
    public override string ToString() => $"line {Line}, {Column}: {Reason}";
}

/// <summary>The file has bad rows; nothing of it is imported. <see cref="Errors"/> lists the first of them.</summary>
public sealed class HashCsvException(IReadOnlyList<HashCsvError> errors, int total)
    : Exception($"{total} row(s) cannot be imported, so nothing was: {string.Join("; ", errors.Take(5))}{(total > 5 ? "; ..." : "")}")
{
    public IReadOnlyList<HashCsvError> Errors { get; } = errors;

    /// <summary>How many problems there were in all (only the first <see cref="HashBankCsv.MaxReportedErrors"/> are listed).</summary>
    public int Total { get; } = total;
}

/// <summary>
/// Reads and writes hash lists in the plain formats industry lists ship in, for one algorithm (the bank's):
/// <list type="bullet">
/// <item><b>One value a line</b>, no header (blank lines and lines starting with <c>#</c> are skipped). For vPDQ a plain
/// file is one video: ThreatExchange's vPDQ lines, <c>frame,quality,hash[,seconds]</c>.</item>
/// <item><b>CSV with a header</b>: a <c>hash</c> (or <c>signal</c>) column, and optionally <c>quality</c>, <c>source</c>,
/// <c>path</c> (what the worker's <c>hash</c> command writes), an <c>algorithm</c> (or <c>signal_type</c>) column that
/// must name the bank's algorithm, the export's informational <c>id</c>, <c>added_by</c>, <c>added_at</c>, <c>state</c>,
/// and metadata columns (<see cref="MetadataColumns"/>, or a <c>metadata</c> JSON object), kept per entry.</item>
/// </list>
/// Every row is checked before anything is stored, and bad rows are reported by line number (line 1 is the header).
/// </summary>
public static class HashBankCsv
{
    public const int MaxSourceLength = 1000;
    public const int MaxMetadataLength = 4000;
    public const int MaxReportedErrors = 100;

    /// <summary>Metadata columns exchanged lists carry, kept per entry as they are (text).</summary>
    public static readonly IReadOnlyList<string> MetadataColumns =
        ["tags", "note", "notes", "label", "labels", "reference", "external_id", "case", "partner", "first_seen", "timestamp", "category", "description"];

    private static readonly IReadOnlyList<string> OwnColumns =
        ["hash", "signal", "quality", "source", "path", "id", "added_by", "added_at", "algorithm", "signal_type", "state", "metadata"];

    /// <summary>The columns a file may have; anything else is refused as a likely typo (<c>qualty</c> would drop data).</summary>
    public static IReadOnlyList<string> KnownColumns => [.. OwnColumns, .. MetadataColumns];

    /// <summary>Names other tools give the algorithms in a <c>signal_type</c> column (HMA's, ThreatExchange's).</summary>
    private static string? AlgorithmOf(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "pdq" or "photo_pdq" => HashAlgorithms.Pdq,
        "vpdq" or "video_vpdq" => HashAlgorithms.Vpdq,
        "md5" or "video_md5" or "photo_md5" => HashAlgorithms.Md5,
        "sha256" or "sha-256" => HashAlgorithms.Sha256,
        "crop-robust" => HashAlgorithms.CropRobust,
        _ => null,
    };

    /// <param name="algorithm">The bank's algorithm: every value must be one of it.</param>
    /// <param name="defaultSource">Provenance for rows without a source of their own (e.g. the partner list it came from).</param>
    /// <param name="maxRows">More data rows than this is an error (before anything is stored).</param>
    /// <exception cref="HashCsvException">The header or some rows are bad.</exception>
    public static IReadOnlyList<HashCsvRow> Read(TextReader reader, string algorithm, string? defaultSource, int maxRows)
    {
        if (!HashAlgorithms.IsKnown(algorithm)) throw new ArgumentException($"'{algorithm}' is not a hash algorithm.", nameof(algorithm));
        var fallback = string.IsNullOrWhiteSpace(defaultSource) ? null : defaultSource.Trim();
        if (fallback is not null && (fallback.Length > MaxSourceLength || fallback.Any(char.IsControl)))
            throw new HashCsvException([new HashCsvError(0, "source", $"the default source note must be at most {MaxSourceLength} characters without control characters")], 1);
        var text = reader.ReadToEnd();
        var firstLine = text.Split('\n').Select(l => l.Trim().TrimStart('\uFEFF')).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
        if (firstLine is not null && LooksLikeValue(algorithm, firstLine))
            return ReadPlain(text, algorithm, fallback, maxRows);
        return ReadCsv(new StringReader(text), algorithm, fallback, maxRows);
    }

    /// <summary>A first line that is itself a value (no header): a hex digest, or a vPDQ frame line.</summary>
    private static bool LooksLikeValue(string algorithm, string line) => algorithm == HashAlgorithms.Vpdq
        ? HashAlgorithms.TryParseVpdq(line, out _, out _)
        : HashAlgorithms.TryNormalize(algorithm, line, out _, out _, out _);

    private static IReadOnlyList<HashCsvRow> ReadPlain(string text, string algorithm, string? source, int maxRows)
    {
        var lines = text.Split('\n').Select((l, i) => (Line: i + 1, Text: l.Trim().TrimStart('\uFEFF'))).Where(l => l.Text.Length > 0 && !l.Text.StartsWith('#')).ToList();
        if (algorithm == HashAlgorithms.Vpdq)
        {
            // One video per plain file: its frame lines are one entry.
            if (!HashAlgorithms.TryNormalize(algorithm, string.Join('\n', lines.Select(l => l.Text)), out var digest, out var frames, out var error))
                throw new HashCsvException([new HashCsvError(FirstBadVpdqLine(lines), "hash", error!)], 1);
            return [new HashCsvRow(lines[0].Line, digest, null, source, frames)];
        }
        var errors = new List<HashCsvError>();
        var total = 0;
        var rows = new List<HashCsvRow>();
        foreach (var (line, value) in lines)
        {
            if (rows.Count + total >= maxRows)
            {
                total++;
                errors.Add(new HashCsvError(line, "file", $"the file has more than {maxRows} rows; split it"));
                break;
            }
            if (HashAlgorithms.TryNormalize(algorithm, value, out var canonical, out _, out var error)) rows.Add(new HashCsvRow(line, canonical, null, source));
            else if (++total <= MaxReportedErrors) errors.Add(new HashCsvError(line, "hash", error!));
        }
        if (total > 0) throw new HashCsvException(errors, total);
        return rows;
    }

    private static int FirstBadVpdqLine(IReadOnlyList<(int Line, string Text)> lines) =>
        lines.FirstOrDefault(l => !HashAlgorithms.TryParseVpdq(l.Text, out _, out _)).Line is var bad and > 0 ? bad : lines.FirstOrDefault().Line;

    private static IReadOnlyList<HashCsvRow> ReadCsv(TextReader reader, string algorithm, string? fallback, int maxRows)
    {
        var errors = new List<HashCsvError>();
        var total = 0;
        void Fail(int line, string column, string reason)
        {
            total++;
            if (errors.Count < MaxReportedErrors) errors.Add(new HashCsvError(line, column, reason));
        }

        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            TrimOptions = TrimOptions.Trim,
            DetectColumnCountChanges = false,
            BadDataFound = null,
            MissingFieldFound = null,
        };
        using var csv = new CsvReader(reader, config, leaveOpen: true);
        if (!csv.Read() || !csv.ReadHeader())
            throw new HashCsvException([new HashCsvError(1, "header", "the file is empty; the first line must name the columns (hash, and optionally quality, source, path), or list one hash a line")], 1);
        var header = (csv.HeaderRecord ?? []).Select(h => h.Trim().TrimStart('\uFEFF').ToLowerInvariant()).ToArray();
        var known = KnownColumns;
        var unknown = header.Where(h => !known.Contains(h)).ToList();
        if (unknown.Count > 0)
            Fail(1, "header", $"unknown column(s) {string.Join(", ", unknown.Select(u => $"'{Excerpt(u)}'"))}; known: {string.Join(", ", known)}; or list one {HashAlgorithms.Describe(algorithm)} a line, without a header");
        foreach (var repeated in header.GroupBy(h => h).Where(g => g.Count() > 1)) Fail(1, "header", $"column '{repeated.Key}' appears twice");
        var hashColumn = Array.IndexOf(header, "hash");
        if (hashColumn < 0) hashColumn = Array.IndexOf(header, "signal");
        else if (header.Contains("signal")) Fail(1, "header", "both 'hash' and 'signal' name the hash; keep one");
        if (hashColumn < 0) Fail(1, "header", "there is no 'hash' column");
        if (header.Contains("algorithm") && header.Contains("signal_type")) Fail(1, "header", "both 'algorithm' and 'signal_type' name the algorithm; keep one");
        if (total > 0) throw new HashCsvException(errors, total);
        int qualityColumn = Array.IndexOf(header, "quality"), sourceColumn = Array.IndexOf(header, "source"), pathColumn = Array.IndexOf(header, "path"),
            algorithmColumn = Math.Max(Array.IndexOf(header, "algorithm"), Array.IndexOf(header, "signal_type")), metadataColumn = Array.IndexOf(header, "metadata");
        var metadataColumns = header.Select((h, i) => (Name: h, Index: i)).Where(c => MetadataColumns.Contains(c.Name)).ToList();

        var rows = new List<HashCsvRow>();
        var dataRows = 0;
        while (csv.Read())
        {
            var line = csv.Parser.RawRow;
            string? Field(int column) => column >= 0 && column < csv.Parser.Count ? csv.Parser[column] : null;
            if (csv.Parser.Count == 1 && string.IsNullOrWhiteSpace(Field(0))) continue; // a blank line
            if (++dataRows > maxRows)
            {
                Fail(line, "file", $"the file has more than {maxRows} rows; split it");
                break;
            }
            var ok = true;
            if (algorithmColumn >= 0 && Field(algorithmColumn) is { Length: > 0 } named && AlgorithmOf(named) != algorithm)
            {
                Fail(line, header[algorithmColumn], $"'{Excerpt(named)}' is not this bank's algorithm ({algorithm}); only {algorithm} hashes are matched against it");
                ok = false;
            }
            var hex = Field(hashColumn);
            string canonical = "";
            string? frames = null;
            if (string.IsNullOrEmpty(hex)) { Fail(line, "hash", "is empty"); ok = false; }
            else if (!HashAlgorithms.TryNormalize(algorithm, hex, out canonical, out frames, out var error)) { Fail(line, "hash", error!); ok = false; }

            int? quality = null;
            var q = Field(qualityColumn);
            if (!string.IsNullOrEmpty(q))
            {
                if (int.TryParse(q, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed is >= 0 and <= 100) quality = parsed;
                else { Fail(line, "quality", $"'{Excerpt(q)}' is not a whole number from 0 to 100"); ok = false; }
            }

            var source = Field(sourceColumn);
            var path = Field(pathColumn);
            if (string.IsNullOrEmpty(source))
                source = string.IsNullOrEmpty(path) ? fallback : fallback is null ? path : $"{fallback}: {path}";
            if (source is not null && (source.Length > MaxSourceLength || source.Any(char.IsControl)))
            {
                Fail(line, string.IsNullOrEmpty(Field(sourceColumn)) ? "path" : "source", $"must be at most {MaxSourceLength} characters without control characters");
                ok = false;
            }

            var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (Field(metadataColumn) is { Length: > 0 } json)
            {
                try
                {
                    foreach (var (key, value) in JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json) ?? [])
                        metadata[key] = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
                }
                catch (JsonException)
                {
                    Fail(line, "metadata", "is not a JSON object");
                    ok = false;
                }
            }
            foreach (var (name, index) in metadataColumns)
                if (Field(index) is { Length: > 0 } value) metadata[name] = value;
            string? metadataJson = metadata.Count == 0 ? null : JsonSerializer.Serialize(metadata);
            if (metadataJson is not null && (metadataJson.Length > MaxMetadataLength || metadata.Values.Any(v => v.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')))))
            {
                Fail(line, "metadata", $"must be at most {MaxMetadataLength} characters of JSON without control characters");
                ok = false;
            }
            if (ok) rows.Add(new HashCsvRow(line, canonical, quality, source, frames, metadataJson));
        }
        if (total > 0) throw new HashCsvException(errors, total);
        return rows;
    }

    /// <summary>
    /// Writes entries in the bank format: <c>id,algorithm,hash,quality,source,added_by,added_at,state,metadata</c> (ISO 8601,
    /// UTC; a vPDQ entry's <c>hash</c> is its frames, so the file imports anywhere).
    /// </summary>
    public static void Write(TextWriter writer, string algorithm, IEnumerable<HashBankEntry> entries)
    {
        // A source note is data from outside: escape what a spreadsheet would run as a formula.
        var config = new CsvConfiguration(CultureInfo.InvariantCulture) { InjectionOptions = InjectionOptions.Escape };
        using var csv = new CsvWriter(writer, config, leaveOpen: true);
        foreach (var column in new[] { "id", "algorithm", "hash", "quality", "source", "added_by", "added_at", "state", "metadata" }) csv.WriteField(column);
        csv.NextRecord();
        foreach (var entry in entries)
        {
            csv.WriteField(entry.Id);
            csv.WriteField(algorithm);
            csv.WriteField(entry.Frames ?? entry.Hash);
            csv.WriteField(entry.Quality?.ToString(CultureInfo.InvariantCulture) ?? "");
            csv.WriteField(entry.Source ?? "");
            csv.WriteField(entry.AddedBy);
            csv.WriteField(entry.AddedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            csv.WriteField(entry.State);
            csv.WriteField(entry.Metadata ?? "");
            csv.NextRecord();
        }
    }

    /// <summary>One value a line: what lists without metadata exchange (a vPDQ entry is its frames, ';'-separated).</summary>
    public static void WritePlain(TextWriter writer, IEnumerable<HashBankEntry> entries)
    {
        foreach (var entry in entries) writer.Write($"{entry.Frames ?? entry.Hash}\n");
    }

    private static string Excerpt(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
