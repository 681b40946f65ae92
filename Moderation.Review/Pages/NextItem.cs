using Moderation.Core.Review;

namespace Moderation.Review.Pages;

/// <summary>
/// "Next item" (<c>n</c> on the queue list) and "decide and next" on the item page: the next item from the queue the
/// reviewer is working, and when that queue has nothing more for them, from any queue (the item page says which queue
/// ran dry); when nothing is waiting anywhere, the queue list unfiltered, saying so, so that <c>n</c> asks every queue
/// next time instead of the empty one.
/// </summary>
internal static class NextItem
{
    public static async Task<string> ClaimAsync(ReviewQueue reviewQueue, Reviewer reviewer, string? queue, CancellationToken ct)
    {
        queue = string.IsNullOrWhiteSpace(queue) ? null : queue;
        var lease = await reviewQueue.ClaimNextAsync(reviewer, queue, ct);
        var emptied = "";
        if (lease is null && queue is not null)
        {
            lease = await reviewQueue.ClaimNextAsync(reviewer, null, ct);
            emptied = "&emptied=" + Uri.EscapeDataString(queue);
        }
        return lease is null
            ? "/review/queues?message=empty"
            : $"/review/item/{lease.UploadId}?kind={lease.Kind}{emptied}";
    }
}
