using System.Globalization;
using System.Numerics.Tensors;
using Recommender.Core.Catalog;
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

    // Safety verdicts per item, per viewer class (sensitivity × minor); valid while the store's version and the
    // feed's staleness are unchanged and no signal of the item has expired.
    private readonly SafetyVerdict?[][] verdicts = new SafetyVerdict?[6][];
    private long verdictStoreVersion = -1;
    private bool verdictFeedStale;

    private int[] byFreshness = [];
    private long freshnessVersion = -1;
    private int[] byPopularity = [];
    private long popularityVersion = -1;
    private long engagementVersion;

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
        for (var i = 0; i < verdicts.Length; i++) verdicts[i] = [];
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
                engagementVersion++;
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
            var candidates = Retrieve(user);
            return RankCore(user, known, candidates, count, now);
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
            return RankCore(user, known, candidates.Ordinals, count, now);
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

    /// <summary>Similar, fresh and popular candidates, unseen, without duplicates.</summary>
    private int[] Retrieve(UserProfile user)
    {
        var entries = Catalog.Entries;
        var picked = new HashSet<int>();
        var result = new List<int>();
        var norm = TensorPrimitives.Norm<float>(user.Interest);
        if (norm > 0 && Options.SimilarCandidates > 0)
        {
            var top = new PriorityQueue<int, float>(Options.SimilarCandidates + 1);
            foreach (var e in entries)
            {
                if (user.Seen.Contains(e.Ordinal)) continue;
                var s = TensorPrimitives.Dot<float>(user.Interest, e.Embedding);
                if (top.Count < Options.SimilarCandidates) top.Enqueue(e.Ordinal, s);
                else if (top.TryPeek(out _, out var min) && s > min) top.DequeueEnqueue(e.Ordinal, s);
            }
            while (top.TryDequeue(out var o, out _)) if (picked.Add(o)) result.Add(o);
        }
        if (freshnessVersion != Catalog.Version)
        {
            byFreshness = Enumerable.Range(0, entries.Count).OrderByDescending(o => entries[o].Item.PublishedAt).ToArray();
            freshnessVersion = Catalog.Version;
        }
        if (popularityVersion != Catalog.Version + engagementVersion * 1_000_003)
        {
            byPopularity = Enumerable.Range(0, entries.Count).OrderByDescending(o => entries[o].Popularity).ToArray();
            popularityVersion = Catalog.Version + engagementVersion * 1_000_003;
        }
        Take(byFreshness, Options.FreshCandidates);
        Take(byPopularity, Options.PopularCandidates);
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

    private SafetyVerdict Verdict(ItemEntry entry, UserProfile user, DateTimeOffset now, bool feedStale)
    {
        var cls = (int)user.Sensitivity * 2 + (user.IsMinor ? 1 : 0);
        var cache = verdicts[cls];
        if (cache.Length < Catalog.Count) verdicts[cls] = cache = new SafetyVerdict?[Math.Max(Catalog.Count, cache.Length * 2)];
        var verdict = cache[entry.Ordinal];
        if (verdict is null || verdict.ValidUntil <= now)
        {
            verdict = SafetyEvaluator.Evaluate(Policy, Signals.RawSignals(entry.Item.Id), now, user.Sensitivity, user.IsMinor, feedStale);
            cache[entry.Ordinal] = verdict;
        }
        return verdict;
    }

    private FeedPage RankCore(UserProfile user, bool known, int[] candidates, int count, DateTimeOffset now)
    {
        var entries = Catalog.Entries;
        var o = Options;
        int seen = 0, keyword = 0, notInterested = 0, ineligible = 0;

        var blocked = KeywordBlocked(user);
        var interest = user.Interest;
        var norm = TensorPrimitives.Norm<float>(interest);
        // Confidence grows with the interest vector's mass: one like is a hint, fifty are a taste.
        var simWeight = norm > 0 ? o.SimilarityWeight * (norm / (norm + 1)) / norm : 0;
        var hasNotInterested = user.NotInterested.Count > 0;
        // Creators resolved to ordinals once per request (a creator with no item yet resolves once they post).
        Dictionary<int, NotInterestedEntry>? creatorsNotInterested = null;
        foreach (var (creatorId, entry) in user.NotInterestedCreatorIds)
            if (Catalog.CreatorOrdinal(creatorId) is var c and >= 0) (creatorsNotInterested ??= [])[c] = entry;
        var poolSize = Math.Min(candidates.Length, count * o.DiversityPoolFactor);
        var pool = new PriorityQueue<(int Ordinal, double Engagement, double Penalty, SafetyVerdict Verdict), double>(poolSize + 1);

        // Freshness halves every half-life: exp(-age * ln 2 / half-life), with ages in days since the epoch.
        var nowDays = now.ToUnixTimeMilliseconds() / 86_400_000.0;
        var freshnessRate = Math.Log(2) / o.FreshnessHalfLife.TotalDays;
        long cursor;
        lock (Signals.Gate)
        {
            cursor = Signals.Cursor;
            var stale = Policy.WithholdUnscoredWhenFeedStaleFor is { } limit && (Signals.LastSyncedAt is not { } synced || now - synced > limit);
            if (Signals.Version != verdictStoreVersion || stale != verdictFeedStale)
            {
                // Forget the verdicts of the items whose signals changed; all of them only when that is not known.
                var changed = stale == verdictFeedStale ? Signals.ChangedSince(verdictStoreVersion) : null;
                if (changed is null)
                    foreach (var cache in verdicts) Array.Clear(cache);
                else
                    foreach (var itemId in changed)
                        if (Catalog.TryGetOrdinal(itemId, out var changedOrdinal))
                            foreach (var cache in verdicts)
                                if (changedOrdinal < cache.Length) cache[changedOrdinal] = null;
                verdictStoreVersion = Signals.Version;
                verdictFeedStale = stale;
            }

            foreach (var ordinal in candidates)
            {
                var entry = entries[ordinal];
                if (user.Seen.Contains(ordinal)) { seen++; continue; }
                if (blocked is not null && blocked.Contains(ordinal)) { keyword++; continue; }
                var penalty = 1.0;
                if (hasNotInterested)
                {
                    penalty = NotInterestedPenalty(user, creatorsNotInterested, entry, now);
                    if (penalty <= 0) { notInterested++; continue; }
                }
                var verdict = Verdict(entry, user, now, stale);
                if (verdict.Ineligible) { ineligible++; continue; }

                var z = o.Bias + simWeight * TensorPrimitives.Dot<float>(interest, entry.Embedding);
                if (user.CreatorAffinity.Count > 0 && user.CreatorAffinity.TryGetValue(entry.Creator, out var affinity)) z += o.CreatorWeight * affinity;
                if (user.Follows.Count > 0 && user.Follows.Contains(entry.Creator)) z += o.CreatorWeight;
                z += o.PopularityWeight * entry.PopularityTerm;
                z += o.FreshnessWeight * Math.Exp(Math.Min(0, entry.PublishedDays - nowDays) * freshnessRate);
                var engagement = 1 / (1 + Math.Exp(-z));
                var score = engagement * verdict.Multiplier * penalty;

                if (pool.Count < poolSize) pool.Enqueue((ordinal, engagement, penalty, verdict), score);
                else if (pool.TryPeek(out _, out var min) && score > min) pool.DequeueEnqueue((ordinal, engagement, penalty, verdict), score);
            }
        }

        var ranked = new List<(int Ordinal, double Engagement, double Penalty, SafetyVerdict Verdict, double Score)>(pool.Count);
        while (pool.TryDequeue(out var c, out var score)) ranked.Add((c.Ordinal, c.Engagement, c.Penalty, c.Verdict, score));
        ranked.Reverse();

        var items = Diversify(ranked, count, user, now, simWeight);
        var removed = new Dictionary<string, int>
        {
            ["seen"] = seen,
            ["keyword_filter"] = keyword,
            ["not_interested"] = notInterested,
            ["ineligible"] = ineligible,
        };
        return new FeedPage(user.Id, items, candidates.Length, removed, verdictFeedStale, known, cursor);
    }

    private List<RankedItem> Diversify(List<(int Ordinal, double Engagement, double Penalty, SafetyVerdict Verdict, double Score)> ranked,
        int count, UserProfile user, DateTimeOffset now, double simWeight)
    {
        var o = Options;
        var entries = Catalog.Entries;
        var taken = new bool[ranked.Count];
        var creatorCount = new Dictionary<int, int>();
        var topicCount = new Dictionary<string, int>(StringComparer.Ordinal);
        int lastCreator = -1, creatorRun = 0, topicRun = 0;
        string? lastTopic = null;
        var items = new List<RankedItem>(count);
        while (items.Count < count)
        {
            int best = -1;
            double bestScore = double.NegativeInfinity, bestFactor = 1;
            for (var i = 0; i < ranked.Count; i++)
            {
                if (taken[i]) continue;
                var c = ranked[i];
                if (c.Score <= bestScore) break; // factors are at most 1: nothing further down can win
                var creator = entries[c.Ordinal].Creator;
                var topic = c.Verdict.SensitiveTopic;
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
            var entry = entries[chosen.Ordinal];
            var t = chosen.Verdict.SensitiveTopic;
            creatorRun = entry.Creator == lastCreator ? creatorRun + 1 : 1;
            lastCreator = entry.Creator;
            topicRun = t is not null && t == lastTopic ? topicRun + 1 : 1;
            lastTopic = t;
            creatorCount[entry.Creator] = creatorCount.GetValueOrDefault(entry.Creator) + 1;
            if (t is not null) topicCount[t] = topicCount.GetValueOrDefault(t) + 1;
            items.Add(new RankedItem(entry.Item.Id, entry.Item.CreatorId, items.Count, bestScore, chosen.Engagement,
                chosen.Verdict.Multiplier, chosen.Verdict.Interstitial, !chosen.Verdict.Interstitial, chosen.Verdict.Labels,
                Reasons(entry, chosen.Penalty, chosen.Verdict, bestFactor, user, now, simWeight)));
        }
        return items;
    }

    private List<string> Reasons(ItemEntry entry, double penalty, SafetyVerdict verdict, double diversityFactor, UserProfile user, DateTimeOffset now, double simWeight)
    {
        var reasons = new List<string>();
        var similarity = simWeight > 0 ? TensorPrimitives.Dot<float>(user.Interest, entry.Embedding) * simWeight / Options.SimilarityWeight : 0;
        if (similarity > 0.2) reasons.Add($"matches your interests (similarity {F(similarity)})");
        if (user.Follows.Contains(entry.Creator)) reasons.Add("from a creator you follow");
        else if (user.CreatorAffinity.GetValueOrDefault(entry.Creator) > 0.5) reasons.Add("from a creator you engage with");
        var age = now - entry.Item.PublishedAt;
        if (age < Options.FreshnessHalfLife) reasons.Add($"fresh (posted {F(Math.Max(0, age.TotalHours))} h ago)");
        if (entry.Popularity >= 10) reasons.Add($"popular ({F(entry.Popularity)} engagement)");
        if (reasons.Count == 0) reasons.Add("exploring beyond your interests");
        if (penalty < 1) reasons.Add($"penalised x{F(penalty)}: you said not interested earlier");
        reasons.AddRange(verdict.Reasons);
        if (diversityFactor < 1) reasons.Add($"diversity: x{F(diversityFactor)} for repeating a creator or topic on this page");
        return reasons;
    }

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>0 inside the window (filtered), then 1 minus a penalty that halves every half-life.</summary>
    private double NotInterestedPenalty(UserProfile user, Dictionary<int, NotInterestedEntry>? creators, ItemEntry entry, DateTimeOffset now)
    {
        var factor = 1.0;
        if (user.NotInterestedItems.Count > 0 && user.NotInterestedItems.TryGetValue(entry.Ordinal, out var e)) factor = Math.Min(factor, Penalty(e));
        if (creators is not null && creators.TryGetValue(entry.Creator, out e)) factor = Math.Min(factor, Penalty(e));
        if (user.NotInterestedHashtags.Count > 0)
            foreach (var tag in entry.Hashtags)
                if (user.NotInterestedHashtags.TryGetValue(tag, out e)) factor = Math.Min(factor, Penalty(e));
        return factor;

        double Penalty(NotInterestedEntry entry)
        {
            var age = now - entry.At;
            if (age < Options.NotInterestedWindow) return 0;
            return 1 - Options.NotInterestedPenalty * Math.Pow(0.5, (age - Options.NotInterestedWindow) / Options.NotInterestedHalfLife);
        }
    }

    private HashSet<int>? KeywordBlocked(UserProfile user)
    {
        if (user.KeywordFilters.Count == 0) return null;
        if (user.KeywordBlocked is null || user.KeywordBlockedCatalogVersion != Catalog.Version || user.KeywordBlockedFilterVersion != user.FilterVersion)
        {
            var blocked = new HashSet<int>();
            foreach (var (_, tokens) in user.KeywordFilters) blocked.UnionWith(Catalog.Matching(tokens));
            user.KeywordBlocked = blocked;
            user.KeywordBlockedCatalogVersion = Catalog.Version;
            user.KeywordBlockedFilterVersion = user.FilterVersion;
        }
        return user.KeywordBlocked;
    }
}
