using System.Data.Common;
using Dapper;
using Moderation.Core.Storage;

namespace Moderation.Core.Signals;

/// <summary>A signal to append. The idempotency key makes a retried job append it once.</summary>
public sealed record NewRiskSignal(
    string IdempotencyKey,
    string UploadId,
    string ExternalId,
    string Category,
    double Score,
    string Action,
    double DemotionMultiplier,
    string Source,
    string? ModelVersion,
    string? PolicyVersion,
    long? ExpiresAtMs = null,
    long? RetractsSeq = null);

/// <summary>A signal as the feed serves it.</summary>
public sealed record RiskSignal(
    long Seq,
    string UploadId,
    string ExternalId,
    string Category,
    double Score,
    string Action,
    double DemotionMultiplier,
    string Source,
    string? ModelVersion,
    string? PolicyVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    long? Retracts);

public sealed record SignalPage(IReadOnlyList<RiskSignal> Signals, long NextCursor);

/// <summary>
/// The risk-signal feed: append-only, read in sequence order from a cursor. Appends hold the append-log lock
/// until commit, so sequence numbers become visible in order and a consumer resuming after its last sequence
/// sees every signal exactly once.
/// </summary>
public static class SignalFeed
{
    private const string Columns =
        "idempotency_key, upload_id, external_id, category, score, action, demotion_multiplier, source, model_version, policy_version, created_at_ms, expires_at_ms, retracts_seq";
    private const string Values =
        "@IdempotencyKey, @UploadId, @ExternalId, @Category, @Score, @Action, @DemotionMultiplier, @Source, @ModelVersion, @PolicyVersion, @CreatedAtMs, @ExpiresAtMs, @RetractsSeq";

    private static readonly DialectSql Insert = DialectSql.InsertIfAbsent("risk_signals", Columns, Values, ["idempotency_key"]);

    private const string ReadColumns =
        "seq, upload_id, external_id, category, score, action, demotion_multiplier, source, model_version, policy_version, created_at_ms, expires_at_ms, retracts_seq";

    private static readonly DialectSql SelectPage = new(
        sqlite: $"SELECT {ReadColumns} FROM risk_signals WHERE seq > @After ORDER BY seq LIMIT @Limit",
        postgres: $"SELECT {ReadColumns} FROM risk_signals WHERE seq > @After ORDER BY seq LIMIT @Limit",
        sqlServer: $"SELECT TOP (@Limit) {ReadColumns} FROM risk_signals WHERE seq > @After ORDER BY seq");

    /// <summary>Appends inside the caller's transaction; returns how many were new.</summary>
    public static async Task<int> AppendAsync(DbConnection connection, DbTransaction transaction, SqlDialect dialect,
        IReadOnlyCollection<NewRiskSignal> signals, long createdAtMs, CancellationToken ct)
    {
        if (signals.Count == 0) return 0;
        await TransactionLock.TakeAsync(connection, transaction, dialect, TransactionLock.AppendLog, ct);
        return await connection.ExecuteAsync(new CommandDefinition(dialect.Sql(Insert), signals.Select(s => new
        {
            s.IdempotencyKey, s.UploadId, s.ExternalId, s.Category, s.Score, s.Action, s.DemotionMultiplier, s.Source,
            s.ModelVersion, s.PolicyVersion, CreatedAtMs = createdAtMs, s.ExpiresAtMs, s.RetractsSeq,
        }), transaction, cancellationToken: ct));
    }

    public static async Task<SignalPage> ReadAsync(ModerationDatabase database, long after, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectPage),
            new { After = after, Limit = limit }, cancellationToken: ct))).ToList();
        var signals = rows.Select(r => r.ToSignal()).ToList();
        return new SignalPage(signals, signals.Count > 0 ? signals[^1].Seq : after);
    }

    private static readonly DialectSql SelectForUploads = DialectSql.WithList(
        $"SELECT {ReadColumns} FROM risk_signals WHERE upload_id IN @Ids ORDER BY seq");

    /// <summary>Every signal of these uploads, retractions included, in sequence order.</summary>
    public static async Task<IReadOnlyList<RiskSignal>> ForUploadsAsync(DbConnection connection, SqlDialect dialect, IReadOnlyCollection<string> uploadIds, CancellationToken ct)
    {
        if (uploadIds.Count == 0) return [];
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(dialect.Sql(SelectForUploads), new { Ids = uploadIds.ToArray() }, cancellationToken: ct));
        return rows.Select(r => r.ToSignal()).ToList();
    }

    private sealed class Row
    {
        public long Seq { get; init; }
        public string UploadId { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string Category { get; init; } = "";
        public double Score { get; init; }
        public string Action { get; init; } = "";
        public double DemotionMultiplier { get; init; }
        public string Source { get; init; } = "";
        public string? ModelVersion { get; init; }
        public string? PolicyVersion { get; init; }
        public long CreatedAtMs { get; init; }
        public long? ExpiresAtMs { get; init; }
        public long? RetractsSeq { get; init; }

        public RiskSignal ToSignal() => new(Seq, UploadId, ExternalId, Category, Score, Action, DemotionMultiplier, Source, ModelVersion, PolicyVersion,
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs), ExpiresAtMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null, RetractsSeq);
    }
}
