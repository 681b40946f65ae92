using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Moderation.Core.Models;
using Moderation.Core.Scoring;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;

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
        services.AddOptions<OcrOptions>().Bind(configuration.GetSection(OcrOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var options = configuration.GetSection(MediaScoringOptions.Section).Get<MediaScoringOptions>() ?? new MediaScoringOptions();
        var images = configuration.GetSection(ImageScoringOptions.Section).Get<ImageScoringOptions>() ?? new ImageScoringOptions();
        var ocr = configuration.GetSection(OcrOptions.Section).Get<OcrOptions>() ?? new OcrOptions();
        if (options.Enabled || images.Enabled || ocr.Enabled)
        {
            services.TryAddSingleton<VideoFrameSampler>();
            services.TryAddSingleton<MediaFrameReader>();
        }
        if (ocr.Enabled)
        {
            // Read by the scoring job before the scorers run (text in pictures goes to the text scorer).
            services.AddSingleton<TesseractRunner>();
            services.AddSingleton<ImageTextReader>();
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
            services.AddHostedService<ShippedImageModelsRegistrar>();
        }
        return services;
    }
}

/// <summary>
/// At start-up, registers the image models that ship under <c>models/image/{name}/</c> (<c>model.onnx</c> with its
/// <c>manifest.json</c>; today nsfwjs's MobileNetV2, converted from TF.js) as custom image models, once per category
/// their labels score: live where the category has no live custom image model, otherwise shadow, so a new version
/// arriving with an upgrade is compared on real traffic before a person promotes it. A model a person retired is left
/// retired. Off with <c>Moderation:Scoring:Images:RegisterShippedModels=false</c>.
/// </summary>
public sealed class ShippedImageModelsRegistrar(ModelRegistry registry, IOptions<ImageScoringOptions> options, ILogger<ShippedImageModelsRegistrar> logger)
    : IHostedService
{
    public const string Actor = AuditActors.ShippedModels;

    public static string ShippedDirectory => Path.Combine(AppContext.BaseDirectory, "models", "image");

    public async Task StartAsync(CancellationToken ct)
    {
        if (!options.Value.RegisterShippedModels) return;
        var root = options.Value.ShippedModelsDirectory ?? ShippedDirectory;
        if (!Directory.Exists(root))
        {
            logger.LogWarning("No shipped image models at {Directory}", root);
            return;
        }
        var known = await registry.ListAsync(null, ct);
        foreach (var directory in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            string onnxPath = Path.Combine(directory, "model.onnx"), manifestPath = Path.Combine(directory, "manifest.json");
            if (!File.Exists(onnxPath) || !File.Exists(manifestPath)) continue;
            var manifestJson = await File.ReadAllTextAsync(manifestPath, ct);
            var manifest = ImageModelManifest.Parse(manifestJson);
            var pending = manifest.Categories.Keys.Where(c => !known.Any(m => m.Category == c && m.Version == manifest.RegistryVersion)).Order(StringComparer.Ordinal).ToList();
            if (pending.Count == 0) continue;
            var onnx = await File.ReadAllBytesAsync(onnxPath, ct);
            // Refused here, with the field, rather than when a worker first loads it.
            using (CustomImageModel.Load(onnx, manifest)) { }
            var artifact = CustomImageModel.Package(onnx, manifestJson);
            var metrics = System.Text.Json.JsonSerializer.Serialize(new { checkedAgainstGraph = true, labels = manifest.Labels.Count, shipped = true, reviewOnly = manifest.ReviewOnly });
            foreach (var category in pending)
            {
                var state = known.Any(m => m.Category == category && m.Scorer == ImageScorer.CustomKind && m.State == ModelStates.Live) ? ModelStates.Shadow : ModelStates.Live;
                try
                {
                    await registry.RegisterAsync(category, manifest.RegistryVersion, ImageScorer.CustomKind, manifestJson, metrics, artifact, state, Actor, ct);
                    logger.LogInformation("Registered shipped image model {Category}@{Version} as {State}", category, manifest.RegistryVersion, state);
                }
                catch (Refusal e)
                {
                    // Another host registering the same shipped model at the same moment: it won, which is what we wanted.
                    logger.LogInformation("Shipped image model {Category}@{Version} not registered here: {Reason}", category, manifest.RegistryVersion, e.Message);
                }
            }
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
