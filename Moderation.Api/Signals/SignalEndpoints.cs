using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Core.Signals;
using Moderation.Core.Storage;

namespace Moderation.Api.Signals;

/// <summary>A page of the risk-signal feed. Resume with <c>after=nextCursor</c>; an empty page keeps the cursor.</summary>
public sealed record SignalPageResponse(IReadOnlyList<RiskSignal> Signals, string NextCursor);

public static class SignalEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapSignals(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/signals").WithTags("Signals");
        group.MapGet("/", GetSignals)
            .RequireAuthorization(ApiScopes.SignalsRead)
            .WithName("GetSignals")
            .WithSummary("The risk-signal feed in sequence order")
            .WithDescription("Every score and decision as a signal for the recommender. Pass the previous page's nextCursor as `after`; a consumer that resumes from its stored cursor sees every signal exactly once. Every page is signed (headers Content-Digest, Signature-Input, Signature: RFC 9421 with ecdsa-p256-sha256 over the status, the body's SHA-256 and the request's method, path and query); verify it with a key from GET /v1/signals/keys.")
            .ProducesValidationProblem()
            .Signed();
        group.MapGet("/keys", SignedPages.GetKeys)
            .RequireAuthorization(ApiScopes.SignalsRead)
            .WithName("GetSignalKeys")
            .WithSummary("The public keys that verify signal and verdict pages")
            .WithDescription("The current signing key and the previous keys still published during a rotation: key id (the Signature-Input keyid), algorithm, PEM and JWK, whether it is current, and when it stops being published (notAfter, if set).");
        return group;
    }

    /// <summary>A feed's paging query (<c>after</c> a cursor it returned, <c>limit</c> 1 to <see cref="MaxLimit"/>), refused naming the field.</summary>
    internal static (long After, int Limit) Page(string? after, string? limit)
    {
        long cursor = 0;
        if (!string.IsNullOrEmpty(after) && (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out cursor) || cursor < 0))
            throw Refusal.Invalid("after", "must be a cursor returned by this feed (a non-negative integer)");
        var size = DefaultLimit;
        if (!string.IsNullOrEmpty(limit) && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > MaxLimit))
            throw Refusal.Invalid("limit", $"must be an integer from 1 to {MaxLimit}");
        return (cursor, size);
    }

    internal static async Task<Ok<SignalPageResponse>> GetSignals(
        ModerationDatabase database, string? after, string? limit, CancellationToken ct)
    {
        var (cursor, size) = Page(after, limit);
        var page = await SignalFeed.ReadAsync(database, cursor, size, ct);
        return TypedResults.Ok(new SignalPageResponse(page.Signals, page.NextCursor.ToString(CultureInfo.InvariantCulture)));
    }
}
