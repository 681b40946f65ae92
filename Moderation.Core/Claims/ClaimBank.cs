using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Core.Refusals;

namespace Moderation.Core.Claims;

/// <summary>A known false claim and the fact-check that refutes it.</summary>
public sealed record Claim(
    string Id,
    string Text,
    string SourceUrl,
    string Category,
    string? Note,
    string State,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    string? RetiredBy,
    DateTimeOffset? RetiredAt,
    string? RetireReason);

public static class ClaimStates
{
    public const string Active = "active";
    public const string Retired = "retired";
}

/// <summary>
/// The misinformation claim bank: known false claims with a fact-check link, curated by policy teams and matched
/// against uploads by the misinformation scorer. Claims are never deleted, only retired, and every addition and
/// retirement appends an audit event in the same transaction (under the append-log lock, which also serialises
/// the duplicate check).
/// </summary>
public sealed class ClaimBank(ModerationDatabase database, TimeProvider time)
{
    public const string SubjectType = "claim";
    public const string DefaultCategory = "misinformation";
    public const int MinTextLength = 10;
    public const int MaxTextLength = 1000;
    public const int MaxSourceUrlLength = 2000;
    public const int MaxNoteLength = 2000;
    public const int MaxReasonLength = 1000;

    private const string Columns =
        "id, text, source_url, category, note, state, created_by, created_at_ms, retired_by, retired_at_ms, retire_reason";

    private static readonly DialectSql Insert = DialectSql.Portable("""
        INSERT INTO claims (id, text, text_key, source_url, category, note, state, created_by, created_at_ms)
        VALUES (@Id, @Text, @TextKey, @SourceUrl, @Category, @Note, 'active', @CreatedBy, @Now)
        """);

    private static readonly DialectSql SelectActiveByKey = DialectSql.Portable(
        "SELECT id FROM claims WHERE text_key = @TextKey AND state = 'active'");

    private static readonly DialectSql SelectOne = DialectSql.Portable($"SELECT {Columns} FROM claims WHERE id = @Id");

    private static readonly DialectSql SelectAll = DialectSql.Portable($"SELECT {Columns} FROM claims ORDER BY created_at_ms, id");

    private static readonly DialectSql SelectActive = DialectSql.Portable(
        $"SELECT {Columns} FROM claims WHERE state = 'active' ORDER BY created_at_ms, id");

    private static readonly DialectSql Retire = DialectSql.Portable("""
        UPDATE claims SET state = 'retired', retired_by = @Actor, retired_at_ms = @Now, retire_reason = @Reason
        WHERE id = @Id AND state = 'active'
        """);

    /// <summary>The sequence number of the latest claim audit event: every change appends one, in its transaction.</summary>
    private static readonly DialectSql SelectStamp = DialectSql.Portable(
        "SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE subject_type = 'claim'");

    /// <summary>Adds an active claim and returns it.</summary>
    /// <exception cref="Refusal">Invalid: the text, source URL, note or actor is not acceptable; conflict: an active claim with the same normalised text exists (<c>existingId</c> names it).</exception>
    public async Task<Claim> AddAsync(string text, string sourceUrl, string? note, string actor, CancellationToken ct)
    {
        var cleanText = CheckText(text);
        var cleanUrl = CheckSourceUrl(sourceUrl);
        var cleanNote = CheckNote(note);
        var key = TextKey(cleanText);

        try
        {
            return await AuditedChange.RunAsync(database, time, actor, async change =>
            {
                var existing = await change.Connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(database.Sql(SelectActiveByKey),
                    new { TextKey = key }, change.Transaction, cancellationToken: ct));
                if (existing is not null) throw Duplicate(existing);

                var claim = new Claim(Guid.CreateVersion7().ToString(), cleanText, cleanUrl, DefaultCategory, cleanNote, ClaimStates.Active,
                    actor, change.Now, null, null, null);
                await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
                {
                    claim.Id, claim.Text, TextKey = key, claim.SourceUrl, claim.Category, claim.Note, CreatedBy = actor, Now = change.NowMs,
                }, change.Transaction, cancellationToken: ct));
                change.Record("claim.added", SubjectType, claim.Id, afterState:
                    JsonSerializer.Serialize(new { state = claim.State, text = claim.Text, sourceUrl = claim.SourceUrl, category = claim.Category, note = claim.Note }));
                return claim;
            }, ct);
        }
        catch (DbException e) when (database.Dialect.IsUniqueViolation(e))
        {
            // The partial unique index is the last word if a writer ever skipped the lock.
            var existing = await ActiveIdWithKeyAsync(key, ct);
            throw Duplicate(existing ?? "unknown");
        }
    }

    /// <summary>Retires an active claim and returns it as stored afterwards.</summary>
    /// <exception cref="Refusal">Not found: no claim has the id; conflict: the claim is already retired; invalid: the reason or actor is not acceptable.</exception>
    public async Task<Claim> RetireAsync(string id, string actor, string reason, CancellationToken ct)
    {
        var cleanReason = reason?.Trim();
        if (string.IsNullOrEmpty(cleanReason)) throw Refusal.Invalid("reason", "A reason is required to retire a claim (it goes into the audit trail).");
        if (cleanReason.Length > MaxReasonLength)
            throw Refusal.Invalid("reason", $"The reason is {cleanReason.Length} characters long; the limit is {MaxReasonLength}.");
        if (HasDisallowedControl(cleanReason, allowLineBreaks: true)) throw Refusal.Invalid("reason", "The reason contains control characters.");

        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var claim = await FindAsync(change.Connection, change.Transaction, id, ct) ?? throw NotFound(id);
            if (claim.State != ClaimStates.Active)
                throw Refusal.Conflict($"Claim {id} is already retired (by {claim.RetiredBy} at {claim.RetiredAt:u}).", "id", ExistingId(id));

            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Retire),
                new { Id = id, Actor = actor, Now = change.NowMs, Reason = cleanReason }, change.Transaction, cancellationToken: ct));
            change.Record("claim.retired", SubjectType, id, cleanReason,
                JsonSerializer.Serialize(new { state = ClaimStates.Active }), JsonSerializer.Serialize(new { state = ClaimStates.Retired }));
            return claim with { State = ClaimStates.Retired, RetiredBy = actor, RetiredAt = change.Now, RetireReason = cleanReason };
        }, ct);
    }

    /// <summary>Active claims, and with <paramref name="includeRetired"/> retired ones too, oldest first.</summary>
    public async Task<IReadOnlyList<Claim>> ListAsync(bool includeRetired, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(includeRetired ? SelectAll : SelectActive), cancellationToken: ct));
        return rows.Select(r => r.ToClaim()).ToList();
    }

    /// <summary>The claims a scorer matches against: the active ones.</summary>
    public Task<IReadOnlyList<Claim>> ActiveAsync(CancellationToken ct) => ListAsync(includeRetired: false, ct);

    /// <summary>One claim, or null.</summary>
    public async Task<Claim?> FindAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await FindAsync(connection, null, id, ct);
    }

    /// <summary>
    /// A value that changes whenever a claim is added or retired (the sequence number of the latest claim audit
    /// event), for a scorer to poll once per batch and reload the bank when it moves.
    /// </summary>
    public async Task<long> ChangeStampAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectStamp), cancellationToken: ct));
    }

    /// <summary>
    /// The form two texts are compared in for duplicates: lower-cased (invariant culture), full-width ASCII folded
    /// to ASCII, zero-width characters dropped, runs of white space (any Unicode space) collapsed to one, trimmed.
    /// (The hosts run with invariant globalization, so Unicode normalisation forms are not available.)
    /// </summary>
    public static string Normalise(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var raw in text)
        {
            if (char.IsWhiteSpace(raw)) { space = builder.Length > 0; continue; }
            if (raw is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' or '\u00AD') continue;
            var c = raw is >= '\uFF01' and <= '\uFF5E' ? (char)(raw - 0xFEE0) : raw;
            if (space) builder.Append(' ');
            space = false;
            builder.Append(char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }

    private static string TextKey(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Normalise(text))));

    private static Refusal Duplicate(string existingId) =>
        Refusal.Conflict($"An active claim with the same text already exists ({existingId}). Retire it first to replace it, or edit the text.", "text",
            ExistingId(existingId));

    /// <summary>The claim a request collided with, for the client to follow.</summary>
    private static Dictionary<string, object?> ExistingId(string id) => new() { ["existingId"] = id };

    /// <summary>No claim has the id.</summary>
    public static Refusal NotFound(string id) => Refusal.NotFound($"No claim has the id '{id}'.", "id");

    private async Task<string?> ActiveIdWithKeyAsync(string key, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(database.Sql(SelectActiveByKey),
            new { TextKey = key }, cancellationToken: ct));
    }

    private async Task<Claim?> FindAsync(DbConnection connection, DbTransaction? transaction, string id, CancellationToken ct)
    {
        var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectOne),
            new { Id = id }, transaction, cancellationToken: ct));
        return row?.ToClaim();
    }

    private static string CheckText(string? text)
    {
        var clean = text?.Trim();
        if (string.IsNullOrEmpty(clean)) throw Refusal.Invalid("text", "The claim text is required.");
        if (HasDisallowedControl(clean, allowLineBreaks: false))
            throw Refusal.Invalid("text", "The claim text contains control characters (line breaks, tabs or others); write it as one line of plain text.");
        if (clean.Length < MinTextLength)
            throw Refusal.Invalid("text", $"The claim text is {clean.Length} characters long; state the claim in at least {MinTextLength}.");
        if (clean.Length > MaxTextLength)
            throw Refusal.Invalid("text", $"The claim text is {clean.Length} characters long; the limit is {MaxTextLength}.");
        return clean;
    }

    private static string CheckSourceUrl(string? sourceUrl)
    {
        var clean = sourceUrl?.Trim();
        if (string.IsNullOrEmpty(clean)) throw Refusal.Invalid("sourceUrl", "The source URL (the fact-check that refutes the claim) is required.");
        if (clean.Length > MaxSourceUrlLength)
            throw Refusal.Invalid("sourceUrl", $"The source URL is {clean.Length} characters long; the limit is {MaxSourceUrlLength}.");
        if (clean.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            throw Refusal.Invalid("sourceUrl", "The source URL contains white space or control characters; percent-encode them.");
        if (!Uri.TryCreate(clean, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
            throw Refusal.Invalid("sourceUrl", $"'{clean}' is not an absolute http or https URL, like https://factcheck.example.org/claim-123.");
        return clean;
    }

    private static string? CheckNote(string? note)
    {
        var clean = note?.Trim();
        if (string.IsNullOrEmpty(clean)) return null;
        if (clean.Length > MaxNoteLength)
            throw Refusal.Invalid("note", $"The note is {clean.Length} characters long; the limit is {MaxNoteLength}.");
        if (HasDisallowedControl(clean, allowLineBreaks: true)) throw Refusal.Invalid("note", "The note contains control characters other than line breaks and tabs.");
        return clean;
    }


    private static bool HasDisallowedControl(string value, bool allowLineBreaks) =>
        value.Any(c => char.IsControl(c) && !(allowLineBreaks && c is '\n' or '\r' or '\t'));

    private sealed class Row
    {
        public string Id { get; init; } = "";
        public string Text { get; init; } = "";
        public string SourceUrl { get; init; } = "";
        public string Category { get; init; } = "";
        public string? Note { get; init; }
        public string State { get; init; } = "";
        public string CreatedBy { get; init; } = "";
        public long CreatedAtMs { get; init; }
        public string? RetiredBy { get; init; }
        public long? RetiredAtMs { get; init; }
        public string? RetireReason { get; init; }

        public Claim ToClaim() => new(Id, Text, SourceUrl, Category, Note, State, CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs),
            RetiredBy, RetiredAtMs is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null, RetireReason);
    }
}
