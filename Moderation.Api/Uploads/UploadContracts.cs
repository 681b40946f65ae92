using Moderation.Core.Uploads;

namespace Moderation.Api.Uploads;

/// <summary>The body of <c>POST /v1/uploads</c> (JSON), or the <c>upload</c> field of a multipart request.</summary>
public sealed record UploadRequest
{
    /// <summary>The client's own id for the upload; the idempotency key. Required.</summary>
    public string? ExternalId { get; init; }
    public string? CreatorId { get; init; }
    public string? Caption { get; init; }
    public List<string?>? Hashtags { get; init; }
    public string? Transcript { get; init; }
    public List<string?>? Comments { get; init; }
    /// <summary>A BCP 47 language tag, e.g. <c>en-GB</c>.</summary>
    public string? Locale { get; init; }
    /// <summary>Inline media (JSON only; multipart requests send files as parts named <c>image</c> or <c>video</c>).</summary>
    public List<MediaRequest?>? Media { get; init; }
}

public sealed record MediaRequest
{
    /// <summary><c>image</c> or <c>video</c>; must match what the bytes are.</summary>
    public string? Kind { get; init; }
    public string? FileName { get; init; }
    public string? ContentBase64 { get; init; }
}

/// <summary>The answer to an accepted upload.</summary>
public sealed record UploadAccepted(string Id, string Status);

/// <summary>An upload's state, scores and routing, and what the scorers declined to score (<c>unscored</c>) and why.</summary>
public sealed record UploadResponse(
    string Id,
    string ExternalId,
    string? CreatorId,
    string Status,
    string? StatusDetail,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? RoutedAt,
    int ScoringAttempts,
    string? LastError,
    IReadOnlyList<MediaDetails> Media,
    IReadOnlyList<ScoreDetails> Scores,
    RoutingDetails? Routing,
    IReadOnlyList<UnscoredDetails> Unscored)
{
    public static UploadResponse From(UploadDetails d) => new(d.Id, d.ExternalId, d.CreatorId, d.Status, d.StatusDetail,
        d.ReceivedAt, d.RoutedAt, d.ScoringAttempts, d.LastError, d.Media, d.Scores, d.Routing, d.Unscored);
}
