using FluentAssertions;
using Microsoft.Playwright;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>The review host with every final decision sampled for a blind second opinion.</summary>
public sealed class SampledReviewHostFixture : ReviewHostFixture
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings { get; } = new Dictionary<string, string?>
    {
        ["Moderation:Review:QualitySampleRate"] = "1",
    };
}

/// <summary>A blind quality sample in the browser: the second reviewer sees nothing of the first decision.</summary>
[Collection(HostCollection.Name)]
public sealed class BlindQualityBrowserTests(SampledReviewHostFixture fixture) : IClassFixture<SampledReviewHostFixture>
{
    [Fact]
    public async Task A_blind_quality_sample_hides_the_first_decision_even_in_the_items_status()
    {
        var id = await fixture.UploadForReviewAsync("is this fine or not [blindcase=0.7]");
        var first = await fixture.SignedInPageAsync("moderator1");
        await first.GotoAsync("/review/queues?queue=blindcase");
        await first.ClickAsync("#next-item");
        await first.WaitForPageAsync($"**/review/item/{id}?kind=review");
        await first.Locator("body").ClickAsync(new LocatorClickOptions { Position = new Position { X = 5, Y = 5 } });
        await first.Keyboard.PressAsync("a");
        await first.ClickAsync("#decide");
        await first.WaitForPageAsync("**/review/queues?message=decided");
        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");

        var second = await fixture.SignedInPageAsync("moderator2");
        await second.GotoAsync($"/review/item/{id}?kind=quality");
        await second.ClickAsync("#claim");
        await second.WaitForPageAsync($"**/review/item/{id}?kind=quality");
        (await second.Locator("#decide-form").CountAsync()).Should().Be(1);
        var head = await second.Locator(".item-head").InnerTextAsync();
        head.Should().NotContain("allowed", "the item's status is the first decision").And.NotContain("actioned");
        (await second.Locator("#item-status").InnerTextAsync()).Should().Be("hidden (blind quality sample)");
        (await second.Locator("#decisions").CountAsync()).Should().Be(0);
        (await second.Locator("#timeline").CountAsync()).Should().Be(0);

        // Once decided, nothing is blind any more: the status shows again.
        await second.Locator("body").ClickAsync(new LocatorClickOptions { Position = new Position { X = 5, Y = 5 } });
        await second.Keyboard.PressAsync("a");
        await second.ClickAsync("#decide");
        await second.WaitForPageAsync("**/review/queues?message=decided");
        await second.GotoAsync($"/review/item/{id}");
        (await second.Locator("#item-status").InnerTextAsync()).Should().Be("allowed");
        await first.Context.CloseAsync();
        await second.Context.CloseAsync();
    }
}
