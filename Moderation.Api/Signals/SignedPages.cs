using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Moderation.Core.Signals;
using Recommender.Core.Signals;

namespace Moderation.Api.Signals;

/// <summary>
/// Signs a feed page (<c>GET /v1/signals</c>, <c>GET /v1/verdicts</c>): the endpoint's 200 value is serialised here, once,
/// and sent with <c>Content-Digest</c>, <c>Signature-Input</c> and <c>Signature</c> (<see cref="FeedSignature"/>, the
/// profile <c>Recommender.Core</c> verifies) over those exact bytes, the status, and the request's method, path and query.
/// Refusals (problem details) are not signed.
/// </summary>
internal sealed class SignedPageFilter(FeedSigningKeys keys, TimeProvider time, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        if (result is not (IStatusCodeHttpResult { StatusCode: StatusCodes.Status200OK } and IValueHttpResult { Value: { } value })) return result;
        var body = JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), json.Value.SerializerOptions);
        var http = context.HttpContext;
        var request = http.Request;
        var message = new FeedMessage(request.Method, (request.PathBase + request.Path).ToUriComponent(), request.QueryString.Value ?? "", StatusCodes.Status200OK);
        var headers = FeedSignature.Sign(keys.Current, keys.CurrentKeyId, message, body, time.GetUtcNow());
        http.Response.Headers[FeedSignature.ContentDigestHeader] = headers.ContentDigest;
        http.Response.Headers[FeedSignature.SignatureInputHeader] = headers.SignatureInput;
        http.Response.Headers[FeedSignature.SignatureHeader] = headers.Signature;
        return TypedResults.Bytes(body, "application/json; charset=utf-8");
    }
}

public static class SignedPages
{
    /// <summary>The feed's signing keys (<c>Moderation:Signals:Signing</c>); the key is loaded, or generated, when the host starts.</summary>
    public static IServiceCollection AddFeedSigning(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FeedSigningOptions>().Bind(configuration.GetSection(FeedSigningOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FeedSigningOptions>, FeedSigningOptionsValidator>();
        services.AddSingleton<FeedSigningKeys>();
        services.AddHostedService<FeedSigningKeyLoader>();
        return services;
    }

    /// <summary>Signs this endpoint's 200 pages.</summary>
    public static RouteHandlerBuilder Signed(this RouteHandlerBuilder endpoint) => endpoint.AddEndpointFilter<RouteHandlerBuilder, SignedPageFilter>();

    /// <summary><c>GET /v1/signals/keys</c>: the public keys that verify signal and verdict pages.</summary>
    internal static Ok<FeedKeySet> GetKeys(FeedSigningKeys keys) =>
        TypedResults.Ok(new FeedKeySet(keys.Published().Select(k => new FeedPublicKey(k.KeyId, FeedSignature.Algorithm, k.Pem,
            new FeedJwk("EC", "P-256", k.X, k.Y, k.KeyId, "ES256", "sig"), k.Current, k.NotAfter)).ToList()));

    /// <summary>Loads (or generates) the signing key at start-up, so a bad key path stops the host rather than the first page.</summary>
    private sealed class FeedSigningKeyLoader(FeedSigningKeys keys) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = keys.CurrentKeyId; // resolving the singleton reads or creates the key
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
