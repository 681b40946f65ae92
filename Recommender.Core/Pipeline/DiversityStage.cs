using Recommender.Core.Ranking;

namespace Recommender.Core.Pipeline;

/// <summary>A scored candidate as diversity sees it: its creator (ordinal), its sensitive topic (or null) and its score.</summary>
internal readonly record struct DiversityCandidate(int Creator, string? Topic, double Score);

/// <summary>A pick: the index of the candidate in the list given, its score on the page and the diversity factor in it.</summary>
internal readonly record struct DiversityPick(int Index, double Score, double Factor);

/// <summary>
/// Stage 5, diversity: the page's order. Greedily takes the best candidate after a decay per earlier item of the
/// same creator (<see cref="RankingOptions.CreatorRepeatDecay"/>) and of the same sensitive topic
/// (<see cref="RankingOptions.SensitiveTopicRepeatDecay"/>) on the page, skipping a candidate that would make a
/// creator run longer than <see cref="RankingOptions.MaxCreatorRun"/> or a sensitive-topic run longer than
/// <see cref="RankingOptions.MaxSensitiveTopicRun"/>. When only run-breaking candidates are left the page ends
/// short rather than repeating.
/// </summary>
internal sealed class DiversityStage(RankingOptions options)
{
    /// <summary>Up to <paramref name="count"/> picks from <paramref name="ranked"/>, which is ordered by score, best first.</summary>
    public List<DiversityPick> Arrange(ReadOnlySpan<DiversityCandidate> ranked, int count)
    {
        var o = options;
        var taken = new bool[ranked.Length];
        var creatorCount = new Dictionary<int, int>();
        var topicCount = new Dictionary<string, int>(StringComparer.Ordinal);
        int lastCreator = -1, creatorRun = 0, topicRun = 0;
        string? lastTopic = null;
        var picks = new List<DiversityPick>(count);
        while (picks.Count < count)
        {
            int best = -1;
            double bestScore = double.NegativeInfinity, bestFactor = 1;
            for (var i = 0; i < ranked.Length; i++)
            {
                if (taken[i]) continue;
                var c = ranked[i];
                if (c.Score <= bestScore) break; // factors are at most 1: nothing further down can win
                var creator = c.Creator;
                var topic = c.Topic;
                if (creator == lastCreator && creatorRun >= o.MaxCreatorRun) continue;
                if (topic is not null && topic == lastTopic && topicRun >= o.MaxSensitiveTopicRun) continue;
                var factor = Math.Pow(o.CreatorRepeatDecay, creatorCount.GetValueOrDefault(creator))
                    * (topic is null ? 1 : Math.Pow(o.SensitiveTopicRepeatDecay, topicCount.GetValueOrDefault(topic)));
                if (c.Score * factor > bestScore)
                {
                    best = i;
                    bestScore = c.Score * factor;
                    bestFactor = factor;
                }
            }
            if (best < 0) break; // only run-breaking candidates left: a shorter page rather than a long run
            taken[best] = true;
            var chosen = ranked[best];
            var t = chosen.Topic;
            creatorRun = chosen.Creator == lastCreator ? creatorRun + 1 : 1;
            lastCreator = chosen.Creator;
            topicRun = t is not null && t == lastTopic ? topicRun + 1 : 1;
            lastTopic = t;
            creatorCount[chosen.Creator] = creatorCount.GetValueOrDefault(chosen.Creator) + 1;
            if (t is not null) topicCount[t] = topicCount.GetValueOrDefault(t) + 1;
            picks.Add(new DiversityPick(best, bestScore, bestFactor));
        }
        return picks;
    }
}
