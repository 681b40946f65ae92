namespace Moderation.Core.Uploads;

/// <summary>Where an upload is in its life. Stored and served as the lower-case string.</summary>
public static class UploadStatus
{
    /// <summary>Stored and waiting for (or being) scored.</summary>
    public const string Queued = "queued";

    /// <summary>Scored while the policy runs in observe mode: signals carry scores, no item is acted on.</summary>
    public const string Scored = "scored";

    public const string InReview = "in_review";
    public const string Actioned = "actioned";
    public const string Allowed = "allowed";

    /// <summary>Scoring failed on every attempt; the error is kept on the upload.</summary>
    public const string Failed = "failed";
}

/// <summary>The kinds of media an upload can carry.</summary>
public static class MediaKind
{
    public const string Image = "image";
    public const string Video = "video";

    public static bool IsKnown(string? kind) => kind is Image or Video;
}
