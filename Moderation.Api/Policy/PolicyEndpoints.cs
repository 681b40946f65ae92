using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Claims;
using Moderation.Core.Models;
using Moderation.Core.Refusals;
using Moderation.Core.Scoring;
using Claim = Moderation.Core.Claims.Claim;

namespace Moderation.Api.Policy;

/// <summary>
/// The policy team's levers: the misinformation claim bank and the model registry's live/shadow/retired states.
/// Reads need <c>policy:read</c> (or <c>policy:write</c>), changes <c>policy:write</c>; every change is audited
/// with the calling key as the actor.
/// </summary>
public static class PolicyEndpoints
{
    /// <summary>Bodies here are a few kilobytes at most.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapPolicy(this IEndpointRouteBuilder routes)
    {
        var claims = routes.MapGroup("/v1/claims").WithTags("Claims");
        claims.MapGet("/", GetClaims)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetClaims")
            .WithSummary("The misinformation claim bank")
            .WithDescription("Active claims, oldest first; with `includeRetired=true` retired ones too.")
            .ProducesValidationProblem();
        claims.MapGet("/{id}", GetClaim)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetClaim")
            .WithSummary("One claim")
            .ProducesProblem(StatusCodes.Status404NotFound);
        claims.MapPost("/", PostClaim)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("PostClaim")
            .WithSummary("Add a known false claim")
            .WithDescription("The text (10 to 1,000 characters, one line) and an absolute http(s) link to the fact-check. An active claim with the same text (ignoring case, full-width forms, zero-width characters and white space) is a 409 naming it.")
            .AcceptsJson<ClaimRequest>()
            .Produces<Claim>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);
        claims.MapPost("/{id}/retire", PostRetireClaim)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("RetireClaim")
            .WithSummary("Retire a claim")
            .WithDescription("The claim stops being matched; it stays in the bank for the record. A reason is required.")
            .AcceptsJson<RetireClaimRequest>()
            .Produces<Claim>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        var models = routes.MapGroup("/v1/models").WithTags("Models");
        models.MapGet("/", GetModels)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetModels")
            .WithSummary("Registered model versions")
            .WithDescription("Every version (or one category's, with `category=`) with its state, card and validation metrics, newest first.")
            .ProducesValidationProblem();
        models.MapPost("/{category}/{version}/state", PostModelState)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("SetModelState")
            .WithSummary("Make a model version live, shadow or retired")
            .WithDescription("Promoting to live retires the previous live version of the same category and scorer (text, image, image-onnx) in the same transaction; retiring the live version leaves the category without one of that kind. Setting the state a version already has changes nothing.")
            .AcceptsJson<ModelStateRequest>()
            .Produces<ModelVersionResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return routes;
    }

    internal static async Task<Ok<ClaimListResponse>> GetClaims(ClaimBank bank, string? includeRetired, CancellationToken ct) =>
        TypedResults.Ok(new ClaimListResponse(await bank.ListAsync(Query.Flag("includeRetired", includeRetired), ct)));

    internal static async Task<Ok<Claim>> GetClaim(ClaimBank bank, string id, CancellationToken ct) =>
        TypedResults.Ok(await bank.FindAsync(id, ct) ?? throw ClaimBank.NotFound(id));

    internal static async Task<IResult> PostClaim(HttpRequest request, ClaimBank bank, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ClaimRequest>(request, MaxBodyBytes, ct);
        var claim = await bank.AddAsync(body.Text ?? "", body.SourceUrl ?? "", body.Note, Caller.Actor(request.HttpContext.User), ct);
        return TypedResults.Created($"/v1/claims/{claim.Id}", claim);
    }

    internal static async Task<IResult> PostRetireClaim(HttpRequest request, string id, ClaimBank bank, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<RetireClaimRequest>(request, MaxBodyBytes, ct);
        return TypedResults.Ok(await bank.RetireAsync(id, Caller.Actor(request.HttpContext.User), body.Reason ?? "", ct));
    }

    internal static async Task<Ok<ModelListResponse>> GetModels(ModelRegistry registry, string? category, CancellationToken ct)
    {
        if (category is not null && (category.Length > ModelRegistry.MaxCategoryLength || !ScorerOutput.IsValidCategory(category)))
            throw Refusal.Invalid("category", "is not a category name (lower-case, dotted: harm, harm.hate, misinformation, bias)");
        var list = await registry.ListAsync(category, ct);
        return TypedResults.Ok(new ModelListResponse(list.Select(ModelVersionResponse.From).ToList()));
    }

    internal static async Task<IResult> PostModelState(HttpRequest request, string category, string version, ModelRegistry registry, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ModelStateRequest>(request, MaxBodyBytes, ct);
        if (string.IsNullOrEmpty(body.State)) throw Refusal.Invalid("state", $"is required: one of {string.Join(", ", ModelStates.All)}");
        if (!ModelStates.IsKnown(body.State)) throw Refusal.Invalid("state", $"'{body.State}' is not a model state; use one of {string.Join(", ", ModelStates.All)}");
        var updated = await registry.SetStateAsync(category, version, body.State, Caller.Actor(request.HttpContext.User), body.Reason, ct);
        return TypedResults.Ok(ModelVersionResponse.From(updated));
    }
}
