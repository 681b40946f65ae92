using FluentAssertions;
using Recommender.Core.Catalog;
using Recommender.Core.Pipeline;
using Recommender.Core.Safety;
using Recommender.Core.Signals;
using Recommender.Core.Users;

namespace Recommender.Tests.Stages;

public sealed class SafetyStageTests
{
    private static readonly DateTimeOffset Now = StageCatalog.Now;
    private readonly StageCatalog c = new();
    private readonly SignalStore store = new(new SignalStoreOptions { ItemKey = SignalItemKey.ExternalId });
    private long seq;

    public SafetyStageTests()
    {
        c.Add("a");
        c.Add("b");
        store.MarkSynced(Now);
    }

    private SafetyStage Stage(SafetyPolicy? policy = null) =>
        new(c.Catalog, store, policy ?? new SafetyPolicy { MissingScore = new Dictionary<string, MissingScoreRule>() });

    private void Signal(string item, string action, double score, DateTimeOffset? expires = null) =>
        store.Apply(new RiskSignal(++seq, "u-" + item, item, "harm", score, action, action == SignalActions.Demote ? 0.5 : action == SignalActions.None ? 1 : 0,
            SignalSources.Model, "m-1", null, Now, expires, null));

    private SafetyVerdict Verdict(SafetyStage stage, string item, UserProfile? user = null, DateTimeOffset? at = null)
    {
        lock (store.Gate)
        {
            stage.Refresh(at ?? Now);
            return stage.Verdict(c.Entry(item), user ?? StageCatalog.User(), at ?? Now);
        }
    }

    [Fact]
    public void The_signals_decide_ineligible_interstitial_demotion_and_labels()
    {
        Signal("a", SignalActions.Ineligible, 0.95);
        Signal("b", SignalActions.Interstitial, 0.8);
        var stage = Stage();

        Verdict(stage, "a").Ineligible.Should().BeTrue();
        var b = Verdict(stage, "b");
        b.Ineligible.Should().BeFalse();
        b.Interstitial.Should().BeTrue();
        b.Labels.Should().Equal("harm");
        b.SensitiveTopic.Should().Be("harm");
    }

    [Fact]
    public void A_verdict_is_kept_until_a_signal_of_its_own_item_arrives()
    {
        Signal("a", SignalActions.None, 0.1);
        Signal("b", SignalActions.None, 0.1);
        var stage = Stage();
        var a = Verdict(stage, "a");
        var b = Verdict(stage, "b");

        Signal("b", SignalActions.Demote, 0.6);

        Verdict(stage, "a").Should().BeSameAs(a);
        var newB = Verdict(stage, "b");
        newB.Should().NotBeSameAs(b);
        newB.Multiplier.Should().BeApproximately(Math.Pow(0.5, 3), 1e-12, "the service's 0.5 raised to the default strength 3");
    }

    [Fact]
    public void Each_viewer_class_has_its_own_verdict()
    {
        Signal("a", SignalActions.Interstitial, 0.8);
        var stage = Stage();
        var minor = StageCatalog.User("minor");
        minor.IsMinor = true;

        Verdict(stage, "a").Interstitial.Should().BeTrue();
        Verdict(stage, "a", minor).Ineligible.Should().BeTrue("minors are not shown interstitial content");
        Verdict(stage, "a").Ineligible.Should().BeFalse();
    }

    [Fact]
    public void A_verdict_is_evaluated_again_when_its_signal_expires()
    {
        Signal("a", SignalActions.Ineligible, 0.95, expires: Now.AddHours(1));
        // The feed's staleness off, so that only the expiry can make the verdict change.
        var stage = Stage(new SafetyPolicy { MissingScore = new Dictionary<string, MissingScoreRule>(), WithholdUnscoredWhenFeedStaleFor = null });
        var before = Verdict(stage, "a", at: Now.AddMinutes(59));
        before.Should().BeSameAs(Verdict(stage, "a"));

        Verdict(stage, "a").Ineligible.Should().BeTrue();
        Verdict(stage, "a", at: Now.AddHours(1)).Ineligible.Should().BeFalse();
    }

    [Fact]
    public void While_the_feed_is_stale_items_without_signals_are_withheld()
    {
        Signal("a", SignalActions.None, 0.1);
        var stage = Stage();
        var later = Now.AddMinutes(6); // past the default 5 minutes

        Verdict(stage, "b", at: later).Ineligible.Should().BeTrue();
        stage.FeedStale.Should().BeTrue();
        Verdict(stage, "a", at: later).Ineligible.Should().BeFalse("a scored item is not withheld");

        store.MarkSynced(later);
        Verdict(stage, "b", at: later).Ineligible.Should().BeFalse();
        stage.FeedStale.Should().BeFalse();
    }

    [Fact]
    public void With_the_policy_off_every_item_is_clear()
    {
        Signal("a", SignalActions.Ineligible, 0.99);

        Verdict(Stage(SafetyPolicy.Off), "a").Should().BeSameAs(SafetyVerdict.Clear);
    }
}
