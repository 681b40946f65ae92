using System.Data.Common;
using System.Runtime.InteropServices;
using Dapper;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;

namespace Moderation.Core.Similarity;

/// <summary>A stored vector with the sequence number it was written under.</summary>
public sealed record StoredEmbedding(long Seq, string UploadId, UploadEmbedding Embedding);

/// <summary>
/// The <c>upload_embeddings</c> table: vectors the scorers computed, one per (upload, kind, model, media item, frame),
/// insert-if-absent so a retried scoring job stores nothing twice. Vectors are float32 little-endian bytes. Writes take
/// the append lock, so <c>seq</c> becomes visible in order and an index can read "everything after seq N" exactly.
/// </summary>
public sealed class UploadEmbeddings(ModerationDatabase database, TimeProvider time)
{
    /// <summary>Longest vector accepted (ResNet18 gives 512, MiniLM 384).</summary>
    public const int MaxDimensions = 4096;

    /// <summary>How far a stored vector's length may be from 1 (they are compared by dot product).</summary>
    public const float NormTolerance = 1e-3f;

    private const string Columns = "upload_id, kind, model, media_ordinal, frame, dimensions, vector, created_at_ms";

    private static readonly DialectSql Insert = DialectSql.InsertIfAbsent("upload_embeddings", Columns,
        "@UploadId, @Kind, @Model, @MediaOrdinal, @Frame, @Dimensions, @Vector, @Now", ["upload_id", "kind", "model", "media_ordinal", "frame"]);

    private static readonly DialectSql SelectForUpload = DialectSql.Portable("""
        SELECT seq, upload_id, kind, model, media_ordinal, frame, dimensions, vector
        FROM upload_embeddings WHERE upload_id = @UploadId ORDER BY kind, model, media_ordinal, frame
        """);

    // Only uploads the policy sent to review are searched: the clusters and suggestions are for reviewers, and it
    // keeps the index at the size of the review traffic, not of all uploads. Routing rows commit in the same
    // transaction as the vectors, so the filter is already settled when a row becomes visible.
    private static readonly DialectSql SelectReviewedSince = new(
        sqlite: """
            SELECT e.seq, e.upload_id, e.kind, e.model, e.media_ordinal, e.frame, e.dimensions, e.vector
            FROM upload_embeddings e
            WHERE e.kind = @Kind AND e.model = @Model AND e.seq > @After
              AND EXISTS (SELECT 1 FROM routing_decisions r WHERE r.upload_id = e.upload_id AND r.outcome = 'review')
            ORDER BY e.seq LIMIT @Limit
            """,
        postgres: """
            SELECT e.seq, e.upload_id, e.kind, e.model, e.media_ordinal, e.frame, e.dimensions, e.vector
            FROM upload_embeddings e
            WHERE e.kind = @Kind AND e.model = @Model AND e.seq > @After
              AND EXISTS (SELECT 1 FROM routing_decisions r WHERE r.upload_id = e.upload_id AND r.outcome = 'review')
            ORDER BY e.seq LIMIT @Limit
            """,
        sqlServer: """
            SELECT TOP (@Limit) e.seq, e.upload_id, e.kind, e.model, e.media_ordinal, e.frame, e.dimensions, e.vector
            FROM upload_embeddings e
            WHERE e.kind = @Kind AND e.model = @Model AND e.seq > @After
              AND EXISTS (SELECT 1 FROM routing_decisions r WHERE r.upload_id = e.upload_id AND r.outcome = 'review')
            ORDER BY e.seq
            """);

    private static readonly DialectSql SelectMaxSeq = DialectSql.Portable("""
        SELECT COALESCE(MAX(seq), 0) FROM upload_embeddings WHERE kind = @Kind AND model = @Model
        """);

    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong with a vector a scorer returned.</summary>
    public static void Validate(UploadEmbedding e)
    {
        if (e.Kind is not ("text" or "image")) throw new ArgumentException($"embedding kind '{e.Kind}' is not text or image");
        if (string.IsNullOrWhiteSpace(e.Model) || e.Model.Length > 128) throw new ArgumentException("embedding model is empty or longer than 128 characters");
        if (e.Vector is null || e.Vector.Length is 0 or > MaxDimensions) throw new ArgumentException($"a {e.Kind} embedding has no numbers or more than {MaxDimensions}");
        if (e.MediaOrdinal is < 0 || e.Frame is < 0) throw new ArgumentException("media ordinal and frame are never negative");
        if (e.Kind == "image" && e.MediaOrdinal is null) throw new ArgumentException("an image embedding names its media item");
        foreach (var x in e.Vector)
            if (!float.IsFinite(x)) throw new ArgumentException($"a {e.Kind} embedding holds a number that is not finite");
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(e.Vector);
        if (Math.Abs(norm - 1) > NormTolerance) throw new ArgumentException($"a {e.Kind} embedding is not L2-normalised (length {norm})");
    }

    /// <summary>Writes vectors inside the caller's transaction, which must hold the append lock.</summary>
    public static Task WriteAsync(DbConnection connection, DbTransaction transaction, SqlDialect dialect,
        IEnumerable<(string UploadId, UploadEmbedding Embedding)> rows, long now, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(dialect.Sql(Insert), rows.Select(r => new
        {
            r.UploadId, r.Embedding.Kind, r.Embedding.Model, MediaOrdinal = r.Embedding.MediaOrdinal ?? -1, Frame = r.Embedding.Frame ?? -1,
            Dimensions = r.Embedding.Vector.Length, Vector = ToBytes(r.Embedding.Vector), Now = now,
        }), transaction, cancellationToken: ct));

    /// <summary>Stores vectors for an upload on their own (scorers' vectors normally arrive through the scoring writer).</summary>
    public async Task StoreAsync(string uploadId, IReadOnlyList<UploadEmbedding> embeddings, CancellationToken ct)
    {
        foreach (var e in embeddings) Validate(e);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);
            await WriteAsync(connection, transaction, database.Dialect, embeddings.Select(e => (uploadId, e)), now, ct);
        }, ct);
    }

    public async Task<IReadOnlyList<StoredEmbedding>> ForUploadAsync(string uploadId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectForUpload), new { UploadId = uploadId }, cancellationToken: ct)))
            .Select(r => r.ToStored()).ToList();
    }

    /// <summary>Vectors of one kind and model, of uploads routed to review, written after <paramref name="afterSeq"/>, in order.</summary>
    public async Task<IReadOnlyList<StoredEmbedding>> ReviewedSinceAsync(string kind, string model, long afterSeq, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectReviewedSince),
                new { Kind = kind, Model = model, After = afterSeq, Limit = limit }, cancellationToken: ct)))
            .Select(r => r.ToStored()).ToList();
    }

    public async Task<long> LatestSeqAsync(string kind, string model, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectMaxSeq), new { Kind = kind, Model = model }, cancellationToken: ct));
    }

    public static byte[] ToBytes(float[] vector)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Vectors are stored little-endian.");
        return MemoryMarshal.AsBytes(vector.AsSpan()).ToArray();
    }

    public static float[] FromBytes(byte[] bytes, int dimensions)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Vectors are stored little-endian.");
        if (bytes.Length != dimensions * sizeof(float)) throw new InvalidDataException($"A stored vector has {bytes.Length} bytes for {dimensions} dimensions.");
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    private sealed class Row
    {
        public long Seq { get; init; }
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Model { get; init; } = "";
        public long MediaOrdinal { get; init; }
        public long Frame { get; init; }
        public long Dimensions { get; init; }
        public byte[] Vector { get; init; } = [];

        public StoredEmbedding ToStored() => new(Seq, UploadId, new UploadEmbedding(Kind, Model,
            MediaOrdinal < 0 ? null : (int)MediaOrdinal, Frame < 0 ? null : (int)Frame, FromBytes(Vector, (int)Dimensions)));
    }
}
