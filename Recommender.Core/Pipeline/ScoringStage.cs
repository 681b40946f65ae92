using System.Runtime.CompilerServices;
using System.Globalization;
using System.Numerics.Tensors;
using Recommender.Core.Catalog;
using Recommender.Core.Ranking;
using Recommender.Core.Users;

namespace Recommender.Core.Pipeline;

/// <summary>
/// Stage 4, scoring: predicted engagement, a logistic function of the similarity to the user's interests
/// (weighted by how much the profile knows: one like is a hint, fifty are a taste), the user's affinity to the
/// creator and whether they follow them, the item's popularity and its freshness. It also says, in words, which of
/// these placed an item on the page.
/// </summary>
internal sealed class ScoringStage(RankingOptions options)
{
    /// <summary>The engagement model of one request of <paramref name="user"/> at <paramref name="now"/>.</summary>
    public EngagementModel For(UserProfile user, DateTimeOffset now) => new(options, user, now);
}

/// <summary>Predicted engagement for one user at one time, with the per-request terms computed once.</summary>
internal sealed class EngagementModel
{
    private readonly RankingOptions o;
    private readonly UserProfile user;
    private readonly DateTimeOffset now;
    private readonly double nowDays;
    private readonly double freshnessRate;

    public EngagementModel(RankingOptions options, UserProfile user, DateTimeOffset now)
    {
        o = options;
        this.user = user;
        this.now = now;
        var norm = TensorPrimitives.Norm<float>(user.Interest);
        // Confidence grows with the interest vector's mass: one like is a hint, fifty are a taste.
        SimilarityWeight = norm > 0 ? o.SimilarityWeight * (norm / (norm + 1)) / norm : 0;
        // Freshness halves every half-life: exp(-age * ln 2 / half-life), with ages in days since the epoch.
        nowDays = now.ToUnixTimeMilliseconds() / 86_400_000.0;
        freshnessRate = Math.Log(2) / o.FreshnessHalfLife.TotalDays;
    }

    /// <summary>The weight of the raw dot product with the interest vector (0 for a user with no interests).</summary>
    public double SimilarityWeight { get; }

    /// <summary>Predicted engagement with <paramref name="entry"/>, 0 to 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // called per candidate in the ranking loop
    public double Engagement(ItemEntry entry)
    {
        var z = o.Bias + SimilarityWeight * TensorPrimitives.Dot<float>(user.Interest, entry.Embedding);
        if (user.CreatorAffinity.Count > 0 && user.CreatorAffinity.TryGetValue(entry.Creator, out var affinity)) z += o.CreatorWeight * affinity;
        if (user.Follows.Count > 0 && user.Follows.Contains(entry.Creator)) z += o.CreatorWeight;
        z += o.PopularityWeight * entry.PopularityTerm;
        z += o.FreshnessWeight * Math.Exp(Math.Min(0, entry.PublishedDays - nowDays) * freshnessRate);
        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>Why the model likes <paramref name="entry"/> for this user, in words (at least one reason).</summary>
    public List<string> Explain(ItemEntry entry)
    {
        var reasons = new List<string>();
        var similarity = SimilarityWeight > 0 ? TensorPrimitives.Dot<float>(user.Interest, entry.Embedding) * SimilarityWeight / o.SimilarityWeight : 0;
        if (similarity > 0.2) reasons.Add($"matches your interests (similarity {F(similarity)})");
        if (user.Follows.Contains(entry.Creator)) reasons.Add("from a creator you follow");
        else if (user.CreatorAffinity.GetValueOrDefault(entry.Creator) > 0.5) reasons.Add("from a creator you engage with");
        var age = now - entry.Item.PublishedAt;
        if (age < o.FreshnessHalfLife) reasons.Add($"fresh (posted {F(Math.Max(0, age.TotalHours))} h ago)");
        if (entry.Popularity >= 10) reasons.Add($"popular ({F(entry.Popularity)} engagement)");
        if (reasons.Count == 0) reasons.Add("exploring beyond your interests");
        return reasons;
    }

    internal static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
