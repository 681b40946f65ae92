using System.Net.Http.Json;
using FluentAssertions;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>Reach and reports pushed through the API show on the queue list and the item page, in the priority order.</summary>
[Collection(HostCollection.Name)]
public sealed class ReviewPriorityPageTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    [Fact]
    public async Task The_queue_list_and_item_page_show_views_reports_and_the_priority_they_make()
    {
        var quiet = await fixture.UploadForReviewAsync("a quiet item [prioritypage=0.8]");
        var viral = await fixture.UploadForReviewAsync("a viral item [prioritypage=0.6]");
        var api = fixture.Api.Client;
        (await api.PostAsJsonAsync("/v1/reach", new { items = new[] { new { uploadId = viral, views = 1_234_567 } } })).EnsureSuccessStatusCode();
        foreach (var (reporter, reason) in new[] { ("r1", "spam"), ("r2", "spam"), ("r3", "harassment") })
            (await api.PostAsJsonAsync($"/v1/uploads/{viral}/reports", new { reporterId = reporter, reason })).EnsureSuccessStatusCode();

        var (client, _) = await fixture.SignedInClientAsync(ReviewHostFixture.UserFor["moderator"]);
        using var _client = client;
        var list = await client.GetStringAsync("/review/queues?queue=prioritypage&sort=Priority");
        list.Should().Contain("<th class=\"num\">Views</th>").And.Contain("<th class=\"num\">Reports</th>");
        list.IndexOf(viral, StringComparison.Ordinal).Should().BeLessThan(list.IndexOf(quiet, StringComparison.Ordinal),
            "1.2 million views and three reports outrank a 0.2 higher score");
        list.Should().Contain("1,234,567");

        var item = await client.GetStringAsync($"/review/item/{viral}");
        item.Should().Contain("id=\"priority\"").And.Contain("score 0.600, 1,234,567 views, 3 reports");
        item.Should().Contain("reported for spam (2), harassment (1)");
    }
}
