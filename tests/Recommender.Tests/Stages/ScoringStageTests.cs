using FluentAssertions;
using Recommender.Core.Pipeline;
using Recommender.Core.Ranking;
using Recommender.Core.Users;

namespace Recommender.Tests.Stages;

public sealed class ScoringStageTests
{
    private static readonly RankingOptions Options = new();
    private static readonly DateTimeOffset Now = StageCatalog.Now;

    private static double Logit(double p) => Math.Log(p / (1 - p));

    private static EngagementModel Model(UserProfile user) => new ScoringStage(Options).For(user, Now);

    [Fact]
    public void An_old_unknown_item_for_a_user_without_history_scores_the_intercept()
    {
        var c = new StageCatalog();
        var item = c.Add("old", age: TimeSpan.FromDays(1000));

        var model = Model(StageCatalog.User());

        model.SimilarityWeight.Should().Be(0);
        Logit(model.Engagement(item)).Should().BeApproximately(Options.Bias, 1e-9);
        model.Explain(item).Should().Equal("exploring beyond your interests");
    }

    [Fact]
    public void Similarity_to_the_interests_counts_with_the_confidence_of_the_profile()
    {
        var c = new StageCatalog();
        var cooking = c.Add("cooking", topic: 0, age: TimeSpan.FromDays(1000));
        var cars = c.Add("cars", topic: 1, age: TimeSpan.FromDays(1000));

        // Interest mass 3: confidence 3/4 of the weight 4, so a perfect match adds 3 to the logit.
        var model = Model(StageCatalog.InterestedIn(0, mass: 3));

        Logit(model.Engagement(cooking)).Should().BeApproximately(Options.Bias + 3, 1e-6);
        Logit(model.Engagement(cars)).Should().BeApproximately(Options.Bias, 1e-6);
        model.Explain(cooking).Should().Equal("matches your interests (similarity 0.75)");
    }

    [Fact]
    public void Following_and_affinity_to_the_creator_add_their_weight()
    {
        var c = new StageCatalog();
        var item = c.Add("item", creator: "chef", age: TimeSpan.FromDays(1000));
        var user = StageCatalog.User();
        user.Follows.Add(item.Creator);
        user.CreatorAffinity[item.Creator] = 2;

        var model = Model(user);

        Logit(model.Engagement(item)).Should().BeApproximately(Options.Bias + Options.CreatorWeight * 3, 1e-9);
        model.Explain(item).Should().Equal("from a creator you follow");
    }

    [Fact]
    public void Fresh_and_popular_items_score_higher_and_say_so()
    {
        var c = new StageCatalog();
        var old = c.Add("old", age: TimeSpan.FromDays(1000));
        var fresh = c.Add("fresh", age: TimeSpan.FromHours(5));
        var popular = c.Add("popular", age: TimeSpan.FromDays(1000), popularity: 12);

        var model = Model(StageCatalog.User());

        // Freshness halves every 2 days: 5 hours old keeps 2^(-5/48) of its weight.
        Logit(model.Engagement(fresh)).Should().BeApproximately(Options.Bias + Options.FreshnessWeight * Math.Pow(2, -5.0 / 48), 1e-9);
        model.Engagement(popular).Should().BeGreaterThan(model.Engagement(old));
        model.Explain(fresh).Should().Equal("fresh (posted 5 h ago)");
        model.Explain(popular).Should().Equal("popular (12 engagement)");
    }
}
