namespace Recommender.Core.Signals;

/// <summary>
/// One entry of the moderation service's risk-signal feed, as <c>GET /v1/signals</c> serves it (camelCase JSON;
/// see the service's docs/policies.md). This library depends on that HTTP contract only.
/// </summary>
/// <param name="Seq">Orders the feed; strictly increasing.</param>
/// <param name="UploadId">The service's id for the item.</param>
/// <param name="ExternalId">The platform's own id for the item (the one it uploaded with).</param>
/// <param name="Category">e.g. <c>harm</c>, <c>harm.hate</c>, <c>misinformation</c>.</param>
/// <param name="Score">Calibrated probability, 0 to 1.</param>
/// <param name="Action">One of <see cref="SignalActions"/>.</param>
/// <param name="DemotionMultiplier">The service policy's multiplier for <c>demote</c> and <c>label</c> (1 none, 0 removal); other actions' is not applied.</param>
/// <param name="Source">One of <see cref="SignalSources"/>; human overrides hash match overrides model.</param>
/// <param name="ModelVersion">The model version that scored, if any.</param>
/// <param name="PolicyVersion">The policy version that routed, if any.</param>
/// <param name="CreatedAt">When the decision was made.</param>
/// <param name="ExpiresAt">When a provisional signal stops applying.</param>
/// <param name="Retracts">The sequence number of an earlier signal this one withdraws.</param>
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

/// <summary>A page of the feed.</summary>
/// <param name="Signals">Signals after the requested cursor, in sequence order.</param>
/// <param name="NextCursor">Where to resume (the last sequence number; unchanged on an empty page).</param>
public sealed record SignalPage(IReadOnlyList<RiskSignal> Signals, string NextCursor);

/// <summary>The actions a signal can ask for, from least to most severe.</summary>
public static class SignalActions
{
    /// <summary>Nothing to do.</summary>
    public const string None = "none";
    /// <summary>Show with a label.</summary>
    public const string Label = "label";
    /// <summary>Rank lower by the signal's multiplier.</summary>
    public const string Demote = "demote";
    /// <summary>Show behind a warning, autoplay off.</summary>
    public const string Interstitial = "interstitial";
    /// <summary>Never recommend.</summary>
    public const string Ineligible = "ineligible";

    /// <summary>0 (none) to 4 (ineligible); an action this library does not know ranks as ineligible, the safe reading.</summary>
    public static int Severity(string? action) => action switch
    {
        None => 0,
        Label => 1,
        Demote => 2,
        Interstitial => 3,
        _ => 4,
    };

    /// <summary>Whether the library knows <paramref name="action"/>.</summary>
    public static bool IsKnown(string? action) => action is None or Label or Demote or Interstitial or Ineligible;
}

/// <summary>Who produced a signal.</summary>
public static class SignalSources
{
    /// <summary>A classifier.</summary>
    public const string Model = "model";
    /// <summary>A match against a bank of known media.</summary>
    public const string HashMatch = "hash_match";
    /// <summary>A moderator's decision; overrides the others for the same item and category.</summary>
    public const string Human = "human";

    internal static int Precedence(string? source) => source switch
    {
        Human => 3,
        HashMatch => 2,
        _ => 1,
    };
}
