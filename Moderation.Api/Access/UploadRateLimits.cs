using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Moderation.Api.Access;

/// <summary>Bound from <c>Moderation:RateLimits</c>: how fast one API key may submit uploads.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Moderation:RateLimits";

    /// <summary>Sustained uploads per second per key; 0 turns the limit off.</summary>
    [Range(0, 1_000_000)]
    public int UploadsPerSecondPerKey { get; set; } = 1000;

    /// <summary>Uploads a key may send at once above the sustained rate.</summary>
    [Range(1, 10_000_000)]
    public int Burst { get; set; } = 2000;
}

/// <summary>
/// A token bucket per API key on ingest, so one misbehaving client cannot starve the others or flood the
/// queue. Rejections are 429 problem details with Retry-After; nothing of a rejected request is stored.
/// </summary>
public static class UploadRateLimits
{
    public const string Policy = "uploads";

    public static IServiceCollection AddUploadRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var limits = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, ct) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many uploads",
                    detail: $"This API key may submit {limits.UploadsPerSecondPerKey} uploads per second (bursts of {limits.Burst}); retry after {retryAfter} s. Nothing was stored.")
                    .ExecuteAsync(context.HttpContext);
            };
            options.AddPolicy(Policy, context =>
            {
                var key = context.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? "anonymous";
                if (limits.UploadsPerSecondPerKey == 0) return RateLimitPartition.GetNoLimiter(key);
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.Burst,
                    TokensPerPeriod = limits.UploadsPerSecondPerKey,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
        });
        return services;
    }
}
