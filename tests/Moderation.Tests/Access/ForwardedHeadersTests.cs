using System.Net;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Review;

namespace Moderation.Tests.Access;

/// <summary>
/// Behind a TLS-terminating proxy: X-Forwarded-Proto/-For are believed from configured proxies only; then the
/// workbench's cookies are Secure, HSTS is sent, and the throttle counts the client's address, not the proxy's.
/// </summary>
[Collection(HostCollection.Name)]
public sealed partial class ForwardedHeadersTests
{
    /// <summary>One browser's requests through a proxy: its own cookie header (a Secure cookie is sent, as a browser on HTTPS would).</summary>
    private sealed class ProxiedBrowser(TestApi api, string clientAddress) : IDisposable
    {
        private readonly HttpClient client = new(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = api.BaseAddress };
        private readonly Dictionary<string, string> cookies = [];
        public List<string> SetCookies { get; } = [];

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.Host = "review.example";
            request.Headers.Add("X-Forwarded-Proto", "https");
            request.Headers.Add("X-Forwarded-For", clientAddress);
            if (cookies.Count > 0) request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
            var response = await client.SendAsync(request);
            foreach (var header in response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [])
            {
                SetCookies.Add(header);
                var pair = header.Split(';')[0].Split('=', 2);
                cookies[pair[0]] = pair[1];
            }
            return response;
        }

        public async Task<HttpResponseMessage> SignInAsync(string userName, string password)
        {
            var form = await (await SendAsync(HttpMethod.Get, "/review/")).Content.ReadAsStringAsync();
            return await SendAsync(HttpMethod.Post, "/review/", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["userName"] = userName, ["password"] = password, ["__RequestVerificationToken"] = ReviewHostFixture.Token(form),
            }));
        }

        public void Dispose() => client.Dispose();
    }

    private static async Task<TestApi> StartAsync(TestDatabase database, bool trustLoopback)
    {
        var settings = new Dictionary<string, string?> { ["Moderation:SignIn:FreeFailuresPerAddress"] = "3" };
        if (trustLoopback) settings["Moderation:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1";
        var api = await TestApi.StartAsync(database, withScorer: false, settings);
        await api.Services.GetRequiredService<WorkbenchUsers>().CreateAsync("test", "proxied", ReviewHostFixture.Password, [ReviewRoles.Moderator], CancellationToken.None);
        return api;
    }

    [Fact]
    public async Task Behind_a_configured_proxy_cookies_are_secure_hsts_is_sent_and_the_client_address_is_throttled()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var api = await StartAsync(database, trustLoopback: true);

        using var browser = new ProxiedBrowser(api, "203.0.113.9");
        var signedIn = await browser.SignInAsync("proxied", ReviewHostFixture.Password);
        signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var session = browser.SetCookies.Single(c => c.StartsWith("moderation-review=", StringComparison.Ordinal));
        SecureFlag().IsMatch(session).Should().BeTrue($"the proxy said HTTPS: {session}");
        browser.SetCookies.Where(c => c.StartsWith("moderation-review", StringComparison.Ordinal)).Should().OnlyContain(c => SecureFlag().IsMatch(c));
        signedIn.Headers.TryGetValues("Strict-Transport-Security", out var hsts).Should().BeTrue();
        hsts!.Single().Should().Contain("max-age=31536000");
        (await browser.SendAsync(HttpMethod.Get, "/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK, "the Secure session cookie works over the proxy");

        // The throttle sees the forwarded client addresses: three failures use 203.0.113.66's budget, not 203.0.113.67's.
        using var guesser = new ProxiedBrowser(api, "203.0.113.66");
        for (var i = 0; i < 3; i++) (await guesser.SignInAsync($"nobody{i}", "some wrong password")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await guesser.SignInAsync("nobody-else", "some wrong password")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        using var neighbour = new ProxiedBrowser(api, "203.0.113.67");
        (await neighbour.SignInAsync("nobody-else", "some wrong password")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Without_a_configured_proxy_forwarded_headers_are_ignored()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var api = await StartAsync(database, trustLoopback: false);

        using var browser = new ProxiedBrowser(api, "203.0.113.9");
        var signedIn = await browser.SignInAsync("proxied", ReviewHostFixture.Password);
        signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        browser.SetCookies.Should().NotContain(c => SecureFlag().IsMatch(c), "nobody said HTTPS that the host believes");
        signedIn.Headers.Contains("Strict-Transport-Security").Should().BeFalse();

        // Every caller is 127.0.0.1 whatever X-Forwarded-For claims: a new claimed address gets no new budget.
        using var guesser = new ProxiedBrowser(api, "203.0.113.66");
        for (var i = 0; i < 3; i++) (await guesser.SignInAsync($"nobody{i}", "some wrong password")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        using var claimsOther = new ProxiedBrowser(api, "203.0.113.67");
        (await claimsOther.SignInAsync("nobody-else", "some wrong password")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
    }

    [GeneratedRegex(@";\s*secure(;|$)", RegexOptions.IgnoreCase)]
    private static partial Regex SecureFlag();
}
