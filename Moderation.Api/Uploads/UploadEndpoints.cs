using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Uploads;

namespace Moderation.Api.Uploads;

public static class UploadEndpoints
{
    /// <summary>Strict JSON: unknown fields are errors, so a misspelt field is never silently dropped.</summary>
    internal static readonly JsonSerializerOptions RequestJson = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        MaxDepth = 16,
    };

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
            .WithSummary("An upload's status, scores and routing");

        return group;
    }

    internal static async Task<IResult> PostUpload(HttpRequest request, UploadIntake intake, IOptions<UploadLimits> limitOptions, CancellationToken ct)
    {
        var limits = limitOptions.Value;
        var bodySize = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false }) bodySize.MaxRequestBodySize = limits.MaxRequestBytes;

        UploadRequest? body;
        var media = new List<IncomingMedia>();
        try
        {
            if (request.HasJsonContentType())
            {
                body = await JsonSerializer.DeserializeAsync<UploadRequest>(request.Body, RequestJson, ct);
                if (body is null) return Invalid("$", "the body must be a JSON object");
                for (var i = 0; i < (body.Media?.Count ?? 0); i++)
                {
                    var m = body.Media![i];
                    if (m is null) return Invalid($"media[{i}]", "must be an object, not null");
                    media.Add(new IncomingMedia($"media[{i}]", m.Kind, m.FileName, () => UploadValidator.DecodeBase64(m.ContentBase64),
                        UploadValidator.DecodedLength(m.ContentBase64)));
                }
            }
            else if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(new FormOptions
                {
                    MultipartBodyLengthLimit = limits.MaxRequestBytes,
                    ValueLengthLimit = limits.MaxTranscriptLength * 4 + 1_000_000,
                    ValueCountLimit = 16,
                }, ct);
                if (!form.TryGetValue("upload", out var json) || json.Count != 1)
                    return Invalid("upload", "a multipart request needs exactly one 'upload' field holding the upload's JSON");
                body = JsonSerializer.Deserialize<UploadRequest>(json[0]!, RequestJson);
                if (body is null) return Invalid("upload", "must be a JSON object");
                if (body.Media is { Count: > 0 })
                    return Invalid("upload.media", "send media as file parts named 'image' or 'video' in a multipart request");
                for (var i = 0; i < form.Files.Count; i++)
                {
                    var file = form.Files[i];
                    var field = $"files[{i}]";
                    if (file.Name is not (MediaKind.Image or MediaKind.Video))
                        return Invalid(field, $"part '{file.Name}' must be named 'image' or 'video'");
                    media.Add(new IncomingMedia(field, file.Name, file.FileName, () => ReadAll(file), file.Length));
                }
            }
            else
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                    detail: "Send application/json or multipart/form-data.");
            }
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
            var reason = e.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? "is not a known field"
                : $"is not valid JSON for this field (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})";
            return Invalid(field, reason);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request too large",
                detail: $"The request body is larger than the limit of {limits.MaxRequestBytes} bytes.");
        }
        catch (InvalidDataException e)
        {
            return Invalid("$", $"the multipart body is malformed or over a limit: {e.Message}");
        }

        var (upload, errors) = UploadValidator.Validate(body, media, limits);
        if (upload is null) return TypedResults.ValidationProblem(errors, title: "The upload is not valid",
            detail: string.Join("; ", errors.Select(e => $"{e.Key} {string.Join(", ", e.Value)}")));

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

    internal static async Task<Results<Ok<UploadResponse>, ProblemHttpResult>> GetUpload(string id, UploadDetailsQuery query, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out _))
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No upload has the id '{id}'.");
        var details = await query.FindAsync(id, ct);
        return details is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No upload has the id '{id}'.")
            : TypedResults.Ok(UploadResponse.From(details));
    }

    private static ValidationProblem Invalid(string field, string reason) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [reason] },
            title: "The upload is not valid", detail: $"{field} {reason}");

    private static byte[] ReadAll(IFormFile file)
    {
        using var stream = file.OpenReadStream();
        using var buffer = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
