using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;
using Moderation.Core.Storage;

namespace Moderation.Core.Policies;

/// <summary>The states of a policy version.</summary>
public static class PolicyStates
{
    /// <summary>Being written: its document may still change; it routes nothing.</summary>
    public const string Draft = "draft";

    /// <summary>Frozen, and computed beside the live version for comparison; never acted on.</summary>
    public const string Shadow = "shadow";

    /// <summary>The one version routing uploads.</summary>
    public const string Live = "live";

    /// <summary>No longer used; kept for the record (and for a rollback, if it was live).</summary>
    public const string Retired = "retired";

    public static readonly IReadOnlyList<string> All = [Draft, Shadow, Live, Retired];
}

/// <summary>Settings of the policy versions (<c>Moderation:PolicyVersions</c>).</summary>
public sealed class PolicyVersionOptions
{
    public const string Section = "Moderation:PolicyVersions";

    /// <summary>
    /// The two-person rule: a version goes live only when a second policy user approves the first one's request (the
    /// same call, <c>state: live</c>, from someone else). Off by default; a rollback to a version that was live before is
    /// never held by it, so the team can always undo in one step.
    /// </summary>
    public bool RequireSecondApprover { get; set; }
}

/// <summary>One policy version, with its document.</summary>
public sealed record PolicyVersion(
    string Version,
    string State,
    RoutingPolicyOptions Document,
    string? BasedOn,
    string? Note,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string StateChangedBy,
    DateTimeOffset StateChangedAt,
    string? LiveRequestedBy,
    DateTimeOffset? LiveRequestedAt,
    DateTimeOffset? WentLiveAt);

/// <summary>
/// The policy versions: routing thresholds, automatic actions and recommender treatment per category (and locale) as
/// versioned documents in the database, with the lifecycle <c>draft → shadow → live → retired</c> and exactly one live
/// version. The configuration's <c>Moderation:Policy</c> only seeds the first version of an empty database
/// (<see cref="SeedAsync"/>). Every change is one audited change (<see cref="AuditedChange"/>): who, when, why.
/// <para>
/// Routing reads the live version once per scoring batch (<see cref="CurrentAsync"/>, with the versions in shadow), so
/// a batch is routed by exactly one version and every routing row names it; going live is one transaction that retires the previous live version, and
/// the next batch routes by the new one. Documents of versions past draft never change, so a version name always means
/// the same thresholds.
/// </para>
/// </summary>
public sealed partial class PolicyVersions(ModerationDatabase database, TimeProvider time, IOptions<PolicyVersionOptions> options) : IRoutingPolicySource
{
    public const string SubjectType = "policy";
    public const int MaxVersionLength = 128;
    public const int MaxNoteLength = 2000;
    public const int MaxDocumentBytes = 256 * 1024;

    public static readonly JsonSerializerOptions DocumentJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        // A misspelt field ("categores") is refused, not silently dropped from the policy.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private const string Columns =
        "version, state, document, based_on, note, created_by, created_at_ms, updated_at_ms, state_changed_by, state_changed_at_ms, live_requested_by, live_requested_at_ms, went_live_at_ms";

    private static readonly DialectSql SelectAll = DialectSql.Portable(
        $"SELECT {Columns} FROM policy_versions ORDER BY created_at_ms DESC, version");

    private static readonly DialectSql SelectOne = DialectSql.Portable($"SELECT {Columns} FROM policy_versions WHERE version = @Version");

    private static readonly DialectSql SelectLive = DialectSql.Portable($"SELECT {Columns} FROM policy_versions WHERE state = 'live'");

    private static readonly DialectSql SelectLiveName = DialectSql.Portable("SELECT version FROM policy_versions WHERE state = 'live'");

    private static readonly DialectSql CountAll = DialectSql.Portable("SELECT COUNT(*) FROM policy_versions");

    // The version that was live most recently before the live one: what a rollback restores.
    private static readonly DialectSql SelectPreviousLive = new(
        sqlite: $"SELECT {Columns} FROM policy_versions WHERE state = 'retired' AND went_live_at_ms IS NOT NULL ORDER BY went_live_at_ms DESC LIMIT 1",
        postgres: $"SELECT {Columns} FROM policy_versions WHERE state = 'retired' AND went_live_at_ms IS NOT NULL ORDER BY went_live_at_ms DESC LIMIT 1",
        sqlServer: $"SELECT TOP (1) {Columns} FROM policy_versions WHERE state = 'retired' AND went_live_at_ms IS NOT NULL ORDER BY went_live_at_ms DESC");

    private static readonly DialectSql Insert = DialectSql.Portable($"""
        INSERT INTO policy_versions ({Columns})
        VALUES (@Version, @State, @Document, @BasedOn, @Note, @Actor, @Now, @Now, @Actor, @Now, NULL, NULL, @WentLiveAt)
        """);

    private static readonly DialectSql UpdateDocument = DialectSql.Portable(
        "UPDATE policy_versions SET document = @Document, note = @Note, updated_at_ms = @Now WHERE version = @Version AND state = 'draft'");

    private static readonly DialectSql UpdateState = DialectSql.Portable("""
        UPDATE policy_versions SET state = @State, state_changed_by = @Actor, state_changed_at_ms = @Now,
            live_requested_by = NULL, live_requested_at_ms = NULL,
            went_live_at_ms = CASE WHEN @State = 'live' THEN @Now ELSE went_live_at_ms END
        WHERE version = @Version AND state = @From
        """);

    private static readonly DialectSql RequestLive = DialectSql.Portable(
        "UPDATE policy_versions SET live_requested_by = @Actor, live_requested_at_ms = @Now WHERE version = @Version AND state = @From");

    private readonly ConcurrentDictionary<string, RoutingPolicy> parsed = new(StringComparer.Ordinal);

    /// <summary>
    /// The live version as a <see cref="RoutingPolicy"/>. One indexed read per call; the document of a version is parsed
    /// once per process (it cannot change after draft).
    /// </summary>
    public async Task<RoutingPolicy> LiveAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var name = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(database.Sql(SelectLiveName), cancellationToken: ct))
            ?? throw new InvalidOperationException("No policy version is live. A host seeds one from Moderation:Policy at start-up; has it started against this database?");
        if (parsed.TryGetValue(name, out var policy)) return policy;
        var row = await connection.QuerySingleAsync<Row>(new CommandDefinition(database.Sql(SelectOne), new { Version = name }, cancellationToken: ct));
        return parsed.GetOrAdd(name, _ => ToPolicy(row.ToVersion()));
    }

    /// <summary>The live version with its metadata.</summary>
    public async Task<PolicyVersion?> LiveVersionAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectLive), cancellationToken: ct));
        return row?.ToVersion();
    }

    public async Task<IReadOnlyList<PolicyVersion>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectAll), cancellationToken: ct));
        return rows.Select(r => r.ToVersion()).ToList();
    }

    public async Task<PolicyVersion?> FindAsync(string version, CancellationToken ct)
    {
        if (!IsVersionName(version)) return null;
        await using var connection = await database.OpenAsync(ct);
        return (await FindAsync(connection, null, version, ct))?.ToVersion();
    }

    /// <summary>
    /// Seeds the first version from the configuration when the database has none, live, audited as
    /// <c>policy.seeded</c>; returns whether it did. Several hosts starting together seed once (the append-log lock).
    /// </summary>
    public Task<bool> SeedAsync(RoutingPolicyOptions configured, CancellationToken ct)
    {
        var version = configured.Version.Trim();
        CheckVersionName(version);
        CheckDocument(configured);
        return AuditedChange.RunAsync(database, time, AuditActors.PolicySeed, async change =>
        {
            if (await change.Connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountAll), transaction: change.Transaction, cancellationToken: ct)) > 0)
                return false;
            var document = Serialize(configured);
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
            {
                Version = version, State = PolicyStates.Live, Document = document, BasedOn = (string?)null,
                Note = "seeded from the configuration (Moderation:Policy)", change.Actor, Now = change.NowMs, WentLiveAt = (long?)change.NowMs,
            }, change.Transaction, cancellationToken: ct));
            change.Record("policy.seeded", SubjectType, version, "the first policy version, from the configuration", afterState:
                JsonSerializer.Serialize(new { state = PolicyStates.Live, document = JsonDocument.Parse(document).RootElement }));
            return true;
        }, ct);
    }

    /// <summary>
    /// A new draft: <paramref name="document"/>, or a copy of <paramref name="basedOn"/>'s document when it is null.
    /// </summary>
    /// <exception cref="Refusal">Invalid name or document; not found: <paramref name="basedOn"/>; conflict: the name exists.</exception>
    public Task<PolicyVersion> CreateDraftAsync(string version, RoutingPolicyOptions? document, string? basedOn, string? note, string actor, CancellationToken ct)
    {
        if (document is null && string.IsNullOrWhiteSpace(basedOn))
            throw Refusal.Invalid("document", "is required unless basedOn names a version to copy");
        if (document is not null) CheckDocument(document);
        return CreateAsync(version, basedOn, note, actor, source => document ?? source!, ct);
    }

    /// <summary>
    /// A new draft from <paramref name="basedOn"/>'s document (or an empty one) changed by <paramref name="changes"/>, the
    /// document's fields as a client sends them: a category, locale or unscored code given replaces the base's, the
    /// others stay; any other field given replaces the base's.
    /// </summary>
    public Task<PolicyVersion> CreateDraftAsync(string version, string? basedOn, JsonObject changes, string? note, string actor, CancellationToken ct) =>
        CreateAsync(version, basedOn, note, actor, source => Merge(source, changes), ct);

    private Task<PolicyVersion> CreateAsync(string version, string? basedOn, string? note, string actor,
        Func<RoutingPolicyOptions?, RoutingPolicyOptions> compose, CancellationToken ct)
    {
        version = (version ?? "").Trim();
        CheckVersionName(version);
        note = CheckNote(note);
        if (basedOn is not null && !IsVersionName(basedOn)) throw Refusal.Invalid("basedOn", "is not a policy version name");

        return AuditedChange.RunAsync(database, time, actor, async change =>
        {
            if (await FindAsync(change.Connection, change.Transaction, version, ct) is not null)
                throw Refusal.Conflict($"Policy version '{version}' exists; pick another name (versions are never reused).", "name");
            var source = basedOn is null ? null : (await FindAsync(change.Connection, change.Transaction, basedOn, ct))?.ToVersion()
                ?? throw Refusal.NotFound($"Policy version '{basedOn}' does not exist.", "basedOn");
            var document = compose(source?.Document);
            CheckDocument(document);
            var body = Serialize(document);
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
            {
                Version = version, State = PolicyStates.Draft, Document = body, BasedOn = basedOn, Note = note, change.Actor,
                Now = change.NowMs, WentLiveAt = (long?)null,
            }, change.Transaction, cancellationToken: ct));
            change.Record("policy.created", SubjectType, version, note, afterState:
                JsonSerializer.Serialize(new { state = PolicyStates.Draft, basedOn, document = JsonDocument.Parse(body).RootElement }));
            return (await FindAsync(change.Connection, change.Transaction, version, ct))!.ToVersion();
        }, ct);
    }

    /// <summary>The fields whose entries a change replaces one by one (the others it replaces whole).</summary>
    private static readonly string[] KeyedFields = ["categories", "locales", "unscored"];

    private static RoutingPolicyOptions Merge(RoutingPolicyOptions? source, JsonObject changes)
    {
        var merged = source is null ? new JsonObject() : JsonNode.Parse(Serialize(source))!.AsObject();
        foreach (var (name, value) in changes)
        {
            var key = merged.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) ?? name;
            if (KeyedFields.Contains(key, StringComparer.OrdinalIgnoreCase) && value is JsonObject entries && merged[key] is JsonObject existing)
            {
                foreach (var (entry, entryValue) in entries) existing[entry] = entryValue?.DeepClone();
            }
            else merged[key] = value?.DeepClone();
        }
        return ParseDocument(merged);
    }

    /// <summary>Replaces a draft's document (only a draft's: a version past draft is frozen).</summary>
    public Task<PolicyVersion> UpdateDraftAsync(string version, RoutingPolicyOptions document, string? note, string actor, CancellationToken ct)
    {
        CheckDocument(document);
        note = CheckNote(note);
        return AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var current = await FindAsync(change.Connection, change.Transaction, version, ct) ?? throw NotFound(version);
            if (current.State != PolicyStates.Draft)
                throw Refusal.Conflict($"Policy version '{version}' is {current.State}: only a draft's document can change. Create a new draft based on it.");
            var body = Serialize(document);
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateDocument),
                new { Version = version, Document = body, Note = note ?? current.Note, Now = change.NowMs }, change.Transaction, cancellationToken: ct));
            change.Record("policy.draft_updated", SubjectType, version, note,
                beforeState: JsonSerializer.Serialize(new { document = JsonDocument.Parse(current.Document).RootElement }),
                afterState: JsonSerializer.Serialize(new { document = JsonDocument.Parse(body).RootElement }));
            return (await FindAsync(change.Connection, change.Transaction, version, ct))!.ToVersion();
        }, ct);
    }

    /// <summary>
    /// Moves a version: draft → shadow | live | retired, shadow → live | retired. Going live retires the live version in
    /// the same transaction. Under the two-person rule the first <c>live</c> call records a request
    /// (<c>policy.live_requested</c>) and a second policy user's call makes it live; the requester's own second call
    /// is refused. The live version leaves only by another going live (or a rollback): there is always exactly one.
    /// </summary>
    public Task<PolicyVersion> SetStateAsync(string version, string state, string actor, string? reason, CancellationToken ct)
    {
        if (!PolicyStates.All.Contains(state, StringComparer.Ordinal))
            throw Refusal.Invalid("state", $"'{state}' is not a policy state; use one of {string.Join(", ", PolicyStates.All)}");
        reason = CheckReason(reason);
        return AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var current = (await FindAsync(change.Connection, change.Transaction, version, ct) ?? throw NotFound(version)).ToVersion();
            if (current.State == state) return current;
            var allowed = (current.State, state) switch
            {
                (PolicyStates.Draft, PolicyStates.Shadow or PolicyStates.Live or PolicyStates.Retired) => true,
                (PolicyStates.Shadow, PolicyStates.Live or PolicyStates.Retired) => true,
                _ => false,
            };
            if (!allowed)
                throw Refusal.Conflict(current.State == PolicyStates.Live
                    ? $"Policy version '{version}' is live: it is replaced by making another version live (or by a rollback), so that one version is always live."
                    : $"Policy version '{version}' is {current.State} and cannot become {state} (draft → shadow → live → retired; a retired version returns only by rollback).");

            if (state == PolicyStates.Live && options.Value.RequireSecondApprover)
            {
                if (current.LiveRequestedBy is null)
                {
                    await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(RequestLive),
                        new { Version = version, From = current.State, change.Actor, Now = change.NowMs }, change.Transaction, cancellationToken: ct));
                    change.Record("policy.live_requested", SubjectType, version, reason,
                        afterState: JsonSerializer.Serialize(new { state = current.State, liveRequestedBy = change.Actor }));
                    return current with { LiveRequestedBy = change.Actor, LiveRequestedAt = change.Now };
                }
                if (string.Equals(current.LiveRequestedBy, change.Actor, StringComparison.Ordinal))
                    throw Refusal.Forbidden($"Policy version '{version}' is waiting for a second policy user: {change.Actor} asked for it to go live and cannot also approve it.");
            }
            return await MoveAsync(change, current, state, reason, approvedRequestBy: state == PolicyStates.Live ? current.LiveRequestedBy : null, ct);
        }, ct);
    }

    /// <summary>
    /// Rollback in one step: the version that was live most recently before the live one goes live again, and the live
    /// one is retired. Audited as <c>policy.rolled_back</c>; not held by the two-person rule.
    /// </summary>
    public Task<PolicyVersion> RollbackAsync(string actor, string? reason, CancellationToken ct)
    {
        reason = CheckReason(reason);
        return AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var previous = (await change.Connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectPreviousLive),
                transaction: change.Transaction, cancellationToken: ct)))?.ToVersion()
                ?? throw Refusal.Conflict("There is no earlier live version to roll back to.");
            var live = (await change.Connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectLive),
                transaction: change.Transaction, cancellationToken: ct)))?.ToVersion();
            change.Record("policy.rolled_back", SubjectType, previous.Version, reason,
                beforeState: JsonSerializer.Serialize(new { live = live?.Version }),
                afterState: JsonSerializer.Serialize(new { live = previous.Version }));
            return await MoveAsync(change, previous, PolicyStates.Live, reason, approvedRequestBy: null, ct);
        }, ct);
    }

    private async Task<PolicyVersion> MoveAsync(AuditedChange change, PolicyVersion current, string state, string? reason, string? approvedRequestBy, CancellationToken ct)
    {
        if (state == PolicyStates.Live)
        {
            var live = (await change.Connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectLive),
                transaction: change.Transaction, cancellationToken: ct)))?.ToVersion();
            if (live is not null)
            {
                await Update(live.Version, PolicyStates.Live, PolicyStates.Retired);
                change.Record("policy.state_changed", SubjectType, live.Version, $"superseded by {current.Version}",
                    beforeState: JsonSerializer.Serialize(new { state = PolicyStates.Live }),
                    afterState: JsonSerializer.Serialize(new { state = PolicyStates.Retired, supersededBy = current.Version }));
            }
        }
        await Update(current.Version, current.State, state);
        change.Record("policy.state_changed", SubjectType, current.Version, reason,
            beforeState: JsonSerializer.Serialize(new { state = current.State }),
            afterState: JsonSerializer.Serialize(new { state, requestedBy = approvedRequestBy, approvedBy = approvedRequestBy is null ? null : change.Actor }));
        return (await FindAsync(change.Connection, change.Transaction, current.Version, ct))!.ToVersion();

        async Task Update(string version, string from, string to)
        {
            var moved = await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateState),
                new { Version = version, From = from, State = to, change.Actor, Now = change.NowMs }, change.Transaction, cancellationToken: ct));
            if (moved != 1) throw new InvalidOperationException($"Policy version {version} was not {from} when it was to become {to}.");
        }
    }

    /// <summary>The routing policy a version's document describes, named by the version.</summary>
    public static RoutingPolicy ToPolicy(PolicyVersion version)
    {
        var document = Clone(version.Document);
        document.Version = version.Version;
        return new RoutingPolicy(document);
    }

    public static string Serialize(RoutingPolicyOptions document) => JsonSerializer.Serialize(document, DocumentJson);

    /// <summary>Reads a document sent by a client; a malformed one is a refusal naming the problem.</summary>
    public static RoutingPolicyOptions ParseDocument(JsonElement json) => ParseDocument(JsonNode.Parse(json.GetRawText()));

    /// <summary>Reads a document sent by a client; a malformed one is a refusal naming the problem.</summary>
    public static RoutingPolicyOptions ParseDocument(JsonNode? json)
    {
        try
        {
            return Normalize(json.Deserialize<RoutingPolicyOptions>(DocumentJson) ?? throw Refusal.Invalid("document", "is required"));
        }
        catch (JsonException e)
        {
            // Name the field at fault as the client wrote it ($.categores → categores).
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "document" : e.Path.TrimStart('$', '.');
            throw Refusal.Invalid(field, $"is not part of a policy document or has the wrong type: {e.Message}");
        }
    }

    private static RoutingPolicyOptions Clone(RoutingPolicyOptions document) => Normalize(
        JsonSerializer.Deserialize<RoutingPolicyOptions>(Serialize(document), DocumentJson)!);

    /// <summary>Locales match whatever their case (a deserialised dictionary loses the comparer the type declares).</summary>
    private static RoutingPolicyOptions Normalize(RoutingPolicyOptions document)
    {
        document.Locales = new(document.Locales ?? [], StringComparer.OrdinalIgnoreCase);
        document.Categories = new(document.Categories ?? [], StringComparer.Ordinal);
        document.Unscored = new(document.Unscored ?? [], StringComparer.Ordinal);
        document.ActOnModels ??= [];
        return document;
    }

    private static void CheckDocument(RoutingPolicyOptions document)
    {
        var errors = RoutingPolicyValidation.Errors(document);
        if (errors.Count > 0) throw Refusal.Invalid(errors, string.Join(" ", errors.Values.SelectMany(m => m)));
        if (Serialize(document).Length > MaxDocumentBytes) throw Refusal.Invalid("document", $"is over {MaxDocumentBytes / 1024} KiB");
    }

    private static bool IsVersionName(string? version) => version is not null && VersionPattern().IsMatch(version);

    private static void CheckVersionName(string version)
    {
        if (!IsVersionName(version))
            throw Refusal.Invalid("version", $"must be 1 to {MaxVersionLength} characters: letters, digits, '.', '_' or '-', starting with a letter or digit");
    }

    private static string? CheckNote(string? note)
    {
        if (note is null || note.Trim().Length == 0) return null;
        if (note.Length > MaxNoteLength) throw Refusal.Invalid("note", $"is {note.Length} characters long; the limit is {MaxNoteLength}");
        if (note.Contains('\0')) throw Refusal.Invalid("note", "contains a NUL character");
        return note.Trim();
    }

    private static string CheckReason(string? reason)
    {
        if (reason is null || reason.Trim().Length == 0) throw Refusal.Invalid("reason", "is required: say why the policy changes");
        if (reason.Length > MaxNoteLength) throw Refusal.Invalid("reason", $"is {reason.Length} characters long; the limit is {MaxNoteLength}");
        if (reason.Contains('\0')) throw Refusal.Invalid("reason", "contains a NUL character");
        return reason.Trim();
    }

    public static Refusal NotFound(string version) => Refusal.NotFound($"Policy version '{version}' does not exist.");

    private async Task<Row?> FindAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction, string version, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectOne), new { Version = version }, transaction, cancellationToken: ct));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex VersionPattern();

    private sealed class Row
    {
        public string Version { get; init; } = "";
        public string State { get; init; } = "";
        public string Document { get; init; } = "{}";
        public string? BasedOn { get; init; }
        public string? Note { get; init; }
        public string CreatedBy { get; init; } = "";
        public long CreatedAtMs { get; init; }
        public long UpdatedAtMs { get; init; }
        public string StateChangedBy { get; init; } = "";
        public long StateChangedAtMs { get; init; }
        public string? LiveRequestedBy { get; init; }
        public long? LiveRequestedAtMs { get; init; }
        public long? WentLiveAtMs { get; init; }

        public PolicyVersion ToVersion()
        {
            var document = Normalize(JsonSerializer.Deserialize<RoutingPolicyOptions>(Document, DocumentJson)!);
            document.Version = Version;
            return new PolicyVersion(Version, State, document, BasedOn, Note, CreatedBy, At(CreatedAtMs), At(UpdatedAtMs),
                StateChangedBy, At(StateChangedAtMs), LiveRequestedBy, LiveRequestedAtMs is { } r ? At(r) : null, WentLiveAtMs is { } w ? At(w) : null);
        }

        private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }
}
