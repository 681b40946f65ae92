using FluentAssertions;
using Recommender.Core.Catalog;
using Recommender.Core.Pipeline;
using Recommender.Core.Ranking;
using Recommender.Core.Users;

namespace Recommender.Tests.Stages;

public sealed class EligibilityStageTests
{
    private static readonly RankingOptions Options = new(); // 30-day window, then 0.8 halving every 30 days
    private static readonly DateTimeOffset Now = StageCatalog.Now;

    private static void Filter(UserProfile user, string term)
    {
        user.KeywordFilters.Add((term, KeywordText.TermTokens(term)));
        user.FilterVersion++;
    }

    private static void NotInterested(UserProfile user, NotInterestedKind kind, string value, ItemCatalog catalog, TimeSpan ago)
    {
        var entry = new NotInterestedEntry(kind, value, Now - ago);
        user.NotInterested.Add(entry);
        switch (kind)
        {
            case NotInterestedKind.Item: catalog.TryGetOrdinal(value, out var o); user.NotInterestedItems[o] = entry; break;
            case NotInterestedKind.Creator: user.NotInterestedCreatorIds[value] = entry; break;
            default: user.NotInterestedHashtags[KeywordText.Hashtag(value)!] = entry; break;
        }
    }

    private static Exclusion Check(StageCatalog c, UserProfile user, string id, out double penalty) =>
        new EligibilityStage(c.Catalog, Options).For(user, Now).Check(c.Entry(id), out penalty);

    [Fact]
    public void A_clean_item_is_kept_without_penalty()
    {
        var c = new StageCatalog();
        c.Add("clean", caption: "a walk in the park");

        Check(c, StageCatalog.User(), "clean", out var penalty).Should().Be(Exclusion.None);
        penalty.Should().Be(1);
    }

    [Fact]
    public void A_seen_item_is_removed_as_seen_before_any_control()
    {
        var c = new StageCatalog();
        var item = c.Add("seen", caption: "spoilers");
        var user = StageCatalog.User();
        user.MarkSeen(item.Ordinal, 10);
        Filter(user, "spoiler");

        Check(c, user, "seen", out _).Should().Be(Exclusion.Seen);
    }

    [Fact]
    public void Keyword_filters_remove_matching_items_including_items_added_later()
    {
        var c = new StageCatalog();
        c.Add("spoiler", caption: "huge SPOILERS ahead");
        c.Add("tagged", hashtags: ["#SpoilerAlert"]);
        var user = StageCatalog.User();
        Filter(user, "spoiler alert");

        Check(c, user, "spoiler", out _).Should().Be(Exclusion.None, "a phrase needs all its words");
        Check(c, user, "tagged", out _).Should().Be(Exclusion.KeywordFilter);

        c.Add("later", caption: "spoiler alert: the end");
        Check(c, user, "later", out _).Should().Be(Exclusion.KeywordFilter);
    }

    [Theory]
    [InlineData(NotInterestedKind.Item, "item")]
    [InlineData(NotInterestedKind.Creator, "creator-item")]
    [InlineData(NotInterestedKind.Hashtag, "#Knitting")]
    public void Not_interested_removes_inside_the_window_and_then_penalises_less_and_less(NotInterestedKind kind, string value)
    {
        var c = new StageCatalog();
        c.Add("item", hashtags: ["#knitting"]);

        var now = StageCatalog.User();
        NotInterested(now, kind, value, c.Catalog, TimeSpan.FromDays(29));
        Check(c, now, "item", out _).Should().Be(Exclusion.NotInterested);

        var windowAndHalfLife = StageCatalog.User();
        NotInterested(windowAndHalfLife, kind, value, c.Catalog, TimeSpan.FromDays(60));
        Check(c, windowAndHalfLife, "item", out var penalty).Should().Be(Exclusion.None);
        penalty.Should().BeApproximately(1 - 0.8 * 0.5, 1e-12);
    }

    [Fact]
    public void The_strongest_matching_entry_counts()
    {
        var c = new StageCatalog();
        c.Add("item", creator: "chef", hashtags: ["#knitting"]);
        var user = StageCatalog.User();
        NotInterested(user, NotInterestedKind.Creator, "chef", c.Catalog, TimeSpan.FromDays(90)); // 1 - 0.8/4 = 0.8
        NotInterested(user, NotInterestedKind.Hashtag, "#knitting", c.Catalog, TimeSpan.FromDays(30)); // 1 - 0.8 = 0.2

        Check(c, user, "item", out var penalty).Should().Be(Exclusion.None);
        penalty.Should().BeApproximately(0.2, 1e-12);
    }

    [Fact]
    public void Not_interested_in_a_creator_who_has_not_posted_yet_holds_once_they_post()
    {
        var c = new StageCatalog();
        c.Add("other");
        var user = StageCatalog.User();
        NotInterested(user, NotInterestedKind.Creator, "newcomer", c.Catalog, TimeSpan.FromDays(1));

        c.Add("first-post", creator: "newcomer");

        Check(c, user, "first-post", out _).Should().Be(Exclusion.NotInterested);
        Check(c, user, "other", out _).Should().Be(Exclusion.None);
    }
}
