using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace Moderation.Core.Media;

/// <summary>One row of a hash CSV that passed every check, with the line it came from.</summary>
public sealed record HashCsvRow(int Line, PerceptualHash Hash, int? Quality, string? Source);

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
/// Reads and writes hash lists as CSV with a header row. Two formats are read:
/// <list type="bullet">
/// <item><c>path,hash,quality</c>, what the worker's <c>hash</c> command writes: the path becomes the entry's source note;</item>
/// <item>the bank format, <c>id,hash,quality,source,added_by,added_at</c>, what export writes (<c>id</c>, <c>added_by</c> and
/// <c>added_at</c> are informational and not imported: an import makes new entries, added by the importer).</item>
/// </list>
/// Only <c>hash</c> (64 hex digits) is required; <c>quality</c> is empty or 0–100; <c>source</c> at most
/// <see cref="MaxSourceLength"/> characters without control characters. Every row is checked before anything is
/// stored, and bad rows are reported by line number (the header is line 1).
/// </summary>
public static class HashBankCsv
{
    public const int MaxSourceLength = 1000;
    public const int MaxReportedErrors = 100;

    /// <summary>The columns a file may have; anything else is refused as a likely typo.</summary>
    public static readonly IReadOnlyList<string> KnownColumns = ["hash", "quality", "source", "path", "id", "added_by", "added_at"];

    /// <param name="defaultSource">Provenance for rows without a source of their own (e.g. the partner list it came from).</param>
    /// <param name="maxRows">More data rows than this is an error (before anything is stored).</param>
    /// <exception cref="HashCsvException">The header or some rows are bad.</exception>
    public static IReadOnlyList<HashCsvRow> Read(TextReader reader, string? defaultSource, int maxRows)
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
            throw new HashCsvException([new HashCsvError(1, "header", "the file is empty; the first line must name the columns (hash, and optionally quality, source, path)")], 1);
        var header = (csv.HeaderRecord ?? []).Select(h => h.Trim().TrimStart('\uFEFF').ToLowerInvariant()).ToArray();
        var unknown = header.Where(h => !KnownColumns.Contains(h)).ToList();
        if (unknown.Count > 0) Fail(1, "header", $"unknown column(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))}; known: {string.Join(", ", KnownColumns)}");
        foreach (var repeated in header.GroupBy(h => h).Where(g => g.Count() > 1)) Fail(1, "header", $"column '{repeated.Key}' appears twice");
        var hashColumn = Array.IndexOf(header, "hash");
        if (hashColumn < 0) Fail(1, "header", "there is no 'hash' column");
        if (total > 0) throw new HashCsvException(errors, total);
        int qualityColumn = Array.IndexOf(header, "quality"), sourceColumn = Array.IndexOf(header, "source"), pathColumn = Array.IndexOf(header, "path");
        var fallback = string.IsNullOrWhiteSpace(defaultSource) ? null : defaultSource.Trim();
        if (fallback is not null && (fallback.Length > MaxSourceLength || fallback.Any(char.IsControl)))
            throw new HashCsvException([new HashCsvError(0, "source", $"the default source note must be at most {MaxSourceLength} characters without control characters")], 1);

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
            var hex = Field(hashColumn);
            if (string.IsNullOrEmpty(hex)) { Fail(line, "hash", "is empty"); ok = false; }
            else if (!PerceptualHash.TryParse(hex, out _)) { Fail(line, "hash", $"'{Excerpt(hex)}' is not 64 hex digits (a 256-bit hash)"); ok = false; }

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
            if (ok) rows.Add(new HashCsvRow(line, PerceptualHash.Parse(hex!), quality, source));
        }
        if (total > 0) throw new HashCsvException(errors, total);
        return rows;
    }

    /// <summary>Writes entries in the bank format: <c>id,hash,quality,source,added_by,added_at</c> (ISO 8601, UTC).</summary>
    public static void Write(TextWriter writer, IEnumerable<HashBankEntry> entries)
    {
        // A source note is data from outside: escape what a spreadsheet would run as a formula.
        var config = new CsvConfiguration(CultureInfo.InvariantCulture) { InjectionOptions = InjectionOptions.Escape };
        using var csv = new CsvWriter(writer, config, leaveOpen: true);
        foreach (var column in new[] { "id", "hash", "quality", "source", "added_by", "added_at" }) csv.WriteField(column);
        csv.NextRecord();
        foreach (var entry in entries)
        {
            csv.WriteField(entry.Id);
            csv.WriteField(entry.Hash);
            csv.WriteField(entry.Quality?.ToString(CultureInfo.InvariantCulture) ?? "");
            csv.WriteField(entry.Source ?? "");
            csv.WriteField(entry.AddedBy);
            csv.WriteField(entry.AddedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            csv.NextRecord();
        }
    }

    private static string Excerpt(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
