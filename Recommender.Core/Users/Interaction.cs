namespace Recommender.Core.Users;

/// <summary>What a user did with an item.</summary>
public enum InteractionKind
{
    /// <summary>Liked it.</summary>
    Like,
    /// <summary>Commented on it.</summary>
    Comment,
    /// <summary>Shared it.</summary>
    Share,
    /// <summary>Followed its creator from it.</summary>
    Follow,
    /// <summary>Scrolled past it (without a watch time).</summary>
    Skip,
    /// <summary>Watched it for <see cref="Interaction.WatchTime"/>; completion counts more than a like, a fast skip counts against.</summary>
    Watch,
}

/// <summary>One user event.</summary>
/// <param name="UserId">Who.</param>
/// <param name="ItemId">Which item (must be in the catalog).</param>
/// <param name="Kind">What they did.</param>
/// <param name="At">When (not in the future beyond a small clock skew).</param>
/// <param name="WatchTime">For <see cref="InteractionKind.Watch"/>: how long (not negative).</param>
public sealed record Interaction(string UserId, string ItemId, InteractionKind Kind, DateTimeOffset At, TimeSpan? WatchTime = null);

/// <summary>What "not interested" names.</summary>
public enum NotInterestedKind
{
    /// <summary>One item.</summary>
    Item,
    /// <summary>Everything from a creator.</summary>
    Creator,
    /// <summary>Everything with a hashtag.</summary>
    Hashtag,
}
