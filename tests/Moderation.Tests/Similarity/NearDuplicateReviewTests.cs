using System.Net;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Scoring;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Review;

namespace Moderation.Tests.Similarity;

/// <summary>Near-duplicate clusters and suggested decisions through the real host's review pages (HTTP, SQLite).</summary>
[Collection(HostCollection.Name)]
public sealed class NearDuplicateReviewTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    private static readonly DialectSql SelectAudit = DialectSql.Portable("""
        SELECT subject_id, after_state FROM audit_events WHERE action = 'review.decided' AND subject_id IN (@A, @B, @C)
        """);

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string url, IEnumerable<KeyValuePair<string, string>> form)
    {
        var token = ReviewHostFixture.Token(await client.GetStringAsync("/review/queues"));
        return await client.PostAsync(url, new FormUrlEncodedContent(form.Append(new("__RequestVerificationToken", token))));
    }

    [Fact]
    public async Task Items_with_close_image_embeddings_are_one_cluster_decided_together_and_inherit_the_earlier_decision_as_a_suggestion()
    {
        // Three captions no exact rule would group, and one unrelated item; their pictures are the same photo (close
        // vectors, as the image scorer would store them), the fourth's is another.
        var a = await fixture.UploadForReviewAsync("first sighting of the giveaway scam [nearhost=0.7]");
        var b = await fixture.UploadForReviewAsync("totally different words here, same picture [nearhost=0.7]");
        var c = await fixture.UploadForReviewAsync("yet another caption for it [nearhost=0.7]");
        var d = await fixture.UploadForReviewAsync("an unrelated holiday photo [nearhost=0.7]");
        var store = fixture.Api.Services.GetRequiredService<UploadEmbeddings>();
        var random = new Random(11);
        var photo = VectorIndexTests.Unit(random, 512);
        foreach (var (id, noise) in new[] { (a, 0.004), (b, 0.006), (c, 0.008) })
            await store.StoreAsync(id, [new UploadEmbedding("image", "resnet18", 0, null, VectorIndexTests.Near(random, photo, noise))], CancellationToken.None);
        await store.StoreAsync(d, [new UploadEmbedding("image", "resnet18", 0, null, VectorIndexTests.Unit(random, 512))], CancellationToken.None);

        // moderator1 removes the first alone.
        var (first, _) = await fixture.SignedInClientAsync("moderator1");
        (await PostAsync(first, $"/review/item/{a}?handler=Claim", [new("kind", "review")])).StatusCode.Should().Be(HttpStatusCode.Redirect);
        var decided = await PostAsync(first, $"/review/item/{a}?handler=Decide",
            [new("kind", "review"), new("action", "remove"), new("reasonCode", "spam-scam"), new("note", "giveaway scam <b>x</b>"), new("next", "false")]);
        decided.StatusCode.Should().Be(HttpStatusCode.Redirect, await decided.Content.ReadAsStringAsync());

        // moderator2 opens the second: the first is a similar decided item and its decision the suggestion; the third
        // is in the cluster with the reason, the fourth is not.
        var (second, _) = await fixture.SignedInClientAsync("moderator2");
        (await PostAsync(second, $"/review/item/{b}?handler=Claim", [new("kind", "review")])).StatusCode.Should().Be(HttpStatusCode.Redirect);
        var page = await second.GetStringAsync($"/review/item/{b}?kind=review");
        var similarDecided = Section(page, "id=\"similar-decided\"");
        similarDecided.Should().Contain($"data-upload=\"{a}\"").And.Contain("Remove").And.Contain("spam-scam").And.Contain("image embedding (resnet18) cosine 0.9");
        similarDecided.Should().NotContain(d);
        Section(page, "id=\"suggestion\"").Should().Contain("Suggested: Remove").And.Contain("data-reason=\"spam-scam\"");
        var cluster = Section(page, "id=\"cluster\"");
        cluster.Should().Contain($"data-upload=\"{c}\"").And.Contain("image embedding (resnet18) cosine").And.NotContain(d);
        Section(page, "id=\"bulk\"").Should().Contain($"value=\"{c}\"").And.Contain("(near-duplicate)");

        // One step decides both, each with its own decision row and audit event naming why it was included.
        var bulk = await PostAsync(second, $"/review/item/{b}?handler=Decide",
            [new("kind", "review"), new("action", "remove"), new("reasonCode", "spam-scam"), new("next", "false"), new("members", c), new("members", d)]);
        bulk.StatusCode.Should().Be(HttpStatusCode.Redirect, await bulk.Content.ReadAsStringAsync());
        foreach (var id in new[] { a, b, c })
            (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("actioned");
        (await fixture.UploadAsync(d)).GetProperty("status").GetString().Should().Be("in_review", "a member that is not similar is skipped");

        await using var connection = await fixture.Api.Database.OpenAsync();
        var audit = (await connection.QueryAsync<(string SubjectId, string AfterState)>(fixture.Api.Database.Sql(SelectAudit), new { A = a, B = b, C = c })).ToList();
        audit.Select(e => e.SubjectId).Should().BeEquivalentTo([a, b, c]);
        audit.Single(e => e.SubjectId == c).AfterState.Should().Contain($"\"bulkAnchor\":\"{b}\"").And.Contain("\"bulkBasis\":\"image embedding (resnet18) cosine 0.9");
        audit.Single(e => e.SubjectId == b).AfterState.Should().Contain("\"bulkAnchor\":null");
    }

    /// <summary>The markup of the element that carries <paramref name="marker"/>, up to the end of its section.</summary>
    private static string Section(string html, string marker)
    {
        var start = html.IndexOf(marker, StringComparison.Ordinal);
        start.Should().BeGreaterThanOrEqualTo(0, $"the page has {marker}");
        var end = html.IndexOf("</section>", start, StringComparison.Ordinal);
        var endForm = html.IndexOf("</form>", start, StringComparison.Ordinal);
        if (end < 0 || endForm >= 0 && endForm < end) end = endForm;
        return html[start..(end < 0 ? html.Length : end)];
    }
}
