using Dapper;
using Microsoft.AspNetCore.Http;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Review.Security;

namespace Moderation.Review.Media;

/// <summary>
/// Serves an upload's media to reviewers. The content type is never the client's: only image and video types
/// that browsers render without executing anything are sent as themselves (the stored type was sniffed from the
/// bytes at intake); anything else goes out as an octet-stream download. Always with <c>nosniff</c> and a
/// sandboxing Content-Security-Policy, so even a file opened on its own cannot run script.
/// </summary>
public static class MediaEndpoint
{
    private static readonly HashSet<string> Inline = new(StringComparer.Ordinal)
    {
        "image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/webm",
    };

    private static readonly DialectSql SelectMedia = DialectSql.Portable("""
        SELECT content_type, sha256 FROM media WHERE upload_id = @UploadId AND ordinal = @Ordinal
        """);

    public static async Task<IResult> Serve(string uploadId, int ordinal, HttpResponse response, ModerationDatabase database, MediaStore store, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectMedia), new { UploadId = uploadId, Ordinal = ordinal }, cancellationToken: ct));
        if (row is null || !store.Contains(row.Sha256.Trim())) return Results.NotFound();
        SecurityHeaders.Apply(response, SecurityHeaders.MediaPolicy);
        response.Headers.CacheControl = "private, no-store";
        var type = SafeContentType(row.ContentType);
        if (type == "application/octet-stream")
            response.Headers.ContentDisposition = "attachment; filename=\"media.bin\"";
        return Results.Stream(store.OpenRead(row.Sha256.Trim()), type, enableRangeProcessing: true);
    }

    public static string SafeContentType(string stored) =>
        Inline.Contains(stored.Trim().ToLowerInvariant()) ? stored.Trim().ToLowerInvariant() : "application/octet-stream";

    private sealed class Row
    {
        public string ContentType { get; init; } = "";
        public string Sha256 { get; init; } = "";
    }
}
