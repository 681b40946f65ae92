using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Moderation.Core.Scoring;

namespace Moderation.Core.Media;

public static class MediaScoringServices
{
    /// <summary>
    /// The hash-match scorer, unless <c>Moderation:Scoring:Media:Enabled</c> is false: media read with SkiaSharp (images)
    /// and ffmpeg (video frames), hashed, and matched against the hash banks' index, refreshed when the banks change.
    /// Then the image scorer, unless <c>Moderation:Scoring:Images:Enabled</c> is false: the same frames embedded with
    /// ResNet18 and scored by the model registry's image heads and custom ONNX models.
    /// </summary>
    public static IServiceCollection AddMediaScoring(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MediaScoringOptions>().Bind(configuration.GetSection(MediaScoringOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ImageScoringOptions>().Bind(configuration.GetSection(ImageScoringOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.Categories is null || o.Categories.All(ScorerOutput.IsValidCategory),
                $"{ImageScoringOptions.Section}:Categories holds a name that is not a category (lower-case, dotted: harm.violence).")
            .ValidateOnStart();
        services.AddSingleton<MediaFrameLog>();
        var options = configuration.GetSection(MediaScoringOptions.Section).Get<MediaScoringOptions>() ?? new MediaScoringOptions();
        var images = configuration.GetSection(ImageScoringOptions.Section).Get<ImageScoringOptions>() ?? new ImageScoringOptions();
        if (options.Enabled || images.Enabled)
        {
            services.TryAddSingleton<VideoFrameSampler>();
            services.TryAddSingleton<MediaFrameReader>();
        }
        if (options.Enabled)
        {
            services.AddSingleton<HashBankIndexSource>();
            services.AddSingleton<IUploadScorer, HashMatchScorer>();
        }
        if (images.Enabled)
        {
            // One embedder (two ONNX sessions) per process; built with the scorers when the host starts, so a missing model file stops it.
            services.AddSingleton(sp =>
            {
                var o = sp.GetRequiredService<IOptions<ImageScoringOptions>>().Value;
                return new ImageEmbedder(o.ModelsDirectory, o.Threading);
            });
            services.AddSingleton<RegistryImageModels>();
            services.AddSingleton<IImageModelSource>(sp => sp.GetRequiredService<RegistryImageModels>());
            services.AddSingleton<IUploadScorer, ImageScorer>();
        }
        return services;
    }
}
