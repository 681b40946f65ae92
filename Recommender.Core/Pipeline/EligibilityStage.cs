using System.Runtime.CompilerServices;
using Recommender.Core.Catalog;
using Recommender.Core.Ranking;
using Recommender.Core.Users;

namespace Recommender.Core.Pipeline;

/// <summary>Why the eligibility stage removed a candidate (the keys of <see cref="FeedPage.Removed"/>, but for safety).</summary>
internal enum Exclusion
{
    /// <summary>Kept (perhaps with a penalty).</summary>
    None,
    /// <summary>The user already interacted with it.</summary>
    Seen,
    /// <summary>One of the user's keyword filters matches its caption, hashtags or transcript.</summary>
    KeywordFilter,
    /// <summary>The user said "not interested" in it, its creator or one of its hashtags, inside the window.</summary>
    NotInterested,
}

/// <summary>
/// Stage 2, eligibility and controls: what the user's own state removes or penalises. Seen items are removed;
/// keyword filters remove every item the catalog's index matches (cached per user against the catalog and filter
/// versions); "not interested" in an item, a creator or a hashtag removes matching items inside
/// <see cref="RankingOptions.NotInterestedWindow"/>, then penalises them by a share that halves every
/// <see cref="RankingOptions.NotInterestedHalfLife"/> (the strongest of the matching entries counts).
/// </summary>
internal sealed class EligibilityStage(ItemCatalog catalog, RankingOptions options)
{
    /// <summary>The checks for one request of <paramref name="user"/> at <paramref name="now"/>.</summary>
    public UserEligibility For(UserProfile user, DateTimeOffset now)
    {
        // Creators resolved to ordinals once per request (a creator with no item yet resolves once they post).
        Dictionary<int, NotInterestedEntry>? creators = null;
        foreach (var (creatorId, entry) in user.NotInterestedCreatorIds)
            if (catalog.CreatorOrdinal(creatorId) is var c and >= 0) (creators ??= [])[c] = entry;
        return new UserEligibility(user, KeywordBlocked(user), creators, options, now);
    }

    /// <summary>The ordinals the user's keyword filters block, or null when the user has none.</summary>
    internal HashSet<int>? KeywordBlocked(UserProfile user)
    {
        if (user.KeywordFilters.Count == 0) return null;
        if (user.KeywordBlocked is null || user.KeywordBlockedCatalogVersion != catalog.Version || user.KeywordBlockedFilterVersion != user.FilterVersion)
        {
            var blocked = new HashSet<int>();
            foreach (var (_, tokens) in user.KeywordFilters) blocked.UnionWith(catalog.Matching(tokens));
            user.KeywordBlocked = blocked;
            user.KeywordBlockedCatalogVersion = catalog.Version;
            user.KeywordBlockedFilterVersion = user.FilterVersion;
        }
        return user.KeywordBlocked;
    }
}

/// <summary>The eligibility checks of one request, resolved once and applied to every candidate.</summary>
internal sealed class UserEligibility(UserProfile user, HashSet<int>? blocked, Dictionary<int, NotInterestedEntry>? creators, RankingOptions options, DateTimeOffset now)
{
    private readonly bool hasNotInterested = user.NotInterested.Count > 0;

    /// <summary>Whether <paramref name="entry"/> is removed, and otherwise the control penalty on its score (1 when none).</summary>
    public Exclusion Check(ItemEntry entry, out double penalty)
    {
        penalty = 1.0;
        if (IsSeen(entry.Ordinal)) return Exclusion.Seen;
        if (IsFiltered(entry.Ordinal)) return Exclusion.KeywordFilter;
        penalty = Penalty(entry);
        return penalty <= 0 ? Exclusion.NotInterested : Exclusion.None;
    }

    // The ranking loop calls these three in this order (as Check does), so that each stays small enough to inline.

    /// <summary>Whether the user already interacted with the item.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsSeen(int ordinal) => user.Seen.Contains(ordinal);

    /// <summary>Whether a keyword filter matches the item.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsFiltered(int ordinal) => blocked is not null && blocked.Contains(ordinal);

    /// <summary>The "not interested" factor: 1 when nothing matches, 0 or less when removed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Penalty(ItemEntry entry) => hasNotInterested ? NotInterestedPenalty(entry) : 1.0;

    /// <summary>0 inside the window (filtered), then 1 minus a penalty that halves every half-life.</summary>
    public double NotInterestedPenalty(ItemEntry entry)
    {
        var factor = 1.0;
        if (user.NotInterestedItems.Count > 0 && user.NotInterestedItems.TryGetValue(entry.Ordinal, out var e)) factor = Math.Min(factor, Penalty(e));
        if (creators is not null && creators.TryGetValue(entry.Creator, out e)) factor = Math.Min(factor, Penalty(e));
        if (user.NotInterestedHashtags.Count > 0)
            foreach (var tag in entry.Hashtags)
                if (user.NotInterestedHashtags.TryGetValue(tag, out e)) factor = Math.Min(factor, Penalty(e));
        return factor;
    }

    private double Penalty(NotInterestedEntry entry)
    {
        var age = now - entry.At;
        if (age < options.NotInterestedWindow) return 0;
        return 1 - options.NotInterestedPenalty * Math.Pow(0.5, (age - options.NotInterestedWindow) / options.NotInterestedHalfLife);
    }
}
