using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Moderation.Core.Review;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>Queue list with counts, oldest age, SLA breaches; items with filters and sort; "next item".</summary>
public sealed class QueuesModel(ReviewQueue reviewQueue, IOptions<ReviewOptions> options, TimeProvider time, IAuthorizationService authorization) : PageModel
{
    public IReadOnlyList<QueueSummary> Summary { get; private set; } = [];
    public IReadOnlyList<QueuedTask> Items { get; private set; } = [];
    public string? Queue { get; private set; }
    public string? Kind { get; private set; }
    public bool BreachedOnly { get; private set; }
    public QueueSort Sort { get; private set; }
    public DateTimeOffset Now { get; private set; }
    public TimeSpan NearBreach => options.Value.NearBreach;
    public bool CanDecide => User.Allows(ReviewPolicies.Decide);
    public int ExposureToday { get; private set; }
    public int ExposureCap => options.Value.ExposureCapPerDay;
    public string? Message { get; private set; }

    public TimeSpan SlaFor(string name) => options.Value.SlaFor(name);

    public async Task OnGetAsync(string? queue, string? kind, bool breached, QueueSort sort, string? message, CancellationToken ct)
    {
        Queue = string.IsNullOrWhiteSpace(queue) ? null : queue;
        Kind = kind is ReviewTaskKind.Review or ReviewTaskKind.Appeal or ReviewTaskKind.Quality ? kind : null;
        BreachedOnly = breached;
        Sort = sort;
        Message = message switch
        {
            "empty" => "Nothing you can take is waiting in any queue.",
            "decided" => "Decision saved.",
            "released" => "The item went back to its queue.",
            _ => null,
        };
        Now = time.GetUtcNow();
        Summary = await reviewQueue.SummaryAsync(ct);
        Items = await reviewQueue.ListAsync(Queue, Kind, BreachedOnly, Sort, 200, ct);
        ExposureToday = await reviewQueue.ExposureTodayAsync(User.ToReviewer().Id, ct);
    }

    public async Task<IActionResult> OnPostNextAsync(string? queue, CancellationToken ct)
    {
        if (!(await authorization.AuthorizeAsync(User, ReviewPolicies.Decide)).Succeeded) return Forbid();
        return Redirect(await NextItem.ClaimAsync(reviewQueue, User.ToReviewer(), queue, ct));
    }
}
