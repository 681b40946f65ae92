using Microsoft.Extensions.Caching.Memory;
using Moderation.Api.Edge;
using Moderation.Api.Policy;
using Moderation.Core.Access;
using Moderation.Core.Refusals;

namespace Moderation.Api.Access;

/// <summary>The body of <c>POST /v1/apikeys</c>.</summary>
public sealed record ApiKeyRequest
{
    /// <summary>What uses the key (e.g. "uploader in eu-west"); 1 to 200 characters.</summary>
    public string? Name { get; init; }

    /// <summary>One or more of uploads:write, signals:read, policy:read, policy:write, feed:demo, admin.</summary>
    public IReadOnlyList<string>? Scopes { get; init; }

    /// <summary>When the key stops working by itself (ISO 8601 with an offset); absent: until revoked.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>The body of <c>POST /v1/apikeys/{id}/revoke</c> (optional).</summary>
public sealed record RevokeApiKeyRequest
{
    /// <summary>Why; recorded in the audit trail.</summary>
    public string? Reason { get; init; }
}

/// <summary>A key as the API shows it; <see cref="Key"/> (the secret) only in the answer to its creation.</summary>
public sealed record ApiKeyResponse(string Id, string Name, IReadOnlyList<string> Scopes, string Prefix, string State, DateTimeOffset CreatedAt,
    string? CreatedBy, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? RevokedBy, string? Key = null)
{
    public static ApiKeyResponse From(ApiKeyInfo k, DateTimeOffset now, string? secret = null) =>
        new(k.Id, k.Name, k.Scopes, k.Prefix, k.StateAt(now), k.CreatedAt, k.CreatedBy, k.ExpiresAt, k.RevokedAt, k.RevokedBy, secret);
}

public sealed record ApiKeyListResponse(IReadOnlyList<ApiKeyResponse> Keys);

/// <summary>
/// API keys, for <c>admin</c> keys: make one with scopes and an optional expiry (its secret is in the 201 answer and
/// nowhere else), list them, revoke one. Every change is audited with the calling key as the actor.
/// </summary>
public static class ApiKeyEndpoints
{
    public static IEndpointRouteBuilder MapApiKeys(this IEndpointRouteBuilder routes)
    {
        var keys = routes.MapGroup("/v1/apikeys").WithTags("API keys").RequireAuthorization(ApiScopes.Admin);
        keys.MapPost("/", PostKey)
            .WithName("PostApiKey")
            .WithSummary("Make an API key")
            .WithDescription("A name, one or more scopes (uploads:write, signals:read, policy:read, policy:write, feed:demo, admin) and an optional expiresAt. The answer holds the key itself in `key`: it is shown this once (only its hash is stored).")
            .AcceptsJson<ApiKeyRequest>()
            .Produces<ApiKeyResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        keys.MapGet("/", GetKeys)
            .WithName("GetApiKeys")
            .WithSummary("Every API key, with its scopes and state (active, expired, revoked); never the secrets")
            .Produces<ApiKeyListResponse>();
        keys.MapGet("/{id}", GetKey)
            .WithName("GetApiKey")
            .WithSummary("One API key")
            .Produces<ApiKeyResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        keys.MapPost("/{id}/revoke", PostRevoke)
            .WithName("RevokeApiKey")
            .WithSummary("Revoke an API key: it stops working on every host within 5 seconds")
            .WithDescription("An optional body {\"reason\": \"...\"} goes into the audit trail. Revoking a revoked key changes nothing.")
            .AcceptsJson<RevokeApiKeyRequest>()
            .Produces<ApiKeyResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return routes;
    }

    internal static async Task<IResult> PostKey(HttpRequest request, ApiKeyStore store, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ApiKeyRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        var issued = await store.IssueAsync(Caller.Actor(request.HttpContext.User), body.Name, body.Scopes?.ToList(), body.ExpiresAt, ct);
        return TypedResults.Created($"/v1/apikeys/{issued.Key.Id}", ApiKeyResponse.From(issued.Key, time.GetUtcNow(), issued.Secret));
    }

    internal static async Task<IResult> GetKeys(ApiKeyStore store, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return TypedResults.Ok(new ApiKeyListResponse((await store.ListAsync(ct)).Select(k => ApiKeyResponse.From(k, now)).ToList()));
    }

    internal static async Task<IResult> GetKey(string id, ApiKeyStore store, TimeProvider time, CancellationToken ct) =>
        TypedResults.Ok(ApiKeyResponse.From(await store.FindAsync(id, ct) ?? throw NoKey(), time.GetUtcNow()));

    internal static async Task<IResult> PostRevoke(HttpRequest request, string id, ApiKeyStore store, IMemoryCache cache, TimeProvider time, CancellationToken ct)
    {
        var body = request.ContentLength is 0 || (request.ContentLength is null && !request.HasJsonContentType())
            ? new RevokeApiKeyRequest()
            : await JsonBody.ReadAsync<RevokeApiKeyRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        var key = await store.RevokeAsync(Caller.Actor(request.HttpContext.User), id, body.Reason, ct);
        ApiKeyStore.Forget(cache, id);
        return TypedResults.Ok(ApiKeyResponse.From(key, time.GetUtcNow()));
    }

    private static Refusal NoKey() => Refusal.NotFound("No such API key.", "id");
}
