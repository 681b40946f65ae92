using System.Numerics.Tensors;
using Recommender.Core.Catalog;
using Recommender.Core.Pipeline;
using Recommender.Core.Ranking;
using Recommender.Core.Safety;
using Recommender.Core.Signals;
using Recommender.Core.Users;

namespace Recommender.Core;

/// <summary>
/// The For You ranker: retrieves candidates (similar to the user's interests, fresh, popular), scores predicted
/// engagement, removes what the user's controls exclude, applies the safety layer from the risk signals
/// (ineligible, interstitial, demotion, labels), and re-ranks for diversity. Every ranked item carries its reasons.
/// Interactions update the user's interests online. Thread-safe: calls are serialised.
/// </summary>
/// <remarks>
/// This class holds the users and checks every call; a page is ranked by the internal <c>RankingPipeline</c>, whose
/// named stages (candidates, eligibility and controls, safety, scoring, diversity) live in <c>Pipeline/</c>.
/// Bad input never crashes the ranker or lets an item through: unknown users get a cold-start feed with default
/// settings; unknown items, future or negative watch times and too many filters are refused with an
/// <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> names the field, and nothing is
/// applied.
/// </remarks>
public sealed class ForYouRecommender
{
    /// <summary>The longest user id accepted.</summary>
    public const int MaxUserIdLength = 200;

    private readonly object gate = new();
    private readonly Dictionary<string, UserProfile> users = new(StringComparer.Ordinal);
    private readonly TimeProvider time;

    // Candidates, eligibility and controls, safety, scoring, diversity: see Pipeline/.
    private readonly RankingPipeline pipeline;

    /// <summary>Creates a ranker over <paramref name="catalog"/> with signals from <paramref name="signals"/>.</summary>
    /// <exception cref="ArgumentException">The policy or options are invalid.</exception>
    public ForYouRecommender(ItemCatalog catalog, SignalStore signals, SafetyPolicy? policy = null, RankingOptions? options = null, TimeProvider? time = null)
    {
        Catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        Signals = signals ?? throw new ArgumentNullException(nameof(signals));
        Policy = policy ?? SafetyPolicy.Default;
        Policy.Validate();
        Options = options ?? new RankingOptions();
        if (Options.MaxPageSize < 1 || Options.DiversityPoolFactor < 1 || Options.MaxCreatorRun < 1 || Options.MaxSensitiveTopicRun < 1)
            throw new ArgumentException("MaxPageSize, DiversityPoolFactor and the run limits must be at least 1.", nameof(options));
        this.time = time ?? TimeProvider.System;
        pipeline = new RankingPipeline(Catalog, Signals, Policy, Options);
    }

    /// <summary>The items.</summary>
    public ItemCatalog Catalog { get; }
    /// <summary>The risk signals.</summary>
    public SignalStore Signals { get; }
    /// <summary>The safety layer's policy.</summary>
    public SafetyPolicy Policy { get; }
    /// <summary>Ranking options.</summary>
    public RankingOptions Options { get; }

    /// <summary>Adds or replaces an item.</summary>
    /// <exception cref="ArgumentException">The item is malformed (see <see cref="ItemCatalog.Upsert"/>).</exception>
    public void Upsert(CatalogItem item)
    {
        lock (gate) Catalog.Upsert(item);
    }

    /// <summary>Whether the recommender has a profile for <paramref name="userId"/>.</summary>
    public bool IsKnownUser(string userId)
    {
        lock (gate) return users.ContainsKey(userId);
    }

    /// <summary>Records an interaction and updates the user's interests at once. Creates the user on first use.</summary>
    /// <exception cref="ArgumentException">Unknown item, bad user id, a time in the future, or a missing, negative or absurd watch time; nothing is recorded.</exception>
    public void Record(Interaction interaction)
    {
        ArgumentNullException.ThrowIfNull(interaction);
        var now = time.GetUtcNow();
        CheckUserId(interaction.UserId);
        if (string.IsNullOrWhiteSpace(interaction.ItemId)) throw new ArgumentException("An item id is required.", "itemId");
        if (!Enum.IsDefined(interaction.Kind)) throw new ArgumentException($"Unknown interaction kind {(int)interaction.Kind}.", "kind");
        if (interaction.At > now + Options.MaxClockSkew)
            throw new ArgumentException($"The interaction is stamped {interaction.At:O}, in the future (now {now:O}).", "at");
        if (interaction.Kind == InteractionKind.Watch)
        {
            if (interaction.WatchTime is not { } watch) throw new ArgumentException("A watch needs a watch time.", "watchTime");
            if (watch < TimeSpan.Zero) throw new ArgumentException($"Watch time {watch} is negative.", "watchTime");
            if (watch > TimeSpan.FromHours(24)) throw new ArgumentException($"Watch time {watch} is longer than a day.", "watchTime");
        }
        else if (interaction.WatchTime is not null)
            throw new ArgumentException($"Only a watch carries a watch time, not a {interaction.Kind}.", "watchTime");

        lock (gate)
        {
            if (!Catalog.TryGetOrdinal(interaction.ItemId, out var ordinal))
                throw new ArgumentException($"Unknown item '{interaction.ItemId}'.", "itemId");
            var entry = Catalog.Entries[ordinal];
            var weight = Weight(interaction, entry.Item.Duration);
            var user = GetOrCreate(interaction.UserId);

            user.Decay(now, Options.InterestHalfLife);
            // An event that arrives late counts as much as it would have had it arrived on time.
            var late = user.InterestAt - interaction.At;
            if (late > TimeSpan.Zero) weight *= Math.Pow(0.5, late / Options.InterestHalfLife);
            TensorPrimitives.MultiplyAdd(entry.Embedding, (float)weight, user.Interest, user.Interest);
            user.Interactions++;
            user.CreatorAffinity[entry.Creator] = Math.Clamp(user.CreatorAffinity.GetValueOrDefault(entry.Creator) + weight / 2, -3, 3);
            if (interaction.Kind == InteractionKind.Follow) user.Follows.Add(entry.Creator);
            user.MarkSeen(ordinal, Options.SeenCapacity);
            if (weight > 0)
            {
                Catalog.AddEngagement(ordinal, weight);
                pipeline.Candidates.EngagementChanged();
            }
        }
    }

    /// <summary>A user's controls (defaults for an unknown user).</summary>
    public UserControls GetControls(string userId)
    {
        CheckUserId(userId);
        lock (gate)
            return users.TryGetValue(userId, out var user) ? user.Controls() : new UserControls(SensitivityLevel.Standard, false, [], []);
    }

    /// <summary>Sets the sensitivity level.</summary>
    /// <exception cref="ArgumentException">A minor asked for <see cref="SensitivityLevel.More"/>, or the level is unknown.</exception>
    public void SetSensitivity(string userId, SensitivityLevel level)
    {
        CheckUserId(userId);
        if (!Enum.IsDefined(level)) throw new ArgumentException($"Unknown sensitivity level {(int)level}.", "sensitivity");
        lock (gate)
        {
            var user = GetOrCreate(userId);
            if (level == SensitivityLevel.More && user.IsMinor)
                throw new ArgumentException("Minors cannot choose the More sensitivity level.", "sensitivity");
            user.Sensitivity = level;
        }
    }

    /// <summary>Marks a user as a minor (or not). A minor on <see cref="SensitivityLevel.More"/> goes back to Standard.</summary>
    public void SetMinor(string userId, bool isMinor)
    {
        CheckUserId(userId);
        lock (gate)
        {
            var user = GetOrCreate(userId);
            user.IsMinor = isMinor;
            if (isMinor && user.Sensitivity == SensitivityLevel.More) user.Sensitivity = SensitivityLevel.Standard;
        }
    }

    /// <summary>Replaces the user's keyword filters. Terms match caption, hashtags and transcript, with simple variants (case, accents, plurals, -ing/-ed, a phrase as a joined hashtag).</summary>
    /// <exception cref="ArgumentException">More than <see cref="RankingOptions.MaxKeywordFilters"/> distinct terms, or a blank, overlong or wordless term; nothing changes.</exception>
    public void SetKeywordFilters(string userId, IEnumerable<string> terms)
    {
        CheckUserId(userId);
        var parsed = ParseTerms(terms);
        lock (gate)
        {
            var user = GetOrCreate(userId);
            user.KeywordFilters.Clear();
            user.KeywordFilters.AddRange(parsed);
            user.FilterVersion++;
        }
    }

    /// <summary>Adds keyword filters to the user's existing ones.</summary>
    /// <exception cref="ArgumentException">The total would exceed <see cref="RankingOptions.MaxKeywordFilters"/>, or a term is unusable; nothing changes.</exception>
    public void AddKeywordFilters(string userId, IEnumerable<string> terms)
    {
        CheckUserId(userId);
        var parsed = ParseTerms(terms);
        lock (gate)
        {
            var existing = users.TryGetValue(userId, out var u) ? u.KeywordFilters : [];
            var merged = existing.Concat(parsed).DistinctBy(t => string.Join(' ', t.Tokens)).ToList();
            if (merged.Count > Options.MaxKeywordFilters)
                throw new ArgumentException($"At most {Options.MaxKeywordFilters} keyword filters; this would make {merged.Count}.", "keywords");
            var user = GetOrCreate(userId);
            user.KeywordFilters.Clear();
            user.KeywordFilters.AddRange(merged);
            user.FilterVersion++;
        }
    }

    /// <summary>Says the user is not interested in an item, a creator or a hashtag: matching items are not shown for <see cref="RankingOptions.NotInterestedWindow"/>, then penalised less and less.</summary>
    /// <exception cref="ArgumentException">Blank value, unknown item, or a time in the future.</exception>
    public void MarkNotInterested(string userId, NotInterestedKind kind, string value, DateTimeOffset? at = null)
    {
        CheckUserId(userId);
        if (string.IsNullOrWhiteSpace(value) || value.Length > 200) throw new ArgumentException("A value of 1 to 200 characters is required.", "value");
        var now = time.GetUtcNow();
        var when = at ?? now;
        if (when > now + Options.MaxClockSkew) throw new ArgumentException($"{when:O} is in the future.", "at");
        lock (gate)
        {
            var entry = new NotInterestedEntry(kind, value, when);
            switch (kind)
            {
                case NotInterestedKind.Item:
                    if (!Catalog.TryGetOrdinal(value, out var ordinal)) throw new ArgumentException($"Unknown item '{value}'.", "value");
                    GetOrCreate(userId).NotInterestedItems[ordinal] = entry;
                    break;
                case NotInterestedKind.Creator:
                    // Keyed by the creator's id, so it holds for a creator with no item in the catalog yet.
                    GetOrCreate(userId).NotInterestedCreatorIds[value] = entry;
                    break;
                case NotInterestedKind.Hashtag:
                    var tag = KeywordText.Hashtag(value) ?? throw new ArgumentException($"'{value}' is not a hashtag.", "value");
                    GetOrCreate(userId).NotInterestedHashtags[tag] = entry;
                    break;
                default:
                    throw new ArgumentException($"Unknown kind {(int)kind}.", "kind");
            }
            var user = users[userId];
            user.NotInterested.Add(entry);
            while (user.NotInterested.Count > Options.MaxNotInterested)
            {
                var old = user.NotInterested[0];
                user.NotInterested.RemoveAt(0);
                user.Forget(old, Catalog);
            }
        }
    }

    /// <summary>Ranks a page of the For You feed for <paramref name="userId"/> from the whole catalog. An unknown user gets a cold start (fresh and popular items, default settings).</summary>
    /// <exception cref="ArgumentException">Bad user id or page size.</exception>
    public FeedPage Rank(string userId, int count = 20)
    {
        CheckUserId(userId);
        CheckCount(count);
        lock (gate)
        {
            var now = time.GetUtcNow();
            var known = users.TryGetValue(userId, out var user);
            user ??= new UserProfile(userId, Catalog.Dimensions);
            user.Decay(now, Options.InterestHalfLife);
            return pipeline.Rank(user, known, pipeline.Candidates.Retrieve(user), count, now);
        }
    }

    /// <summary>Ranks given candidates (from the embedding service's own retrieval) for <paramref name="userId"/>.</summary>
    /// <exception cref="ArgumentException">Bad user id or page size, or candidates from another catalog.</exception>
    public FeedPage RankCandidates(string userId, CandidateSet candidates, int count = 20)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        CheckUserId(userId);
        CheckCount(count);
        if (!ReferenceEquals(candidates.Catalog, Catalog)) throw new ArgumentException("The candidates were resolved against another catalog.", nameof(candidates));
        lock (gate)
        {
            var now = time.GetUtcNow();
            var known = users.TryGetValue(userId, out var user);
            user ??= new UserProfile(userId, Catalog.Dimensions);
            user.Decay(now, Options.InterestHalfLife);
            return pipeline.Rank(user, known, candidates.Ordinals, count, now);
        }
    }

    private double Weight(Interaction interaction, TimeSpan? duration)
    {
        var o = Options;
        switch (interaction.Kind)
        {
            case InteractionKind.Like: return o.LikeWeight;
            case InteractionKind.Comment: return o.CommentWeight;
            case InteractionKind.Share: return o.ShareWeight;
            case InteractionKind.Follow: return o.FollowWeight;
            case InteractionKind.Skip: return o.SkipWeight;
        }
        var watch = interaction.WatchTime!.Value;
        if (duration is { } d && d > TimeSpan.Zero)
        {
            var completion = Math.Min(watch / d, 1);
            if (completion >= o.CompletionFrom) return o.CompletionWeight;
            if (watch < o.FastSkip) return o.FastSkipWeight;
            // In between: from a slight negative for a short look to most of a like for most of the video.
            return o.LikeWeight * (1.2 * completion - 0.2);
        }
        if (watch < o.FastSkip) return o.FastSkipWeight;
        return watch >= TimeSpan.FromSeconds(15) ? o.LikeWeight : 0.2 * o.LikeWeight;
    }

    private List<(string Term, string[] Tokens)> ParseTerms(IEnumerable<string> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        var parsed = new List<(string, string[])>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var count = 0;
        foreach (var term in terms)
        {
            count++;
            if (string.IsNullOrWhiteSpace(term)) throw new ArgumentException($"Keyword filter {count} is blank.", "keywords");
            if (term.Length > KeywordText.MaxTermLength)
                throw new ArgumentException($"Keyword filter {count} is {term.Length} characters; at most {KeywordText.MaxTermLength}.", "keywords");
            var tokens = KeywordText.TermTokens(term);
            if (tokens.Length == 0) throw new ArgumentException($"Keyword filter '{term}' has no letters or digits.", "keywords");
            // Refused as soon as the limit is passed, so 10,000 terms cost no more than 201.
            if (keys.Add(string.Join(' ', tokens)) && parsed.Count == Options.MaxKeywordFilters)
                throw new ArgumentException($"At most {Options.MaxKeywordFilters} keyword filters; got more.", "keywords");
            if (parsed.Count < keys.Count) parsed.Add((term.Trim(), tokens));
        }
        return parsed;
    }

    private UserProfile GetOrCreate(string userId)
    {
        if (!users.TryGetValue(userId, out var user)) users[userId] = user = new UserProfile(userId, Catalog.Dimensions);
        return user;
    }

    private static void CheckUserId(string userId)
    {
        if (string.IsNullOrWhiteSpace(userId) || userId.Length > MaxUserIdLength)
            throw new ArgumentException($"A user id of 1 to {MaxUserIdLength} characters is required.", "userId");
    }

    private void CheckCount(int count)
    {
        if (count < 1 || count > Options.MaxPageSize)
            throw new ArgumentException($"The page size must be from 1 to {Options.MaxPageSize}; got {count}.", "count");
    }
}
