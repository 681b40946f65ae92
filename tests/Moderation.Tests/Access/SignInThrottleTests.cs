using System.Net;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Review;

namespace Moderation.Tests.Access;

/// <summary>The workbench host with the per-address budget out of the way: these tests all come from 127.0.0.1.</summary>
public sealed class ThrottleHostFixture : ReviewHostFixture
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings { get; } = new Dictionary<string, string?>
    {
        ["Moderation:SignIn:FreeFailuresPerAddress"] = "100000",
    };
}

/// <summary>Password guessing on the sign-in form, over HTTP like a script would: counted before the check, in the database.</summary>
[Collection(HostCollection.Name)]
public sealed class SignInThrottleTests(ThrottleHostFixture fixture) : IClassFixture<ThrottleHostFixture>
{
    private WorkbenchUsers Users => fixture.Api.Services.GetRequiredService<WorkbenchUsers>();

    private async Task<WorkbenchAccount> NewUserAsync(string prefix, string role = ReviewRoles.Moderator) =>
        await Users.CreateAsync("test", $"{prefix}-{Guid.NewGuid():N}"[..24], ReviewHostFixture.Password, [role], CancellationToken.None);

    /// <summary>A sign-in form post with <paramref name="client"/>'s cookies and a token from <paramref name="form"/>.</summary>
    private static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string form, string userName, string password) =>
        await client.PostAsync("/review/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userName"] = userName, ["password"] = password, ["__RequestVerificationToken"] = ReviewHostFixture.Token(form),
        }));

    [Fact]
    public async Task Twelve_parallel_guesses_get_five_password_checks_and_then_even_the_right_password_waits()
    {
        var user = await NewUserAsync("guessed");
        var (attacker, _) = await fixture.SignedInClientAsync(null);
        using var _attacker = attacker;
        var form = await attacker.GetStringAsync("/review/");
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => SignInAsync(attacker, form, user.UserName, $"wrong guess number {i}")));
        responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized).Should().Be(5, "only the five free attempts reach the password check");
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        refused.Should().HaveCount(7);
        refused.Should().OnlyContain(r => r.Headers.RetryAfter != null && r.Headers.RetryAfter.Delta > TimeSpan.Zero);
        (await refused[0].Content.ReadAsStringAsync()).Should().Contain("Too many failed sign-ins");

        (await SignInAsync(attacker, form, user.UserName, ReviewHostFixture.Password)).StatusCode
            .Should().Be(HttpStatusCode.TooManyRequests, "during the delay no password is checked, right or wrong");
    }

    [Fact]
    public async Task Guessing_never_delays_a_browser_the_account_signed_in_on_before_not_even_the_bootstrap_admins()
    {
        // The bootstrapped admin (TestApi's "admin") and an ordinary account.
        foreach (var (name, password) in new[] { ("admin", "test-admin-password"), ((await NewUserAsync("victim")).UserName, ReviewHostFixture.Password) })
        {
            // The owner signs in once and out again: the browser keeps its device cookie, not the session.
            var cookies = new CookieContainer();
            using var owner = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = fixture.Api.BaseAddress };
            (await SignInAsync(owner, await owner.GetStringAsync("/review/"), name, password)).StatusCode.Should().Be(HttpStatusCode.Redirect);
            var signOut = ReviewHostFixture.Token(await owner.GetStringAsync("/review/queues"));
            (await owner.PostAsync("/review/signout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = signOut })))
                .StatusCode.Should().Be(HttpStatusCode.Redirect);
            cookies.GetCookies(new Uri(fixture.Api.BaseAddress, "/review/")).Select(c => c.Name).Should().Contain(SignInDevicesCookie);

            var (attacker, _) = await fixture.SignedInClientAsync(null);
            using var _attacker = attacker;
            var form = await attacker.GetStringAsync("/review/");
            for (var i = 0; i < 5; i++) (await SignInAsync(attacker, form, name, $"guess {i} for you")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            (await SignInAsync(attacker, form, name, password)).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);

            var again = await SignInAsync(owner, await owner.GetStringAsync("/review/"), name, password);
            again.StatusCode.Should().Be(HttpStatusCode.Redirect, $"{name}'s own browser is counted on its own, so the guesses do not shut it out");
            (await owner.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    private const string SignInDevicesCookie = "moderation-review-device";

    [Fact]
    public async Task Failures_on_one_host_count_on_every_host()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var first = await TestApi.StartAsync(database, withScorer: false);
        await using var second = await TestApi.StartAsync(database, withScorer: false, new Dictionary<string, string?> { ["Moderation:Worker:InProcess"] = "false" });
        var user = await first.Services.GetRequiredService<WorkbenchUsers>().CreateAsync("test", "shared-user", ReviewHostFixture.Password, [ReviewRoles.Moderator], CancellationToken.None);

        async Task<HttpStatusCode> Attempt(TestApi host, string password)
        {
            using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = host.BaseAddress };
            using var response = await SignInAsync(client, await client.GetStringAsync("/review/"), user.UserName, password);
            return response.StatusCode;
        }
        for (var i = 0; i < 5; i++) (await Attempt(i % 2 == 0 ? first : second, $"wrong on both {i}")).Should().Be(HttpStatusCode.Unauthorized);
        (await Attempt(second, ReviewHostFixture.Password)).Should().Be(HttpStatusCode.TooManyRequests, "the five failures were counted in the database both hosts share");
        (await Attempt(first, ReviewHostFixture.Password)).Should().Be(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task A_common_password_is_refused_on_the_users_page()
    {
        var (admin, _) = await fixture.SignedInClientAsync((await NewUserAsync("admin", ReviewRoles.Admin)).UserName);
        using var _admin = admin;
        var token = ReviewHostFixture.Token(await admin.GetStringAsync("/review/users"));
        var response = await admin.PostAsync("/review/users?handler=Create", new FormUrlEncodedContent(new List<KeyValuePair<string, string>>
        {
            new("__RequestVerificationToken", token), new("userName", "weak-" + Guid.NewGuid().ToString("N")[..8]),
            new("password", "Password1234"), new("roles", ReviewRoles.Moderator),
        }));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("data-field=\"password\"").And.Contain("list of common passwords");
    }
}
