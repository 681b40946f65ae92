using System.Net.Http.Json;
using FluentAssertions;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>A host of its own for the tests below: each decides what it opens, so "next" never finds another test's item.</summary>
public sealed class TrialReviewHostFixture : ReviewHostFixture;

/// <summary>A job the jobs-dashboard test creates, requeues and deletes; it does nothing when run.</summary>
public static class DashboardProbeJob
{
    public static void Run()
    {
    }
}

/// <summary>
/// What the moderators', recommender's and attacker's trial found in the workbench (issue 16), in a real browser:
/// "decide and next" past an empty queue, triage escalations, suggestions from exact twins and overturned appeals,
/// the audit page and the jobs dashboard for a signed-in admin.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class WorkbenchTrialBrowserTests(TrialReviewHostFixture fixture) : IClassFixture<TrialReviewHostFixture>
{
    private static Task FocusPageAsync(IPage page) =>
        page.Locator("body").ClickAsync(new LocatorClickOptions { Position = new Position { X = 5, Y = 5 } });

    private static async Task DecideAsync(IPage page, string key, string? reason = null)
    {
        await FocusPageAsync(page);
        await page.Keyboard.PressAsync(key);
        if (reason is not null) await page.SelectOptionAsync("#reason-code", reason);
        await page.ClickAsync("#decide");
        await page.WaitForPageAsync("**/review/queues?message=decided");
    }

    [Fact]
    public async Task Decide_and_next_moves_on_to_the_next_queue_with_work_then_says_every_queue_is_empty_and_n_asks_them_all()
    {
        var a = await fixture.UploadForReviewAsync("first queue's only item [flowa=0.7]");
        var b = await fixture.UploadForReviewAsync("another queue's item [flowb=0.6]");
        var page = await fixture.SignedInPageAsync("moderator1");
        await page.GotoAsync("/review/queues?queue=flowa");
        await page.ClickAsync("#next-item");
        await page.WaitForPageAsync($"**/review/item/{a}?kind=review");

        // flowa is now empty: Enter brings the next item from the queue that has work, and says so.
        await FocusPageAsync(page);
        await page.Keyboard.PressAsync("a");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForPageAsync($"**/review/item/{b}?kind=review&emptied=flowa");
        (await page.Locator("#queue-emptied").InnerTextAsync()).Should().Be("Nothing more for you in flowa: this item is from flowb.");
        (await page.Locator("#decide-form").CountAsync()).Should().Be(1);

        // Every queue is empty: the list says so, unfiltered, and "next" asks every queue.
        await FocusPageAsync(page);
        await page.Keyboard.PressAsync("a");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForPageAsync("**/review/queues?message=empty");
        (await page.Locator("p.notice").InnerTextAsync()).Should().Be("Nothing you can take is waiting in any queue.");
        (await page.Locator("#next-form input[name=queue]").InputValueAsync()).Should().BeEmpty();
        (await page.Locator("#next-item").InnerTextAsync()).Should().Be("Next item");

        // On the list of an empty queue, n finds the work in another.
        var c = await fixture.UploadForReviewAsync("new work elsewhere [flowc=0.7]");
        await page.GotoAsync("/review/queues?queue=flowa");
        (await page.Locator("#queue-items").InnerTextAsync()).Should().Contain("No items match");
        await FocusPageAsync(page);
        await page.Keyboard.PressAsync("n");
        await page.WaitForPageAsync($"**/review/item/{c}?kind=review&emptied=flowa");
        await DecideAsync(page, "a");
        foreach (var id in new[] { a, b, c }) (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("allowed");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_triage_escalation_reaches_the_moderators_and_a_moderators_escalation_the_seniors()
    {
        var id = await fixture.UploadForReviewAsync("is this a threat or a joke [escalatecase=0.7]");
        var triage = await fixture.SignedInPageAsync("triage1");
        await triage.GotoAsync($"/review/item/{id}");
        await triage.ClickAsync("#claim");
        await triage.WaitForPageAsync($"**/review/item/{id}?kind=review");
        (await triage.Locator("input[name=action][value=remove]").CountAsync()).Should().Be(0, "triage cannot restrict");
        await DecideAsync(triage, "e", "unsure");

        // A moderator (not only a senior) sees it and may take it; triage may not take it back.
        var moderator = await fixture.SignedInPageAsync("moderator1");
        await moderator.GotoAsync("/review/queues?queue=escalatecase");
        (await moderator.Locator("#queue-items").InnerTextAsync()).Should().Contain("(escalated to moderators)");
        await moderator.GotoAsync($"/review/item/{id}");
        (await moderator.Locator(".item-head").InnerTextAsync()).Should().Contain("(escalated by triage: moderators and seniors)");
        await triage.GotoAsync($"/review/item/{id}");
        (await triage.Locator("#claim").CountAsync()).Should().Be(0);
        (await triage.Locator("#held-by-other").InnerTextAsync()).Should().Contain("Your roles do not allow");
        await moderator.ClickAsync("#claim");
        await moderator.WaitForPageAsync($"**/review/item/{id}?kind=review");
        (await moderator.Locator("input[name=action][value=remove]").CountAsync()).Should().Be(1);
        await DecideAsync(moderator, "e", "needs-policy-call");

        // The moderator's escalation goes to seniors only.
        var other = await fixture.SignedInPageAsync("moderator2");
        await other.GotoAsync($"/review/item/{id}");
        (await other.Locator(".item-head").InnerTextAsync()).Should().Contain("(escalated: seniors only)");
        (await other.Locator("#claim").CountAsync()).Should().Be(0);
        var senior = await fixture.SignedInPageAsync("senior1");
        await senior.GotoAsync($"/review/item/{id}");
        await senior.ClickAsync("#claim");
        await senior.WaitForPageAsync($"**/review/item/{id}?kind=review");
        await DecideAsync(senior, "r", "harassment");
        (await fixture.UploadAsync(id)).GetProperty("status").GetString().Should().Be("actioned");
        foreach (var p in new[] { triage, moderator, other, senior }) await p.Context.CloseAsync();
    }

    [Fact]
    public async Task An_exact_caption_twin_suggests_its_decision_and_after_an_overturned_appeal_suggests_allow()
    {
        var decided = await fixture.UploadForReviewAsync("Free followers: just send your password to this account [twincase=0.7]");
        var twin = await fixture.UploadForReviewAsync("free followers:  just send your password to this account [twincase=0.7]");
        var first = await fixture.SignedInPageAsync("moderator1");
        await first.GotoAsync($"/review/item/{decided}");
        await first.ClickAsync("#claim");
        await first.WaitForPageAsync($"**/review/item/{decided}?kind=review");
        await DecideAsync(first, "r", "spam-scam");

        // The twin (same caption once normalised, no embeddings here) offers the twin's decision.
        var second = await fixture.SignedInPageAsync("moderator2");
        await second.GotoAsync($"/review/item/{twin}");
        await second.ClickAsync("#claim");
        await second.WaitForPageAsync($"**/review/item/{twin}?kind=review");
        var suggestion = await second.Locator("#suggestion").InnerTextAsync();
        suggestion.Should().Contain("Suggested: Remove (spam-scam)").And.Contain("same caption (normalised)").And.Contain("moderator1");
        await second.ClickAsync("#use-suggestion");
        (await second.IsCheckedAsync("input[name=action][value=remove]")).Should().BeTrue();
        (await second.InputValueAsync("#reason-code")).Should().Be("spam-scam");
        await second.ClickAsync("#release");
        await second.WaitForPageAsync("**/review/queues?message=released");

        // The creator appeals; a senior overturns it: the twin's standing decision is now allow.
        var appeal = await fixture.Api.Client.PostAsJsonAsync("/v1/appeals", new { uploadId = decided, statement = "It was a joke account." });
        appeal.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, await appeal.Content.ReadAsStringAsync());
        var senior = await fixture.SignedInPageAsync("senior1");
        await senior.GotoAsync($"/review/item/{decided}?kind=appeal");
        await senior.ClickAsync("#claim");
        await senior.WaitForPageAsync($"**/review/item/{decided}?kind=appeal");
        await DecideAsync(senior, "o", "misapplied-policy");

        await second.GotoAsync($"/review/item/{twin}");
        await second.ClickAsync("#claim");
        await second.WaitForPageAsync($"**/review/item/{twin}?kind=review");
        suggestion = await second.Locator("#suggestion").InnerTextAsync();
        suggestion.Should().Contain("Suggested: Allow (Remove overturned on appeal: misapplied-policy)").And.Contain("senior1")
            .And.NotContain("Allow (misapplied-policy)");
        (await second.Locator($"#similar-decided tr[data-upload='{decided}']").InnerTextAsync()).Should().Contain("Allow (Remove overturned on appeal)");
        await second.ClickAsync("#use-suggestion");
        (await second.IsCheckedAsync("input[name=action][value=allow]")).Should().BeTrue();
        fixture.Api.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Moderation.Core.Review.ReviewOptions>>().Value
            .ReasonCodesFor("allow").Should().Contain(await second.InputValueAsync("#reason-code"), "the reason is an allow reason, not the appeal's");
        await second.ClickAsync("#decide");
        await second.WaitForPageAsync("**/review/queues?message=decided");
        (await fixture.UploadAsync(twin)).GetProperty("status").GetString().Should().Be("allowed");
        foreach (var p in new[] { first, second, senior }) await p.Context.CloseAsync();
    }

    [Fact]
    public async Task The_audit_page_opens_at_the_newest_events_filters_them_and_links_subjects_to_their_items()
    {
        var id = await fixture.UploadForReviewAsync("something to look up in the audit trail [auditfilter=0.7]");
        var moderator = await fixture.SignedInPageAsync("moderator2");
        await moderator.GotoAsync($"/review/item/{id}");
        await moderator.ClickAsync("#claim");
        await moderator.WaitForPageAsync($"**/review/item/{id}?kind=review");
        await DecideAsync(moderator, "a");
        await moderator.Context.CloseAsync();

        var page = await fixture.SignedInPageAsync("policy1");
        await page.GotoAsync("/review/audit");
        var seqs = await SeqsAsync(page);
        seqs.Should().BeInDescendingOrder("newest first").And.HaveCountGreaterThan(3);
        (await page.Locator("#audit-events").InnerTextAsync()).Should().Contain(id, "the item's events are among the newest");
        (await page.Locator("#older").CountAsync()).Should().Be(seqs.Count == 100 ? 1 : 0);

        // Actor and action.
        await page.FillAsync("#audit-filters input[name=actor]", "user:moderator2");
        await page.FillAsync("#audit-filters input[name=action]", "review.decided");
        await page.ClickAsync("#audit-filters button[type=submit]");
        await page.WaitForPageAsync("**/review/audit?*actor=user%3Amoderator2*");
        var rows = await page.Locator("#audit-events tbody tr").AllInnerTextsAsync();
        rows.Should().NotBeEmpty().And.OnlyContain(r => r.Contains("user:moderator2") && r.Contains("review.decided"));
        rows.Should().Contain(r => r.Contains(id));

        // A prefix, and a subject: the item's own events, each linking to the item page.
        await page.GotoAsync($"/review/audit?action=review.*&subject={id}");
        rows = await page.Locator("#audit-events tbody tr").AllInnerTextsAsync();
        rows.Select(r => r.Contains("review.decided") ? "decided" : r.Contains("review.claimed") ? "claimed" : r).Should().Equal("decided", "claimed");

        // A time range: from an hour ahead nothing, from an hour ago the item's events.
        var inAnHour = DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm", System.Globalization.CultureInfo.InvariantCulture);
        var anHourAgo = DateTime.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm", System.Globalization.CultureInfo.InvariantCulture);
        await page.FillAsync("#audit-filters input[name=from]", inAnHour);
        await page.ClickAsync("#audit-filters button[type=submit]");
        await page.WaitForPageAsync("**/review/audit?*from=*");
        (await page.Locator("#audit-events tbody").InnerTextAsync()).Should().Contain("No events match");
        await page.FillAsync("#audit-filters input[name=from]", anHourAgo);
        await page.ClickAsync("#audit-filters button[type=submit]");
        await page.WaitForPageAsync($"**/review/audit?*from={Uri.EscapeDataString(anHourAgo)}*");
        (await SeqsAsync(page)).Should().HaveCount(2);

        await page.Locator($"#audit-events td.subject a[href='/review/item/{id}']").First.ClickAsync();
        await page.WaitForPageAsync($"**/review/item/{id}");
        (await page.Locator("#item-status").InnerTextAsync()).Should().Be("allowed");
        await page.Context.CloseAsync();
    }

    private static async Task<List<long>> SeqsAsync(IPage page) =>
        (await page.Locator("#audit-events tbody tr td.num").AllInnerTextsAsync()).Select(long.Parse).ToList();

    [Fact]
    public async Task A_signed_in_admin_opens_the_jobs_dashboard_and_requeues_and_deletes_jobs_through_it()
    {
        var jobs = fixture.Api.Services.GetRequiredService<IBackgroundJobClient>();
        var storage = fixture.Api.Services.GetRequiredService<JobStorage>();
        var requeue = jobs.Create(Job.FromExpression(() => DashboardProbeJob.Run()), new ScheduledState(TimeSpan.FromDays(1)));
        var delete = jobs.Create(Job.FromExpression(() => DashboardProbeJob.Run()), new ScheduledState(TimeSpan.FromDays(1)));

        // A visitor and a moderator are turned away; the admin's workbench sign-in is enough.
        var browser = await fixture.BrowserAsync();
        var visitor = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = fixture.Api.BaseAddress.ToString().TrimEnd('/') });
        (await visitor.GotoAsync("/hangfire"))!.Status.Should().Be(401);
        await visitor.Context.CloseAsync();
        var moderator = await fixture.SignedInPageAsync("moderator1");
        (await moderator.GotoAsync("/hangfire"))!.Status.Should().Be(403);
        await moderator.Context.CloseAsync();

        var admin = await fixture.SignedInPageAsync("admin1");
        (await admin.GotoAsync("/hangfire"))!.Status.Should().Be(200);
        (await admin.Locator("body").InnerTextAsync()).Should().Contain("Dashboard");

        // The dashboard's own buttons post with its anti-forgery token.
        var dialogs = new List<string>();
        admin.Dialog += (_, dialog) => { dialogs.Add(dialog.Message); _ = dialog.AcceptAsync(); };
        var details = await admin.GotoAsync($"/hangfire/jobs/details/{requeue}");
        details!.Status.Should().Be(200);
        (await admin.Locator(".state-card").First.InnerTextAsync()).Should().Contain("Scheduled");
        await ClickAndReloadAsync(admin, $"button[data-ajax$='/jobs/actions/requeue/{requeue}']");
        History(storage, requeue).Should().Contain(EnqueuedState.StateName, "the requeue went through");

        await admin.GotoAsync($"/hangfire/jobs/details/{delete}");
        await ClickAndReloadAsync(admin, $"button[data-ajax$='/jobs/actions/delete/{delete}']");
        History(storage, delete).FirstOrDefault().Should().Be(DeletedState.StateName, "the delete went through");
        (await admin.Locator(".state-card").First.InnerTextAsync()).Should().Contain("Deleted");
        dialogs.Should().Contain(d => d.Contains("delete", StringComparison.OrdinalIgnoreCase), "the dashboard asked before deleting");

        // A POST without the token (a forged request riding on the cookie) is refused.
        var forged = await admin.Context.APIRequest.PostAsync($"/hangfire/jobs/actions/delete/{requeue}");
        forged.Status.Should().Be(403);
        History(storage, requeue).FirstOrDefault().Should().NotBe(DeletedState.StateName);
        await admin.Context.CloseAsync();
    }

    private static List<string> History(JobStorage storage, string jobId) =>
        storage.GetMonitoringApi().JobDetails(jobId)?.History.Select(h => h.StateName).ToList() ?? [];

    /// <summary>Clicks a dashboard button that posts and, once the post succeeds, reloads the page; waits for the reload.</summary>
    private static async Task ClickAndReloadAsync(IPage page, string selector)
    {
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLoad(object? sender, IPage loaded) => reloaded.TrySetResult();
        page.Load += OnLoad;
        try
        {
            await page.ClickAsync(selector);
            await reloaded.Task.WaitAsync(TimeSpan.FromMilliseconds(ReviewHostFixture.BrowserWaitMs));
        }
        finally
        {
            page.Load -= OnLoad;
        }
    }
}
