using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
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
            .WithDescription("{id} is the upload's id or the client's external id for it (as reports, appeals and reach accept).")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    internal static async Task<IResult> PostUpload(HttpRequest request, UploadIntake intake, MediaStore store, MediaBudget budget,
        IOptions<UploadLimits> limitOptions, CancellationToken ct)
    {
        var limits = limitOptions.Value;
        // Bytes in flight per key and per host: a declared length is reserved before the body is read (a refused request
        // costs nothing); a body of unknown length reserves as it is read.
        using var lease = budget.Reserve(Caller.KeyId(request.HttpContext.User), Math.Min(request.ContentLength ?? 0, limits.MaxRequestBytes));
        if (request.ContentLength is null) request.Body = MediaBudget.Metered(request.Body, lease);
        var media = new List<IncomingMedia>();
        try
        {
            UploadRequest body;
            if (request.HasJsonContentType())
            {
                body = await JsonBody.ReadAsync<UploadRequest>(request, limits.MaxRequestBytes, ct);
                for (var i = 0; i < (body.Media?.Count ?? 0); i++)
                {
                    var m = body.Media![i] ?? throw Refusal.Invalid($"media[{i}]", "must be an object, not null");
                    var declared = UploadValidator.DecodedLength(m.ContentBase64);
                    // Decoded a block at a time straight to disk; over the limit or not base64, it is never decoded.
                    var staged = declared <= limits.MaxMediaBytes && UploadValidator.IsStrictBase64(m.ContentBase64, out _)
                        ? await store.StageAsync(UploadValidator.Base64Stream(m.ContentBase64), limits.MaxMediaBytes, ct)
                        : null;
                    media.Add(new IncomingMedia($"media[{i}]", m.Kind, m.FileName, staged, declared));
                }
            }
            else if (request.HasFormContentType)
            {
                body = await ReadMultipartAsync(request, limits, store, media, ct);
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
        finally
        {
            // Whatever intake did not move to its address (a refused upload, a repeated externalId) is deleted now.
            foreach (var m in media) m.Content?.Dispose();
        }
    }

    /// <summary>Form fields besides files: the <c>upload</c> JSON and nothing much else.</summary>
    private const int MaxFormValues = 16;

    /// <summary>
    /// A multipart upload, read part by part as it arrives (<see cref="MultipartReader"/>): the <c>upload</c> field's JSON
    /// (read by <see cref="JsonBody.Parse{T}"/>) and each file streamed to disk through one buffer
    /// (<see cref="MediaStore.StageAsync"/>), never whole in memory. A body that does not parse as multipart (no boundary,
    /// a boundary the body never reaches, a body that ends before its closing boundary) is a 400 on <c>$</c>.
    /// </summary>
    private static async Task<UploadRequest> ReadMultipartAsync(HttpRequest request, UploadLimits limits, MediaStore store, List<IncomingMedia> media, CancellationToken ct)
    {
        JsonBody.Limit(request, limits.MaxRequestBytes);
        var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
        if (string.IsNullOrWhiteSpace(boundary) || boundary.Length > 70)
            throw Refusal.Invalid("$", "a multipart body needs a boundary of 1 to 70 characters in its Content-Type");
        var valueLimit = limits.MaxTranscriptLength * 4 + 1_000_000;
        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = limits.MaxRequestBytes };
        var uploads = new List<string>();
        var values = 0;
        try
        {
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                    throw Refusal.Invalid("$", "every part of a multipart upload needs a 'Content-Disposition: form-data' header with a name");
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                if (disposition.IsFileDisposition())
                {
                    var field = $"files[{media.Count}]";
                    if (name is not (MediaKind.Image or MediaKind.Video))
                        throw Refusal.Invalid(field, $"part '{name}' must be named 'image' or 'video'");
                    if (media.Count == limits.MaxMediaItems)
                        throw Refusal.Invalid("media", $"has more than {limits.MaxMediaItems} items; at most {limits.MaxMediaItems} are allowed");
                    var staged = await store.StageAsync(section.Body, limits.MaxMediaBytes, ct);
                    var fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
                    media.Add(new IncomingMedia(field, name, fileName, staged, staged.Length));
                    // Over the limit: refused now, without reading the rest of the file.
                    if (staged.Exceeded) throw Refusal.Invalid($"{field}.content", $"is larger than the limit of {limits.MaxMediaBytes} bytes");
                }
                else
                {
                    if (++values > MaxFormValues) throw Refusal.Invalid("$", $"a multipart upload has at most {MaxFormValues} fields besides its files");
                    var value = await ReadValueAsync(section.Body, valueLimit, ct)
                        ?? throw Refusal.Invalid(name, $"is longer than {valueLimit} characters");
                    if (name == "upload") uploads.Add(value);
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw JsonBody.TooLarge(limits.MaxRequestBytes);
        }
        catch (BadHttpRequestException)
        {
            throw;
        }
        catch (InvalidDataException e)
        {
            throw Refusal.Invalid("$", $"the multipart body is malformed or over a limit: {e.Message}");
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            // MultipartReader's word for a body that ends before its closing boundary (or never reaches its first one).
            throw Refusal.Invalid("$", "the multipart body ended before its closing boundary: it is truncated, or its boundary is not the one in the Content-Type");
        }
        if (uploads.Count != 1)
            throw Refusal.Invalid("upload", "a multipart request needs exactly one 'upload' field holding the upload's JSON");
        var body = JsonBody.Parse<UploadRequest>(uploads[0], "upload");
        if (body.Media is { Count: > 0 })
            throw Refusal.Invalid("upload.media", "send media as file parts named 'image' or 'video' in a multipart request");
        return body;
    }

    /// <summary>A form field's text, or null when it is longer than <paramref name="maxChars"/> (read no further).</summary>
    private static async Task<string?> ReadValueAsync(Stream body, int maxChars, CancellationToken ct)
    {
        using var reader = new StreamReader(body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
        var text = new StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer, ct)) > 0)
        {
            if (text.Length + read > maxChars) return null;
            text.Append(buffer, 0, read);
        }
        return text.ToString();
    }

    internal static async Task<Ok<UploadResponse>> GetUpload(string id, UploadDetailsQuery query, CancellationToken ct)
    {
        var details = id.Length <= 256 ? await query.FindByAnyIdAsync(id, "id", ct) : null;
        return TypedResults.Ok(UploadResponse.From(details ?? throw Refusal.NotFound($"No upload has the id or external id '{id}'.", "id")));
    }
}
