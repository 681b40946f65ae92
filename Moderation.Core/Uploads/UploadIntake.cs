using System.Data.Common;
using System.Text.Json;
using Dapper;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Core.Telemetry;

namespace Moderation.Core.Uploads;

/// <summary>A validated upload, ready to store.</summary>
public sealed record NewUpload(
    string ExternalId,
    string? CreatorId,
    string? Caption,
    IReadOnlyList<string> Hashtags,
    string? Transcript,
    IReadOnlyList<string> Comments,
    string? Locale,
    IReadOnlyList<NewMedia> Media);

/// <summary>A media file whose bytes were already recognised as <paramref name="Kind"/>.</summary>
public sealed record NewMedia(string Kind, string FileName, string ContentType, ReadOnlyMemory<byte> Content);

/// <param name="Created">False when the external id was already known: nothing new was stored.</param>
public sealed record IntakeResult(string Id, string Status, bool Created);

/// <summary>
/// Stores an upload and its media durably, then hands it to the scoring dispatcher. The external id is the
/// idempotency key: a repeat, even a concurrent one, returns the upload already stored and creates nothing.
/// </summary>
public sealed class UploadIntake(ModerationDatabase database, MediaStore mediaStore, ScoringDispatcher dispatcher, TimeProvider time)
{
    private static readonly DialectSql FindByExternalId =
        DialectSql.Portable("SELECT id, status FROM uploads WHERE external_id = @ExternalId");

    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, transcript, comments, locale, status,
                             scoring_attempts, received_at_ms, enqueued_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, @CreatorId, @Caption, @Hashtags, @Transcript, @Comments, @Locale, @Status,
                0, @Now, @Now, @Now)
        """);

    private static readonly DialectSql InsertMedia = DialectSql.Portable("""
        INSERT INTO media (upload_id, ordinal, kind, file_name, content_type, size_bytes, sha256)
        VALUES (@UploadId, @Ordinal, @Kind, @FileName, @ContentType, @SizeBytes, @Sha256)
        """);

    public async Task<IntakeResult> AcceptAsync(NewUpload upload, CancellationToken ct)
    {
        using var activity = ModerationTelemetry.Source.StartActivity("upload.accept");
        // No look-up first: the unique external id decides, which costs a known repeat one failed insert and
        // saves every new upload a round trip. Media goes first: content-addressed files are harmless if the
        // insert then loses to an earlier upload with the same external id.
        var hashes = new string[upload.Media.Count];
        for (var i = 0; i < upload.Media.Count; i++)
            hashes[i] = await mediaStore.PutAsync(upload.Media[i].Content, ct);

        var id = Guid.CreateVersion7().ToString();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        try
        {
            await database.InTransactionAsync(async (connection, transaction) =>
            {
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertUpload), new
                {
                    Id = id,
                    upload.ExternalId,
                    upload.CreatorId,
                    upload.Caption,
                    Hashtags = JsonSerializer.Serialize(upload.Hashtags),
                    upload.Transcript,
                    Comments = JsonSerializer.Serialize(upload.Comments),
                    upload.Locale,
                    Status = UploadStatus.Queued,
                    Now = now,
                }, transaction, cancellationToken: ct));
                if (upload.Media.Count > 0)
                    await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertMedia), upload.Media.Select((m, i) => new
                    {
                        UploadId = id,
                        Ordinal = i,
                        m.Kind,
                        m.FileName,
                        m.ContentType,
                        SizeBytes = (long)m.Content.Length,
                        Sha256 = hashes[i],
                    }), transaction, cancellationToken: ct));
            }, ct);
        }
        catch (DbException e) when (database.Dialect.IsUniqueViolation(e))
        {
            // A concurrent request with the same external id won the insert.
            return await FindAsync(upload.ExternalId, ct)
                ?? throw new InvalidOperationException($"Upload {upload.ExternalId} conflicted but cannot be found.", e);
        }

        ModerationTelemetry.UploadsAccepted.Add(1);
        activity?.SetTag("upload.id", id);
        try
        {
            await dispatcher.DispatchAsync(id, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw new ScoringNotEnqueuedException(id, e);
        }
        return new IntakeResult(id, UploadStatus.Queued, Created: true);
    }

    private async Task<IntakeResult?> FindAsync(string externalId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QueryFirstOrDefaultAsync<IdStatusRow>(
            new CommandDefinition(database.Sql(FindByExternalId), new { ExternalId = externalId }, cancellationToken: ct));
        return row is null ? null : new IntakeResult(row.Id, row.Status, Created: false);
    }

    private sealed class IdStatusRow
    {
        public string Id { get; init; } = "";
        public string Status { get; init; } = "";
    }
}

/// <summary>
/// The upload is stored but its scoring job could not be enqueued (the job store is down, or the host is stopping).
/// Nothing is lost: the stalled-upload sweeper enqueues it later, and a retry with the same external id answers
/// with the stored upload.
/// </summary>
public sealed class ScoringNotEnqueuedException(string uploadId, Exception inner)
    : Exception($"Upload {uploadId} is stored but its scoring job could not be enqueued yet.", inner)
{
    public string UploadId { get; } = uploadId;
}
