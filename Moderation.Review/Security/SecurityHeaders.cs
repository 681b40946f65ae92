using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Moderation.Review.Security;

/// <summary>
/// Every workbench response: a strict Content-Security-Policy (scripts and styles only from our own static files,
/// never inline; no plugins, frames or foreign connections), no sniffing, no framing, no referrer, no caching of
/// hostile content by shared caches.
/// </summary>
public static class SecurityHeaders
{
    public const string PagePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>Media never runs anything, even when opened on its own.</summary>
    public const string MediaPolicy = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox";

    public static void Apply(HttpResponse response, string policy = PagePolicy)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = policy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
    }
}

/// <summary>Applies <see cref="SecurityHeaders"/> to every Razor page of the workbench.</summary>
public sealed class SecurityHeadersPageFilter : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        SecurityHeaders.Apply(context.HttpContext.Response);
        return next();
    }
}
