using System.Globalization;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Recommender.Core;
using Recommender.Core.Catalog;
using Recommender.Core.Ranking;
using Recommender.Core.Safety;
using Recommender.Core.Signals;
using Recommender.Core.Users;

namespace Recommender.Tests;

/// <summary>
/// Pins the ranker's whole output (every page: ids, scores to the last bit, flags, labels, reasons, removal counts)
/// for a fixed catalog, users, controls and signals, so that a change of structure cannot change a ranking. The
/// expected text in <c>Characterisation/ranking.golden.txt</c> was produced by the ranker before it was split
/// into stages. When a ranking change is intended, run this test, read the difference, and replace the file with
/// the actual output it writes to the temporary folder.
/// </summary>
public sealed class RankingCharacterisationTests
{
    private const int Dimensions = 16;
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_full_ranked_output_of_a_fixed_scenario_is_unchanged()
    {
        var actual = Scenario();
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Characterisation", "ranking.golden.txt")).ReplaceLineEndings("\n");
        if (actual != expected)
        {
            var path = Path.Combine(Path.GetTempPath(), "recommender-ranking.actual.txt");
            File.WriteAllText(path, actual);
            actual.Should().Be(expected, $"the ranking must not change (actual output written to {path})");
        }
    }

    private static string Scenario()
    {
        var out_ = new StringBuilder();
        var random = new Random(20261101);
        var clock = new FakeTimeProvider(Start);
        var catalog = new ItemCatalog(Dimensions);
        var store = new SignalStore(new SignalStoreOptions { ItemKey = SignalItemKey.ExternalId });
        var ranker = new ForYouRecommender(catalog, store, SafetyPolicy.Default, null, clock);
        var words = new[] { "cooking", "cars", "spoiler", "alert", "garden", "music", "dance", "news", "match", "park", "cafe", "clowns", "travel", "cats", "dogs", "fixing" };
        const int items = 160;
        for (var i = 0; i < items; i++)
        {
            var v = new float[Dimensions];
            v[i % 6] = 1;
            for (var d = 0; d < Dimensions; d++) v[d] += (float)(random.NextDouble() - 0.5) * 0.6f;
            catalog.Upsert(new CatalogItem($"item-{i}", $"creator-{random.Next(30)}", v, Start - TimeSpan.FromHours(0.5 + random.Next(0, 24 * 20)))
            {
                Caption = string.Join(' ', Enumerable.Range(0, 4).Select(_ => words[random.Next(words.Length)])),
                Hashtags = [$"#{words[random.Next(words.Length)]}", $"#tag{random.Next(8)}"],
                Transcript = i % 7 == 0 ? "we are spoiling the ending" : null,
                Popularity = Math.Round(Math.Exp(random.NextDouble() * 4) - 1, 2),
                Duration = i % 5 == 0 ? null : TimeSpan.FromSeconds(10 + random.Next(50)),
            });
        }

        // Signals on most items: every action, source and category shape; some expire mid-scenario, one is retracted.
        long seq = 0;
        var categories = new[] { "harm", "harm.violence", "misinformation", "bias", "harm.hate" };
        var actions = new[] { SignalActions.None, SignalActions.Label, SignalActions.Demote, SignalActions.Interstitial, SignalActions.Ineligible };
        RiskSignal Signal(int item, string category, double score, string action, string source = SignalSources.Model, DateTimeOffset? expires = null, long? retracts = null)
        {
            var s = new RiskSignal(++seq, $"u-{item}", $"item-{item}", category, score, action,
                // What the service sends: a demotion's multiplier; 1 for none and label (a label's reach is full unless the
                // policy lowers it, and the ranker applies it since labels may carry one); 0 for interstitial and ineligible.
                action == SignalActions.Demote ? Math.Round(0.2 + random.NextDouble() * 0.7, 3) : action is SignalActions.None or SignalActions.Label ? 1 : 0,
                source, "m-1", "p-1", clock.GetUtcNow(), expires, retracts);
            store.Apply(s);
            return s;
        }
        for (var i = 0; i < items; i++)
        {
            if (i % 9 == 4) continue; // unscored: provisionally demoted for harm
            var r = random.NextDouble();
            var action = r < 0.55 ? SignalActions.None : r < 0.68 ? SignalActions.Label : r < 0.85 ? SignalActions.Demote : r < 0.94 ? SignalActions.Interstitial : SignalActions.Ineligible;
            var score = action switch
            {
                SignalActions.None => Math.Round(random.NextDouble() * 0.45, 3),
                SignalActions.Label => Math.Round(0.3 + random.NextDouble() * 0.3, 3),
                SignalActions.Demote => Math.Round(0.5 + random.NextDouble() * 0.3, 3),
                SignalActions.Interstitial => Math.Round(0.7 + random.NextDouble() * 0.2, 3),
                _ => Math.Round(0.9 + random.NextDouble() * 0.1, 3),
            };
            var category = i % 11 == 3 ? "misinformation" : "harm";
            Signal(i, category, score, action, expires: i % 13 == 5 ? Start.AddDays(1) : null);
            if (i % 6 == 1) Signal(i, categories[random.Next(categories.Length)], Math.Round(random.NextDouble(), 3), actions[random.Next(actions.Length)]);
        }
        Signal(10, "harm", 0.95, SignalActions.Ineligible, SignalSources.HashMatch);
        Signal(10, "harm", 0.2, SignalActions.None, SignalSources.Human);          // the human clears it
        Signal(20, "harm", 0.8, SignalActions.Interstitial, SignalSources.Human);
        var retracted = Signal(30, "harm", 0.97, SignalActions.Ineligible);
        Signal(30, "harm", 0.97, SignalActions.None, retracts: retracted.Seq);
        Signal(40, "harm.violence", 0.45, SignalActions.None, expires: Start.AddHours(30));
        store.MarkSynced(Start);

        var ids = Enumerable.Range(0, items).Select(i => $"item-{i}").ToArray();
        var kinds = new[] { InteractionKind.Like, InteractionKind.Watch, InteractionKind.Comment, InteractionKind.Share, InteractionKind.Skip, InteractionKind.Watch, InteractionKind.Follow };
        void Interact(string user, int n, int topic)
        {
            for (var i = 0; i < n; i++)
            {
                var item = (random.Next(items / 6) * 6 + (i % 3 == 0 ? random.Next(6) : topic)) % items;
                var kind = kinds[random.Next(kinds.Length)];
                var at = clock.GetUtcNow() - TimeSpan.FromHours(random.Next(0, 24 * 10));
                ranker.Record(new Interaction(user, ids[item], kind, at, kind == InteractionKind.Watch ? TimeSpan.FromSeconds(random.Next(0, 70) + 0.5) : null));
            }
        }

        Interact("alice", 40, 1);
        ranker.SetKeywordFilters("alice", ["spoiler alert", "clowns"]);
        ranker.MarkNotInterested("alice", NotInterestedKind.Creator, "creator-3");
        ranker.MarkNotInterested("alice", NotInterestedKind.Hashtag, "#tag2", Start.AddDays(-45));
        ranker.MarkNotInterested("alice", NotInterestedKind.Item, "item-7", Start.AddDays(-40));
        ranker.MarkNotInterested("alice", NotInterestedKind.Creator, "creator-11", Start.AddDays(-31));
        ranker.MarkNotInterested("alice", NotInterestedKind.Creator, "creator-not-posted-yet");
        Interact("bob", 12, 2);
        ranker.SetMinor("bob", true);
        ranker.SetSensitivity("bob", SensitivityLevel.Less);
        Interact("carol", 15, 4);
        ranker.SetSensitivity("carol", SensitivityLevel.More);
        ranker.AddKeywordFilters("carol", ["cafe", "fixed"]);
        Interact("dan", 25, 0);
        ranker.SetSensitivity("dan", SensitivityLevel.Less);

        void Page(string title, FeedPage page)
        {
            out_.Append("== ").Append(title).Append(": user=").Append(page.UserId).Append(" candidates=").Append(page.Candidates)
                .Append(" removed=").Append(string.Join(",", page.Removed.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}:{kv.Value}")))
                .Append(" stale=").Append(page.FeedStale).Append(" known=").Append(page.KnownUser).Append(" cursor=").Append(page.SignalCursor).Append('\n');
            foreach (var i in page.Items)
            {
                out_.Append(i.Position).Append(' ').Append(i.ItemId).Append(' ').Append(i.CreatorId)
                    .Append(" score=").Append(R(i.Score)).Append(" engagement=").Append(R(i.Engagement)).Append(" safety=").Append(R(i.SafetyMultiplier))
                    .Append(" interstitial=").Append(i.Interstitial).Append(" autoplay=").Append(i.Autoplay)
                    .Append(" labels=[").Append(string.Join(",", i.Labels)).Append("]\n");
                foreach (var reason in i.Reasons) out_.Append("    ").Append(reason).Append('\n');
            }
        }

        Page("alice", ranker.Rank("alice", 20));
        Page("bob (minor, less)", ranker.Rank("bob", 15));
        Page("carol (more)", ranker.Rank("carol", 25));
        Page("dan (less)", ranker.Rank("dan", 30));
        Page("newcomer (cold start)", ranker.Rank("newcomer", 10));
        var subset = catalog.Resolve(ids.Where((_, i) => i % 3 != 0).Append("item-unknown").Append("item-5"));
        Page("alice, given candidates", ranker.RankCandidates("alice", subset, 12));

        // Live changes: more interactions (popularity), a new signal (one item's verdicts), a new item.
        Interact("alice", 5, 3);
        Signal(2, "harm", 0.99, SignalActions.Ineligible, SignalSources.Human);
        Signal(9, "harm.hate", 0.6, SignalActions.Demote);
        catalog.Upsert(new CatalogItem("item-new", "creator-3", Enumerable.Range(0, Dimensions).Select(d => d == 1 ? 1f : 0f).ToArray(), Start) { Caption = "new" });
        clock.Advance(TimeSpan.FromMinutes(3));
        Page("alice after changes", ranker.Rank("alice", 20));
        Page("bob after changes", ranker.Rank("bob", 15));

        // A day and a half later: signals expired, interests decayed, the feed not read for that long (stale).
        clock.Advance(TimeSpan.FromHours(36));
        Page("alice, stale feed", ranker.Rank("alice", 20));
        Page("newcomer, stale feed", ranker.Rank("newcomer", 10));
        store.MarkSynced(clock.GetUtcNow());
        Page("alice, current again", ranker.Rank("alice", 40));
        Page("carol, current again", ranker.Rank("carol", 10));

        // Other options: longer runs allowed, a smaller pool and fewer candidates.
        var tight = new ForYouRecommender(catalog, store, SafetyPolicy.Default with { DemotionStrength = 1.5 },
            new RankingOptions { MaxCreatorRun = 2, MaxSensitiveTopicRun = 2, DiversityPoolFactor = 2, SimilarCandidates = 20, FreshCandidates = 10, PopularCandidates = 10 }, clock);
        for (var i = 0; i < 12; i++)
            tight.Record(new Interaction("erin", ids[i * 6 + 5], i % 2 == 0 ? InteractionKind.Like : InteractionKind.Share, clock.GetUtcNow()));
        Page("erin, tight options", tight.Rank("erin", 15));
        Page("erin, tight options, all candidates", tight.RankCandidates("erin", catalog.Resolve(ids), 30));
        var off = new ForYouRecommender(catalog, store, SafetyPolicy.Off, null, clock);
        Page("safety off, cold start", off.Rank("frank", 15));
        return out_.ToString();
    }

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
