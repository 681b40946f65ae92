using FluentAssertions;
using Recommender.Core.Ranking;
using Recommender.Core.Signals;
using Recommender.Core.Users;

namespace Recommender.Tests;

public sealed class ControlsTests
{
    [Fact]
    public void Keyword_filters_match_caption_hashtags_and_transcript_with_simple_variants()
    {
        var w = new TestWorld();
        w.Add("caption", 0, caption: "Huge SPOILERS for the finale");
        w.Add("hashtag", 0, hashtags: ["#Spoiler"]);
        w.Add("joined", 0, hashtags: ["#SpoilerAlert"]);
        w.Add("transcript", 0, transcript: "we are spoiling the ending, sorry");
        w.Add("accent", 0, caption: "Le café du coin");
        w.Add("clean", 0, caption: "a quiet walk in the park");

        w.Ranker.SetKeywordFilters("u", ["spoiler", "spoil", "spoiler alert", "cafe"]);
        var page = w.Feed("u");

        TestWorld.Ids(page).Should().Equal("clean");
        page.Removed["keyword_filter"].Should().Be(5);
    }

    [Fact]
    public void A_filter_added_later_applies_to_items_added_later()
    {
        var w = new TestWorld();
        w.Add("clean", 0, caption: "park");
        w.Ranker.AddKeywordFilters("u", ["snakes"]);
        w.Add("late", 0, caption: "a snake in the grass");

        TestWorld.Ids(w.Feed("u")).Should().Equal("clean");
    }

    [Fact]
    public void Two_hundred_filters_are_accepted_and_ten_thousand_are_refused_leaving_the_old_ones()
    {
        var w = new TestWorld();
        w.Add("a", 0, caption: "word7");
        w.Ranker.SetKeywordFilters("u", Enumerable.Range(0, 200).Select(i => $"word{i}"));
        w.Ranker.GetControls("u").KeywordFilters.Should().HaveCount(200);

        var tooMany = () => w.Ranker.SetKeywordFilters("u", Enumerable.Range(0, 10_000).Select(i => $"term{i}"));
        tooMany.Should().Throw<ArgumentException>().Where(e => e.ParamName == "keywords" && e.Message.Contains("At most 200"));
        var oneMore = () => w.Ranker.AddKeywordFilters("u", ["extra"]);
        oneMore.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("keywords");

        w.Ranker.GetControls("u").KeywordFilters.Should().HaveCount(200).And.Contain("word7");
        TestWorld.Ids(w.Feed("u")).Should().BeEmpty();
    }

    [Theory]
    [InlineData("")]
    [InlineData("!!!")]
    public void Unusable_terms_are_refused(string term)
    {
        var w = new TestWorld();
        FluentActions.Invoking(() => w.Ranker.SetKeywordFilters("u", [term])).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("keywords");
        FluentActions.Invoking(() => w.Ranker.SetKeywordFilters("u", [new string('a', 101)])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Not_interested_filters_for_the_window_then_penalises_less_and_less()
    {
        var w = new TestWorld(options: new RankingOptions { NotInterestedWindow = TimeSpan.FromDays(30), NotInterestedHalfLife = TimeSpan.FromDays(10) });
        w.Add("item", 0, creator: "zed", popularity: 1000);
        w.Add("sibling", 1, creator: "zed", popularity: 1000);
        w.Add("tagged", 2, hashtags: ["#Pranks"], popularity: 1000);
        w.Add("other", 3);
        w.Ranker.MarkNotInterested("u", NotInterestedKind.Creator, "zed");
        w.Ranker.MarkNotInterested("u", NotInterestedKind.Hashtag, "prank");

        var page = w.Feed("u");
        TestWorld.Ids(page).Should().Equal("other");
        page.Removed["not_interested"].Should().Be(3);

        w.Advance(TimeSpan.FromDays(31));
        var after = w.Feed("u");
        var sibling = after.Items.Single(i => i.ItemId == "sibling");
        sibling.Reasons.Should().Contain(r => r.StartsWith("penalised x"));
        var early = sibling.Score;

        w.Advance(TimeSpan.FromDays(30));
        var later = w.Feed("u").Items.Single(i => i.ItemId == "sibling");
        (later.Score / later.Engagement).Should().BeGreaterThan(early / sibling.Engagement, "the penalty decays");
    }

    [Fact]
    public void Not_interested_in_an_item_needs_a_known_item()
    {
        var w = new TestWorld();
        w.Add("a", 0);
        w.Ranker.MarkNotInterested("u", NotInterestedKind.Item, "a");
        TestWorld.Ids(w.Feed("u")).Should().BeEmpty();
        FluentActions.Invoking(() => w.Ranker.MarkNotInterested("u", NotInterestedKind.Item, "missing"))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("value");
    }

    [Fact]
    public void No_creator_appears_twice_in_a_row_and_repeats_decay()
    {
        var w = new TestWorld();
        for (var i = 0; i < 6; i++) w.Add($"star-{i}", 0, creator: "star", popularity: 10_000);
        for (var i = 0; i < 6; i++) w.Add($"small-{i}", 1, creator: $"small-{i}");

        var page = w.Feed("u", 10);

        page.Items.Zip(page.Items.Skip(1)).Should().NotContain(p => p.First.CreatorId == p.Second.CreatorId);
        page.Items.Where(i => i.CreatorId == "star").Skip(1).Should().OnlyContain(i => i.Reasons.Any(r => r.StartsWith("diversity:")));
    }

    [Fact]
    public void No_sensitive_topic_appears_twice_in_a_row()
    {
        var w = new TestWorld();
        for (var i = 0; i < 4; i++)
        {
            w.Add($"risky-{i}", 0, popularity: 10_000);
            w.Signal($"risky-{i}", "harm.violence", 0.6, SignalActions.Demote, 1);
        }
        for (var i = 0; i < 4; i++) w.Add($"calm-{i}", 1);

        var page = w.Feed("u", 8);

        page.Items.Select(i => i.ItemId.StartsWith("risky")).Zip(page.Items.Skip(1).Select(i => i.ItemId.StartsWith("risky")))
            .Should().NotContain((true, true));
    }
}
