using System.Net;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Moderation.Core.Access;
using Moderation.Core.Policies;
using Moderation.Core.Review;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>
/// The review host with the two-person rule on for policy versions, and the audit sample drawing every automatic action
/// (and no allowed upload, so that an item a new version allows stays allowed).
/// </summary>
public sealed class PolicyPagesHostFixture : ReviewHostFixture
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings { get; } = new Dictionary<string, string?>
    {
        ["Moderation:PolicyVersions:RequireSecondApprover"] = "true",
        ["Moderation:AuditSample:Enabled"] = "true",
        ["Moderation:AuditSample:Salt"] = "pages",
        ["Moderation:AuditSample:Rates:action:0:Below"] = "1.01",
        ["Moderation:AuditSample:Rates:action:0:Rate"] = "1",
        ["Moderation:AuditSample:Rates:allow:0:Below"] = "1.01",
        ["Moderation:AuditSample:Rates:allow:0:Rate"] = "0",
    };
}

/// <summary>
/// The policy pages in a real browser: the walk-through draft → backtest → shadow → live (approved by a second policy
/// user) → rollback, the editor's per-field refusals, the threshold explorer, the audit sample, and the CSP.
/// With <c>MODERATION_UPDATE_SCREENSHOTS=1</c> the walk-through's screenshots go to docs/screenshots/policy-*.png.
/// </summary>
[Collection(HostCollection.Name)]
public sealed partial class PolicyPagesBrowserTests(PolicyPagesHostFixture fixture) : IClassFixture<PolicyPagesHostFixture>
{
    private static readonly string Day = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A page of the policy pages at the size of the documentation's screenshots, counting CSP violations.</summary>
    private async Task<(IPage Page, List<string> Violations)> PolicyPageAsync(string user)
    {
        var page = await fixture.SignedInPageAsync(user);
        await page.SetViewportSizeAsync(1280, 800);
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) violations.Add(message.Text);
        };
        return (page, violations);
    }

    private static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath(name), Type = ScreenshotType.Png });

    private static async Task<string> CellAsync(IPage page, string row, string cell) =>
        (await page.Locator($"{row} td.{cell}").InnerTextAsync()).Trim();

    [Fact]
    public async Task Walk_through_a_draft_is_backtested_shadowed_approved_live_by_a_second_policy_user_routes_uploads_and_is_rolled_back()
    {
        // Three uploads the live version (config-default: review from 0.5) sends to review.
        var before = new List<string>();
        for (var i = 0; i < 3; i++) before.Add(await fixture.UploadForReviewAsync($"walk-through item {i} [walk=0.6]"));
        var live = (await fixture.Api.Services.GetRequiredService<PolicyVersions>().LiveVersionAsync(CancellationToken.None))!.Version;
        var name = "walk-" + Guid.NewGuid().ToString("N")[..8];

        var (page, violations) = await PolicyPageAsync("policy1");
        await page.ClickAsync("#nav-policy");
        await page.WaitForPageAsync("**/review/policies");
        (await page.Locator("#two-person-rule").CountAsync()).Should().Be(1);
        (await page.Locator($"#policy-versions tr[data-version='{live}'] span.state").InnerTextAsync()).Should().Be("live");

        // 1. A draft based on the live version, with a higher review threshold for the category.
        await page.FillAsync("#create-draft input[name=name]", name);
        (await page.Locator("#create-draft select[name=basedOn]").InputValueAsync()).Should().Be(live, "a draft starts from the live version");
        await page.FillAsync("#create-draft input[name=note]", "walk: review from 0.7");
        await ScreenshotAsync(page, "policy-1-versions.png");
        await page.ClickAsync("#create-draft button[type=submit]");
        await page.WaitForPageAsync($"**/review/policies/version/{name}?message=created");
        (await page.Locator("#policy-state").InnerTextAsync()).Should().Be("draft");
        var row = page.Locator("#categories tbody tr").Nth(1); // after the default row: the first blank one
        await row.Locator("input[name$='.Name']").FillAsync("walk");
        await row.Locator("input[name$='.Review']").FillAsync("0.7");
        await row.Locator("input[name$='.Action']").FillAsync("0.9");
        await page.ClickAsync("#save-draft");
        await page.WaitForPageAsync($"**/review/policies/version/{name}?message=saved");
        (await page.Locator("#categories tr[data-row='walk'] input[name$='.Review']").InputValueAsync()).Should().Be("0.7");
        await ScreenshotAsync(page, "policy-2-draft.png");

        // 2. The backtest: the three leave review.
        await page.ClickAsync("#backtest-link");
        await page.WaitForPageAsync($"**/review/policies/backtest/{name}");
        await page.ClickAsync("#run-backtest");
        await page.WaitForSelectorAsync("#category-outcomes");
        const string walk = "#category-outcomes tr[data-category='walk']";
        (await CellAsync(page, walk, "against-review")).Should().Be("3");
        (await CellAsync(page, walk, "candidate-review")).Should().Be("0");
        (await CellAsync(page, walk, "candidate-allow")).Should().Be("3");
        (await CellAsync(page, walk, "changed")).Should().Be("3");
        (await page.Locator("#day-chart rect.bar").CountAsync()).Should().BeGreaterThan(0, "the per-day chart is drawn");
        foreach (var id in before)
            (await page.Locator($"#changes tr[data-upload='{id}'] a").GetAttributeAsync("href")).Should().Be($"/review/item/{id}");
        await page.Locator("#category-outcomes").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync(page, "policy-3-backtest.png");
        // The category's chart per day: its review volume under each version, and the changed items below it.
        await page.ClickAsync($"{walk} a");
        await page.WaitForPageAsync("**chart=walk**");
        (await page.Locator("#day-chart rect.bar").CountAsync()).Should().Be(4, "one day, review and action under each version");
        (await page.Locator("#day-chart rect.bar title").AllTextContentsAsync()).Should().Contain(t => t.EndsWith($"review · {live}: 3", StringComparison.Ordinal));
        await page.Locator("#day-chart").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync(page, "policy-4-backtest-chart.png");

        // 3. Shadow, then a request to go live that waits for a second policy user.
        await page.GotoAsync($"/review/policies/version/{name}");
        await page.SelectOptionAsync("#next-state", "shadow");
        await page.FillAsync("#state-reason", "compare beside live");
        await page.ClickAsync("#move");
        await page.WaitForPageAsync($"**/review/policies/version/{name}?message=*");
        (await page.Locator("#policy-state").InnerTextAsync()).Should().Be("shadow");
        (await page.Locator("#save-draft").CountAsync()).Should().Be(0, "a shadow version is frozen");
        await ScreenshotAsync(page, "policy-5-shadow.png");
        // In shadow it routes every new upload beside live, acting on nothing: live sends this one to review, the shadow would allow it.
        var inShadow = await fixture.UploadForReviewAsync("while in shadow [walk=0.6]");
        await page.ClickAsync("#shadow-link");
        await page.WaitForPageAsync($"**/review/policies/shadow/{name}");
        const string shadowWalk = "#shadow-categories tr[data-category='walk']";
        (await CellAsync(page, shadowWalk, "live-review")).Should().Be("1");
        (await CellAsync(page, shadowWalk, "shadow-allow")).Should().Be("1");
        (await CellAsync(page, shadowWalk, "changed")).Should().Be("1");
        (await page.Locator($"#shadow-changes tr[data-upload='{inShadow}'] a").GetAttributeAsync("href")).Should().Be($"/review/item/{inShadow}");
        (await page.Locator("#shadow-day-chart rect.bar").CountAsync()).Should().BeGreaterThan(0, "the per-day chart is drawn");
        (await fixture.UploadAsync(inShadow)).GetProperty("status").GetString().Should().Be("in_review", "a shadow version acts on nothing");
        await ScreenshotAsync(page, "policy-5b-shadow-diff.png");
        await page.GotoAsync($"/review/policies/version/{name}");
        await page.SelectOptionAsync("#next-state", "live");
        await page.FillAsync("#state-reason", "the backtest looks right");
        await page.ClickAsync("#move");
        await page.WaitForPageAsync($"**/review/policies/version/{name}?message=*");
        (await page.Locator("#policy-state").InnerTextAsync()).Should().Be("shadow", "the two-person rule holds it");
        (await page.Locator("#pending-approval").InnerTextAsync()).Should().Contain("user:policy1");
        (await page.Locator("#waiting-for-approver").CountAsync()).Should().Be(1);
        (await page.Locator("#approve").CountAsync()).Should().Be(0, "the requester cannot approve");
        await ScreenshotAsync(page, "policy-6-live-requested.png");

        // 4. The second policy user approves: live.
        var (second, secondViolations) = await PolicyPageAsync("policy2");
        await second.GotoAsync($"/review/policies/version/{name}");
        await second.FillAsync("#approve-form input[name=reason]", "second pair of eyes");
        await second.ClickAsync("#approve");
        await second.WaitForPageAsync($"**/review/policies/version/{name}?message=*");
        (await second.Locator("#policy-state").InnerTextAsync()).Should().Be("live");
        await ScreenshotAsync(second, "policy-7-approved-live.png");

        // 5. A new upload is routed by the new version: allowed, and its routing names the version.
        var after = await fixture.Api.PostUploadAsync(new { externalId = "walk-after-" + name, creatorId = "creator-ui", caption = "after going live [walk=0.6]" });
        var routed = await fixture.Api.WaitUntilRoutedAsync(after.GetProperty("id").GetString()!);
        routed.GetProperty("status").GetString().Should().Be("allowed");
        routed.GetProperty("routing").GetProperty("policyVersion").GetString().Should().Be(name);
        await second.GotoAsync($"/review/item/{routed.GetProperty("id").GetString()}");
        (await second.Locator("h3", new PageLocatorOptions { HasTextString = "Routing (policy" }).InnerTextAsync()).Should().Be($"Routing (policy {name})");
        await ScreenshotAsync(second, "policy-8-routed-by-new-version.png");

        // 6. Rollback: the previous version is live again, and routes the next upload.
        await page.GotoAsync("/review/policies");
        await page.FillAsync("#rollback input[name=reason]", "walk-through done");
        await page.ClickAsync("#rollback button[type=submit]");
        await page.WaitForPageAsync("**/review/policies?message=*");
        (await page.Locator("#policy-message").InnerTextAsync()).Should().Be($"Rolled back: {live} is live again.");
        (await page.Locator($"#policy-versions tr[data-version='{name}'] span.state").InnerTextAsync()).Should().Be("retired");
        await ScreenshotAsync(page, "policy-9-rolled-back.png");
        var again = await fixture.UploadForReviewAsync("after the rollback [walk=0.6]");
        (await fixture.UploadAsync(again)).GetProperty("routing").GetProperty("policyVersion").GetString().Should().Be(live);

        violations.Concat(secondViolations).Should().BeEmpty("the pages break no rule of the Content-Security-Policy");
        await page.Context.CloseAsync();
        await second.Context.CloseAsync();
    }

    [Fact]
    public async Task The_editor_shows_each_refused_field_beside_its_input_keeps_what_was_typed_and_saves_nothing()
    {
        var policies = fixture.Api.Services.GetRequiredService<PolicyVersions>();
        var live = (await policies.LiveVersionAsync(CancellationToken.None))!.Version;
        var name = "edit-" + Guid.NewGuid().ToString("N")[..8];
        await policies.CreateDraftAsync(name, live, new System.Text.Json.Nodes.JsonObject(), null, "user:policy1", CancellationToken.None);
        var (page, violations) = await PolicyPageAsync("policy1");
        await page.GotoAsync($"/review/policies/version/{name}");

        // A number that is not one: named by its input.
        var row = page.Locator("#categories tbody tr").Nth(1);
        await row.Locator("input[name$='.Name']").FillAsync("harm.hate");
        await row.Locator("input[name$='.Review']").FillAsync("0,4");
        await row.Locator("input[name$='.Action']").FillAsync("0.8");
        var response = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#save-draft"), r => r.Request.Method == "POST");
        response.Status.Should().Be(400);
        (await page.Locator("#policy-errors li[data-field='Form.Categories[0].Review']").InnerTextAsync()).Should().Contain("'0,4' is not a number");
        var bad = page.Locator("#categories tr[data-row='harm.hate']");
        (await bad.GetAttributeAsync("class")).Should().Contain("row-invalid");
        (await bad.Locator("input[name$='.Review']").GetAttributeAsync("class")).Should().Contain("invalid");
        (await bad.Locator("input[name$='.Review']").InputValueAsync()).Should().Be("0,4", "what was typed stays");

        // Review above action: Core's validation, shown on the category's row.
        await bad.Locator("input[name$='.Review']").FillAsync("0.95");
        response = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#save-draft"), r => r.Request.Method == "POST");
        response.Status.Should().Be(400);
        (await page.Locator("#policy-errors li[data-field='categories']").InnerTextAsync()).Should().Contain("'harm.hate'").And.Contain("Review <= Action");
        (await page.Locator("#categories tr[data-row='harm.hate'] .field-error").InnerTextAsync()).Should().Contain("0 <= Review <= Action <= 1");
        (await page.Locator("#categories tr[data-row='harm.hate'] input[name$='.Review']").InputValueAsync()).Should().Be("0.95");

        (await policies.FindAsync(name, CancellationToken.None))!.Document.Categories.Should().NotContainKey("harm.hate", "nothing was saved");

        // Fixed, with the rest of what a category and a locale hold, it saves.
        var hate = page.Locator("#categories tr[data-row='harm.hate']");
        await hate.Locator("input[name$='.Review']").FillAsync("0.4");
        await hate.Locator("select[name$='.OnAction']").SelectOptionAsync("Label");
        await hate.Locator("select[name$='.OnReview']").SelectOptionAsync("None");
        await hate.Locator("input[name$='.DemotionFloor']").FillAsync("0.1");
        var locale = page.Locator("#locales tbody tr").First;
        await locale.Locator("input[name$='.Locale']").FillAsync("pt-BR");
        await locale.Locator("input[name$='.Name']").FillAsync("harm");
        await locale.Locator("input[name$='.Review']").FillAsync("0.45");
        await locale.Locator("input[name$='.Action']").FillAsync("0.85");
        await locale.Locator("select[name$='.OnAction']").SelectOptionAsync("Interstitial");
        await page.FillAsync("input[name='Form.DemotionFloor']", "0.25");
        await page.ClickAsync("#save-draft");
        await page.WaitForPageAsync($"**/review/policies/version/{name}?message=saved");
        var document = (await policies.FindAsync(name, CancellationToken.None))!.Document;
        var saved = document.Categories["harm.hate"];
        (saved.Review, saved.Action, saved.OnAction, saved.OnReview, saved.DemotionFloor)
            .Should().Be((0.4, 0.8, SignalActionSetting.Label, ReviewBandSetting.None, (double?)0.1));
        var inLocale = document.Locales["pt-BR"]["harm"];
        (inLocale.Review, inLocale.Action, inLocale.OnAction).Should().Be((0.45, 0.85, SignalActionSetting.Interstitial));
        document.DemotionFloor.Should().Be(0.25);
        (await page.Locator("#locales tr[data-row='harm'] input[name$='.Locale']").InputValueAsync()).Should().Be("pt-BR", "the saved locale row is shown again");
        violations.Should().BeEmpty();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_threshold_explorer_draws_the_histogram_and_curve_and_says_whether_the_reviewers_keep_up()
    {
        var ids = new List<string>();
        foreach (var score in new[] { "0.55", "0.65", "0.75", "0.85" })
            ids.Add(await fixture.UploadForReviewAsync($"explore [explore={score}]"));
        // One decision, so that the window has a handling time to measure capacity from, and a label.
        var moderator = new Reviewer("u-explore", "explorer", [ReviewRoles.Moderator]);
        (await fixture.Api.Services.GetRequiredService<ReviewQueue>().ClaimAsync(moderator, ids[^1], "review", CancellationToken.None)).Should().NotBeNull();
        await fixture.Api.Services.GetRequiredService<ReviewDecisions>().DecideAsync(moderator, ids[^1], "review", "remove", "harassment", null, null, CancellationToken.None);

        var (page, violations) = await PolicyPageAsync("policy1");
        await page.GotoAsync("/review/policies/explore");
        await page.FillAsync("#explore-form input[name=category]", "explore");
        await page.ClickAsync("#explore");
        await page.WaitForSelectorAsync("#histogram");
        (await page.Locator("#explore-summary").InnerTextAsync()).Should().Contain("4 uploads scored for explore");
        (await page.Locator("#histogram rect.bar").CountAsync()).Should().Be(ThresholdExplorer.Bins);
        (await page.Locator("#histogram line.marker").CountAsync()).Should().Be(2, "the review and action thresholds");
        (await page.Locator("#pr-curve circle.point").CountAsync()).Should().BeGreaterThan(0);
        (await page.Locator("#curve tr[data-threshold='0.80'] td.estimate").First.InnerTextAsync()).Should().Contain("100.0%").And.Contain("few labels");
        (await page.Locator("#load-verdict").InnerTextAsync()).Should().StartWith("Keeps up");
        await ScreenshotAsync(page, "policy-10-explorer.png");

        await page.FillAsync("#explore-form input[name=reviewers]", "0");
        await page.ClickAsync("#explore");
        await page.WaitForPageAsync("**reviewers=0**");
        (await page.Locator("#load-verdict").InnerTextAsync()).Should().StartWith("Would fall behind");

        await page.FillAsync("#explore-form input[name=review]", "0.9");
        await page.FillAsync("#explore-form input[name=action]", "0.5");
        var response = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#explore"), r => r.Url.Contains("review=0.9", StringComparison.Ordinal));
        response.Status.Should().Be(400);
        (await page.Locator("#explore-error").GetAttributeAsync("data-field")).Should().Be("review");
        violations.Should().BeEmpty();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_audit_sample_page_counts_pending_audits_without_listing_them_and_estimates_per_category()
    {
        // Two automatic actions, both drawn by the audit sample (rate 1): blind review tasks.
        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var accepted = await fixture.Api.PostUploadAsync(new { externalId = $"audited-{Guid.NewGuid():N}", creatorId = "creator-ui", caption = $"over the line {i} [audited=0.95]" });
            var id = accepted.GetProperty("id").GetString()!;
            (await fixture.Api.WaitUntilRoutedAsync(id)).GetProperty("status").GetString().Should().Be("in_review", "the audit sample took it");
            ids.Add(id);
        }
        var (page, violations) = await PolicyPageAsync("policy1");
        await page.GotoAsync("/review/policies/auditsample");
        var pending = int.Parse(await page.Locator("#audit-pending").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture);
        pending.Should().BeGreaterThanOrEqualTo(2);
        (await page.ContentAsync()).Should().NotContain(ids[0], "the audited items are counted, not listed");

        // People decide them blind: one was right, one was not.
        var moderator = new Reviewer("u-audit-page", "auditpage", [ReviewRoles.Moderator]);
        var queue = fixture.Api.Services.GetRequiredService<ReviewQueue>();
        var decisions = fixture.Api.Services.GetRequiredService<ReviewDecisions>();
        for (var i = 0; i < ids.Count; i++)
        {
            (await queue.ClaimAsync(moderator, ids[i], "review", CancellationToken.None)).Should().NotBeNull();
            await decisions.DecideAsync(moderator, ids[i], "review", i == 0 ? "remove" : "allow", i == 0 ? "harassment" : "no-violation", null, null, CancellationToken.None);
        }
        await page.GotoAsync($"/review/policies/auditsample?from={Day}&to={Day}");
        int.Parse(await page.Locator("#audit-pending").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(pending - 2);
        var audited = page.Locator("#audit-estimates tr[data-category='audited']");
        var cells = await audited.Locator("td").AllInnerTextsAsync();
        cells[2].Should().Be("2 (2)", "two labels, both audited");
        cells[4].Should().StartWith("50.0%").And.Contain("few labels", "the action's precision: one of two");
        (await page.Locator("#audit-biased").CountAsync()).Should().Be(0, "the window has audited labels");
        await page.Locator("#audit-estimates").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync(page, "policy-11-audit-sample.png");
        violations.Should().BeEmpty();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Every_policy_page_is_sent_with_a_strict_csp_and_holds_no_inline_script_style_or_handler()
    {
        await fixture.UploadForReviewAsync("csp probe [cspcat=0.7]");
        var policies = fixture.Api.Services.GetRequiredService<PolicyVersions>();
        var live = (await policies.LiveVersionAsync(CancellationToken.None))!.Version;
        var name = "csp-" + Guid.NewGuid().ToString("N")[..8];
        await policies.CreateDraftAsync(name, live, new System.Text.Json.Nodes.JsonObject { ["categories"] = new System.Text.Json.Nodes.JsonObject
        {
            ["cspcat"] = new System.Text.Json.Nodes.JsonObject { ["review"] = 0.8, ["action"] = 0.9 },
        } }, null, "user:policy1", CancellationToken.None);
        var shadow = name + "-shadow";
        await policies.CreateDraftAsync(shadow, live, new System.Text.Json.Nodes.JsonObject(), null, "user:policy1", CancellationToken.None);
        await policies.SetStateAsync(shadow, PolicyStates.Shadow, "user:policy1", "csp probe", CancellationToken.None);
        var (client, _) = await fixture.SignedInClientAsync("policy1");
        using var _client = client;
        foreach (var url in new[]
        {
            "/review/policies", $"/review/policies/version/{name}", $"/review/policies/version/{live}",
            $"/review/policies/backtest/{name}?from={Day}&to={Day}", "/review/policies/explore?category=cspcat", "/review/policies/auditsample",
            $"/review/policies/shadow/{shadow}", "/review/signalhealth",
        })
        {
            using var response = await client.GetAsync(url);
            response.StatusCode.Should().Be(HttpStatusCode.OK, url);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            csp.Should().Contain("script-src 'self'").And.Contain("style-src 'self'").And.NotContain("unsafe-inline").And.NotContain("unsafe-eval");
            var html = await response.Content.ReadAsStringAsync();
            InlineScript().Matches(html).Should().BeEmpty($"{url} has no inline script");
            StyleAttribute().Matches(html).Should().BeEmpty($"{url} has no style attribute");
            StyleElement().Matches(html).Should().BeEmpty($"{url} has no style element");
            HandlerAttribute().Matches(html).Should().BeEmpty($"{url} has no event handler attribute");
            html.Should().NotContain("javascript:", url);
        }
        (await client.GetStringAsync("/review/queues")).Should().Contain("id=\"nav-policy\"", "policy users see the Policy section");
        var (moderator, _) = await fixture.SignedInClientAsync("moderator1");
        using var _moderator = moderator;
        (await moderator.GetStringAsync("/review/queues")).Should().NotContain("nav-policy", "a moderator does not");
        // The pages with charts do draw them (inline SVG, which the CSP allows).
        (await client.GetStringAsync($"/review/policies/backtest/{name}?from={Day}&to={Day}")).Should().Contain("<svg").And.Contain("id=\"day-chart\"");
        await policies.SetStateAsync(shadow, PolicyStates.Retired, "user:policy1", "csp probe done", CancellationToken.None);
    }

    /// <summary>A script element without a src (an inline script).</summary>
    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"<[^>]+\sstyle\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex StyleAttribute();

    [GeneratedRegex(@"<style[\s>]", RegexOptions.IgnoreCase)]
    private static partial Regex StyleElement();

    [GeneratedRegex(@"<[^>]+\son[a-z]+\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex HandlerAttribute();
}
