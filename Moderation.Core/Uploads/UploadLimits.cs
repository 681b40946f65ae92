using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Uploads;

/// <summary>Bound from <c>Moderation:Limits</c>: what one upload may carry. Over a limit is a 400, never a truncation.</summary>
public sealed class UploadLimits
{
    public const string Section = "Moderation:Limits";

    [Range(1, 256)] public int MaxExternalIdLength { get; set; } = 256;
    [Range(1, 256)] public int MaxCreatorIdLength { get; set; } = 256;
    [Range(1, 1_000_000)] public int MaxCaptionLength { get; set; } = 10_000;
    [Range(0, 10_000)] public int MaxHashtags { get; set; } = 100;
    [Range(1, 1_000)] public int MaxHashtagLength { get; set; } = 100;
    [Range(1, 10_000_000)] public int MaxTranscriptLength { get; set; } = 200_000;
    [Range(0, 100_000)] public int MaxComments { get; set; } = 500;
    [Range(1, 1_000_000)] public int MaxCommentLength { get; set; } = 10_000;
    [Range(1, 35)] public int MaxLocaleLength { get; set; } = 35;
    [Range(0, 1_000)] public int MaxMediaItems { get; set; } = 10;
    [Range(1, 255)] public int MaxFileNameLength { get; set; } = 255;

    /// <summary>Largest single media file, in bytes (after base64 decoding).</summary>
    [Range(1, long.MaxValue)] public long MaxMediaBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Largest request body; base64 inflates media by a third, so leave room above the media limits.</summary>
    [Range(1, long.MaxValue)] public long MaxRequestBytes { get; set; } = 200L * 1024 * 1024;

    /// <summary>
    /// Upload bodies one API key may have in flight at once, in bytes (each request counts its Content-Length, or
    /// <see cref="MaxRequestBytes"/> when it has none). Past it: 429 with Retry-After. A key with nothing in flight may
    /// always send one request.
    /// </summary>
    [Range(1, long.MaxValue)] public long MaxConcurrentBytesPerKey { get; set; } = 256L * 1024 * 1024;

    /// <summary>Upload bodies the whole host may have in flight at once, in bytes. Past it: 503 with Retry-After.</summary>
    [Range(1, long.MaxValue)] public long MaxConcurrentBytesPerHost { get; set; } = 1024L * 1024 * 1024;

    /// <summary>How old a media file that no upload names (or a temporary one) must be before the sweep deletes it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")] public TimeSpan OrphanMediaAfter { get; set; } = TimeSpan.FromHours(1);
}
