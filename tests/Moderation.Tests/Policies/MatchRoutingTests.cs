using FluentAssertions;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;
using Moderation.Core.Signals;
using Moderation.Core.Uploads;

namespace Moderation.Tests.Policies;

/// <summary>A match against known content (a hash bank) routes by its own action, whatever the thresholds say.</summary>
public sealed class MatchRoutingTests
{
    private static RoutingPolicy Policy(PolicyMode mode = PolicyMode.Enforce) => new(new RoutingPolicyOptions
    {
        Version = "p1",
        Mode = mode,
        Default = new CategoryThresholds { Review = 0.5, Action = 0.9 },
        DemotionFloor = 0.2,
    });

    private static CategoryScore Match(string category, string bank, string action) =>
        new(category, 1.0, $"hash-bank:{bank}", ["matched"], Match: new MatchVerdict(SignalSource.HashMatch, action));

    [Theory]
    [InlineData(SignalAction.Ineligible, RouteOutcome.Action, UploadStatus.Actioned, 0.0)]
    [InlineData(SignalAction.Demote, RouteOutcome.Action, UploadStatus.Actioned, 0.2)]
    [InlineData(SignalAction.Label, RouteOutcome.Action, UploadStatus.Actioned, 1.0)]
    [InlineData(SignalAction.Interstitial, RouteOutcome.Action, UploadStatus.Actioned, 1.0)]
    [InlineData(SignalAction.None, RouteOutcome.Review, UploadStatus.InReview, 1.0)]
    public void A_match_sends_its_banks_action_with_source_hash_match(string action, string outcome, string status, double multiplier)
    {
        var decision = Policy().Route([Match("harm.violence", "gore", action)]);
        decision.Status.Should().Be(status);
        var route = decision.Categories.Single();
        route.Outcome.Should().Be(outcome);
        route.SignalAction.Should().Be(action);
        route.DemotionMultiplier.Should().Be(multiplier);
        route.Source.Should().Be(SignalSource.HashMatch);
        route.ModelVersion.Should().Be("hash-bank:gore");
        route.Reason.Should().Contain("hash-bank:gore").And.Contain(action);
    }

    [Fact]
    public void A_match_outranks_a_model_score_of_its_category_and_the_most_severe_match_wins()
    {
        var decision = Policy().Route([
            new CategoryScore("harm", 0.95, "model-v1", []),
            Match("harm", "soft", SignalAction.Label),
            Match("harm", "hard", SignalAction.Ineligible),
            new CategoryScore("bias", 0.1, "model-v1", []),
        ]);
        decision.Categories.Select(c => (c.Category, c.Source, c.SignalAction)).Should().Equal(
            ("bias", SignalSource.Model, SignalAction.None), ("harm", SignalSource.HashMatch, SignalAction.Ineligible));
    }

    [Fact]
    public void In_observe_mode_a_match_is_recorded_without_action()
    {
        var route = Policy(PolicyMode.Observe).Route([Match("harm", "gore", SignalAction.Ineligible)]).Categories.Single();
        route.SignalAction.Should().Be(SignalAction.None);
        route.Source.Should().Be(SignalSource.HashMatch);
    }
}
