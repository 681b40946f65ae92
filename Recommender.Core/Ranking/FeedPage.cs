namespace Recommender.Core.Ranking;

/// <summary>One recommended item with everything that placed it.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="CreatorId">Its creator.</param>
/// <param name="Position">0-based position on the page.</param>
/// <param name="Score">The final score: engagement × safety multiplier × control penalty × diversity factor.</param>
/// <param name="Engagement">Predicted engagement before the safety layer (0..1).</param>
/// <param name="SafetyMultiplier">The combined demotion (1 when none).</param>
/// <param name="Interstitial">Show behind a warning.</param>
/// <param name="Autoplay">Whether it may autoplay (never behind an interstitial).</param>
/// <param name="Labels">Categories to label it with.</param>
/// <param name="Reasons">Why it is here and why it is treated so, in words.</param>
public sealed record RankedItem(
    string ItemId,
    string CreatorId,
    int Position,
    double Score,
    double Engagement,
    double SafetyMultiplier,
    bool Interstitial,
    bool Autoplay,
    IReadOnlyList<string> Labels,
    IReadOnlyList<string> Reasons);

/// <summary>A ranked page.</summary>
/// <param name="UserId">For whom.</param>
/// <param name="Items">The page, best first.</param>
/// <param name="Candidates">Candidates considered.</param>
/// <param name="Removed">Candidates removed, by reason: <c>seen</c>, <c>keyword_filter</c>, <c>not_interested</c>, <c>ineligible</c>.</param>
/// <param name="FeedStale">The signal feed is not current: unscored items are withheld.</param>
/// <param name="KnownUser">False when the user had no profile (a cold start with default settings).</param>
/// <param name="SignalCursor">The signal store's cursor when the page was ranked: every signal up to it was applied.</param>
public sealed record FeedPage(string UserId, IReadOnlyList<RankedItem> Items, int Candidates, IReadOnlyDictionary<string, int> Removed, bool FeedStale, bool KnownUser,
    long SignalCursor);
