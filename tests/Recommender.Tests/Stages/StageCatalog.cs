using Recommender.Core.Catalog;
using Recommender.Core.Users;

namespace Recommender.Tests.Stages;

/// <summary>A few items in a 4-dimensional space (topic t is axis t) for testing one stage at a time.</summary>
internal sealed class StageCatalog
{
    public const int Dimensions = 4;
    public static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public ItemCatalog Catalog { get; } = new(Dimensions);

    public ItemEntry Add(string id, int topic = 0, string? creator = null, TimeSpan? age = null, double popularity = 0, string? caption = null, string[]? hashtags = null)
    {
        var v = new float[Dimensions];
        v[topic] = 1;
        Catalog.Upsert(new CatalogItem(id, creator ?? "creator-" + id, v, Now - (age ?? TimeSpan.FromDays(100)))
        {
            Popularity = popularity,
            Caption = caption,
            Hashtags = hashtags ?? [],
        });
        return Entry(id);
    }

    public ItemEntry Entry(string id) => Catalog.TryGetOrdinal(id, out var o) ? Catalog.Entries[o] : throw new KeyNotFoundException(id);

    public string Id(int ordinal) => Catalog.Entries[ordinal].Item.Id;

    public static UserProfile User(string id = "u") => new(id, Dimensions) { InterestAt = Now };

    /// <summary>A user whose interest vector is <paramref name="mass"/> along <paramref name="topic"/>.</summary>
    public static UserProfile InterestedIn(int topic, float mass = 3)
    {
        var user = User();
        user.Interest[topic] = mass;
        user.Interactions = 1;
        return user;
    }
}
