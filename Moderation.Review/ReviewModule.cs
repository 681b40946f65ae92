using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Moderation.Review;

/// <summary>
/// The review workbench, served by the API host under <c>/review</c>. Its pages (sign-in, queues, item page,
/// decisions) are built in their own issue; this module is the seam the host already calls.
/// </summary>
public static class ReviewModule
{
    public const string PathBase = "/review";

    public static IServiceCollection AddModerationReview(this IServiceCollection services)
    {
        services.AddRazorPages(options => options.RootDirectory = "/Pages");
        return services;
    }

    public static IEndpointRouteBuilder MapModerationReview(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRazorPages();
        return endpoints;
    }
}
