using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Microsoft.Playwright;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>
/// Automated actions (the policy actioning an upload on the model's scores, with no reviewer) are appealable, go to a
/// human and are reversible with retraction signals; reports re-queue them; the item page shows them. Through the
/// real API host on SQLite (HTTP for the API and the workbench's forms, Chromium for the page).
/// </summary>
[Collection(HostCollection.Name)]
public sealed class AutomatedActionAppealTests(ReviewHostFixture fixture) : IClassFixture<ReviewHostFixture>
{
    private static readonly DialectSql SelectOpenTasks = DialectSql.Portable("SELECT kind FROM review_tasks WHERE upload_id = @Id AND state = 'open'");

    /// <summary>Uploads an item the markup scorer scores over the default action threshold (0.9): actioned, ineligible.</summary>
    private async Task<string> UploadActionedAsync(string category)
    {
        var accepted = await fixture.Api.PostUploadAsync(new { externalId = "auto-" + Guid.NewGuid().ToString("N")[..12], caption = $"a clip [{category}=0.95]" });
        var id = accepted.GetProperty("id").GetString()!;
        var routed = await fixture.Api.WaitUntilRoutedAsync(id);
        routed.GetProperty("status").GetString().Should().Be("actioned", routed.ToString());
        return id;
    }

    private async Task<List<JsonElement>> SignalsOfAsync(string id) =>
        (await fixture.Api.ReadAllSignalsAsync()).Where(s => s.GetProperty("uploadId").GetString() == id).ToList();

    private async Task<List<string>> OpenTasksAsync(string id)
    {
        await using var connection = await fixture.Api.Database.OpenAsync();
        return (await connection.QueryAsync<string>(fixture.Api.Database.Sql(SelectOpenTasks), new { Id = id })).ToList();
    }

    /// <summary>Claims the item's open task of this kind and decides it through the workbench's forms, as a browser would post them.</summary>
    private async Task DecideThroughFormsAsync(string userName, string id, string kind, string action, string reasonCode)
    {
        var (client, _) = await fixture.SignedInClientAsync(userName);
        using var _client = client;
        var page = await client.GetStringAsync($"/review/item/{id}?kind={kind}");
        var claim = await client.PostAsync($"/review/item/{id}?handler=Claim", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["kind"] = kind, ["__RequestVerificationToken"] = ReviewHostFixture.Token(page),
        }));
        claim.StatusCode.Should().Be(HttpStatusCode.Redirect, await claim.Content.ReadAsStringAsync());
        page = await client.GetStringAsync($"/review/item/{id}?kind={kind}");
        var decide = await client.PostAsync($"/review/item/{id}?handler=Decide", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["kind"] = kind, ["action"] = action, ["reasonCode"] = reasonCode, ["next"] = "false",
            ["__RequestVerificationToken"] = ReviewHostFixture.Token(page),
        }));
        decide.StatusCode.Should().Be(HttpStatusCode.Redirect, await decide.Content.ReadAsStringAsync());
        decide.Headers.Location!.ToString().Should().Contain("message=decided");
    }

    [Fact]
    public async Task An_automated_action_is_appealed_with_201_a_moderator_overturns_it_and_the_feed_retracts_its_signal()
    {
        var id = await UploadActionedAsync("autoappeal");
        var acting = (await SignalsOfAsync(id)).Single(s => s.GetProperty("category").GetString() == "autoappeal");
        acting.GetProperty("action").GetString().Should().Be("ineligible");
        acting.GetProperty("source").GetString().Should().Be("model");

        var appeal = await fixture.Api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = id, statement = "This is a cooking video." });
        appeal.StatusCode.Should().Be(HttpStatusCode.Created, await appeal.Content.ReadAsStringAsync());
        var body = await appeal.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("uploadId").GetString().Should().Be(id);
        body.GetProperty("state").GetString().Should().Be("open");
        (await OpenTasksAsync(id)).Should().Equal("appeal");
        var again = await fixture.Api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = id, statement = "again" });
        again.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("actioned", "it stays restricted until a human decides");

        await DecideThroughFormsAsync("moderator1", id, "appeal", "overturn", "misapplied-policy");

        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");
        (await OpenTasksAsync(id)).Should().BeEmpty();
        var signals = await SignalsOfAsync(id);
        var retraction = signals.Should().ContainSingle(s => s.GetProperty("retracts").ValueKind == JsonValueKind.Number).Subject;
        retraction.GetProperty("retracts").GetInt64().Should().Be(acting.GetProperty("seq").GetInt64());
        retraction.GetProperty("source").GetString().Should().Be("human");
        signals.Should().Contain(s => s.GetProperty("source").GetString() == "human" && s.GetProperty("category").GetString() == "autoappeal"
            && s.GetProperty("action").GetString() == "none" && s.GetProperty("retracts").ValueKind == JsonValueKind.Null);
        var afterOverturn = await fixture.Api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = id, statement = "appeal the overturn" });
        afterOverturn.StatusCode.Should().Be(HttpStatusCode.Conflict, "nothing restricts it any more");
    }

    [Fact]
    public async Task User_reports_send_an_automated_action_back_to_review_with_a_review_task()
    {
        var id = await UploadActionedAsync("autoreport");
        JsonElement last = default;
        for (var i = 0; i < 5; i++)
        {
            var response = await fixture.Api.Client.PostAsJsonAsync($"/v1/uploads/{id}/reports", new { reporterId = $"viewer-{i}", reason = "other", detail = "not what it says" });
            response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            last = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (i < 4) last.GetProperty("requeued").GetBoolean().Should().BeFalse();
        }
        last.GetProperty("requeued").GetBoolean().Should().BeTrue("five reports (the default threshold) re-queue an automated action");
        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("in_review");
        (await OpenTasksAsync(id)).Should().Equal("review");

        await DecideThroughFormsAsync("moderator2", id, "review", "allow", "no-violation");

        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");
        var signals = await SignalsOfAsync(id);
        var acting = signals.Single(s => s.GetProperty("source").GetString() == "model" && s.GetProperty("category").GetString() == "autoreport");
        signals.Should().Contain(s => s.GetProperty("retracts").ValueKind == JsonValueKind.Number
            && s.GetProperty("retracts").GetInt64() == acting.GetProperty("seq").GetInt64(), "allowing it reverses the automated action");
    }

    [Fact]
    public async Task The_item_page_decision_panel_shows_an_automated_action_and_its_overturn_in_a_browser()
    {
        var id = await UploadActionedAsync("autopanel");
        var page = await fixture.SignedInPageAsync("moderator2");

        await page.GotoAsync($"/review/item/{id}");
        var automated = page.Locator("#decisions tr.automated");
        (await automated.CountAsync()).Should().Be(1);
        var row = await automated.InnerTextAsync();
        row.Should().Contain("ineligible").And.Contain("autopanel 0.950").And.Contain("model").And.Contain("config-default").And.Contain("may appeal");
        (await automated.GetAttributeAsync("class")).Should().NotContain("retracted");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("automated-action.png"), FullPage = true });

        var appeal = await fixture.Api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = id, statement = "My own <b>artwork</b>." });
        appeal.StatusCode.Should().Be(HttpStatusCode.Created, await appeal.Content.ReadAsStringAsync());
        await page.GotoAsync($"/review/item/{id}?kind=appeal");
        (await page.Locator("#appeal-statement").InnerTextAsync()).Should().Be("My own <b>artwork</b>.");
        await page.ClickAsync("#claim");
        await page.WaitForPageAsync($"**/review/item/{id}?kind=appeal");
        (await page.Locator("input[name=action]").EvaluateAllAsync<string[]>("inputs => inputs.map(i => i.value)"))
            .Should().Equal("uphold", "overturn");
        await page.Locator("body").ClickAsync(new LocatorClickOptions { Position = new Position { X = 5, Y = 5 } });
        await page.Keyboard.PressAsync("o");
        await page.ClickAsync("#decide");
        await page.WaitForPageAsync("**/review/queues?message=decided*");

        await page.GotoAsync($"/review/item/{id}");
        (await page.Locator("#item-status").InnerTextAsync()).Should().Be("allowed");
        (await page.Locator("#decisions tr.automated").GetAttributeAsync("class")).Should().Contain("retracted");
        var panel = await page.Locator("#decisions").InnerTextAsync();
        panel.Should().Contain("ineligible (retracted)").And.Contain("Overturn").And.Contain("withdrawn by a reviewer");
        await page.Context.CloseAsync();
    }
}
