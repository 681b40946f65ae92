using System.Text.Json;
using Dapper;
using Moderation.Core.Storage;

namespace Moderation.Core.Media;

/// <summary>A bank entry a frame (or, at frame -1, the whole item) matched.</summary>
/// <param name="Algorithm">The bank's hash algorithm (null on evidence from before banks declared one: crop-robust).</param>
/// <param name="Detail">How a whole-item match was made: the exact file, or a vPDQ video's shares of matching frames.</param>
/// <param name="Quarantined">The entry is quarantined (it matched a flood of uploads): recorded, not acted on.</param>
public sealed record FrameMatch(string Bank, string EntryId, int Distance, string Category, string Action, string? Algorithm = null, string? Detail = null,
    bool Quarantined = false);

/// <summary>
/// What the hash-match scorer saw in one frame of one media item: its hash and quality, the bank entries it matched,
/// or why the item could not be (fully) read. Frame -1 stands for the whole item when nothing could be read.
/// </summary>
/// <param name="Hash">The frame's crop-robust hash (what near-duplicate search compares).</param>
/// <param name="Pdq">The frame's PDQ hash, bit-compatible with Facebook's reference, and its quality.</param>
public sealed record FrameEvidence(int Ordinal, int Frame, long? PositionMs, string? Hash, int? Quality, IReadOnlyList<FrameMatch> Matches, string? Problem,
    string? Pdq = null, int? PdqQuality = null);

/// <summary>Text OCR read in one frame of one media item (frame -1: why nothing was read), with Tesseract's mean confidence.</summary>
public sealed record FrameTextEvidence(int Ordinal, int Frame, long? PositionMs, string? Text, double? Confidence, string? Problem);

/// <summary>One model's probability for one category in one frame, as the image scorer computed it.</summary>
public sealed record FrameScore(string Category, string ModelVersion, double Score, bool Shadow = false);

/// <summary>
/// What the image scorer saw in one frame of one media item: every model's score, or why the item or frame was not
/// (fully) scored. Frame -1 is about the whole item: unreadable, or categories that have no image model.
/// </summary>
public sealed record FrameScoreEvidence(int Ordinal, int Frame, long? PositionMs, IReadOnlyList<FrameScore> Scores, string? Problem);

/// <summary>
/// Stores frame evidence per (upload, media item, frame), insert-if-absent: media never changes, so a retried job
/// computes the same rows and stores nothing twice.
/// </summary>
public sealed class MediaFrameLog(ModerationDatabase database, TimeProvider time)
{
    private const string Columns = "upload_id, ordinal, frame, position_ms, hash, quality, matches, problem, pdq, pdq_quality, created_at_ms";

    private static readonly DialectSql Insert = DialectSql.InsertIfAbsent("media_frames", Columns,
        "@UploadId, @Ordinal, @Frame, @PositionMs, @Hash, @Quality, @Matches, @Problem, @Pdq, @PdqQuality, @Now", ["upload_id", "ordinal", "frame"]);

    private const string TextColumns = "upload_id, ordinal, frame, position_ms, text, confidence, problem, created_at_ms";

    private static readonly DialectSql InsertText = DialectSql.InsertIfAbsent("media_frame_text", TextColumns,
        "@UploadId, @Ordinal, @Frame, @PositionMs, @Text, @Confidence, @Problem, @Now", ["upload_id", "ordinal", "frame"]);

    private static readonly DialectSql SelectText = DialectSql.Portable(
        $"SELECT {TextColumns} FROM media_frame_text WHERE upload_id = @UploadId ORDER BY ordinal, frame");

    /// <summary>What OCR read, insert-if-absent like the other evidence.</summary>
    public async Task RecordTextAsync(IReadOnlyList<(string UploadId, FrameTextEvidence Evidence)> frames, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await InsertAllAsync(InsertText, frames.Select(f => (object)new
            {
                f.UploadId, f.Evidence.Ordinal, f.Evidence.Frame, f.Evidence.PositionMs, f.Evidence.Text, f.Evidence.Confidence, f.Evidence.Problem, Now = now,
            }), ct);
    }

    public async Task<IReadOnlyList<FrameTextEvidence>> TextForUploadAsync(string uploadId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await ReadTextAsync(connection, database.Dialect, uploadId, ct);
    }

    /// <summary>An upload's OCR evidence, in media and frame order, on an open connection.</summary>
    public static async Task<IReadOnlyList<FrameTextEvidence>> ReadTextAsync(System.Data.Common.DbConnection connection, SqlDialect dialect, string uploadId, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<TextRow>(new CommandDefinition(dialect.Sql(SelectText), new { UploadId = uploadId }, cancellationToken: ct));
        return rows.Select(r => new FrameTextEvidence((int)r.Ordinal, (int)r.Frame, r.PositionMs, r.Text, r.Confidence, r.Problem)).ToList();
    }

    private sealed class TextRow
    {
        public long Ordinal { get; init; }
        public long Frame { get; init; }
        public long? PositionMs { get; init; }
        public string? Text { get; init; }
        public double? Confidence { get; init; }
        public string? Problem { get; init; }
    }

    private static readonly DialectSql Select = DialectSql.Portable(
        $"SELECT {Columns} FROM media_frames WHERE upload_id = @UploadId ORDER BY ordinal, frame");

    private const string ScoreColumns = "upload_id, ordinal, frame, position_ms, scores, problem, created_at_ms";

    private static readonly DialectSql InsertScores = DialectSql.InsertIfAbsent("media_frame_scores", ScoreColumns,
        "@UploadId, @Ordinal, @Frame, @PositionMs, @Scores, @Problem, @Now", ["upload_id", "ordinal", "frame"]);

    private static readonly DialectSql SelectScores = DialectSql.Portable(
        $"SELECT {ScoreColumns} FROM media_frame_scores WHERE upload_id = @UploadId ORDER BY ordinal, frame");

    /// <summary>The image scorer's evidence, insert-if-absent like the hash evidence.</summary>
    public async Task RecordScoresAsync(IReadOnlyList<(string UploadId, FrameScoreEvidence Evidence)> frames, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await InsertAllAsync(InsertScores, frames.Select(f => (object)new
            {
                f.UploadId, f.Evidence.Ordinal, f.Evidence.Frame, f.Evidence.PositionMs,
                Scores = JsonSerializer.Serialize(f.Evidence.Scores, JsonSerializerOptions.Web), f.Evidence.Problem, Now = now,
            }), ct);
    }

    public async Task<IReadOnlyList<FrameScoreEvidence>> ScoresForUploadAsync(string uploadId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await ReadScoresAsync(connection, database.Dialect, uploadId, ct);
    }

    /// <summary>An upload's image-scorer evidence, in media and frame order, on an open connection.</summary>
    public static async Task<IReadOnlyList<FrameScoreEvidence>> ReadScoresAsync(System.Data.Common.DbConnection connection, SqlDialect dialect, string uploadId, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<ScoreRow>(new CommandDefinition(dialect.Sql(SelectScores), new { UploadId = uploadId }, cancellationToken: ct));
        return rows.Select(r => new FrameScoreEvidence((int)r.Ordinal, (int)r.Frame, r.PositionMs,
            JsonSerializer.Deserialize<FrameScore[]>(r.Scores, JsonSerializerOptions.Web) ?? [], r.Problem)).ToList();
    }

    public async Task RecordAsync(IReadOnlyList<(string UploadId, FrameEvidence Evidence)> frames, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await InsertAllAsync(Insert, frames.Select(f => (object)new
            {
                f.UploadId, f.Evidence.Ordinal, f.Evidence.Frame, f.Evidence.PositionMs, f.Evidence.Hash, f.Evidence.Quality,
                Matches = JsonSerializer.Serialize(f.Evidence.Matches, JsonSerializerOptions.Web), f.Evidence.Problem, f.Evidence.Pdq, f.Evidence.PdqQuality,
                Now = now,
            }), ct);
    }

    /// <summary>Every row in one transaction, insert-if-absent (the statements are): a retried job stores nothing twice.</summary>
    private async Task InsertAllAsync(DialectSql insert, IEnumerable<object> rows, CancellationToken ct)
    {
        var list = rows.ToList();
        if (list.Count == 0) return;
        await database.InTransactionAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(insert), list, transaction, cancellationToken: ct)), ct);
    }

    public async Task<IReadOnlyList<FrameEvidence>> ForUploadAsync(string uploadId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await ReadAsync(connection, database.Dialect, uploadId, ct);
    }

    /// <summary>An upload's frame evidence, in media and frame order, on an open connection.</summary>
    public static async Task<IReadOnlyList<FrameEvidence>> ReadAsync(System.Data.Common.DbConnection connection, SqlDialect dialect, string uploadId, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(dialect.Sql(Select), new { UploadId = uploadId }, cancellationToken: ct));
        return rows.Select(r => new FrameEvidence((int)r.Ordinal, (int)r.Frame, r.PositionMs, r.Hash?.Trim(), r.Quality is { } q ? (int)q : null,
            JsonSerializer.Deserialize<FrameMatch[]>(r.Matches, JsonSerializerOptions.Web) ?? [], r.Problem, r.Pdq?.Trim(),
            r.PdqQuality is { } pq ? (int)pq : null)).ToList();
    }

    private sealed class ScoreRow
    {
        public long Ordinal { get; init; }
        public long Frame { get; init; }
        public long? PositionMs { get; init; }
        public string Scores { get; init; } = "[]";
        public string? Problem { get; init; }
    }

    private sealed class Row
    {
        public long Ordinal { get; init; }
        public long Frame { get; init; }
        public long? PositionMs { get; init; }
        public string? Hash { get; init; }
        public long? Quality { get; init; }
        public string Matches { get; init; } = "[]";
        public string? Problem { get; init; }
        public string? Pdq { get; init; }
        public long? PdqQuality { get; init; }
    }
}
