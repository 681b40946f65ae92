using FluentAssertions;
using Recommender.Core.Signals;

namespace Recommender.Tests;

public sealed class SignalStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static RiskSignal S(long seq, string item, string category = "harm", string action = SignalActions.Demote, double score = 0.6,
        string source = SignalSources.Model, DateTimeOffset? expires = null, long? retracts = null) =>
        new(seq, "u-" + item, item, category, score, action, 0.5, source, "m-1", "p-1", T0, expires, retracts);

    [Fact]
    public void A_signal_at_or_below_the_cursor_is_a_repeat_and_changes_nothing()
    {
        var store = new SignalStore();
        store.Apply(S(1, "a")).Should().Be(SignalApplyResult.Applied);
        store.Apply(S(2, "b")).Should().Be(SignalApplyResult.Applied);
        var version = store.Version;

        store.Apply(S(2, "b", action: SignalActions.Ineligible)).Should().Be(SignalApplyResult.Repeat);
        store.Apply(S(1, "a")).Should().Be(SignalApplyResult.Repeat);

        store.Cursor.Should().Be(2);
        store.Version.Should().Be(version);
        store.SignalsFor("b", T0).Should().ContainSingle().Which.Action.Should().Be(SignalActions.Demote);
        store.Counts.Repeats.Should().Be(2);
    }

    [Fact]
    public void Items_are_keyed_by_the_configured_id()
    {
        var byUpload = new SignalStore(new SignalStoreOptions { ItemKey = SignalItemKey.UploadId });
        byUpload.Apply(S(1, "a"));
        byUpload.HasSignals("u-a").Should().BeTrue();
        byUpload.HasSignals("a").Should().BeFalse();
    }

    [Fact]
    public void A_retraction_withdraws_the_signal_it_names()
    {
        var store = new SignalStore();
        store.Apply(S(1, "a", action: SignalActions.Ineligible, score: 0.95));
        store.Apply(S(2, "a", action: SignalActions.None, score: 0.95, source: SignalSources.Human, retracts: 1));

        store.SignalsFor("a", T0).Should().ContainSingle().Which.Seq.Should().Be(2);
    }

    [Fact]
    public void An_expired_signal_stops_counting_at_its_expiry_and_is_pruned()
    {
        var store = new SignalStore();
        store.Apply(S(1, "a", expires: T0.AddHours(1)));

        store.SignalsFor("a", T0.AddMinutes(59)).Should().HaveCount(1);
        store.SignalsFor("a", T0.AddHours(1)).Should().BeEmpty();
        store.PruneExpired(T0.AddHours(2)).Should().Be(1);
        store.HasSignals("a").Should().BeTrue("it was scored once, even if nothing is in force now");
    }

    [Fact]
    public void Unreadable_values_are_read_the_safe_way()
    {
        var store = new SignalStore();
        store.Apply(S(1, "a", action: "quarantine") with { Score = double.NaN, DemotionMultiplier = double.PositiveInfinity }).Should().Be(SignalApplyResult.Applied);
        store.Apply(S(2, "") ).Should().Be(SignalApplyResult.Rejected);

        var signal = store.SignalsFor("a", T0).Single();
        signal.Action.Should().Be(SignalActions.Ineligible, "an action this library does not know is read as the most severe");
        signal.Score.Should().Be(1);
        signal.DemotionMultiplier.Should().Be(0);
        store.Counts.Should().Be((1L, 0L, 1L, 1L));
        store.Cursor.Should().Be(2, "a rejected signal is skipped, not retried forever");
    }

    [Fact]
    public void A_saved_store_resumes_with_the_same_cursor_and_signals()
    {
        var store = new SignalStore();
        store.Apply(S(1, "a"));
        store.Apply(S(2, "b", action: SignalActions.Ineligible));
        store.Apply(S(3, "b", action: SignalActions.None, source: SignalSources.Human, retracts: 2));
        store.MarkSynced(T0);
        var path = Path.Combine(Path.GetTempPath(), $"signals-{Guid.NewGuid():N}.json");
        try
        {
            store.Save(path);
            var loaded = SignalStore.Load(path);

            loaded.Cursor.Should().Be(3);
            loaded.LastSyncedAt.Should().Be(T0);
            loaded.SignalsFor("a", T0).Should().ContainSingle();
            loaded.SignalsFor("b", T0).Should().ContainSingle().Which.Seq.Should().Be(3);
            loaded.Apply(S(3, "c")).Should().Be(SignalApplyResult.Repeat);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_missing_snapshot_is_an_empty_store_and_a_corrupt_one_is_refused()
    {
        SignalStore.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))).Cursor.Should().Be(0);
        var act = () => SignalStore.Load(new MemoryStream("{not json"u8.ToArray()));
        act.Should().Throw<InvalidDataException>();
    }
}
