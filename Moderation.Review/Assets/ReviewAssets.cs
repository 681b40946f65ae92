using Microsoft.AspNetCore.Http;
using Moderation.Review.Security;

namespace Moderation.Review;

/// <summary>
/// The workbench's own script and style sheet, embedded in this assembly and served by name from a fixed list, so
/// the Content-Security-Policy can allow scripts from 'self' only and nothing else is ever served from here.
/// </summary>
public static class ReviewAssets
{
    private static readonly Dictionary<string, (string Resource, string ContentType)> Known = new(StringComparer.Ordinal)
    {
        ["review.js"] = ("Moderation.Review.Assets.review.js", "text/javascript; charset=utf-8"),
        ["review.css"] = ("Moderation.Review.Assets.review.css", "text/css; charset=utf-8"),
    };

    private static readonly Dictionary<string, byte[]> Contents = Known.ToDictionary(k => k.Key, k =>
    {
        using var stream = typeof(ReviewAssets).Assembly.GetManifestResourceStream(k.Value.Resource)
            ?? throw new InvalidOperationException($"Embedded asset {k.Value.Resource} is missing.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static IResult Serve(string name, HttpResponse response)
    {
        if (!Known.TryGetValue(name, out var asset)) return Results.NotFound();
        SecurityHeaders.Apply(response);
        response.Headers.CacheControl = "private, max-age=300";
        return Results.Bytes(Contents[name], asset.ContentType);
    }
}
