using FluentAssertions;
using Recommender.Core.Signals;

namespace Recommender.Tests;

/// <summary>The HTTP signal source and follower against a real HTTP server serving the feed's JSON.</summary>
public sealed class SignalFollowerTests
{
    private static SignalFollower Follower(FeedServer server, SignalStore store, int pageSize = 2, string? snapshot = null) =>
        new(new HttpSignalSource(server.Client()), store, new SignalFollowerOptions { PageSize = pageSize, SnapshotPath = snapshot });

    [Fact]
    public async Task The_documented_page_shape_is_read_field_by_field()
    {
        await using var server = await FeedServer.StartAsync();
        server.Append(41, "video-1", category: "harm", score: 0.93, action: "ineligible", multiplier: 0);

        var page = await new HttpSignalSource(server.Client()).ReadAsync(0, 100, CancellationToken.None);

        page.NextCursor.Should().Be("41");
        var s = page.Signals.Should().ContainSingle().Subject;
        s.Should().BeEquivalentTo(new RiskSignal(41, "0196-video-1", "video-1", "harm", 0.93, "ineligible", 0, "model", "minilm-harm-1",
            "config-default", new DateTimeOffset(2026, 11, 29, 2, 0, 0, TimeSpan.Zero), null, null));
    }

    [Fact]
    public async Task A_follower_reads_every_page_once_and_resumes_from_its_cursor()
    {
        await using var server = await FeedServer.StartAsync();
        for (var i = 1; i <= 5; i++) server.Append(i, $"item-{i}");
        var store = new SignalStore();
        var follower = Follower(server, store);

        var first = await follower.PollAsync();
        first.Should().BeEquivalentTo(new { Applied = 5, Repeats = 0, CaughtUp = true, Error = (string?)null });
        store.Cursor.Should().Be(5);
        store.LastSyncedAt.Should().NotBeNull();

        server.Append(6, "item-6");
        var second = await follower.PollAsync();
        second.Applied.Should().Be(1);
        server.Requests.Should().Contain("?after=5&limit=2");
        store.Counts.Applied.Should().Be(6);
    }

    [Fact]
    public async Task A_feed_that_repeats_itself_applies_nothing_twice()
    {
        await using var server = await FeedServer.StartAsync();
        for (var i = 1; i <= 3; i++) server.Append(i, $"item-{i}");
        var store = new SignalStore();
        var follower = Follower(server, store, pageSize: 10);
        await follower.PollAsync();

        server.Mode = FeedMode.RepeatFromStart;
        server.Append(4, "item-4");
        var result = await follower.PollAsync();

        result.Applied.Should().Be(1, "only the new signal is new");
        result.Repeats.Should().BeGreaterThanOrEqualTo(3);
        result.Error.Should().Contain("repeated", "a feed that serves only old signals never says it is caught up");
        store.Counts.Applied.Should().Be(4);
        store.Cursor.Should().Be(4);

        var again = await follower.PollAsync();
        again.Applied.Should().Be(0);
        store.Counts.Applied.Should().Be(4);
    }

    [Fact]
    public async Task An_outage_keeps_the_cursor_and_the_next_poll_resumes()
    {
        await using var server = await FeedServer.StartAsync();
        server.Append(1, "item-1");
        server.Append(2, "item-2");
        var store = new SignalStore();
        var follower = Follower(server, store);
        await follower.PollAsync();
        var synced = store.LastSyncedAt;

        server.Mode = FeedMode.Down;
        server.Append(3, "item-3");
        var down = await follower.PollAsync();
        down.Error.Should().Contain("503");
        follower.ConsecutiveFailures.Should().Be(1);
        store.Cursor.Should().Be(2);
        store.LastSyncedAt.Should().Be(synced, "a failed poll is not a sync");

        server.Mode = FeedMode.Garbage;
        (await follower.PollAsync()).Error.Should().Contain("malformed");

        server.Mode = FeedMode.Hang;
        (await follower.PollAsync()).Error.Should().Contain("timed out");

        server.Mode = FeedMode.Normal;
        var back = await follower.PollAsync();
        back.Should().BeEquivalentTo(new { Applied = 1, Error = (string?)null });
        follower.ConsecutiveFailures.Should().Be(0);
        store.Cursor.Should().Be(3);
    }

    [Fact]
    public async Task A_server_that_is_gone_is_an_error_not_an_exception()
    {
        var server = await FeedServer.StartAsync();
        var client = server.Client();
        await server.DisposeAsync();
        var follower = new SignalFollower(new HttpSignalSource(client), new SignalStore());

        var result = await follower.PollAsync();

        result.Error.Should().Contain("could not be reached");
    }

    [Fact]
    public async Task A_cursor_that_goes_backwards_is_refused_without_applying_the_page()
    {
        await using var server = await FeedServer.StartAsync();
        server.Append(1, "item-1");
        server.Append(2, "item-2");
        server.Mode = FeedMode.Backwards;
        var store = new SignalStore();

        var result = await Follower(server, store).PollAsync();

        result.Error.Should().Contain("below its last signal");
        store.Cursor.Should().Be(0);
    }

    [Fact]
    public async Task A_restarted_follower_applies_exactly_once_from_its_snapshot()
    {
        await using var server = await FeedServer.StartAsync();
        for (var i = 1; i <= 4; i++) server.Append(i, $"item-{i}");
        var path = Path.Combine(Path.GetTempPath(), $"signals-{Guid.NewGuid():N}.json");
        try
        {
            await Follower(server, new SignalStore(), snapshot: path).PollAsync();
            server.Append(5, "item-4", action: "none", source: "human", retracts: 4);

            var restored = SignalStore.Load(path);
            var result = await Follower(server, restored, snapshot: path).PollAsync();

            result.Applied.Should().Be(1);
            server.Requests.Should().Contain("?after=4&limit=2");
            restored.Counts.Applied.Should().Be(1);
            restored.SignalsFor("item-4", DateTimeOffset.UtcNow).Should().ContainSingle().Which.Source.Should().Be("human");
            SignalStore.Load(path).Cursor.Should().Be(5);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_running_follower_backs_off_through_an_outage_and_catches_up_when_the_feed_returns()
    {
        await using var server = await FeedServer.StartAsync();
        server.Append(1, "item-1");
        server.Mode = FeedMode.Down;
        var store = new SignalStore();
        var follower = new SignalFollower(new HttpSignalSource(server.Client()), store,
            new SignalFollowerOptions { PollInterval = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) });
        using var stop = new CancellationTokenSource();
        var running = follower.RunAsync(stop.Token);

        await Eventually(() => follower.ConsecutiveFailures >= 3);
        store.Cursor.Should().Be(0);
        server.Mode = FeedMode.Normal;
        server.Append(2, "item-2");
        // The poll that applies the signals clears the error and marks the store synced when it reaches the end.
        await Eventually(() => store.Cursor == 2 && follower.LastError is null && store.LastSyncedAt is not null);

        stop.Cancel();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
        store.Counts.Applied.Should().Be(2);
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition never held");
            await Task.Delay(10);
        }
    }
}
