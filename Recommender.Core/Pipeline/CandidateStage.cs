using System.Numerics.Tensors;
using Recommender.Core.Catalog;
using Recommender.Core.Ranking;
using Recommender.Core.Users;

namespace Recommender.Core.Pipeline;

/// <summary>
/// Stage 1, candidates: which items are considered at all when the ranker retrieves from its own catalog. The
/// <see cref="RankingOptions.SimilarCandidates"/> items most similar to the user's interest vector (none for a user
/// with no interests yet), then the <see cref="RankingOptions.FreshCandidates"/> newest and the
/// <see cref="RankingOptions.PopularCandidates"/> most engaged-with, each list skipping what the user has seen and
/// what an earlier list took. The freshness and popularity orders are cached until the catalog or an engagement
/// changes.
/// </summary>
internal sealed class CandidateStage(ItemCatalog catalog, RankingOptions options)
{
    private int[] byFreshness = [];
    private long freshnessVersion = -1;
    private int[] byPopularity = [];
    private long popularityCatalogVersion = -1;
    private long popularityEngagementVersion = -1;
    private long engagementVersion;

    /// <summary>Says that an item's engagement (popularity) changed, so the popularity order is built again.</summary>
    public void EngagementChanged() => engagementVersion++;

    /// <summary>Similar, fresh and popular candidates, unseen, without duplicates, in that order.</summary>
    public int[] Retrieve(UserProfile user)
    {
        var entries = catalog.Entries;
        var picked = new HashSet<int>();
        var result = new List<int>();
        var norm = TensorPrimitives.Norm<float>(user.Interest);
        if (norm > 0 && options.SimilarCandidates > 0)
        {
            var top = new PriorityQueue<int, float>(options.SimilarCandidates + 1);
            foreach (var e in entries)
            {
                if (user.Seen.Contains(e.Ordinal)) continue;
                var s = TensorPrimitives.Dot<float>(user.Interest, e.Embedding);
                if (top.Count < options.SimilarCandidates) top.Enqueue(e.Ordinal, s);
                else if (top.TryPeek(out _, out var min) && s > min) top.DequeueEnqueue(e.Ordinal, s);
            }
            while (top.TryDequeue(out var o, out _)) if (picked.Add(o)) result.Add(o);
        }
        if (freshnessVersion != catalog.Version)
        {
            byFreshness = Enumerable.Range(0, entries.Count).OrderByDescending(o => entries[o].Item.PublishedAt).ToArray();
            freshnessVersion = catalog.Version;
        }
        if (popularityCatalogVersion != catalog.Version || popularityEngagementVersion != engagementVersion)
        {
            byPopularity = Enumerable.Range(0, entries.Count).OrderByDescending(o => entries[o].Popularity).ToArray();
            popularityCatalogVersion = catalog.Version;
            popularityEngagementVersion = engagementVersion;
        }
        Take(byFreshness, options.FreshCandidates);
        Take(byPopularity, options.PopularCandidates);
        return result.ToArray();

        void Take(int[] ordered, int n)
        {
            var taken = 0;
            foreach (var o in ordered)
            {
                if (taken >= n) break;
                if (user.Seen.Contains(o) || !picked.Add(o)) continue;
                result.Add(o);
                taken++;
            }
        }
    }
}
