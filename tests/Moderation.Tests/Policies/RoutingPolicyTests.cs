using FluentAssertions;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;
using Moderation.Core.Signals;
using Moderation.Core.Uploads;

namespace Moderation.Tests.Policies;

public sealed class RoutingPolicyTests
{
    private static RoutingPolicy Policy(PolicyMode mode = PolicyMode.Enforce) => new(new RoutingPolicyOptions
    {
        Version = "p1",
        Mode = mode,
        Default = new CategoryThresholds { Review = 0.5, Action = 0.9 },
        Categories = new()
        {
            ["harm"] = new CategoryThresholds { Review = 0.4, Action = 0.8 },
            ["misinformation"] = new CategoryThresholds { Review = 0.6, Action = 0.95, OnAction = SignalActionSetting.Label },
        },
        DemotionFloor = 0.2,
    });

    private static CategoryScore S(string category, double score, string model = "m1") => new(category, score, model, []);

    [Fact]
    public void Scores_below_every_review_threshold_are_allowed_with_no_signal_action()
    {
        var decision = Policy().Route([S("harm", 0.1), S("bias", 0.49)]);
        decision.Status.Should().Be(UploadStatus.Allowed);
        decision.Categories.Should().OnlyContain(c => c.Outcome == RouteOutcome.Allow && c.SignalAction == SignalAction.None && c.DemotionMultiplier == 1.0);
        decision.Reason.Should().Contain("policy p1");
    }

    [Fact]
    public void A_score_between_thresholds_goes_to_review_with_a_provisional_demotion()
    {
        var decision = Policy().Route([S("bias", 0.7)]);
        decision.Status.Should().Be(UploadStatus.InReview);
        var route = decision.Categories.Single();
        route.Outcome.Should().Be(RouteOutcome.Review);
        route.SignalAction.Should().Be(SignalAction.Demote);
        // Halfway from 0.5 to 0.9 demotes halfway from 1.0 to the floor 0.2.
        route.DemotionMultiplier.Should().BeApproximately(0.6, 1e-9);
        route.Reason.Should().Be("bias scored 0.70 >= review threshold 0.50 and < action threshold 0.90 (policy p1)");
    }

    [Fact]
    public void The_most_severe_category_decides_the_upload_and_its_reason()
    {
        var decision = Policy().Route([S("bias", 0.7), S("harm.hate", 0.85), S("misinformation", 0.1)]);
        decision.Status.Should().Be(UploadStatus.Actioned);
        decision.Reason.Should().StartWith("harm.hate scored 0.85 >= action threshold 0.80");
        decision.Categories.Single(c => c.Category == "harm.hate").SignalAction.Should().Be(SignalAction.Ineligible);
    }

    [Fact]
    public void A_sub_category_falls_back_to_its_parent_then_to_the_default()
    {
        var policy = Policy();
        policy.ThresholdsFor("harm.hate.slur").Review.Should().Be(0.4);
        policy.ThresholdsFor("bias.gender").Review.Should().Be(0.5);
    }

    [Fact]
    public void An_action_configured_as_label_does_not_demote()
    {
        var route = Policy().Route([S("misinformation", 0.97)]).Categories.Single();
        route.Outcome.Should().Be(RouteOutcome.Action);
        route.SignalAction.Should().Be(SignalAction.Label);
        route.DemotionMultiplier.Should().Be(1.0);
    }

    [Fact]
    public void The_highest_score_of_several_model_versions_decides()
    {
        var route = Policy().Route([S("harm", 0.2, "old"), S("harm", 0.85, "new")]).Categories.Single();
        route.ModelVersion.Should().Be("new");
        route.Outcome.Should().Be(RouteOutcome.Action);
    }

    [Fact]
    public void Thresholds_are_inclusive_at_both_boundaries()
    {
        Policy().Route([S("bias", 0.5)]).Status.Should().Be(UploadStatus.InReview);
        Policy().Route([S("bias", 0.9)]).Status.Should().Be(UploadStatus.Actioned);
    }

    [Fact]
    public void Observe_mode_scores_without_acting()
    {
        var decision = Policy(PolicyMode.Observe).Route([S("harm", 0.99)]);
        decision.Status.Should().Be(UploadStatus.Scored);
        decision.Categories.Single().SignalAction.Should().Be(SignalAction.None);
        decision.Categories.Single().Outcome.Should().Be(RouteOutcome.Action, "the outcome is still recorded for comparison");
    }

    [Fact]
    public void No_scores_means_allowed_and_says_why()
    {
        var decision = Policy().Route([]);
        decision.Status.Should().Be(UploadStatus.Allowed);
        decision.Reason.Should().Contain("no scorer produced a score");
    }

    private static AttributedAbstention Declined(string code, string reason = "why", double confidence = 0.97) =>
        new("text", new Abstention(code, reason, "detector-1", confidence));

    [Fact]
    public void Nothing_to_judge_is_recorded_not_routed_and_the_reason_says_so()
    {
        var decision = Policy().Route([], [Declined(AbstentionCodes.NoText, "no text score: it is empty")]);
        decision.Status.Should().Be(UploadStatus.Allowed);
        decision.Categories.Should().BeEmpty();
        decision.Reason.Should().Be("not scored: text: no text score: it is empty (policy p1)");
    }

    [Fact]
    public void An_unsupported_language_goes_to_review_without_a_demotion_and_its_signal_says_why()
    {
        var decision = Policy().Route([S("harm.sexual", 0.1)], [Declined(AbstentionCodes.LanguageUnsupported, "written in Spanish (es, confidence 0.97)")]);
        decision.Status.Should().Be(UploadStatus.InReview);
        var route = decision.Categories.Single(c => c.Category == AbstentionCodes.LanguageUnsupported);
        route.Outcome.Should().Be(RouteOutcome.Review);
        route.SignalAction.Should().Be(SignalAction.None);
        route.DemotionMultiplier.Should().Be(1.0, "a post is not held back for the language it is written in");
        route.Score.Should().Be(0.97);
        route.ModelVersion.Should().Be("detector-1");
        route.Reason.Should().Contain("Spanish").And.Contain("policy p1");
    }

    [Fact]
    public void The_policy_can_allow_an_unsupported_language_and_a_harmful_score_still_decides()
    {
        var options = new RoutingPolicyOptions { Version = "p2" };
        options.Unscored[AbstentionCodes.LanguageUnsupported] = UnscoredOutcome.Allow;
        var allowed = new RoutingPolicy(options).Route([], [Declined(AbstentionCodes.LanguageUnsupported)]);
        allowed.Status.Should().Be(UploadStatus.Allowed);
        allowed.Categories.Single().Outcome.Should().Be(RouteOutcome.Allow);

        var withMedia = Policy().Route([S("harm.sexual", 0.95)], [Declined(AbstentionCodes.LanguageUnsupported)]);
        withMedia.Status.Should().Be(UploadStatus.Actioned);
    }

    [Fact]
    public void Options_reject_inverted_thresholds()
    {
        var options = new RoutingPolicyOptions { Categories = new() { ["harm"] = new CategoryThresholds { Review = 0.9, Action = 0.5 } } };
        options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).Should().ContainSingle()
            .Which.ErrorMessage.Should().Contain("'harm'");
    }
}
