using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Moderation.Core.Audit;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Core.Refusals;

namespace Moderation.Core.Models;

/// <summary>A registered model version, without its artifact bytes (read those with <see cref="ModelRegistry.ArtifactAsync"/>).</summary>
public sealed record ModelVersionInfo(
    string Category,
    string Version,
    string Scorer,
    string State,
    string Card,
    string Metrics,
    string ArtifactSha256,
    string RegisteredBy,
    DateTimeOffset RegisteredAt,
    DateTimeOffset StateChangedAt);

/// <summary>
/// The states of a model version. At most one version per category and scorer is <see cref="Live"/>: a category may
/// have a live text head and a live image head, each replaced only by a version of its own kind.
/// </summary>
public static class ModelStates
{
    /// <summary>Scores decide routing.</summary>
    public const string Live = "live";

    /// <summary>Scored alongside the live version for comparison; never routes.</summary>
    public const string Shadow = "shadow";

    /// <summary>Kept for the record; not loaded.</summary>
    public const string Retired = "retired";

    public static readonly IReadOnlyList<string> All = [Live, Shadow, Retired];

    public static bool IsKnown(string? state) => state is Live or Shadow or Retired;
}

/// <summary>
/// The model registry: every trained model version with its card, validation metrics and artifact bytes, and
/// which version of each category is live, shadow or retired. Workers on any machine load models from here.
/// Every registration and state change appends an audit event in the same transaction, under the append-log
/// lock, which also serialises promotions: two concurrent promotions in one category cannot both win.
/// </summary>
public sealed class ModelRegistry(ModerationDatabase database, TimeProvider time)
{
    public const string SubjectType = "model";
    public const int MaxCategoryLength = 64;
    public const int MaxVersionLength = 128;
    public const int MaxScorerLength = 64;
    public const int MaxReasonLength = 1000;

    private const string InfoColumns =
        "category, version, scorer, state, card, metrics, artifact_sha256, registered_by, registered_at_ms, state_changed_at_ms";

    private static readonly DialectSql SelectOne = DialectSql.Portable(
        $"SELECT {InfoColumns} FROM model_versions WHERE category = @Category AND version = @Version");

    private static readonly DialectSql SelectAll = DialectSql.Portable(
        $"SELECT {InfoColumns} FROM model_versions ORDER BY category, registered_at_ms DESC, version");

    private static readonly DialectSql SelectByCategory = DialectSql.Portable(
        $"SELECT {InfoColumns} FROM model_versions WHERE category = @Category ORDER BY registered_at_ms DESC, version");

    private static readonly DialectSql SelectActive = DialectSql.Portable(
        $"SELECT {InfoColumns} FROM model_versions WHERE state IN ('live', 'shadow') ORDER BY category, state, version");

    private static readonly DialectSql SelectLive = DialectSql.Portable(
        "SELECT version FROM model_versions WHERE category = @Category AND scorer = @Scorer AND state = 'live'");

    private static readonly DialectSql SelectArtifact = DialectSql.Portable(
        "SELECT artifact FROM model_versions WHERE category = @Category AND version = @Version");

    private static readonly DialectSql Insert = DialectSql.InsertIfAbsent("model_versions",
        "category, version, scorer, state, card, metrics, artifact, artifact_sha256, registered_by, registered_at_ms, state_changed_at_ms",
        "@Category, @Version, @Scorer, @State, @Card, @Metrics, @Artifact, @ArtifactSha256, @RegisteredBy, @Now, @Now",
        ["category", "version"]);

    private static readonly DialectSql UpdateState = DialectSql.Portable(
        "UPDATE model_versions SET state = @State, state_changed_at_ms = @Now WHERE category = @Category AND version = @Version");

    /// <summary>The sequence number of the latest model audit event: every change appends one, in its transaction.</summary>
    private static readonly DialectSql SelectStamp = DialectSql.Portable(
        "SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE subject_type = 'model'");

    /// <summary>
    /// Registers a version. Returns false, changing nothing, when the same version is already registered with the
    /// same artifact bytes (whatever its state now; change that with <see cref="SetStateAsync"/>). Registering as
    /// live retires the previous live version of the same category and scorer in the same transaction.
    /// </summary>
    /// <exception cref="Refusal">Invalid: an argument is empty, too long or malformed; conflict: the version is registered with different bytes.</exception>
    public async Task<bool> RegisterAsync(string category, string version, string scorer, string card, string metrics,
        byte[] artifact, string state, string actor, CancellationToken ct)
    {
        CheckCategory(category);
        CheckName("version", version, MaxVersionLength);
        CheckName("scorer", scorer, MaxScorerLength);
        CheckJson("card", card);
        CheckJson("metrics", metrics);
        if (artifact is null || artifact.Length == 0) throw Refusal.Invalid("artifact", "The model artifact is empty.");
        CheckState(state);
        var sha = Convert.ToHexStringLower(SHA256.HashData(artifact));

        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var existing = await FindAsync(change.Connection, change.Transaction, category, version, ct);
            if (existing is not null) return SameBytesOrThrow(existing, sha);

            if (state == ModelStates.Live)
                await RetireLiveAsync(change, category, scorer, except: version, $"superseded by {version}", ct);

            var inserted = await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
            {
                Category = category, Version = version, Scorer = scorer, State = state, Card = card, Metrics = metrics,
                Artifact = artifact, ArtifactSha256 = sha, RegisteredBy = actor, Now = change.NowMs,
            }, change.Transaction, cancellationToken: ct));
            if (inserted == 0)
            {
                // Unreachable while every writer takes the append-log lock; kept so that a writer that does not
                // still gets the same answer instead of a silent no-op.
                var raced = await FindAsync(change.Connection, change.Transaction, category, version, ct)
                    ?? throw new InvalidOperationException($"{category}@{version} was neither inserted nor found.");
                return SameBytesOrThrow(raced, sha);
            }

            change.Record("model.registered", SubjectType, SubjectId(category, version), afterState:
                JsonSerializer.Serialize(new { state, scorer, artifactSha256 = sha, artifactBytes = artifact.Length }));
            return true;
        }, ct);
    }

    /// <summary>Every registered version, or those of one category, newest registration first.</summary>
    public async Task<IReadOnlyList<ModelVersionInfo>> ListAsync(string? category, CancellationToken ct)
    {
        if (category is not null) CheckCategory(category);
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            database.Sql(category is null ? SelectAll : SelectByCategory), new { Category = category }, cancellationToken: ct));
        return rows.Select(r => r.ToInfo()).ToList();
    }

    /// <summary>The versions a scorer should load: live and shadow.</summary>
    public async Task<IReadOnlyList<ModelVersionInfo>> ActiveAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectActive), cancellationToken: ct));
        return rows.Select(r => r.ToInfo()).ToList();
    }

    /// <summary>One version, or null when it is not registered.</summary>
    public async Task<ModelVersionInfo?> FindAsync(string category, string version, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await FindAsync(connection, null, category, version, ct);
    }

    /// <summary>The artifact bytes of a version, or null when it is not registered.</summary>
    public async Task<byte[]?> ArtifactAsync(string category, string version, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QueryFirstOrDefaultAsync<byte[]>(new CommandDefinition(database.Sql(SelectArtifact),
            new { Category = category, Version = version }, cancellationToken: ct));
    }

    /// <summary>
    /// Moves a version to <paramref name="state"/> and returns it as stored afterwards. Promoting to live retires
    /// the previous live version of the same category and scorer in the same transaction; retiring the live version leaves the category
    /// without one. Setting the state a version already has changes nothing and appends no event.
    /// </summary>
    /// <param name="alsoRecord">Further events of the same change (e.g. a fairness override), recorded only when the state changes.</param>
    /// <exception cref="Refusal">Not found: the version is not registered; invalid: the state, actor or reason is not acceptable.</exception>
    public async Task<ModelVersionInfo> SetStateAsync(string category, string version, string state, string actor, string? reason, CancellationToken ct,
        Action<AuditedChange, ModelVersionInfo>? alsoRecord = null)
    {
        CheckState(state);
        if (reason is not null)
        {
            if (reason.Length > MaxReasonLength) throw Refusal.Invalid("reason", $"The reason is {reason.Length} characters long; the limit is {MaxReasonLength}.");
            if (reason.Contains('\0')) throw Refusal.Invalid("reason", "The reason contains a NUL character.");
            if (reason.Trim().Length == 0) reason = null;
        }

        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var current = await FindAsync(change.Connection, change.Transaction, category, version, ct)
                ?? throw NotFound(category, version);
            if (current.State == state) return current;

            if (state == ModelStates.Live)
                await RetireLiveAsync(change, category, current.Scorer, except: version, $"superseded by {version}", ct);
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateState),
                new { Category = category, Version = version, State = state, Now = change.NowMs }, change.Transaction, cancellationToken: ct));
            RecordStateChange(change, category, version, current.State, state, reason);
            alsoRecord?.Invoke(change, current);
            return current with { State = state, StateChangedAt = change.Now };
        }, ct);
    }

    /// <summary>
    /// A value that changes whenever any version is registered or changes state (the sequence number of the latest
    /// model audit event). Cheap enough for a scorer to poll once per batch and reload when it moves.
    /// </summary>
    public async Task<long> ChangeStampAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectStamp), cancellationToken: ct));
    }

    public static string SubjectId(string category, string version) => $"{category}@{version}";

    private async Task RetireLiveAsync(AuditedChange change, string category, string scorer, string except, string reason, CancellationToken ct)
    {
        var live = await change.Connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(database.Sql(SelectLive),
            new { Category = category, Scorer = scorer }, change.Transaction, cancellationToken: ct));
        if (live is null || live == except) return;
        await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateState),
            new { Category = category, Version = live, State = ModelStates.Retired, Now = change.NowMs }, change.Transaction, cancellationToken: ct));
        RecordStateChange(change, category, live, ModelStates.Live, ModelStates.Retired, reason);
    }

    private static void RecordStateChange(AuditedChange change, string category, string version, string before, string after, string? reason) =>
        change.Record("model.state_changed", SubjectType, SubjectId(category, version), reason,
            JsonSerializer.Serialize(new { state = before }), JsonSerializer.Serialize(new { state = after }));

    /// <summary>No such category and version is registered.</summary>
    public static Refusal NotFound(string category, string version) =>
        Refusal.NotFound($"No model version '{version}' is registered for category '{category}'.", "version");

    private static bool SameBytesOrThrow(ModelVersionInfo existing, string sha) =>
        existing.ArtifactSha256 == sha
            ? false
            : throw Refusal.Conflict(
                $"{existing.Category}@{existing.Version} is already registered with different bytes (sha256 {existing.ArtifactSha256}, " +
                $"this artifact {sha}). A version is immutable: give the new model a new version.");

    private async Task<ModelVersionInfo?> FindAsync(DbConnection connection, DbTransaction? transaction, string category, string version, CancellationToken ct)
    {
        var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectOne),
            new { Category = category, Version = version }, transaction, cancellationToken: ct));
        return row?.ToInfo();
    }

    private static void CheckCategory(string? category)
    {
        if (string.IsNullOrEmpty(category) || category.Length > MaxCategoryLength || !ScorerOutput.IsValidCategory(category))
            throw Refusal.Invalid("category",
                $"'{category}' is not a category name (lower-case, dotted, at most {MaxCategoryLength} characters: harm, harm.hate, misinformation, bias).");
    }

    private static void CheckName(string field, string? value, int max)
    {
        if (string.IsNullOrWhiteSpace(value)) throw Refusal.Invalid(field, $"The {field} is required.");
        if (value.Length > max) throw Refusal.Invalid(field, $"The {field} is {value.Length} characters long; the limit is {max}.");
        if (value.Any(char.IsControl)) throw Refusal.Invalid(field, $"The {field} contains control characters.");
        if (value.Trim().Length != value.Length) throw Refusal.Invalid(field, $"The {field} '{value}' has leading or trailing white space.");
    }

    private static void CheckState(string? state)
    {
        if (!ModelStates.IsKnown(state))
            throw Refusal.Invalid("state", $"'{state}' is not a model state; use {string.Join(", ", ModelStates.All)}.");
    }

    private static void CheckJson(string field, string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) throw Refusal.Invalid(field, $"The {field} is required (a JSON object).");
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Refusal.Invalid(field, $"The {field} must be a JSON object, not {document.RootElement.ValueKind}.");
        }
        catch (JsonException e)
        {
            throw Refusal.Invalid(field, $"The {field} is not valid JSON: {e.Message}");
        }
    }

    private sealed class Row
    {
        public string Category { get; init; } = "";
        public string Version { get; init; } = "";
        public string Scorer { get; init; } = "";
        public string State { get; init; } = "";
        public string Card { get; init; } = "";
        public string Metrics { get; init; } = "";
        public string ArtifactSha256 { get; init; } = "";
        public string RegisteredBy { get; init; } = "";
        public long RegisteredAtMs { get; init; }
        public long StateChangedAtMs { get; init; }

        public ModelVersionInfo ToInfo() => new(Category, Version, Scorer, State, Card, Metrics, ArtifactSha256.Trim(), RegisteredBy,
            DateTimeOffset.FromUnixTimeMilliseconds(RegisteredAtMs), DateTimeOffset.FromUnixTimeMilliseconds(StateChangedAtMs));
    }
}
