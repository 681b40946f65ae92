using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Api.Uploads;
using Moderation.Core.Access;
using Moderation.Core.Claims;
using Moderation.Core.Models;
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
            .WithDescription("Active claims, oldest first; with `includeRetired=true` retired ones too.");
        claims.MapGet("/{id}", GetClaim)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetClaim")
            .WithSummary("One claim");
        claims.MapPost("/", PostClaim)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("PostClaim")
            .WithSummary("Add a known false claim")
            .WithDescription("The text (10 to 1,000 characters, one line) and an absolute http(s) link to the fact-check. An active claim with the same text (ignoring case, full-width forms, zero-width characters and white space) is a 409 naming it.")
            .Accepts<ClaimRequest>("application/json")
            .Produces<Claim>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        claims.MapPost("/{id}/retire", PostRetireClaim)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("RetireClaim")
            .WithSummary("Retire a claim")
            .WithDescription("The claim stops being matched; it stays in the bank for the record. A reason is required.")
            .Accepts<RetireClaimRequest>("application/json")
            .Produces<Claim>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        var models = routes.MapGroup("/v1/models").WithTags("Models");
        models.MapGet("/", GetModels)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetModels")
            .WithSummary("Registered model versions")
            .WithDescription("Every version (or one category's, with `category=`) with its state, card and validation metrics, newest first.");
        models.MapPost("/{category}/{version}/state", PostModelState)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("SetModelState")
            .WithSummary("Make a model version live, shadow or retired")
            .WithDescription("Promoting to live retires the previous live version of the same category and scorer (text, image, image-onnx) in the same transaction; retiring the live version leaves the category without one of that kind. Setting the state a version already has changes nothing.")
            .Accepts<ModelStateRequest>("application/json")
            .Produces<ModelVersionResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return routes;
    }

    /// <summary>How the calling key appears in the audit trail: <c>api_key:{id}</c>, the subject id of its <c>api_key.created</c> event.</summary>
    public static string Actor(ClaimsPrincipal user) =>
        "api_key:" + (user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("The caller is not an authenticated API key."));

    internal static async Task<Results<Ok<ClaimListResponse>, ValidationProblem>> GetClaims(ClaimBank bank, string? includeRetired, CancellationToken ct)
    {
        var all = false;
        if (!string.IsNullOrEmpty(includeRetired) && !bool.TryParse(includeRetired, out all))
            return Invalid("includeRetired", "must be true or false", "Invalid query");
        return TypedResults.Ok(new ClaimListResponse(await bank.ListAsync(all, ct)));
    }

    internal static async Task<Results<Ok<Claim>, ProblemHttpResult>> GetClaim(ClaimBank bank, string id, CancellationToken ct)
    {
        var claim = await bank.FindAsync(id, ct);
        return claim is null ? NotFound(new ClaimNotFoundException(id).Message) : TypedResults.Ok(claim);
    }

    internal static async Task<IResult> PostClaim(HttpRequest request, ClaimBank bank, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync<ClaimRequest>(request, ct);
        if (body is null) return problem!;
        try
        {
            var claim = await bank.AddAsync(body.Text ?? "", body.SourceUrl ?? "", body.Note, Actor(request.HttpContext.User), ct);
            return TypedResults.Created($"/v1/claims/{claim.Id}", claim);
        }
        catch (ClaimBankException e)
        {
            return ClaimProblem(e);
        }
    }

    internal static async Task<IResult> PostRetireClaim(HttpRequest request, string id, ClaimBank bank, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync<RetireClaimRequest>(request, ct);
        if (body is null) return problem!;
        try
        {
            return TypedResults.Ok(await bank.RetireAsync(id, Actor(request.HttpContext.User), body.Reason ?? "", ct));
        }
        catch (ClaimBankException e)
        {
            return ClaimProblem(e);
        }
    }

    internal static async Task<Results<Ok<ModelListResponse>, ValidationProblem>> GetModels(ModelRegistry registry, string? category, CancellationToken ct)
    {
        if (category is not null && (category.Length > ModelRegistry.MaxCategoryLength || !ScorerOutput.IsValidCategory(category)))
            return Invalid("category", "is not a category name (lower-case, dotted: harm, harm.hate, misinformation, bias)", "Invalid query");
        var list = await registry.ListAsync(category, ct);
        return TypedResults.Ok(new ModelListResponse(list.Select(ModelVersionResponse.From).ToList()));
    }

    internal static async Task<IResult> PostModelState(HttpRequest request, string category, string version, ModelRegistry registry, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync<ModelStateRequest>(request, ct);
        if (body is null) return problem!;
        if (string.IsNullOrEmpty(body.State)) return Invalid("state", $"is required: one of {string.Join(", ", ModelStates.All)}");
        if (!ModelStates.IsKnown(body.State)) return Invalid("state", $"'{body.State}' is not a model state; use one of {string.Join(", ", ModelStates.All)}");
        try
        {
            var updated = await registry.SetStateAsync(category, version, body.State, Actor(request.HttpContext.User), body.Reason, ct);
            return TypedResults.Ok(ModelVersionResponse.From(updated));
        }
        catch (ModelVersionNotFoundException e)
        {
            return NotFound(e.Message);
        }
        catch (ModelValidationException e)
        {
            return Invalid(e.Field, e.Message);
        }
        catch (ModelConflictException e)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: e.Message);
        }
    }

    private static IResult ClaimProblem(ClaimBankException e) => e switch
    {
        ClaimValidationException v => Invalid(v.Field, v.Message),
        ClaimNotFoundException => NotFound(e.Message),
        ClaimConflictException c => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: c.Message,
            extensions: new Dictionary<string, object?> { ["existingId"] = c.ExistingId }),
        _ => throw new InvalidOperationException($"Unhandled {e.GetType().Name}", e),
    };

    /// <summary>Reads a strict JSON body (unknown fields refused); the problem to answer when it cannot.</summary>
    internal static async Task<(T? Body, IResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        var bodySize = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false }) bodySize.MaxRequestBodySize = MaxBodyBytes;
        if (!request.HasJsonContentType())
            return (null, TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: "Send application/json."));
        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(request.Body, UploadEndpoints.RequestJson, ct);
            return body is null ? (null, Invalid("$", "the body must be a JSON object")) : (body, null);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
            var reason = e.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? "is not a known field"
                : $"is not valid JSON for this field (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})";
            return (null, Invalid(field, reason));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request too large",
                detail: $"The request body is larger than the limit of {MaxBodyBytes} bytes."));
        }
    }

    internal static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);

    internal static ValidationProblem Invalid(string field, string reason, string title = "The request is not valid") =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [reason] }, title: title, detail: $"{field}: {reason}");
}
