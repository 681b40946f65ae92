using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Moderation.Core.Access;

namespace Moderation.Review.Security;

/// <summary>
/// Bound from <c>Moderation:Review:OpenIdConnect</c>: an optional OpenID Connect provider that workbench users may
/// sign in with, beside their local accounts. Nothing is set: no such sign-in. The secret comes from the
/// environment (<c>Moderation__Review__OpenIdConnect__ClientSecret</c>).
/// </summary>
public sealed class OpenIdConnectSettings
{
    public const string Section = "Moderation:Review:OpenIdConnect";

    /// <summary>A short name for the provider, stored with each user it signs in (<c>user_logins.provider</c>).</summary>
    public string Name { get; set; } = "oidc";
    /// <summary>Shown on the button: "Sign in with …".</summary>
    public string DisplayName { get; set; } = "single sign-on";
    /// <summary>The issuer's base address; its <c>/.well-known/openid-configuration</c> is read at sign-in.</summary>
    public string? Authority { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    public string[] Scopes { get; set; } = ["openid", "profile", "email"];
    /// <summary>The claim that names the user (the workbench user name); <c>sub</c> if the provider sends none of it.</summary>
    public string UserNameClaim { get; set; } = "preferred_username";
    /// <summary>The claim that carries the user's groups or roles; unset: roles are assigned by an admin.</summary>
    public string? RoleClaim { get; set; }
    /// <summary>Role-claim value → workbench roles (space separated). Empty: values that are role names count as themselves.</summary>
    public Dictionary<string, string> RoleMap { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Roles a new account gets when the provider does not manage roles (none: an admin must assign them).</summary>
    public string[] DefaultRoles { get; set; } = [];
    /// <summary>Only for a provider on plain HTTP (tests, a lab): production providers are HTTPS.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;
    /// <summary>Ask the provider's user-info endpoint for claims the ID token lacks.</summary>
    public bool GetClaimsFromUserInfoEndpoint { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(ClientId);

    /// <summary>What keeps this configuration from working, each naming the setting.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Authority))
            problems.Add($"{Section}:Authority is missing.");
        else if (!Uri.TryCreate(Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
            problems.Add($"{Section}:Authority is not an absolute http(s) address.");
        else if (authority.Scheme == "http" && RequireHttpsMetadata)
            problems.Add($"{Section}:Authority is plain HTTP; use HTTPS (or set RequireHttpsMetadata to false for a test provider).");
        if (string.IsNullOrWhiteSpace(ClientId)) problems.Add($"{Section}:ClientId is missing.");
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 64) problems.Add($"{Section}:Name must be 1 to 64 characters.");
        if (!Scopes.Contains("openid", StringComparer.Ordinal)) problems.Add($"{Section}:Scopes must include 'openid'.");
        foreach (var (value, roles) in RoleMap)
            foreach (var role in roles.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(r => !ReviewRoles.IsKnown(r)))
                problems.Add($"{Section}:RoleMap:{value} names an unknown role '{role}'.");
        foreach (var role in DefaultRoles.Where(r => !ReviewRoles.IsKnown(r)))
            problems.Add($"{Section}:DefaultRoles names an unknown role '{role}'.");
        return problems;
    }

    /// <summary>The workbench roles the role claim's values map to; null when roles are not managed by the provider.</summary>
    public IReadOnlyList<string>? RolesFrom(ClaimsPrincipal principal)
    {
        if (string.IsNullOrWhiteSpace(RoleClaim)) return null;
        var values = principal.FindAll(RoleClaim).Select(c => c.Value);
        var roles = RoleMap.Count == 0
            ? values.Where(ReviewRoles.IsKnown)
            : values.SelectMany(v => RoleMap.TryGetValue(v, out var mapped) ? mapped.Split(' ', StringSplitOptions.RemoveEmptyEntries) : []);
        return ReviewRoles.All.Where(roles.Contains).ToList();
    }
}

/// <summary>Whether OpenID Connect sign-in is on, and if it was configured but cannot work, why.</summary>
public sealed class OpenIdConnectSignIn(OpenIdConnectSettings settings, IReadOnlyList<string> problems)
{
    public const string Scheme = "ReviewOidc";
    public const string CallbackPath = ReviewModule.PathBase + "/signin-oidc";
    /// <summary>Sign-in page error codes (<c>?externalError=</c>): the page has fixed text for each.</summary>
    public const string ErrorFailed = "failed";
    public const string ErrorDisabled = "disabled";

    public OpenIdConnectSettings Settings { get; } = settings;
    /// <summary>Configured and usable: the scheme is registered and the sign-in page offers it.</summary>
    public bool Enabled => Settings.IsConfigured && Problems.Count == 0;
    /// <summary>Configured, but these settings are wrong: the sign-in page says so and local accounts work as before.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;

    /// <summary>
    /// Registers the provider when its configuration is complete. A broken configuration registers nothing (a
    /// remote scheme with bad options would fail every request, local sign-ins included): it is logged at start-up
    /// and named on the sign-in page instead.
    /// </summary>
    public static void Add(IServiceCollection services, AuthenticationBuilder authentication, IConfiguration? configuration)
    {
        var settings = configuration?.GetSection(OpenIdConnectSettings.Section).Get<OpenIdConnectSettings>() ?? new OpenIdConnectSettings();
        var state = new OpenIdConnectSignIn(settings, settings.IsConfigured ? settings.Problems() : []);
        services.AddSingleton(state);
        services.AddHostedService<ProblemReport>();
        if (!state.Enabled) return;

        authentication.AddOpenIdConnect(Scheme, settings.DisplayName, options =>
        {
            options.SignInScheme = ReviewPolicies.Scheme;
            options.Authority = settings.Authority;
            options.ClientId = settings.ClientId;
            options.ClientSecret = string.IsNullOrEmpty(settings.ClientSecret) ? null : settings.ClientSecret;
            options.RequireHttpsMetadata = settings.RequireHttpsMetadata;
            // The authorization-code flow with PKCE; the code comes back in the query string (a top-level GET, which
            // Lax cookies accompany; form_post would need SameSite=None).
            options.ResponseType = OpenIdConnectResponseType.Code;
            options.ResponseMode = OpenIdConnectResponseMode.Query;
            options.UsePkce = true;
            options.Scope.Clear();
            foreach (var scope in settings.Scopes) options.Scope.Add(scope);
            options.CallbackPath = CallbackPath;
            options.MapInboundClaims = false; // keep the provider's claim names: settings name them
            options.GetClaimsFromUserInfoEndpoint = settings.GetClaimsFromUserInfoEndpoint;
            options.SaveTokens = false;       // the workbench calls nothing on the user's behalf
            options.BackchannelTimeout = TimeSpan.FromSeconds(10);
            // A provider that was down is asked again after this long, not after the default five minutes.
            options.RefreshInterval = TimeSpan.FromSeconds(30);
            options.CorrelationCookie.Path = ReviewModule.PathBase;
            options.CorrelationCookie.SameSite = SameSiteMode.Lax;
            options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.NonceCookie.Path = ReviewModule.PathBase;
            options.NonceCookie.SameSite = SameSiteMode.Lax;
            options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.Events = new OpenIdConnectEvents
            {
                OnTicketReceived = TicketReceivedAsync,
                OnRemoteFailure = RemoteFailureAsync,
            };
        });
    }

    /// <summary>
    /// The provider vouched for the user: find or create their workbench account and sign in with it, so the cookie
    /// carries the local user's id and roles like a password sign-in.
    /// </summary>
    private static async Task TicketReceivedAsync(TicketReceivedContext context)
    {
        var services = context.HttpContext.RequestServices;
        var state = services.GetRequiredService<OpenIdConnectSignIn>();
        var settings = state.Settings;
        var principal = context.Principal!;
        var subject = principal.FindFirstValue("sub") ?? principal.FindFirstValue(ClaimTypes.NameIdentifier);
        if (string.IsNullOrEmpty(subject))
        {
            Refuse(context, ErrorFailed, "the provider sent no subject ('sub') for this user");
            return;
        }
        var userName = principal.FindFirstValue(settings.UserNameClaim) ?? principal.FindFirstValue("email") ?? subject;
        var account = await services.GetRequiredService<WorkbenchUsers>().SignInExternalAsync(
            new ExternalSignIn(settings.Name, subject, userName, settings.RolesFrom(principal)), settings.DefaultRoles, context.HttpContext.RequestAborted);
        if (account.Disabled)
        {
            Refuse(context, ErrorDisabled, $"the workbench account '{account.UserName}' is disabled");
            return;
        }
        context.Principal = ReviewPolicies.Principal(account);
    }

    /// <summary>Anything the provider or the callback refused goes back to the sign-in page with a message, never a 500.</summary>
    private static Task RemoteFailureAsync(RemoteFailureContext context)
    {
        Refuse(context, ErrorFailed, context.Failure?.Message ?? "unknown failure", context.Failure);
        return Task.CompletedTask;
    }

    /// <summary>Ends the callback without signing anyone in: logged, and back to the sign-in page, which says so.</summary>
    private static void Refuse(HandleRequestContext<RemoteAuthenticationOptions> context, string code, string reason, Exception? failure = null)
    {
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenIdConnectSignIn));
        logger.LogWarning(failure, "OpenID Connect sign-in refused: {Reason}", reason);
        context.Response.Redirect($"{ReviewModule.PathBase}/?externalError={code}");
        context.HandleResponse();
    }

    /// <summary>Says once at start-up, in the log, what is wrong with a configured provider.</summary>
    private sealed class ProblemReport(OpenIdConnectSignIn state, ILogger<OpenIdConnectSignIn> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (state.Problems.Count > 0)
                logger.LogError("OpenID Connect sign-in is configured but off; local accounts still work. {Problems}", string.Join(" ", state.Problems));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
