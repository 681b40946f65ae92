using Microsoft.Extensions.Time.Testing;
using Recommender.Core;
using Recommender.Core.Catalog;
using Recommender.Core.Ranking;
using Recommender.Core.Safety;
using Recommender.Core.Signals;

namespace Recommender.Tests;

/// <summary>A small catalog in an 8-dimensional space where topic t is axis t, with a clock the test moves.</summary>
internal sealed class TestWorld
{
    public const int Dimensions = 8;
    public static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Clock { get; } = new(Start);
    public ItemCatalog Catalog { get; } = new(Dimensions);
    public SignalStore Store { get; } = new(new SignalStoreOptions { ItemKey = SignalItemKey.ExternalId });
    public ForYouRecommender Ranker { get; }
    private long seq;

    public TestWorld(SafetyPolicy? policy = null, RankingOptions? options = null)
    {
        // The unit tests state their own missing-score rules; by default every item counts as scored clean.
        Ranker = new ForYouRecommender(Catalog, Store, policy ?? new SafetyPolicy { MissingScore = new Dictionary<string, MissingScoreRule>() },
            options, Clock);
        Store.MarkSynced(Start);
    }

    public static float[] Topic(int topic, float noise = 0)
    {
        var v = new float[Dimensions];
        v[topic] = 1;
        if (noise != 0) v[(topic + 1) % Dimensions] = noise;
        return v;
    }

    public CatalogItem Add(string id, int topic, string? creator = null, string? caption = null, string[]? hashtags = null,
        string? transcript = null, TimeSpan? age = null, double popularity = 0, TimeSpan? duration = null)
    {
        var item = new CatalogItem(id, creator ?? "creator-" + id, Topic(topic), Clock.GetUtcNow() - (age ?? TimeSpan.FromHours(1)))
        {
            Caption = caption,
            Hashtags = hashtags ?? [],
            Transcript = transcript,
            Popularity = popularity,
            Duration = duration ?? TimeSpan.FromSeconds(30),
        };
        Ranker.Upsert(item);
        return item;
    }

    /// <summary>Adds n items of a topic, each from its own creator.</summary>
    public void AddMany(string prefix, int topic, int n, double popularity = 0)
    {
        for (var i = 0; i < n; i++) Add($"{prefix}-{i}", topic, popularity: popularity);
    }

    public RiskSignal Signal(string itemId, string category, double score, string action, double multiplier = 1,
        string source = SignalSources.Model, DateTimeOffset? expires = null, long? retracts = null)
    {
        var signal = new RiskSignal(++seq, "upload-" + itemId, itemId, category, score, action, multiplier, source, "m-1", "p-1",
            Clock.GetUtcNow(), expires, retracts);
        Store.Apply(signal);
        return signal;
    }

    /// <summary>Moves the clock; the feed stays current (it was read to its end just now).</summary>
    public void Advance(TimeSpan by)
    {
        Clock.Advance(by);
        Store.MarkSynced(Clock.GetUtcNow());
    }

    public FeedPage Feed(string user, int count = 20) => Ranker.Rank(user, count);

    public static IEnumerable<string> Ids(FeedPage page) => page.Items.Select(i => i.ItemId);
}
