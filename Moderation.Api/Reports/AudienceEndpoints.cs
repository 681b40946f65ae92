using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Core.Review;

namespace Moderation.Api.Reports;

/// <summary>The body of <c>POST /v1/uploads/{id}/reports</c>.</summary>
public sealed record ReportRequest
{
    /// <summary>The platform's opaque id of the person reporting (one report per person per upload counts).</summary>
    public string? ReporterId { get; init; }
    /// <summary>One of the configured report reasons (<c>Moderation:Review:Priority:ReportReasons</c>).</summary>
    public string? Reason { get; init; }
    /// <summary>What the reporter wrote, if anything (at most 1,000 characters).</summary>
    public string? Detail { get; init; }
}

public sealed record ReportAccepted(string ReportId, string UploadId, bool Duplicate, long Reports, bool Requeued);

/// <summary>The body of <c>POST /v1/reach</c>.</summary>
public sealed record ReachRequest
{
    public IReadOnlyList<ReachItem?>? Items { get; init; }
}

/// <summary>One upload's cumulative view count.</summary>
public sealed record ReachItem
{
    /// <summary>The upload's id, or the client's external id for it.</summary>
    public string? UploadId { get; init; }
    /// <summary>Views so far (cumulative, not a delta): a lower count than the stored one changes nothing.</summary>
    public long? Views { get; init; }
}

public sealed record ReachRecorded(int Updated, int Unchanged, IReadOnlyList<string> Unknown);

/// <summary>
/// What the platform's audience says about an upload: user reports, and reach (view counts). Both come from the
/// platform that uploads (<c>uploads:write</c>) and raise the item's place in the review queues.
/// </summary>
public static class AudienceEndpoints
{
    public const long MaxReportBodyBytes = 16 * 1024;
    public const long MaxReachBodyBytes = 256 * 1024;

    public static IEndpointRouteBuilder MapAudience(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/uploads/{id}/reports", PostReport)
            .RequireAuthorization(ApiScopes.UploadsWrite)
            .WithTags("Reports and reach")
            .WithName("PostReport")
            .WithSummary("Report an upload on behalf of a platform user")
            .WithDescription("One report per reporterId per upload: a repeat answers 200 with the stored report (duplicate: true). A new report answers 201 and raises the priority of the item's open review task; enough reports since the last human decision send an allowed item back to review (requeued: true). {id} is the upload's id or external id.")
            .AcceptsJson<ReportRequest>()
            .Produces<ReportAccepted>(StatusCodes.Status201Created)
            .Produces<ReportAccepted>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound);

        routes.MapPost("/v1/reach", PostReach)
            .RequireAuthorization(ApiScopes.UploadsWrite)
            .WithTags("Reports and reach")
            .WithName("PostReach")
            .WithSummary("Push cumulative view counts for up to 1,000 uploads")
            .WithDescription("Each item sets an upload's views to the given cumulative count if it is higher than the stored one (late or repeated batches change nothing). The priority of open review tasks is recomputed. Unknown uploads are listed in the answer; the others are stored.")
            .AcceptsJson<ReachRequest>()
            .Produces<ReachRecorded>(StatusCodes.Status200OK);
        return routes;
    }

    internal static async Task<IResult> PostReport(string id, HttpRequest request, UserReports reports, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ReportRequest>(request, MaxReportBodyBytes, ct);
        if (id.Length > 256) throw Refusal.Invalid("id", "is not an upload id or external id");
        if (string.IsNullOrWhiteSpace(body.ReporterId)) throw Refusal.Invalid("reporterId", "is required: the platform's id of the person reporting");
        if (string.IsNullOrWhiteSpace(body.Reason)) throw Refusal.Invalid("reason", "is required");
        var outcome = await reports.ReportAsync(Caller.KeyId(request.HttpContext.User), id, body.ReporterId, body.Reason, body.Detail, ct);
        var answer = new ReportAccepted(outcome.ReportId, outcome.UploadId, !outcome.Created, outcome.Reports, outcome.Requeued);
        return outcome.Created ? TypedResults.Created($"/v1/uploads/{outcome.UploadId}", answer) : TypedResults.Ok(answer);
    }

    internal static async Task<IResult> PostReach(HttpRequest request, UploadReach reach, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ReachRequest>(request, MaxReachBodyBytes, ct);
        if (body.Items is null) throw Refusal.Invalid("items", "is required: a list of {uploadId, views}");
        if (body.Items.Count > UploadReach.MaxBatch) throw Refusal.Invalid("items", $"holds at most {UploadReach.MaxBatch} uploads");
        var updates = new List<ReachUpdate>(body.Items.Count);
        for (var i = 0; i < body.Items.Count; i++)
        {
            var item = body.Items[i] ?? throw Refusal.Invalid($"items[{i}]", "must be an object, not null");
            if (string.IsNullOrWhiteSpace(item.UploadId) || item.UploadId.Length > 256)
                throw Refusal.Invalid($"items[{i}].uploadId", "is required (an upload id or external id, at most 256 characters)");
            if (item.Views is not { } views || views < 0)
                throw Refusal.Invalid($"items[{i}].views", "is required: the cumulative view count, 0 or more");
            updates.Add(new ReachUpdate(item.UploadId.Trim(), views));
        }
        var outcome = await reach.RecordAsync(updates, ct);
        return TypedResults.Ok(new ReachRecorded(outcome.Updated, outcome.Unchanged, outcome.Unknown));
    }
}
