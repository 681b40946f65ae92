using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>Sign-out is a POST with an anti-forgery token (a GET could be triggered by any page).</summary>
public sealed class SignOutModel : PageModel
{
    public IActionResult OnGet() => Redirect(ReviewModule.PathBase + "/");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(ReviewPolicies.Scheme);
        // A sign-in from before the cookie moved to the site's root still has one under /review: end it too.
        Response.Cookies.Delete("moderation-review", new CookieOptions { Path = ReviewModule.PathBase });
        return Redirect(ReviewModule.PathBase + "/");
    }
}
