using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Fairness;

namespace Moderation.Api.Policy;

/// <summary>The fairness report of a model version (issue 14, item 7), for the policy team (<c>policy:read</c>).</summary>
public static class FairnessEndpoints
{
    public static IEndpointRouteBuilder MapFairness(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/models/{category}/{version}/fairness", GetFairness)
            .WithTags("Models")
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetModelFairness")
            .WithSummary("The fairness report of a model version")
            .WithDescription("The template audit of a text head (subgroup, BPSN and BNSP AUC per identity group on the 60 × 55 evaluation templates, and their generalised means, power −5), scored with this version's stored bytes (`source: scored`; computed once per process, a few seconds on first request), with whether it meets the fairness floor (`Moderation:Fairness`); and, over uploads received in `[from, to)` (ISO 8601; default: the last 30 days) that this version's score routed in its category, the flag rate (routed to review or action) and overturn rate (flagged uploads a person decided and did not action) with Wilson 95% intervals and counts, per identity group the creator's words mention, for uploads that mention none, and for all.")
            .Produces<FairnessReport>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return routes;
    }

    internal static async Task<Ok<FairnessReport>> GetFairness(string category, string version, string? from, string? to, FairnessReports reports, CancellationToken ct) =>
        TypedResults.Ok(await reports.ReportAsync(category, version, Query.Time("from", from), Query.Time("to", to), ct));
}
