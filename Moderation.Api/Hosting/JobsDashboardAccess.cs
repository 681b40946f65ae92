using Hangfire.Dashboard;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Moderation.Core.Access;
using Moderation.Review.Security;

namespace Moderation.Api.Hosting;

/// <summary>
/// Who may use the jobs dashboard (<c>/hangfire</c>): an admin, signed in to the workbench (its cookie) or calling with
/// an API key that has the <c>admin</c> scope. Anyone else gets Hangfire's 401 (not signed in) or 403 (signed in, not
/// an admin). The dashboard's POSTs (requeue, delete, trigger) carry ASP.NET Core's anti-forgery token, which Hangfire
/// renders and checks itself through <c>IAntiforgery</c>; the token is bound to the signed-in user, so
/// <see cref="JobsDashboardAccess.UseJobsDashboardSignIn"/> has to put the cookie's user on the request before Hangfire reads it.
/// </summary>
public sealed class JobsDashboardAuthorization : IDashboardAsyncAuthorizationFilter
{
    public const string Path = "/hangfire";

    public async Task<bool> AuthorizeAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (http.User.Identity?.IsAuthenticated != true) return false;
        var authorization = http.RequestServices.GetRequiredService<IAuthorizationService>();
        return (await authorization.AuthorizeAsync(http.User, ApiScopes.Admin)).Succeeded
            || (await authorization.AuthorizeAsync(http.User, ReviewPolicies.Jobs)).Succeeded;
    }
}

public static class JobsDashboardAccess
{
    /// <summary>
    /// Under <c>/hangfire</c>, a request without an API key is authenticated with the workbench cookie (whose path
    /// covers the whole site for this): Hangfire creates its anti-forgery token for <c>HttpContext.User</c> before its
    /// authorization filters run, so the user must be known by then.
    /// </summary>
    public static IApplicationBuilder UseJobsDashboardSignIn(this IApplicationBuilder app) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments(JobsDashboardAuthorization.Path), branch => branch.Use(async (context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated != true)
            {
                var cookie = await context.AuthenticateAsync(ReviewPolicies.Scheme);
                if (cookie.Succeeded) context.User = cookie.Principal;
            }
            await next(context);
        }));
}
