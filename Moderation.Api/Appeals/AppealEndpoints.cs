using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
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
/// The item reopens in the review workbench for a reviewer other than the one who decided it, or, for an automated
/// action, for any reviewer of its queue.
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
            .WithSummary("Appeal a reviewer's decision or an automated action")
            .WithDescription("Reopens what restricts the upload for a human: the latest standing reviewer decision that restricts it (remove, age-restrict, demote, label), for a different reviewer, or, when no reviewer has decided it, the policy's automated action (an upload actioned on a model's or hash match's signals); overturning an automated action retracts its signals. One appeal per decision or automated action: a second is a 409. An upload nothing restricts is a 409; an unknown upload a 404.")
            .AcceptsJson<AppealRequest>()
            .Produces<AppealAccepted>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return routes;
    }

    internal static async Task<IResult> PostAppeal(HttpRequest request, ReviewDecisions decisions, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<AppealRequest>(request, MaxBodyBytes, ct);
        if (string.IsNullOrWhiteSpace(body.UploadId) || body.UploadId.Length > 256) throw Refusal.Invalid("uploadId", "is required (an upload id or external id)");
        if (body.Statement is null) throw Refusal.Invalid("statement", "is required");

        var (appealId, uploadId) = await decisions.SubmitAppealAsync(Caller.KeyId(request.HttpContext.User), body.UploadId.Trim(), body.Statement, ct);
        return TypedResults.Created($"/v1/uploads/{uploadId}", new AppealAccepted(appealId, uploadId, "open"));
    }
}
