using FluentAssertions;
using Recommender.Core.Safety;
using Recommender.Core.Signals;

namespace Recommender.Tests;

public sealed class SafetyLayerTests
{
    /// <summary>Ten items of one topic, the user interested in it; item-0 ranks first without signals.</summary>
    private static TestWorld World(SafetyPolicy? policy = null)
    {
        var w = new TestWorld(policy);
        for (var i = 0; i < 10; i++) w.Add($"item-{i}", 0, popularity: 100 - i * 10);
        w.Add("seed", 0);
        w.Ranker.Record(new Recommender.Core.Users.Interaction("u", "seed", Recommender.Core.Users.InteractionKind.Like, w.Clock.GetUtcNow()));
        return w;
    }

    [Fact]
    public void An_ineligible_item_is_never_ranked()
    {
        var w = World();
        w.Feed("u").Items[0].ItemId.Should().Be("item-0");
        w.Signal("item-0", "harm", 0.95, SignalActions.Ineligible, 0);

        var page = w.Feed("u");

        TestWorld.Ids(page).Should().NotContain("item-0");
        page.Removed["ineligible"].Should().Be(1);
    }

    [Fact]
    public void An_interstitial_item_is_shown_with_a_warning_and_no_autoplay()
    {
        var w = World();
        w.Signal("item-0", "harm.violence", 0.92, SignalActions.Interstitial);

        var item = w.Feed("u").Items.Single(i => i.ItemId == "item-0");

        item.Interstitial.Should().BeTrue();
        item.Autoplay.Should().BeFalse();
        item.Labels.Should().Contain("harm.violence");
        item.Reasons.Should().Contain(r => r.StartsWith("interstitial: harm.violence 0.92 (model m-1, signal"));
    }

    [Fact]
    public void Demotions_multiply_across_categories_with_the_policy_strength_and_a_floor()
    {
        var w = World(new SafetyPolicy { DemotionStrength = 2, DemotionFloor = 0.05, MissingScore = new Dictionary<string, MissingScoreRule>() });
        w.Signal("item-0", "harm", 0.6, SignalActions.Demote, 0.8);
        w.Signal("item-0", "misinformation", 0.7, SignalActions.Demote, 0.5);
        w.Signal("item-1", "harm", 0.85, SignalActions.Demote, 0.1);

        var page = w.Feed("u");
        var first = page.Items.Single(i => i.ItemId == "item-0");
        first.SafetyMultiplier.Should().BeApproximately(0.64 * 0.25, 1e-9);
        first.Reasons.Should().Contain(r => r.StartsWith("demoted x0.64: harm 0.60"));
        page.Items.Single(i => i.ItemId == "item-1").SafetyMultiplier.Should().Be(0.05, "0.1 squared is below the floor");
        page.Items[0].ItemId.Should().Be("item-2");
    }

    [Fact]
    public void A_label_is_carried_with_its_reason()
    {
        var w = World();
        w.Signal("item-0", "misinformation", 0.97, SignalActions.Label);

        var item = w.Feed("u").Items[0];

        item.ItemId.Should().Be("item-0");
        item.Labels.Should().Equal("misinformation");
        item.Reasons.Should().Contain(r => r.StartsWith("labelled: misinformation 0.97"));
    }

    [Fact]
    public void Cached_verdicts_follow_every_change_whether_one_item_changed_or_all_of_them()
    {
        var w = World();
        var first = w.Signal("item-1", "harm", 0.95, SignalActions.Ineligible, 0);
        TestWorld.Ids(w.Feed("u")).Should().NotContain("item-1").And.Contain("item-0");

        // Only the changed items are evaluated again; a retraction changes the item it retracts.
        w.Signal("item-0", "harm", 0.95, SignalActions.Ineligible, 0);
        w.Signal("item-2", "harm", 0.1, SignalActions.None, 1, retracts: first.Seq);
        TestWorld.Ids(w.Feed("u")).Should().NotContain("item-0").And.Contain("item-1").And.Contain("item-2");
        w.Store.ChangedSince(w.Store.Version).Should().BeEmpty();
        w.Store.ChangedSince(w.Store.Version - 2).Should().BeEquivalentTo(["item-0", "item-2", "item-1"]);

        // Pruning touches every item: the ranker forgets every verdict, and still gets each one right.
        w.Signal("item-3", "harm", 0.95, SignalActions.Ineligible, 0, expires: w.Clock.GetUtcNow().AddMinutes(1));
        TestWorld.Ids(w.Feed("u")).Should().NotContain("item-3");
        w.Advance(TimeSpan.FromMinutes(2));
        w.Store.PruneExpired(w.Clock.GetUtcNow()).Should().Be(1);
        w.Store.ChangedSince(w.Store.Version - 1).Should().BeNull();
        TestWorld.Ids(w.Feed("u")).Should().Contain("item-3").And.NotContain("item-0");
    }

    [Fact]
    public void A_human_decision_overrides_the_model_and_a_retraction_restores_the_item()
    {
        var w = World();
        var model = w.Signal("item-0", "harm", 0.95, SignalActions.Ineligible, 0);
        TestWorld.Ids(w.Feed("u")).Should().NotContain("item-0");

        w.Signal("item-0", "harm", 0.95, SignalActions.None, 1, SignalSources.Human, retracts: model.Seq);
        w.Signal("item-0", "harm", 0.99, SignalActions.Ineligible, 0, SignalSources.Model);

        TestWorld.Ids(w.Feed("u")).Should().Contain("item-0", "a later model signal does not override the moderator");
    }

    [Fact]
    public void An_expired_provisional_signal_stops_applying()
    {
        var w = World();
        w.Signal("item-0", "harm", 0.95, SignalActions.Ineligible, 0, expires: w.Clock.GetUtcNow().AddMinutes(10));
        TestWorld.Ids(w.Feed("u")).Should().NotContain("item-0");

        w.Advance(TimeSpan.FromMinutes(11));

        TestWorld.Ids(w.Feed("u")).Should().Contain("item-0");
    }

    [Fact]
    public void Missing_scores_follow_the_rule_of_each_category()
    {
        var policy = new SafetyPolicy
        {
            MissingScore = new Dictionary<string, MissingScoreRule>
            {
                ["harm"] = new(MissingScoreMode.ProvisionalDemotion, 0.5),
                ["misinformation"] = new(MissingScoreMode.FailOpen),
            },
        };
        var w = World(policy);
        w.Signal("item-1", "harm.hate", 0.1, SignalActions.None);

        var page = w.Feed("u");
        var unscored = page.Items.Single(i => i.ItemId == "item-0");
        unscored.SafetyMultiplier.Should().Be(0.5);
        unscored.Reasons.Should().Contain("provisionally demoted x0.5: not scored for harm yet");
        page.Items.Single(i => i.ItemId == "item-1").SafetyMultiplier.Should().Be(1, "a sub-category's signal counts as scored");

        var withhold = World(new SafetyPolicy { MissingScore = new Dictionary<string, MissingScoreRule> { ["harm"] = new(MissingScoreMode.Withhold) } });
        withhold.Signal("item-1", "harm", 0.1, SignalActions.None);
        TestWorld.Ids(withhold.Feed("u")).Should().Equal("item-1");
    }

    [Fact]
    public void When_the_feed_is_stale_unscored_items_are_withheld_and_scored_ones_keep_their_signals()
    {
        var w = World();
        w.Signal("item-1", "harm", 0.1, SignalActions.None);
        w.Signal("item-2", "harm", 0.95, SignalActions.Ineligible, 0);
        w.Clock.Advance(TimeSpan.FromMinutes(6));

        var page = w.Feed("u");

        page.FeedStale.Should().BeTrue();
        TestWorld.Ids(page).Should().Equal("item-1");
    }

    [Fact]
    public void Less_sensitivity_gates_more_and_minors_cannot_choose_more()
    {
        var w = World();
        // Different topics, so that diversity never has to keep them apart.
        w.Signal("item-0", "misinformation", 0.55, SignalActions.Demote, 0.9);
        w.Signal("item-1", "harm", 0.8, SignalActions.Demote, 0.3);

        w.Ranker.SetSensitivity("u", SensitivityLevel.Less);
        var page = w.Feed("u");
        page.Items.Single(i => i.ItemId == "item-0").Interstitial.Should().BeTrue();
        page.Items.Single(i => i.ItemId == "item-0").Reasons.Should().Contain(r => r.EndsWith("(your sensitivity setting)"));
        TestWorld.Ids(page).Should().NotContain("item-1");

        w.Ranker.SetSensitivity("u", SensitivityLevel.More);
        var more = w.Feed("u");
        more.Items.Single(i => i.ItemId == "item-1").SafetyMultiplier.Should().BeGreaterThan(
            w.Ranker.Rank("standard-user").Items.Single(i => i.ItemId == "item-1").SafetyMultiplier);

        w.Ranker.SetMinor("u", true);
        w.Ranker.GetControls("u").Sensitivity.Should().Be(SensitivityLevel.Standard);
        FluentActions.Invoking(() => w.Ranker.SetSensitivity("u", SensitivityLevel.More))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("sensitivity");
    }

    [Fact]
    public void Minors_do_not_see_interstitial_items()
    {
        var w = World();
        w.Signal("item-0", "harm.violence", 0.92, SignalActions.Interstitial);
        w.Ranker.SetMinor("u", true);

        TestWorld.Ids(w.Feed("u")).Should().NotContain("item-0");
    }

    [Fact]
    public void A_human_demotion_ranks_the_item_lower_and_keeps_it_eligible()
    {
        var w = World();
        // What the service sends for a reviewer's Demote decision: a demotion with a multiplier, never ineligible.
        w.Signal("item-0", "harm", 1.0, SignalActions.Demote, 0.2, SignalSources.Human);

        var page = w.Feed("u");

        var item = page.Items.Single(i => i.ItemId == "item-0");
        item.SafetyMultiplier.Should().BeApproximately(Math.Max(Math.Pow(0.2, SafetyPolicy.Default.DemotionStrength), SafetyPolicy.Default.DemotionFloor), 1e-12);
        item.SafetyMultiplier.Should().BeGreaterThan(0, "demoted, not removed");
        item.Reasons.Should().Contain(r => r.StartsWith("demoted x0.008: harm 1.00 (human"));
        page.Removed.GetValueOrDefault("ineligible").Should().Be(0);
        page.Items[0].ItemId.Should().NotBe("item-0", "it ranked first before the demotion");
    }

    [Fact]
    public void A_label_with_a_reduced_multiplier_is_labelled_and_ranked_lower()
    {
        var w = World();
        // A reviewer's misinformation label: the service's policy gives it reduced reach (multiplier below 1).
        w.Signal("item-0", "misinformation", 1.0, SignalActions.Label, 0.5, SignalSources.Human);
        // A plain label (multiplier 1) keeps full reach.
        w.Signal("item-1", "harm", 1.0, SignalActions.Label, 1.0, SignalSources.Human);

        var page = w.Feed("u");

        var misinformation = page.Items.Single(i => i.ItemId == "item-0");
        misinformation.Labels.Should().Contain("misinformation");
        misinformation.SafetyMultiplier.Should().BeApproximately(Math.Pow(0.5, SafetyPolicy.Default.DemotionStrength), 1e-12);
        var plain = page.Items.Single(i => i.ItemId == "item-1");
        plain.Labels.Should().Contain("harm");
        plain.SafetyMultiplier.Should().Be(1.0);
    }

    [Fact]
    public void Minors_do_not_see_an_unreviewed_sensitive_item_until_a_human_reviews_it()
    {
        var w = World();
        // The trial's case: a model demotion of a self-harm post, no interstitial asked for.
        w.Signal("item-0", "harm.self_harm", 0.7, SignalActions.Demote, 0.49);
        // A sensitive category scored high with no action yet (e.g. observe mode), and one scored low.
        w.Signal("item-1", "harm.sexual", 0.6, SignalActions.None);
        w.Signal("item-2", "harm.self_harm", 0.1, SignalActions.None);
        // A category not on the list is not gated.
        w.Signal("item-3", "misinformation", 0.7, SignalActions.Demote, 0.49);
        w.Ranker.SetMinor("minor", true);
        w.Ranker.Record(new Recommender.Core.Users.Interaction("minor", "seed", Recommender.Core.Users.InteractionKind.Like, w.Clock.GetUtcNow()));

        var minor = TestWorld.Ids(w.Feed("minor")).ToList();
        minor.Should().NotContain(["item-0", "item-1"]);
        minor.Should().Contain(["item-2", "item-3"]);
        var adult = w.Feed("u");
        adult.Items.Single(i => i.ItemId == "item-0").Interstitial.Should().BeFalse("adults get the service's demotion only");

        // A policy that lets minors see interstitials shows the unreviewed item behind the warning.
        var gated = World(new SafetyPolicy { MinorsSeeInterstitials = true, MissingScore = new Dictionary<string, MissingScoreRule>() });
        gated.Signal("item-0", "harm.self_harm", 0.7, SignalActions.Demote, 0.49);
        gated.Ranker.SetMinor("u", true);
        var shown = gated.Feed("u").Items.Single(i => i.ItemId == "item-0");
        shown.Interstitial.Should().BeTrue();
        shown.Autoplay.Should().BeFalse();
        shown.Reasons.Should().Contain(r => r.StartsWith("interstitial for minors: not reviewed by a human yet: harm.self_harm 0.70"));

        // A reviewer allows it: the human signal lifts the gate.
        w.Signal("item-0", "harm.self_harm", 0.0, SignalActions.None, 1, SignalSources.Human);
        TestWorld.Ids(w.Feed("minor")).Should().Contain("item-0");
    }

    [Fact]
    public void The_sensitive_categories_for_minors_are_one_list_that_covers_sub_categories()
    {
        var policy = SafetyPolicy.Default;
        policy.MinorSensitiveCategories.Should().BeSameAs(SafetyPolicy.DefaultMinorSensitiveCategories);
        policy.IsSensitiveForMinors("harm.self_harm").Should().BeTrue();
        policy.IsSensitiveForMinors("harm.violence.graphic").Should().BeTrue();
        policy.IsSensitiveForMinors("harm.sexual").Should().BeTrue();
        policy.IsSensitiveForMinors("harm.self_harmless").Should().BeFalse("a prefix is not a sub-category");
        policy.IsSensitiveForMinors("harm").Should().BeFalse();
        policy.IsSensitiveForMinors("misinformation").Should().BeFalse();
        var act = () => new TestWorld(new SafetyPolicy { MinorGateFrom = 1.5 });
        act.Should().Throw<ArgumentException>().WithMessage("*MinorGateFrom*");
    }

    [Fact]
    public void With_the_layer_off_nothing_is_removed_or_demoted()
    {
        var w = World(SafetyPolicy.Off);
        w.Signal("item-0", "harm", 0.95, SignalActions.Ineligible, 0);

        w.Feed("u").Items[0].Should().BeEquivalentTo(new { ItemId = "item-0", SafetyMultiplier = 1.0, Interstitial = false });
    }

    [Fact]
    public void A_bad_policy_is_refused_at_construction()
    {
        var act = () => new TestWorld(new SafetyPolicy { DemotionFloor = 2 });
        act.Should().Throw<ArgumentException>().WithMessage("*DemotionFloor*");
    }
}
