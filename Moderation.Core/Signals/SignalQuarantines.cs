using System.Text.Json;
using Dapper;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;
using Moderation.Core.Storage;

namespace Moderation.Core.Signals;

/// <summary>A signal source in quarantine: who put it there, when and why.</summary>
public sealed record SourceQuarantine(string Source, string Kind, string Reason, string QuarantinedBy, DateTimeOffset QuarantinedAt);

/// <summary>What a quarantine did: the row, and the feed sequence numbers of the signals it retracted.</summary>
public sealed record QuarantineResult(SourceQuarantine Quarantine, IReadOnlyList<long> RetractedSignals);

/// <summary>
/// Quarantine of a signal source (issue 14, item 6), in one audited step by a policy user, and its release.
/// <para>
/// While a model head and version or a hash bank is quarantined, routing ignores its scores (<see cref="CurrentAsync"/>,
/// read once per scoring batch): the score is still stored, so signal health keeps measuring it, but it neither
/// actions an upload nor sends it to review, and sends no signal. A quarantined claim is left out of the claims the
/// text scorer matches (the claim's effect is folded into the misinformation score, so it has to stop where it is
/// applied, as a quarantined hash-bank entry stops matching).
/// </para>
/// <para>
/// Quarantining also retracts the source's signals still acting in the feed, as an overturned appeal does: for each
/// model or hash-match signal of the source that asks for anything, is not a retraction and is not yet retracted, a
/// retraction (<c>retracts_seq</c>, action <c>none</c>, source <c>human</c>: a person decided) is appended. A category
/// a reviewer has already decided (a human signal exists) is left alone: the reviewer's signal stands. Upload statuses
/// and open review tasks are not changed. A release lets the source act on new uploads again; the retractions stand
/// (nothing is re-sent): those uploads keep no automated signal of the source until a person decides them.
/// </para>
/// </summary>
public sealed class SignalQuarantines(ModerationDatabase database, TimeProvider time)
{
    public const string SubjectType = "signal_source";

    private const string Columns = "source, kind, reason, quarantined_by, quarantined_at_ms";

    private static readonly DialectSql SelectAll = DialectSql.Portable($"SELECT {Columns} FROM signal_quarantines ORDER BY quarantined_at_ms DESC, source");

    private static readonly DialectSql SelectNames = DialectSql.Portable("SELECT source FROM signal_quarantines");

    private static readonly DialectSql SelectOne = DialectSql.Portable($"SELECT {Columns} FROM signal_quarantines WHERE source = @Source");

    private static readonly DialectSql Insert = DialectSql.Portable($"""
        INSERT INTO signal_quarantines ({Columns}) VALUES (@Source, @Kind, @Reason, @QuarantinedBy, @QuarantinedAtMs)
        """);

    private static readonly DialectSql Delete = DialectSql.Portable("DELETE FROM signal_quarantines WHERE source = @Source");

    private static readonly DialectSql ModelKnown = DialectSql.Portable("""
        SELECT CASE WHEN EXISTS (SELECT 1 FROM model_versions WHERE category = @Category AND version = @Version)
                      OR EXISTS (SELECT 1 FROM scores WHERE category = @Category AND model_version = @Version)
               THEN 1 ELSE 0 END
        """);

    private static readonly DialectSql HashBankKnown = DialectSql.Portable("SELECT COUNT(*) FROM hash_banks WHERE name = @Name");

    private static readonly DialectSql ClaimKnown = DialectSql.Portable("SELECT COUNT(*) FROM claims WHERE id = @Id");

    // The source's automated signals still acting: not retractions, not retracted, in a category no person has decided.
    private const string Acting = """
        s.source IN ('model', 'hash_match') AND s.action <> 'none' AND s.retracts_seq IS NULL
          AND NOT EXISTS (SELECT 1 FROM risk_signals r WHERE r.retracts_seq = s.seq)
          AND NOT EXISTS (SELECT 1 FROM risk_signals h WHERE h.upload_id = s.upload_id AND h.category = s.category AND h.source = 'human')
        """;

    private const string SignalColumns = "s.seq, s.upload_id, s.external_id, s.category, s.policy_version";

    private static readonly DialectSql ActingOfModel = DialectSql.Portable($"""
        SELECT {SignalColumns} FROM risk_signals s WHERE s.model_version = @Version AND s.category = @Category AND {Acting} ORDER BY s.seq
        """);

    private static readonly DialectSql ActingOfHashBank = DialectSql.Portable($"""
        SELECT {SignalColumns} FROM risk_signals s WHERE s.model_version = @Version AND {Acting} ORDER BY s.seq
        """);

    private static readonly DialectSql ActingOfClaim = DialectSql.Portable($"""
        SELECT {SignalColumns} FROM risk_signals s
        WHERE s.category = @Category AND {Acting}
          AND EXISTS (SELECT 1 FROM scores c WHERE c.upload_id = s.upload_id AND c.category = s.category AND c.model_version = s.model_version
                      AND c.explanation LIKE @Pattern)
        ORDER BY s.seq
        """);

    /// <summary>Every source in quarantine, newest first.</summary>
    public async Task<IReadOnlyList<SourceQuarantine>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectAll), cancellationToken: ct))).Select(r => r.ToQuarantine()).ToList();
    }

    /// <summary>The names of the sources in quarantine now: one query on a table of a handful of rows, read once per scoring batch.</summary>
    public async Task<IReadOnlySet<string>> CurrentAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectNames), cancellationToken: ct))).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Whether a source exists: a model version the registry holds or that scored something, a hash bank, a claim.</summary>
    public async Task<bool> KnownAsync(SignalSourceId source, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await KnownAsync(connection, null, source, ct);
    }

    private async Task<bool> KnownAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction, SignalSourceId source, CancellationToken ct)
    {
        var (sql, parameters) = source.Kind switch
        {
            SignalSourceKinds.Model => (ModelKnown, (object)new { source.Category, Version = source.Subject }),
            SignalSourceKinds.HashBank => (HashBankKnown, new { Name = source.Subject }),
            _ => (ClaimKnown, new { Id = source.Subject }),
        };
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(sql), parameters, transaction, cancellationToken: ct)) > 0;
    }

    /// <summary>The source named, or a refusal: not found for a name that is no source (or no source that exists).</summary>
    public static SignalSourceId Parse(string? name) =>
        SignalSourceId.TryParse(name, out var source) ? source : throw NotFound(name ?? "");

    public static Refusal NotFound(string name) =>
        Refusal.NotFound($"No signal source is named '{name}': use model:{{category}}:{{version}}, hash-bank:{{bank}} or claim:{{id}}, as GET /v1/signal-health lists them.", "source");

    /// <summary>Quarantines a source and retracts its acting signals, in one audited change.</summary>
    /// <exception cref="Refusal">Invalid: no reason (checked first); not found: no such source; conflict: already quarantined.</exception>
    public async Task<QuarantineResult> QuarantineAsync(string name, string actor, string? reason, CancellationToken ct)
    {
        reason = CheckReason(reason, "quarantined");
        var source = Parse(name);
        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var connection = change.Connection;
            var transaction = change.Transaction;
            if (!await KnownAsync(connection, transaction, source, ct)) throw NotFound(name);
            if (await FindAsync(connection, transaction, source.Name, ct) is { } existing)
                throw Refusal.Conflict($"'{source.Name}' is already quarantined (by {existing.QuarantinedBy} at {existing.QuarantinedAt:u}).", "source");
            var quarantine = new SourceQuarantine(source.Name, source.Kind, reason, change.Actor, change.Now);
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
            {
                quarantine.Source, quarantine.Kind, quarantine.Reason, quarantine.QuarantinedBy, QuarantinedAtMs = change.NowMs,
            }, transaction, cancellationToken: ct));

            var (sql, parameters) = source.Kind switch
            {
                SignalSourceKinds.Model => (ActingOfModel, (object)new { Version = source.Subject, source.Category }),
                SignalSourceKinds.HashBank => (ActingOfHashBank, new { Version = source.Name }),
                _ => (ActingOfClaim, new { source.Category, Pattern = $"%matches known false claim {source.Subject} %" }),
            };
            var acting = (await connection.QueryAsync<SignalRow>(new CommandDefinition(database.Sql(sql), parameters, transaction, cancellationToken: ct))).ToList();
            await SignalFeed.AppendAsync(connection, transaction, database.Dialect, acting.Select(s => new NewRiskSignal(
                $"quarantine:{source.Name}:{change.NowMs}:{s.Seq}", s.UploadId, s.ExternalId, s.Category, 0.0, SignalAction.None, 1.0,
                SignalSource.Human, null, s.PolicyVersion, RetractsSeq: s.Seq)).ToList(), change.NowMs, ct);
            var retracted = acting.Select(s => s.Seq).ToList();
            change.Record("signal_source.quarantined", SubjectType, source.Name, reason,
                JsonSerializer.Serialize(new { state = "active" }),
                JsonSerializer.Serialize(new { state = "quarantined", kind = source.Kind, retractedSignals = retracted }));
            return new QuarantineResult(quarantine, retracted);
        }, ct);
    }

    /// <summary>Lets a quarantined source act on new uploads again, audited; the signals its quarantine retracted stay retracted.</summary>
    /// <exception cref="Refusal">Invalid: no reason (checked first); not found: no such source; conflict: not quarantined.</exception>
    public async Task<SourceQuarantine> ReleaseAsync(string name, string actor, string? reason, CancellationToken ct)
    {
        reason = CheckReason(reason, "released");
        var source = Parse(name);
        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            if (!await KnownAsync(change.Connection, change.Transaction, source, ct)) throw NotFound(name);
            var existing = await FindAsync(change.Connection, change.Transaction, source.Name, ct)
                ?? throw Refusal.Conflict($"'{source.Name}' is not quarantined.", "source");
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Delete), new { existing.Source }, change.Transaction, cancellationToken: ct));
            change.Record("signal_source.released", SubjectType, source.Name, reason,
                JsonSerializer.Serialize(new { state = "quarantined", quarantinedBy = existing.QuarantinedBy, quarantinedAt = existing.QuarantinedAt, quarantineReason = existing.Reason }),
                JsonSerializer.Serialize(new { state = "active" }));
            return existing;
        }, ct);
    }

    private static string CheckReason(string? reason, string verb)
    {
        if (string.IsNullOrWhiteSpace(reason)) throw Refusal.Invalid("reason", $"is required: why the source is {verb} (it goes into the audit log)");
        reason = reason.Trim();
        if (reason.Length > 2000) throw Refusal.Invalid("reason", "must be at most 2,000 characters");
        return reason;
    }

    private async Task<SourceQuarantine?> FindAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string source, CancellationToken ct) =>
        (await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectOne), new { Source = source }, transaction, cancellationToken: ct)))?.ToQuarantine();

    private sealed class Row
    {
        public string Source { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Reason { get; init; } = "";
        public string QuarantinedBy { get; init; } = "";
        public long QuarantinedAtMs { get; init; }

        public SourceQuarantine ToQuarantine() => new(Source, Kind, Reason, QuarantinedBy, DateTimeOffset.FromUnixTimeMilliseconds(QuarantinedAtMs));
    }

    private sealed class SignalRow
    {
        public long Seq { get; init; }
        public string UploadId { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string Category { get; init; } = "";
        public string? PolicyVersion { get; init; }
    }
}
