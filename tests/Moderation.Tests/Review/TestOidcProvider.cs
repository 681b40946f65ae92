using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using OidcClaims = OpenIddict.Abstractions.OpenIddictConstants.Claims;

namespace Moderation.Tests.Review;

/// <summary>Who the test provider signs in next: their subject, user name and groups (the role claim).</summary>
public sealed record ProviderUser(string Subject, string UserName, params string[] Groups);

/// <summary>
/// A real OpenID Connect provider (OpenIddict's server) on Kestrel inside the test process: discovery, keys, the
/// authorization endpoint (authorization code, PKCE required) and the token endpoint, with one registered
/// confidential client. It has no login form: the person "already signed in" at the provider is
/// <see cref="NextUser"/> (null: the provider answers access_denied, as when a user declines).
/// </summary>
public sealed class TestOidcProvider : IAsyncDisposable
{
    public const string ClientId = "moderation-workbench";
    public const string ClientSecret = "provider-test-secret-7f3c1d";

    private readonly WebApplication app;

    private TestOidcProvider(WebApplication app, Uri authority)
    {
        this.app = app;
        Authority = authority;
    }

    public Uri Authority { get; }

    /// <summary>The only redirect URI the client may use (the workbench's callback), compared exactly.</summary>
    public string? RedirectUri { get; set; }

    public ProviderUser? NextUser { get; set; }

    /// <summary>The code challenge method of each authorization request the provider accepted.</summary>
    public ConcurrentQueue<string?> ChallengeMethods { get; } = new();

    /// <summary>Token requests whose client id and secret matched.</summary>
    public int CodeRedemptions => redemptions;
    private int redemptions;

    public static async Task<TestOidcProvider> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        TestOidcProvider? self = null;
        builder.Services.AddOpenIddict().AddServer(options =>
        {
            // No stores: this provider knows one client, checked by the handlers below.
            options.EnableDegradedMode();
            options.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
            options.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
            options.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email);
            options.AddEphemeralEncryptionKey().AddEphemeralSigningKey();
            options.DisableAccessTokenEncryption();
            options.UseAspNetCore().DisableTransportSecurityRequirement();

            options.AddEventHandler<ValidateAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId) context.Reject(Errors.InvalidClient, "Unknown client.");
                else if (context.RedirectUri != self!.RedirectUri) context.Reject(Errors.InvalidRequest, "Unregistered redirect_uri.");
                return default;
            }));
            options.AddEventHandler<ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId || context.ClientSecret != ClientSecret) context.Reject(Errors.InvalidClient, "Wrong client credentials.");
                else Interlocked.Increment(ref self!.redemptions);
                return default;
            }));
            options.AddEventHandler<HandleAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                self!.ChallengeMethods.Enqueue(context.Request.CodeChallengeMethod);
                if (self.NextUser is not { } user)
                {
                    context.Reject(Errors.AccessDenied, "The user declined.");
                    return default;
                }
                var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, OidcClaims.Name, OidcClaims.Role);
                identity.SetClaim(OidcClaims.Subject, user.Subject).SetClaim(OidcClaims.PreferredUsername, user.UserName);
                foreach (var group in user.Groups) identity.AddClaim(new Claim("groups", group));
                identity.SetDestinations(_ => [Destinations.IdentityToken, Destinations.AccessToken]);
                var principal = new ClaimsPrincipal(identity);
                principal.SetScopes(context.Request.GetScopes());
                context.SignIn(principal);
                return default;
            }));
        });
        var app = builder.Build();
        app.UseAuthentication();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new TestOidcProvider(app, new Uri(address.TrimEnd('/') + "/"));
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
