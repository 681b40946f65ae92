using System.Net;
using FluentAssertions;
using Microsoft.Playwright;
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
        await page.WaitForURLAsync("**/review/apikeys");
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
        await page.WaitForURLAsync("**/review/apikeys?message=*");
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
}
