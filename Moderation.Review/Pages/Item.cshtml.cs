using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Core.Review;
using Moderation.Review.Edge;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>
/// One item: its text, media (veiled by default), scores with explanations, the creator's history, its cluster
/// and its timeline; and, for the reviewer holding its lease, the decision form.
/// </summary>
public sealed class ItemModel(
    ReviewQueue reviewQueue,
    ReviewDecisions decisions,
    ReviewItemQuery items,
    IOptions<ReviewOptions> options,
    TimeProvider time,
    IAuthorizationService authorization,
    WorkbenchUsers users,
    UserReports reports) : PageModel, IShowsRefusals
{
    /// <summary>Users' reports of this upload per reason, most first.</summary>
    public IReadOnlyList<(string Reason, long Reports)> ReportReasons { get; private set; } = [];

    public ReviewItem Item { get; private set; } = null!;
    public QueuedTask? Task { get; private set; }
    public string? Kind { get; private set; }
    public bool HeldByMe { get; private set; }
    public bool CanClaim { get; private set; }
    public IReadOnlyList<string> AllowedActions { get; private set; } = [];
    public string? Error { get; private set; }
    public DateTimeOffset Now { get; private set; }
    public ReviewOptions Options => options.Value;

    /// <summary>A quality sample is reviewed blind: the first decision is hidden from the second reviewer.</summary>
    public bool Blind => Kind == ReviewTaskKind.Quality && Task is not null;

    /// <summary>The reviewer's own choice to see media unblurred, overriding the category default.</summary>
    public bool RevealMedia { get; private set; }

    public bool Veiled => !RevealMedia && (Task is null
        ? !(Item.Upload.Routing?.Categories.Any(c => c.Outcome != "allow" && Options.RevealsByDefault(c.Category)) ?? false)
        : !Options.RevealsByDefault(Task.Queue));

    public async Task<IActionResult> OnPostRevealMediaAsync(string uploadId, string? kind, bool reveal, CancellationToken ct)
    {
        await users.SetRevealMediaAsync(User.ToReviewer().Id, reveal, ct);
        return Redirect($"/review/item/{uploadId}{(kind is null ? "" : "?kind=" + kind)}");
    }

    public IReadOnlyList<string> ReasonCodes(string action) => Options.ReasonCodesFor(action);

    /// <summary>The queue the reviewer was working when it ran dry and "next" brought this item from another one.</summary>
    public string? EmptiedQueue { get; private set; }

    public async Task<IActionResult> OnGetAsync(string uploadId, string? kind, string? emptied, CancellationToken ct)
    {
        if (!await LoadAsync(uploadId, kind, ct)) return NotFound();
        EmptiedQueue = string.IsNullOrWhiteSpace(emptied) || emptied == Task?.Queue ? null : emptied;
        if (Task is { Graphic: true }) await reviewQueue.RecordExposureAsync(User.ToReviewer(), uploadId, ct);
        return Page();
    }

    public async Task<IActionResult> OnPostClaimAsync(string uploadId, string kind, CancellationToken ct)
    {
        if (!await MayDecideAsync()) return Forbid();
        var lease = await reviewQueue.ClaimAsync(User.ToReviewer(), uploadId, kind, ct);
        if (lease is null) return await ErrorAsync(uploadId, kind, StatusCodes.Status409Conflict, "Someone else holds this item, or you may not take it.", ct);
        return Redirect($"/review/item/{uploadId}?kind={kind}");
    }

    public async Task<IActionResult> OnPostReleaseAsync(string uploadId, string kind, CancellationToken ct)
    {
        if (!await MayDecideAsync()) return Forbid();
        await reviewQueue.ReleaseAsync(User.ToReviewer(), uploadId, kind, ct);
        return Redirect("/review/queues?message=released");
    }

    /// <summary>Called by the page's script while it is open, so an abandoned page lets its lease lapse.</summary>
    public async Task<IActionResult> OnPostRenewAsync(string uploadId, string kind, CancellationToken ct)
    {
        if (!await MayDecideAsync()) return Forbid();
        var lease = await reviewQueue.RenewAsync(User.ToReviewer(), uploadId, kind, ct);
        return lease is null
            ? new JsonResult(new { held = false }) { StatusCode = StatusCodes.Status409Conflict }
            : new JsonResult(new { held = true, leaseUntil = lease.Until });
    }

    /// <summary>Decides; with <paramref name="next"/>, claims the next item from the same queue, else from any ("decide and next").</summary>
    public async Task<IActionResult> OnPostDecideAsync(string uploadId, string kind, string? action, string? reasonCode, string? note, bool next,
        string[]? members, string? queue, CancellationToken ct)
    {
        if (!await MayDecideAsync()) return Forbid();
        if (string.IsNullOrEmpty(action))
            return await ErrorAsync(uploadId, kind, StatusCodes.Status400BadRequest, "Choose a decision.", ct);
        var reviewer = User.ToReviewer();
        await decisions.DecideAsync(reviewer, uploadId, kind, action, reasonCode ?? "", note, members, ct);
        if (!next) return Redirect("/review/queues?message=decided");
        return Redirect(await NextItem.ClaimAsync(reviewQueue, reviewer, queue, ct));
    }

    private async Task<bool> MayDecideAsync() => (await authorization.AuthorizeAsync(User, ReviewPolicies.Decide)).Succeeded;

    /// <summary>A refused decision shows the item again with the reason (the status is the refusal's: 400, 403, 404 or 409).</summary>
    public Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct) =>
        ErrorAsync((string)RouteData.Values["uploadId"]!, Request.HasFormContentType ? Request.Form["kind"].ToString() : Request.Query["kind"].ToString(),
            Response.StatusCode, refusal.Message, ct);

    private async Task<IActionResult> ErrorAsync(string uploadId, string? kind, int status, string message, CancellationToken ct)
    {
        if (!await LoadAsync(uploadId, kind, ct)) return NotFound();
        Error = message;
        Response.StatusCode = status;
        return Page();
    }

    private async Task<bool> LoadAsync(string uploadId, string? kind, CancellationToken ct)
    {
        if (uploadId.Length > 64) return false;
        var item = await items.FindAsync(uploadId, ct);
        if (item is null) return false;
        Item = item;
        Now = time.GetUtcNow();
        var openKinds = await reviewQueue.OpenKindsAsync(uploadId, ct);
        Kind = kind is not null && openKinds.Contains(kind) ? kind : openKinds.FirstOrDefault();
        Task = Kind is null ? null : await reviewQueue.FindOpenAsync(uploadId, Kind, ct);
        ReportReasons = await reports.ReasonsAsync(uploadId, ct);
        var reviewer = User.ToReviewer();
        RevealMedia = await users.RevealsMediaAsync(reviewer.Id, ct);
        var leaseLive = Task?.LeaseUntil is { } until && until >= Now;
        HeldByMe = Task is not null && leaseLive && Task.LeaseHolder == reviewer.Id;
        AllowedActions = Task is null ? [] : ReviewAction.AllowedFor(reviewer.Roles, Task.Kind, Task.RequiredRole);
        CanClaim = Task is not null && !leaseLive && AllowedActions.Count > 0;
        return true;
    }
}
