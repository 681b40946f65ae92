using FluentAssertions;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;

namespace Moderation.Tests.Policies;

/// <summary>The backtest's pure parts: its intervals, and routing without reasons deciding exactly as routing with them.</summary>
public sealed class BacktestEstimateTests
{
    [Theory]
    [InlineData(10, 20, 0.2993, 0.7007)]
    [InlineData(0, 10, 0.0, 0.2775)]
    [InlineData(95, 100, 0.8882, 0.9785)]
    public void Wilson_intervals_match_the_textbook_values(int yes, int n, double low, double high)
    {
        var estimate = Estimate.From(yes, n, n, n);
        estimate.Value.Should().BeApproximately((double)yes / n, 1e-12);
        estimate.Low.Should().BeApproximately(low, 5e-4);
        estimate.High.Should().BeApproximately(high, 5e-4);
        estimate.EffectiveLabels.Should().Be(n);
        estimate.FewLabels.Should().Be(n < 30);
    }

    [Fact]
    public void Unequal_weights_shrink_the_effective_number_of_labels_and_widen_the_interval()
    {
        // 40 labels: 20 weighing 1 and 20 weighing 9 (sampled at a ninth of the rate), Kish's n = (Σw)² / Σw² = 200² / 1640.
        var weighted = Estimate.From(weightedYes: 100, weightSum: 200, weightSquares: 20 * 1 + 20 * 81, labels: 40);
        weighted.EffectiveLabels.Should().BeApproximately(24.39, 0.01);
        weighted.FewLabels.Should().BeTrue();
        var equal = Estimate.From(20, 40, 40, 40);
        (weighted.High!.Value - weighted.Low!.Value).Should().BeGreaterThan(equal.High!.Value - equal.Low!.Value);
        Estimate.From(0, 0, 0, 0).Value.Should().BeNull();
    }

    [Fact]
    public void Routing_without_reasons_decides_exactly_as_routing_with_them()
    {
        var policy = new RoutingPolicy(new RoutingPolicyOptions
        {
            Categories = { ["harm.self_harm"] = new CategoryThresholds { Review = 0.3, Action = 0.8, OnReview = ReviewBandSetting.None } },
            Locales = { ["de"] = new() { ["harm"] = new CategoryThresholds { Review = 0.6, Action = 0.95, DemotionFloor = 0.4 } } },
            ActOnModels = ["m-act-*"],
        });
        var random = new Random(7);
        string[] categories = ["harm", "harm.self_harm", "harm.hate", "misinformation"];
        for (var i = 0; i < 2000; i++)
        {
            var scores = categories.Where(_ => random.NextDouble() < 0.7).Select(c => new CategoryScore(c, random.NextDouble(),
                random.Next(3) == 0 ? "m-review" : "m-act-1", [],
                Match: random.Next(20) == 0 ? new MatchVerdict("hash_match", SignalActionName(random.Next(5))) : null,
                ReviewOnly: random.Next(4) == 0)).ToList();
            var locale = random.Next(3) == 0 ? "de-AT" : null;
            var explained = policy.Route(scores, null, locale);
            var bare = policy.Route(scores, null, locale, explain: false);
            bare.Status.Should().Be(explained.Status);
            bare.Categories.Select(c => (c.Category, c.Outcome, c.SignalAction, c.DemotionMultiplier, c.Source))
                .Should().Equal(explained.Categories.Select(c => (c.Category, c.Outcome, c.SignalAction, c.DemotionMultiplier, c.Source)));
            bare.Categories.Where(c => c.Reason != "").Should().BeEmpty();
        }
    }

    private static string SignalActionName(int i) => i switch { 0 => "none", 1 => "label", 2 => "demote", 3 => "interstitial", _ => "ineligible" };
}
