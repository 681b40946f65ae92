using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;

namespace Moderation.Api.Access;

/// <summary>
/// Authenticates the <c>X-Api-Key</c> header. A verified key is remembered for at most
/// <see cref="ApiKeyStore.MaxCacheTime"/> (5 s) and never past its expiry, so a key revoked on any host stops working on
/// every host within 5 seconds; the host that revokes it forgets it at once. Unknown keys are not remembered.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys,
    IMemoryCache cache) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string ScopeClaim = "scope";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeaderName, out var values) || values.Count == 0 || string.IsNullOrEmpty(values[0]))
            return AuthenticateResult.NoResult();
        if (values.Count > 1)
            return AuthenticateResult.Fail("Send one X-Api-Key header.");

        var presented = values[0]!;
        var cacheKey = ApiKeyStore.CacheEntry(presented);
        var now = TimeProvider.GetUtcNow();
        if (!cache.TryGetValue(cacheKey, out ApiKeyIdentity? identity) || identity!.ExpiresAt <= now)
        {
            identity = await keys.AuthenticateAsync(presented, Context.RequestAborted);
            if (identity is null) return AuthenticateResult.Fail("The API key is not valid (unknown, revoked or expired).");
            var until = now + ApiKeyStore.MaxCacheTime;
            if (identity.ExpiresAt < until) until = identity.ExpiresAt.Value;
            cache.Set(cacheKey, identity, until);
            cache.Set(ApiKeyStore.IdCacheEntry(identity.KeyId), cacheKey, until);
        }

        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, identity!.KeyId), new(ClaimTypes.Name, identity.Name) };
        claims.AddRange(identity.Scopes.Select(s => new Claim(ScopeClaim, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{HeaderName}\"";
        await Results.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Authentication required",
            detail: result.Failure?.Message ?? $"Send an API key in the {HeaderName} header.").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Results.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "Forbidden",
            detail: "The API key does not have the scope this endpoint requires.").ExecuteAsync(Context);
    }
}

/// <summary>One authorisation policy per scope; an <c>admin</c> key holds every scope, <c>policy:write</c> implies <c>policy:read</c>.</summary>
public static class ScopePolicies
{
    public static void AddScopePolicies(this Microsoft.AspNetCore.Authorization.AuthorizationOptions options)
    {
        foreach (var scope in ApiScopes.All)
        {
            options.AddPolicy(scope, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireAuthenticatedUser()
                .RequireAssertion(context => ApiScopes.Grants(
                    context.User.FindAll(ApiKeyAuthenticationHandler.ScopeClaim).Select(c => c.Value).ToHashSet(), scope)));
        }
    }
}
