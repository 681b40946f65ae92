namespace Recommender.Core.Ranking;

/// <summary>Retrieval, scoring, personalisation, control and diversity settings of a <see cref="ForYouRecommender"/>.</summary>
public sealed record RankingOptions
{
    /// <summary>Candidates retrieved by similarity to the user's interests.</summary>
    public int SimilarCandidates { get; init; } = 300;
    /// <summary>Candidates retrieved among the newest items.</summary>
    public int FreshCandidates { get; init; } = 100;
    /// <summary>Candidates retrieved among the most engaged-with items.</summary>
    public int PopularCandidates { get; init; } = 100;
    /// <summary>The largest page <see cref="ForYouRecommender.Rank"/> returns.</summary>
    public int MaxPageSize { get; init; } = 100;

    /// <summary>Weight of the cosine similarity between the user's interests and the item (scaled by the interest vector's confidence).</summary>
    public double SimilarityWeight { get; init; } = 4;
    /// <summary>Weight of the user's affinity to the creator.</summary>
    public double CreatorWeight { get; init; } = 0.5;
    /// <summary>Weight of popularity (log engagement, squashed to 0..1).</summary>
    public double PopularityWeight { get; init; } = 0.5;
    /// <summary>Weight of freshness (1 when just posted, halving every <see cref="FreshnessHalfLife"/>).</summary>
    public double FreshnessWeight { get; init; } = 0.5;
    /// <summary>The engagement logit's intercept.</summary>
    public double Bias { get; init; } = -2;
    /// <summary>How fast freshness fades.</summary>
    public TimeSpan FreshnessHalfLife { get; init; } = TimeSpan.FromDays(2);

    /// <summary>How fast interests fade without new interactions.</summary>
    public TimeSpan InterestHalfLife { get; init; } = TimeSpan.FromDays(7);
    /// <summary>Items a user interacted with are not recommended again; this many are remembered.</summary>
    public int SeenCapacity { get; init; } = 5000;
    /// <summary>Weight of a like in the interest vector (a full watch counts <see cref="CompletionWeight"/>, more).</summary>
    public double LikeWeight { get; init; } = 1;
    /// <summary>Weight of a comment.</summary>
    public double CommentWeight { get; init; } = 1.5;
    /// <summary>Weight of a share.</summary>
    public double ShareWeight { get; init; } = 2;
    /// <summary>Weight of a follow (and the creator joins the user's follows).</summary>
    public double FollowWeight { get; init; } = 1.5;
    /// <summary>Weight of a skip without watch time.</summary>
    public double SkipWeight { get; init; } = -0.5;
    /// <summary>Weight of a watch to (nearly) the end: more than a like.</summary>
    public double CompletionWeight { get; init; } = 2;
    /// <summary>Weight of a fast skip: counts against.</summary>
    public double FastSkipWeight { get; init; } = -1;
    /// <summary>A watch shorter than this is a fast skip.</summary>
    public TimeSpan FastSkip { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>The share of the video from which a watch counts as completed.</summary>
    public double CompletionFrom { get; init; } = 0.9;
    /// <summary>Interactions stamped further than this in the future are refused.</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Keyword filter terms per user at most.</summary>
    public int MaxKeywordFilters { get; init; } = 200;
    /// <summary>"Not interested" entries per user at most (the oldest go first).</summary>
    public int MaxNotInterested { get; init; } = 1000;
    /// <summary>After "not interested", matching items are not shown for this long.</summary>
    public TimeSpan NotInterestedWindow { get; init; } = TimeSpan.FromDays(30);
    /// <summary>After the window, matching items are penalised by this share, halving every <see cref="NotInterestedHalfLife"/>.</summary>
    public double NotInterestedPenalty { get; init; } = 0.8;
    /// <summary>How fast the penalty after the window fades.</summary>
    public TimeSpan NotInterestedHalfLife { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Consecutive items from one creator at most.</summary>
    public int MaxCreatorRun { get; init; } = 1;
    /// <summary>Consecutive items of one sensitive topic at most.</summary>
    public int MaxSensitiveTopicRun { get; init; } = 1;
    /// <summary>Score factor per earlier item from the same creator on the page.</summary>
    public double CreatorRepeatDecay { get; init; } = 0.7;
    /// <summary>Score factor per earlier item of the same sensitive topic on the page.</summary>
    public double SensitiveTopicRepeatDecay { get; init; } = 0.6;
    /// <summary>Candidates considered for diversity re-ranking, as a multiple of the page size.</summary>
    public int DiversityPoolFactor { get; init; } = 4;
}
