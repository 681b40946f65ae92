using System.Runtime.InteropServices;
using Recommender.Core.Catalog;
using Recommender.Core.Ranking;
using Recommender.Core.Safety;
using Recommender.Core.Signals;
using Recommender.Core.Users;

namespace Recommender.Core.Pipeline;

/// <summary>
/// The For You ranking as a pipeline of named stages: <see cref="CandidateStage"/> (what is considered, when the
/// ranker retrieves), <see cref="EligibilityStage"/> (seen items and the user's controls), <see cref="SafetyStage"/>
/// (the risk signals' verdict), <see cref="ScoringStage"/> (predicted engagement), then the best
/// <see cref="RankingOptions.DiversityPoolFactor"/> × page size by engagement × safety multiplier × control penalty
/// go to <see cref="DiversityStage"/> (the page's order). Safety runs before scoring only so that no engagement is
/// computed for a removed item; the order does not change a result. Not thread-safe: <see cref="ForYouRecommender"/>
/// serialises calls.
/// </summary>
internal sealed class RankingPipeline
{
    private readonly ItemCatalog catalog;
    private readonly SignalStore signals;
    private readonly RankingOptions options;

    public RankingPipeline(ItemCatalog catalog, SignalStore signals, SafetyPolicy policy, RankingOptions options)
    {
        this.catalog = catalog;
        this.signals = signals;
        this.options = options;
        Candidates = new CandidateStage(catalog, options);
        Eligibility = new EligibilityStage(catalog, options);
        Safety = new SafetyStage(catalog, signals, policy);
        Scoring = new ScoringStage(options);
        Diversity = new DiversityStage(options);
    }

    public CandidateStage Candidates { get; }
    public EligibilityStage Eligibility { get; }
    public SafetyStage Safety { get; }
    public ScoringStage Scoring { get; }
    public DiversityStage Diversity { get; }

    /// <summary>A page of up to <paramref name="count"/> items for <paramref name="user"/> from <paramref name="candidates"/> (catalog ordinals).</summary>
    public FeedPage Rank(UserProfile user, bool known, int[] candidates, int count, DateTimeOffset now)
    {
        var entries = catalog.Entries;
        int seen = 0, keyword = 0, notInterested = 0, ineligible = 0;
        var eligibility = Eligibility.For(user, now);
        var engagementModel = Scoring.For(user, now);
        var poolSize = Math.Min(candidates.Length, count * options.DiversityPoolFactor);
        var pool = new PriorityQueue<Scored, double>(poolSize + 1);
        long cursor;
        lock (signals.Gate)
        {
            cursor = signals.Cursor;
            Safety.Refresh(now);
            foreach (var ordinal in candidates)
            {
                var entry = entries[ordinal];
                // Eligibility and controls (the order of UserEligibility.Check, inlined).
                if (eligibility.IsSeen(ordinal)) { seen++; continue; }
                if (eligibility.IsFiltered(ordinal)) { keyword++; continue; }
                var penalty = eligibility.Penalty(entry);
                if (penalty <= 0) { notInterested++; continue; }
                var verdict = Safety.Verdict(entry, user, now);
                if (verdict.Ineligible) { ineligible++; continue; }
                var engagement = engagementModel.Engagement(entry);
                var score = engagement * verdict.Multiplier * penalty;

                if (pool.Count < poolSize) pool.Enqueue(new Scored(ordinal, engagement, penalty, verdict), score);
                else if (pool.TryPeek(out _, out var min) && score > min) pool.DequeueEnqueue(new Scored(ordinal, engagement, penalty, verdict), score);
            }
        }

        var ranked = new List<Scored>(pool.Count);
        var scores = new List<DiversityCandidate>(pool.Count);
        while (pool.TryDequeue(out var c, out var score))
        {
            ranked.Add(c);
            scores.Add(new DiversityCandidate(entries[c.Ordinal].Creator, c.Verdict.SensitiveTopic, score));
        }
        ranked.Reverse();
        scores.Reverse();

        var picks = Diversity.Arrange(CollectionsMarshal.AsSpan(scores), count);
        var items = new List<RankedItem>(picks.Count);
        foreach (var pick in picks)
        {
            var chosen = ranked[pick.Index];
            var entry = entries[chosen.Ordinal];
            var verdict = chosen.Verdict;
            items.Add(new RankedItem(entry.Item.Id, entry.Item.CreatorId, items.Count, pick.Score, chosen.Engagement,
                verdict.Multiplier, verdict.Interstitial, !verdict.Interstitial, verdict.Labels,
                Reasons(engagementModel, entry, chosen.Penalty, verdict, pick.Factor)));
        }
        var removed = new Dictionary<string, int>
        {
            ["seen"] = seen,
            ["keyword_filter"] = keyword,
            ["not_interested"] = notInterested,
            ["ineligible"] = ineligible,
        };
        return new FeedPage(user.Id, items, candidates.Length, removed, Safety.FeedStale, known, cursor);
    }

    /// <summary>Why an item is on the page and why it is treated so: the engagement model's reasons, then each stage's.</summary>
    private static List<string> Reasons(EngagementModel model, ItemEntry entry, double penalty, SafetyVerdict verdict, double diversityFactor)
    {
        var reasons = model.Explain(entry);
        if (penalty < 1) reasons.Add($"penalised x{EngagementModel.F(penalty)}: you said not interested earlier");
        reasons.AddRange(verdict.Reasons);
        if (diversityFactor < 1) reasons.Add($"diversity: x{EngagementModel.F(diversityFactor)} for repeating a creator or topic on this page");
        return reasons;
    }

    private readonly record struct Scored(int Ordinal, double Engagement, double Penalty, SafetyVerdict Verdict);
}
