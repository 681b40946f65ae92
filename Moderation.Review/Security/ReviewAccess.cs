using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
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
    /// <summary>API keys: make, list, revoke.</summary>
    public const string ApiKeys = "review:apikeys";
    /// <summary>The jobs dashboard (<c>/hangfire</c>): requeue, delete and trigger background jobs.</summary>
    public const string Jobs = "review:jobs";
    /// <summary>The policy pages (<c>/review/policies</c>): versions, drafts and their states, backtests, the threshold explorer, the audit sample, signal health and the fairness report.</summary>
    public const string Policies = "review:policies";

    public static readonly IReadOnlyDictionary<string, string[]> Roles = new Dictionary<string, string[]>
    {
        [View] = [ReviewRoles.Triage, ReviewRoles.Moderator, ReviewRoles.Senior, ReviewRoles.Policy, ReviewRoles.Admin],
        [Decide] = [ReviewRoles.Triage, ReviewRoles.Moderator, ReviewRoles.Senior, ReviewRoles.Admin],
        [Quality] = [ReviewRoles.Senior, ReviewRoles.Policy, ReviewRoles.Admin],
        [Audit] = [ReviewRoles.Policy, ReviewRoles.Admin],
        [Users] = [ReviewRoles.Admin],
        [ApiKeys] = [ReviewRoles.Admin],
        [Jobs] = [ReviewRoles.Admin],
        [Policies] = [ReviewRoles.Policy, ReviewRoles.Admin],
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

    /// <summary>The claim that carries the account's security stamp in the cookie.</summary>
    public const string SecurityStampClaim = "moderation:security_stamp";

    public static ClaimsPrincipal Principal(WorkbenchAccount account)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, account.Id), new(ClaimTypes.Name, account.UserName), new(SecurityStampClaim, account.SecurityStamp),
        };
        claims.AddRange(account.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>
    /// Every request re-reads the account (one primary-key read, no cache) and accepts the cookie only while the account
    /// is enabled and its security stamp is the one the cookie carries. Sign-out, a password reset, a role change and
    /// disabling give the account a new stamp, so each ends every session of it, on every host, at the next request.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var id = context.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        var stamp = context.Principal?.FindFirstValue(SecurityStampClaim);
        var account = id is null || stamp is null
            ? null
            : await context.HttpContext.RequestServices.GetRequiredService<WorkbenchUsers>().FindAsync(id, context.HttpContext.RequestAborted);
        if (account is null || account.Disabled || !string.Equals(account.SecurityStamp, stamp, StringComparison.Ordinal)
            || !context.Principal!.FindAll(ClaimTypes.Role).Select(c => c.Value).Order(StringComparer.Ordinal).SequenceEqual(account.Roles.Order(StringComparer.Ordinal)))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
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
