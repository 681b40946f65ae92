using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Moderation.Core.Refusals;

namespace Moderation.Api.Edge;

/// <summary>
/// The one reader of request bodies: every endpoint that takes JSON reads it here, under a size limit it names.
/// Wrong content type: 415. Larger than the limit: 413 naming the limit. Malformed JSON, a wrong type for a field, an
/// unknown field or no object at all: a 400 <see cref="Refusal"/> naming the field (its JSON path) and the reason.
/// The problems themselves are written by <see cref="ProblemExceptionHandler"/>.
/// </summary>
public static class JsonBody
{
    /// <summary>Strict JSON: unknown fields are errors, so a misspelt field is never silently dropped.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        MaxDepth = 16,
    };

    /// <summary>Reads the body as <typeparamref name="T"/>; refuses anything but a JSON object of at most <paramref name="maxBytes"/> bytes.</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, long maxBytes, CancellationToken ct) where T : class
    {
        if (!request.HasJsonContentType())
            throw new BadHttpRequestException("Send application/json.", StatusCodes.Status415UnsupportedMediaType);
        Limit(request, maxBytes);
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Options, ct) ?? throw NotAnObject("$");
        }
        catch (JsonException e)
        {
            throw Refuse(e);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
    }

    /// <summary>Parses JSON sent inside another body (the <c>upload</c> field of a multipart upload) by the same rules; <paramref name="field"/> names it.</summary>
    public static T Parse<T>(string json, string field) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw NotAnObject(field);
        }
        catch (JsonException e)
        {
            throw Refuse(e);
        }
    }

    /// <summary>
    /// Caps what the server reads of the body at <paramref name="maxBytes"/>; the server refuses a longer body when it
    /// is read (and closes the connection, which an early refusal of our own would leave holding an unread body).
    /// </summary>
    public static void Limit(HttpRequest request, long maxBytes)
    {
        var bodySize = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false }) bodySize.MaxRequestBodySize = maxBytes;
    }

    /// <summary>The 413 for a body over <paramref name="maxBytes"/>, with what to do instead if there is something.</summary>
    public static BadHttpRequestException TooLarge(long maxBytes, string? instead = null) =>
        new($"The request body is larger than the limit of {maxBytes} bytes.{(instead is null ? "" : " " + instead)}", StatusCodes.Status413PayloadTooLarge);

    /// <summary>What a <see cref="JsonException"/> says, as a refusal naming the field (its JSON path) and the reason.</summary>
    public static Refusal Refuse(JsonException e)
    {
        var field = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
        var reason = e.Message.Contains("could not be mapped", StringComparison.Ordinal)
            ? "is not a known field"
            : $"is not valid JSON for this field (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})";
        return Refusal.Invalid(field, reason);
    }

    /// <summary>The endpoint takes a <typeparamref name="T"/> read by this reader: documents it and the 400, 413 and 415 the reader may answer.</summary>
    public static RouteHandlerBuilder AcceptsJson<T>(this RouteHandlerBuilder endpoint) where T : notnull =>
        endpoint.Accepts<T>("application/json")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    private static Refusal NotAnObject(string field) => Refusal.Invalid(field, "must be a JSON object");
}
