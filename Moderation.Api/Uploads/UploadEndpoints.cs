using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Core.Uploads;

namespace Moderation.Api.Uploads;

public static class UploadEndpoints
{
    public static RouteGroupBuilder MapUploads(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/uploads").WithTags("Uploads");

        group.MapPost("/", PostUpload)
            .RequireAuthorization(ApiScopes.UploadsWrite)
            .RequireRateLimiting(Access.UploadRateLimits.Policy)
            .WithName("PostUpload")
            .WithSummary("Submit an upload for scoring")
            .WithDescription("JSON (media inline as base64) or multipart/form-data (an `upload` field holding the same JSON without media, and files in parts named `image` or `video`). Answers 202 once the upload and its media are stored and its scoring job is enqueued; 200 with the existing id when the externalId is already known.")
            .Accepts<UploadRequest>("application/json", "multipart/form-data")
            .Produces<UploadAccepted>(StatusCodes.Status202Accepted)
            .Produces<UploadAccepted>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/{id}", GetUpload)
            .RequireAuthorization(ApiScopes.UploadsWrite)
            .WithName("GetUpload")
            .WithSummary("An upload's status, scores and routing")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    internal static async Task<IResult> PostUpload(HttpRequest request, UploadIntake intake, IOptions<UploadLimits> limitOptions, CancellationToken ct)
    {
        var limits = limitOptions.Value;
        UploadRequest body;
        var media = new List<IncomingMedia>();
        if (request.HasJsonContentType())
        {
            body = await JsonBody.ReadAsync<UploadRequest>(request, limits.MaxRequestBytes, ct);
            for (var i = 0; i < (body.Media?.Count ?? 0); i++)
            {
                var m = body.Media![i] ?? throw Refusal.Invalid($"media[{i}]", "must be an object, not null");
                media.Add(new IncomingMedia($"media[{i}]", m.Kind, m.FileName, () => UploadValidator.DecodeBase64(m.ContentBase64),
                    UploadValidator.DecodedLength(m.ContentBase64)));
            }
        }
        else if (request.HasFormContentType)
        {
            body = await ReadMultipartAsync(request, limits, media, ct);
        }
        else
        {
            throw new BadHttpRequestException("Send application/json or multipart/form-data.", StatusCodes.Status415UnsupportedMediaType);
        }

        var (upload, errors) = UploadValidator.Validate(body, media, limits);
        if (upload is null) throw Refusal.Invalid(errors, string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));

        IntakeResult result;
        try
        {
            result = await intake.AcceptAsync(upload, ct);
        }
        catch (IntakeUnavailableException e)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not accepting uploads", detail: e.Message);
        }
        var answer = new UploadAccepted(result.Id, result.Status);
        return result.Created
            ? TypedResults.Accepted($"/v1/uploads/{result.Id}", answer)
            : TypedResults.Ok(answer);
    }

    /// <summary>A multipart upload: the <c>upload</c> field's JSON (read by <see cref="JsonBody.Parse{T}"/>) and the files as media.</summary>
    private static async Task<UploadRequest> ReadMultipartAsync(HttpRequest request, UploadLimits limits, List<IncomingMedia> media, CancellationToken ct)
    {
        JsonBody.Limit(request, limits.MaxRequestBytes);
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(new FormOptions
            {
                MultipartBodyLengthLimit = limits.MaxRequestBytes,
                ValueLengthLimit = limits.MaxTranscriptLength * 4 + 1_000_000,
                ValueCountLimit = 16,
            }, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw JsonBody.TooLarge(limits.MaxRequestBytes);
        }
        catch (InvalidDataException e)
        {
            throw Refusal.Invalid("$", $"the multipart body is malformed or over a limit: {e.Message}");
        }
        if (!form.TryGetValue("upload", out var json) || json.Count != 1)
            throw Refusal.Invalid("upload", "a multipart request needs exactly one 'upload' field holding the upload's JSON");
        var body = JsonBody.Parse<UploadRequest>(json[0]!, "upload");
        if (body.Media is { Count: > 0 })
            throw Refusal.Invalid("upload.media", "send media as file parts named 'image' or 'video' in a multipart request");
        for (var i = 0; i < form.Files.Count; i++)
        {
            var file = form.Files[i];
            var field = $"files[{i}]";
            if (file.Name is not (MediaKind.Image or MediaKind.Video))
                throw Refusal.Invalid(field, $"part '{file.Name}' must be named 'image' or 'video'");
            media.Add(new IncomingMedia(field, file.Name, file.FileName, () => ReadAll(file), file.Length));
        }
        return body;
    }

    internal static async Task<Ok<UploadResponse>> GetUpload(string id, UploadDetailsQuery query, CancellationToken ct)
    {
        var details = Guid.TryParse(id, out _) ? await query.FindAsync(id, ct) : null;
        return TypedResults.Ok(UploadResponse.From(details ?? throw Refusal.NotFound($"No upload has the id '{id}'.", "id")));
    }

    private static byte[] ReadAll(IFormFile file)
    {
        using var stream = file.OpenReadStream();
        using var buffer = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
