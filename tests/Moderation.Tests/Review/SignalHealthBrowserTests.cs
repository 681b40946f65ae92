using FluentAssertions;
using Microsoft.Playwright;
using Moderation.Core.Audit;
using Moderation.Tests.Infrastructure;
using Moderation.TestScorers;

namespace Moderation.Tests.Review;

/// <summary>
/// The signal health page in a real browser: a policy user finds it in the navigation, quarantines a source with a
/// reason (the next upload is not routed by it), and releases it; both are audited with the user as the actor.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class SignalHealthBrowserTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    private const string Source = $"model:harm:{MarkupScorer.ModelVersion}";

    [Fact]
    public async Task A_policy_user_quarantines_and_releases_a_source_from_the_page()
    {
        await fixture.UploadForReviewAsync("[harm=0.7] a borderline post for signal health");
        var page = await fixture.SignedInPageAsync("policy1");
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") errors.Add(message.Text); };

        await page.ClickAsync("#nav-policy");
        await page.ClickAsync("#policy-nav a[href='/review/signalhealth']");
        await page.WaitForPageAsync("**/review/signalhealth");
        var row = page.Locator($"#sources tr[data-source='{Source}']");
        (await row.GetAttributeAsync("data-state")).Should().Be("active");
        (await row.Locator("td").Nth(2).InnerTextAsync()).Trim().Should().NotBe("0");

        // The reason is required: the browser does not send the form without one.
        await row.Locator("form.quarantine button").ClickAsync();
        (await row.GetAttributeAsync("data-state")).Should().Be("active");

        await row.Locator("form.quarantine input[name=reason]").FillAsync("harm scores doubled overnight");
        await row.Locator("form.quarantine button").ClickAsync();
        (await page.Locator("#health-message").InnerTextAsync()).Should().StartWith($"Quarantined {Source}");
        row = page.Locator($"#sources tr[data-source='{Source}']");
        (await row.GetAttributeAsync("data-state")).Should().Be("quarantined");
        (await row.InnerTextAsync()).Should().Contain("harm scores doubled overnight").And.Contain("policy1");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("signal-health.png"), FullPage = true });

        // While it is quarantined, the source does not send the next upload to review.
        var next = await fixture.Api.PostUploadAsync(new { externalId = "ui-" + Guid.NewGuid().ToString("N")[..12], caption = "[harm=0.7] during the quarantine" });
        (await fixture.Api.WaitUntilRoutedAsync(next.GetProperty("id").GetString()!)).GetProperty("status").GetString().Should().Be("allowed");

        await row.Locator("form.release input[name=reason]").FillAsync("the model was rolled back");
        await row.Locator("form.release button").ClickAsync();
        (await page.Locator("#health-message").InnerTextAsync()).Should().StartWith($"Released {Source}");
        (await page.Locator($"#sources tr[data-source='{Source}']").GetAttributeAsync("data-state")).Should().Be("active");
        errors.Should().BeEmpty("the page runs under the strict CSP without errors");

        var events = (await AuditLog.ReadAsync(fixture.Api.Database, 0, 100_000, CancellationToken.None))
            .Where(e => e.SubjectType == "signal_source" && e.SubjectId == Source).ToList();
        events.Select(e => (e.Action, e.Actor, e.Reason)).Should().Equal(
            ("signal_source.quarantined", "user:policy1", "harm scores doubled overnight"),
            ("signal_source.released", "user:policy1", "the model was rolled back"));
        await page.Context.CloseAsync();
    }
}
