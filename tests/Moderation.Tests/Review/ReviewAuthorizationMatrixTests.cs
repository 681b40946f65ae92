using System.Net;
using System.Net.Http.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>Walks every workbench page and action with a visitor and each role.</summary>
[Collection(HostCollection.Name)]
public sealed class ReviewAuthorizationMatrixTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    /// <summary>SignIn: redirected to the sign-in form. Ok: allowed (2xx, or a redirect elsewhere). Forbidden: 403. Unauthorized: 401 (the jobs dashboard's answer to a visitor).</summary>
    public enum Outcome { SignIn, Ok, Forbidden, Unauthorized }

    private static readonly string[] Callers = ["visitor", ReviewRoles.Triage, ReviewRoles.Moderator, ReviewRoles.Senior, ReviewRoles.Policy, ReviewRoles.Admin];

    public static TheoryData<string, string, string, Outcome> Matrix()
    {
        var data = new TheoryData<string, string, string, Outcome>();
        void Row(string method, string path, params Outcome[] outcomes)
        {
            for (var i = 0; i < Callers.Length; i++) data.Add(method, path, Callers[i], outcomes[i]);
        }
        const Outcome s = Outcome.SignIn, ok = Outcome.Ok, no = Outcome.Forbidden, u = Outcome.Unauthorized;
        //                                                    visitor triage moderator senior policy admin
        Row("GET", "/review/", ok, ok, ok, ok, ok, ok);
        Row("GET", "/review/assets/review.js", ok, ok, ok, ok, ok, ok);
        Row("GET", "/review/signedin", ok, ok, ok, ok, ok, ok); // the landing page after a provider sign-in: a link on, nothing else
        Row("GET", "/review/queues", s, ok, ok, ok, ok, ok);
        Row("GET", "/review/item/{item}", s, ok, ok, ok, ok, ok);
        Row("GET", "/review/media/{item}/0", s, ok, ok, ok, ok, ok);
        Row("GET", "/review/quality", s, no, no, ok, ok, ok);
        Row("GET", "/review/audit", s, no, no, no, ok, ok);
        Row("GET", "/review/audit?handler=Export&format=csv", s, no, no, no, ok, ok);
        Row("POST", "/review/audit?handler=Verify", s, no, no, no, ok, ok);
        Row("GET", "/review/signalhealth", s, no, no, no, ok, ok);
        Row("POST", "/review/signalhealth?handler=Quarantine", s, no, no, no, ok, ok);
        Row("POST", "/review/signalhealth?handler=Release", s, no, no, no, ok, ok);
        Row("GET", "/review/policies", s, no, no, no, ok, ok);
        Row("GET", "/review/policies/version/config-default", s, no, no, no, ok, ok);
        Row("GET", "/review/policies/backtest/config-default", s, no, no, no, ok, ok);
        Row("GET", "/review/policies/explore", s, no, no, no, ok, ok);
        Row("GET", "/review/policies/auditsample", s, no, no, no, ok, ok);
        Row("POST", "/review/policies?handler=Create", s, no, no, no, ok, ok);
        Row("POST", "/review/policies?handler=Rollback", s, no, no, no, ok, ok);
        Row("POST", "/review/policies/version/config-default?handler=Save", s, no, no, no, ok, ok);
        Row("POST", "/review/policies/version/config-default?handler=State", s, no, no, no, ok, ok);
        Row("GET", "/review/fairness", s, no, no, no, ok, ok);
        Row("GET", "/review/users", s, no, no, no, no, ok);
        Row("POST", "/review/users?handler=Create", s, no, no, no, no, ok);
        Row("GET", "/review/apikeys", s, no, no, no, no, ok);
        Row("POST", "/review/apikeys?handler=Create", s, no, no, no, no, ok);
        Row("POST", "/review/queues?handler=Next", s, ok, ok, ok, no, ok);
        Row("POST", "/review/item/{item}?handler=Claim", s, ok, ok, ok, no, ok);
        Row("POST", "/review/item/{item}?handler=Decide", s, ok, ok, ok, no, ok);
        Row("GET", "/hangfire", u, no, no, no, no, ok); // Hangfire's dashboard, with the workbench cookie
        Row("GET", "/hangfire/jobs/failed", u, no, no, no, no, ok);
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_page_and_action_admits_exactly_the_roles_it_should(string method, string path, string caller, Outcome expected)
    {
        var item = await ItemAsync();
        var (client, _) = await fixture.SignedInClientAsync(caller == "visitor" ? null : ReviewHostFixture.UserFor[caller]);
        using var _client = client;
        var url = path.Replace("{item}", item, StringComparison.Ordinal);
        HttpResponseMessage response;
        if (method == "GET")
        {
            response = await client.GetAsync(url);
        }
        else
        {
            // A real form post: the anti-forgery token from a page this caller can see (the sign-in page for a visitor).
            var token = ReviewHostFixture.Token(await client.GetStringAsync(caller == "visitor" ? "/review/" : "/review/queues"));
            response = await client.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token, ["kind"] = "review",
            }));
        }

        var location = response.Headers.Location?.OriginalString ?? "";
        var actual = response.StatusCode switch
        {
            HttpStatusCode.Forbidden => Outcome.Forbidden,
            HttpStatusCode.Unauthorized => Outcome.Unauthorized,
            HttpStatusCode.Redirect when location.StartsWith("/review/?returnUrl=", StringComparison.Ordinal)
                || location.Contains("/review/?returnUrl=", StringComparison.Ordinal) => Outcome.SignIn,
            HttpStatusCode.BadRequest when method == "POST" => Outcome.Ok, // admitted, then refused for the empty form
            HttpStatusCode.Conflict when method == "POST" => Outcome.Ok,   // admitted; the item is not held by this caller
            _ when (int)response.StatusCode is >= 200 and < 400 => Outcome.Ok,
            _ => throw new Xunit.Sdk.XunitException($"{method} {url} as {caller}: unexpected {(int)response.StatusCode} (Location: {location})"),
        };
        actual.Should().Be(expected, $"{method} {url} as {caller} answered {(int)response.StatusCode} {location}");
        if (actual != Outcome.SignIn && url.StartsWith("/review/", StringComparison.Ordinal) && response.Content.Headers.ContentType?.MediaType == "text/html")
            response.Headers.GetValues("Content-Security-Policy").Single().Should().Contain("default-src 'none'");
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_name_and_a_disabled_user_cannot_sign_in()
    {
        var users = fixture.Api.Services.GetRequiredService<WorkbenchUsers>();
        var guessed = await users.CreateAsync("test", "guessed", ReviewHostFixture.Password, [ReviewRoles.Moderator], CancellationToken.None);
        var (client, _) = await fixture.SignedInClientAsync(null);
        using var _client = client;
        async Task<HttpStatusCode> SignIn(string name, string password)
        {
            var token = ReviewHostFixture.Token(await client.GetStringAsync("/review/"));
            using var response = await client.PostAsync("/review/", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["userName"] = name, ["password"] = password, ["__RequestVerificationToken"] = token,
            }));
            return response.StatusCode;
        }
        for (var i = 0; i < 5; i++) (await SignIn("guessed", "wrong password " + i)).Should().Be(HttpStatusCode.Unauthorized);
        (await SignIn("guessed", ReviewHostFixture.Password)).Should().Be(HttpStatusCode.TooManyRequests, "the name is locked, right password or not");

        var disabled = await users.CreateAsync("test", "leaver", ReviewHostFixture.Password, [ReviewRoles.Moderator], CancellationToken.None);
        var (signedIn, _) = await fixture.SignedInClientAsync("leaver");
        using var _signedIn = signedIn;
        (await signedIn.GetAsync("/review/queues")).StatusCode.Should().Be(HttpStatusCode.OK);
        await users.SetDisabledAsync("admin-id", "test", disabled.Id, true, CancellationToken.None);
        var after = await signedIn.GetAsync("/review/queues");
        after.StatusCode.Should().Be(HttpStatusCode.Redirect, "a disabled account's cookie stops working");
        (await SignIn("leaver", ReviewHostFixture.Password)).Should().Be(HttpStatusCode.Unauthorized);
        guessed.Roles.Should().Equal(ReviewRoles.Moderator);
    }

    [Fact]
    public async Task A_bad_appeal_gets_problem_details_naming_the_field()
    {
        var client = fixture.Api.Client;
        async Task<(int Status, string Body)> Post(object body)
        {
            using var response = await client.PostAsJsonAsync("/v1/appeals", body);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        var missing = await Post(new { statement = "why" });
        missing.Status.Should().Be(400);
        missing.Body.Should().Contain("uploadId");
        var empty = await Post(new { uploadId = "x", statement = "   " });
        empty.Status.Should().Be(400);
        empty.Body.Should().Contain("statement");
        var unknown = await Post(new { uploadId = "no-such-upload", statement = "why" });
        unknown.Status.Should().Be(404);
        var unknownField = await Post(new { uploadId = "x", statement = "s", extra = 1 });
        unknownField.Status.Should().Be(400);
        var notDecided = await Post(new { uploadId = await ItemAsync(), statement = "never decided" });
        notDecided.Status.Should().Be(409);
        notDecided.Body.Should().Contain("no standing reviewer decision");
        var tooLong = await Post(new { uploadId = await ItemAsync(), statement = new string('x', 4001) });
        tooLong.Status.Should().Be(400);
        tooLong.Body.Should().Contain("statement");
    }

    private static string? item;
    private static readonly SemaphoreSlim ItemLock = new(1, 1);

    /// <summary>One item with an image, routed to review in a queue of its own, shared by all rows.</summary>
    private async Task<string> ItemAsync()
    {
        await ItemLock.WaitAsync();
        try
        {
            return item ??= await fixture.UploadForReviewAsync("matrix item [matrix=0.7]", withImage: true);
        }
        finally
        {
            ItemLock.Release();
        }
    }
}
