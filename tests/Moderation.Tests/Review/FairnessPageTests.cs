using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Moderation.Core.Access;
using Moderation.Core.Models;
using Moderation.Core.Review;
using Moderation.Tests.Fairness;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>The workbench host with a fairness floor the shipped harm head fails (groups under 0.97).</summary>
public sealed class FairnessReviewHostFixture : ReviewHostFixture
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings { get; } = new Dictionary<string, string?>
    {
        ["Moderation:Fairness:MinGroupBpsn"] = "0.97",
    };
}

/// <summary>The fairness page (issue 14, item 7) in a real browser: the template audit against the floor, traffic per group, no inline script or style.</summary>
[Collection(HostCollection.Name)]
public sealed class FairnessPageTests(FairnessReviewHostFixture fixture) : IClassFixture<FairnessReviewHostFixture>
{
    [Fact]
    public async Task A_policy_user_sees_the_template_audit_below_the_floor_and_flag_and_overturn_rates_per_group()
    {
        var api = fixture.Api;
        var registry = api.Services.GetRequiredService<ModelRegistry>();
        var harm = await FairnessGateContract.RegisterShippedHarmAsync(registry);
        await registry.RegisterAsync("harm", Moderation.TestScorers.MarkupScorer.ModelVersion, "markup-test", "{}", "{}", [1], ModelStates.Shadow, "user:test", CancellationToken.None);

        // Three uploads about refugees go to review; a moderator allows one (an overturn) and removes one.
        var ids = new List<string>();
        foreach (var caption in new[] { "[harm=0.7] refugees arriving today", "[harm=0.7] refugees should go home", "[harm=0.7] more refugees", "[harm=0.1] my dog" })
        {
            var id = (await api.PostUploadAsync(new { externalId = $"fairpage-{Guid.NewGuid():N}"[..24], caption })).GetProperty("id").GetString()!;
            await api.WaitUntilRoutedAsync(id);
            ids.Add(id);
        }
        var moderator = new Reviewer("u-fairpage", "fairpage", [ReviewRoles.Moderator]);
        var queue = api.Services.GetRequiredService<ReviewQueue>();
        var decisions = api.Services.GetRequiredService<ReviewDecisions>();
        foreach (var (id, action, code) in new[] { (ids[0], "allow", "no-violation"), (ids[1], "remove", "harassment") })
        {
            (await queue.ClaimAsync(moderator, id, "review", CancellationToken.None)).Should().NotBeNull();
            await decisions.DecideAsync(moderator, id, "review", action, code, null, null, CancellationToken.None);
        }

        var page = await fixture.SignedInPageAsync(ReviewHostFixture.UserFor[ReviewRoles.Policy]);
        var violations = new List<string>();
        page.Console += (_, message) => { if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal)) violations.Add(message.Text); };
        await page.ClickAsync("#nav-policy");
        await page.ClickAsync("#policy-nav a[href='/review/fairness']");
        await page.WaitForPageAsync("**/review/fairness");

        await page.SelectOptionAsync("#model", $"harm@{harm}");
        await page.ClickAsync("#show");
        await page.WaitForPageAsync("**/review/fairness?model=*");
        (await page.Locator("#audit-source").InnerTextAsync()).Should().Contain("Scored now").And.Contain("3300 of 3300");
        (await page.Locator("#bpsn-mean").InnerTextAsync()).Should().StartWith("0.98");
        (await page.Locator("#floor").GetAttributeAsync("class")).Should().Be("error");
        (await page.Locator("#floor").InnerTextAsync()).Should().Contain("muslim");
        (await page.Locator("#template-groups tbody tr").CountAsync()).Should().Be(55);
        (await page.Locator("#template-groups tbody tr.below-floor").CountAsync()).Should().BeGreaterThan(0);
        (await page.Locator("#template-groups tbody tr").First.Locator("td").First.InnerTextAsync()).Should().Be("muslim", "lowest BPSN first");
        (await page.Locator("#template-groups svg.bar rect.value.bad").CountAsync()).Should().BeGreaterThan(0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("fairness.png"), FullPage = true });

        await page.SelectOptionAsync("#model", $"harm@{Moderation.TestScorers.MarkupScorer.ModelVersion}");
        await page.ClickAsync("#show");
        await page.WaitForPageAsync($"**/review/fairness?model=harm%40{Moderation.TestScorers.MarkupScorer.ModelVersion}*");
        (await page.Locator("#audit-source").InnerTextAsync()).Should().Contain("reads no text");
        var refugee = page.Locator("#traffic tr[data-group='refugee'] td");
        (await refugee.Nth(1).InnerTextAsync()).Should().Be("3");
        (await refugee.Nth(2).InnerTextAsync()).Should().Be("3");
        (await page.Locator("#traffic tr[data-group='refugee'] td.flag-rate").InnerTextAsync()).Should().StartWith("100.0% [43.9% – 100.0%]", "Wilson's 95% interval for 3 of 3 starts at 0.4385");
        (await refugee.Nth(5).InnerTextAsync()).Should().Be("2", "two decided");
        (await refugee.Nth(6).InnerTextAsync()).Should().Be("1", "one allowed");
        (await page.Locator("#traffic tr[data-group='refugee'] td.overturn-rate").InnerTextAsync()).Should().StartWith("50.0%");
        (await page.Locator("#traffic tr[data-group='none'] td").Nth(1).InnerTextAsync()).Should().Be("1", "my dog mentions no group");
        (await page.Locator("script:not([src])").CountAsync()).Should().Be(0, "no inline script");
        (await page.Locator("[style]").CountAsync()).Should().Be(0, "no inline style: the CSP forbids it");
        violations.Should().BeEmpty();

        // A moderator has no fairness link and is refused the page.
        var other = await fixture.SignedInPageAsync(ReviewHostFixture.UserFor[ReviewRoles.Moderator]);
        (await other.Locator("#nav-policy").CountAsync()).Should().Be(0);
        var refused = await other.GotoAsync("/review/fairness");
        refused!.Status.Should().Be(403);
        (await other.ContentAsync()).Should().Contain("Not allowed").And.NotContain("template-groups");
    }
}
