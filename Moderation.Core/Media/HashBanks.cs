using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Moderation.Core.Audit;
using Moderation.Core.Scoring;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using Moderation.Core.Refusals;

namespace Moderation.Core.Media;

/// <summary>A bank of known violating media: a match scores <see cref="Category"/> and asks for <see cref="Action"/>.</summary>
/// <param name="Algorithm">The hash algorithm of every entry (<see cref="HashAlgorithms"/>); only hashes of it are matched.</param>
/// <param name="QuarantinedEntries">Entries stopped because they matched a flood of uploads, waiting for a policy user.</param>
public sealed record HashBank(
    string Name,
    string Algorithm,
    string Category,
    string Action,
    string? Description,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int ActiveEntries,
    int QuarantinedEntries = 0);

/// <summary>
/// One hash in a bank. Entries are never deleted: a retired entry stops matching and stays for the record. A
/// quarantined entry matched a flood of uploads and stops matching until a policy user releases or retires it.
/// </summary>
/// <param name="Hash">The canonical value (lower-case hex; for vPDQ the SHA-256 of <paramref name="Frames"/>).</param>
/// <param name="Frames">A vPDQ entry's frames, <c>frame,quality,hash,seconds</c> separated by <c>;</c>; null otherwise.</param>
/// <param name="Metadata">Metadata columns of the list it came from, as a JSON object of strings.</param>
public sealed record HashBankEntry(
    string Id,
    string Bank,
    string Hash,
    int? Quality,
    string? Source,
    string AddedBy,
    DateTimeOffset AddedAt,
    string? RetiredBy,
    DateTimeOffset? RetiredAt,
    string? RetireReason,
    string? Frames = null,
    string? Metadata = null,
    DateTimeOffset? QuarantinedAt = null,
    string? QuarantineReason = null)
{
    /// <summary><c>active</c>, <c>quarantined</c> or <c>retired</c>.</summary>
    public string State => RetiredAt is not null ? "retired" : QuarantinedAt is not null ? "quarantined" : "active";
}

/// <summary>An entry the matcher indexes, with its bank's algorithm, category and action (and a vPDQ entry's frames).</summary>
public sealed record ActiveHashEntry(string Id, string Bank, string Algorithm, string Category, string Action, string Hash, string? Source,
    IReadOnlyList<VpdqFrame>? Frames = null);

/// <summary>What an import did: rows read, entries added, rows whose hash the bank already held (active).</summary>
public sealed record HashImportResult(string Bank, int Rows, int Added, int AlreadyPresent);

/// <summary>
/// The hash banks and their entries. Every change (a bank created or changed, an import, an entry retired) appends
/// an audit event in the same transaction, under the append-log lock, which also serialises the duplicate checks.
/// An import is one transaction: it is stored whole or not at all.
/// </summary>
public sealed partial class HashBanks(ModerationDatabase database, TimeProvider time)
{
    public const string SubjectType = "hash_bank";
    public const int MaxNameLength = 64;
    public const int MaxCategoryLength = 64;
    public const int MaxDescriptionLength = 2000;
    public const int MaxReasonLength = 1000;

    /// <summary>The actions a bank may ask for: the signal actions of DESIGN.md's signal format.</summary>
    public static readonly IReadOnlyList<string> Actions =
        [SignalAction.None, SignalAction.Label, SignalAction.Demote, SignalAction.Interstitial, SignalAction.Ineligible];

    private const string BankColumns = "b.name, b.algorithm, b.category, b.action, b.description, b.created_by, b.created_at_ms, b.updated_at_ms";
    private const string EntryColumns = "id, bank, hash, quality, source, added_by, added_at_ms, retired_by, retired_at_ms, retire_reason, frames, metadata, quarantined_at_ms, quarantine_reason";

    private const string EntryCounts = """
        (SELECT COUNT(*) FROM hash_bank_entries e WHERE e.bank = b.name AND e.retired_at_ms IS NULL AND e.quarantined_at_ms IS NULL) AS active_entries,
        (SELECT COUNT(*) FROM hash_bank_entries e WHERE e.bank = b.name AND e.retired_at_ms IS NULL AND e.quarantined_at_ms IS NOT NULL) AS quarantined_entries
        """;

    private static readonly DialectSql InsertBank = DialectSql.Portable("""
        INSERT INTO hash_banks (name, algorithm, category, action, description, created_by, created_at_ms, updated_at_ms)
        VALUES (@Name, @Algorithm, @Category, @Action, @Description, @Actor, @Now, @Now)
        """);

    private static readonly DialectSql UpdateBank = DialectSql.Portable("""
        UPDATE hash_banks SET category = @Category, action = @Action, description = @Description, updated_at_ms = @Now WHERE name = @Name
        """);

    private static readonly DialectSql SelectBanks = DialectSql.Portable($"""
        SELECT {BankColumns}, {EntryCounts}
        FROM hash_banks b ORDER BY b.name
        """);

    private static readonly DialectSql SelectBank = DialectSql.Portable($"""
        SELECT {BankColumns}, {EntryCounts}
        FROM hash_banks b WHERE b.name = @Name
        """);

    private static readonly DialectSql SelectActiveHashes = DialectSql.Portable(
        "SELECT hash FROM hash_bank_entries WHERE bank = @Bank AND retired_at_ms IS NULL");

    private static readonly DialectSql InsertEntry = DialectSql.Portable("""
        INSERT INTO hash_bank_entries (id, bank, hash, quality, source, added_by, added_at_ms, frames, metadata)
        VALUES (@Id, @Bank, @Hash, @Quality, @Source, @Actor, @Now, @Frames, @Metadata)
        """);

    private static readonly DialectSql SelectEntries = DialectSql.Portable(
        $"SELECT {EntryColumns} FROM hash_bank_entries WHERE bank = @Bank ORDER BY added_at_ms, id");

    private static readonly DialectSql SelectActiveEntries = DialectSql.Portable(
        $"SELECT {EntryColumns} FROM hash_bank_entries WHERE bank = @Bank AND retired_at_ms IS NULL ORDER BY added_at_ms, id");

    private static readonly DialectSql SelectEntry = DialectSql.Portable(
        $"SELECT {EntryColumns} FROM hash_bank_entries WHERE bank = @Bank AND id = @Id");

    private static readonly DialectSql RetireEntry = DialectSql.Portable("""
        UPDATE hash_bank_entries SET retired_by = @Actor, retired_at_ms = @Now, retire_reason = @Reason
        WHERE bank = @Bank AND id = @Id AND retired_at_ms IS NULL
        """);

    private static readonly DialectSql SelectMatchable = DialectSql.Portable("""
        SELECT e.id, e.bank, b.algorithm, b.category, b.action, e.hash, e.source, e.frames
        FROM hash_bank_entries e JOIN hash_banks b ON b.name = e.bank
        WHERE e.retired_at_ms IS NULL AND e.quarantined_at_ms IS NULL ORDER BY e.bank, e.added_at_ms, e.id
        """);

    /// <summary>The sequence number of the latest hash-bank audit event: every change appends one, in its transaction.</summary>
    private static readonly DialectSql SelectStamp = DialectSql.Portable(
        "SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE subject_type = 'hash_bank'");

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex BankName();

    /// <param name="algorithm">The algorithm of the bank's entries; <see cref="HashAlgorithms.Default"/> (PDQ) when null.</param>
    public async Task<HashBank> CreateAsync(string name, string category, string action, string? description, string actor, CancellationToken ct,
        string? algorithm = null)
    {
        algorithm ??= HashAlgorithms.Default;
        CheckName(name);
        if (!HashAlgorithms.IsKnown(algorithm))
            throw Refusal.Invalid("algorithm", $"'{algorithm}' is not a hash algorithm; use one of {string.Join(", ", HashAlgorithms.All)}.");
        CheckCategory(category);
        CheckAction(action);
        var cleanDescription = CheckDescription(description);
        try
        {
            return await AuditedChange.RunAsync(database, time, actor, async change =>
            {
                if (await FindAsync(change.Connection, change.Transaction, name, ct) is not null)
                    throw Refusal.Conflict($"A hash bank named '{name}' already exists.", "name");
                await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertBank),
                    new { Name = name, Algorithm = algorithm, Category = category, Action = action, Description = cleanDescription, Actor = actor, Now = change.NowMs },
                    change.Transaction, cancellationToken: ct));
                change.Record("hash_bank.created", SubjectType, name,
                    afterState: JsonSerializer.Serialize(new { algorithm, category, action, description = cleanDescription }));
                return new HashBank(name, algorithm, category, action, cleanDescription, actor, change.Now, change.Now, 0);
            }, ct);
        }
        catch (DbException e) when (database.Dialect.IsUniqueViolation(e))
        {
            throw Refusal.Conflict($"A hash bank named '{name}' already exists.", "name");
        }
    }

    /// <summary>Changes a bank's category, action or description (null keeps the value); matching follows at the next refresh.</summary>
    public async Task<HashBank> UpdateAsync(string name, string? category, string? action, string? description, string actor, string? reason, CancellationToken ct)
    {
        if (category is not null) CheckCategory(category);
        if (action is not null) CheckAction(action);
        var cleanDescription = description is null ? null : CheckDescription(description);
        var cleanReason = CheckReason(reason, required: false);
        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var bank = await FindAsync(change.Connection, change.Transaction, name, ct) ?? throw NoBank(name);
            var updated = bank with
            {
                Category = category ?? bank.Category,
                Action = action ?? bank.Action,
                Description = description is null ? bank.Description : cleanDescription,
            };
            if (updated == bank) return bank;
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateBank),
                new { Name = name, updated.Category, updated.Action, updated.Description, Now = change.NowMs }, change.Transaction, cancellationToken: ct));
            change.Record("hash_bank.updated", SubjectType, name, cleanReason,
                JsonSerializer.Serialize(new { bank.Category, bank.Action, bank.Description }, JsonSerializerOptions.Web),
                JsonSerializer.Serialize(new { updated.Category, updated.Action, updated.Description }, JsonSerializerOptions.Web));
            return updated with { UpdatedAt = change.Now };
        }, ct);
    }

    public async Task<IReadOnlyList<HashBank>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<BankRow>(new CommandDefinition(database.Sql(SelectBanks), cancellationToken: ct))).Select(r => r.ToBank()).ToList();
    }

    public async Task<HashBank?> FindAsync(string name, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await FindAsync(connection, null, name, ct);
    }

    /// <summary>
    /// Adds the rows' hashes to a bank in one transaction. A hash the bank already holds (active) is counted, not
    /// added again, so importing a list twice changes nothing; the audit event records the counts and a digest of
    /// the added hashes.
    /// </summary>
    public async Task<HashImportResult> ImportAsync(string bankName, IReadOnlyList<HashCsvRow> rows, string actor, CancellationToken ct)
    {
        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var (connection, transaction, now) = (change.Connection, change.Transaction, change.NowMs);
            _ = await FindAsync(connection, transaction, bankName, ct) ?? throw NoBank(bankName);
            var present = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectActiveHashes),
                new { Bank = bankName }, transaction, cancellationToken: ct))).Select(h => h.Trim()).ToHashSet(StringComparer.Ordinal);
            var fresh = rows.Where(r => present.Add(r.Hash)).ToList();
            // UUID v7 ids made in one millisecond are random after the time: sorted, they keep the file's order.
            var ids = fresh.Select(_ => Guid.CreateVersion7(change.Now).ToString()).Order(StringComparer.Ordinal).ToList();
            var added = fresh.Select((row, i) => new { Id = ids[i], Bank = bankName, row.Hash, row.Quality, row.Source, Actor = actor, Now = now, row.Frames, row.Metadata }).ToList();
            var addedHashes = added.Select(a => a.Hash).ToList();
            if (added.Count > 0)
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertEntry), added, transaction, cancellationToken: ct));
            var result = new HashImportResult(bankName, rows.Count, added.Count, rows.Count - added.Count);
            if (added.Count > 0)
            {
                addedHashes.Sort(StringComparer.Ordinal);
                var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join('\n', addedHashes))));
                change.Record("hash_bank.imported", SubjectType, bankName, afterState:
                    JsonSerializer.Serialize(new { rows = result.Rows, added = result.Added, alreadyPresent = result.AlreadyPresent, addedHashesSha256 = digest }));
            }
            return result;
        }, ct);
    }

    /// <summary>A bank's entries, oldest first; retired ones only with <paramref name="includeRetired"/>.</summary>
    public async Task<IReadOnlyList<HashBankEntry>> EntriesAsync(string bankName, bool includeRetired, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        _ = await FindAsync(connection, null, bankName, ct) ?? throw NoBank(bankName);
        return (await connection.QueryAsync<EntryRow>(new CommandDefinition(database.Sql(includeRetired ? SelectEntries : SelectActiveEntries),
            new { Bank = bankName }, cancellationToken: ct))).Select(r => r.ToEntry()).ToList();
    }

    public Task<HashBankEntry> RetireEntryAsync(string bankName, string entryId, string actor, string? reason, CancellationToken ct) =>
        ChangeEntryAsync(bankName, entryId, actor, reason, "hash_bank.entry_retired", "retired",
            entry => entry.RetiredAt is null ? null : $"Entry {entryId} of '{bankName}' is already retired (by {entry.RetiredBy} at {entry.RetiredAt:u}).",
            async (connection, transaction, now, cleanReason) => await connection.ExecuteAsync(new CommandDefinition(database.Sql(RetireEntry),
                new { Bank = bankName, Id = entryId, Actor = actor, Now = now, Reason = cleanReason }, transaction, cancellationToken: ct)),
            (entry, now, cleanReason) => entry with { RetiredBy = actor, RetiredAt = DateTimeOffset.FromUnixTimeMilliseconds(now), RetireReason = cleanReason }, ct);

    private static readonly string FloodCheckActor = AuditActors.System("hash-flood-check");

    private static readonly DialectSql InsertMatch = DialectSql.InsertIfAbsent("hash_entry_matches", "entry_id, upload_id, matched_at_ms",
        "@EntryId, @UploadId, @Now", ["entry_id", "upload_id"]);

    private static readonly DialectSql CountRecentMatches = DialectSql.Portable(
        "SELECT COUNT(*) FROM hash_entry_matches WHERE entry_id = @EntryId AND matched_at_ms >= @Since");

    private static readonly DialectSql SelectEntryById = DialectSql.Portable(
        $"SELECT {EntryColumns} FROM hash_bank_entries WHERE id = @Id");

    private static readonly DialectSql QuarantineEntry = DialectSql.Portable("""
        UPDATE hash_bank_entries SET quarantined_at_ms = @Now, quarantine_reason = @Reason
        WHERE id = @Id AND retired_at_ms IS NULL AND quarantined_at_ms IS NULL
        """);

    private static readonly DialectSql ReleaseEntry = DialectSql.Portable("""
        UPDATE hash_bank_entries SET quarantined_at_ms = NULL, quarantine_reason = NULL
        WHERE bank = @Bank AND id = @Id AND quarantined_at_ms IS NOT NULL
        """);

    private static readonly DialectSql ForgetMatches = DialectSql.Portable("DELETE FROM hash_entry_matches WHERE entry_id = @Id");

    private static readonly DialectSql SelectQuarantined = DialectSql.Portable(
        $"SELECT {EntryColumns} FROM hash_bank_entries WHERE quarantined_at_ms IS NOT NULL AND retired_at_ms IS NULL ORDER BY quarantined_at_ms DESC, id");

    /// <summary>
    /// Records which uploads each entry matched (once per entry and upload, so a retried job counts nothing twice), and
    /// quarantines every entry that has now matched more than <paramref name="maxUploads"/> uploads within
    /// <paramref name="window"/>: a bad entry in a shared list (a logo, a blank frame, a meme template) must not take
    /// down innocent content. Returns the ids of the entries among <paramref name="matches"/> that are quarantined.
    /// </summary>
    public async Task<IReadOnlySet<string>> RecordMatchesAsync(IReadOnlyList<(string EntryId, string UploadId)> matches, int maxUploads, TimeSpan window,
        CancellationToken ct)
    {
        if (matches.Count == 0) return new HashSet<string>();
        // The append-log lock serialises the count and the quarantine across workers (and orders the audit event).
        return await AuditedChange.RunAsync(database, time, FloodCheckActor, async change =>
        {
            var (connection, transaction, now) = (change.Connection, change.Transaction, change.NowMs);
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertMatch),
                matches.Distinct().Select(m => new { m.EntryId, m.UploadId, Now = now }).ToList(), transaction, cancellationToken: ct));
            var quarantined = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in matches.Select(m => m.EntryId).Distinct(StringComparer.Ordinal))
            {
                var row = await connection.QueryFirstOrDefaultAsync<EntryRow>(new CommandDefinition(database.Sql(SelectEntryById), new { Id = id }, transaction, cancellationToken: ct));
                if (row is null) continue;
                if (row.QuarantinedAtMs is not null) { quarantined.Add(id); continue; }
                var recent = await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountRecentMatches),
                    new { EntryId = id, Since = now - (long)window.TotalMilliseconds }, transaction, cancellationToken: ct));
                if (recent <= maxUploads) continue;
                var reason = $"matched {recent} uploads within {window.TotalMinutes:0.#} min (the limit is {maxUploads}); stopped until a policy user releases or retires it";
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(QuarantineEntry), new { Id = id, Now = now, Reason = reason }, transaction, cancellationToken: ct));
                change.Record("hash_bank.entry_quarantined", SubjectType, row.Bank, reason,
                    JsonSerializer.Serialize(new { entry = id, hash = row.Hash.Trim(), state = "active" }),
                    JsonSerializer.Serialize(new { entry = id, hash = row.Hash.Trim(), state = "quarantined", uploads = recent }));
                quarantined.Add(id);
            }
            return (IReadOnlySet<string>)quarantined;
        }, ct);
    }

    /// <summary>Quarantined entries of every bank, newest first: what policy users are asked to look at.</summary>
    public async Task<IReadOnlyList<HashBankEntry>> QuarantinedAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<EntryRow>(new CommandDefinition(database.Sql(SelectQuarantined), cancellationToken: ct))).Select(r => r.ToEntry()).ToList();
    }

    /// <summary>Lets a quarantined entry match again; its flood count starts from zero.</summary>
    public Task<HashBankEntry> ReleaseEntryAsync(string bankName, string entryId, string actor, string? reason, CancellationToken ct) =>
        ChangeEntryAsync(bankName, entryId, actor, reason, "hash_bank.entry_released", "active",
            entry => entry.State == "quarantined" ? null : $"Entry {entryId} of '{bankName}' is {entry.State}, not quarantined.",
            async (connection, transaction, _, _) =>
            {
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(ReleaseEntry), new { Bank = bankName, Id = entryId }, transaction, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(ForgetMatches), new { Id = entryId }, transaction, cancellationToken: ct));
            },
            (entry, _, _) => entry with { QuarantinedAt = null, QuarantineReason = null }, ct);

    /// <summary>
    /// One entry changes state (retired, released) in one transaction under the append-log lock: read, checked
    /// (<paramref name="refusal"/> says why not, or null), changed, and audited with its state before and after.
    /// </summary>
    private async Task<HashBankEntry> ChangeEntryAsync(string bankName, string entryId, string actor, string? reason, string auditAction, string newState,
        Func<HashBankEntry, string?> refusal, Func<DbConnection, DbTransaction, long, string, Task> change,
        Func<HashBankEntry, long, string, HashBankEntry> changed, CancellationToken ct)
    {
        var cleanReason = CheckReason(reason, required: true)!;
        return await AuditedChange.RunAsync(database, time, actor, async audited =>
        {
            var row = await audited.Connection.QueryFirstOrDefaultAsync<EntryRow>(new CommandDefinition(database.Sql(SelectEntry),
                new { Bank = bankName, Id = entryId }, audited.Transaction, cancellationToken: ct));
            var entry = row?.ToEntry() ?? throw Refusal.NotFound($"Hash bank '{bankName}' has no entry '{entryId}'.", "id");
            if (refusal(entry) is { } why) throw Refusal.Conflict(why, "id");
            await change(audited.Connection, audited.Transaction, audited.NowMs, cleanReason);
            audited.Record(auditAction, SubjectType, bankName, cleanReason,
                JsonSerializer.Serialize(new { entry = entryId, hash = entry.Hash, state = entry.State }),
                JsonSerializer.Serialize(new { entry = entryId, hash = entry.Hash, state = newState }));
            return changed(entry, audited.NowMs, cleanReason);
        }, ct);
    }

    /// <summary>Every active entry of every bank, with the bank's category and action: what the matcher indexes.</summary>
    public async Task<IReadOnlyList<ActiveHashEntry>> MatchableAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<MatchableRow>(new CommandDefinition(database.Sql(SelectMatchable), cancellationToken: ct));
        return rows.Select(r => new ActiveHashEntry(r.Id, r.Bank, r.Algorithm, r.Category, r.Action, r.Hash.Trim(), r.Source,
            r.Frames is { } frames && HashAlgorithms.TryParseVpdq(frames, out var parsed, out _) ? parsed : null)).ToList();
    }

    /// <summary>A value that changes whenever a bank or an entry changes, for the matcher to poll and reload on.</summary>
    public async Task<long> ChangeStampAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectStamp), cancellationToken: ct));
    }

    private async Task<HashBank?> FindAsync(DbConnection connection, DbTransaction? transaction, string name, CancellationToken ct)
    {
        var row = await connection.QueryFirstOrDefaultAsync<BankRow>(new CommandDefinition(database.Sql(SelectBank),
            new { Name = name }, transaction, cancellationToken: ct));
        return row?.ToBank();
    }

    /// <summary>No bank has the name.</summary>
    public static Refusal NoBank(string name) => Refusal.NotFound($"No hash bank is named '{name}'.", "name");

    public static bool IsValidName(string? name) => name is not null && BankName().IsMatch(name);

    private static void CheckName(string? name)
    {
        if (string.IsNullOrEmpty(name)) throw Refusal.Invalid("name", "The bank name is required.");
        if (name == "quarantine")
            throw Refusal.Invalid("name", "'quarantine' names the list of quarantined entries (GET /v1/hashbanks/quarantine); choose another name.");
        if (!IsValidName(name))
            throw Refusal.Invalid("name", $"'{name}' is not a bank name: 1 to {MaxNameLength} lower-case letters, digits, '-' or '_', starting with a letter or digit.");
    }

    private static void CheckCategory(string? category)
    {
        if (string.IsNullOrEmpty(category)) throw Refusal.Invalid("category", "The category a match scores is required (e.g. harm.sexual).");
        if (category.Length > MaxCategoryLength || !ScorerOutput.IsValidCategory(category))
            throw Refusal.Invalid("category", $"'{category}' is not a category name (lower-case, dotted: harm, harm.sexual, harm.violence).");
    }

    private static void CheckAction(string? action)
    {
        if (string.IsNullOrEmpty(action) || !Actions.Contains(action))
            throw Refusal.Invalid("action", $"'{action}' is not an action; use one of {string.Join(", ", Actions)}.");
    }

    private static string? CheckDescription(string? description)
    {
        var clean = description?.Trim();
        if (string.IsNullOrEmpty(clean)) return null;
        if (clean.Length > MaxDescriptionLength)
            throw Refusal.Invalid("description", $"The description is {clean.Length} characters long; the limit is {MaxDescriptionLength}.");
        if (clean.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
            throw Refusal.Invalid("description", "The description contains control characters other than line breaks and tabs.");
        return clean;
    }

    private static string? CheckReason(string? reason, bool required)
    {
        var clean = reason?.Trim();
        if (string.IsNullOrEmpty(clean))
            return required ? throw Refusal.Invalid("reason", "A reason is required (it goes into the audit trail).") : null;
        if (clean.Length > MaxReasonLength)
            throw Refusal.Invalid("reason", $"The reason is {clean.Length} characters long; the limit is {MaxReasonLength}.");
        if (clean.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
            throw Refusal.Invalid("reason", "The reason contains control characters.");
        return clean;
    }


    private sealed class BankRow
    {
        public string Name { get; init; } = "";
        public string Algorithm { get; init; } = "";
        public string Category { get; init; } = "";
        public string Action { get; init; } = "";
        public string? Description { get; init; }
        public string CreatedBy { get; init; } = "";
        public long CreatedAtMs { get; init; }
        public long UpdatedAtMs { get; init; }
        public long ActiveEntries { get; init; }
        public long QuarantinedEntries { get; init; }

        public HashBank ToBank() => new(Name, Algorithm.Trim(), Category, Action, Description, CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs),
            DateTimeOffset.FromUnixTimeMilliseconds(UpdatedAtMs), (int)ActiveEntries, (int)QuarantinedEntries);
    }

    private sealed class EntryRow
    {
        public string Id { get; init; } = "";
        public string Bank { get; init; } = "";
        public string Hash { get; init; } = "";
        public long? Quality { get; init; }
        public string? Source { get; init; }
        public string AddedBy { get; init; } = "";
        public long AddedAtMs { get; init; }
        public string? RetiredBy { get; init; }
        public long? RetiredAtMs { get; init; }
        public string? RetireReason { get; init; }
        public string? Frames { get; init; }
        public string? Metadata { get; init; }
        public long? QuarantinedAtMs { get; init; }
        public string? QuarantineReason { get; init; }

        public HashBankEntry ToEntry() => new(Id, Bank, Hash.Trim(), Quality is { } q ? (int)q : null, Source, AddedBy,
            DateTimeOffset.FromUnixTimeMilliseconds(AddedAtMs), RetiredBy,
            RetiredAtMs is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null, RetireReason, Frames, Metadata,
            QuarantinedAtMs is { } qt ? DateTimeOffset.FromUnixTimeMilliseconds(qt) : null, QuarantineReason);
    }

    private sealed class MatchableRow
    {
        public string Id { get; init; } = "";
        public string Bank { get; init; } = "";
        public string Algorithm { get; init; } = "";
        public string Category { get; init; } = "";
        public string Action { get; init; } = "";
        public string Hash { get; init; } = "";
        public string? Source { get; init; }
        public string? Frames { get; init; }
    }
}
