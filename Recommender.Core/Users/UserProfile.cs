using System.Numerics.Tensors;
using Recommender.Core.Catalog;
using Recommender.Core.Safety;

namespace Recommender.Core.Users;

/// <summary>A user's settings as the recommender holds them.</summary>
/// <param name="Sensitivity">The chosen sensitivity level.</param>
/// <param name="IsMinor">Whether the user is a minor (stricter defaults; cannot choose <see cref="SensitivityLevel.More"/>).</param>
/// <param name="KeywordFilters">The keyword filter terms as entered.</param>
/// <param name="NotInterested">Active "not interested" entries.</param>
public sealed record UserControls(SensitivityLevel Sensitivity, bool IsMinor, IReadOnlyList<string> KeywordFilters, IReadOnlyList<NotInterestedEntry> NotInterested);

/// <summary>A "not interested" entry.</summary>
/// <param name="Kind">Item, creator or hashtag.</param>
/// <param name="Value">The item id, creator id, or the hashtag as entered.</param>
/// <param name="At">When it was said.</param>
public sealed record NotInterestedEntry(NotInterestedKind Kind, string Value, DateTimeOffset At);

/// <summary>
/// One user's state: an interest vector in the item-embedding space that decays with a half-life and moves with
/// every interaction, affinities to creators, what they have already seen, and their controls.
/// </summary>
internal sealed class UserProfile(string id, int dimensions)
{
    public string Id { get; } = id;
    public float[] Interest { get; } = new float[dimensions];
    public DateTimeOffset InterestAt { get; set; }
    public int Interactions { get; set; }
    public Dictionary<int, double> CreatorAffinity { get; } = [];
    public HashSet<int> Follows { get; } = [];
    /// <summary>Items interacted with, in order, bounded; they are not recommended again.</summary>
    public HashSet<int> Seen { get; } = [];
    public Queue<int> SeenOrder { get; } = new();

    public SensitivityLevel Sensitivity { get; set; } = SensitivityLevel.Standard;
    public bool IsMinor { get; set; }

    /// <summary>Filter terms as entered, and each as its stemmed tokens.</summary>
    public List<(string Term, string[] Tokens)> KeywordFilters { get; } = [];
    public List<NotInterestedEntry> NotInterested { get; } = [];
    public Dictionary<string, NotInterestedEntry> NotInterestedHashtags { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, NotInterestedEntry> NotInterestedCreatorIds { get; } = new(StringComparer.Ordinal);
    public Dictionary<int, NotInterestedEntry> NotInterestedItems { get; } = [];

    /// <summary>Items blocked by the keyword filters, cached against the catalog and filter versions.</summary>
    public HashSet<int>? KeywordBlocked { get; set; }
    public long KeywordBlockedCatalogVersion { get; set; } = -1;
    public int FilterVersion { get; set; }
    public int KeywordBlockedFilterVersion { get; set; } = -1;

    public void Decay(DateTimeOffset now, TimeSpan halfLife)
    {
        if (Interactions == 0 || now <= InterestAt) { if (Interactions == 0) InterestAt = now; return; }
        var factor = (float)Math.Pow(0.5, (now - InterestAt) / halfLife);
        TensorPrimitives.Multiply(Interest, factor, Interest);
        foreach (var key in CreatorAffinity.Keys.ToList()) CreatorAffinity[key] *= factor;
        InterestAt = now;
    }

    public void MarkSeen(int ordinal, int capacity)
    {
        if (!Seen.Add(ordinal)) return;
        SeenOrder.Enqueue(ordinal);
        while (SeenOrder.Count > capacity) Seen.Remove(SeenOrder.Dequeue());
    }

    /// <summary>Drops an entry pushed out by the per-user limit (unless a later entry replaced it).</summary>
    public void Forget(NotInterestedEntry entry, ItemCatalog catalog)
    {
        switch (entry.Kind)
        {
            case NotInterestedKind.Item when catalog.TryGetOrdinal(entry.Value, out var o) && NotInterestedItems.GetValueOrDefault(o) == entry:
                NotInterestedItems.Remove(o);
                break;
            case NotInterestedKind.Creator when NotInterestedCreatorIds.GetValueOrDefault(entry.Value) == entry:
                NotInterestedCreatorIds.Remove(entry.Value);
                break;
            case NotInterestedKind.Hashtag when KeywordText.Hashtag(entry.Value) is { } tag && NotInterestedHashtags.GetValueOrDefault(tag) == entry:
                NotInterestedHashtags.Remove(tag);
                break;
        }
    }

    public UserControls Controls() => new(Sensitivity, IsMinor, KeywordFilters.Select(f => f.Term).ToList(), NotInterested.ToList());
}
