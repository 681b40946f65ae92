using System.Net;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Review;

namespace Moderation.Tests.Access;

/// <summary>
/// Workbench sessions end for good: a cookie copied before sign-out, a password reset, a role change or disabling is
/// refused at its next request (the account's security stamp changed), in a real browser and over HTTP.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class SessionRevocationTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    private WorkbenchUsers Users => fixture.Api.Services.GetRequiredService<WorkbenchUsers>();

    private async Task<WorkbenchAccount> NewUserAsync(string prefix, string role = ReviewRoles.Moderator) =>
        await Users.CreateAsync("test", $"{prefix}-{Guid.NewGuid():N}"[..24], ReviewHostFixture.Password, [role], CancellationToken.None);

    /// <summary>A plain client that sends only the given cookie header (a copy of a session cookie, as a thief would).</summary>
    private HttpClient Replay(string cookieHeader)
    {
        var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = fixture.Api.BaseAddress };
        client.DefaultRequestHeaders.Add("Cookie", cookieHeader);
        return client;
    }

    private static bool SentToSignIn(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location?.OriginalString.Contains("/review/?returnUrl=", StringComparison.Ordinal) == true;

    [Fact]
    public async Task A_session_cookie_copied_before_sign_out_stops_working_after_it()
    {
        var user = await NewUserAsync("leaving");
        var page = await fixture.SignedInPageAsync(user.UserName);
        var cookies = await page.Context.CookiesAsync();
        var header = string.Join("; ", cookies.Where(c => c.Name.StartsWith("moderation-review", StringComparison.Ordinal)).Select(c => $"{c.Name}={c.Value}"));
        using var thief = Replay(header);
        (await thief.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK, "the copied cookie works while the session lives");

        await page.ClickAsync("header form.signout button[type=submit]");
        await page.WaitForPageAsync("**/review/");
        (await page.Locator("#signin").CountAsync()).Should().Be(1);

        SentToSignIn(await thief.GetAsync("/review/queues")).Should().BeTrue("sign-out ends the session on the server, not only in the browser");
        var events = (await AuditLog.ReadAsync(fixture.Api.Database, 0, 100_000, CancellationToken.None)).Where(e => e.SubjectId == user.Id).ToList();
        events.Select(e => e.Action).Should().Contain("user.signed_out");
        events.Single(e => e.Action == "user.signed_out").Actor.Should().Be(AuditActors.User(user.UserName));
        await page.Context.CloseAsync();
    }

    [Theory]
    [InlineData("Password")]
    [InlineData("Roles")]
    [InlineData("Disable")]
    public async Task An_admin_change_on_the_users_page_ends_the_users_sessions_at_once(string handler)
    {
        var user = await NewUserAsync("changed-" + handler.ToLowerInvariant());
        var (client, _) = await fixture.SignedInClientAsync(user.UserName);
        using var _client = client;
        (await client.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK);

        var (admin, _) = await fixture.SignedInClientAsync(ReviewHostFixture.UserFor[ReviewRoles.Admin]);
        using var _admin = admin;
        var token = ReviewHostFixture.Token(await admin.GetStringAsync("/review/users"));
        var form = new List<KeyValuePair<string, string>> { new("__RequestVerificationToken", token), new("id", user.Id) };
        form.AddRange(handler switch
        {
            "Password" => [new("password", "a brand new long password 7")],
            "Roles" => [new("roles", ReviewRoles.Moderator), new("roles", ReviewRoles.Senior)],
            _ => [new KeyValuePair<string, string>("disabled", "true")],
        });
        var changed = await admin.PostAsync($"/review/users?handler={handler}", new FormUrlEncodedContent(form));
        changed.StatusCode.Should().Be(HttpStatusCode.Redirect, await changed.Content.ReadAsStringAsync());
        changed.Headers.Location!.OriginalString.Should().StartWith("/review/users?message=");

        SentToSignIn(await client.GetAsync("/review/queues")).Should().BeTrue($"{handler} gives the account a new security stamp");
        (await admin.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK, "the admin's own session is untouched");
    }

    [Fact]
    public async Task A_session_survives_changes_to_other_accounts_and_a_new_sign_in_works_after_a_password_reset()
    {
        var user = await NewUserAsync("stays");
        var other = await NewUserAsync("other");
        var (client, _) = await fixture.SignedInClientAsync(user.UserName);
        using var _client = client;
        await Users.SetRolesAsync("admin-id", "user:admin1", other.Id, [ReviewRoles.Senior], CancellationToken.None);
        (await client.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK);
        await Users.ResetPasswordAsync("user:admin1", user.Id, ReviewHostFixture.Password + " again", CancellationToken.None);
        SentToSignIn(await client.GetAsync("/review/queues")).Should().BeTrue();
        await Users.ResetPasswordAsync("user:admin1", user.Id, ReviewHostFixture.Password, CancellationToken.None);
        var (again, _) = await fixture.SignedInClientAsync(user.UserName);
        using var _again = again;
        (await again.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
