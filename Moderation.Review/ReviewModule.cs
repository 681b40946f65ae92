using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.ApplicationModels;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Review;
using Moderation.Review.Edge;
using Moderation.Review.Media;
using Moderation.Review.Security;

namespace Moderation.Review;

/// <summary>
/// The review workbench, served by the API host under <c>/review</c>: sign-in, queues, the item page with
/// decisions, the audit trail, agreement statistics and users. Pages use their own cookie scheme; the API keeps
/// its key scheme as the default. <paramref name="configuration"/> may name an OpenID Connect provider
/// (<see cref="OpenIdConnectSettings"/>) that users can sign in with beside their local accounts.
/// </summary>
public static class ReviewModule
{
    public const string PathBase = "/review";

    /// <summary>The sign-in and anti-forgery cookies' path (before issue 16 it was <see cref="PathBase"/>).</summary>
    public const string CookiePath = "/";

    public static IServiceCollection AddModerationReview(this IServiceCollection services, IConfiguration? configuration = null)
    {
        // The review rules and stores (queues, decisions, reports, reach, users) come from Moderation.Core's
        // AddReviewServices, which AddModerationCore calls: this project adds only the pages and their sign-in.
        services.AddMemoryCache();
        services.AddSingleton<SignInDevices>();

        var authentication = services.AddAuthentication().AddCookie(ReviewPolicies.Scheme, options =>
        {
            options.LoginPath = PathBase + "/";
            options.LogoutPath = PathBase + "/signout";
            options.AccessDeniedPath = PathBase + "/denied";
            options.ReturnUrlParameter = "returnUrl";
            options.Cookie.Name = "moderation-review";
            // The whole site, not just /review: the jobs dashboard (/hangfire) takes a signed-in admin too. The API
            // ignores it (its endpoints authenticate API keys only), and SameSite=Strict keeps other sites' requests out.
            options.Cookie.Path = CookiePath;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
            options.SlidingExpiration = true;
            options.Events = new CookieAuthenticationEvents
            {
                OnValidatePrincipal = ReviewPolicies.ValidateAsync,
                OnRedirectToAccessDenied = ReviewPolicies.ForbiddenAsync,
            };
        });
        OpenIdConnectSignIn.Add(services, authentication, configuration);
        services.AddAuthorization(options => options.AddReviewPolicies());
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "moderation-review-af";
            options.Cookie.Path = CookiePath; // the jobs dashboard's POSTs carry the same anti-forgery token
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // its default is never Secure
            options.HeaderName = "RequestVerificationToken";
        });

        services.AddRazorPages(options =>
            {
                options.RootDirectory = "/Pages";
                // Every page lives under /review.
                options.Conventions.AddFolderRouteModelConvention("/", model =>
                {
                    foreach (var selector in model.Selectors)
                        selector.AttributeRouteModel!.Template = AttributeRouteModel.CombineTemplates("review", selector.AttributeRouteModel.Template);
                });
                options.Conventions.AuthorizeFolder("/", ReviewPolicies.View);
                options.Conventions.AllowAnonymousToPage("/Index");
                options.Conventions.AllowAnonymousToPage("/SignOut");
                options.Conventions.AllowAnonymousToPage("/SignedIn");
                options.Conventions.AllowAnonymousToPage("/Denied");
                options.Conventions.AuthorizePage("/Audit", ReviewPolicies.Audit);
                options.Conventions.AuthorizePage("/Users", ReviewPolicies.Users);
                options.Conventions.AuthorizePage("/ApiKeys", ReviewPolicies.ApiKeys);
                options.Conventions.AuthorizePage("/Quality", ReviewPolicies.Quality);
                options.Conventions.AuthorizePage("/SignalHealth", ReviewPolicies.Policies);
                options.Conventions.AuthorizeFolder("/Policies", ReviewPolicies.Policies);
                options.Conventions.AuthorizePage("/Fairness", ReviewPolicies.Policies);
                options.Conventions.ConfigureFilter(new SecurityHeadersPageFilter());
                options.Conventions.ConfigureFilter(new RefusalPageFilter());
            })
            .ConfigureApplicationPartManager(manager =>
            {
                // The host may not be the entry assembly (tests, benchmarks): make sure these pages are found, once.
                // The factory gives both the types and the compiled Razor pages of the assembly.
                var assembly = typeof(ReviewModule).Assembly;
                if (manager.ApplicationParts.OfType<AssemblyPart>().Any(p => p.Assembly == assembly)) return;
                foreach (var part in ApplicationPartFactory.GetApplicationPartFactory(assembly).GetApplicationParts(assembly))
                    manager.ApplicationParts.Add(part);
            });
        return services;
    }

    public static IEndpointRouteBuilder MapModerationReview(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRazorPages();
        endpoints.MapGet(PathBase + "/assets/{name}", ReviewAssets.Serve).AllowAnonymous().ExcludeFromDescription();
        endpoints.MapGet(PathBase + "/media/{uploadId}/{ordinal:int}", MediaEndpoint.Serve)
            .RequireAuthorization(ReviewPolicies.View).ExcludeFromDescription();
        return endpoints;
    }
}
