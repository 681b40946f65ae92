using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Review;

namespace Moderation.Review.Security;

/// <summary>
/// Who may do what in the workbench. Every page and action names one of these policies; the roles × actions test
/// walks them. Admin holds every permission, so the bootstrapped admin can run the workbench alone.
/// </summary>
public static class ReviewPolicies
{
    public const string Scheme = "ReviewCookie";

    /// <summary>Queues, item pages and media.</summary>
    public const string View = "review:view";
    /// <summary>Claim and decide (which decisions depends on the roles and the item: <see cref="ReviewAction.AllowedFor"/>).</summary>
    public const string Decide = "review:decide";
    /// <summary>Agreement statistics.</summary>
    public const string Quality = "review:quality";
    /// <summary>The audit trail: verify and export.</summary>
    public const string Audit = "review:audit";
    /// <summary>Users and roles.</summary>
    public const string Users = "review:users";
    /// <summary>The jobs dashboard (<c>/hangfire</c>): requeue, delete and trigger background jobs.</summary>
    public const string Jobs = "review:jobs";

    public static readonly IReadOnlyDictionary<string, string[]> Roles = new Dictionary<string, string[]>
    {
        [View] = [ReviewRoles.Triage, ReviewRoles.Moderator, ReviewRoles.Senior, ReviewRoles.Policy, ReviewRoles.Admin],
        [Decide] = [ReviewRoles.Triage, ReviewRoles.Moderator, ReviewRoles.Senior, ReviewRoles.Admin],
        [Quality] = [ReviewRoles.Senior, ReviewRoles.Policy, ReviewRoles.Admin],
        [Audit] = [ReviewRoles.Policy, ReviewRoles.Admin],
        [Users] = [ReviewRoles.Admin],
        [Jobs] = [ReviewRoles.Admin],
    };

    public static void AddReviewPolicies(this AuthorizationOptions options)
    {
        foreach (var (name, roles) in Roles)
            options.AddPolicy(name, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireRole(roles));
    }

    public static bool Allows(this ClaimsPrincipal user, string policy) =>
        user.Identity?.IsAuthenticated == true && Roles[policy].Any(user.IsInRole);

    public static Reviewer ToReviewer(this ClaimsPrincipal user) => new(
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("Not signed in."),
        user.Identity?.Name ?? "",
        user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal));

    public static ClaimsPrincipal Principal(WorkbenchAccount account)
    {
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, account.Id), new(ClaimTypes.Name, account.UserName) };
        claims.AddRange(account.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    public static string AccountCacheKey(string userId) => "review-user:" + userId;

    /// <summary>
    /// The cookie carries roles, but an admin's change (roles, disabling) must not wait for it to expire: each
    /// request re-reads the account, cached for a few seconds.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var id = context.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        if (id is null) { context.RejectPrincipal(); return; }
        var cache = context.HttpContext.RequestServices.GetRequiredService<IMemoryCache>();
        var users = context.HttpContext.RequestServices.GetRequiredService<WorkbenchUsers>();
        var account = await cache.GetOrCreateAsync(AccountCacheKey(id), entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(5);
            return users.FindAsync(id, context.HttpContext.RequestAborted);
        });
        if (account is null || account.Disabled)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
            return;
        }
        var held = context.Principal!.FindAll(ClaimTypes.Role).Select(c => c.Value).Order(StringComparer.Ordinal);
        if (!held.SequenceEqual(account.Roles.Order(StringComparer.Ordinal)))
        {
            context.ReplacePrincipal(Principal(account));
            context.ShouldRenew = true;
        }
    }

    /// <summary>A signed-in user without the role gets a 403 page, not a redirect loop.</summary>
    public static async Task ForbiddenAsync(RedirectContext<CookieAuthenticationOptions> context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status403Forbidden;
        SecurityHeaders.Apply(response);
        response.ContentType = "text/html; charset=utf-8";
        await response.WriteAsync("""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not allowed</title><link rel="stylesheet" href="/review/assets/review.css"></head>
            <body><main class="narrow"><h1>Not allowed</h1><p>Your roles do not include this page or action.</p><p><a href="/review/queues">Back to the queues</a></p></main></body></html>
            """);
    }
}
