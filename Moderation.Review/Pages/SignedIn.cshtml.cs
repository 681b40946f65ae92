using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Moderation.Review.Pages;

/// <summary>
/// Where a sign-in by the OpenID Connect provider lands. The redirects back from the provider began on another
/// site, so the browser withholds the workbench's SameSite=Strict cookie until the next navigation that starts
/// here: this page is that navigation (a meta refresh, no script).
/// </summary>
public sealed class SignedInModel : PageModel
{
    public string Target { get; private set; } = ReviewModule.PathBase + "/queues";

    public void OnGet(string? returnUrl) => Target = IndexModel.SafeReturnUrl(Url, returnUrl);
}
