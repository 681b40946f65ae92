using FluentAssertions;
using Recommender.Core.Users;

namespace Recommender.Tests;

public sealed class PersonalisationTests
{
    private static Interaction Watch(string item, double seconds, DateTimeOffset at) =>
        new("u", item, InteractionKind.Watch, at, TimeSpan.FromSeconds(seconds));

    [Fact]
    public void Liking_a_topic_brings_more_of_it_to_the_top()
    {
        var w = new TestWorld();
        w.AddMany("cooking", 0, 10);
        w.AddMany("cars", 1, 10);

        w.Ranker.Record(new Interaction("u", "cooking-0", InteractionKind.Like, w.Clock.GetUtcNow()));
        w.Ranker.Record(new Interaction("u", "cooking-1", InteractionKind.Share, w.Clock.GetUtcNow()));

        var page = w.Feed("u", 5);
        TestWorld.Ids(page).Should().OnlyContain(id => id.StartsWith("cooking-"));
        page.Items[0].Reasons.Should().Contain(r => r.StartsWith("matches your interests"));
        TestWorld.Ids(page).Should().NotContain(["cooking-0", "cooking-1"], "items already interacted with are not recommended again");
    }

    [Fact]
    public void A_fast_skip_counts_against_a_topic()
    {
        var w = new TestWorld();
        w.AddMany("cooking", 0, 10);
        w.AddMany("cars", 1, 10);
        var now = w.Clock.GetUtcNow();
        w.Ranker.Record(Watch("cooking-0", 0.5, now));
        w.Ranker.Record(Watch("cooking-1", 1, now));

        var page = w.Feed("u", 5);

        TestWorld.Ids(page).Should().OnlyContain(id => id.StartsWith("cars-"));
    }

    [Fact]
    public void Watching_to_the_end_counts_more_than_a_like()
    {
        var w = new TestWorld();
        w.AddMany("cooking", 0, 10);
        w.AddMany("cars", 1, 10);
        var now = w.Clock.GetUtcNow();
        w.Ranker.Record(new Interaction("u", "cars-0", InteractionKind.Like, now));
        w.Ranker.Record(Watch("cooking-0", 30, now));

        w.Feed("u", 1).Items[0].ItemId.Should().StartWith("cooking-");
    }

    [Fact]
    public void Interests_decay_so_recent_taste_wins()
    {
        var w = new TestWorld();
        w.AddMany("cooking", 0, 10);
        w.AddMany("cars", 1, 10);
        for (var i = 0; i < 4; i++) w.Ranker.Record(new Interaction("u", $"cooking-{i}", InteractionKind.Share, w.Clock.GetUtcNow()));
        w.Advance(TimeSpan.FromDays(30));
        w.Ranker.Record(new Interaction("u", "cars-0", InteractionKind.Share, w.Clock.GetUtcNow()));

        w.Feed("u", 1).Items[0].ItemId.Should().StartWith("cars-");
    }

    [Fact]
    public void A_late_event_counts_as_it_would_have_on_time()
    {
        var w = new TestWorld();
        w.AddMany("cooking", 0, 10);
        w.AddMany("cars", 1, 10);
        w.Advance(TimeSpan.FromDays(30));
        var now = w.Clock.GetUtcNow();
        w.Ranker.Record(new Interaction("u", "cars-0", InteractionKind.Like, now));
        w.Ranker.Record(new Interaction("u", "cooking-0", InteractionKind.Share, now - TimeSpan.FromDays(29)));

        w.Feed("u", 1).Items[0].ItemId.Should().StartWith("cars-", "a share from a month ago weighs less than today's like");
    }

    [Fact]
    public void Following_a_creator_lifts_their_items()
    {
        var w = new TestWorld();
        w.Add("a-1", 2, creator: "alice");
        w.Add("a-2", 3, creator: "alice");
        w.AddMany("other", 4, 10);
        w.Ranker.Record(new Interaction("u", "a-1", InteractionKind.Follow, w.Clock.GetUtcNow()));

        var top = w.Feed("u", 1).Items[0];
        top.ItemId.Should().Be("a-2");
        top.Reasons.Should().Contain("from a creator you follow");
    }

    [Fact]
    public void An_unknown_user_gets_a_cold_start_of_fresh_and_popular_items()
    {
        var w = new TestWorld();
        w.Add("old-popular", 0, age: TimeSpan.FromDays(60), popularity: 5000);
        w.Add("new", 1, age: TimeSpan.FromMinutes(5));
        w.Add("old", 2, age: TimeSpan.FromDays(60));

        var page = w.Feed("nobody", 2);

        page.KnownUser.Should().BeFalse();
        TestWorld.Ids(page).Should().BeEquivalentTo(["old-popular", "new"]);
        w.Ranker.IsKnownUser("nobody").Should().BeFalse("reading a feed creates no profile");
    }

    [Theory]
    [InlineData(-1.0, "watchTime")]
    [InlineData(90_000.0, "watchTime")]
    public void Impossible_watch_times_are_refused(double seconds, string field)
    {
        var w = new TestWorld();
        w.Add("a", 0);
        var act = () => w.Ranker.Record(Watch("a", seconds, w.Clock.GetUtcNow()));
        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be(field);
        w.Ranker.IsKnownUser("u").Should().BeFalse("nothing was recorded");
    }

    [Fact]
    public void Interactions_in_the_future_unknown_items_and_bad_users_are_refused()
    {
        var w = new TestWorld();
        w.Add("a", 0);
        var now = w.Clock.GetUtcNow();
        FluentActions.Invoking(() => w.Ranker.Record(new Interaction("u", "a", InteractionKind.Like, now.AddHours(1))))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("at");
        FluentActions.Invoking(() => w.Ranker.Record(new Interaction("u", "missing", InteractionKind.Like, now)))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("itemId");
        FluentActions.Invoking(() => w.Ranker.Record(new Interaction(" ", "a", InteractionKind.Like, now)))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("userId");
        FluentActions.Invoking(() => w.Ranker.Record(new Interaction("u", "a", InteractionKind.Watch, now)))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("watchTime");
        FluentActions.Invoking(() => w.Ranker.Record(new Interaction("u", "a", InteractionKind.Like, now, TimeSpan.FromSeconds(3))))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("watchTime");
        FluentActions.Invoking(() => w.Ranker.Rank("u", 0)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("count");
        w.Ranker.IsKnownUser("u").Should().BeFalse();
    }

    [Fact]
    public void Catalog_items_with_the_wrong_embedding_are_refused()
    {
        var w = new TestWorld();
        FluentActions.Invoking(() => w.Ranker.Upsert(new Recommender.Core.Catalog.CatalogItem("x", "c", new float[3], w.Clock.GetUtcNow())))
            .Should().Throw<ArgumentException>().WithMessage("*3 floats*8*");
        FluentActions.Invoking(() => w.Ranker.Upsert(new Recommender.Core.Catalog.CatalogItem("x", "c", [float.NaN, 0, 0, 0, 0, 0, 0, 0], w.Clock.GetUtcNow())))
            .Should().Throw<ArgumentException>().WithMessage("*non-finite*");
        w.Catalog.Count.Should().Be(0);
    }
}
