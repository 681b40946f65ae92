namespace Moderation.Core.Scoring;

/// <summary>
/// A model (or any other judge) that scores uploads. The pipeline hands each scorer a whole batch so that a
/// model can run one batched inference; a scorer returns scores only for the uploads and categories it covers.
/// Scorers are singletons: load models once, and be safe to call from several jobs at once.
/// </summary>
public interface IUploadScorer
{
    /// <summary>A stable name, stored beside every score it produces.</summary>
    string Name { get; }

    Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct);
}

/// <summary>What a scorer sees of an upload. Media bytes are read through <see cref="Uploads.MediaStore"/>.</summary>
/// <param name="ImageText">
/// Text read by OCR in the upload's images and video frames (<see cref="Media.ImageTextReader"/>, before the scorers
/// run); null when OCR is off or nothing was read.
/// </param>
public sealed record UploadContent(
    string Id,
    string ExternalId,
    string? CreatorId,
    string? Caption,
    IReadOnlyList<string> Hashtags,
    string? Transcript,
    IReadOnlyList<string> Comments,
    string? Locale,
    IReadOnlyList<MediaItem> Media,
    string? ImageText = null);

public sealed record MediaItem(int Ordinal, string Kind, string FileName, string ContentType, long SizeBytes, string Sha256);

/// <summary>One calibrated probability for one category (e.g. <c>harm</c> or <c>harm.hate</c>).</summary>
/// <param name="Explanations">Reasons a moderator can read: a matched claim, the window that scored highest.</param>
/// <param name="Shadow">
/// From a model in the registry's <c>shadow</c> state: stored beside the live model's score for comparison, never
/// routed on and never sent as a signal.
/// </param>
/// <param name="Match">
/// Set when the score is a match against known content (a hash bank) rather than a model's estimate: the match's own
/// action decides the routing, not the thresholds, and its signal carries the match's source.
/// </param>
/// <param name="ReviewOnly">
/// From a model that may send an upload to review but not act on it by itself (a shipped model whose errors on this
/// platform nobody has measured; a text head's <c>misinformation</c> score, unless the text repeats a claim of the claim
/// bank), until the policy lists it in <c>ActOnModels</c>.
/// </param>
public sealed record CategoryScore(string Category, double Score, string ModelVersion, IReadOnlyList<string> Explanations, bool Shadow = false,
    MatchVerdict? Match = null, bool ReviewOnly = false);

/// <summary>What a match against known content asks for: the signal source (e.g. <c>hash_match</c>) and action (none … ineligible).</summary>
public sealed record MatchVerdict(string Source, string Action);

/// <summary>
/// A vector a scorer computed for an upload, kept for near-duplicate search: the text as a whole, or one media frame.
/// </summary>
/// <param name="Kind"><c>text</c> or <c>image</c>; vectors are only compared within one kind and model.</param>
/// <param name="Model">The model that produced the vector, e.g. <c>all-MiniLM-L6-v2</c> or <c>resnet18</c>.</param>
/// <param name="MediaOrdinal">For an image: the media item's ordinal in the upload; null for text.</param>
/// <param name="Frame">For a video or animation: the sampled frame's index; null otherwise.</param>
/// <param name="Vector">L2-normalised, so a dot product is the cosine similarity.</param>
public sealed record UploadEmbedding(string Kind, string Model, int? MediaOrdinal, int? Frame, float[] Vector);

/// <param name="Embeddings">Vectors for near-duplicate search, if the scorer computes any; stored beside the scores.</param>
/// <param name="Abstentions">What the scorer declined to score for this upload, and why (no score is given then).</param>
public sealed record UploadScores(string UploadId, IReadOnlyList<CategoryScore> Scores, IReadOnlyList<UploadEmbedding>? Embeddings = null,
    IReadOnlyList<Abstention>? Abstentions = null);

/// <summary>
/// A scorer's statement that it gives an upload no score, and why: there is nothing it can judge (no words), or the
/// content is outside what its models know (a language they were not trained on). A probability made up for such
/// content would be routed and sent to the recommender as if it meant something; an abstention is recorded and shown
/// instead, and the policy may route it (<c>Moderation:Policy:Unscored</c>: <c>language_unsupported</c> goes to
/// review by default).
/// </summary>
/// <param name="Code">What kind (<see cref="AbstentionCodes"/>), a dotted lower-case name like a category.</param>
/// <param name="Reason">What a person reads, e.g. "written in Spanish (es, confidence 0.97); the text models read English".</param>
/// <param name="ModelVersion">What decided it (e.g. the language detector and its mode).</param>
/// <param name="Confidence">How sure the scorer is of <paramref name="Code"/>, 0 to 1.</param>
public sealed record Abstention(string Code, string Reason, string ModelVersion, double Confidence = 1);

public static class AbstentionCodes
{
    /// <summary>No words to judge: empty, or only emoji, links, @handles, numbers or punctuation.</summary>
    public const string NoText = "no_text";

    /// <summary>Written in a language the scorer's models were not trained on.</summary>
    public const string LanguageUnsupported = "language_unsupported";
}
