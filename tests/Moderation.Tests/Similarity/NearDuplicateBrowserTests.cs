using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dapper;
using FluentAssertions;
using Microsoft.Playwright;
using Moderation.Core.Media;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Media;
using Moderation.Tests.Review;
using SkiaSharp;

namespace Moderation.Tests.Similarity;

/// <summary>The review host with the real text scorer (MiniLM) and the hash-match scorer on, beside the markup scorer that routes to review.</summary>
public sealed class ScoringReviewHostFixture : ReviewHostFixture
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings { get; } = new Dictionary<string, string?>
    {
        ["Moderation:Scoring:Text:Enabled"] = "true",
        ["Moderation:Scoring:Media:Enabled"] = "true",
        ["Moderation:Scoring:Media:RefreshInterval"] = "00:00:00",
        ["Moderation:Scoring:Ocr:Enabled"] = "true",
        ["Moderation:Similarity:RefreshInterval"] = "00:00:00",
        ["Moderation:Limits:MaxMediaBytes"] = "2097152",
        ["Moderation:Limits:MaxRequestBytes"] = "16777216",
    };
}

/// <summary>Near-duplicate text clusters, suggested decisions and frame evidence in a real browser (Chromium), scored by the real models.</summary>
[Collection(HostCollection.Name)]
public sealed class NearDuplicateBrowserTests(ScoringReviewHostFixture fixture) : IClassFixture<ScoringReviewHostFixture>
{
    [Fact]
    public async Task A_moderator_sees_the_suggested_decision_and_bulk_decides_a_cluster_of_retyped_captions_each_audited()
    {
        // Retyped copies of one scam caption: no exact rule groups them (case, punctuation, a word differ).
        string[] captions =
        [
            "Win a free iPhone 15! Click the link in my bio to claim your prize now [nearui=0.7]",
            "WIN a FREE iphone 15!!! click the link in my bio to claim your prize NOW [nearui=0.7]",
            "Win a free iPhone 15! Just click the link in my bio to claim your prize today [nearui=0.7]",
        ];
        // Posted together and waited for generously: the first scoring job of this host loads the text model.
        var ids = new List<string>();
        foreach (var caption in captions)
            ids.Add((await fixture.Api.PostUploadAsync(new
            {
                externalId = "near-" + Guid.NewGuid().ToString("N")[..12], creatorId = "creator-near", caption, comments = new[] { "<img src=x onerror=alert(1)>" },
            })).GetProperty("id").GetString()!);
        foreach (var id in ids)
            (await fixture.Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(240))).GetProperty("status").GetString().Should().Be("in_review");
        var page = await fixture.SignedInPageAsync("moderator1");
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) => { dialogs.Add(dialog.Message); _ = dialog.DismissAsync(); };

        // The first item taken is removed on its own.
        await page.GotoAsync("/review/queues?queue=nearui");
        await page.ClickAsync("#next-item");
        await page.WaitForPageAsync("**/review/item/**");
        var first = ids.Single(id => page.Url.Contains(id, StringComparison.Ordinal));
        await page.Locator("body").ClickAsync(new LocatorClickOptions { Position = new Position { X = 5, Y = 5 } });
        await page.Keyboard.PressAsync("r");
        await page.SelectOptionAsync("#reason-code", "spam-scam");
        await page.ClickAsync("#decide");
        await page.WaitForPageAsync("**/review/queues?message=decided*");

        // The next one shows the first as a similar decided item, its decision as the suggestion, and the third
        // in its cluster by text embedding.
        await page.GotoAsync("/review/queues?queue=nearui");
        await page.ClickAsync("#next-item");
        await page.WaitForPageAsync("**/review/item/**");
        var second = ids.Single(id => page.Url.Contains(id, StringComparison.Ordinal));
        var third = ids.Single(id => id != first && id != second);
        (await page.Locator("#suggestion").InnerTextAsync()).Should().Contain("Suggested: Remove").And.Contain("spam-scam").And.Contain("text embedding (all-MiniLM-L6-v2-int8) cosine");
        (await page.Locator($"#similar-decided tr[data-upload='{first}']").InnerTextAsync()).Should().Contain("Remove").And.Contain("moderator1");
        (await page.Locator($"#cluster tr[data-upload='{third}'] td.basis").InnerTextAsync()).Should().StartWith("text embedding (all-MiniLM-L6-v2-int8) cosine 0.9");
        (await page.Locator(".bulk-member").CountAsync()).Should().Be(1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("near-duplicates.png"), FullPage = true });

        // "Use suggestion" picks the earlier decision and reason; the cluster is decided in one step.
        await page.ClickAsync("#use-suggestion");
        (await page.IsCheckedAsync("input[name=action][value=remove]")).Should().BeTrue();
        (await page.InputValueAsync("#reason-code")).Should().Be("spam-scam");
        await page.CheckAsync("#bulk-all");
        await page.ClickAsync("#decide-next");
        // The queue is empty now: "decide and next" moves on to another queue's item, or says every queue is empty.
        await page.WaitForPageAsync(url => !url.Contains($"/review/item/{second}", StringComparison.Ordinal));

        foreach (var id in ids) (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("actioned");
        await using var connection = await fixture.Api.Database.OpenAsync();
        var audited = (await connection.QueryAsync<(string SubjectId, string AfterState)>(fixture.Api.Database.Sql(DialectSql.Portable(
            "SELECT subject_id, after_state FROM audit_events WHERE action = 'review.decided'")))).ToList();
        audited.Select(a => a.SubjectId).Should().Contain(ids);
        audited.Single(a => a.SubjectId == third).AfterState.Should().Contain($"\"bulkAnchor\":\"{second}\"").And.Contain("text embedding");
        dialogs.Should().BeEmpty();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_item_page_shows_which_frame_matched_which_hash_bank_entry_and_at_what_distance()
    {
        var scene = SyntheticPhotos.Photo(211, 480, 360);
        var banked = PdqHasher.Hash(scene.Luma, scene.Width, scene.Height).Hash.ToString();
        var bank = "ui-" + Guid.NewGuid().ToString("N")[..8];
        (await fixture.Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name = bank, category = "evidenceui", action = "none" })).StatusCode.Should().Be(HttpStatusCode.Created);
        (await fixture.Api.Client.PostAsync($"/v1/hashbanks/{bank}/entries", new StringContent($"hash,source\n{banked},<script>alert('src')</script>", Encoding.UTF8, "text/csv")))
            .StatusCode.Should().Be(HttpStatusCode.OK);
        var copy = TestMedia.Encode(TestMedia.HalfSize(scene), SKEncodedImageFormat.Jpeg, 50);
        var id = (await fixture.Api.PostUploadAsync(new
        {
            externalId = "evidence-" + Guid.NewGuid().ToString("N")[..8], caption = "a copy of banked media",
            media = new[] { new { kind = "image", fileName = "copy.jpg", contentBase64 = Convert.ToBase64String(copy) } },
        })).GetProperty("id").GetString()!;
        (await fixture.Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(240))).GetProperty("status").GetString().Should().Be("in_review");

        var page = await fixture.SignedInPageAsync("moderator2");
        var response = await page.GotoAsync($"/review/item/{id}");
        (await response!.HeaderValueAsync("content-security-policy")).Should().Contain("script-src 'self'");
        var evidence = await page.Locator("#frame-evidence tr.matched").First.InnerTextAsync();
        evidence.Should().Contain($"bank '{bank}'").And.MatchRegex("distance [0-9]+ of 256 bits").And.Contain("evidenceui, action none");
        (await page.Locator("#scores").InnerTextAsync()).Should().Contain($"of hash bank '{bank}' at distance");
        (await page.Locator("script:not([src])").CountAsync()).Should().Be(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_item_page_shows_the_text_read_in_a_picture_with_its_frame_and_keeps_it_inert()
    {
        var picture = TextPictures.Render(["Meet me at the station at 7 tonight", "<script>alert(1)</script>"], "DejaVuSansMono.ttf", 32, TextPictures.Background.White);
        var id = (await fixture.Api.PostUploadAsync(new
        {
            externalId = "ocr-ui-" + Guid.NewGuid().ToString("N")[..8], caption = "[ocrui=0.7]",
            media = new[] { new { kind = "image", fileName = "note.png", contentBase64 = Convert.ToBase64String(picture) } },
        })).GetProperty("id").GetString()!;
        (await fixture.Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(240))).GetProperty("status").GetString().Should().Be("in_review");

        var page = await fixture.SignedInPageAsync("moderator2");
        var dialogs = new List<string>();
        page.Dialog += (_, d) => dialogs.Add(d.Message);
        await page.GotoAsync($"/review/item/{id}");
        var row = await page.Locator("#frame-evidence tbody tr").First.InnerTextAsync();
        row.Should().Contain("0 (image)").And.Contain("Meet me at the station at 7 tonight").And.Contain("% sure");
        (await page.Locator("#frame-evidence td.ocr").First.InnerTextAsync()).Should().Contain("<script>");
        (await page.Locator("script:not([src])").CountAsync()).Should().Be(0);
        dialogs.Should().BeEmpty();
        await page.Context.CloseAsync();
    }
}
