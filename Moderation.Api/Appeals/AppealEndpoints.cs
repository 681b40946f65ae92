using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Moderation.Api.Uploads;
using Moderation.Core.Access;
using Moderation.Core.Review;

namespace Moderation.Api.Appeals;

/// <summary>The body of <c>POST /v1/appeals</c>.</summary>
public sealed record AppealRequest
{
    /// <summary>The upload's id, or the client's external id for it.</summary>
    public string? UploadId { get; init; }
    /// <summary>The creator's reasons, as text (at most 4,000 characters).</summary>
    public string? Statement { get; init; }
}

public sealed record AppealAccepted(string AppealId, string UploadId, string State);

/// <summary>
/// A creator's appeal, sent by the platform that hosts the creator (the key that uploads, <c>uploads:write</c>).
/// The item reopens in the review workbench for a reviewer other than the one who decided it.
/// </summary>
public static class AppealEndpoints
{
    public const long MaxBodyBytes = 32 * 1024;

    public static IEndpointRouteBuilder MapAppeals(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/appeals", PostAppeal)
            .RequireAuthorization(ApiScopes.UploadsWrite)
            .WithTags("Appeals")
            .WithName("PostAppeal")
            .WithSummary("Appeal a reviewer's decision")
            .WithDescription("Reopens the latest standing reviewer decision that restricts the upload (remove, age-restrict, demote, label) for a different reviewer. One appeal per decision: a second is a 409. An upload with no such decision is a 409; an unknown upload a 404.")
            .Accepts<AppealRequest>("application/json")
            .Produces<AppealAccepted>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return routes;
    }

    internal static async Task<IResult> PostAppeal(HttpRequest request, ReviewDecisions decisions, CancellationToken ct)
    {
        var bodySize = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false }) bodySize.MaxRequestBodySize = MaxBodyBytes;
        if (!request.HasJsonContentType())
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type", detail: "Send application/json.");
        AppealRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<AppealRequest>(request.Body, UploadEndpoints.RequestJson, ct);
        }
        catch (JsonException e)
        {
            return Invalid(string.IsNullOrEmpty(e.Path) ? "$" : e.Path, "is not valid JSON for this field, or not a known field");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request too large", detail: $"Appeals are at most {MaxBodyBytes} bytes.");
        }
        if (body is null) return Invalid("$", "the body must be a JSON object");
        if (string.IsNullOrWhiteSpace(body.UploadId) || body.UploadId.Length > 256) return Invalid("uploadId", "is required (an upload id or external id)");
        if (body.Statement is null) return Invalid("statement", "is required");

        var key = request.HttpContext.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? "unknown";
        try
        {
            var (appealId, uploadId) = await decisions.SubmitAppealAsync(key, body.UploadId.Trim(), body.Statement, ct);
            return TypedResults.Created($"/v1/uploads/{uploadId}", new AppealAccepted(appealId, uploadId, "open"));
        }
        catch (ReviewRefusedException e) when (e.Status == StatusCodes.Status400BadRequest)
        {
            return Invalid(e.Field, e.Message);
        }
        catch (ReviewRefusedException e)
        {
            return TypedResults.Problem(statusCode: e.Status, title: e.Status == 404 ? "Not found" : "Conflict", detail: e.Message,
                extensions: new Dictionary<string, object?> { ["field"] = e.Field });
        }
    }

    private static IResult Invalid(string field, string reason) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [reason] }, title: "Invalid appeal");
}
