using System.Runtime.CompilerServices;
using Recommender.Core.Catalog;
using Recommender.Core.Safety;
using Recommender.Core.Signals;
using Recommender.Core.Users;

namespace Recommender.Core.Pipeline;

/// <summary>
/// Stage 3, safety: each candidate's <see cref="SafetyVerdict"/> from its risk signals under the
/// <see cref="SafetyPolicy"/> for the viewer's class (sensitivity level × minor): ineligible (removed),
/// interstitial, demotion multiplier, labels, sensitive topic. The rules themselves are
/// <see cref="SafetyEvaluator"/>'s; this stage decides when a verdict must be evaluated again. Verdicts are cached
/// per item and viewer class while the signal store's version and the feed's staleness are unchanged and none of the
/// item's signals has expired; a new signal forgets only the verdicts of the items it changed.
/// </summary>
internal sealed class SafetyStage
{
    private const int ViewerClasses = 6; // 3 sensitivity levels × minor or not

    private readonly ItemCatalog catalog;
    private readonly SignalStore signals;
    private readonly SafetyPolicy policy;
    private readonly SafetyVerdict?[][] verdicts = new SafetyVerdict?[ViewerClasses][];
    private long storeVersion = -1;

    public SafetyStage(ItemCatalog catalog, SignalStore signals, SafetyPolicy policy)
    {
        this.catalog = catalog;
        this.signals = signals;
        this.policy = policy;
        for (var i = 0; i < verdicts.Length; i++) verdicts[i] = [];
    }

    /// <summary>Whether the feed was stale at the last <see cref="Refresh"/>: items with no signal at all are withheld.</summary>
    public bool FeedStale { get; private set; }

    /// <summary>
    /// Brings the cache up to the signal store and the feed's staleness at <paramref name="now"/>, before a request's
    /// verdicts. The caller holds the store's <see cref="SignalStore.Gate"/> from here until its last verdict.
    /// </summary>
    public void Refresh(DateTimeOffset now)
    {
        var stale = policy.WithholdUnscoredWhenFeedStaleFor is { } limit && (signals.LastSyncedAt is not { } synced || now - synced > limit);
        if (signals.Version == storeVersion && stale == FeedStale) return;
        // Forget the verdicts of the items whose signals changed; all of them only when that is not known.
        var changed = stale == FeedStale ? signals.ChangedSince(storeVersion) : null;
        if (changed is null)
            foreach (var cache in verdicts) Array.Clear(cache);
        else
            foreach (var itemId in changed)
                if (catalog.TryGetOrdinal(itemId, out var changedOrdinal))
                    foreach (var cache in verdicts)
                        if (changedOrdinal < cache.Length) cache[changedOrdinal] = null;
        storeVersion = signals.Version;
        FeedStale = stale;
    }

    /// <summary>The verdict on <paramref name="entry"/> for <paramref name="user"/>'s viewer class; the caller holds the store's gate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // called per candidate in the ranking loop
    public SafetyVerdict Verdict(ItemEntry entry, UserProfile user, DateTimeOffset now)
    {
        var cls = (int)user.Sensitivity * 2 + (user.IsMinor ? 1 : 0);
        var cache = verdicts[cls];
        if (cache.Length < catalog.Count) verdicts[cls] = cache = new SafetyVerdict?[Math.Max(catalog.Count, cache.Length * 2)];
        var verdict = cache[entry.Ordinal];
        if (verdict is null || verdict.ValidUntil <= now)
        {
            verdict = SafetyEvaluator.Evaluate(policy, signals.RawSignals(entry.Item.Id), now, user.Sensitivity, user.IsMinor, FeedStale);
            cache[entry.Ordinal] = verdict;
        }
        return verdict;
    }
}
