using System.Net;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>
/// The workbench's one mapping of refusals: a page handler's refusal answers with the same status as the API would give
/// it, and the page shows the message beside the field at fault.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class ReviewRefusalPageTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    [Theory]
    [InlineData("moderator1", "a-long-enough-password", HttpStatusCode.Conflict, "userName", "already exists")]
    [InlineData("new-user-short-password", "short", HttpStatusCode.BadRequest, "password", "12 to 256 characters")]
    public async Task A_refused_account_change_shows_the_reason_on_the_page_with_the_refusals_status(
        string userName, string password, HttpStatusCode status, string field, string reason)
    {
        var (client, _) = await fixture.SignedInClientAsync(ReviewHostFixture.UserFor[ReviewRoles.Admin]);
        using var _client = client;
        var token = ReviewHostFixture.Token(await client.GetStringAsync("/review/users"));

        var response = await client.PostAsync("/review/users?handler=Create", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["userName"] = userName, ["password"] = password, ["roles"] = ReviewRoles.Triage,
        }));

        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, html);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html", "the workbench shows its page, not JSON");
        html.Should().Contain($"data-field=\"{field}\"").And.Contain(reason);
    }
}
