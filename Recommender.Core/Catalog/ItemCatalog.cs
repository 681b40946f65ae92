using System.Numerics.Tensors;

namespace Recommender.Core.Catalog;

/// <summary>
/// The items a recommender can show, held in memory with dense ordinals so that ranking touches arrays, not
/// dictionaries. Keyword filters resolve through an inverted index of normalised tokens, so a user's 200 terms
/// cost 200 lookups per request rather than a scan of every candidate's text. Not thread-safe on its own:
/// <see cref="ForYouRecommender"/> serialises access.
/// </summary>
public sealed class ItemCatalog
{
    /// <summary>The most items a catalog holds; an in-memory candidate pool, not a content store.</summary>
    public const int MaxItems = 5_000_000;

    internal readonly List<ItemEntry> Entries = [];
    private readonly Dictionary<string, int> byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> creators = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> postings = new(StringComparer.Ordinal);

    /// <summary>Creates a catalog for embeddings of <paramref name="dimensions"/> floats.</summary>
    public ItemCatalog(int dimensions)
    {
        if (dimensions is < 1 or > 8192) throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "must be from 1 to 8192");
        Dimensions = dimensions;
    }

    /// <summary>The embedding length every item must have.</summary>
    public int Dimensions { get; }

    /// <summary>How many items the catalog holds.</summary>
    public int Count => Entries.Count;

    /// <summary>Changes whenever an item is added or replaced (caches of ordering key on it).</summary>
    public long Version { get; private set; }

    /// <summary>Whether the catalog holds <paramref name="itemId"/>.</summary>
    public bool Contains(string itemId) => byId.ContainsKey(itemId);

    /// <summary>The item as added, or null when unknown.</summary>
    public CatalogItem? Find(string itemId) => byId.TryGetValue(itemId, out var o) ? Entries[o].Item : null;

    /// <summary>Adds an item or replaces the one with the same id (its popularity is kept if higher).</summary>
    /// <exception cref="ArgumentException">The id or creator is empty, or the embedding has the wrong length or is not finite.</exception>
    public void Upsert(CatalogItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (string.IsNullOrWhiteSpace(item.Id)) throw new ArgumentException("An item needs an id.", nameof(item));
        if (string.IsNullOrWhiteSpace(item.CreatorId)) throw new ArgumentException($"Item '{item.Id}' needs a creator id.", nameof(item));
        if (item.Embedding is null || item.Embedding.Length != Dimensions)
            throw new ArgumentException($"Item '{item.Id}' has an embedding of {item.Embedding?.Length ?? 0} floats; this catalog holds {Dimensions}.", nameof(item));
        if (!TensorPrimitives.IsFiniteAll<float>(item.Embedding))
            throw new ArgumentException($"Item '{item.Id}' has a non-finite embedding value.", nameof(item));
        if (!double.IsFinite(item.Popularity) || item.Popularity < 0)
            throw new ArgumentException($"Item '{item.Id}' has popularity {item.Popularity}; it must be a finite non-negative number.", nameof(item));

        var embedding = item.Embedding.ToArray();
        var norm = TensorPrimitives.Norm<float>(embedding);
        if (norm > 0) TensorPrimitives.Divide(embedding, norm, embedding);

        if (!creators.TryGetValue(item.CreatorId, out var creator)) creators[item.CreatorId] = creator = creators.Count;
        var hashtags = item.Hashtags.Select(KeywordText.Hashtag).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        var tokens = KeywordText.Tokens(item.Caption).Concat(KeywordText.Tokens(item.Transcript))
            .Concat(item.Hashtags.SelectMany(h => KeywordText.Tokens(h))).Concat(hashtags)
            .ToHashSet(StringComparer.Ordinal);

        if (byId.TryGetValue(item.Id, out var ordinal))
        {
            var old = Entries[ordinal];
            foreach (var token in old.Tokens) postings[token].Remove(ordinal);
            Entries[ordinal] = new ItemEntry(ordinal, item, embedding, creator, hashtags, tokens) { Popularity = Math.Max(old.Popularity, item.Popularity) };
        }
        else
        {
            if (Entries.Count >= MaxItems) throw new InvalidOperationException($"The catalog is full ({MaxItems} items).");
            ordinal = Entries.Count;
            byId[item.Id] = ordinal;
            Entries.Add(new ItemEntry(ordinal, item, embedding, creator, hashtags, tokens) { Popularity = item.Popularity });
        }
        foreach (var token in tokens)
        {
            if (!postings.TryGetValue(token, out var list)) postings[token] = list = [];
            list.Add(ordinal);
        }
        Version++;
    }

    /// <summary>Resolves ids to a candidate set for <see cref="ForYouRecommender.RankCandidates"/>; unknown ids are dropped and counted.</summary>
    public CandidateSet Resolve(IEnumerable<string> itemIds)
    {
        var ordinals = new List<int>();
        var unknown = 0;
        var seen = new HashSet<int>();
        foreach (var id in itemIds)
        {
            if (id is not null && byId.TryGetValue(id, out var o)) { if (seen.Add(o)) ordinals.Add(o); }
            else unknown++;
        }
        return new CandidateSet(this, ordinals.ToArray(), unknown);
    }

    internal bool TryGetOrdinal(string itemId, out int ordinal) => byId.TryGetValue(itemId, out ordinal);

    internal int CreatorOrdinal(string creatorId) => creators.TryGetValue(creatorId, out var c) ? c : -1;

    /// <summary>Ordinals of items that contain every token of the term (a phrase is matched as all its words, or as one joined word such as a hashtag).</summary>
    internal IEnumerable<int> Matching(string[] termTokens)
    {
        if (termTokens.Length == 0) return [];
        var joined = termTokens.Length > 1 && postings.TryGetValue(KeywordText.Stem(string.Concat(termTokens)), out var j) ? j : null;
        IEnumerable<int>? all = null;
        foreach (var token in termTokens)
        {
            if (!postings.TryGetValue(token, out var list)) { all = []; break; }
            all = all is null ? list : all.Intersect(list);
        }
        return joined is null ? all ?? [] : (all ?? []).Union(joined);
    }

    internal void AddEngagement(int ordinal, double amount) => Entries[ordinal].Popularity += amount;
}

/// <summary>Candidates resolved against a catalog, ready to rank.</summary>
public sealed class CandidateSet
{
    internal CandidateSet(ItemCatalog catalog, int[] ordinals, int unknown)
    {
        Catalog = catalog;
        Ordinals = ordinals;
        Unknown = unknown;
    }

    internal ItemCatalog Catalog { get; }
    internal int[] Ordinals { get; }

    /// <summary>How many candidates were resolved.</summary>
    public int Count => Ordinals.Length;

    /// <summary>How many ids were not in the catalog (dropped).</summary>
    public int Unknown { get; }
}

internal sealed class ItemEntry(int ordinal, CatalogItem item, float[] embedding, int creator, string[] hashtags, HashSet<string> tokens)
{
    public int Ordinal { get; } = ordinal;
    public CatalogItem Item { get; } = item;
    public float[] Embedding { get; } = embedding;
    public int Creator { get; } = creator;
    public string[] Hashtags { get; } = hashtags;
    public HashSet<string> Tokens { get; } = tokens;
    /// <summary>Publish time in days since the Unix epoch, so ranking does no date arithmetic.</summary>
    public double PublishedDays { get; } = item.PublishedAt.ToUnixTimeMilliseconds() / 86_400_000.0;
    public double Popularity
    {
        get;
        set
        {
            field = value;
            var log = Math.Log(1 + value);
            PopularityTerm = log / (log + 3);
        }
    }

    /// <summary>Log engagement squashed to 0..1, kept with the count so ranking does no logarithms.</summary>
    public double PopularityTerm { get; private set; }
}
