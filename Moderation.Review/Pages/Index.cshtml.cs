using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Caching.Memory;
using Moderation.Core.Access;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary><c>/review/</c>: the sign-in form for visitors; signed-in users go on to the queues.</summary>
public sealed class IndexModel(WorkbenchUsers users, IMemoryCache cache) : PageModel
{
    /// <summary>Failed sign-ins per user name before the name is refused for <see cref="LockoutFor"/>.</summary>
    public const int MaxFailures = 5;
    public static readonly TimeSpan LockoutFor = TimeSpan.FromMinutes(15);

    public string? Error { get; private set; }
    public string? UserName { get; private set; }
    public string? ReturnUrl { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? returnUrl)
    {
        ReturnUrl = returnUrl;
        // This page allows visitors, so nothing has authenticated the workbench cookie yet (the host's default
        // scheme is the API key): ask it directly whether this is a signed-in reviewer.
        var signedIn = await HttpContext.AuthenticateAsync(ReviewPolicies.Scheme);
        return signedIn.Succeeded ? LocalRedirect(SafeReturnUrl(returnUrl)) : Page();
    }

    public async Task<IActionResult> OnPostAsync(string? userName, string? password, string? returnUrl, CancellationToken ct)
    {
        ReturnUrl = returnUrl;
        UserName = userName;
        // Password guessing: after MaxFailures wrong passwords for one name, that name is refused for a while, right
        // password or not (per host; the hash's cost already slows each guess).
        var failuresKey = "review-signin-failures:" + (userName ?? "").Trim().ToLowerInvariant();
        var failures = cache.Get<int?>(failuresKey) ?? 0;
        if (failures >= MaxFailures)
        {
            Error = $"Too many failed sign-ins for this name; try again in {LockoutFor.TotalMinutes:0} minutes.";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return Page();
        }
        var account = string.IsNullOrEmpty(userName) || string.IsNullOrEmpty(password) ? null : await users.SignInAsync(userName, password, ct);
        if (account is null)
        {
            cache.Set(failuresKey, failures + 1, LockoutFor);
            Error = "That user name and password do not match an active account.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        cache.Remove(failuresKey);
        await HttpContext.SignInAsync(ReviewPolicies.Scheme, ReviewPolicies.Principal(account));
        return LocalRedirect(SafeReturnUrl(returnUrl));
    }

    /// <summary>Only paths inside the workbench: never an open redirect.</summary>
    private string SafeReturnUrl(string? returnUrl) =>
        returnUrl is not null && Url.IsLocalUrl(returnUrl) && returnUrl.StartsWith(ReviewModule.PathBase + "/", StringComparison.OrdinalIgnoreCase)
            ? returnUrl : ReviewModule.PathBase + "/queues";
}
