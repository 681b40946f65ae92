using System.Net;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Review;

namespace Moderation.Tests.Access;

/// <summary>The workbench's API key page in a real browser (Debian's Chromium), against the real host on SQLite.</summary>
[Collection(HostCollection.Name)]
public sealed class AccessPageTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    [Fact]
    public async Task An_admin_makes_a_scoped_key_on_the_page_sees_its_secret_once_and_revokes_it()
    {
        var page = await fixture.SignedInPageAsync("admin1");
        await page.ClickAsync("header nav a[href='/review/apikeys']");
        await page.WaitForPageAsync("**/review/apikeys");
        var name = $"page key {Guid.NewGuid():N}"[..20];
        await page.FillAsync("#create-key input[name=name]", name);
        await page.CheckAsync("#create-key input[name=scopes][value='signals:read']");
        await page.FillAsync("#create-key input[name=expiresOn]", DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd"));
        await page.ClickAsync("#create-key button[type=submit]");
        var secret = (await page.Locator("#new-key-secret").InnerTextAsync()).Trim();
        secret.Should().StartWith("mk_");
        var row = page.Locator($"#apikeys tr[data-name='{name}']");
        (await row.GetAttributeAsync("data-state")).Should().Be("active");
        (await row.InnerTextAsync()).Should().Contain("signals:read").And.Contain("user:admin1").And.NotContain(secret);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("apikeys.png"), FullPage = true });

        using var client = fixture.Api.CreateClient(secret);
        (await client.GetAsync("/v1/signals")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/v1/claims")).StatusCode.Should().Be(HttpStatusCode.Forbidden, "the key holds signals:read only");

        // The secret is on the answer to the form only: the listing never shows it again.
        await page.GotoAsync("/review/apikeys");
        (await page.ContentAsync()).Should().NotContain(secret);
        await page.Locator($"#apikeys tr[data-name='{name}'] form.revoke button").ClickAsync();
        await page.WaitForPageAsync("**/review/apikeys?message=*");
        (await page.Locator($"#apikeys tr[data-name='{name}']").GetAttributeAsync("data-state")).Should().Be("revoked");
        (await client.GetAsync("/v1/signals")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "a revoked key stops working");

        var id = await page.Locator($"#apikeys tr[data-name='{name}']").GetAttributeAsync("data-key");
        var events = (await AuditLog.ReadAsync(fixture.Api.Database, 0, 100_000, CancellationToken.None)).Where(e => e.SubjectId == id).ToList();
        events.Select(e => e.Action).Should().Equal("api_key.created", "api_key.revoked");
        events.Should().OnlyContain(e => e.Actor == "user:admin1");

        // A refused key (no scope) shows the reason on the page.
        await page.FillAsync("#create-key input[name=name]", "no scopes");
        await page.ClickAsync("#create-key button[type=submit]");
        (await page.Locator("#apikeys-error").GetAttributeAsync("data-field")).Should().Be("scopes");
        await page.Context.CloseAsync();

        var policy = await fixture.SignedInPageAsync("policy1");
        (await policy.Locator("header nav a[href='/review/apikeys']").CountAsync()).Should().Be(0);
        var denied = await policy.GotoAsync("/review/apikeys");
        denied!.Status.Should().Be(403);
        await policy.Context.CloseAsync();
    }

    [Fact]
    public async Task Guesses_on_the_sign_in_page_are_told_to_wait_while_the_owners_own_browser_signs_in()
    {
        var name = $"owner-{Guid.NewGuid():N}"[..20];
        await fixture.Api.Services.GetRequiredService<WorkbenchUsers>().CreateAsync("test", name, ReviewHostFixture.Password, [ReviewRoles.Moderator], CancellationToken.None);

        // The owner signs in on their browser and signs out: the browser keeps its device cookie.
        var owner = await fixture.SignedInPageAsync(name);
        await owner.ClickAsync("header form.signout button[type=submit]");
        await owner.WaitForPageAsync("**/review/");

        var guesser = await (await fixture.BrowserAsync()).NewPageAsync(new BrowserNewPageOptions { BaseURL = fixture.Api.BaseAddress.ToString().TrimEnd('/') });
        guesser.SetDefaultTimeout(ReviewHostFixture.BrowserWaitMs);
        guesser.SetDefaultNavigationTimeout(ReviewHostFixture.BrowserWaitMs);
        IResponse? last = null;
        for (var i = 0; i < 6; i++)
        {
            await guesser.GotoAsync("/review/");
            await guesser.FillAsync("input[name=userName]", name);
            await guesser.FillAsync("input[name=password]", $"not the password {i}");
            last = await guesser.RunAndWaitForResponseAsync(() => guesser.ClickAsync("#signin button[type=submit]"),
                r => r.Request.Method == "POST" && r.Url.EndsWith("/review/", StringComparison.Ordinal));
            await guesser.Locator("#signin-error").WaitForAsync();
        }
        last!.Status.Should().Be(429);
        (await guesser.Locator("main").InnerTextAsync()).Should().Contain("Too many failed sign-ins; try again in");
        await guesser.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("sign-in-throttled.png") });
        await guesser.Context.CloseAsync();

        await owner.FillAsync("input[name=userName]", name);
        await owner.FillAsync("input[name=password]", ReviewHostFixture.Password);
        await owner.ClickAsync("#signin button[type=submit]");
        await owner.WaitForPageAsync("**/review/queues");
        await owner.Context.CloseAsync();
    }
}
