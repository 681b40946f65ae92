using System.Net;
using System.Net.Sockets;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>The workbench host on SQLite, configured to sign users in through <see cref="TestOidcProvider"/>.</summary>
public sealed class OidcHostFixture : IAsyncLifetime
{
    public const string DisplayName = "Test IdP";
    private TestDatabase? database;

    public TestOidcProvider Provider { get; private set; } = null!;
    public TestApi Api { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Provider = await TestOidcProvider.StartAsync();
        // A real provider is warm; this one answers its first requests after a cold start, which can take longer
        // than the workbench's 10 s metadata timeout on a loaded machine.
        using (var warm = new HttpClient { BaseAddress = Provider.Authority, Timeout = TimeSpan.FromMinutes(2) })
        {
            var discovery = await warm.GetStringAsync(".well-known/openid-configuration");
            using var document = System.Text.Json.JsonDocument.Parse(discovery);
            await warm.GetStringAsync(document.RootElement.GetProperty("jwks_uri").GetString());
        }
        database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        Api = await TestApi.StartAsync(database, withScorer: false, new Dictionary<string, string?>
        {
            ["Moderation:Review:OpenIdConnect:Name"] = "testidp",
            ["Moderation:Review:OpenIdConnect:DisplayName"] = DisplayName,
            ["Moderation:Review:OpenIdConnect:Authority"] = Provider.Authority.ToString(),
            ["Moderation:Review:OpenIdConnect:ClientId"] = TestOidcProvider.ClientId,
            ["Moderation:Review:OpenIdConnect:ClientSecret"] = TestOidcProvider.ClientSecret,
            ["Moderation:Review:OpenIdConnect:RequireHttpsMetadata"] = "false",
            ["Moderation:Review:OpenIdConnect:RoleClaim"] = "groups",
            ["Moderation:Review:OpenIdConnect:RoleMap:moderation-seniors"] = "senior",
            ["Moderation:Review:OpenIdConnect:RoleMap:moderation-staff"] = "moderator",
            ["Moderation:Review:OpenIdConnect:RoleMap:trust-safety-ops"] = "admin policy",
        });
        Provider.RedirectUri = new Uri(Api.BaseAddress, "/review/signin-oidc").ToString();
        await Api.Services.GetRequiredService<WorkbenchUsers>().CreateAsync("test", "localmod", ReviewHostFixture.Password, [ReviewRoles.Moderator], CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (Api is not null) await Api.DisposeAsync();
        if (database is not null) await database.DisposeAsync();
        if (Provider is not null) await Provider.DisposeAsync();
    }
}

/// <summary>
/// Sign-in through a real OpenID Connect provider, driven like a browser: an HTTP client with a cookie jar follows
/// every redirect (workbench → provider → callback → landing page).
/// </summary>
[Collection(HostCollection.Name)]
public sealed partial class OpenIdConnectSignInTests(OidcHostFixture fixture) : IClassFixture<OidcHostFixture>
{
    [System.Text.RegularExpressions.GeneratedRegex("id=\"signin-external\">\\s*<a [^>]*href=\"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex ButtonLink();

    private static HttpClient Browser(Uri baseAddress) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = true, MaxAutomaticRedirections = 10 })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };

    /// <summary>Presses "Sign in with …" on the sign-in page and follows the redirects; returns the last response.</summary>
    private static async Task<HttpResponseMessage> PressProviderButtonAsync(HttpClient client, string? returnUrl = null)
    {
        var form = await client.GetStringAsync("/review/");
        form.Should().Contain($"Sign in with {OidcHostFixture.DisplayName}").And.Contain("id=\"signin\"", "the local form stays beside it");
        var link = ButtonLink().Match(form);
        link.Success.Should().BeTrue("the sign-in page links to the provider");
        link.Groups[1].Value.Should().StartWith("/review/?handler=External");
        return await client.GetAsync("/review/?handler=External" + (returnUrl is null ? "" : "&returnUrl=" + Uri.EscapeDataString(returnUrl)));
    }

    private async Task<List<AuditEvent>> AuditForAsync(string userId) =>
        (await AuditLog.ReadAsync(fixture.Api.Database, 0, 10_000, CancellationToken.None)).Where(e => e.SubjectId == userId).ToList();

    private async Task<WorkbenchAccount?> AccountNamedAsync(string userName) =>
        (await fixture.Api.Services.GetRequiredService<WorkbenchUsers>().ListAsync(CancellationToken.None)).SingleOrDefault(a => a.UserName == userName);

    [Fact]
    public async Task A_provider_sign_in_creates_a_local_user_with_mapped_roles_and_audits_it()
    {
        fixture.Provider.NextUser = new ProviderUser("sub-ada-1", "ada", "moderation-seniors", "unrelated-group");
        using var client = Browser(fixture.Api.BaseAddress);

        using var landing = await PressProviderButtonAsync(client, "/review/quality");

        landing.StatusCode.Should().Be(HttpStatusCode.OK, await landing.Content.ReadAsStringAsync());
        landing.RequestMessage!.RequestUri!.AbsolutePath.Should().Be("/review/signedin");
        var html = await landing.Content.ReadAsStringAsync();
        html.Should().Contain("http-equiv=\"refresh\"").And.Contain("/review/quality", "the page the user asked for before signing in");
        fixture.Provider.ChallengeMethods.Should().Contain("S256", "the authorization-code flow uses PKCE");
        fixture.Provider.CodeRedemptions.Should().BeGreaterThan(0, "the code was redeemed with the client secret");

        (await client.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/review/quality")).StatusCode.Should().Be(HttpStatusCode.OK, "senior (from moderation-seniors) may see quality");
        (await client.GetAsync("/review/users")).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        var account = await AccountNamedAsync("ada");
        account.Should().NotBeNull();
        account!.Roles.Should().Equal(ReviewRoles.Senior);
        account.SignsInWith.Should().Be("testidp");
        var events = await AuditForAsync(account.Id);
        events.Select(e => e.Action).Should().Equal("user.created", "user.signed_in");
        events[0].Actor.Should().Be("oidc:testidp");
        events[1].Actor.Should().Be("user:ada");
        events[1].AfterState.Should().Contain("oidc").And.Contain("sub-ada-1");
        (await AuditLog.VerifyAsync(fixture.Api.Database, CancellationToken.None)).Intact.Should().BeTrue();

        // The local record works like any other: it can claim (the queue is empty here, so "nothing waiting").
        var queues = await client.GetStringAsync("/review/queues");
        using var next = await client.PostAsync("/review/queues?handler=Next", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = ReviewHostFixture.Token(queues),
        }));
        next.StatusCode.Should().Be(HttpStatusCode.OK);
        next.RequestMessage!.RequestUri!.Query.Should().Contain("message=empty");
    }

    [Fact]
    public async Task Roles_follow_the_providers_claim_at_each_sign_in_and_the_change_is_audited()
    {
        fixture.Provider.NextUser = new ProviderUser("sub-bo-2", "bo", "moderation-staff");
        using (var first = Browser(fixture.Api.BaseAddress))
            (await PressProviderButtonAsync(first)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await AccountNamedAsync("bo"))!.Roles.Should().Equal(ReviewRoles.Moderator);

        fixture.Provider.NextUser = new ProviderUser("sub-bo-2", "bo-renamed", "trust-safety-ops");
        using var second = Browser(fixture.Api.BaseAddress);
        (await PressProviderButtonAsync(second)).StatusCode.Should().Be(HttpStatusCode.OK);

        var account = await AccountNamedAsync("bo");
        account!.Roles.Should().Equal(ReviewRoles.Policy, ReviewRoles.Admin);
        (await AccountNamedAsync("bo-renamed")).Should().BeNull("the same subject is the same account; its name stays");
        (await second.GetAsync("/review/users")).StatusCode.Should().Be(HttpStatusCode.OK, "now an admin");
        var changed = (await AuditForAsync(account.Id)).Single(e => e.Action == "user.roles_changed");
        changed.Actor.Should().Be("oidc:testidp");
        changed.BeforeState.Should().Contain("moderator");
        changed.AfterState.Should().Contain("admin").And.Contain("policy");
    }

    [Fact]
    public async Task A_provider_user_never_takes_over_a_local_account_of_the_same_name()
    {
        fixture.Provider.NextUser = new ProviderUser("sub-impostor-3", "localmod", "moderation-seniors");
        using var client = Browser(fixture.Api.BaseAddress);
        (await PressProviderButtonAsync(client)).StatusCode.Should().Be(HttpStatusCode.OK);

        var accounts = await fixture.Api.Services.GetRequiredService<WorkbenchUsers>().ListAsync(CancellationToken.None);
        accounts.Single(a => a.UserName == "localmod").Roles.Should().Equal([ReviewRoles.Moderator], "the local account is untouched");
        accounts.Should().ContainSingle(a => a.UserName.StartsWith("localmod-", StringComparison.Ordinal) && a.SignsInWith == "testidp");

        // And the provider's account has no password: nobody signs in to it with the local form.
        var (local, _) = await SignInLocallyAsync(accounts.Single(a => a.UserName.StartsWith("localmod-", StringComparison.Ordinal)).UserName, "a guessed password");
        local.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_declined_or_disabled_sign_in_goes_back_to_the_sign_in_page_signed_out()
    {
        fixture.Provider.NextUser = null; // the user declines at the provider
        using (var client = Browser(fixture.Api.BaseAddress))
        {
            using var declined = await PressProviderButtonAsync(client);
            declined.RequestMessage!.RequestUri!.PathAndQuery.Should().Be("/review/?externalError=failed");
            (await declined.Content.ReadAsStringAsync()).Should().Contain($"Sign-in with {OidcHostFixture.DisplayName} did not complete");
            using var after = await client.GetAsync("/review/queues");
            after.RequestMessage!.RequestUri!.AbsolutePath.Should().Be("/review/", "still a visitor");
        }

        fixture.Provider.NextUser = new ProviderUser("sub-cy-4", "cy", "moderation-staff");
        using (var client = Browser(fixture.Api.BaseAddress))
            (await PressProviderButtonAsync(client)).StatusCode.Should().Be(HttpStatusCode.OK);
        var cy = await AccountNamedAsync("cy");
        await fixture.Api.Services.GetRequiredService<WorkbenchUsers>().SetDisabledAsync("admin-id", "test", cy!.Id, true, CancellationToken.None);
        using (var client = Browser(fixture.Api.BaseAddress))
        {
            using var refused = await PressProviderButtonAsync(client);
            refused.RequestMessage!.RequestUri!.PathAndQuery.Should().Be("/review/?externalError=disabled");
            (await refused.Content.ReadAsStringAsync()).Should().Contain("disabled");
            using var after = await client.GetAsync("/review/queues");
            after.RequestMessage!.RequestUri!.AbsolutePath.Should().Be("/review/");
        }
    }

    [Fact]
    public async Task In_Chromium_the_provider_button_ends_signed_in_on_the_page_asked_for()
    {
        Assert.SkipUnless(File.Exists(ReviewHostFixture.ChromiumPath), $"{ReviewHostFixture.ChromiumPath} is not installed (apt-get install chromium; .ci/run does).");
        fixture.Provider.NextUser = new ProviderUser("sub-eve-5", "eve", "moderation-staff");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ReviewHostFixture.ChromiumPath, Headless = true, Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.Api.BaseAddress.ToString().TrimEnd('/') });
        context.SetDefaultTimeout(ReviewHostFixture.BrowserWaitMs);
        context.SetDefaultNavigationTimeout(ReviewHostFixture.BrowserWaitMs);
        var page = await context.NewPageAsync();

        await page.GotoAsync("/review/queues?sort=Oldest");
        page.Url.Should().Contain("/review/?returnUrl=");
        await page.ClickAsync("#signin-external a");
        // Where the flow ends, read from the page's URL as each redirect lands, rather than from a navigation event: under
        // the full CI suite Playwright twice missed the load event, and once even the commit, of a page that was there,
        // signed in and rendered. What matters is where the flow ends and as whom.
        var deadline = DateTime.UtcNow.AddMilliseconds(ReviewHostFixture.BrowserWaitMs);
        while (!page.Url.EndsWith("/review/queues?sort=Oldest", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        if (!page.Url.EndsWith("/review/queues?sort=Oldest", StringComparison.Ordinal))
        {
            // Say where the flow stopped: the provider, the landing page or an error page.
            var body = await page.InnerTextAsync("body");
            throw new TimeoutException($"Still at {page.Url} ({await page.TitleAsync()}): {body[..Math.Min(body.Length, 500)]}");
        }
        var who = page.Locator("header .who");
        await who.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
        (await who.TextContentAsync())!.Should().Contain("eve").And.Contain("moderator");
    }

    [Fact]
    public async Task Local_accounts_sign_in_as_before_beside_the_provider()
    {
        var (status, _) = await SignInLocallyAsync("localmod", ReviewHostFixture.Password);
        status.Should().Be(HttpStatusCode.Redirect);
        var local = await AccountNamedAsync("localmod");
        (await AuditForAsync(local!.Id)).Should().Contain(e => e.Action == "user.signed_in" && e.AfterState!.Contains("password"));
    }

    private async Task<(HttpStatusCode Status, string Body)> SignInLocallyAsync(string userName, string password)
    {
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = fixture.Api.BaseAddress };
        var form = await client.GetStringAsync("/review/");
        using var response = await client.PostAsync("/review/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userName"] = userName, ["password"] = password, ["__RequestVerificationToken"] = ReviewHostFixture.Token(form),
        }));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

/// <summary>A wrong or unreachable provider must never take the workbench down for local users.</summary>
[Collection(HostCollection.Name)]
public sealed class OpenIdConnectMisconfigurationTests
{
    private static async Task<(TestDatabase Database, TestApi Api)> StartAsync(Dictionary<string, string?> settings)
    {
        var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var api = await TestApi.StartAsync(database, withScorer: false, settings);
        await api.Services.GetRequiredService<WorkbenchUsers>().CreateAsync("test", "localmod", ReviewHostFixture.Password, [ReviewRoles.Moderator], CancellationToken.None);
        return (database, api);
    }

    private static async Task LocalSignInWorksAsync(TestApi api)
    {
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = api.BaseAddress };
        var form = await client.GetStringAsync("/review/");
        using var response = await client.PostAsync("/review/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userName"] = "localmod", ["password"] = ReviewHostFixture.Password, ["__RequestVerificationToken"] = ReviewHostFixture.Token(form),
        }));
        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await client.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_missing_authority_turns_provider_sign_in_off_with_a_clear_message_and_local_sign_in_works()
    {
        var (database, api) = await StartAsync(new()
        {
            ["Moderation:Review:OpenIdConnect:DisplayName"] = "Corp SSO",
            ["Moderation:Review:OpenIdConnect:ClientId"] = "workbench",
        });
        await using var _database = database;
        await using var _api = api;

        var page = await api.CreateClient(null).GetStringAsync("/review/");
        page.Should().Contain("Sign-in with Corp SSO is off").And.Contain("Moderation:Review:OpenIdConnect:Authority is missing");
        page.Should().NotContain("handler=External");
        (await api.CreateClient(null).GetAsync("/review/?handler=External")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        await LocalSignInWorksAsync(api);
    }

    [Fact]
    public async Task An_unreachable_provider_answers_503_on_the_sign_in_page_and_local_sign_in_works()
    {
        // A port nothing listens on: bind one, note it, close it.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var (database, api) = await StartAsync(new()
        {
            ["Moderation:Review:OpenIdConnect:DisplayName"] = "Corp SSO",
            ["Moderation:Review:OpenIdConnect:Authority"] = $"http://127.0.0.1:{port}/",
            ["Moderation:Review:OpenIdConnect:ClientId"] = "workbench",
            ["Moderation:Review:OpenIdConnect:RequireHttpsMetadata"] = "false",
        });
        await using var _database = database;
        await using var _api = api;

        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = api.BaseAddress };
        var form = await client.GetStringAsync("/review/");
        form.Should().Contain("Sign in with Corp SSO");
        using var pressed = await client.GetAsync("/review/?handler=External");
        pressed.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await pressed.Content.ReadAsStringAsync()).Should().Contain("Corp SSO cannot be reached right now");
        await LocalSignInWorksAsync(api);
        (await api.CreateClient(null).GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
