using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Microsoft.Playwright;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>The review workbench in a real browser (Debian's Chromium through Playwright) against the real host on SQLite.</summary>
[Collection(HostCollection.Name)]
public sealed class ReviewBrowserTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    private const string Xss = "<script>alert(1)</script> <img src=x onerror=alert(2)>";

    [Fact]
    public async Task A_visitor_is_sent_to_sign_in_and_a_moderator_claims_and_decides_by_keyboard_with_hostile_content_inert()
    {
        var id = await fixture.UploadForReviewAsync($"{Xss} look at this [xss=0.7]", ["<img src=x onerror=alert(3)>", "<a href=javascript:alert(4)>click</a>"], withImage: true);
        var browser = await fixture.BrowserAsync();

        // A visitor: every page under /review answers with the sign-in form.
        var visitor = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = fixture.Api.BaseAddress.ToString().TrimEnd('/') });
        visitor.SetDefaultTimeout(ReviewHostFixture.BrowserWaitMs);
        visitor.SetDefaultNavigationTimeout(ReviewHostFixture.BrowserWaitMs);
        await visitor.GotoAsync("/review/queues");
        visitor.Url.Should().Contain("/review/?returnUrl=");
        (await visitor.Locator("#signin").CountAsync()).Should().Be(1);
        await visitor.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("sign-in.png") });
        await visitor.Context.CloseAsync();

        var page = await fixture.SignedInPageAsync("moderator1");
        await page.GotoAsync("/review/");
        page.Url.Should().EndWith("/review/queues", "a signed-in reviewer is not shown the sign-in form again");
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) => { dialogs.Add(dialog.Message); _ = dialog.DismissAsync(); };
        var violations = new List<string>();
        page.Console += (_, message) => { if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal)) violations.Add(message.Text); };

        var queues = await page.GotoAsync("/review/queues?queue=xss");
        (await queues!.HeaderValueAsync("content-security-policy")).Should().Contain("script-src 'self'").And.NotContain("unsafe-inline");
        (await page.Locator("#queue-items").InnerTextAsync()).Should().Contain(Xss[..20], "captions are listed as text");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("queues.png"), FullPage = true });

        await page.ClickAsync("#next-item");
        await page.WaitForPageAsync($"**/review/item/{id}?kind=review");
        (await page.Locator("#caption").InnerTextAsync()).Should().Contain("<script>alert(1)</script> <img src=x onerror=alert(2)>");
        (await page.Locator("#comments").InnerTextAsync()).Should().Contain("<img src=x onerror=alert(3)>");
        (await page.Locator("img[src='x']").CountAsync()).Should().Be(0, "no hostile element reached the DOM");
        (await page.Locator("a[href^='javascript']").CountAsync()).Should().Be(0);
        (await page.Locator("script:not([src])").CountAsync()).Should().Be(0, "no inline script at all");

        // Media starts blurred and greyscale; a click reveals it.
        var figure = page.Locator("figure[data-media]").First;
        (await figure.GetAttributeAsync("class")).Should().Contain("veiled");
        var filter = await page.Locator("figure[data-media] img").First.EvaluateAsync<string>("img => getComputedStyle(img).filter");
        filter.Should().Contain("blur").And.Contain("grayscale");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("item.png"), FullPage = true });
        await page.Locator("figure[data-media] img").First.ClickAsync();
        (await figure.GetAttributeAsync("class")).Should().NotContain("veiled");

        // A reviewer may choose, for their own account, to see media unblurred by default; and undo it.
        await page.ClickAsync("#reveal-preference button");
        await page.WaitForPageAsync($"**/review/item/{id}?kind=review");
        (await page.Locator("figure[data-media]").First.GetAttributeAsync("class")).Should().NotContain("veiled");
        await page.ClickAsync("#reveal-preference button");
        await page.WaitForPageAsync($"**/review/item/{id}?kind=review");
        (await page.Locator("figure[data-media]").First.GetAttributeAsync("class")).Should().Contain("veiled");

        // The media endpoint forces a safe type and nosniff whatever the client called the file.
        var media = await page.Context.APIRequest.GetAsync($"/review/media/{id}/0");
        media.Status.Should().Be(200);
        media.Headers["content-type"].Should().Be("image/png");
        media.Headers["x-content-type-options"].Should().Be("nosniff");
        media.Headers["content-security-policy"].Should().Contain("sandbox");

        // Decide by keyboard: r (remove), 2 (second reason), Enter (decide and next).
        await page.Locator("body").ClickAsync(new LocatorClickOptions { Position = new Position { X = 5, Y = 5 } });
        await page.Keyboard.PressAsync("r");
        (await page.IsCheckedAsync("input[name=action][value=remove]")).Should().BeTrue();
        await page.Keyboard.PressAsync("2");
        (await page.InputValueAsync("#reason-code")).Should().Be("hate-speech");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForPageAsync("**/review/queues?message=empty*");

        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("actioned");
        var signals = await fixture.Api.ReadAllSignalsAsync();
        signals.Should().Contain(s => s.GetProperty("uploadId").GetString() == id && s.GetProperty("source").GetString() == "human"
            && s.GetProperty("action").GetString() == "ineligible");
        dialogs.Should().BeEmpty("no payload ever ran");
        violations.Should().BeEmpty("the page itself needs nothing the policy forbids");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Two_browsers_asking_for_the_next_item_at_once_never_hold_the_same_one()
    {
        var id = await fixture.UploadForReviewAsync("only one of you gets this [race=0.7]");
        var first = await fixture.SignedInPageAsync("moderator1");
        var second = await fixture.SignedInPageAsync("moderator2");
        await first.GotoAsync("/review/queues?queue=race");
        await second.GotoAsync("/review/queues?queue=race");

        await Task.WhenAll(first.ClickAsync("#next-item"), second.ClickAsync("#next-item"));
        await Task.WhenAll(first.WaitForLoadStateAsync(), second.WaitForLoadStateAsync());

        var urls = new[] { first.Url, second.Url };
        urls.Count(u => u.Contains($"/review/item/{id}", StringComparison.Ordinal)).Should().Be(1, string.Join(" | ", urls));
        urls.Count(u => u.Contains("message=empty", StringComparison.Ordinal)).Should().Be(1, string.Join(" | ", urls));
        var winner = first.Url.Contains("/item/", StringComparison.Ordinal) ? first : second;
        var loser = winner == first ? second : first;
        (await winner.Locator("#decide-form").CountAsync()).Should().Be(1);

        // The loser opening the item directly sees it is taken, and gets no decision form.
        await loser.GotoAsync($"/review/item/{id}");
        (await loser.Locator("#decide-form").CountAsync()).Should().Be(0);
        (await loser.Locator("#held-by-other").InnerTextAsync()).Should().Contain("Someone else");

        await winner.Keyboard.PressAsync("a");
        await winner.Keyboard.PressAsync("Enter");
        await winner.WaitForPageAsync("**/review/queues?message=empty*");
        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");
        await first.Context.CloseAsync();
        await second.Context.CloseAsync();
    }

    [Fact]
    public async Task An_appeal_reopens_the_item_for_another_reviewer_who_overturns_it_and_the_signal_is_retracted()
    {
        var id = await fixture.UploadForReviewAsync("satire that looks like a threat [appealcase=0.7]");
        var decider = await fixture.SignedInPageAsync("moderator1");
        await decider.GotoAsync("/review/queues?queue=appealcase");
        await decider.ClickAsync("#next-item");
        await decider.WaitForPageAsync($"**/review/item/{id}*");
        await decider.Keyboard.PressAsync("r");
        await decider.Keyboard.PressAsync("Enter");
        await decider.WaitForPageAsync("**/review/queues?message=empty*");

        var appeal = await fixture.Api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = id, statement = "It is satire: <script>alert('appeal')</script>" });
        appeal.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, await appeal.Content.ReadAsStringAsync());
        var again = await fixture.Api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = id, statement = "again" });
        again.StatusCode.Should().Be(System.Net.HttpStatusCode.Conflict);

        await decider.GotoAsync("/review/queues?queue=appealcase");
        await decider.ClickAsync("#next-item");
        await decider.WaitForPageAsync("**/review/queues?message=empty*");

        var senior = await fixture.SignedInPageAsync("senior1");
        await senior.GotoAsync("/review/queues?queue=appealcase&kind=appeal");
        await senior.ClickAsync("#next-item");
        await senior.WaitForPageAsync($"**/review/item/{id}?kind=appeal");
        (await senior.Locator("#appeal-statement").InnerTextAsync()).Should().Contain("<script>alert('appeal')</script>");
        await senior.Keyboard.PressAsync("o");
        await senior.Keyboard.PressAsync("Enter");
        await senior.WaitForPageAsync("**/review/queues?message=empty*");

        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");
        var signals = (await fixture.Api.ReadAllSignalsAsync()).Where(s => s.GetProperty("uploadId").GetString() == id && s.GetProperty("source").GetString() == "human").ToList();
        var removal = signals.First(s => s.GetProperty("action").GetString() == "ineligible");
        signals.Should().Contain(s => s.GetProperty("retracts").ValueKind == JsonValueKind.Number
            && s.GetProperty("retracts").GetInt64() == removal.GetProperty("seq").GetInt64());
        await senior.GotoAsync($"/review/item/{id}");
        (await senior.Locator("#decisions").InnerTextAsync()).Should().Contain("(retracted)").And.Contain("Overturn");
        await decider.Context.CloseAsync();
        await senior.Context.CloseAsync();
    }

    [Fact]
    public async Task A_cluster_of_identical_captions_is_decided_in_one_step_each_audited()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await fixture.UploadForReviewAsync("Win a free phone, click the link in bio now [bulkcase=0.7]"));
        var page = await fixture.SignedInPageAsync("moderator2");
        await page.GotoAsync("/review/queues?queue=bulkcase");
        await page.ClickAsync("#next-item");
        await page.WaitForPageAsync("**/review/item/**");
        (await page.Locator(".bulk-member").CountAsync()).Should().Be(2);
        await page.CheckAsync("#bulk-all");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("bulk.png"), FullPage = true });
        await page.Locator("body").ClickAsync(new LocatorClickOptions { Position = new Position { X = 5, Y = 5 } });
        await page.Keyboard.PressAsync("r");
        await page.SelectOptionAsync("#reason-code", "spam-scam");
        await page.ClickAsync("#decide-next");
        await page.WaitForPageAsync("**/review/queues?message=empty*");

        foreach (var id in ids) (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("actioned");
        await using var connection = await fixture.Api.Database.OpenAsync();
        var audited = (await connection.QueryAsync<string>(fixture.Api.Database.Sql(DialectSql.Portable(
            "SELECT subject_id FROM audit_events WHERE action = 'review.decided'")))).ToList();
        audited.Should().Contain(ids);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_audit_page_verifies_the_chain_points_at_a_tampered_event_and_exports()
    {
        // The users created and signed in are the events (an item left in review here would be the next item of
        // another test's "decide and next", which moves on to any queue with work).
        var page = await fixture.SignedInPageAsync("admin1");
        await page.GotoAsync("/review/audit");
        await page.ClickAsync("#verify");
        (await page.Locator("#verification").InnerTextAsync()).Should().StartWith("Chain intact");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("audit.png") });

        var database = fixture.Api.Database;
        await using var connection = await database.OpenAsync();
        var original = await connection.ExecuteScalarAsync<string?>("SELECT reason FROM audit_events WHERE seq = 2");
        await connection.ExecuteAsync("UPDATE audit_events SET reason = 'edited after the fact' WHERE seq = 2");
        try
        {
            await page.ClickAsync("#verify");
            (await page.Locator("#verification").InnerTextAsync()).Should().Contain("BROKEN at event #2");
            (await page.Locator("#event-2").GetAttributeAsync("class")).Should().Contain("broken");
        }
        finally
        {
            await connection.ExecuteAsync("UPDATE audit_events SET reason = @Original WHERE seq = 2", new { Original = original });
        }
        await page.ClickAsync("#verify");
        (await page.Locator("#verification").InnerTextAsync()).Should().StartWith("Chain intact");

        var csv = await page.Context.APIRequest.GetAsync("/review/audit?handler=Export&format=csv");
        csv.Headers["content-type"].Should().StartWith("text/csv");
        var text = await csv.TextAsync();
        text.Split('\n')[0].Should().Contain("Seq").And.Contain("PrevHash");
        text.Should().Contain("user.created");
        var json = await page.Context.APIRequest.GetAsync("/review/audit?handler=Export&format=json");
        var events = JsonDocument.Parse(await json.TextAsync()).RootElement;
        events.GetArrayLength().Should().BeGreaterThan(5);
        events[0].GetProperty("seq").GetInt64().Should().Be(1);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_admin_creates_a_user_who_can_then_sign_in_with_the_role_given()
    {
        var page = await fixture.SignedInPageAsync("admin1");
        await page.GotoAsync("/review/users");
        await page.FillAsync("#create-user input[name=userName]", "newtriage");
        await page.FillAsync("#create-user input[name=password]", ReviewHostFixture.Password);
        await page.CheckAsync("#create-user input[name=roles][value=triage]");
        await page.ClickAsync("#create-user button[type=submit]");
        await page.WaitForPageAsync("**/review/users?message=*");
        (await page.Locator("tr[data-user=newtriage]").CountAsync()).Should().Be(1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("users.png"), FullPage = true });

        var triage = await fixture.SignedInPageAsync("newtriage");
        var response = await triage.GotoAsync("/review/users");
        response!.Status.Should().Be(403);
        await page.Context.CloseAsync();
        await triage.Context.CloseAsync();
    }
}
