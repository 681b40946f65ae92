using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Scoring;

namespace Moderation.Core.Media;

public static class MediaScoringServices
{
    /// <summary>
    /// The hash-match scorer, unless <c>Moderation:Scoring:Media:Enabled</c> is false: media read with SkiaSharp (images)
    /// and ffmpeg (video frames), hashed, and matched against the hash banks' index, refreshed when the banks change.
    /// </summary>
    public static IServiceCollection AddMediaScoring(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MediaScoringOptions>().Bind(configuration.GetSection(MediaScoringOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MediaFrameLog>();
        var options = configuration.GetSection(MediaScoringOptions.Section).Get<MediaScoringOptions>() ?? new MediaScoringOptions();
        if (!options.Enabled) return services;

        services.AddSingleton<VideoFrameSampler>();
        services.AddSingleton<MediaFrameReader>();
        services.AddSingleton<HashBankIndexSource>();
        services.AddSingleton<IUploadScorer, HashMatchScorer>();
        return services;
    }
}
