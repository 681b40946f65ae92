using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>
/// <c>/review/</c>: the sign-in form for visitors, and the button for the OpenID Connect provider when one is
/// configured; signed-in users go on to the queues.
/// </summary>
public sealed class IndexModel(WorkbenchUsers users, SignInThrottle throttle, SignInDevices devices, OpenIdConnectSignIn external, ILogger<IndexModel> logger) : PageModel
{
    public string? Error { get; private set; }
    public string? UserName { get; private set; }
    public string? ReturnUrl { get; private set; }
    public OpenIdConnectSignIn External => external;

    public async Task<IActionResult> OnGetAsync(string? returnUrl, string? externalError)
    {
        ReturnUrl = returnUrl;
        // A code, not text from the query string: nobody can put words on this page with a crafted link.
        Error = externalError switch
        {
            null => null,
            OpenIdConnectSignIn.ErrorDisabled => $"Your workbench account is disabled; {external.Settings.DisplayName} cannot sign you in.",
            _ => $"Sign-in with {external.Settings.DisplayName} did not complete (refused, cancelled or not valid; the server log says why). Try again, or sign in with your workbench account.",
        };
        // This page allows visitors, so nothing has authenticated the workbench cookie yet (the host's default
        // scheme is the API key): ask it directly whether this is a signed-in reviewer.
        var signedIn = await HttpContext.AuthenticateAsync(ReviewPolicies.Scheme);
        return signedIn.Succeeded ? LocalRedirect(SafeReturnUrl(returnUrl)) : Page();
    }

    public async Task<IActionResult> OnPostAsync(string? userName, string? password, string? returnUrl, CancellationToken ct)
    {
        ReturnUrl = returnUrl;
        UserName = userName;
        if (string.IsNullOrEmpty(userName) || string.IsNullOrEmpty(password))
        {
            Error = "Enter your user name and password.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        // Password guessing: every attempt is counted (in the database, for every host) before the password is
        // checked, per client address and per name, or per device for a browser this account signed in on before;
        // past the free attempts each check waits a growing delay (SignInThrottle).
        var keys = throttle.KeysFor(userName, HttpContext.Connection.RemoteIpAddress, devices.Read(Request, userName));
        var gate = await throttle.TryBeginAsync(keys, ct);
        if (!gate.Allowed)
        {
            var seconds = (int)Math.Ceiling(gate.RetryAfter.TotalSeconds);
            Error = $"Too many failed sign-ins; try again in {seconds} seconds.";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Page();
        }
        var account = await users.SignInAsync(userName, password, ct);
        if (account is null)
        {
            Error = "That user name and password do not match an active account.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        await throttle.SucceededAsync(keys, ct);
        devices.Issue(Request, Response, account.UserName);
        await users.RecordSignInAsync(account, ct);
        await HttpContext.SignInAsync(ReviewPolicies.Scheme, ReviewPolicies.Principal(account));
        return LocalRedirect(SafeReturnUrl(returnUrl));
    }

    /// <summary>
    /// "Sign in with …" (<c>?handler=External</c>, a GET like any link that starts a sign-in; the state and nonce,
    /// bound to this browser by cookies, keep a forged callback from signing anyone in): reads the provider's metadata
    /// first, so a provider that is down gives a clear message here (503) instead of an error page, then redirects to
    /// it (authorization code with PKCE).
    /// </summary>
    public async Task<IActionResult> OnGetExternalAsync(string? returnUrl, CancellationToken ct)
    {
        ReturnUrl = returnUrl;
        if (!external.Enabled)
        {
            Error = "Sign-in with an OpenID Connect provider is not configured here.";
            Response.StatusCode = StatusCodes.Status404NotFound;
            return Page();
        }
        var options = HttpContext.RequestServices.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>().Get(OpenIdConnectSignIn.Scheme);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.BackchannelTimeout);
            await options.ConfigurationManager!.GetConfigurationAsync(timeout.Token);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("OpenID Connect provider {Authority} could not be reached: {Reason}", external.Settings.Authority, e.Message);
            Error = $"{external.Settings.DisplayName} cannot be reached right now, so it cannot sign you in. Sign in with your workbench account, or try again later.";
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Page();
        }
        var landing = $"{ReviewModule.PathBase}/signedin?returnUrl={Uri.EscapeDataString(SafeReturnUrl(returnUrl))}";
        return Challenge(new AuthenticationProperties { RedirectUri = landing }, OpenIdConnectSignIn.Scheme);
    }

    private string SafeReturnUrl(string? returnUrl) => SafeReturnUrl(Url, returnUrl);

    /// <summary>Only paths inside the workbench: never an open redirect.</summary>
    internal static string SafeReturnUrl(IUrlHelper url, string? returnUrl) =>
        returnUrl is not null && url.IsLocalUrl(returnUrl) && returnUrl.StartsWith(ReviewModule.PathBase + "/", StringComparison.OrdinalIgnoreCase)
            ? returnUrl : ReviewModule.PathBase + "/queues";
}
