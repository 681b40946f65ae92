using FluentAssertions;
using Recommender.Core.Pipeline;
using Recommender.Core.Ranking;

namespace Recommender.Tests.Stages;

public sealed class CandidateStageTests
{
    private static readonly RankingOptions Two = new() { SimilarCandidates = 2, FreshCandidates = 2, PopularCandidates = 2 };

    [Fact]
    public void A_user_without_interests_gets_the_newest_then_the_most_popular_without_repeats()
    {
        var c = new StageCatalog();
        c.Add("old-popular", age: TimeSpan.FromDays(30), popularity: 100);
        c.Add("new", age: TimeSpan.FromHours(5));
        c.Add("newest", age: TimeSpan.FromHours(1), popularity: 60);
        c.Add("old-liked", age: TimeSpan.FromDays(20), popularity: 50);
        c.Add("old-quiet", age: TimeSpan.FromDays(40));

        var ordinals = new CandidateStage(c.Catalog, Two).Retrieve(StageCatalog.User());

        // "newest" is also the second most popular: taken once, and popularity goes one further down.
        ordinals.Select(c.Id).Should().Equal("newest", "new", "old-popular", "old-liked");
    }

    [Fact]
    public void The_items_most_similar_to_the_interests_come_first()
    {
        var c = new StageCatalog();
        c.Add("cars-1", topic: 1);
        c.Add("cooking-1", topic: 0);
        c.Add("music-1", topic: 2);
        c.Add("cooking-2", topic: 0);

        var ordinals = new CandidateStage(c.Catalog, Two with { FreshCandidates = 0, PopularCandidates = 0 }).Retrieve(StageCatalog.InterestedIn(0));

        ordinals.Select(c.Id).Should().BeEquivalentTo("cooking-1", "cooking-2");
    }

    [Fact]
    public void Seen_items_are_not_candidates_in_any_list()
    {
        var c = new StageCatalog();
        var seen = c.Add("seen", topic: 0, age: TimeSpan.FromHours(1), popularity: 100);
        c.Add("other", topic: 0);
        var user = StageCatalog.InterestedIn(0);
        user.MarkSeen(seen.Ordinal, 10);

        new CandidateStage(c.Catalog, Two).Retrieve(user).Select(c.Id).Should().Equal("other");
    }

    [Fact]
    public void The_popularity_order_is_built_again_after_an_engagement()
    {
        var c = new StageCatalog();
        c.Add("a", popularity: 10);
        var b = c.Add("b", popularity: 5);
        var stage = new CandidateStage(c.Catalog, new RankingOptions { FreshCandidates = 0, PopularCandidates = 1 });
        stage.Retrieve(StageCatalog.User()).Select(c.Id).Should().Equal("a");

        c.Catalog.AddEngagement(b.Ordinal, 20);
        stage.EngagementChanged();

        stage.Retrieve(StageCatalog.User()).Select(c.Id).Should().Equal("b");
    }
}
