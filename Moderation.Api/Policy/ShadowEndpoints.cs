using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Core.Access;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;

namespace Moderation.Api.Policy;

/// <summary>
/// A shadow version's daily diff against live routing (issue 14, item 5): <c>GET /v1/policies/{id}/shadow</c> (counts per
/// day and category) and <c>GET /v1/policies/{id}/shadow/changes</c> (the uploads it would route otherwise, a page at a
/// time). Scope <c>policy:read</c>.
/// </summary>
public static class ShadowEndpoints
{
    public const int DefaultLimit = 100;

    public static IEndpointRouteBuilder MapShadowDiff(this IEndpointRouteBuilder routes)
    {
        var policies = routes.MapGroup("/v1/policies").WithTags("Policies");
        policies.MapGet("/{id}/shadow", GetShadowSummary)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetShadowDiff")
            .WithSummary("What a shadow version did beside live routing, per day and category")
            .WithDescription("Over the uploads routed in `[from, to)` (ISO 8601; default: the last 7 days) while version `id` was in shadow: per UTC day and category the uploads per outcome (`allow`, `review`, `action`) under the live version and under the shadow, and how many differ (`changed`); the same per category for the window, the uploads counted and those with any changed category, and the live versions they were routed by. A version keeps its shadow rows after it leaves shadow. A version that was never in shadow is a 409; an empty or inverted window, or one over 400 days, a 400.")
            .Produces<ShadowDiffSummary>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        policies.MapGet("/{id}/shadow/changes", GetShadowChanges)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetShadowChanges")
            .WithSummary("The uploads a shadow version would have routed otherwise")
            .WithDescription("Each upload and category routed in `[from, to)` whose outcome under the shadow version differs from the live one (optionally of one `category`), in upload order, `limit` (1 to 1,000, default 100) at a time; pass `nextAfter` as `after` for the next page. Refusals as for the summary.")
            .Produces<ShadowChangePage>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return routes;
    }

    internal static async Task<Ok<ShadowDiffSummary>> GetShadowSummary(string id, string? from, string? to, ShadowDiff diff, TimeProvider time, CancellationToken ct)
    {
        var (start, end) = Window(from, to, time);
        return TypedResults.Ok(await diff.SummaryAsync(id, start, end, ct));
    }

    internal static async Task<Ok<ShadowChangePage>> GetShadowChanges(string id, string? from, string? to, string? category, string? after, string? limit,
        ShadowDiff diff, TimeProvider time, CancellationToken ct)
    {
        var (start, end) = Window(from, to, time);
        var size = DefaultLimit;
        if (!string.IsNullOrEmpty(limit) && !int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size))
            throw Refusal.Invalid("limit", $"must be a whole number between 1 and {ShadowDiff.MaxLimit}");
        return TypedResults.Ok(await diff.ChangesAsync(id, start, end, string.IsNullOrEmpty(category) ? null : category, after, size, ct));
    }

    /// <summary><c>[from, to)</c> from the query (ISO 8601, UTC unless an offset is given); default the 7 days up to now.</summary>
    private static (DateTimeOffset From, DateTimeOffset To) Window(string? from, string? to, TimeProvider time)
    {
        var end = Time("to", to) ?? time.GetUtcNow();
        var start = Time("from", from) ?? end.AddDays(-7);
        return (start, end);
    }

    private static DateTimeOffset? Time(string name, string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : throw Refusal.Invalid(name, "must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z");
    }
}
