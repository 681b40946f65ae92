using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Access;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary><c>/review/</c>: the sign-in form for visitors; signed-in users go on to the queues.</summary>
public sealed class IndexModel(WorkbenchUsers users) : PageModel
{
    public string? Error { get; private set; }
    public string? UserName { get; private set; }
    public string? ReturnUrl { get; private set; }

    public IActionResult OnGet(string? returnUrl)
    {
        ReturnUrl = returnUrl;
        if (User.Identity?.IsAuthenticated == true && User.Identity.AuthenticationType == ReviewPolicies.Scheme)
            return LocalRedirect(SafeReturnUrl(returnUrl));
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string? userName, string? password, string? returnUrl, CancellationToken ct)
    {
        ReturnUrl = returnUrl;
        UserName = userName;
        var account = string.IsNullOrEmpty(userName) || string.IsNullOrEmpty(password) ? null : await users.SignInAsync(userName, password, ct);
        if (account is null)
        {
            Error = "That user name and password do not match an active account.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        await HttpContext.SignInAsync(ReviewPolicies.Scheme, ReviewPolicies.Principal(account));
        return LocalRedirect(SafeReturnUrl(returnUrl));
    }

    /// <summary>Only paths inside the workbench: never an open redirect.</summary>
    private string SafeReturnUrl(string? returnUrl) =>
        returnUrl is not null && Url.IsLocalUrl(returnUrl) && returnUrl.StartsWith(ReviewModule.PathBase + "/", StringComparison.OrdinalIgnoreCase)
            ? returnUrl : ReviewModule.PathBase + "/queues";
}
