using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>
/// Sign-out is a POST with an anti-forgery token (a GET could be triggered by any page). It gives the account a new
/// security stamp, so the cookie stops working everywhere, including any copy of it, not only in this browser; the
/// account's other sessions end with it.
/// </summary>
public sealed class SignOutModel(WorkbenchUsers users) : PageModel
{
    public IActionResult OnGet() => Redirect(ReviewModule.PathBase + "/");

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        // The page allows visitors, so the cookie has not been read yet: a valid one names the account to sign out.
        var signedIn = await HttpContext.AuthenticateAsync(ReviewPolicies.Scheme);
        if (signedIn.Succeeded && signedIn.Principal is { } principal)
            await users.SignOutAsync(principal.ToReviewer().Id, AuditActors.User(principal.ToReviewer().Name), ct);
        await HttpContext.SignOutAsync(ReviewPolicies.Scheme);
        // A sign-in from before the cookie moved to the site's root still has one under /review: end it too.
        Response.Cookies.Delete("moderation-review", new CookieOptions { Path = ReviewModule.PathBase });
        return Redirect(ReviewModule.PathBase + "/");
    }
}
